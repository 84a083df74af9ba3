//! Every API request is authenticated and authorised here, before its handler runs: the
//! [`rule`] table names what each endpoint needs, an endpoint without a rule is refused to
//! everyone (and fails the role × endpoint test), and a cookie session's writes must carry
//! its CSRF token. UI pages send whoever is not signed in to the sign-in (or set-up) page.

use std::net::{IpAddr, SocketAddr};

use app::api::Scope;
use axum::{
    extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State},
    http::{HeaderMap, Method, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use super::{ApiError, AppState};
use crate::auth::{self, Caller, Principal};

/// What an endpoint requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any operator or key.
    SignedIn,
    /// An operator's session (not a key): changing one's password.
    Session,
    /// A principal with all of these scopes.
    Scopes(&'static [Scope]),
}

/// The rule of the endpoint `method` `path` (the route as declared, e.g.
/// `/api/v1/journeys/{id}`); `None` for an endpoint nobody wrote a rule for.
pub fn rule(method: &Method, path: &str) -> Option<Access> {
    use Access::{Public, Scopes as Needs, Session, SignedIn};
    use Scope::*;
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let endpoint = path.strip_prefix("/api/v1")?;
    Some(match (method, endpoint) {
        ("GET", "/health") => Public,
        ("POST", "/setup" | "/session") => Public,
        ("GET" | "DELETE", "/session") | ("GET", "/openapi.json") => SignedIn,
        ("POST", "/session/password") => Session,

        ("GET", "/contacts" | "/contacts/{external_id}" | "/contacts/{external_id}/activity") => {
            Needs(&[ContactsRead])
        }
        ("PUT", "/contacts/{external_id}") | ("POST", "/contacts/batch") => Needs(&[ContactsWrite]),
        ("POST", "/events" | "/events/batch") => Needs(&[EventsWrite]),

        ("GET", "/journeys" | "/journeys/{id}" | "/journeys/{id}/stats") => Needs(&[JourneysRead]),
        ("POST", "/journeys")
        | ("PATCH" | "DELETE", "/journeys/{id}")
        | ("POST", "/journeys/{id}/publish" | "/journeys/{id}/pause" | "/journeys/{id}/resume") => {
            Needs(&[JourneysWrite])
        }

        // A preview renders with sample data and masks secrets: a reader may see it.
        ("GET", "/webhooks" | "/webhooks/{id}") | ("POST", "/webhooks/{id}/preview") => {
            Needs(&[WebhooksRead])
        }
        // The signing secret lets its holder forge requests receivers trust. Settings not
        // saved yet are a writer's: an edit's preview or test uses the stored secrets.
        ("GET", "/webhooks/{id}/signing-secret")
        | (
            "POST",
            "/webhooks"
            | "/webhooks/{id}/rotate-secret"
            | "/webhooks/{id}/test"
            | "/webhooks/preview"
            | "/webhooks/test",
        )
        | ("PATCH" | "DELETE", "/webhooks/{id}") => Needs(&[WebhooksWrite]),

        // A preview fills placeholders with a contact's attributes: a reader of templates and
        // contacts may see it.
        ("GET", "/templates" | "/templates/{id}") | ("POST", "/templates/preview") => {
            Needs(&[TemplatesRead])
        }
        ("POST", "/templates") | ("PUT" | "DELETE", "/templates/{id}") => Needs(&[TemplatesWrite]),

        // Channel settings hold the providers' credentials.
        ("GET", "/channels" | "/channels/presets" | "/channels/{channel}")
        | ("PUT" | "DELETE", "/channels/{channel}") => Needs(&[Admin]),
        // Providers' reports prove themselves with the secret shared with the provider.
        ("POST", "/receipts/{channel}") => Public,

        // The outbound logs: webhook deliveries and the messages action nodes sent.
        (
            "GET",
            "/deliveries"
            | "/deliveries/{id}"
            | "/journeys/{id}/nodes/{node}/failures"
            | "/journeys/{id}/nodes/{node}/timeline"
            | "/journeys/{id}/nodes/{node}/resends",
        )
        | ("GET", "/messages" | "/webhooks/health") => Needs(&[DeliveriesRead]),
        ("GET", "/metrics") => Needs(&[MetricsRead]),
        // The request carries the contact's attributes, like the answers only writers see, and
        // the webhook's URL and headers.
        ("GET", "/deliveries/{id}/request") => {
            Needs(&[DeliveriesWrite, ContactsRead, WebhooksRead])
        }
        (
            "POST",
            "/deliveries/{id}/resend"
            | "/journeys/{id}/nodes/{node}/resend-failed"
            | "/journeys/{id}/nodes/{node}/failures/resend",
        ) => Needs(&[DeliveriesWrite]),

        ("GET" | "POST", "/operators" | "/api-keys")
        | ("PATCH", "/operators/{id}")
        | ("POST", "/operators/{id}/reset-password")
        | ("DELETE", "/api-keys/{id}")
        | ("GET", "/audit") => Needs(&[Admin]),
        _ => return None,
    })
}

/// The API's guard, layered on every API route (after routing, so the route is known).
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| matched.as_str().to_owned())
        .unwrap_or_default();
    let Some(access) = rule(request.method(), &path) else {
        tracing::error!(method = %request.method(), %path, "an API endpoint has no access rule");
        return ApiError::forbidden("this endpoint has no access rule yet; nobody may use it")
            .into_response();
    };
    if access == Access::Public {
        return next.run(request).await;
    }
    let address = client_address(request.extensions());
    let principal = match authenticate(&state, request.headers()).await {
        Ok(Some(principal)) => principal,
        Ok(None) => {
            return ApiError::unauthenticated(
                "sign in, or send an API key as `Authorization: Bearer wf_…`",
            )
            .into_response();
        }
        Err(error) => return ApiError::from(error).into_response(),
    };
    if let Err(refusal) = permit(&principal, access, &request) {
        return refusal.into_response();
    }
    request
        .extensions_mut()
        .insert(Caller { principal, address });
    next.run(request).await
}

/// Whether `principal` may make this request under `access`.
fn permit(principal: &Principal, access: Access, request: &Request) -> Result<(), ApiError> {
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if let Principal::Operator {
        operator,
        csrf_token,
        ..
    } = principal
    {
        if !reads {
            let sent = request
                .headers()
                .get(auth::CSRF_HEADER)
                .and_then(|value| value.to_str().ok());
            if sent != Some(csrf_token.as_str()) {
                return Err(ApiError::csrf(
                    "this write lacks the session's CSRF token (header X-CSRF-Token); reload \
                     the page and try again",
                ));
            }
        }
        if operator.must_change_password() && !matches!(access, Access::Session | Access::SignedIn)
        {
            return Err(ApiError::password_change_required());
        }
    }
    match access {
        Access::Public | Access::SignedIn => Ok(()),
        Access::Session => match principal {
            Principal::Operator { .. } => Ok(()),
            _ => Err(ApiError::forbidden(
                "only a signed-in operator can do this, not an API key",
            )),
        },
        Access::Scopes(scopes) => match scopes.iter().find(|scope| !principal.has(**scope)) {
            None => Ok(()),
            Some(scope) => Err(ApiError::forbidden(match principal {
                Principal::Operator { operator, .. } => format!(
                    "your role ({}) does not allow this (it needs {scope}); ask an admin",
                    operator.role
                ),
                _ => format!(
                    "this API key lacks the scope {scope}; an admin can create one that has it"
                ),
            })),
        },
    }
}

/// The principal of a request's credentials (`Authorization: Bearer`, else the session cookie).
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, auth::AuthError> {
    let bearer = headers.get(header::AUTHORIZATION).map(|value| {
        let value = value.to_str().unwrap_or_default();
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value)
            .trim()
    });
    state
        .auth
        .authenticate(bearer, session_cookie(headers))
        .await
}

pub(super) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| auth::cookie(value, auth::SESSION_COOKIE))
        .filter(|token| !token.is_empty())
}

/// The client's address, which the accept loop puts on every request.
fn client_address(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// Where a public endpoint's request came from.
#[derive(Debug, Clone, Copy)]
pub struct Anonymous {
    pub address: Option<IpAddr>,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("a handler that needs a caller has a public rule"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Anonymous {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Anonymous {
            address: client_address(&parts.extensions),
        })
    }
}

/// Pages the signed-out may open.
const OPEN_PAGES: &[&str] = &["/sign-in", "/setup"];

/// UI pages: whoever is not signed in goes to the sign-in page (or, while there is no
/// operator, to the set-up page); an operator with a one-time password goes to the account
/// page to change it. The API, the bundle and other files pass.
pub async fn page_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_page = request.method() == Method::GET
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/")
        // Links in emails, for contacts: they carry their own token.
        && !path.starts_with("/t/")
        && !path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'));
    if !is_page || OPEN_PAGES.contains(&path) {
        return next.run(request).await;
    }
    match authenticate(&state, request.headers()).await {
        Ok(Some(Principal::Operator { operator, .. }))
            if operator.must_change_password() && path != "/account" =>
        {
            Redirect::to("/account").into_response()
        }
        Ok(Some(_)) => next.run(request).await,
        Ok(None) | Err(auth::AuthError::SessionEnded | auth::AuthError::BadKey) => {
            match state.store.operator_count().await {
                Ok(0) => Redirect::to("/setup").into_response(),
                Ok(_) => {
                    let back = request
                        .uri()
                        .path_and_query()
                        .map_or("/journeys", |target| target.as_str());
                    Redirect::to(&format!("/sign-in?next={}", encode(back))).into_response()
                }
                Err(error) => ApiError::from(error).into_response(),
            }
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_follow_the_routes_as_declared() {
        assert_eq!(rule(&Method::GET, "/api/v1/health"), Some(Access::Public));
        assert_eq!(
            rule(&Method::HEAD, "/api/v1/journeys/{id}"),
            Some(Access::Scopes(&[Scope::JourneysRead]))
        );
        assert_eq!(
            rule(&Method::GET, "/api/v1/webhooks/{id}/signing-secret"),
            Some(Access::Scopes(&[Scope::WebhooksWrite]))
        );
        assert_eq!(rule(&Method::PUT, "/api/v1/journeys/{id}"), None);
        assert_eq!(rule(&Method::GET, "/journeys"), None);
    }
}
