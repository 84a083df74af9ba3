//! Emails out through SMTP (lettre): `--smtp-url` names the server, as for alerts.

use std::time::Duration;

use app::ids::MessageId;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox, MultiPart, SinglePart,
        header::{HeaderName, HeaderValue},
    },
};

use crate::clock::Millis;

/// How long one SMTP conversation may take before it counts as a transient failure.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// An email ready to go: every field rendered, links already tracked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub from: String,
    pub reply_to: String,
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// `Message-ID`, stable across retries, so a receiver can tell a repeat.
    pub message_id: String,
    /// The unsubscribe link for `List-Unsubscribe` (with one-click `List-Unsubscribe-Post`).
    pub unsubscribe: Option<String>,
}

/// The `Message-ID` of message `id`: stable across retries, and how an SMTP relay's reports
/// (bounces) name the message back.
pub fn message_id_header(id: MessageId, created_at: Millis) -> String {
    format!("<wf-{id}-{created_at}@wayfarer>")
}

/// The message a relay's report names: by its `Message-ID` (with or without the angle
/// brackets) or by Wayfarer's id alone.
pub fn message_of_reference(reference: &str) -> Option<MessageId> {
    let reference = reference.trim();
    let reference = reference
        .strip_prefix('<')
        .and_then(|inner| inner.strip_suffix('>'))
        .unwrap_or(reference);
    let id = match reference.strip_prefix("wf-") {
        Some(rest) => rest
            .strip_suffix("@wayfarer")?
            .split_once('-')
            .map(|(id, _created_at)| id)?,
        None => reference,
    };
    id.parse::<i64>().ok().map(MessageId)
}

/// Why an email was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// The message cannot be built (an address that does not parse): retrying cannot help.
    #[error("{0}")]
    Invalid(String),
    /// The SMTP server refused it for good (5xx).
    #[error("the SMTP server refused the email: {0}")]
    Refused(String),
    /// A 4xx answer, a timeout or no connection: try again later.
    #[error("the SMTP server could not take the email now: {0}")]
    Transient(String),
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Mailer {
    /// A mailer for `smtp://…` or `smtps://…`; the error says what is wrong with the URL.
    pub fn new(smtp_url: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|error| error.to_string())?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Self { transport })
    }

    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), EmailError> {
        let message = build(email)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(EmailError::Refused(error.to_string())),
            Err(error) => Err(EmailError::Transient(error.to_string())),
        }
    }
}

fn build(email: &OutgoingEmail) -> Result<Message, EmailError> {
    let mailbox = |field: &str, text: &str| -> Result<Mailbox, EmailError> {
        text.trim()
            .parse()
            .map_err(|_| EmailError::Invalid(format!("{field} \"{text}\" is not an email address")))
    };
    let mut builder = Message::builder()
        .from(mailbox("from", &email.from)?)
        .to(mailbox("the contact's address", &email.to)?)
        .subject(email.subject.as_str())
        .message_id(Some(email.message_id.clone()));
    if !email.reply_to.trim().is_empty() {
        builder = builder.reply_to(mailbox("reply_to", &email.reply_to)?);
    }
    if let Some(link) = &email.unsubscribe {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{link}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let body = match (email.html.trim().is_empty(), email.text.trim().is_empty()) {
        (false, false) => MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()),
        (false, true) => MultiPart::alternative().singlepart(SinglePart::html(email.html.clone())),
        _ => MultiPart::mixed().singlepart(SinglePart::plain(email.text.clone())),
    };
    builder
        .multipart(body)
        .map_err(|error| EmailError::Invalid(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_report_names_a_message_by_its_message_id_or_its_id() {
        let header = message_id_header(MessageId(42), 1_700_000_000_000);
        assert_eq!(header, "<wf-42-1700000000000@wayfarer>");
        assert_eq!(message_of_reference(&header), Some(MessageId(42)));
        assert_eq!(
            message_of_reference(" wf-42-1700000000000@wayfarer "),
            Some(MessageId(42))
        );
        assert_eq!(message_of_reference("42"), Some(MessageId(42)));
        for foreign in [
            "<abc@mail.example>",
            "wf-x-1@wayfarer",
            "wf-42-1@elsewhere",
            "",
        ] {
            assert_eq!(message_of_reference(foreign), None, "{foreign}");
        }
    }

    fn email() -> OutgoingEmail {
        OutgoingEmail {
            from: "Shop <shop@example.com>".to_owned(),
            reply_to: String::new(),
            to: "ana@example.com".to_owned(),
            subject: "Your cart".to_owned(),
            html: "<p>Hi</p>".to_owned(),
            text: "Hi".to_owned(),
            message_id: "<wf-1@wayfarer>".to_owned(),
            unsubscribe: Some("https://wf.example/t/u/abc".to_owned()),
        }
    }

    #[test]
    fn an_email_carries_its_id_and_one_click_unsubscribe() {
        let text = String::from_utf8(build(&email()).expect("build").formatted()).expect("utf-8");
        assert!(text.contains("Message-ID: <wf-1@wayfarer>"), "{text}");
        assert!(text.contains("List-Unsubscribe: <https://wf.example/t/u/abc>"));
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(text.contains("multipart/alternative"));
    }

    #[test]
    fn an_address_that_does_not_parse_is_named() {
        let mut bad = email();
        bad.to = "not an address".to_owned();
        assert_eq!(
            build(&bad).map(|_| ()),
            Err(EmailError::Invalid(
                "the contact's address \"not an address\" is not an email address".to_owned()
            ))
        );
    }
}
