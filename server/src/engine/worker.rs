//! The engine loop: match new events against triggers and waiting contacts, then move every
//! due contact on. Each phase is one transaction per batch; see [`crate::store::Batch`].

use std::{collections::HashMap, sync::Arc, time::Duration};

use app::journey::{ConditionRule, Facts, Journey, NodeId, NodeKind, Trigger};
use serde_json::{Map, Value};
use tokio::sync::{Notify, watch};

use super::interpret::{
    Awaiting, Context, Effect, EventHistory, Halt, InterpretError, Outcome, Resume, advance, resume,
};
use crate::{
    clock::{Millis, SharedClock},
    pace::Pace,
    store::{Batch, EnrollmentRow, EventRow, LiveJourney, NextState, StepRecords, Store},
};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("journey {journey} version {version} is missing or unreadable: {reason}")]
    Version {
        journey: i64,
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
    /// Published versions never change, so each is parsed once.
    versions: HashMap<(i64, i64), Arc<Journey>>,
}

impl Engine {
    pub fn new(store: Store, clock: SharedClock, settings: EngineSettings) -> Self {
        Self {
            store,
            clock,
            settings,
            versions: HashMap::new(),
        }
    }

    /// Runs until `stop` turns true; the batch under way is finished first.
    pub async fn run(mut self, wake: Arc<Notify>, stop: watch::Receiver<bool>) {
        let mut pace = Pace::new(wake, stop, self.settings.poll_interval);
        while !pace.stopping() {
            let round = self.tick().await;
            pace.after(round, "engine batch").await;
        }
    }

    /// One round: match a batch of events, then step a batch of due enrollments. Returns how
    /// many events and enrollments it handled.
    pub async fn tick(&mut self) -> Result<usize, EngineError> {
        let matched = self.match_events().await?;
        let stepped = self.step_due().await?;
        Ok(matched + stepped)
    }

    async fn match_events(&mut self) -> Result<usize, EngineError> {
        let now = self.clock.now();
        let mut batch = self.store.begin_batch().await?;
        let events = batch.claim_events(now, self.settings.batch_size).await?;
        if events.is_empty() {
            return Ok(0);
        }
        for event in &events {
            if let Some(message_id) = event.message_id {
                batch
                    .resume_waiting_for_activity(message_id, &event.name, event.occurred_at, now)
                    .await?;
            }
        }
        batch.resume_waiting_for_events(&events, now).await?;
        let mut triggers = Vec::new();
        for live in batch.live_journeys().await? {
            let journey = self.version(&mut batch, live.id, live.live_version).await?;
            triggers.push((live, journey));
        }
        enroll(&mut batch, &triggers, &events, now).await?;
        batch.commit().await?;
        Ok(events.len())
    }

    async fn step_due(&mut self) -> Result<usize, EngineError> {
        let now = self.clock.now();
        let mut batch = self.store.begin_batch().await?;
        let due = batch.claim_due(now, self.settings.batch_size).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut journeys = Vec::with_capacity(due.len());
        for enrollment in &due {
            journeys.push(
                self.version(&mut batch, enrollment.journey_id, enrollment.version)
                    .await?,
            );
        }
        let contact_ids: Vec<i64> = due.iter().map(|enrollment| enrollment.contact_id).collect();
        let attributes = batch.contact_attributes(&contact_ids).await?;
        let mut outcomes = Vec::with_capacity(due.len());
        for (enrollment, journey) in due.iter().zip(&journeys) {
            let names = event_rule_names(journey);
            let history = LastOccurrences(if names.is_empty() {
                HashMap::new()
            } else {
                batch
                    .last_occurrences(enrollment.contact_id, &names)
                    .await?
            });
            let contact = attributes
                .get(&enrollment.contact_id)
                .map(|text| json_object(text))
                .unwrap_or_default();
            outcomes.push(step(journey, enrollment, &contact, &history, now));
        }
        let mut records = StepRecords::default();
        let mut errors = Vec::new();
        for (enrollment, outcome) in due.iter().zip(&outcomes) {
            match outcome {
                Ok(outcome) => record(&mut records, enrollment, outcome),
                Err(error) => {
                    tracing::warn!(
                        enrollment = enrollment.id,
                        journey = enrollment.journey_id,
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
        for (id, error) in &errors {
            records.settled.push((*id, NextState::Failed { error }));
        }
        batch.record_steps(&records, now).await?;
        batch.commit().await?;
        Ok(due.len())
    }

    async fn version(
        &mut self,
        batch: &mut Batch,
        journey: i64,
        version: i64,
    ) -> Result<Arc<Journey>, EngineError> {
        if let Some(parsed) = self.versions.get(&(journey, version)) {
            return Ok(parsed.clone());
        }
        let document = batch
            .journey_document(journey, version)
            .await?
            .ok_or_else(|| EngineError::Version {
                journey,
                version,
                reason: "no such version".to_owned(),
            })?;
        let parsed: Journey =
            serde_json::from_str(&document).map_err(|error| EngineError::Version {
                journey,
                version,
                reason: error.to_string(),
            })?;
        let parsed = Arc::new(parsed);
        self.versions.insert((journey, version), parsed.clone());
        Ok(parsed)
    }
}

/// Enrolls the events' contacts in every live journey whose trigger matches, as the
/// journey's re-entry rule allows.
async fn enroll(
    batch: &mut Batch,
    triggers: &[(LiveJourney, Arc<Journey>)],
    events: &[EventRow],
    now: Millis,
) -> Result<(), EngineError> {
    let triggered: Vec<(&LiveJourney, &NodeId, &Trigger)> = triggers
        .iter()
        .filter_map(|(live, journey)| {
            journey.nodes().find_map(|node| match &node.kind {
                NodeKind::Trigger(trigger) => Some((live, &node.id, trigger)),
                _ => None,
            })
        })
        .collect();
    let candidates: Vec<&EventRow> = events
        .iter()
        .filter(|event| {
            triggered
                .iter()
                .any(|(_, _, trigger)| trigger.event == event.name)
        })
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let contact_ids: Vec<i64> = candidates.iter().map(|event| event.contact_id).collect();
    let attributes = batch.contact_attributes(&contact_ids).await?;
    let journey_ids: Vec<i64> = triggered.iter().map(|(live, _, _)| live.id).collect();
    // (journey, contact) → whether a run is unfinished; kept up to date within the batch.
    let mut runs: HashMap<(i64, i64), bool> = HashMap::new();
    for (journey, contact, unfinished) in batch.enrollments_of(&journey_ids, &contact_ids).await? {
        *runs.entry((journey, contact)).or_default() |= unfinished;
    }
    let mut enrollments = Vec::new();
    for event in candidates {
        let contact = attributes
            .get(&event.contact_id)
            .map(|text| json_object(text))
            .unwrap_or_default();
        let properties = json_object(&event.properties);
        let facts = Facts {
            contact: &contact,
            event: Some(&properties),
        };
        for (live, trigger_node, trigger) in &triggered {
            if trigger.event != event.name || !trigger.filter.iter().all(|rule| rule.holds(facts)) {
                continue;
            }
            let key = (live.id, event.contact_id);
            let blocked = match (live.reentry.as_str(), runs.get(&key)) {
                ("always", _) | (_, None) => false,
                ("after_exit", Some(unfinished)) => *unfinished,
                (_, Some(_)) => true,
            };
            if !blocked {
                runs.insert(key, true);
                enrollments.push((
                    live.id,
                    live.live_version,
                    event.contact_id,
                    trigger_node.as_str(),
                    event.id,
                ));
            }
        }
    }
    batch.enroll(&enrollments, now).await?;
    Ok(())
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
    let node = NodeId::new(enrollment.node_id.clone());
    match (enrollment.state.as_str(), enrollment.resumed.as_deref()) {
        ("active", None) => advance(journey, &node, &context),
        ("active", Some("event")) => resume(journey, &node, Resume::Event, &context),
        _ => resume(journey, &node, Resume::Timer, &context),
    }
}

/// Adds a step's effects and the enrollment's new state to the batch's records.
fn record<'a>(records: &mut StepRecords<'a>, enrollment: &'a EnrollmentRow, outcome: &'a Outcome) {
    for effect in &outcome.effects {
        match effect {
            Effect::Visit { node } => records.visits.push((enrollment, node.as_str())),
            Effect::SendMessage {
                node,
                channel,
                message,
            } => records
                .messages
                .push((enrollment, node.as_str(), channel, message.as_str())),
            Effect::QueueDelivery {
                node,
                webhook,
                custom_data,
            } => {
                let custom_data: Vec<Value> = custom_data
                    .iter()
                    .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
                    .collect();
                records.deliveries.push((
                    enrollment,
                    node.as_str(),
                    webhook.as_str(),
                    Value::Array(custom_data).to_string(),
                ));
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
                    (None, Some(action.as_str()), Some(activity.as_str()))
                }
            };
            NextState::Waiting {
                node: node.as_str(),
                wake_at: *wake_at,
                awaiting_event: event,
                awaiting_node: action,
                awaiting_activity: activity,
            }
        }
        Halt::Exited { node } => NextState::Exited {
            node: node.as_str(),
        },
    };
    records.settled.push((enrollment.id, next));
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

/// Stored JSON objects are written by this server; anything else reads as empty.
fn json_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}
