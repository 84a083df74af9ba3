//! The engine loop: match new events against triggers and waiting contacts, then move every
//! due contact on. Each phase is one transaction per batch; see [`crate::store::Batch`].

use std::{collections::HashMap, sync::Arc, time::Duration};

use app::journey::{ConditionRule, Facts, Journey, NodeId, NodeKind};
use serde_json::{Map, Value};
use tokio::sync::{Notify, watch};

use super::interpret::{
    Awaiting, Context, Effect, EventHistory, Halt, InterpretError, Resume, advance, resume,
};
use crate::{
    clock::{Millis, SharedClock},
    store::{Batch, EnrollmentRow, EventRow, NextState, Store},
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
    pub async fn run(mut self, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let worked = match self.tick().await {
                Ok(work) => work > 0,
                Err(error) => {
                    tracing::error!(%error, "engine batch failed; retrying");
                    false
                }
            };
            if worked {
                continue;
            }
            tokio::select! {
                _ = stop.changed() => {}
                () = wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
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
        let mut triggers = Vec::new();
        for live in batch.live_journeys().await? {
            let journey = self.version(&mut batch, live.id, live.live_version).await?;
            triggers.push((live, journey));
        }
        for event in &events {
            if let Some(message_id) = event.message_id {
                batch
                    .resume_waiting_for_activity(message_id, &event.name, event.occurred_at, now)
                    .await?;
            }
            batch
                .resume_waiting_for_event(event.contact_id, &event.name, event.occurred_at, now)
                .await?;
            self.enroll(&mut batch, &triggers, event, now).await?;
        }
        batch.commit().await?;
        Ok(events.len())
    }

    async fn enroll(
        &self,
        batch: &mut Batch,
        triggers: &[(crate::store::LiveJourney, Arc<Journey>)],
        event: &EventRow,
        now: Millis,
    ) -> Result<(), EngineError> {
        let mut facts: Option<(Map<String, Value>, Map<String, Value>)> = None;
        for (live, journey) in triggers {
            let Some((trigger_node, trigger)) = journey.nodes().find_map(|node| match &node.kind {
                NodeKind::Trigger(trigger) => Some((node, trigger)),
                _ => None,
            }) else {
                continue;
            };
            if trigger.event != event.name {
                continue;
            }
            if facts.is_none() {
                let contact = json_object(&batch.contact_attributes(event.contact_id).await?);
                facts = Some((contact, json_object(&event.properties)));
            }
            let Some((contact, properties)) = &facts else {
                continue;
            };
            let facts = Facts {
                contact,
                event: Some(properties),
            };
            if !trigger.filter.iter().all(|rule| rule.holds(facts)) {
                continue;
            }
            let blocked = match live.reentry.as_str() {
                "always" => false,
                "after_exit" => {
                    batch
                        .has_enrollment(live.id, event.contact_id, true)
                        .await?
                }
                _ => {
                    batch
                        .has_enrollment(live.id, event.contact_id, false)
                        .await?
                }
            };
            if !blocked {
                batch
                    .enroll(
                        live.id,
                        live.live_version,
                        event.contact_id,
                        trigger_node.id.as_str(),
                        now,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn step_due(&mut self) -> Result<usize, EngineError> {
        let now = self.clock.now();
        let mut batch = self.store.begin_batch().await?;
        let due = batch.claim_due(now, self.settings.batch_size).await?;
        if due.is_empty() {
            return Ok(0);
        }
        for enrollment in &due {
            let journey = self
                .version(&mut batch, enrollment.journey_id, enrollment.version)
                .await?;
            step(&mut batch, &journey, enrollment, now).await?;
        }
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

/// Moves one enrollment on and records what happened on the way.
async fn step(
    batch: &mut Batch,
    journey: &Journey,
    enrollment: &EnrollmentRow,
    now: Millis,
) -> Result<(), EngineError> {
    let contact = json_object(&batch.contact_attributes(enrollment.contact_id).await?);
    let names = event_rule_names(journey);
    let history = LastOccurrences(if names.is_empty() {
        HashMap::new()
    } else {
        batch
            .last_occurrences(enrollment.contact_id, &names)
            .await?
    });
    let context = Context {
        facts: Facts {
            contact: &contact,
            event: None,
        },
        history: &history,
        entered_at: enrollment.entered_at,
        now,
    };
    let node = NodeId::new(enrollment.node_id.clone());
    let outcome = match (enrollment.state.as_str(), enrollment.resumed.as_deref()) {
        ("active", None) => advance(journey, &node, &context),
        ("active", Some("event")) => resume(journey, &node, Resume::Event, &context),
        _ => resume(journey, &node, Resume::Timer, &context),
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => return fail(batch, enrollment, &error, now).await,
    };
    for effect in &outcome.effects {
        match effect {
            Effect::Visit { node } => batch.record_visit(enrollment, node.as_str(), now).await?,
            Effect::SendMessage {
                node,
                channel,
                message,
            } => {
                batch
                    .record_message(enrollment, node.as_str(), channel, message, now)
                    .await?;
            }
            Effect::QueueDelivery {
                node,
                webhook,
                custom_data,
            } => {
                let custom_data: Vec<Value> = custom_data
                    .iter()
                    .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
                    .collect();
                let custom_data = Value::Array(custom_data).to_string();
                batch
                    .queue_delivery(enrollment, node.as_str(), webhook, &custom_data, now)
                    .await?;
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
    batch.settle(enrollment.id, next, now).await?;
    Ok(())
}

/// A version that cannot be interpreted (validation prevents it) fails only this contact's
/// run, visibly, instead of blocking the batch.
async fn fail(
    batch: &mut Batch,
    enrollment: &EnrollmentRow,
    error: &InterpretError,
    now: Millis,
) -> Result<(), EngineError> {
    tracing::warn!(
        enrollment = enrollment.id,
        journey = enrollment.journey_id,
        version = enrollment.version,
        %error,
        "contact cannot continue in the journey"
    );
    let error = error.to_string();
    batch
        .settle(enrollment.id, NextState::Failed { error: &error }, now)
        .await?;
    Ok(())
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
