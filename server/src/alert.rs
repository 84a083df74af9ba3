//! Emails to a webhook's stakeholders when its requests fail for good (after the retry window,
//! at once on `410 Gone`, or unsendable): at most one an hour per webhook, from whichever
//! process takes the webhook's alert turn first; and when the webhook disables itself because
//! every request failed for its set period (always: it happens once, and from then on its
//! requests are held until someone acts).

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};

use app::ids::WebhookId;

use crate::{
    clock::{Millis, SharedClock},
    error::{Error, Result},
    store::Store,
};

/// The least time between two alerts about one webhook.
const ALERT_INTERVAL: Millis = 60 * 60 * 1_000;

/// Failed requests of one webhook, as a delivery batch saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failures {
    pub webhook: WebhookId,
    pub count: usize,
    pub last_error: String,
}

/// What a webhook's stakeholders are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    Failures(Failures),
    /// The webhook disabled itself; its requests are held.
    Disabled {
        webhook: WebhookId,
        reason: String,
    },
}

impl Alert {
    fn webhook(&self) -> WebhookId {
        match self {
            Self::Failures(failures) => failures.webhook,
            Self::Disabled { webhook, .. } => *webhook,
        }
    }
}

pub struct Alerter {
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    store: Store,
    clock: SharedClock,
}

impl Alerter {
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        store: Store,
        clock: SharedClock,
    ) -> Result<Self> {
        let mailer = smtp_url
            .map(|url| {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map(|builder| builder.build())
                    .map_err(|error| Error::SmtpUrl(error.to_string()))
            })
            .transpose()?;
        let from = from
            .parse()
            .map_err(|_| Error::AlertFrom(from.to_owned()))?;
        Ok(Self {
            mailer,
            from,
            store,
            clock,
        })
    }

    /// Emails the webhook's alert addresses about these failures, unless it has none, no
    /// SMTP server is configured, or it was alerted within the hour.
    pub async fn alert(&self, alert: Alert) {
        let Some(mailer) = &self.mailer else {
            return;
        };
        let row = match self.store.webhook(alert.webhook()).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, webhook = %alert.webhook(), "alert not sent: the webhook could not be read");
                return;
            }
        };
        let recipients: Vec<String> = serde_json::from_str(&row.alert_emails).unwrap_or_default();
        if recipients.is_empty() {
            return;
        }
        let now = self.clock.now();
        // A disabling takes the turn whoever had it: it is news, and it starts the hour.
        let before = match alert {
            Alert::Failures(_) => now - ALERT_INTERVAL,
            Alert::Disabled { .. } => Millis::MAX,
        };
        match self.store.claim_alert(row.id, now, before).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, webhook = %row.id, "alert not sent: its turn could not be taken");
                return;
            }
        }
        let url = crate::webhook::mask::masked_url(&row.url);
        let message = match message(&self.from, &recipients, &row.name, &url, &alert) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, webhook = %row.id, "alert not sent: the email could not be built");
                return;
            }
        };
        if let Err(error) = mailer.send(message).await {
            tracing::warn!(%error, webhook = %row.id, "alert not sent: the SMTP server refused it");
        }
    }
}

fn message(
    from: &Mailbox,
    recipients: &[String],
    name: &str,
    url: &str,
    alert: &Alert,
) -> Result<Message, lettre::error::Error> {
    let (subject, body) = match alert {
        Alert::Failures(failures) => (
            format!(
                "Webhook \"{name}\": {} request(s) failed for good",
                failures.count
            ),
            format!(
                "{} request(s) to the webhook \"{name}\" ({url}) failed for good: the receiver \
                 did not accept them within the retry window, answered 410 Gone, or the request \
                 could not be built.\n\n\
                 Last error: {}\n\n\
                 Open the journey in Wayfarer and click the webhook node's counts to see the \
                 delivery log and resend the failed requests once the receiver works again. \
                 Further failures of this webhook are reported at most once an hour.\n",
                failures.count, failures.last_error
            ),
        ),
        Alert::Disabled { reason, .. } => (
            format!("Webhook \"{name}\" was disabled"),
            format!(
                "The webhook \"{name}\" ({url}) was disabled: {reason}.\n\n\
                 Its requests are held from now on: not sent, not failed, their retry window \
                 stopped. Once the receiver works again, open the webhooks page in Wayfarer and \
                 click Enable: what the webhook held is sent then, oldest first.\n"
            ),
        ),
    };
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for recipient in recipients {
        if let Ok(mailbox) = recipient.parse::<Mailbox>() {
            builder = builder.to(mailbox);
        }
    }
    builder.body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_names_the_webhook_and_the_last_error() {
        let from: Mailbox = "Wayfarer <wayfarer@example.com>"
            .parse()
            .expect("an address");
        let failures = Failures {
            webhook: WebhookId(7),
            count: 3,
            last_error: "answered 503".to_owned(),
        };
        let message = message(
            &from,
            &["ops@example.com".to_owned(), "crm@example.com".to_owned()],
            "CRM",
            "https://crm.example/hook",
            &Alert::Failures(failures),
        )
        .expect("a message");
        let text = String::from_utf8(message.formatted()).expect("text");
        assert!(
            text.contains("Subject: Webhook \"CRM\": 3 request(s) failed for good"),
            "{text}"
        );
        assert!(
            text.contains("To: ops@example.com, crm@example.com"),
            "{text}"
        );
        assert!(text.contains("Last error: answered 503"), "{text}");
    }

    #[test]
    fn a_disabling_says_why_and_how_to_send_what_is_held() {
        let from: Mailbox = "wayfarer@example.com".parse().expect("an address");
        let alert = Alert::Disabled {
            webhook: WebhookId(7),
            reason: "every request failed for 24 h".to_owned(),
        };
        let message = message(
            &from,
            &["ops@example.com".to_owned()],
            "CRM",
            "https://crm.example/hook",
            &alert,
        )
        .expect("a message");
        // The body is quoted-printable: its soft line breaks are undone to read it.
        let text = String::from_utf8(message.formatted())
            .expect("text")
            .replace("=\r\n", "")
            .replace("=\n", "");
        assert!(
            text.contains("Subject: Webhook \"CRM\" was disabled"),
            "{text}"
        );
        assert!(
            text.contains("disabled: every request failed for 24 h."),
            "{text}"
        );
        assert!(text.contains("click Enable"), "{text}");
    }
}
