//! Emails to a webhook's stakeholders when its requests fail for good (after the retry window,
//! or at once on `410 Gone`): at most one an hour per webhook, from whichever process takes
//! the webhook's alert turn first.

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
    pub async fn alert(&self, failures: Failures) {
        let Some(mailer) = &self.mailer else {
            return;
        };
        let row = match self.store.webhook(failures.webhook).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, webhook = %failures.webhook, "alert not sent: the webhook could not be read");
                return;
            }
        };
        let recipients: Vec<String> = serde_json::from_str(&row.alert_emails).unwrap_or_default();
        if recipients.is_empty() {
            return;
        }
        let now = self.clock.now();
        match self
            .store
            .claim_alert(row.id, now, now - ALERT_INTERVAL)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, webhook = %row.id, "alert not sent: its turn could not be taken");
                return;
            }
        }
        let url = crate::webhook::mask::masked_url(&row.url);
        let message = match message(&self.from, &recipients, &row.name, &url, &failures) {
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
    failures: &Failures,
) -> Result<Message, lettre::error::Error> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(format!(
            "Webhook \"{name}\": {} request(s) failed for good",
            failures.count
        ))
        .header(ContentType::TEXT_PLAIN);
    for recipient in recipients {
        if let Ok(mailbox) = recipient.parse::<Mailbox>() {
            builder = builder.to(mailbox);
        }
    }
    builder.body(format!(
        "{} request(s) to the webhook \"{name}\" ({url}) failed for good: the receiver did \
         not accept them within the retry window, or answered 410 Gone.\n\n\
         Last error: {}\n\n\
         Open the journey in Wayfarer and click the webhook node's counts to see the delivery \
         log and resend the failed requests once the receiver works again. Further failures \
         of this webhook are reported at most once an hour.\n",
        failures.count, failures.last_error
    ))
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
            &failures,
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
}
