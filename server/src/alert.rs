//! Emails to a webhook's stakeholders when its requests fail for good (after the retry window,
//! at once on `410 Gone`, or unsendable): at most one every `alert_every_minutes` per webhook,
//! from whichever process takes the webhook's alert turn first, failures within the pause
//! added up for the next email (which the sweep sends once the pause is over); and when the
//! webhook disables itself, because its receiver answered 410 Gone or every request failed for
//! its set period (always, with the failures that came with it: it happens once, and from then
//! on its requests are held until someone acts).
//!
//! An email is queued in the database in the transaction that takes the turn, then sent by
//! whichever process claims it; one the SMTP server cannot take now (4xx, no connection) is
//! retried with backoff for up to a day. A crash or an SMTP outage loses none.

use std::{sync::Arc, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};

use app::{
    api::{AlertDigest, FailureGroupOut},
    ids::WebhookId,
};

use tokio::sync::{Notify, watch};

use crate::{
    clock::{Millis, SharedClock},
    error::{Error, Result},
    metrics::SharedMetrics,
    store::{
        AlertEmailOutcome, AlertTurn, Claimant, HOUR_MS, NewAlertEmail, QueuedAlertEmail, Store,
        hour_of,
    },
    webhook::usage::WebhookUser,
};

/// How often, by the server's clock, the sweep looks for failures held back past their pause.
const SWEEP_EVERY: Millis = 60 * 1_000;

/// How often a process with an SMTP server says so in the database (well within the
/// freshness web processes ask for: `messaging::SMTP_SENDER_FRESH_MS`).
const CHECK_IN_EVERY: Duration = Duration::from_secs(60);

/// How long an email the SMTP server cannot take is retried, and the waits between tries
/// (doubling from the first, up to the longest).
const GIVE_UP_AFTER: Millis = 24 * 60 * 60 * 1_000;
const FIRST_RETRY: Millis = 60 * 1_000;
const LONGEST_RETRY: Millis = 60 * 60 * 1_000;

/// How long a claimed email is this process's to send, so no other process sends it
/// meanwhile: twice the longest an SMTP exchange may take ([`SEND_TIMEOUT`]; lettre's own
/// timeout, [`SMTP_TIMEOUT`], is per step of the exchange).
const SEND_LEASE: Millis = 2 * 60 * 1_000;
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The latest failed requests whose causes an email counts, and how many causes it names.
const CAUSES_SCANNED: i64 = 500;
const CAUSES_NAMED: usize = 3;

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
        /// The failures for good of the batch that disabled it: told in the same email.
        failures: Option<Failures>,
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
    /// Names this process's claims on queued emails.
    claimant: Claimant,
    /// Wakes the sender when an email is queued.
    queued: Notify,
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
                    .map(|builder| builder.timeout(Some(SMTP_TIMEOUT)).build())
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
            claimant: Claimant::random(),
            queued: Notify::new(),
        })
    }

    /// Counts the emails it sends and those the SMTP server refuses in `metrics`.
    pub fn measured_by(mut self, metrics: SharedMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Sends the queued emails as they come (and those due again), and every minute by the
    /// server's clock queues the failures held back by webhooks whose pause is over, until
    /// told to stop.
    pub async fn sweep(self: Arc<Self>, poll_interval: Duration, mut stop: watch::Receiver<bool>) {
        let Some(mailer) = &self.mailer else {
            return;
        };
        // Beside the sweep, not in it: sending can take minutes while the SMTP server is slow,
        // and web processes must still read that emails go out.
        let checking_in = tokio::spawn(self.clone().check_in(stop.clone()));
        let mut next_at = self.clock.now();
        while !*stop.borrow() {
            let now = self.clock.now();
            if now >= next_at {
                next_at = now + SWEEP_EVERY;
                let day_start = now - now.rem_euclid(24 * HOUR_MS);
                match self
                    .store
                    .webhooks_owed_an_alert(now, hour_of(now), day_start)
                    .await
                {
                    Ok(webhooks) => {
                        for webhook in webhooks {
                            self.alert(Alert::HeldBack(webhook)).await;
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot look for alerts held back"),
                }
                // Disabled more than a sweep ago: the process that disabled them tells them at
                // once, unless it stopped first.
                match self.store.webhooks_disabled_untold(now - SWEEP_EVERY).await {
                    Ok(webhooks) => {
                        for (webhook, reason) in webhooks {
                            tracing::info!(%webhook, "telling a disabling its process left untold");
                            let reason = reason.unwrap_or_else(|| "disabled".to_owned());
                            let alert = Alert::Disabled {
                                webhook,
                                reason,
                                failures: None,
                            };
                            self.alert(alert).await;
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot look for disablings untold"),
                }
            }
            self.send_queued(mailer).await;
            tokio::select! {
                () = tokio::time::sleep(poll_interval) => {}
                () = self.queued.notified() => {}
                _ = stop.changed() => {}
            }
        }
        let _ = checking_in.await;
        if let Err(error) = self.store.forget_smtp_sender(self.claimant).await {
            tracing::warn!(%error, "cannot note that this process stops sending emails");
        }
    }

    /// Notes every [`CHECK_IN_EVERY`] (real time) that this process, which has an SMTP
    /// server, runs: web processes without one read there that emails go out.
    async fn check_in(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut every = tokio::time::interval(CHECK_IN_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            if let Err(error) = self
                .store
                .note_smtp_sender(self.claimant, self.clock.now())
                .await
            {
                tracing::warn!(%error, "cannot note that this process sends emails");
            }
        }
    }

    /// Sends the queued emails that are due, one claim at a time, until none is left.
    async fn send_queued(&self, mailer: &AsyncSmtpTransport<Tokio1Executor>) {
        loop {
            let now = self.clock.now();
            let email = match self
                .store
                .claim_alert_email(self.claimant, now, now + SEND_LEASE)
                .await
            {
                Ok(Some(email)) => email,
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(%error, "cannot claim the alert emails due");
                    return;
                }
            };
            let outcome = match message(&self.from, &email) {
                Ok(message) => {
                    let sent = match tokio::time::timeout(SEND_TIMEOUT, mailer.send(message)).await
                    {
                        Ok(sent) => sent.map(|_| ()).map_err(Refusal::of),
                        Err(_elapsed) => Err(Refusal {
                            permanent: false,
                            error: format!("no answer within {} s", SEND_TIMEOUT.as_secs()),
                        }),
                    };
                    self.metrics.alert_email(sent.is_ok());
                    outcome(sent, &email, self.clock.now())
                }
                Err(error) => AlertEmailOutcome::Failed {
                    error: format!("the email could not be built: {error}"),
                },
            };
            match &outcome {
                AlertEmailOutcome::Sent => {}
                AlertEmailOutcome::Retry { error, .. } => {
                    tracing::warn!(%error, webhook = ?email.webhook_id, "alert email not sent yet: the SMTP server cannot take it now; retrying");
                }
                AlertEmailOutcome::Failed { error } => {
                    tracing::error!(%error, webhook = ?email.webhook_id, "alert email not sent");
                }
            }
            if let Err(error) = self
                .store
                .settle_alert_email(self.claimant, email.id, &outcome)
                .await
            {
                // Claimed still: tried again once due (at the lease's end).
                tracing::warn!(%error, "cannot record what became of an alert email");
                return;
            }
        }
    }

    /// Emails the webhook's alert addresses about these failures, unless it has none, its
    /// alerts are off, no SMTP server is configured, or its alerts pause (then the failures are
    /// added up for the next email).
    pub async fn alert(&self, alert: Alert) {
        if self.mailer.is_none() {
            return;
        }
        let row = match self.store.webhook(alert.webhook()).await {
            Ok(Some(row)) => row,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, webhook = %alert.webhook(), "alert not sent: the webhook could not be read");
                return;
            }
        };
        let recipients: Vec<String> = serde_json::from_str(&row.alert_emails).unwrap_or_default();
        if recipients.is_empty() || row.alerts_enabled == 0 {
            return;
        }
        let now = self.clock.now();
        let pause = row.alert_every_minutes.max(1) * 60 * 1_000;
        let digest = row.alert_digest != AlertDigest::Immediate;
        let before = match alert {
            Alert::Failures(_) => now - pause,
            Alert::HeldBack(_) if !digest => now - pause,
            // The sweep found the digest due. A disabling is news: it takes the turn whoever
            // had it, and starts the pause.
            Alert::HeldBack(_) | Alert::Disabled { .. } => Millis::MAX,
        };
        // A digest's failures are all held back for it; so are failures within the pause (as
        // the row was read: without the reads below).
        let hold_back = (digest && matches!(alert, Alert::Failures(_)))
            || row.alerted_at.is_some_and(|at| at > before);
        let turn_taken = if hold_back {
            None
        } else {
            self.queue(&row, &alert, recipients, now, before).await
        };
        match turn_taken {
            Some(Ok(())) => self.queued.notify_one(),
            Some(Err(error)) => {
                tracing::warn!(%error, webhook = %row.id, "alert not queued: its turn could not be taken");
            }
            None => {
                if let Alert::Failures(failures) = &alert {
                    let count = i64::try_from(failures.count).unwrap_or(i64::MAX);
                    if let Err(error) = self
                        .store
                        .hold_back_failures(row.id, count, &failures.last_error, now)
                        .await
                    {
                        tracing::warn!(%error, webhook = %row.id, "failures not kept for the next alert");
                    }
                }
            }
        }
    }

    /// Takes the webhook's alert turn and queues the email, in one transaction. `None`: not
    /// its turn.
    async fn queue(
        &self,
        row: &crate::store::WebhookRow,
        alert: &Alert,
        recipients: Vec<String>,
        now: Millis,
        before: Millis,
    ) -> Option<sqlx::Result<()>> {
        // What the email says besides the failures: who sends there, what waits and why they
        // failed. A read that fails leaves its part out rather than the email.
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
        let failures = self
            .store
            .webhook_failures(row.id, CAUSES_SCANNED)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(%error, webhook = %row.id, "the alert leaves out the causes");
                Vec::new()
            });
        let causes = crate::delivery::triage::group(&failures);
        let email = Email {
            name: &row.name,
            url: &crate::webhook::mask::masked_url(&row.url),
            every_minutes: row.alert_every_minutes,
            digest: row.alert_digest,
            users: &users,
            held,
            causes: Causes {
                groups: &causes,
                scanned: failures.len(),
            },
            base_url: &self.base_url,
        };
        let compose = |turn: &AlertTurn| {
            // Another process reported the held-back failures meanwhile.
            if matches!(alert, Alert::HeldBack(_)) && turn.held_back == 0 {
                return None;
            }
            let (subject, body) = content(&email, alert, turn);
            Some(NewAlertEmail {
                webhook: row.id,
                recipients,
                subject,
                body,
            })
        };
        match self
            .store
            .queue_alert_email(
                row.id,
                now,
                before,
                matches!(alert, Alert::Disabled { .. }),
                compose,
            )
            .await
        {
            Ok(Some(_)) => Some(Ok(())),
            Ok(None) => None,
            Err(error) => Some(Err(error)),
        }
    }
}

/// Why the SMTP server did not take an email.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    /// A 5xx answer: trying again cannot help.
    permanent: bool,
    error: String,
}

impl Refusal {
    fn of(error: lettre::transport::smtp::Error) -> Self {
        Self {
            permanent: error.is_permanent(),
            error: error.to_string(),
        }
    }
}

/// What a sending attempt comes to: sent; failed for good (a 5xx answer, or out of time); or
/// due again after a wait that doubles with each attempt.
fn outcome(sent: Result<(), Refusal>, email: &QueuedAlertEmail, now: Millis) -> AlertEmailOutcome {
    let error = match sent {
        Ok(()) => return AlertEmailOutcome::Sent,
        Err(Refusal {
            permanent: true,
            error,
        }) => {
            return AlertEmailOutcome::Failed {
                error: format!("the SMTP server refused it: {error}"),
            };
        }
        Err(Refusal { error, .. }) => error,
    };
    let at = now + retry_wait(email.attempts);
    if at - email.queued_at > GIVE_UP_AFTER {
        return AlertEmailOutcome::Failed {
            error: format!("the SMTP server could not take it for a day; last: {error}"),
        };
    }
    AlertEmailOutcome::Retry { at, error }
}

/// The wait after the `attempts`-th failed try (0 for the first).
fn retry_wait(attempts: i64) -> Millis {
    let doublings = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    FIRST_RETRY
        .saturating_mul(1 << doublings)
        .min(LONGEST_RETRY)
}

/// The webhook an email is about.
struct Email<'a> {
    name: &'a str,
    /// Masked.
    url: &'a str,
    every_minutes: i64,
    digest: AlertDigest,
    /// The published journeys that send to it.
    users: &'a [WebhookUser],
    /// Its requests held now (while disabled).
    held: i64,
    causes: Causes<'a>,
    base_url: &'a str,
}

/// The causes of a webhook's latest failed requests, the largest group first.
#[derive(Clone, Copy)]
struct Causes<'a> {
    groups: &'a [FailureGroupOut],
    /// How many failed requests they were read from.
    scanned: usize,
}

impl Email<'_> {
    /// The causes of its latest failures, the journeys sending to the webhook, each with its
    /// nodes and a link, and what it holds.
    fn context(&self) -> String {
        let mut text = String::new();
        if !self.causes.groups.is_empty() {
            text.push_str(&format!(
                "\nWhy its latest {} failed request(s) failed:\n",
                self.causes.scanned
            ));
            for group in self.causes.groups.iter().take(CAUSES_NAMED) {
                text.push_str(&format!(
                    "- {}: {}, from {} to {} UTC\n",
                    group.count,
                    group.label,
                    utc_minutes(group.first_at),
                    utc_minutes(group.last_at)
                ));
            }
            let others: i64 = self
                .causes
                .groups
                .iter()
                .skip(CAUSES_NAMED)
                .map(|group| group.count)
                .sum();
            if others > 0 {
                text.push_str(&format!("- {others}: other causes\n"));
            }
        }
        if !self.users.is_empty() {
            text.push_str(
                "\nJourneys that send to it (each link opens the node's delivery log):\n",
            );
            for user in self.users {
                for node in &user.nodes {
                    let in_link: String =
                        url::form_urlencoded::byte_serialize(node.as_str().as_bytes()).collect();
                    text.push_str(&format!(
                        "- {}, node {node}: {}/journeys/{}?log={in_link}\n",
                        user.quoted(),
                        self.base_url,
                        user.journey_id
                    ));
                }
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

/// Epoch milliseconds as `2026-11-23 16:35` (UTC).
fn utc_minutes(millis: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|at| at.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The email's subject and text.
fn content(email: &Email<'_>, alert: &Alert, turn: &AlertTurn) -> (String, String) {
    let Email {
        name,
        url,
        every_minutes,
        digest,
        ..
    } = email;
    let pacing = match digest {
        AlertDigest::Immediate => format!(
            "Further failures of this webhook are reported at most once every {every_minutes} \
             minute(s), added up."
        ),
        AlertDigest::Hourly => "Further failures of this webhook are gathered in an hourly \
                                digest, sent after each hour that had some."
            .to_owned(),
        AlertDigest::Daily => "Further failures of this webhook are gathered in a daily digest, \
                               sent after midnight (UTC)."
            .to_owned(),
    };
    let failed_text = |count: i64, last_error: &str| {
        format!(
            "{count} request(s) to the webhook \"{name}\" ({url}) failed for good: the receiver \
             did not accept them within the retry window, answered 410 Gone, or the request \
             could not be built.\n\n\
             Last error: {last_error}\n\n\
             Open the journey in Wayfarer and click the webhook node's counts to see the \
             delivery log and resend the failed requests once the receiver works again. \
             {pacing}\n"
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
        Alert::Disabled {
            reason, failures, ..
        } => {
            let of_the_batch = failures.as_ref().map_or(0, |failures| {
                i64::try_from(failures.count).unwrap_or(i64::MAX)
            });
            let failed_before = turn.held_back.saturating_add(of_the_batch);
            let last_error = failures
                .as_ref()
                .map_or(held_back_error, |failures| failures.last_error.as_str());
            let mut body = format!(
                "The webhook \"{name}\" ({url}) was disabled: {reason}.\n\n\
                 Its requests are held from now on: not sent, not failed, their retry window \
                 stopped. Once the receiver works again, open the webhooks page in Wayfarer and \
                 click Enable: what the webhook held is sent then, oldest first.\n"
            );
            if failed_before > 0 {
                body.push_str(&format!(
                    "\nBefore that, {failed_before} request(s) failed for good since the last \
                     alert; last error: {last_error}\n"
                ));
            }
            (format!("Webhook \"{name}\" was disabled"), body)
        }
    };
    (subject, body + &email.context())
}

/// A queued email as the SMTP server gets it.
fn message(from: &Mailbox, email: &QueuedAlertEmail) -> Result<Message, lettre::error::Error> {
    let recipients: Vec<String> = serde_json::from_str(&email.recipients).unwrap_or_default();
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(email.subject.as_str())
        .header(ContentType::TEXT_PLAIN);
    for recipient in &recipients {
        if let Ok(mailbox) = recipient.parse::<Mailbox>() {
            builder = builder.to(mailbox);
        }
    }
    builder.body(email.body.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::journey::NodeId;

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
        let message = composed(
            &from,
            &["ops@example.com".to_owned(), "crm@example.com".to_owned()],
            &EMAIL,
            &Alert::Failures(failures),
            &turn,
        );
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
            failures: None,
        };
        let message = composed(
            &from,
            &["ops@example.com".to_owned()],
            &EMAIL,
            &alert,
            &AlertTurn::default(),
        );
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
        let message = composed(
            &from,
            &["ops@example.com".to_owned()],
            &EMAIL,
            &Alert::HeldBack(WebhookId(7)),
            &turn,
        );
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
        digest: AlertDigest::Immediate,
        users: &[],
        held: 0,
        causes: Causes {
            groups: &[],
            scanned: 0,
        },
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
            failures: None,
        };
        let message = composed(
            &from,
            &["ops@example.com".to_owned()],
            &email,
            &alert,
            &AlertTurn::default(),
        );
        let text = readable(&message);
        for node in ["hook", "hook-2"] {
            assert!(
                text.contains(&format!(
                    "- \"Welcome\" (3), node {node}: https://journeys.example.com/journeys/3?log={node}"
                )),
                "{text}"
            );
        }
        assert!(
            text.contains("7 request(s) are held now, waiting for the webhook to be enabled: https://journeys.example.com/webhooks"),
            "{text}"
        );
    }

    /// The email as the sender builds it from the queue.
    fn composed(
        from: &Mailbox,
        recipients: &[String],
        email: &Email<'_>,
        alert: &Alert,
        turn: &AlertTurn,
    ) -> Message {
        let (subject, body) = content(email, alert, turn);
        let queued = QueuedAlertEmail {
            id: 1,
            webhook_id: Some(alert.webhook()),
            recipients: serde_json::to_string(recipients).expect("JSON"),
            subject,
            body,
            attempts: 0,
            queued_at: 0,
        };
        message(from, &queued).expect("a message")
    }

    #[test]
    fn an_email_the_server_cannot_take_is_retried_ever_later_for_a_day() {
        let waits: Vec<Millis> = (0..8).map(retry_wait).collect();
        let minute = 60 * 1_000;
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 32, 60, 60].map(|minutes| minutes * minute)
        );
        let queued = QueuedAlertEmail {
            id: 1,
            webhook_id: None,
            recipients: "[]".to_owned(),
            subject: String::new(),
            body: String::new(),
            attempts: 3,
            queued_at: 0,
        };
        let refusal = |permanent| {
            Err(Refusal {
                permanent,
                error: "451 try later".to_owned(),
            })
        };
        assert_eq!(
            outcome(refusal(false), &queued, 10 * minute),
            AlertEmailOutcome::Retry {
                at: 18 * minute,
                error: "451 try later".to_owned(),
            },
            "the fourth try fails: due again 8 minutes later"
        );
        assert!(matches!(
            outcome(refusal(false), &queued, 24 * 60 * minute),
            AlertEmailOutcome::Failed { .. }
        ));
        assert!(matches!(
            outcome(refusal(true), &queued, 10 * minute),
            AlertEmailOutcome::Failed { .. }
        ));
        assert_eq!(outcome(Ok(()), &queued, 0), AlertEmailOutcome::Sent);
    }

    /// The message as text; its quoted-printable soft line breaks undone.
    fn readable(message: &Message) -> String {
        String::from_utf8(message.formatted())
            .expect("text")
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=")
    }

    #[test]
    fn the_email_counts_the_causes_largest_first() {
        let from: Mailbox = "wayfarer@example.com".parse().expect("an address");
        let group = |cause: &str, count: i64| FailureGroupOut {
            cause: cause.to_owned(),
            label: cause.to_owned(),
            count,
            first_at: 1_795_451_700_000,
            last_at: 1_795_455_300_000,
            example: app::api::FailureExampleOut {
                delivery_id: app::ids::DeliveryId(1),
                contact: "ana".to_owned(),
                status_code: None,
                error: None,
                answer: None,
            },
        };
        let groups = [
            group("HTTP 400 \"invalid phone\"", 412),
            group("timeout", 3),
            group("connection refused", 2),
            group("dns", 1),
            group("tls", 1),
        ];
        let email = Email {
            causes: Causes {
                groups: &groups,
                scanned: 419,
            },
            ..EMAIL
        };
        let failures = Failures {
            webhook: WebhookId(7),
            count: 1,
            last_error: "answered 400".to_owned(),
        };
        let message = composed(
            &from,
            &["ops@example.com".to_owned()],
            &email,
            &Alert::Failures(failures),
            &AlertTurn::default(),
        );
        let text = readable(&message);
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        let causes = lines
            .iter()
            .position(|line| *line == "Why its latest 419 failed request(s) failed:")
            .unwrap_or_else(|| panic!("no causes in {text}"));
        assert_eq!(
            lines[causes + 1..causes + 5],
            [
                "- 412: HTTP 400 \"invalid phone\", from 2026-11-23 16:35 to 2026-11-23 17:35 UTC",
                "- 3: timeout, from 2026-11-23 16:35 to 2026-11-23 17:35 UTC",
                "- 2: connection refused, from 2026-11-23 16:35 to 2026-11-23 17:35 UTC",
                "- 2: other causes",
            ],
            "{text}"
        );
    }
}
