//! A provider's report on a message (delivered, failed, read, …): proven to be the
//! provider's by the secret shared with it, then read for the message it names and its status.
//! Reports come as JSON or as a form (`MessageSid=…&MessageStatus=…`, read as an object of
//! its fields).

use axum::http::{HeaderMap, header};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD},
};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::{
    channel::{ReceiptAuth, Receipts},
    json_path,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Unreadable(String),
}

/// What a report says: the message it names (as the provider names it) and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub reference: String,
    pub status: String,
}

/// Checks that the report was sent by the provider.
pub fn authenticate(
    auth: &ReceiptAuth,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ReceiptError> {
    match auth {
        ReceiptAuth::Hmac { header, secret } => {
            let given = headers
                .get(header.as_str())
                .and_then(|value| value.to_str().ok())
                .ok_or(ReceiptError::Unauthenticated(
                    "the report carries no signature header",
                ))?;
            let signature = decode_signature(given).ok_or(ReceiptError::Unauthenticated(
                "the signature is neither hex nor base64",
            ))?;
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .map_err(|_| ReceiptError::Unauthenticated("the receipt secret is unusable"))?;
            mac.update(body);
            // Constant time: a comparison must not tell how much of a guess was right.
            mac.verify_slice(&signature)
                .map_err(|_| ReceiptError::Unauthenticated("the signature does not match"))
        }
        ReceiptAuth::Basic { username, password } => {
            let expected = format!("{username}:{password}");
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| {
                    let (scheme, credentials) = value.split_once(' ')?;
                    scheme
                        .eq_ignore_ascii_case("basic")
                        .then(|| STANDARD.decode(credentials.trim()).ok())
                        .flatten()
                })
                .ok_or(ReceiptError::Unauthenticated(
                    "the report carries no basic credentials",
                ))?;
            // Compared through a MAC so that the time taken says nothing about the password.
            if same_secret(&given, expected.as_bytes()) {
                Ok(())
            } else {
                Err(ReceiptError::Unauthenticated(
                    "the credentials do not match",
                ))
            }
        }
    }
}

/// The message and status a report names.
pub fn read(
    receipts: &Receipts,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Report, ReceiptError> {
    let form = content_type.is_some_and(|content_type| {
        content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let report: Value = if form {
        Value::Object(
            url::form_urlencoded::parse(body)
                .map(|(key, value)| (key.into_owned(), Value::String(value.into_owned())))
                .collect::<Map<String, Value>>(),
        )
    } else {
        serde_json::from_slice(body).map_err(|error| {
            ReceiptError::Unreadable(format!(
                "the report is not JSON ({error}); send JSON or a form"
            ))
        })?
    };
    let field = |path: &str, what: &str| {
        json_path::find(&report, path)
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| ReceiptError::Unreadable(format!("the report has no {what} at {path}")))
    };
    Ok(Report {
        reference: field(&receipts.message_path, "message id")?,
        status: field(&receipts.status_path, "status")?,
    })
}

fn decode_signature(given: &str) -> Option<Vec<u8>> {
    let given = given.trim();
    let given = match given.split_once('=') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("sha256") => rest,
        _ => given,
    };
    decode_hex(given)
        .or_else(|| STANDARD.decode(given).ok())
        .or_else(|| STANDARD_NO_PAD.decode(given).ok())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let key = b"wayfarer receipt credentials";
    let digest = |value: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(value);
        mac
    };
    digest(given)
        .verify_slice(&digest(expected).finalize().into_bytes())
        .is_ok()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn receipts(auth: ReceiptAuth) -> Receipts {
        Receipts {
            auth,
            message_path: "$.MessageSid".to_owned(),
            status_path: "$.MessageStatus".to_owned(),
            statuses: Vec::new(),
        }
    }

    fn signed(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(body);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    #[test]
    fn only_the_right_signature_passes() {
        let auth = ReceiptAuth::Hmac {
            header: "X-Signature".to_owned(),
            secret: "shh".to_owned(),
        };
        let body = br#"{"MessageSid": "SM1", "MessageStatus": "delivered"}"#;
        let mut headers = HeaderMap::new();
        assert!(authenticate(&auth, &headers, body).is_err());
        let hex = signed("shh", body);
        headers.insert("x-signature", HeaderValue::from_str(&hex).expect("header"));
        assert_eq!(authenticate(&auth, &headers, body), Ok(()));
        headers.insert(
            "x-signature",
            HeaderValue::from_str(&format!("sha256={hex}")).expect("header"),
        );
        assert_eq!(authenticate(&auth, &headers, body), Ok(()));
        assert!(authenticate(&auth, &headers, b"{}").is_err());
        headers.insert(
            "x-signature",
            HeaderValue::from_str(&signed("other", body)).expect("header"),
        );
        assert!(authenticate(&auth, &headers, body).is_err());
    }

    #[test]
    fn basic_credentials_must_match() {
        let auth = ReceiptAuth::Basic {
            username: "provider".to_owned(),
            password: "pw".to_owned(),
        };
        let mut headers = HeaderMap::new();
        let with = |credentials: &str| format!("Basic {}", STANDARD.encode(credentials));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&with("provider:pw")).expect("header"),
        );
        assert_eq!(authenticate(&auth, &headers, b""), Ok(()));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&with("provider:pX")).expect("header"),
        );
        assert!(authenticate(&auth, &headers, b"").is_err());
    }

    #[test]
    fn json_and_form_reports_are_read() {
        let receipts = receipts(ReceiptAuth::Basic {
            username: "u".to_owned(),
            password: "p".to_owned(),
        });
        let json = read(
            &receipts,
            Some("application/json"),
            br#"{"MessageSid": "SM1", "MessageStatus": "delivered"}"#,
        )
        .expect("reads");
        let form = read(
            &receipts,
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            b"MessageSid=SM1&MessageStatus=delivered&To=%2B33",
        )
        .expect("reads");
        assert_eq!(json, form);
        assert_eq!(json.reference, "SM1");
        let missing = read(&receipts, None, br#"{"MessageSid": "SM1"}"#).expect_err("no status");
        assert!(missing.to_string().contains("$.MessageStatus"), "{missing}");
        assert!(read(&receipts, None, b"not json").is_err());
    }
}
