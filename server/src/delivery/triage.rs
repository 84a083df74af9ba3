//! Failures grouped by cause, so an operator sees "412 requests: HTTP 400 "invalid phone"" and
//! "3 requests: timeout" instead of a log to read row by row, and resends one cause at a time.
//! The cause is read from what the last attempt left: its status code, the error the sender
//! wrote (reqwest's chain of causes, or the address guard's refusal) and the answer: a JSON
//! answer's error message, or else its first line. Words holding digits (request ids, phone
//! numbers, timestamps) read `#`, so that a receiver naming each request in its answer still
//! makes one group per cause.

use std::collections::HashMap;

use app::{
    api::{FailureExampleOut, FailureGroupOut},
    ids::DeliveryId,
};

use crate::store::LastFailure;

/// The longest answer line or error kept in a cause: enough to tell causes apart, short
/// enough for a group's title.
const MAX_DETAIL_CHARS: usize = 80;

/// Why a request was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The receiver answered, with this status and what its answer says went wrong.
    Http {
        status: i64,
        first_line: String,
    },
    Timeout,
    ConnectionRefused,
    ConnectionReset,
    Dns,
    Tls,
    /// The address guard refused a private, loopback or reserved address.
    AddressGuard,
    /// Anything else, e.g. a request that could not be built: its first words.
    Other(String),
}

impl Cause {
    /// The cause of an attempt that left `status_code`, `error` and `answer`.
    pub fn of(status_code: Option<i64>, error: Option<&str>, answer: Option<&str>) -> Self {
        if let Some(status) = status_code {
            let first_line = answer.map(what_the_answer_says).unwrap_or_default();
            return Self::Http { status, first_line };
        }
        let error = error.unwrap_or_default();
        let lower = error.to_lowercase();
        let has = |needle: &str| lower.contains(needle);
        if has("refused to connect:") {
            Self::AddressGuard
        } else if has("timeout") || has("timed out") {
            Self::Timeout
        } else if has("dns error") || has("failed to lookup") || has("name or service not known") {
            Self::Dns
        } else if has("certificate") || has("tls") || has("handshake") {
            Self::Tls
        } else if has("connection refused") {
            Self::ConnectionRefused
        } else if has("connection reset") || has("broken pipe") || has("broke off") {
            Self::ConnectionReset
        } else {
            Self::Other(shortened(&without_particulars(error)))
        }
    }

    /// Stable across calls: what a client sends back to resend this group.
    pub fn key(&self) -> String {
        match self {
            Self::Http { status, first_line } => format!("http {status} {first_line}"),
            Self::Timeout => "timeout".to_owned(),
            Self::ConnectionRefused => "connection refused".to_owned(),
            Self::ConnectionReset => "connection reset".to_owned(),
            Self::Dns => "dns".to_owned(),
            Self::Tls => "tls".to_owned(),
            Self::AddressGuard => "blocked by address guard".to_owned(),
            Self::Other(words) => format!("other {words}"),
        }
    }

    /// How the group is titled.
    pub fn label(&self) -> String {
        match self {
            Self::Http { status, first_line } if first_line.is_empty() => format!("HTTP {status}"),
            Self::Http { status, first_line } => format!("HTTP {status} \"{first_line}\""),
            Self::Timeout => "timeout".to_owned(),
            Self::ConnectionRefused => "connection refused".to_owned(),
            Self::ConnectionReset => "connection reset".to_owned(),
            Self::Dns => "DNS: the host name does not resolve".to_owned(),
            Self::Tls => "TLS: the secure connection failed".to_owned(),
            Self::AddressGuard => "blocked by address guard".to_owned(),
            Self::Other(words) => words.clone(),
        }
    }
}

/// A JSON answer's error message (`error`, `message`, `error.message`, `errors[0]`, …), or
/// else the answer's first line, without its particulars and shortened.
fn what_the_answer_says(answer: &str) -> String {
    let said = serde_json::from_str::<serde_json::Value>(answer)
        .ok()
        .as_ref()
        .and_then(error_message)
        .or_else(|| {
            answer
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    shortened(&without_particulars(&said))
}

/// The fields error answers name their message with, in the order they are looked for: the
/// specific ones first, as a bare `error` is often only the status's reason phrase beside the
/// real message (Spring's `{"error": "Bad Request", "message": …}`), and an RFC 7807 `title`
/// only the problem's kind beside its `detail`.
const MESSAGE_FIELDS: [&str; 7] = [
    "message",
    "error_description",
    "error_message",
    "detail",
    "errors",
    "error",
    "title",
];

fn error_message(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Object(fields) => MESSAGE_FIELDS
            .iter()
            .filter_map(|field| fields.get(*field))
            .find_map(error_message),
        Value::Array(items) => items.first().and_then(error_message),
        _ => None,
    }
}

/// `text` with each word that holds a digit (an id, a number, a time) as `#`.
fn without_particulars(text: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    for word in text.split_whitespace() {
        let word = if word.chars().any(|c| c.is_ascii_digit()) {
            "#"
        } else {
            word
        };
        if !(word == "#" && words.last() == Some(&"#")) {
            words.push(word);
        }
    }
    words.join(" ")
}

fn shortened(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

impl LastFailure {
    pub fn cause(&self) -> Cause {
        Cause::of(
            self.status_code,
            self.error.as_deref(),
            self.answer.as_deref(),
        )
    }
}

/// The failures grouped by cause, the largest group first; each group's example is its
/// latest failure.
pub fn group(failures: &[LastFailure]) -> Vec<FailureGroupOut> {
    let mut groups: HashMap<Cause, FailureGroupOut> = HashMap::new();
    for failure in failures {
        let cause = failure.cause();
        let group = groups
            .entry(cause.clone())
            .or_insert_with(|| FailureGroupOut {
                cause: cause.key(),
                label: cause.label(),
                count: 0,
                first_at: failure.at,
                last_at: failure.at,
                example: example(failure),
            });
        group.count += 1;
        group.first_at = group.first_at.min(failure.at);
        if failure.at >= group.last_at {
            group.last_at = failure.at;
            group.example = example(failure);
        }
    }
    let mut groups: Vec<FailureGroupOut> = groups.into_values().collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.cause.cmp(&b.cause)));
    groups
}

fn example(failure: &LastFailure) -> FailureExampleOut {
    FailureExampleOut {
        delivery_id: failure.delivery_id,
        contact: failure.contact.clone(),
        status_code: failure.status_code,
        error: failure.error.clone(),
        answer: failure.answer.clone(),
    }
}

/// The deliveries of `failures` whose cause has this key.
pub fn with_cause(failures: &[LastFailure], key: &str) -> Vec<DeliveryId> {
    failures
        .iter()
        .filter(|failure| failure.cause().key() == key)
        .map(|failure| failure.delivery_id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Millis;

    fn failure(
        id: i64,
        status: Option<i64>,
        error: Option<&str>,
        answer: &str,
        at: Millis,
    ) -> LastFailure {
        LastFailure {
            delivery_id: DeliveryId(id),
            contact: format!("c{id}"),
            status_code: status,
            error: error.map(str::to_owned),
            answer: Some(answer.to_owned()).filter(|answer| !answer.is_empty()),
            at,
        }
    }

    #[test]
    fn the_sender_errors_are_named_by_what_went_wrong() {
        let cases = [
            ("no answer before the timeout", Cause::Timeout),
            (
                "error sending request: client error (Connect): tcp connect error: Connection \
                 refused (os error 111)",
                Cause::ConnectionRefused,
            ),
            (
                "error sending request: client error (Connect): dns error: failed to lookup \
                 address information: Name or service not known",
                Cause::Dns,
            ),
            (
                "error sending request: client error (Connect): invalid peer certificate: \
                 UnknownIssuer",
                Cause::Tls,
            ),
            (
                "error sending request: connection error: Connection reset by peer (os error 104)",
                Cause::ConnectionReset,
            ),
            (
                "refused to connect: 10.0.0.8 is a private, loopback or reserved address (start \
                 the server with --allow-target-network <CIDR> or --allow-private-targets to \
                 allow it)",
                Cause::AddressGuard,
            ),
        ];
        for (error, cause) in cases {
            assert_eq!(Cause::of(None, Some(error), None), cause, "{error}");
        }
        assert_eq!(
            Cause::of(None, Some("a path segment would be \"..\""), None),
            Cause::Other("a path segment would be \"..\"".to_owned())
        );
    }

    #[test]
    fn an_answer_is_told_apart_by_its_status_and_first_line() {
        let cause = Cause::of(Some(400), None, Some("\n  invalid phone  \nat line 3"));
        assert_eq!(
            cause,
            Cause::Http {
                status: 400,
                first_line: "invalid phone".to_owned()
            }
        );
        assert_eq!(cause.label(), "HTTP 400 \"invalid phone\"");
        assert_eq!(cause.key(), "http 400 invalid phone");
        assert_eq!(Cause::of(Some(503), None, None).label(), "HTTP 503");
        let long = "x".repeat(200);
        match Cause::of(Some(500), None, Some(&long)) {
            Cause::Http { first_line, .. } => {
                assert_eq!(first_line.chars().count(), MAX_DETAIL_CHARS + 1);
                assert!(first_line.ends_with('…'));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_naming_each_request_make_one_group() {
        let said = |answer: &str| match Cause::of(Some(400), None, Some(answer)) {
            Cause::Http { first_line, .. } => first_line,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            said(r#"{"error":"invalid phone","request_id":"r_8f3a"}"#),
            "invalid phone"
        );
        assert_eq!(
            said(r#"{"error":{"code":21211,"message":"Invalid 'To' number +15551234567"}}"#),
            "Invalid 'To' number #"
        );
        assert_eq!(
            said(r#"{"errors":[{"message":"unknown list"}],"id":7}"#),
            "unknown list"
        );
        assert_eq!(
            said(r#"{"title":"Bad Request","detail":"quota exceeded"}"#),
            "quota exceeded"
        );
        assert_eq!(
            said(r#"{"status":400,"error":"Bad Request","message":"phone 555 is invalid"}"#),
            "phone # is invalid"
        );
        assert_eq!(
            said(
                "rejected at 2026-12-04T07:00:00Z request 9f1c2e71-08aa-4c1e-9a55-0b1c3a7f2d10 id 42"
            ),
            "rejected at # request # id #"
        );
        // An answer without a message field, and one cut short, are read as text.
        assert_eq!(said(r#"{"ok":false}"#), r#"{"ok":false}"#);
        assert_eq!(
            said(r#"{"error":"invalid phone","req"#),
            r#"{"error":"invalid phone","req"#
        );
        assert_eq!(
            Cause::of(
                None,
                Some("error sending request for url (http://h:8080/a): boom"),
                None
            ),
            Cause::Other("error sending request for url # boom".to_owned())
        );
    }

    #[test]
    fn groups_count_their_failures_and_show_the_latest() {
        let failures = [
            failure(1, Some(400), None, "invalid phone", 10),
            failure(2, None, Some("no answer before the timeout"), "", 20),
            failure(3, Some(400), None, "invalid phone", 30),
            failure(4, Some(400), None, "unknown country", 5),
            failure(5, Some(400), None, "invalid phone", 25),
        ];
        let groups = group(&failures);
        let summary: Vec<(&str, i64, Millis, Millis, DeliveryId)> = groups
            .iter()
            .map(|group| {
                (
                    group.label.as_str(),
                    group.count,
                    group.first_at,
                    group.last_at,
                    group.example.delivery_id,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("HTTP 400 \"invalid phone\"", 3, 10, 30, DeliveryId(3)),
                ("HTTP 400 \"unknown country\"", 1, 5, 5, DeliveryId(4)),
                ("timeout", 1, 20, 20, DeliveryId(2)),
            ]
        );
        assert_eq!(
            with_cause(&failures, &groups[0].cause),
            [DeliveryId(1), DeliveryId(3), DeliveryId(5)]
        );
    }
}
