//! Emails to a webhook's stakeholders when its requests fail for good (after the retry window,
//! at once on `410 Gone`, or unsendable): at most one every `alert_every_minutes` per webhook,
//! from whichever process takes the webhook's alert turn first, failures within the pause
//! added up for the next email (which the sweep sends once the pause is over); and when the
//! webhook disables itself because every request failed for its set period (always: it happens
//! once, and from then on its requests are held until someone acts).

use std::{sync::Arc, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};

use app::{ids::WebhookId, journey::NodeId};

use tokio::sync::watch;

use crate::{
    clock::{Millis, SharedClock},
    error::{Error, Result},
    metrics::SharedMetrics,
    store::{AlertTurn, Store},
    webhook::usage::WebhookUser,
};

/// How often, by the server's clock, the sweep looks for failures held back past their pause.
const SWEEP_EVERY: Millis = 60 * 1_000;

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
    /// Failures held back during the webhook's pause, now that it is over.
    HeldBack(WebhookId),
}

impl Alert {
    fn webhook(&self) -> WebhookId {
        match self {
            Self::Failures(failures) => failures.webhook,
            Self::Disabled { webhook, .. } | Self::HeldBack(webhook) => *webhook,
        }
    }
}

pub struct Alerter {
    mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    store: Store,
    clock: SharedClock,
    /// Where people open Wayfarer (`--public-url`, or this machine's address): the emails
    /// link to the journeys from there.
    base_url: String,
    metrics: SharedMetrics,
}

impl Alerter {
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        store: Store,
        clock: SharedClock,
        base_url: String,
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
            base_url,
            metrics: SharedMetrics::default(),
        })
    }

    /// Counts the emails it sends and those the SMTP server refuses in `metrics`.
    pub fn measured_by(mut self, metrics: SharedMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Sends, every minute by the server's clock, the failures held back by webhooks whose
    /// pause is over, until told to stop.
    pub async fn sweep(self: Arc<Self>, poll_interval: Duration, mut stop: watch::Receiver<bool>) {
        if self.mailer.is_none() {
            return;
        }
        let mut next_at = self.clock.now();
        while !*stop.borrow() {
            if self.clock.now() >= next_at {
                next_at = self.clock.now() + SWEEP_EVERY;
                match self.store.webhooks_owed_an_alert(self.clock.now()).await {
                    Ok(webhooks) => {
                        for webhook in webhooks {
                            self.alert(Alert::HeldBack(webhook)).await;
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot look for alerts held back"),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Emails the webhook's alert addresses about these failures, unless it has none, no
    /// SMTP server is configured, or its alerts pause (then the failures are added up for the
    /// next email).
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
        let pause = row.alert_every_minutes.max(1) * 60 * 1_000;
        // A disabling takes the turn whoever had it: it is news, and it starts the pause.
        let before = match alert {
            Alert::Failures(_) | Alert::HeldBack(_) => now - pause,
            Alert::Disabled { .. } => Millis::MAX,
        };
        let turn = match self.store.take_alert_turn(row.id, now, before).await {
            Ok(Some(turn)) => turn,
            Ok(None) => {
                if let Alert::Failures(failures) = &alert {
                    let count = i64::try_from(failures.count).unwrap_or(i64::MAX);
                    if let Err(error) = self
                        .store
                        .hold_back_failures(row.id, count, &failures.last_error)
                        .await
                    {
                        tracing::warn!(%error, webhook = %row.id, "failures not kept for the next alert");
                    }
                }
                return;
            }
            Err(error) => {
                tracing::warn!(%error, webhook = %row.id, "alert not sent: its turn could not be taken");
                return;
            }
        };
        if matches!(alert, Alert::HeldBack(_)) && turn.held_back == 0 {
            // Another process sent them meanwhile.
            return;
        }
        // What the email says besides the failures: who sends there and what waits. A read
        // that fails leaves its part out rather than the email.
        let users = crate::webhook::usage::users(&self.store, row.id)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, webhook = %row.id, "the alert names no journey: they could not be read");
                Vec::new()
            });
        let held = self.store.held_count(row.id).await.unwrap_or_else(|error| {
            tracing::warn!(%error, webhook = %row.id, "the alert leaves out the held count");
            0
        });
        let email = Email {
            name: &row.name,
            url: &crate::webhook::mask::masked_url(&row.url),
            every_minutes: row.alert_every_minutes,
            users: &users,
            held,
            base_url: &self.base_url,
        };
        let message = match message(&self.from, &recipients, &email, &alert, &turn) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, webhook = %row.id, "alert not sent: the email could not be built");
                return;
            }
        };
        let sent = mailer.send(message).await;
        self.metrics.alert_email(sent.is_ok());
        if let Err(error) = sent {
            tracing::warn!(%error, webhook = %row.id, "alert not sent: the SMTP server refused it");
        }
    }
}

/// The webhook an email is about.
struct Email<'a> {
    name: &'a str,
    /// Masked.
    url: &'a str,
    every_minutes: i64,
    /// The published journeys that send to it.
    users: &'a [WebhookUser],
    /// Its requests held now (while disabled).
    held: i64,
    base_url: &'a str,
}

impl Email<'_> {
    /// The journeys sending to the webhook, each with its nodes and a link, and what it holds.
    fn context(&self) -> String {
        let mut text = String::new();
        if !self.users.is_empty() {
            text.push_str(
                "\nJourneys that send to it (click the node's counts for its delivery log):\n",
            );
            for user in self.users {
                let nodes: Vec<&str> = user.nodes.iter().map(NodeId::as_str).collect();
                text.push_str(&format!(
                    "- {}, node {}: {}/journeys/{}\n",
                    user.quoted(),
                    nodes.join(", "),
                    self.base_url,
                    user.journey_id
                ));
            }
        }
        if self.held > 0 {
            text.push_str(&format!(
                "\n{} request(s) are held now, waiting for the webhook to be enabled: {}/webhooks\n",
                self.held, self.base_url
            ));
        }
        text
    }
}

fn message(
    from: &Mailbox,
    recipients: &[String],
    email: &Email<'_>,
    alert: &Alert,
    turn: &AlertTurn,
) -> Result<Message, lettre::error::Error> {
    let Email {
        name,
        url,
        every_minutes,
        ..
    } = email;
    let failed_text = |count: i64, last_error: &str| {
        format!(
            "{count} request(s) to the webhook \"{name}\" ({url}) failed for good: the receiver \
             did not accept them within the retry window, answered 410 Gone, or the request \
             could not be built.\n\n\
             Last error: {last_error}\n\n\
             Open the journey in Wayfarer and click the webhook node's counts to see the \
             delivery log and resend the failed requests once the receiver works again. \
             Further failures of this webhook are reported at most once every {every_minutes} \
             minute(s), added up.\n"
        )
    };
    let held_back_error = turn.held_back_error.as_deref().unwrap_or("unknown");
    let (subject, body) = match alert {
        Alert::Failures(failures) => {
            let count = i64::try_from(failures.count).unwrap_or(i64::MAX) + turn.held_back;
            (
                format!("Webhook \"{name}\": {count} request(s) failed for good"),
                failed_text(count, &failures.last_error),
            )
        }
        Alert::HeldBack(_) => (
            format!(
                "Webhook \"{name}\": {} request(s) failed for good",
                turn.held_back
            ),
            failed_text(turn.held_back, held_back_error),
        ),
        Alert::Disabled { reason, .. } => {
            let mut body = format!(
                "The webhook \"{name}\" ({url}) was disabled: {reason}.\n\n\
                 Its requests are held from now on: not sent, not failed, their retry window \
                 stopped. Once the receiver works again, open the webhooks page in Wayfarer and \
                 click Enable: what the webhook held is sent then, oldest first.\n"
            );
            if turn.held_back > 0 {
                body.push_str(&format!(
                    "\nBefore that, {} request(s) failed for good since the last alert; last \
                     error: {held_back_error}\n",
                    turn.held_back
                ));
            }
            (format!("Webhook \"{name}\" was disabled"), body)
        }
    };
    let body = body + &email.context();
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
        // Two more failed during the pause before this one.
        let turn = AlertTurn {
            held_back: 2,
            held_back_error: Some("answered 500".to_owned()),
        };
        let message = message(
            &from,
            &["ops@example.com".to_owned(), "crm@example.com".to_owned()],
            &EMAIL,
            &Alert::Failures(failures),
            &turn,
        )
        .expect("a message");
        let text = readable(&message);
        assert!(
            text.contains("Subject: Webhook \"CRM\": 5 request(s) failed for good"),
            "{text}"
        );
        assert!(text.contains("at most once every 30 minute(s)"), "{text}");
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
            &EMAIL,
            &alert,
            &AlertTurn::default(),
        )
        .expect("a message");
        let text = readable(&message);
        assert!(
            text.contains("Subject: Webhook \"CRM\" was disabled"),
            "{text}"
        );
        assert!(
            text.contains("disabled: every request failed for 24 h."),
            "{text}"
        );
        assert!(text.contains("click Enable"), "{text}");
        assert!(!text.contains("Before that"), "{text}");
    }

    #[test]
    fn failures_held_back_during_the_pause_are_sent_with_their_last_error() {
        let from: Mailbox = "wayfarer@example.com".parse().expect("an address");
        let turn = AlertTurn {
            held_back: 4,
            held_back_error: Some("answered 410".to_owned()),
        };
        let message = message(
            &from,
            &["ops@example.com".to_owned()],
            &EMAIL,
            &Alert::HeldBack(WebhookId(7)),
            &turn,
        )
        .expect("a message");
        let text = readable(&message);
        assert!(
            text.contains("Subject: Webhook \"CRM\": 4 request(s) failed for good"),
            "{text}"
        );
        assert!(text.contains("Last error: answered 410"), "{text}");
    }

    const EMAIL: Email<'static> = Email {
        name: "CRM",
        url: "https://crm.example/hook",
        every_minutes: 30,
        users: &[],
        held: 0,
        base_url: "https://journeys.example.com",
    };

    #[test]
    fn the_email_names_the_journeys_sending_there_and_what_is_held() {
        let from: Mailbox = "wayfarer@example.com".parse().expect("an address");
        let users = [WebhookUser {
            journey_id: app::ids::JourneyId(3),
            journey_name: "Welcome".to_owned(),
            nodes: vec![NodeId::new("hook"), NodeId::new("hook-2")],
        }];
        let email = Email {
            users: &users,
            held: 7,
            ..EMAIL
        };
        let alert = Alert::Disabled {
            webhook: WebhookId(7),
            reason: "the receiver answered 410 Gone".to_owned(),
        };
        let message = message(
            &from,
            &["ops@example.com".to_owned()],
            &email,
            &alert,
            &AlertTurn::default(),
        )
        .expect("a message");
        let text = readable(&message);
        assert!(
            text.contains(
                "- \"Welcome\" (3), node hook, hook-2: https://journeys.example.com/journeys/3"
            ),
            "{text}"
        );
        assert!(
            text.contains("7 request(s) are held now, waiting for the webhook to be enabled: https://journeys.example.com/webhooks"),
            "{text}"
        );
    }

    /// The message as text; its quoted-printable soft line breaks undone.
    fn readable(message: &Message) -> String {
        String::from_utf8(message.formatted())
            .expect("text")
            .replace("=\r\n", "")
            .replace("=\n", "")
    }
}
