//! The delivery loop, in stages: claim due deliveries; prepare each request (its webhook read
//! and parsed once per batch); send them concurrently (at most a few at a time per webhook, so
//! one slow receiver cannot hold up the others), each signed the moment its turn comes; record
//! every attempt with the delivery's next state, in groups of whatever finished together; then
//! act on what the answers said (410 Gone disables a webhook; failures for good alert).

use std::{
    collections::{HashMap, hash_map::Entry},
    sync::{Arc, Mutex},
    time::Duration,
};

use app::{
    api::{AttemptOutcome, DeliveryStatus},
    ids::WebhookId,
};
use tokio::{
    sync::{Notify, Semaphore, watch},
    task::JoinSet,
};

use super::{
    prepare::{Subject, Target},
    render::OutgoingRequest,
    schedule::{self, Verdict},
    send::{Attempt, Sender},
};
use crate::{
    alert::{Alerter, Failures},
    clock::{Millis, SharedClock},
    pace::Pace,
    store::{AttemptRecord, DueDelivery, Store},
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
    limits: Mutex<HashMap<WebhookId, Arc<Semaphore>>>,
    alerts: Option<Arc<Alerter>>,
}

/// A claimed delivery whose request is built, waiting for its turn to be sent.
struct Prepared {
    delivery: DueDelivery,
    target: Arc<Target>,
    request: OutgoingRequest,
    window_started_at: Millis,
}

/// A delivery that could not even be sent, and why.
struct Unsendable {
    delivery: DueDelivery,
    window_started_at: Millis,
    reason: String,
}

/// A delivery that was sent, with what the receiver answered.
struct Sent {
    delivery: DueDelivery,
    target: Arc<Target>,
    window_started_at: Millis,
    attempt: Attempt,
    missing_placeholders: Vec<String>,
}

/// What a batch's answers call for once they are recorded.
#[derive(Default)]
struct Aftermath {
    /// Webhooks whose receiver answered 410 Gone.
    gone: Vec<WebhookId>,
    /// Deliveries that failed for good, per webhook.
    failed: HashMap<WebhookId, Failures>,
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

    fn limit_of(&self, webhook: WebhookId) -> Arc<Semaphore> {
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
    /// flight are finished first. `wake` is signalled when the engine queues deliveries.
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
        let claimed = due.len();
        if claimed == 0 {
            return Ok(0);
        }
        let (prepared, unsendable) = self.prepare(due, now).await?;
        let in_flight = self.dispatch(prepared);
        let aftermath = self.record(in_flight, unsendable).await?;
        self.follow_up(aftermath).await?;
        Ok(claimed)
    }

    /// Builds each delivery's request; each webhook of the batch is read and parsed once.
    async fn prepare(
        &self,
        due: Vec<DueDelivery>,
        now: Millis,
    ) -> sqlx::Result<(Vec<Prepared>, Vec<Unsendable>)> {
        let mut targets: HashMap<WebhookId, Result<Arc<Target>, String>> = HashMap::new();
        for delivery in &due {
            if let Entry::Vacant(entry) = targets.entry(delivery.webhook_id) {
                entry.insert(match self.store.webhook(delivery.webhook_id).await? {
                    Some(row) if !row.is_enabled() => Err(format!(
                        "webhook {} is disabled ({})",
                        row.id,
                        row.disabled_reason.as_deref().unwrap_or("disabled")
                    )),
                    Some(row) => Target::of(&row, now)
                        .map(Arc::new)
                        .map_err(|error| error.to_string()),
                    None => Err(format!("webhook {} does not exist", delivery.webhook_id)),
                });
            }
        }
        let mut prepared = Vec::with_capacity(due.len());
        let mut unsendable = Vec::new();
        for delivery in due {
            let window_started_at = delivery.window_started_at.unwrap_or(now);
            let built = match &targets[&delivery.webhook_id] {
                Ok(target) => target
                    .request(&Subject::of_delivery(&delivery))
                    .map(|request| (target.clone(), request))
                    .map_err(|error| error.to_string()),
                Err(reason) => Err(reason.clone()),
            };
            match built {
                Ok((target, request)) => prepared.push(Prepared {
                    delivery,
                    target,
                    request,
                    window_started_at,
                }),
                Err(reason) => unsendable.push(Unsendable {
                    delivery,
                    window_started_at,
                    reason,
                }),
            }
        }
        Ok((prepared, unsendable))
    }

    /// Starts sending every prepared request, each once its webhook has a free slot.
    fn dispatch(&self, prepared: Vec<Prepared>) -> JoinSet<Sent> {
        let mut in_flight = JoinSet::new();
        for Prepared {
            delivery,
            target,
            mut request,
            window_started_at,
        } in prepared
        {
            let limit = self.limit_of(target.id);
            let sender = self.sender.clone();
            let clock = self.clock.clone();
            in_flight.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let attempt = match target.sign(&mut request, clock.now()) {
                    Ok(()) => sender.send(&request).await,
                    Err(error) => Attempt::refused(error.to_string()),
                };
                Sent {
                    delivery,
                    target,
                    window_started_at,
                    attempt,
                    missing_placeholders: request.missing,
                }
            });
        }
        in_flight
    }

    /// Records the attempts as they finish, in groups of whatever finished meanwhile: a slow
    /// receiver delays only its own record, and recording overlaps sending.
    async fn record(
        &self,
        mut in_flight: JoinSet<Sent>,
        unsendable: Vec<Unsendable>,
    ) -> sqlx::Result<Aftermath> {
        let mut aftermath = Aftermath::default();
        let now = self.clock.now();
        let mut records: Vec<AttemptRecord> = unsendable
            .into_iter()
            .map(|failure| unsendable_record(&failure, now))
            .collect();
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
                match joined {
                    Ok(sent) => {
                        let record = sent_record(&sent, now);
                        aftermath.note(&sent, &record);
                        records.push(record);
                    }
                    // A panicking send leaves its delivery leased; it is retried after the
                    // lease.
                    Err(error) => tracing::error!(%error, "a delivery task failed"),
                }
            }
            self.store.record_attempts(&records, now).await?;
            records.clear();
        }
        if !records.is_empty() {
            self.store.record_attempts(&records, now).await?;
        }
        Ok(aftermath)
    }

    /// Disables the webhooks whose receivers answered 410 Gone and sends the alerts.
    async fn follow_up(&self, aftermath: Aftermath) -> sqlx::Result<()> {
        if let Some(alerter) = &self.alerts {
            for failures in aftermath.failed.into_values() {
                // Sent beside the delivery loops: a slow mail server holds up no request.
                let alerter = alerter.clone();
                tokio::spawn(async move { alerter.alert(failures).await });
            }
        }
        let now = self.clock.now();
        let mut gone = aftermath.gone;
        gone.sort_unstable();
        gone.dedup();
        for webhook in gone {
            tracing::warn!(%webhook, "receiver answered 410 Gone; webhook disabled");
            self.store
                .disable_webhook(webhook, "the receiver answered 410 Gone", now)
                .await?;
        }
        Ok(())
    }
}

impl Aftermath {
    fn note(&mut self, sent: &Sent, record: &AttemptRecord) {
        if record.outcome == AttemptOutcome::Failed && record.status_code == Some(410) {
            self.gone.push(sent.target.id);
        }
        if record.status == DeliveryStatus::Failed {
            let failures = self
                .failed
                .entry(sent.target.id)
                .or_insert_with(|| Failures {
                    webhook: sent.target.id,
                    count: 0,
                    last_error: String::new(),
                });
            failures.count += 1;
            failures.last_error = record.error.clone().unwrap_or_else(|| {
                record
                    .status_code
                    .map_or_else(|| "no answer".to_owned(), |code| format!("answered {code}"))
            });
        }
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

fn unsendable_record(failure: &Unsendable, now: Millis) -> AttemptRecord {
    AttemptRecord {
        delivery_id: failure.delivery.id,
        attempted_at: now,
        latency_ms: 0,
        status_code: None,
        error: Some(failure.reason.clone()),
        response_body: None,
        missing_placeholders: None,
        outcome: AttemptOutcome::Failed,
        status: DeliveryStatus::Failed,
        next_attempt_at: None,
        window_started_at: failure.window_started_at,
    }
}

/// What an attempt means for its delivery, per the retry schedule.
fn sent_record(sent: &Sent, now: Millis) -> AttemptRecord {
    let attempt = &sent.attempt;
    let attempts = u32::try_from(sent.delivery.attempts + 1).unwrap_or(u32::MAX);
    let jitter = f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
    let (outcome, status, next_attempt_at) =
        match schedule::verdict(attempt.status, attempt.retry_after) {
            Verdict::Accepted => (AttemptOutcome::Accepted, DeliveryStatus::Accepted, None),
            Verdict::Gone => (AttemptOutcome::Failed, DeliveryStatus::Failed, None),
            Verdict::Retry { retry_after } => match schedule::next_attempt(
                attempts,
                now,
                sent.window_started_at,
                sent.target.retry_window,
                retry_after,
                jitter,
            ) {
                Some(at) => (AttemptOutcome::Retry, DeliveryStatus::Pending, Some(at)),
                None => (AttemptOutcome::Failed, DeliveryStatus::Failed, None),
            },
        };
    AttemptRecord {
        delivery_id: sent.delivery.id,
        attempted_at: now,
        latency_ms: i64::try_from(attempt.latency.as_millis()).unwrap_or(i64::MAX),
        status_code: attempt.status.map(i64::from),
        error: attempt.error.clone(),
        response_body: Some(attempt.body.clone()).filter(|body| !body.is_empty()),
        missing_placeholders: (!sent.missing_placeholders.is_empty())
            .then(|| sent.missing_placeholders.join(", ")),
        outcome,
        status,
        next_attempt_at,
        window_started_at: sent.window_started_at,
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
