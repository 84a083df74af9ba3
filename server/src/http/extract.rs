//! axum's extractors with rejections in the API's JSON error shape. They also refuse text
//! with a NUL character anywhere (a JSON string or key, a path or query parameter): PostgreSQL
//! cannot store it in a text column, and one such value failed the whole group commit or
//! engine batch it was in.

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{FromRequest, FromRequestParts, Path, Query, Request, rejection::JsonRejection},
    http::request::Parts,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ApiError, serve::BodyReadTimeout};

/// When no deadline was set on the request (it did not come through the accept loop).
const DEFAULT_BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A JSON body; malformed JSON is a 400, a body over the limit a 413.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        // A body trickled in a byte at a time would hold its connection and its handler for
        // as long as the client liked: it must arrive whole within the deadline.
        let deadline = parts
            .extensions
            .get::<BodyReadTimeout>()
            .map_or(DEFAULT_BODY_READ_TIMEOUT, |timeout| timeout.0);
        let read = Bytes::from_request(Request::from_parts(parts.clone(), body), state);
        let bytes = tokio::time::timeout(deadline, read)
            .await
            .map_err(|_| ApiError::body_timeout(deadline))?
            .map_err(JsonRejection::from)?;
        if let Some(field) = field_with_nul(&bytes) {
            return Err(ApiError::nul_in(&if field.is_empty() {
                "the body".to_owned()
            } else {
                format!("the field `{field}`")
            }));
        }
        let request = Request::from_parts(parts, Body::from(bytes));
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// Path parameters; one that does not parse is a 400.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if has_encoded_nul(parts.uri.path()) {
            return Err(ApiError::nul_in("the path"));
        }
        let Path(value) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// Query parameters; ones that do not parse are a 400.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.query().is_some_and(has_encoded_nul) {
            return Err(ApiError::nul_in("the query"));
        }
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// `%00` in a path or query, which decodes to NUL (`%2500` decodes to the text `%00`).
fn has_encoded_nul(text: &str) -> bool {
    text.contains("%00")
}

/// Where a JSON body holds a NUL character, as `events[2].event` (empty: the body is that
/// string); `None` when it holds none.
/// A NUL can only be written `\u0000` in JSON, so bodies without that text are not parsed
/// twice.
fn field_with_nul(body: &[u8]) -> Option<String> {
    const ESCAPED_NUL: &[u8] = br"\u0000";
    if !body
        .windows(ESCAPED_NUL.len())
        .any(|window| window == ESCAPED_NUL)
    {
        return None;
    }
    // Broken JSON is left to the typed parse, which says what is wrong with it.
    let value: Value = serde_json::from_slice(body).ok()?;
    nul_path(&value, String::new())
}

fn nul_path(value: &Value, at: String) -> Option<String> {
    let field = |name: &str| {
        if at.is_empty() {
            name.to_owned()
        } else {
            format!("{at}.{name}")
        }
    };
    match value {
        Value::String(text) if text.contains('\0') => Some(at),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| nul_path(item, format!("{at}[{index}]"))),
        Value::Object(members) => members.iter().find_map(|(name, member)| {
            if name.contains('\0') {
                Some(field(&name.replace('\0', "\\u0000")))
            } else {
                nul_path(member, field(name))
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_with_the_field_that_holds_it() {
        let found = |body: &str| field_with_nul(body.as_bytes());
        assert_eq!(
            found(r#"{"contact": "c-1", "event": "a\u0000b"}"#).as_deref(),
            Some("event")
        );
        assert_eq!(
            found(
                r#"{"events": [{"event": "ok"}, {"event": "x", "properties": {"k": "\u0000"}}]}"#
            )
            .as_deref(),
            Some("events[1].properties.k")
        );
        assert_eq!(
            found(r#"{"attributes": {"a\u0000b": 1}}"#).as_deref(),
            Some("attributes.a\\u0000b")
        );
        assert_eq!(found(r#""\u0000""#).as_deref(), Some(""));
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_text_not_a_nul() {
        assert_eq!(field_with_nul(br#"{"event": "a\\u0000b"}"#), None);
        assert_eq!(field_with_nul(br#"{"event": "signup"}"#), None);
        assert_eq!(field_with_nul(b"{broken \\u0000"), None);
    }

    #[test]
    fn percent_encoded_nul_is_refused_but_an_encoded_percent_is_not() {
        assert!(has_encoded_nul("/api/v1/contacts/a%00b"));
        assert!(!has_encoded_nul("/api/v1/contacts/a%2500b"));
    }
}
