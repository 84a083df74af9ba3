//! The delivery loop, in stages: claim due deliveries; prepare each request (its webhook read
//! and parsed once per batch); send them concurrently (at most a few at a time per webhook, so
//! one slow receiver cannot hold up the others, and fewer, after a pause, to a receiver that
//! says it is overloaded), each signed the moment its turn comes; record
//! every attempt with the delivery's next state, in groups of whatever finished together; then
//! act on what the answers said (410 Gone disables a webhook; failures for good alert).
//!
//! Claims are short leases that a heartbeat renews while the worker lives: a process killed
//! mid-send leaves claims that lapse within [`LEASE`], and a stopping one gives its unfinished
//! claims back at once.

use std::{
    collections::{BTreeMap, HashMap, HashSet, hash_map::Entry},
    sync::{Arc, Mutex},
    time::Duration,
};

use app::{
    api::{AttemptOutcome, DeliveryStatus},
    ids::{DeliveryId, WebhookId},
};
use tokio::{
    sync::{Notify, mpsc, watch},
    task::JoinSet,
};

use super::{
    congestion::{Congestion, Load},
    prepare::{Subject, Target},
    rate::{SendTimes, Spacing},
    render::{self, OutgoingRequest},
    schedule::{self, Verdict},
    send::{Attempt, Sender},
};
use crate::{
    alert::{Alert, Alerter, Failures},
    clock::{Millis, SharedClock},
    intake::{AttemptLog, IntakeError, Unrecorded},
    metrics::SharedMetrics,
    store::{AttemptRecord, BornClaimed, Cancelled, Claimant, DueDelivery, Store, WebhookRow},
};

/// Attempts recorded in one transaction at most.
const RECORD_GROUP: usize = 256;

/// How long the first finished attempt waits for others to share its commit.
const RECORD_GATHER: Duration = Duration::from_millis(5);

/// How long a claim outlives the last heartbeat of the worker holding it: the longest the
/// deliveries of a process that died wait before another process (or its restart) sends them.
/// Measured with the crash harness on PostgreSQL: 10 s left the restarted process idle for
/// 10.7 s; the target is every delivery attempted again within 10 s of a restart.
pub const LEASE: Duration = Duration::from_secs(6);

/// How often a worker renews the leases of the deliveries it holds: four beats a lease, so
/// a beat delayed by a busy database does not let a live worker's claims lapse.
const HEARTBEAT: Duration = Duration::from_millis(1_500);

/// Batches under way at a time: one is sent while the other is claimed or recorded.
const LOOPS: usize = 4;

/// Deliveries that may wait in gathering batches at once: beyond, the oldest batches go before
/// their wait is over (a placeholder in a batching webhook's URL makes each delivery a batch of
/// its own, and a backlog would otherwise be claimed into memory).
const MAX_PARKED: usize = 10_000;

/// Batches the engine may hand over before the worker takes them; beyond that the engine
/// queues deliveries unclaimed, for the worker to claim when it has caught up.
const HANDOFF_DEPTH: usize = 4;

/// How the engine gives the worker of its process the deliveries it queues: claimed for the
/// worker in the engine's own transaction and passed in memory once that commits, so they
/// go out at once and cost no claiming transaction (on SQLite, no turn at the single writer).
#[derive(Clone)]
pub struct Handoff {
    claimant: Claimant,
    batches: mpsc::Sender<Vec<DueDelivery>>,
    /// Wakes the worker to claim what was queued without a hand-over.
    wake: Arc<Notify>,
}

/// A place reserved in the worker's queue for one batch.
pub struct HandoffSlot {
    claimant: Claimant,
    permit: mpsc::OwnedPermit<Vec<DueDelivery>>,
}

impl Handoff {
    /// Tells the worker that deliveries were queued unclaimed (there was no room).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A place for one batch, if the worker is running and has room for it.
    pub fn reserve(&self) -> Option<HandoffSlot> {
        let permit = self.batches.clone().try_reserve_owned().ok()?;
        Some(HandoffSlot {
            claimant: self.claimant,
            permit,
        })
    }
}

impl HandoffSlot {
    /// The claim the batch's deliveries are queued with.
    pub fn claim(&self, now: Millis) -> BornClaimed {
        BornClaimed {
            claimant: self.claimant,
            lease_until: now.saturating_add(millis(LEASE)),
        }
    }

    /// Gives the worker the batch, once the transaction that queued it has committed.
    pub fn hand_over(self, due: Vec<DueDelivery>) {
        self.permit.send(due);
    }
}

#[derive(Debug, Clone, Copy)]
pub struct DeliverySettings {
    pub poll_interval: Duration,
    pub batch_size: i64,
    /// Requests in flight to one webhook at most.
    pub per_webhook_concurrency: usize,
    /// How long requests in flight may still finish once the worker is told to stop.
    pub shutdown_grace: Duration,
}

pub struct DeliveryWorker {
    store: Store,
    /// Names this worker's claims.
    claimant: Claimant,
    clock: SharedClock,
    sender: Sender,
    settings: DeliverySettings,
    /// Each webhook's congestion window and pause, shared by concurrent batches: its requests
    /// in flight and whether it may be sent to now.
    congestion: Mutex<HashMap<WebhookId, Arc<Congestion>>>,
    /// The request rate of webhooks that set one, shared by concurrent batches.
    rates: Mutex<HashMap<WebhookId, Arc<Spacing>>>,
    alerts: Option<Arc<Alerter>>,
    attempt_log: Option<AttemptLog>,
    metrics: SharedMetrics,
    handoff: Handoff,
    /// The batches the engine hands over, taken by whichever loop is free.
    handed_over: tokio::sync::Mutex<mpsc::Receiver<Vec<DueDelivery>>>,
    /// What the database did not take when it was told (it did not answer): written by the
    /// heartbeat once it does.
    owed: tokio::sync::Mutex<Owed>,
    /// Deliveries of webhooks that batch, waiting for others to go with them. Still claimed
    /// (the heartbeat renews them); given back when the worker stops.
    gathering: Mutex<Gathering>,
    /// Tells the loops that a batch began gathering, so that one sends it when it is due.
    batch_opened: Notify,
}

/// Deliveries waiting to go out together, per webhook and request: parts whose placeholders
/// filled the URL or headers differently go in different requests.
#[derive(Default)]
struct Gathering {
    open: HashMap<BatchKey, OpenBatch>,
    /// How many deliveries wait, across the open batches.
    parked: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BatchKey {
    webhook: WebhookId,
    method: app::api::HttpMethod,
    url: String,
    headers: Vec<(String, String)>,
}

impl BatchKey {
    fn of(part: &Prepared) -> Self {
        Self {
            webhook: part.target.id,
            method: part.request.method,
            url: part.request.url.to_string(),
            headers: part.request.headers.clone(),
        }
    }
}

struct OpenBatch {
    parts: Vec<Prepared>,
    /// When it goes, full or not: its first part's arrival and the webhook's wait.
    due_at: tokio::time::Instant,
}

/// Parts that go in one request, the oldest first.
struct Batch {
    parts: Vec<Prepared>,
    /// The webhook's batching settings as read just before sending.
    batching: app::api::Batching,
}

/// What gathered deliveries become once their webhook is read again just before sending.
#[derive(Default)]
struct Readied {
    single: Vec<Prepared>,
    batches: Vec<Batch>,
    unsendable: Vec<Unsendable>,
}

impl Gathering {
    /// Parks the parts in their batches; returns the groups ready to go: those filled, those
    /// whose wait is over by `now` (a wait of 0 sends what came together at once), and the
    /// oldest while more than [`MAX_PARKED`] deliveries wait.
    fn add(&mut self, parts: Vec<Prepared>, now: tokio::time::Instant) -> Vec<Vec<Prepared>> {
        let mut ready = Vec::new();
        for part in parts {
            let Some(batching) = &part.target.settings.batch else {
                ready.push(vec![part]);
                continue;
            };
            let max_size = batching.max_size as usize;
            let wait = Duration::from_secs(u64::from(batching.max_wait_seconds));
            let key = BatchKey::of(&part);
            let open = self.open.entry(key.clone()).or_insert_with(|| OpenBatch {
                parts: Vec::new(),
                due_at: now + wait,
            });
            open.parts.push(part);
            self.parked += 1;
            if open.parts.len() >= max_size {
                ready.extend(self.take(&key));
            }
        }
        ready.extend(self.take_due(now));
        while self.parked > MAX_PARKED {
            let oldest = self
                .open
                .iter()
                .min_by_key(|(_, open)| open.due_at)
                .map(|(key, _)| key.clone());
            match oldest {
                Some(key) => ready.extend(self.take(&key)),
                None => break,
            }
        }
        ready
    }

    /// The batches whose wait is over by `now`.
    fn take_due(&mut self, now: tokio::time::Instant) -> Vec<Vec<Prepared>> {
        let due: Vec<BatchKey> = self
            .open
            .iter()
            .filter(|(_, open)| open.due_at <= now)
            .map(|(key, _)| key.clone())
            .collect();
        due.iter().filter_map(|key| self.take(key)).collect()
    }

    fn take(&mut self, key: &BatchKey) -> Option<Vec<Prepared>> {
        let open = self.open.remove(key)?;
        self.parked -= open.parts.len();
        Some(open.parts)
    }

    /// When the next batch is due, if one is gathering.
    fn next_due(&self) -> Option<tokio::time::Instant> {
        self.open.values().map(|open| open.due_at).min()
    }
}

/// Writes a worker owes the database.
#[derive(Default)]
struct Owed {
    /// Attempts made but not recorded. Their deliveries stay claimed (the heartbeat renews
    /// them) until they are: giving them back would send them again, though their receivers
    /// answered. (A claim that lapses meanwhile, in an outage longer than [`LEASE`], may be
    /// taken by another process, which sends again: at least once.)
    unrecorded: Vec<AttemptRecord>,
    /// Deliveries of failed batches that could not be given back then. Without this the
    /// heartbeat kept renewing their claims, and they waited for the process to end.
    unreleased: Vec<DeliveryId>,
}

/// A claimed delivery whose request is built, waiting for its turn to be sent.
struct Prepared {
    delivery: DueDelivery,
    target: Arc<Target>,
    request: OutgoingRequest,
    window_started_at: Millis,
}

/// A claimed batch, sorted by what becomes of each delivery.
#[derive(Default)]
struct Sorted {
    prepared: Vec<Prepared>,
    unsendable: Vec<Unsendable>,
    /// Deliveries whose journey or webhook was deleted, with the reason.
    cancelled: HashMap<&'static str, Vec<DeliveryId>>,
    /// Deliveries whose webhook is disabled: held until it is enabled.
    held: Vec<DeliveryId>,
    /// Deliveries whose webhook is paused (its receiver said it is overloaded), by when the
    /// pause ends: given back, due then.
    deferred: BTreeMap<Millis, Vec<DeliveryId>>,
    /// The webhooks the sort read and found ready, as it read them.
    ready: HashMap<WebhookId, Arc<Target>>,
}

/// Where a batch's deliveries to one webhook go.
enum Destination {
    Ready(Arc<Target>),
    /// Disabled: its deliveries are held.
    Disabled,
    /// Paused until then: its deliveries wait for the end of the pause.
    Paused(Millis),
    /// Deleted: its deliveries are cancelled.
    Gone,
    /// Stored settings that cannot be used: its deliveries fail, with the reason.
    Broken(String),
}

/// A delivery that could not even be sent, and why.
struct Unsendable {
    delivery: DueDelivery,
    window_started_at: Millis,
    reason: String,
}

/// What became of a request: one delivery's, or a batch's.
enum Dispatched {
    /// Sent: each delivery it carried, with the answer.
    Sent(Vec<Sent>),
    /// Not sent: its webhook was paused by the time its turn came.
    Deferred {
        deliveries: Vec<DeliveryId>,
        until: Millis,
    },
}

/// A delivery that was sent, with what the receiver answered.
struct Sent {
    delivery: DueDelivery,
    target: Arc<Target>,
    window_started_at: Millis,
    attempt: Attempt,
    missing_placeholders: Vec<String>,
    /// What the answer said of the receiver's load.
    load: Load,
}

/// What a batch's answers call for once they are recorded.
#[derive(Default)]
struct Aftermath {
    /// Webhooks whose receiver answered 410 Gone.
    gone: Vec<WebhookId>,
    /// Deliveries that failed for good, per webhook.
    failed: HashMap<WebhookId, Failures>,
    /// Webhooks whose receiver accepted a request of the batch, as the batch found them.
    accepting: HashMap<WebhookId, Arc<Target>>,
    /// Webhooks whose receiver did not accept a request of the batch.
    failing: HashMap<WebhookId, Arc<Target>>,
}

impl DeliveryWorker {
    pub fn new(
        store: Store,
        clock: SharedClock,
        sender: Sender,
        settings: DeliverySettings,
    ) -> Self {
        let claimant = Claimant::random();
        let (batches, handed_over) = mpsc::channel(HANDOFF_DEPTH);
        Self {
            store,
            claimant,
            clock,
            sender,
            settings,
            congestion: Mutex::new(HashMap::new()),
            rates: Mutex::new(HashMap::new()),
            alerts: None,
            attempt_log: None,
            metrics: SharedMetrics::default(),
            handoff: Handoff {
                claimant,
                batches,
                wake: Arc::new(Notify::new()),
            },
            handed_over: tokio::sync::Mutex::new(handed_over),
            owed: tokio::sync::Mutex::new(Owed::default()),
            gathering: Mutex::new(Gathering::default()),
            batch_opened: Notify::new(),
        }
    }

    /// The engine's way to hand this worker the deliveries it queues.
    pub fn handoff(&self) -> Handoff {
        self.handoff.clone()
    }

    /// Has the engine record the attempts in its transactions (one commit for both on
    /// SQLite's single writer).
    pub fn recording_through(mut self, attempt_log: AttemptLog) -> Self {
        self.attempt_log = Some(attempt_log);
        self
    }

    /// Counts its requests and their latency in `metrics`.
    pub fn measured_by(mut self, metrics: SharedMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Emails the stakeholders of webhooks whose requests fail for good.
    pub fn with_alerts(mut self, alerter: Arc<Alerter>) -> Self {
        self.alerts = Some(alerter);
        self
    }

    fn congestion_of(&self, webhook: WebhookId) -> Arc<Congestion> {
        let mut congestion = self
            .congestion
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        congestion
            .entry(webhook)
            .or_insert_with(|| Arc::new(Congestion::new(self.settings.per_webhook_concurrency)))
            .clone()
    }

    /// The webhook's request spacing, `None` without a limit; a changed limit starts afresh.
    fn rate_of(&self, webhook: WebhookId, per_second: u32) -> Option<Arc<Spacing>> {
        let mut rates = self
            .rates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match rates.get(&webhook) {
            Some(spacing) if spacing.rate() == per_second => Some(spacing.clone()),
            _ => match Spacing::per_second(per_second) {
                Some(spacing) => {
                    let spacing = Arc::new(spacing);
                    rates.insert(webhook, spacing.clone());
                    Some(spacing)
                }
                None => {
                    rates.remove(&webhook);
                    None
                }
            },
        }
    }

    /// Runs until `stop` turns true, with [`LOOPS`] batches under way at a time and a
    /// heartbeat renewing their claims. Once told to stop, requests in flight get the shutdown
    /// grace to finish; what is still unfinished then is given back, due at once.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let worker = Arc::new(self);
        let mut loops = JoinSet::new();
        for _ in 0..LOOPS {
            loops.spawn(worker.clone().run_loop(stop.clone()));
        }
        let (stop_heartbeat, heartbeat_stopping) = watch::channel(false);
        let heartbeat = tokio::spawn(worker.clone().heartbeat(heartbeat_stopping));
        let mut stopping = stop.clone();
        let told_to_stop = tokio::select! {
            () = join_loops(&mut loops) => false,
            _ = stopping.wait_for(|stop| *stop) => true,
        };
        if told_to_stop
            && tokio::time::timeout(worker.settings.shutdown_grace, join_loops(&mut loops))
                .await
                .is_err()
        {
            tracing::warn!(
                grace = ?worker.settings.shutdown_grace,
                "webhook requests still in flight at the end of the shutdown grace are given \
                 back unanswered"
            );
        }
        loops.shutdown().await;
        // Stopped between beats, never aborted: an abort in the middle of a renewal left
        // SQLite's write lock taken for seconds, and the claims below were not given back.
        let _ = stop_heartbeat.send(true);
        let _ = heartbeat.await;
        // Answers not recorded yet are recorded before the claims go back, or sent again.
        if !worker.settle_owed().await {
            tracing::error!(
                "attempts made while the database did not answer are not recorded; their deliveries are sent again"
            );
        }
        match worker
            .store
            .release_claims(Some(worker.claimant), None, worker.clock.now())
            .await
        {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "unfinished deliveries given back"),
            Err(error) => tracing::error!(
                %error,
                "cannot give back unfinished deliveries; they are sent once their lease lapses"
            ),
        }
    }

    /// Sends what the engine hands over as it comes, and claims due deliveries (retries,
    /// resends, those queued while the hand-over was full) when woken, when the poll interval
    /// passes, and while claims come back full; sends gathered batches when they are due.
    async fn run_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut claim_due = true;
        let mut handed_over = None;
        let mut batch_due = false;
        while !*stop.borrow() {
            // Also between claims: a backlog keeps the loops claiming, and a quiet webhook's
            // batch must not wait for it to drain.
            if std::mem::take(&mut batch_due) || self.a_batch_is_due() {
                if let Err(error) = self.send_due_batches().await {
                    tracing::error!(%error, "batch failed; its deliveries are due again");
                }
                continue;
            }
            if let Some(due) = handed_over.take() {
                if let Err(error) = self.send(due, self.clock.now()).await {
                    tracing::error!(%error, "delivery batch failed; its deliveries are due again");
                }
                continue;
            }
            if claim_due {
                match self.tick().await {
                    Ok(claimed) => claim_due = claimed > 0,
                    Err(error) => {
                        claim_due = false;
                        tracing::error!(%error, "delivery batch failed; retrying");
                    }
                }
                if claim_due {
                    continue;
                }
            }
            tokio::select! {
                _ = stop.changed() => {}
                due = self.next_handed_over() => handed_over = due,
                () = self.handoff.wake.notified() => claim_due = true,
                () = self.next_batch_due() => batch_due = true,
                () = tokio::time::sleep(self.settings.poll_interval) => claim_due = true,
            }
        }
    }

    fn a_batch_is_due(&self) -> bool {
        self.gathering
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next_due()
            .is_some_and(|at| at <= tokio::time::Instant::now())
    }

    /// Returns once a gathering batch is due (never while none gathers).
    async fn next_batch_due(&self) {
        loop {
            // Registered before reading the batches: one opened meanwhile wakes it.
            let opened = self.batch_opened.notified();
            tokio::pin!(opened);
            opened.as_mut().enable();
            let next = self
                .gathering
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .next_due();
            match next {
                Some(at) => tokio::select! {
                    () = tokio::time::sleep_until(at) => return,
                    () = &mut opened => {}
                },
                None => opened.await,
            }
        }
    }

    /// The next batch the engine hands over; never returns once the engine is gone.
    async fn next_handed_over(&self) -> Option<Vec<DueDelivery>> {
        match self.handed_over.lock().await.recv().await {
            Some(due) => Some(due),
            None => std::future::pending().await,
        }
    }

    /// Renews this worker's claims every [`HEARTBEAT`], for as long as it runs.
    async fn heartbeat(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = beat.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            // Renewed first: settling waits for the database, the leases cannot.
            let lease_until = self.clock.now().saturating_add(millis(LEASE));
            if let Err(error) = self.store.renew_claims(self.claimant, lease_until).await {
                tracing::error!(
                    %error,
                    "cannot renew the leases of the deliveries being sent; another process may \
                     send them too"
                );
            }
            self.settle_owed().await;
            match self.store.release_held(None, self.clock.now()).await {
                Ok(0) => {}
                Ok(released) => {
                    tracing::info!(released, "held requests of enabled webhooks released");
                    self.handoff.wake();
                }
                Err(error) => tracing::error!(%error, "cannot release held requests"),
            }
        }
    }

    /// Sends one batch of due deliveries; returns how many it handled.
    pub async fn tick(&self) -> sqlx::Result<usize> {
        let now = self.clock.now();
        let claiming = std::time::Instant::now();
        let due = self
            .store
            .claim_due_deliveries(
                self.claimant,
                now,
                now.saturating_add(millis(LEASE)),
                self.settings.batch_size,
            )
            .await?;
        self.metrics.claim("deliveries", claiming.elapsed());
        self.send(due, now).await
    }

    /// Sends a batch of deliveries this worker has claimed, records the attempts and acts on
    /// the answers; returns how many it handled. Should that fail, what is still pending is
    /// given back, due at once (this worker never claims what it holds).
    async fn send(&self, due: Vec<DueDelivery>, now: Millis) -> sqlx::Result<usize> {
        let count = due.len();
        if count == 0 {
            return Ok(0);
        }
        // The deliveries this call answers for: those it claimed, less those it leaves to a
        // gathering batch, plus those of the batches it sends.
        let mut answering: Vec<DeliveryId> = due.iter().map(|delivery| delivery.id).collect();
        let sent = self.send_claimed(due, &mut answering, now).await;
        if sent.is_err() {
            self.give_back(answering).await;
        }
        sent.map(|()| count)
    }

    /// Sends the gathered batches whose wait is over.
    async fn send_due_batches(&self) -> sqlx::Result<()> {
        let due = self
            .gathering
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take_due(tokio::time::Instant::now());
        if due.is_empty() {
            return Ok(());
        }
        let mut answering: Vec<DeliveryId> = due
            .iter()
            .flat_map(|parts| parts.iter().map(|part| part.delivery.id))
            .collect();
        let sent = async {
            let readied = self.readied(due, &mut answering, &HashMap::new()).await?;
            self.deliver(
                readied.single,
                readied.batches,
                readied.unsendable,
                &answering,
                HashSet::new(),
            )
            .await
        }
        .await;
        if sent.is_err() {
            self.give_back(answering).await;
        }
        sent
    }

    /// Gathered deliveries as they go now. What waited may be stale: only those still pending
    /// and claimed by this worker go (a deleted journey or webhook cancelled the others); their
    /// webhook is read again (disabled, paused or deleted meanwhile: given back, to be sorted
    /// as any claim is) and each is rendered again with its settings and secrets of now, then
    /// batched as they say (or sent alone, batching turned off). Removes from `answering` what
    /// it drops or gives back. Parts prepared against `just_read` (the webhooks this call's
    /// sort read a moment ago, as it read them) are fresh: neither checked nor rendered again.
    async fn readied(
        &self,
        groups: Vec<Vec<Prepared>>,
        answering: &mut Vec<DeliveryId>,
        just_read: &HashMap<WebhookId, Arc<Target>>,
    ) -> sqlx::Result<Readied> {
        let mut readied = Readied::default();
        if groups.is_empty() {
            return Ok(readied);
        }
        let fresh = |part: &Prepared| {
            just_read
                .get(&part.target.id)
                .is_some_and(|target| Arc::ptr_eq(target, &part.target))
        };
        let waited: Vec<DeliveryId> = groups
            .iter()
            .flatten()
            .filter(|part| !fresh(part))
            .map(|part| part.delivery.id)
            .collect();
        let mut held = if waited.is_empty() {
            HashSet::new()
        } else {
            self.store.still_claimed(self.claimant, &waited).await?
        };
        held.extend(
            groups
                .iter()
                .flatten()
                .filter(|part| fresh(part))
                .map(|part| part.delivery.id),
        );
        let now = self.clock.now();
        let mut destinations: HashMap<WebhookId, Destination> = just_read
            .iter()
            .map(|(webhook, target)| (*webhook, Destination::Ready(target.clone())))
            .collect();
        let mut given_back: BTreeMap<Millis, Vec<DeliveryId>> = BTreeMap::new();
        for parts in groups {
            let parts: Vec<Prepared> = parts
                .into_iter()
                .filter(|part| held.contains(&part.delivery.id))
                .collect();
            let Some(webhook) = parts.first().map(|part| part.target.id) else {
                continue;
            };
            if let Entry::Vacant(entry) = destinations.entry(webhook) {
                entry.insert(self.destination(webhook, now).await?);
            }
            match &destinations[&webhook] {
                Destination::Ready(target) => regroup(target, parts, &mut readied),
                Destination::Paused(until) => given_back
                    .entry(*until)
                    .or_default()
                    .extend(parts.iter().map(|part| part.delivery.id)),
                Destination::Disabled | Destination::Gone => given_back
                    .entry(now)
                    .or_default()
                    .extend(parts.iter().map(|part| part.delivery.id)),
                Destination::Broken(reason) => {
                    readied
                        .unsendable
                        .extend(parts.into_iter().map(|part| Unsendable {
                            delivery: part.delivery,
                            window_started_at: part.window_started_at,
                            reason: reason.clone(),
                        }));
                }
            }
        }
        for (until, ids) in &given_back {
            self.store
                .release_claims(Some(self.claimant), Some(ids), *until)
                .await?;
        }
        if !given_back.is_empty() {
            self.handoff.wake();
        }
        let returned: HashSet<DeliveryId> = given_back.into_values().flatten().collect();
        answering.retain(|id| held.contains(id) && !returned.contains(id));
        Ok(readied)
    }

    /// Gives back (due at once) the deliveries of a failed batch, but those answered and not
    /// recorded yet: they stay claimed until they are.
    async fn give_back(&self, answering: Vec<DeliveryId>) {
        let mut owed = self.owed.lock().await;
        let answered: HashSet<DeliveryId> = owed
            .unrecorded
            .iter()
            .map(|record| record.delivery_id)
            .collect();
        let unanswered: Vec<DeliveryId> = answering
            .into_iter()
            .filter(|id| !answered.contains(id))
            .collect();
        if let Err(error) = self
            .store
            .release_claims(Some(self.claimant), Some(&unanswered), self.clock.now())
            .await
        {
            tracing::error!(
                %error,
                "cannot give back the deliveries of a failed batch; they are given back \
                 once the database answers"
            );
            owed.unreleased.extend(unanswered);
        }
    }

    /// Records the attempts the database did not take when they were made, then gives back
    /// (due at once) the deliveries of failed batches; keeps what it still does not take for
    /// the next try. Returns whether every attempt is recorded now.
    async fn settle_owed(&self) -> bool {
        let mut owed = self.owed.lock().await;
        if !owed.unrecorded.is_empty() {
            match self
                .store
                .record_attempts(self.claimant, &owed.unrecorded, self.clock.now())
                .await
            {
                Ok(()) => {
                    tracing::info!(
                        attempts = owed.unrecorded.len(),
                        "attempts made while the database did not answer are recorded"
                    );
                    owed.unrecorded.clear();
                }
                // Nothing is given back before its answer is recorded.
                Err(error) if crate::store::is_unavailable(&error) => return false,
                // Not a passing outage: kept, they would hold their deliveries for as long as
                // the process lives. Given back, they are sent again.
                Err(error) => {
                    tracing::error!(
                        %error,
                        attempts = owed.unrecorded.len(),
                        "cannot record attempts; their deliveries are given back, to be sent again"
                    );
                    let ids: Vec<DeliveryId> = owed
                        .unrecorded
                        .drain(..)
                        .map(|record| record.delivery_id)
                        .collect();
                    owed.unreleased.extend(ids);
                }
            }
        }
        if !owed.unreleased.is_empty()
            && let Ok(released) = self
                .store
                .release_claims(
                    Some(self.claimant),
                    Some(&owed.unreleased),
                    self.clock.now(),
                )
                .await
        {
            tracing::info!(released, "deliveries of failed batches given back");
            owed.unreleased.clear();
            self.handoff.wake();
        }
        true
    }

    /// Records the attempts, or keeps them to record once the database answers: a failed
    /// write is no reason to send them again. Fails only if they were lost (the engine
    /// panicked with them).
    async fn write_or_owe(&self, records: Vec<AttemptRecord>, now: Millis) -> sqlx::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        match self.write(records, now).await {
            Ok(()) => Ok(()),
            Err(Unrecorded::Failed { error, records }) => {
                tracing::error!(
                    %error,
                    attempts = records.len(),
                    "cannot record attempts; their deliveries stay claimed until they are"
                );
                self.owed.lock().await.unrecorded.extend(records);
                Ok(())
            }
            Err(Unrecorded::EngineStopped(_) | Unrecorded::Lost) => Err(sqlx::Error::Protocol(
                "the attempts were lost with the engine".to_owned(),
            )),
        }
    }

    async fn send_claimed(
        &self,
        due: Vec<DueDelivery>,
        answering: &mut Vec<DeliveryId>,
        now: Millis,
    ) -> sqlx::Result<()> {
        let sorted = self.sort(due, now).await?;
        for (reason, ids) in &sorted.cancelled {
            self.store
                .cancel_deliveries(Cancelled::Claimed(self.claimant, ids), reason, now)
                .await?;
        }
        if !sorted.held.is_empty() {
            let held = self
                .store
                .hold_deliveries(self.claimant, &sorted.held, now)
                .await?;
            tracing::debug!(held, "requests held: their webhook is disabled");
            // Those whose webhook was enabled meanwhile are due again at once.
            self.store
                .release_claims(Some(self.claimant), Some(&sorted.held), self.clock.now())
                .await?;
        }
        for (until, ids) in &sorted.deferred {
            self.store
                .release_claims(Some(self.claimant), Some(ids), *until)
                .await?;
        }
        let mut settled: HashSet<DeliveryId> = sorted.cancelled.into_values().flatten().collect();
        settled.extend(sorted.held);
        settled.extend(sorted.deferred.into_values().flatten());
        // Deliveries of webhooks that batch join their batch; this call sends the batches
        // they fill (or that are due), and answers for those instead.
        let (parts, single): (Vec<Prepared>, Vec<Prepared>) = sorted
            .prepared
            .into_iter()
            .partition(|prepared| prepared.target.settings.batch.is_some());
        let mut readied = Readied::default();
        if !parts.is_empty() {
            let parked: HashSet<DeliveryId> = parts.iter().map(|part| part.delivery.id).collect();
            let ready = self
                .gathering
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .add(parts, tokio::time::Instant::now());
            self.batch_opened.notify_waiters();
            answering.retain(|id| !parked.contains(id));
            answering.extend(
                ready
                    .iter()
                    .flat_map(|parts| parts.iter().map(|part| part.delivery.id)),
            );
            readied = self.readied(ready, answering, &sorted.ready).await?;
        }
        let mut unsendable = sorted.unsendable;
        unsendable.extend(readied.unsendable);
        let mut single = single;
        single.extend(readied.single);
        self.deliver(single, readied.batches, unsendable, answering, settled)
            .await
    }

    /// Sends the requests, records the attempts and acts on the answers. A delivery this call
    /// answers for that none of that settled (a send task panicked) is given back rather than
    /// held until the process ends (this worker never claims what it holds).
    async fn deliver(
        &self,
        single: Vec<Prepared>,
        batches: Vec<Batch>,
        unsendable: Vec<Unsendable>,
        answering: &[DeliveryId],
        mut settled: HashSet<DeliveryId>,
    ) -> sqlx::Result<()> {
        let in_flight = self.dispatch(single, batches).await?;
        let (aftermath, recorded) = self.record(in_flight, unsendable).await?;
        settled.extend(recorded);
        let unsettled: Vec<DeliveryId> = answering
            .iter()
            .copied()
            .filter(|id| !settled.contains(id))
            .collect();
        if !unsettled.is_empty() {
            self.store
                .release_claims(Some(self.claimant), Some(&unsettled), self.clock.now())
                .await?;
        }
        self.follow_up(aftermath).await
    }

    /// When the webhook's pause ends, if one runs at `now`: set by any process (its row), or
    /// by an answer this process got since the row was read.
    fn pause_of(&self, row: &WebhookRow, now: Millis) -> Option<Millis> {
        let congestion = self.congestion_of(row.id);
        if let Some(until) = row.paused_until.filter(|until| *until > now) {
            congestion.pause_until(until);
        }
        congestion.paused_at(now)
    }

    /// Where a webhook's deliveries go now, as its row says.
    async fn destination(&self, webhook: WebhookId, now: Millis) -> sqlx::Result<Destination> {
        Ok(match self.store.webhook(webhook).await? {
            None => Destination::Gone,
            Some(row) if !row.is_enabled() => Destination::Disabled,
            Some(row) => match self.pause_of(&row, now) {
                Some(until) => Destination::Paused(until),
                None => match Target::of(&row, now) {
                    Ok(target) => Destination::Ready(Arc::new(target)),
                    Err(error) => Destination::Broken(error.to_string()),
                },
            },
        })
    }

    /// Builds each delivery's request; each webhook of the batch is read and parsed once.
    /// Deliveries whose journey or webhook is gone are cancelled instead, those of a
    /// disabled webhook held, and those of a paused one deferred to the end of the pause.
    async fn sort(&self, due: Vec<DueDelivery>, now: Millis) -> sqlx::Result<Sorted> {
        let mut destinations: HashMap<WebhookId, Destination> = HashMap::new();
        for delivery in &due {
            if let Entry::Vacant(entry) = destinations.entry(delivery.webhook_id) {
                entry.insert(self.destination(delivery.webhook_id, now).await?);
            }
        }
        let mut sorted = Sorted::default();
        for delivery in due {
            let window_started_at = delivery.window_started_at.unwrap_or(now);
            let built = match &destinations[&delivery.webhook_id] {
                _ if delivery.journey_name.is_none() => {
                    cancel(
                        &mut sorted,
                        "cancelled: its journey was deleted",
                        delivery.id,
                    );
                    continue;
                }
                Destination::Gone => {
                    cancel(
                        &mut sorted,
                        "cancelled: its webhook was deleted",
                        delivery.id,
                    );
                    continue;
                }
                Destination::Disabled => {
                    sorted.held.push(delivery.id);
                    continue;
                }
                Destination::Paused(until) => {
                    sorted.deferred.entry(*until).or_default().push(delivery.id);
                    continue;
                }
                Destination::Ready(target) => target
                    .part(&Subject::of_delivery(&delivery))
                    .map(|request| (target.clone(), request))
                    .map_err(|error| error.to_string()),
                Destination::Broken(reason) => Err(reason.clone()),
            };
            match built {
                Ok((target, request)) => sorted.prepared.push(Prepared {
                    delivery,
                    target,
                    request,
                    window_started_at,
                }),
                Err(reason) => sorted.unsendable.push(Unsendable {
                    delivery,
                    window_started_at,
                    reason,
                }),
            }
        }
        sorted.ready = destinations
            .into_iter()
            .filter_map(|(webhook, destination)| match destination {
                Destination::Ready(target) => Some((webhook, target)),
                _ => None,
            })
            .collect();
        Ok(sorted)
    }

    /// Starts sending every request (a delivery's, or a batch's), each once its webhook has a
    /// free slot in its window (and, with a rate limit, its turn), unless the webhook is paused
    /// by then.
    async fn dispatch(
        &self,
        single: Vec<Prepared>,
        batches: Vec<Batch>,
    ) -> sqlx::Result<JoinSet<Dispatched>> {
        let requests: Vec<(Vec<Prepared>, Option<app::api::Batching>)> = single
            .into_iter()
            .map(|prepared| (vec![prepared], None))
            .chain(
                batches
                    .into_iter()
                    .map(|batch| (batch.parts, Some(batch.batching))),
            )
            .collect();
        let mut send_times = self.reserve_send_times(&requests).await?;
        let mut in_flight = JoinSet::new();
        for (parts, batching) in requests {
            let Some(first) = parts.first() else {
                continue;
            };
            let target = first.target.clone();
            let mut request = match &batching {
                None => first.request.clone(),
                Some(batching) => {
                    let others: Vec<&OutgoingRequest> =
                        parts[1..].iter().map(|part| &part.request).collect();
                    render::batch(&target.settings, batching, &first.request, &others)
                }
            };
            let congestion = self.congestion_of(target.id);
            let rate = self.rate_of(target.id, target.settings.max_requests_per_second);
            let reserved = send_times
                .get_mut(&target.id)
                .map(|times| times.next(self.clock.now()));
            let sender = self.sender.clone();
            let clock = self.clock.clone();
            in_flight.spawn(async move {
                // The reserved time first, holding nothing: a request reserved far ahead (other
                // processes took the time before it) keeps neither a slot of the window nor
                // this process's spacing from the others.
                if let Some(at) = reserved {
                    tokio::time::sleep_until(at).await;
                }
                let slot = congestion.slot().await;
                if let Some(rate) = &rate {
                    rate.wait().await;
                }
                if let Some(until) = congestion.paused_at(clock.now()) {
                    return Dispatched::Deferred {
                        deliveries: parts.iter().map(|part| part.delivery.id).collect(),
                        until,
                    };
                }
                let attempt = match target.sign(&mut request, clock.now()) {
                    Ok(()) => sender.send(&request).await,
                    Err(error) => Attempt::refused(error.to_string()),
                };
                let load = Load::of(&attempt);
                slot.answered(load);
                // The batch's answer is each of its deliveries'.
                Dispatched::Sent(
                    parts
                        .into_iter()
                        .map(|part| Sent {
                            delivery: part.delivery,
                            target: part.target,
                            window_started_at: part.window_started_at,
                            attempt: attempt.clone(),
                            missing_placeholders: part.request.missing,
                            load,
                        })
                        .collect(),
                )
            });
        }
        Ok(in_flight)
    }

    /// Reserves, for each rate-limited webhook, the send time its requests need (one write
    /// per webhook; a batch is one request), so that every process together keeps the
    /// webhook's rate.
    async fn reserve_send_times(
        &self,
        requests: &[(Vec<Prepared>, Option<app::api::Batching>)],
    ) -> sqlx::Result<HashMap<WebhookId, SendTimes>> {
        let mut counts: HashMap<WebhookId, (u32, usize)> = HashMap::new();
        for request in requests.iter().filter_map(|(parts, _)| parts.first()) {
            let rate = request.target.settings.max_requests_per_second;
            if rate > 0 {
                counts.entry(request.target.id).or_insert((rate, 0)).1 += 1;
            }
        }
        let mut reserved = HashMap::with_capacity(counts.len());
        for (webhook, (rate, count)) in counts {
            let now = self.clock.now();
            let first = self
                .store
                .reserve_send_time(webhook, SendTimes::span(count, rate), now)
                .await?;
            reserved.insert(webhook, SendTimes::starting(first, rate));
        }
        Ok(reserved)
    }

    /// Records the attempts as they finish, in groups of whatever finished meanwhile: a slow
    /// receiver delays only its own record, and recording overlaps sending.
    /// Returns what the answers call for and which deliveries were recorded.
    async fn record(
        &self,
        mut in_flight: JoinSet<Dispatched>,
        unsendable: Vec<Unsendable>,
    ) -> sqlx::Result<(Aftermath, HashSet<DeliveryId>)> {
        let mut aftermath = Aftermath::default();
        let mut recorded: HashSet<DeliveryId> = unsendable
            .iter()
            .map(|failure| failure.delivery.id)
            .collect();
        let now = self.clock.now();
        let mut records: Vec<AttemptRecord> = unsendable
            .into_iter()
            .map(|failure| {
                let record = unsendable_record(&failure, now);
                self.metrics.webhook_request(&record);
                aftermath.failed_for_good(failure.delivery.webhook_id, &record);
                record
            })
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
            let mut deferred: BTreeMap<Millis, Vec<DeliveryId>> = BTreeMap::new();
            let mut paused: HashMap<WebhookId, Millis> = HashMap::new();
            for joined in finished {
                match joined {
                    Ok(Dispatched::Deferred { deliveries, until }) => {
                        recorded.extend(deliveries.iter().copied());
                        deferred.entry(until).or_default().extend(deliveries);
                    }
                    Ok(Dispatched::Sent(sent)) => {
                        // One draw for a batch: its deliveries, retried, come due together.
                        let jitter = f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
                        for (index, sent) in sent.into_iter().enumerate() {
                            recorded.insert(sent.delivery.id);
                            let record = sent_record(&sent, now, jitter);
                            if let Some(until) = sent.load.pause_until(now, record.next_attempt_at)
                            {
                                // The requests still waiting for their turn see it at once.
                                self.congestion_of(sent.target.id).pause_until(until);
                                let latest = paused.entry(sent.target.id).or_insert(until);
                                *latest = (*latest).max(until);
                            }
                            if index == 0 {
                                self.metrics.webhook_request(&record);
                            }
                            if sent.delivery.attempts == 0 {
                                self.metrics
                                    .delivery_first_answer(&record, sent.delivery.created_at);
                            }
                            aftermath.note(&sent, &record);
                            records.push(record);
                        }
                    }
                    // A panicking send leaves its delivery claimed; `tick` gives it back.
                    Err(error) => tracing::error!(%error, "a delivery task failed"),
                }
            }
            // Before the attempts: once an attempt shows, so does the pause, for every process.
            // This process keeps to it anyway, so a database that does not take it fails
            // nothing.
            for (webhook, until) in paused {
                tracing::info!(%webhook, until, "receiver overloaded (429, 503 or no answer in time); webhook paused");
                if let Err(error) = self.store.pause_webhook(webhook, until).await {
                    tracing::error!(%error, %webhook, "cannot write the webhook's pause");
                }
            }
            self.write_or_owe(std::mem::take(&mut records), now).await?;
            for (until, ids) in deferred {
                if let Err(error) = self
                    .store
                    .release_claims(Some(self.claimant), Some(&ids), until)
                    .await
                {
                    tracing::error!(%error, "cannot give back requests deferred by a pause");
                    self.owed.lock().await.unreleased.extend(ids);
                }
            }
        }
        self.write_or_owe(records, now).await?;
        Ok((aftermath, recorded))
    }

    /// Records attempts in the engine's next transaction, or in one of their own without an
    /// engine (or once it has stopped).
    async fn write(&self, records: Vec<AttemptRecord>, now: Millis) -> Result<(), Unrecorded> {
        let alone = |records: Vec<AttemptRecord>, now| async move {
            match self
                .store
                .record_attempts(self.claimant, &records, now)
                .await
            {
                Ok(()) => Ok(()),
                Err(error) => Err(Unrecorded::Failed {
                    error: IntakeError::Database(Arc::new(error)),
                    records,
                }),
            }
        };
        let Some(log) = &self.attempt_log else {
            return alone(records, now).await;
        };
        match log.record(self.claimant, records).await {
            // The shutdown grace outlives the engine.
            Err(Unrecorded::EngineStopped(records)) => alone(records, self.clock.now()).await,
            recorded => recorded,
        }
    }

    /// Disables the webhooks whose receivers answered 410 Gone or have failed every request
    /// for their set period, and sends the alerts: one that says so for a webhook disabled now
    /// (with the batch's failures in it), one with the failures for the others. A write that
    /// fails is logged and the rest goes on: the alerts go out whatever happened before them.
    async fn follow_up(&self, mut aftermath: Aftermath) -> sqlx::Result<()> {
        let mut trouble = None;
        for (webhook, target) in &aftermath.accepting {
            if target.failing_since.is_some()
                && let Err(error) = self.store.note_webhook_accepting(*webhook).await
            {
                trouble = Some(error);
            }
        }
        let mut disabled: Vec<(WebhookId, String)> = Vec::new();
        for (webhook, target) in &aftermath.failing {
            let hours = target.settings.disable_after_failing_hours;
            if aftermath.accepting.contains_key(webhook) || hours == 0 {
                continue;
            }
            let reason = format!(
                "every request failed for {hours} h; its requests are held until it is enabled \
                 again"
            );
            match self
                .store
                .note_webhook_failing(*webhook, &reason, self.clock.now())
                .await
            {
                Ok(true) => {
                    tracing::warn!(%webhook, hours, "webhook disabled: every request failed for its set period");
                    disabled.push((*webhook, reason));
                }
                Ok(false) => {}
                Err(error) => trouble = Some(error),
            }
        }
        let now = self.clock.now();
        let mut gone = std::mem::take(&mut aftermath.gone);
        gone.sort_unstable();
        gone.dedup();
        for webhook in gone {
            let reason = "the receiver answered 410 Gone";
            match self.store.disable_webhook(webhook, reason, now).await {
                Ok(true) => {
                    tracing::warn!(%webhook, "receiver answered 410 Gone; webhook disabled");
                    disabled.push((webhook, reason.to_owned()));
                }
                Ok(false) => {}
                Err(error) => trouble = Some(error),
            }
        }
        if let Some(alerter) = &self.alerts {
            for (webhook, reason) in disabled {
                let failures = aftermath.failed.remove(&webhook);
                let alerter = alerter.clone();
                tokio::spawn(async move {
                    alerter
                        .alert(Alert::Disabled {
                            webhook,
                            reason,
                            failures,
                        })
                        .await;
                });
            }
            for failures in aftermath.failed.into_values() {
                // Sent beside the delivery loops: a slow mail server holds up no request.
                let alerter = alerter.clone();
                tokio::spawn(async move { alerter.alert(Alert::Failures(failures)).await });
            }
        }
        trouble.map_or(Ok(()), Err)
    }
}

impl Aftermath {
    fn note(&mut self, sent: &Sent, record: &AttemptRecord) {
        let answered = if record.outcome == AttemptOutcome::Accepted {
            &mut self.accepting
        } else {
            &mut self.failing
        };
        answered
            .entry(sent.target.id)
            .or_insert_with(|| sent.target.clone());
        if record.outcome == AttemptOutcome::Failed && record.status_code == Some(410) {
            self.gone.push(sent.target.id);
        }
        if record.status == DeliveryStatus::Failed {
            self.failed_for_good(sent.target.id, record);
        }
    }

    fn failed_for_good(&mut self, webhook: WebhookId, record: &AttemptRecord) {
        let failures = self.failed.entry(webhook).or_insert_with(|| Failures {
            webhook,
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

async fn join_loops(loops: &mut JoinSet<()>) {
    while let Some(ended) = loops.join_next().await {
        if let Err(error) = ended {
            tracing::error!(%error, "a delivery loop ended abnormally");
        }
    }
}

/// Gathered parts rendered again for `target` and grouped as its settings say now: in batches
/// of the same request (up to its size), or alone when it no longer batches.
fn regroup(target: &Arc<Target>, parts: Vec<Prepared>, readied: &mut Readied) {
    let mut groups: Vec<(BatchKey, Vec<Prepared>)> = Vec::new();
    for mut part in parts {
        // A part rendered for this very target needs no second render.
        if !Arc::ptr_eq(&part.target, target) {
            match target.part(&Subject::of_delivery(&part.delivery)) {
                Ok(request) => {
                    part.request = request;
                    part.target = target.clone();
                }
                Err(error) => {
                    readied.unsendable.push(Unsendable {
                        delivery: part.delivery,
                        window_started_at: part.window_started_at,
                        reason: error.to_string(),
                    });
                    continue;
                }
            }
        }
        if target.settings.batch.is_none() {
            readied.single.push(part);
            continue;
        }
        let key = BatchKey::of(&part);
        match groups.iter_mut().find(|(existing, _)| *existing == key) {
            Some((_, group)) => group.push(part),
            None => groups.push((key, vec![part])),
        }
    }
    let Some(batching) = &target.settings.batch else {
        return;
    };
    for (_, mut group) in groups {
        while !group.is_empty() {
            let rest = group.split_off(group.len().min(batching.max_size as usize));
            readied.batches.push(Batch {
                parts: std::mem::replace(&mut group, rest),
                batching: batching.clone(),
            });
        }
    }
}

fn cancel(sorted: &mut Sorted, reason: &'static str, delivery: DeliveryId) {
    sorted.cancelled.entry(reason).or_default().push(delivery);
}

fn millis(duration: Duration) -> Millis {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn unsendable_record(failure: &Unsendable, now: Millis) -> AttemptRecord {
    AttemptRecord {
        delivery_id: failure.delivery.id,
        webhook_id: failure.delivery.webhook_id,
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

/// What an attempt means for its delivery, per the retry schedule; `jitter` (0 to 1) spreads
/// the retries.
fn sent_record(sent: &Sent, now: Millis, jitter: f64) -> AttemptRecord {
    let attempt = &sent.attempt;
    let attempts = u32::try_from(sent.delivery.attempts + 1).unwrap_or(u32::MAX);
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
        webhook_id: sent.delivery.webhook_id,
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
