//! The delivery loop: claim due deliveries, render and sign each, send them concurrently (at
//! most a few at a time per webhook, so one slow receiver cannot hold up the others), and
//! record every attempt with the delivery's next state in one transaction per batch.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use app::journey::KeyValue;
use serde_json::{Map, Value};
use tokio::{
    sync::{Notify, Semaphore, watch},
    task::JoinSet,
};

use super::{
    render::{self, OutgoingRequest, Payload},
    schedule::{self, Verdict},
    send::{Attempt, Sender},
};
use crate::{
    alert::{Alerter, Failures},
    clock::{Millis, SharedClock},
    pace::Pace,
    store::{AttemptRecord, DueDelivery, Store, WebhookRow},
    webhook::Settings,
};

/// Attempts recorded in one transaction at most.
const RECORD_GROUP: usize = 256;

/// How long the first finished attempt waits for others to share its commit.
const RECORD_GATHER: Duration = Duration::from_millis(5);

/// What a claim's lease adds to the longest a claimed delivery can wait and be sent.
const LEASE_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Batches under way at a time: one is sent while the other is claimed or recorded.
const LOOPS: usize = 2;

#[derive(Debug, Clone, Copy)]
pub struct DeliverySettings {
    pub poll_interval: Duration,
    pub batch_size: i64,
    /// Requests in flight to one webhook at most.
    pub per_webhook_concurrency: usize,
}

pub struct DeliveryWorker {
    store: Store,
    clock: SharedClock,
    sender: Sender,
    settings: DeliverySettings,
    /// One semaphore per webhook, shared by concurrent batches, caps its requests in flight.
    limits: Mutex<HashMap<i64, Arc<Semaphore>>>,
    alerts: Option<Arc<Alerter>>,
}

/// A delivery that could not even be sent, and why.
struct Unsendable {
    delivery: i64,
    window_started_at: Millis,
    reason: String,
}

impl DeliveryWorker {
    pub fn new(
        store: Store,
        clock: SharedClock,
        sender: Sender,
        settings: DeliverySettings,
    ) -> Self {
        Self {
            store,
            clock,
            sender,
            settings,
            limits: Mutex::new(HashMap::new()),
            alerts: None,
        }
    }

    /// Emails the stakeholders of webhooks whose requests fail for good.
    pub fn with_alerts(mut self, alerter: Arc<Alerter>) -> Self {
        self.alerts = Some(alerter);
        self
    }

    fn limit_of(&self, webhook: i64) -> Arc<Semaphore> {
        let mut limits = self
            .limits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        limits
            .entry(webhook)
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_webhook_concurrency)))
            .clone()
    }

    /// Runs until `stop` turns true, with [`LOOPS`] batches under way at a time; batches in
    /// flight are finished first.
    pub async fn run(self, wake: Arc<Notify>, stop: watch::Receiver<bool>) {
        let worker = Arc::new(self);
        let mut loops = JoinSet::new();
        for _ in 0..LOOPS {
            loops.spawn(worker.clone().run_loop(wake.clone(), stop.clone()));
        }
        while let Some(ended) = loops.join_next().await {
            if let Err(error) = ended {
                tracing::error!(%error, "a delivery loop ended abnormally");
            }
        }
    }

    async fn run_loop(self: Arc<Self>, wake: Arc<Notify>, stop: watch::Receiver<bool>) {
        let mut pace = Pace::new(wake, stop, self.settings.poll_interval);
        while !pace.stopping() {
            let round = self.tick().await;
            pace.after(round, "delivery batch").await;
        }
    }

    /// Sends one batch of due deliveries; returns how many it handled.
    pub async fn tick(&self) -> sqlx::Result<usize> {
        let now = self.clock.now();
        let lease = lease(
            self.settings.batch_size,
            self.settings.per_webhook_concurrency,
            self.sender.timeout(),
        );
        let lease_until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let due = self
            .store
            .claim_due_deliveries(now, lease_until, self.settings.batch_size)
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        // Each webhook of the batch is read and parsed once.
        let mut webhooks: HashMap<String, Result<Arc<Target>, String>> = HashMap::new();
        for delivery in &due {
            if !webhooks.contains_key(&delivery.webhook) {
                let row = match delivery.webhook.parse::<i64>() {
                    Ok(id) => self.store.webhook(id).await?,
                    Err(_) => None,
                };
                let target = match row {
                    Some(row) => Target::of(row, now).map(Arc::new),
                    None => Err(format!("webhook {} does not exist", delivery.webhook)),
                };
                webhooks.insert(delivery.webhook.clone(), target);
            }
        }

        let mut unsendable = Vec::new();
        let mut in_flight = JoinSet::new();
        for delivery in due.iter().cloned() {
            let window_started_at = delivery.window_started_at.unwrap_or(now);
            let prepared = match webhooks.get(&delivery.webhook) {
                Some(Ok(target)) => {
                    prepare(target, &delivery, now).map(|request| (target.clone(), request))
                }
                Some(Err(reason)) => Err(reason.clone()),
                None => Err(format!("webhook {} does not exist", delivery.webhook)),
            };
            let (target, request) = match prepared {
                Ok(prepared) => prepared,
                Err(reason) => {
                    unsendable.push(Unsendable {
                        delivery: delivery.id,
                        window_started_at,
                        reason,
                    });
                    continue;
                }
            };
            let limit = self.limit_of(target.id);
            let sender = self.sender.clone();
            in_flight.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let attempt = sender.send(&request).await;
                (
                    delivery,
                    target,
                    window_started_at,
                    attempt,
                    request.missing,
                )
            });
        }

        let now = self.clock.now();
        let mut records: Vec<AttemptRecord> = unsendable
            .into_iter()
            .map(|failure| AttemptRecord {
                delivery_id: failure.delivery,
                attempted_at: now,
                latency_ms: 0,
                status_code: None,
                error: Some(failure.reason),
                response_body: None,
                missing_placeholders: None,
                outcome: "failed",
                status: "failed",
                next_attempt_at: None,
                window_started_at: failure.window_started_at,
            })
            .collect();
        let mut gone = Vec::new();
        let mut failed: HashMap<i64, Failures> = HashMap::new();
        // Attempts are recorded as they finish, in groups of whatever finished meanwhile: a
        // slow receiver delays only its own record, and recording overlaps sending.
        while let Some(first) = in_flight.join_next().await {
            let mut finished = vec![first];
            let gather_until = tokio::time::Instant::now() + RECORD_GATHER;
            while finished.len() < RECORD_GROUP
                && let Ok(Some(more)) =
                    tokio::time::timeout_at(gather_until, in_flight.join_next()).await
            {
                finished.push(more);
            }
            let now = self.clock.now();
            for joined in finished {
                let (delivery, target, window_started_at, attempt, missing) = match joined {
                    Ok(result) => result,
                    Err(error) => {
                        // A panicking send leaves its delivery leased; it is retried after
                        // the lease.
                        tracing::error!(%error, "a delivery task failed");
                        continue;
                    }
                };
                let mut record = outcome(
                    &delivery,
                    target.retry_window,
                    window_started_at,
                    attempt,
                    now,
                );
                if !missing.is_empty() {
                    record.missing_placeholders = Some(missing.join(", "));
                }
                if record.outcome == "failed" && record.status_code == Some(410) {
                    gone.push(target.id);
                }
                if record.status == "failed" {
                    let failures = failed.entry(target.id).or_insert_with(|| Failures {
                        webhook: target.id,
                        count: 0,
                        last_error: String::new(),
                    });
                    failures.count += 1;
                    failures.last_error = record.error.clone().unwrap_or_else(|| {
                        record.status_code.map_or_else(
                            || "no answer".to_owned(),
                            |code| format!("answered {code}"),
                        )
                    });
                }
                records.push(record);
            }
            self.store.record_attempts(&records, now).await?;
            records.clear();
        }
        if !records.is_empty() {
            self.store.record_attempts(&records, now).await?;
        }
        if let Some(alerter) = &self.alerts {
            for failures in failed.into_values() {
                // Sent beside the delivery loops: a slow mail server holds up no request.
                let alerter = alerter.clone();
                tokio::spawn(async move { alerter.alert(failures).await });
            }
        }
        let finished = self.clock.now();
        gone.sort_unstable();
        gone.dedup();
        for webhook in gone {
            tracing::warn!(webhook, "receiver answered 410 Gone; webhook disabled");
            self.store
                .disable_webhook(webhook, "the receiver answered 410 Gone", finished)
                .await?;
        }
        Ok(due.len())
    }
}

/// How long a claimed delivery stays with this process before another may take it over. It
/// must outlast the worst wait: every loop's whole batch queued behind one webhook whose
/// receiver never answers, sent a few at a time, each waiting out the timeout. A shorter
/// lease would hand deliveries still queued here to another claim, and send them twice.
fn lease(batch_size: i64, per_webhook_concurrency: usize, timeout: Duration) -> Duration {
    let queued = usize::try_from(batch_size).unwrap_or(0).max(1) * LOOPS;
    let rounds = queued.div_ceil(per_webhook_concurrency.max(1));
    LEASE_MARGIN.saturating_add(timeout.saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX)))
}

/// A webhook as a batch sends to it: parsed once, with the secrets that sign now.
struct Target {
    id: i64,
    settings: Settings,
    secrets: Vec<String>,
    retry_window: Duration,
}

impl Target {
    /// The webhook ready to send to, or why nothing can be sent to it.
    fn of(row: WebhookRow, now: Millis) -> Result<Self, String> {
        if row.enabled == 0 {
            let reason = row.disabled_reason.as_deref().unwrap_or("disabled");
            return Err(format!("webhook {} is disabled ({reason})", row.id));
        }
        let settings = Settings::from_row(&row).map_err(|error| error.to_string())?;
        let hours = u64::try_from(row.retry_window_hours).unwrap_or(12);
        Ok(Self {
            id: row.id,
            secrets: signing_secrets(&row, now)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            settings,
            retry_window: Duration::from_secs(hours * 3_600),
        })
    }
}

/// The signed request for this delivery.
fn prepare(
    target: &Target,
    delivery: &DueDelivery,
    now: Millis,
) -> Result<OutgoingRequest, String> {
    let contact = json_object(&delivery.contact_attributes);
    let event = delivery
        .event_properties
        .as_deref()
        .map(json_object)
        .unwrap_or_default();
    let node_custom_data: Vec<KeyValue> =
        serde_json::from_str(&delivery.custom_data).unwrap_or_default();
    let event_time = delivery
        .event_occurred_at
        .and_then(chrono::DateTime::from_timestamp_millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let message_id = message_id(delivery);
    let payload = Payload {
        message_id: &message_id,
        contact_external_id: &delivery.contact_external_id,
        contact: &contact,
        event_name: delivery.event_name.as_deref().unwrap_or_default(),
        event_time: &event_time,
        event: &event,
        journey_id: Some(delivery.journey_id),
        journey_name: delivery.journey_name.as_deref(),
        node_custom_data: &node_custom_data,
    };
    let secrets: Vec<&str> = target.secrets.iter().map(String::as_str).collect();
    render::render(&target.settings, &payload, &secrets, now / 1_000)
        .map_err(|error| error.to_string())
}

/// The secrets that sign now: the current one, and the previous one during its overlap.
pub fn signing_secrets(row: &WebhookRow, now: Millis) -> Vec<&str> {
    let mut secrets = vec![row.signing_secret.as_str()];
    if let (Some(previous), Some(expires)) =
        (&row.previous_signing_secret, row.previous_secret_expires_at)
        && expires > now
    {
        secrets.push(previous);
    }
    secrets
}

/// `webhook-id`: the same for every attempt of a delivery, so receivers can deduplicate.
fn message_id(delivery: &DueDelivery) -> String {
    format!("msg_{}_{}", delivery.created_at, delivery.id)
}

/// What an attempt means for its delivery, per the retry schedule.
fn outcome(
    delivery: &DueDelivery,
    window: Duration,
    window_started_at: Millis,
    attempt: Attempt,
    now: Millis,
) -> AttemptRecord {
    let attempts = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
    let jitter = f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
    let (outcome, status, next_attempt_at) =
        match schedule::verdict(attempt.status, attempt.retry_after) {
            Verdict::Accepted => ("accepted", "accepted", None),
            Verdict::Gone => ("failed", "failed", None),
            Verdict::Retry { retry_after } => {
                match schedule::next_attempt(
                    attempts,
                    now,
                    window_started_at,
                    window,
                    retry_after,
                    jitter,
                ) {
                    Some(at) => ("retry", "pending", Some(at)),
                    None => ("failed", "failed", None),
                }
            }
        };
    AttemptRecord {
        delivery_id: delivery.id,
        attempted_at: now,
        latency_ms: i64::try_from(attempt.latency.as_millis()).unwrap_or(i64::MAX),
        status_code: attempt.status.map(i64::from),
        error: attempt.error,
        response_body: Some(attempt.body).filter(|body| !body.is_empty()),
        missing_placeholders: None,
        outcome,
        status,
        next_attempt_at,
        window_started_at,
    }
}

fn json_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_outlasts_every_queued_request_timing_out() {
        let timeout = Duration::from_secs(15);
        // Two loops × 512 claimed, 16 at a time: 64 rounds of 15 s before the last is sent.
        assert_eq!(
            lease(512, 16, timeout),
            LEASE_MARGIN + Duration::from_secs(64 * 15)
        );
        assert_eq!(lease(1, 16, timeout), LEASE_MARGIN + timeout);
        assert_eq!(lease(10_000, 1, Duration::MAX), Duration::MAX);
    }
}
