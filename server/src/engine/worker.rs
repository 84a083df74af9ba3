//! The engine loop: store the intake's new events, match them (and any stored unmatched ones)
//! against triggers and waiting contacts, then move every due contact on, all in one
//! transaction per round; see [`crate::store::Batch`].

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use app::{
    api::{EnrollmentState, Reentry},
    ids::{ContactId, EnrollmentId, EventId, JourneyId},
    journey::{ConditionRule, Facts, Journey, NodeId, NodeKind, Resume, Trigger},
};
use serde_json::{Map, Value};
use tokio::sync::{Notify, watch};

use super::interpret::{
    Awaiting, Context, Effect, EventHistory, Halt, InterpretError, Outcome, advance, resume,
};
use crate::{
    clock::{Millis, SharedClock},
    delivery::{Handoff, HandoffSlot},
    intake::{Group, IntakeQueue, write_alone},
    metrics::SharedMetrics,
    pace::Pace,
    store::{
        Batch, ContactRow, DueDelivery, EnrollmentRow, EventRow, Hearing, LiveJourney, NewDelivery,
        NewEnrollment, NewMessage, NextState, RunKey, Settled, StepRecords, Store, Visit,
        json_object,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database is unavailable: {0}")]
    Unavailable(Arc<sqlx::Error>),
    #[error("journey {journey} version {version} is missing or unreadable: {reason}")]
    Version {
        journey: JourneyId,
        version: i64,
        reason: String,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct EngineSettings {
    /// How long the loop sleeps when there was nothing to do (new events wake it sooner).
    pub poll_interval: Duration,
    /// Events or enrollments one transaction takes at most.
    pub batch_size: i64,
}

pub struct Engine {
    store: Store,
    clock: SharedClock,
    settings: EngineSettings,
    /// Published versions never change (and ids are never reused), so each is read and
    /// parsed once; one that cannot be read stays unreadable, with the reason.
    versions: HashMap<(JourneyId, i64), Result<Arc<Journey>, Arc<str>>>,
    /// Where the deliveries a round queues go once it commits.
    handoff: Option<Handoff>,
    /// Wakes the message worker once a round that queued messages commits.
    messages_queued: Option<Arc<Notify>>,
    /// When a round last claimed events stored unmatched.
    stored_looked_for: Instant,
    /// Woken when another process stores events for the engines (PostgreSQL notifications).
    events_stored: Arc<Notify>,
    metrics: SharedMetrics,
}

impl Engine {
    pub fn new(store: Store, clock: SharedClock, settings: EngineSettings) -> Self {
        Self {
            store,
            clock,
            settings,
            versions: HashMap::new(),
            handoff: None,
            messages_queued: None,
            stored_looked_for: Instant::now(),
            events_stored: Arc::new(Notify::new()),
            metrics: SharedMetrics::default(),
        }
    }

    /// What wakes the engine when another process has stored events for it to match.
    pub fn events_stored_handle(&self) -> Arc<Notify> {
        self.events_stored.clone()
    }

    /// Counts its events, steps and rounds in `metrics`.
    pub fn measured_by(mut self, metrics: SharedMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Hands the delivery worker the webhook requests each round queues, claimed for it in the
    /// round's transaction; when it has no room, queues them unclaimed and wakes it.
    pub fn handing_deliveries_to(mut self, handoff: Handoff) -> Self {
        self.handoff = Some(handoff);
        self
    }

    /// Wakes the message worker through `notify` whenever a round queues messages.
    pub fn waking_message_worker(mut self, notify: Arc<Notify>) -> Self {
        self.messages_queued = Some(notify);
        self
    }

    /// Runs until `stop` turns true: takes the intake's events as they come (each group
    /// stored, matched and stepped in one transaction) and steps contacts whose timers come
    /// due, polling for those. The round under way is finished first; then the queue is
    /// closed (a delivery worker still finishing its requests records them itself) and what
    /// it still holds is written before it returns.
    pub async fn run(mut self, mut intake: IntakeQueue, stop: watch::Receiver<bool>) {
        let mut pace = Pace::new(stop, self.settings.poll_interval);
        let group_size = usize::try_from(self.settings.batch_size).unwrap_or(usize::MAX);
        let events_stored = self.events_stored.clone();
        while !pace.stopping() {
            let round = self.take(intake.take(group_size)).await;
            let next_timer_in = match round {
                Ok(0) => self.next_timer_in().await,
                _ => None,
            };
            let work = async {
                tokio::select! {
                    () = intake.ready() => {}
                    () = events_stored.notified() => {}
                }
            };
            pace.after(round, "engine batch", work, next_timer_in).await;
        }
        intake.close();
        loop {
            let group = intake.take(group_size);
            if group.is_empty() {
                break;
            }
            if let Err(error) = self.take(group).await {
                tracing::error!(%error, "the engine's last round failed");
            }
        }
    }

    /// How soon the earliest timer not due yet fires: an idle engine sleeps until then rather
    /// than a whole poll interval, so a delay or a wait's timeout ends on time. A failed
    /// look is left to the poll (the next round reports the database's trouble).
    async fn next_timer_in(&self) -> Option<Duration> {
        let now = self.clock.now();
        let due_at = self.store.next_timer(now).await.ok().flatten();
        crate::pace::due_in(due_at, now)
    }

    /// One round without new events: match the events stored but not matched yet, then step
    /// a batch of due enrollments, in one transaction. Returns how many events and
    /// enrollments it handled.
    pub async fn tick(&mut self) -> Result<usize, EngineError> {
        self.round(None).await.map(|round| round.handled)
    }

    /// Writes the group in one round: stores its events and carries them through the engine,
    /// records its attempts; then answers the requests. Should that fail, the events are
    /// stored alone, to be matched by a later round, and the attempts recorded alone: the
    /// engine's trouble does not turn into refused events or unrecorded answers.
    async fn take(&mut self, mut group: Group) -> Result<usize, EngineError> {
        if group.is_empty() {
            return self.tick().await;
        }
        match self.round(Some(&mut group)).await {
            Ok(round) => {
                self.metrics.events_stored(round.stored.len());
                group.stored(round.stored);
                for attempts in group.attempts.drain(..) {
                    attempts.answer(Ok(()));
                }
                Ok(round.handled)
            }
            Err(EngineError::Database(error)) if crate::store::is_unavailable(&error) => {
                // Writing alone would wait for the same database again: the clients hear of
                // it now (503), and the delivery worker records its attempts itself later.
                let error = Arc::new(error);
                group.unavailable(&error);
                Err(EngineError::Unavailable(error))
            }
            Err(error) => {
                tracing::error!(%error, "an engine round failed; writing what it was given alone");
                write_alone(&self.store, &self.clock, &self.metrics, group).await;
                Err(error)
            }
        }
    }

    /// One transaction: records the group's attempts, stores its events (as matched), matches
    /// them and any stored unmatched events, then steps a batch of due enrollments, including
    /// those the matching enrolled or woke.
    async fn round(&mut self, new: Option<&mut Group>) -> Result<Round, EngineError> {
        let now = self.clock.now();
        let round_started = Instant::now();
        let mut batch = self.store.begin_batch().await?;
        // Events stored without being matched (a round failed, an older version or a web
        // process stored them) are looked for whenever no new events come with the round (a
        // worker's rounds bring only attempts), else once a poll interval.
        let look_for_stored = new.as_ref().is_none_or(|group| !group.has_events())
            || self.stored_looked_for.elapsed() >= self.settings.poll_interval;
        let mut events = if look_for_stored {
            self.stored_looked_for = Instant::now();
            batch.claim_events(now, self.settings.batch_size).await?
        } else {
            Vec::new()
        };
        let mut stored = Vec::new();
        let mut recorded = 0;
        let mut attributes = AttributesRead::default();
        if let Some(group) = new {
            for attempts in &group.attempts {
                batch
                    .record_attempts(attempts.claimant, &attempts.records, now)
                    .await?;
                recorded += attempts.records.len();
            }
            let contacts = batch.contacts_named(&group.contacts()).await?;
            let ids: HashMap<String, ContactId> = contacts
                .iter()
                .map(|contact| (contact.external_id.clone(), contact.id))
                .collect();
            attributes.remember(contacts);
            let fresh = batch
                .insert_matched_events(group.resolve(&ids), now)
                .await?;
            stored = fresh.iter().map(|event| event.id).collect();
            events.extend(fresh);
        }
        let enrolled = self
            .match_events(&mut batch, &events, &mut attributes, now)
            .await?;
        let stepped = self
            .step_due(&mut batch, enrolled, &mut attributes, now)
            .await?;
        let worked = round_started.elapsed();
        batch.commit().await?;
        self.metrics
            .engine_round(stepped.count, round_started.elapsed());
        // `--log server::engine=debug`: how full the rounds are and where their time goes.
        tracing::debug!(
            events = events.len(),
            attempts = recorded,
            stepped = stepped.count,
            ?worked,
            with_commit = ?round_started.elapsed(),
            "engine round"
        );
        if stepped.messages > 0
            && let Some(notify) = &self.messages_queued
        {
            notify.notify_one();
        }
        match stepped.queued {
            Queued::Nothing => {}
            Queued::HandedOver(slot, due) => slot.hand_over(due),
            Queued::Unclaimed => {
                if let Some(handoff) = &self.handoff {
                    handoff.wake();
                }
            }
        }
        Ok(Round {
            stored,
            handled: recorded + events.len() + stepped.count,
        })
    }

    /// Wakes the waits the events answer and enrolls their contacts where a trigger matches;
    /// returns the new enrollments, for the round to step.
    async fn match_events(
        &mut self,
        batch: &mut Batch,
        events: &[EventRow],
        attributes: &mut AttributesRead,
        now: Millis,
    ) -> Result<Vec<EnrollmentRow>, EngineError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut contacts: Vec<ContactId> = events.iter().map(|event| event.contact_id).collect();
        contacts.sort_unstable();
        contacts.dedup();
        batch
            .hear_awaited_events(Hearing::Contacts(&contacts), now)
            .await?;
        // A live version that cannot be read enrolls no one (the reason is logged once, when
        // it is first read); the other journeys go on.
        let mut triggers = Vec::new();
        for live in batch.live_journeys().await? {
            if let Ok(journey) = self.version(batch, live.id, live.live_version).await? {
                triggers.push(LiveVersion { live, journey });
            }
        }
        let step_now = usize::try_from(self.settings.batch_size).unwrap_or(usize::MAX);
        enroll(batch, &triggers, events, attributes, step_now, now).await
    }

    /// Steps the enrollments just made and a batch of those due (a full batch whatever the
    /// new ones, so a stream of events never holds timers back).
    async fn step_due(
        &mut self,
        batch: &mut Batch,
        enrolled: Vec<EnrollmentRow>,
        attributes: &mut AttributesRead,
        now: Millis,
    ) -> Result<Stepped, EngineError> {
        let mut due = enrolled;
        due.extend(batch.claim_due(now, self.settings.batch_size).await?);
        due.sort_by_key(|enrollment| enrollment.id);
        if due.is_empty() {
            return Ok(Stepped::default());
        }
        // A wait whose timer fired may have heard its event all the same (it came while the
        // journey was paused, say): then it leaves by "event".
        let timed_out: Vec<EnrollmentId> = due
            .iter()
            .filter(|enrollment| enrollment.state == EnrollmentState::Waiting)
            .map(|enrollment| enrollment.id)
            .collect();
        if !timed_out.is_empty() {
            let heard = batch
                .hear_awaited_events(Hearing::Enrollments(&timed_out), now)
                .await?;
            for enrollment in due
                .iter_mut()
                .filter(|enrollment| heard.contains(&enrollment.id))
            {
                enrollment.state = EnrollmentState::Active;
                enrollment.resumed = Some(Resume::Event);
            }
        }
        let mut journeys = Vec::with_capacity(due.len());
        for enrollment in &due {
            journeys.push(
                self.version(batch, enrollment.journey_id, enrollment.version)
                    .await?,
            );
        }
        // A contact whose version cannot be read is set aside (failed, with the reason) like
        // one the interpreter cannot move; the rest of the batch goes on.
        let contact_ids: Vec<ContactId> =
            due.iter().map(|enrollment| enrollment.contact_id).collect();
        attributes.read(batch, &contact_ids).await?;
        let mut outcomes = Vec::with_capacity(due.len());
        for (enrollment, journey) in due.iter().zip(&journeys) {
            let journey = match journey {
                Ok(journey) => journey,
                Err(reason) => {
                    outcomes.push(Err(StepError::Unreadable(reason.clone())));
                    continue;
                }
            };
            let names = event_rule_names(journey);
            let history = LastOccurrences(if names.is_empty() {
                HashMap::new()
            } else {
                batch
                    .last_occurrences(enrollment.contact_id, &names)
                    .await?
            });
            let contact = attributes.of(enrollment.contact_id);
            outcomes.push(
                step(journey, enrollment, &contact, &history, now).map_err(StepError::Interpret),
            );
        }
        let mut records = StepRecords::default();
        let mut errors = Vec::new();
        for (enrollment, outcome) in due.iter().zip(&outcomes) {
            match outcome {
                Ok(outcome) => record(&mut records, enrollment, outcome),
                Err(error) => {
                    tracing::warn!(
                        enrollment = %enrollment.id,
                        journey = %enrollment.journey_id,
                        version = enrollment.version,
                        %error,
                        "contact cannot continue in the journey"
                    );
                    errors.push((enrollment.id, error.to_string()));
                }
            }
        }
        // A version that cannot be interpreted (validation prevents it) fails only the
        // contacts concerned, visibly, instead of blocking the batch.
        for (enrollment, error) in &errors {
            records.settled.push(Settled {
                enrollment: *enrollment,
                next: NextState::Failed { error },
            });
        }
        let slot = if records.deliveries.is_empty() {
            None
        } else {
            self.handoff.as_ref().and_then(Handoff::reserve)
        };
        let queued_ids = batch
            .record_steps(&records, now, slot.as_ref().map(|slot| slot.claim(now)))
            .await?;
        let queued = match slot {
            _ if queued_ids.is_empty() => Queued::Nothing,
            Some(slot) => Queued::HandedOver(slot, batch.due_deliveries(&queued_ids).await?),
            None => Queued::Unclaimed,
        };
        // Contacts that have just begun to wait for an event may have heard it already (in the
        // trigger's batch, or during the steps before the wait).
        let listening: Vec<EnrollmentId> = records
            .settled
            .iter()
            .filter(|settled| settled.next.awaits_something())
            .map(|settled| settled.enrollment)
            .collect();
        if !listening.is_empty() {
            batch
                .hear_awaited_events(Hearing::Enrollments(&listening), now)
                .await?;
        }
        Ok(Stepped {
            count: due.len(),
            queued,
            messages: records.messages.len(),
        })
    }

    /// The version, parsed; `Ok(Err(reason))` when it is missing or cannot be parsed.
    async fn version(
        &mut self,
        batch: &mut Batch,
        journey: JourneyId,
        version: i64,
    ) -> Result<Result<Arc<Journey>, Arc<str>>, EngineError> {
        if let Some(parsed) = self.versions.get(&(journey, version)) {
            return Ok(parsed.clone());
        }
        let parsed = match batch.journey_version(journey, version).await? {
            None => Err("no such version".to_owned()),
            Some(document) => serde_json::from_str::<Journey>(&document)
                .map(Arc::new)
                .map_err(|error| error.to_string()),
        }
        .map_err(|reason| {
            let error = EngineError::Version {
                journey,
                version,
                reason,
            };
            tracing::error!(%error, "contacts in this version are set aside as failed");
            Arc::<str>::from(error.to_string())
        });
        self.versions.insert((journey, version), parsed.clone());
        Ok(parsed)
    }
}

/// Stores the group's events without matching them, for a later round to claim.
/// What a round did.
struct Round {
    /// The new events' ids, in the order they came.
    stored: Vec<EventId>,
    /// Attempts recorded, events matched and enrollments stepped.
    handled: usize,
}

/// What a round's steps did.
#[derive(Default)]
struct Stepped {
    count: usize,
    queued: Queued,
    /// Messages the steps queued.
    messages: usize,
}

/// The webhook requests a round's steps queued, and where they go once it commits.
#[derive(Default)]
enum Queued {
    #[default]
    Nothing,
    /// Claimed for the delivery worker, handed over in memory.
    HandedOver(HandoffSlot, Vec<DueDelivery>),
    /// Left for the delivery worker to claim.
    Unclaimed,
}

/// Why a contact cannot take its step.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("{0}")]
    Interpret(#[from] InterpretError),
    #[error("{0}")]
    Unreadable(Arc<str>),
}

/// A live journey with its parsed live version.
struct LiveVersion {
    live: LiveJourney,
    journey: Arc<Journey>,
}

/// The attributes of the contacts a round has read, as stored. The round changes none, so each
/// contact's are read once: the trigger filters of the contacts it enrolls and the steps it
/// then takes them through share one read (a statement less per round).
#[derive(Default)]
struct AttributesRead(HashMap<ContactId, String>);

impl AttributesRead {
    /// Reads those of `contacts` not read yet in this round.
    async fn read(&mut self, batch: &mut Batch, contacts: &[ContactId]) -> sqlx::Result<()> {
        let mut missing: Vec<ContactId> = contacts
            .iter()
            .copied()
            .filter(|contact| !self.0.contains_key(contact))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            self.0.extend(batch.contact_attributes(&missing).await?);
        }
        Ok(())
    }

    /// Keeps the attributes of contacts read otherwise.
    fn remember(&mut self, contacts: Vec<ContactRow>) {
        self.0.extend(
            contacts
                .into_iter()
                .map(|contact| (contact.id, contact.attributes)),
        );
    }

    /// The contact's attributes as an object (empty for one without a row).
    fn of(&self, contact: ContactId) -> Map<String, Value> {
        self.0
            .get(&contact)
            .map(|text| json_object(text))
            .unwrap_or_default()
    }
}

/// A live journey's trigger node.
struct LiveTrigger<'a> {
    live: &'a LiveJourney,
    node: &'a NodeId,
    trigger: &'a Trigger,
}

/// Enrolls the events' contacts in every live journey whose trigger matches, as the
/// journey's re-entry rule allows; returns the first `step_now` new enrollments, for the
/// round to step (the others are due, for the rounds after).
async fn enroll(
    batch: &mut Batch,
    versions: &[LiveVersion],
    events: &[EventRow],
    attributes: &mut AttributesRead,
    step_now: usize,
    now: Millis,
) -> Result<Vec<EnrollmentRow>, EngineError> {
    let triggered: Vec<LiveTrigger<'_>> = versions
        .iter()
        .filter_map(|version| {
            version.journey.nodes().find_map(|node| match &node.kind {
                NodeKind::Trigger(trigger) => Some(LiveTrigger {
                    live: &version.live,
                    node: &node.id,
                    trigger,
                }),
                _ => None,
            })
        })
        .collect();
    let candidates: Vec<&EventRow> = events
        .iter()
        .filter(|event| {
            triggered
                .iter()
                .any(|triggered| triggered.trigger.event == event.name)
        })
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let contact_ids: Vec<ContactId> = candidates.iter().map(|event| event.contact_id).collect();
    batch.lock_contacts_for_enrolling(&contact_ids).await?;
    attributes.read(batch, &contact_ids).await?;
    let journey_ids: Vec<JourneyId> = triggered
        .iter()
        .map(|triggered| triggered.live.id)
        .collect();
    // Whether each contact's run in each journey is unfinished; kept up to date within the
    // batch.
    let mut runs: HashMap<RunKey, bool> = batch
        .enrollments_of(&journey_ids, &contact_ids)
        .await?
        .into_iter()
        .map(|found| {
            let key = RunKey {
                journey_id: found.journey_id,
                contact_id: found.contact_id,
            };
            (key, found.unfinished)
        })
        .collect();
    let mut enrollments = Vec::new();
    for event in candidates {
        let contact = attributes.of(event.contact_id);
        let properties = json_object(&event.properties);
        let facts = Facts {
            contact: &contact,
            event: Some(&properties),
        };
        for LiveTrigger {
            live,
            node: trigger_node,
            trigger,
        } in &triggered
        {
            if trigger.event != event.name || !trigger.filter.iter().all(|rule| rule.holds(facts)) {
                continue;
            }
            let key = RunKey {
                journey_id: live.id,
                contact_id: event.contact_id,
            };
            let blocked = match (live.reentry, runs.get(&key)) {
                (Reentry::Always, _) | (_, None) => false,
                (Reentry::AfterExit, Some(unfinished)) => *unfinished,
                (Reentry::Once, Some(_)) => true,
            };
            if !blocked {
                runs.insert(key, true);
                enrollments.push(NewEnrollment {
                    journey_id: live.id,
                    version: live.live_version,
                    contact_id: event.contact_id,
                    trigger: trigger_node,
                    event_id: event.id,
                    event_occurred_at: event.occurred_at,
                });
            }
        }
    }
    Ok(batch.enroll(&enrollments, step_now, now).await?)
}

/// Moves one enrollment on: where it goes and what happens on the way, without I/O.
fn step(
    journey: &Journey,
    enrollment: &EnrollmentRow,
    contact: &Map<String, Value>,
    history: &LastOccurrences,
    now: Millis,
) -> Result<Outcome, InterpretError> {
    let context = Context {
        facts: Facts {
            contact,
            event: None,
        },
        history,
        entered_at: enrollment.entered_at,
        now,
    };
    let node = &enrollment.node_id;
    match (enrollment.state, enrollment.resumed) {
        (EnrollmentState::Active, None) => advance(journey, node, None, &context),
        (EnrollmentState::Active, Some(how)) => resume(journey, node, how, &context),
        // A waiting enrollment is due when its timer fires.
        _ => resume(journey, node, Resume::Timer, &context),
    }
}

/// Adds a step's effects and the enrollment's new state to the batch's records.
fn record<'a>(records: &mut StepRecords<'a>, enrollment: &'a EnrollmentRow, outcome: &'a Outcome) {
    for effect in &outcome.effects {
        match effect {
            Effect::Visit { node, arrived_by } => records.visits.push(Visit {
                enrollment,
                node,
                arrived_by: arrived_by.as_ref(),
            }),
            Effect::SendMessage {
                node,
                channel,
                template,
                message,
            } => records.messages.push(NewMessage {
                enrollment,
                node,
                channel: *channel,
                template: *template,
                template_name: message,
            }),
            Effect::QueueDelivery {
                node,
                webhook,
                custom_data,
            } => {
                let custom_data: Vec<Value> = custom_data
                    .iter()
                    .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
                    .collect();
                records.deliveries.push(NewDelivery {
                    enrollment,
                    node,
                    webhook: *webhook,
                    custom_data: Value::Array(custom_data).to_string(),
                });
            }
        }
    }
    let next = match &outcome.halt {
        Halt::Waiting {
            node,
            wake_at,
            awaiting,
        } => {
            let (event, action, activity) = match awaiting {
                None => (None, None, None),
                Some(Awaiting::Event { name }) => (Some(name.as_str()), None, None),
                Some(Awaiting::Activity { action, activity }) => {
                    (None, Some(action), Some(*activity))
                }
            };
            NextState::Waiting {
                node,
                wake_at: *wake_at,
                awaiting_event: event,
                awaiting_node: action,
                awaiting_activity: activity,
            }
        }
        Halt::Exited { node } => NextState::Exited { node },
    };
    records.settled.push(Settled {
        enrollment: enrollment.id,
        next,
    });
}

/// The event names the journey's conditions ask about.
fn event_rule_names(journey: &Journey) -> Vec<&str> {
    let mut names: Vec<&str> = journey
        .nodes()
        .filter_map(|node| match &node.kind {
            NodeKind::Condition(condition) => Some(&condition.rules),
            _ => None,
        })
        .flatten()
        .filter_map(|rule| match rule {
            ConditionRule::EventHappened { event, .. } => Some(event.as_str()),
            ConditionRule::Attribute(_) => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

struct LastOccurrences(HashMap<String, Millis>);

impl EventHistory for LastOccurrences {
    fn happened_since(&self, name: &str, since: Millis) -> bool {
        self.0.get(name).is_some_and(|last| *last >= since)
    }
}
