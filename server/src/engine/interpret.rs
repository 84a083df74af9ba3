//! What happens when a contact enters a node, and where it goes next, decided without I/O.

use app::{
    ids::{TemplateId, WebhookId},
    journey::{
        Activity, Branch, Channel, Combine, ConditionRule, Facts, Journey, Node, NodeId, NodeKind,
        Output, Resume, WaitTarget,
    },
};

use crate::clock::Millis;

/// More node entries than this in one advance means the graph loops without waiting, which
/// validation refuses; stopping here keeps a bad version from hanging a worker.
const MAX_ENTRIES_PER_ADVANCE: usize = 1_000;

/// Something the store must record for a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The contact reached this node, by `arrived_by` unless its run started there
    /// (statistics: contacts per node and per branch).
    Visit {
        node: NodeId,
        arrived_by: Option<Output>,
    },
    /// An action node sends a message.
    SendMessage {
        node: NodeId,
        channel: Channel,
        template: Option<TemplateId>,
        /// The template's name, when no template is picked (documents from before templates).
        message: String,
    },
    /// A webhook node queues a request.
    QueueDelivery {
        node: NodeId,
        webhook: WebhookId,
        custom_data: Vec<(String, String)>,
    },
}

/// What a waiting contact waits for besides its timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Awaiting {
    /// An event with this name for the contact.
    Event { name: String },
    /// This activity of the message the action node sent in this enrollment.
    Activity { action: NodeId, activity: Activity },
}

/// Where an advance stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// At a delay or wait node until `wake_at` (or, for a wait, the awaited event).
    Waiting {
        node: NodeId,
        wake_at: Millis,
        awaiting: Option<Awaiting>,
    },
    /// The contact left the journey at this node.
    Exited { node: NodeId },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub effects: Vec<Effect>,
    pub halt: Halt,
}

/// Past events of the contact, for conditions on whether an event happened.
pub trait EventHistory: Sync {
    /// Whether the contact had an event named `name` at or after `since`.
    fn happened_since(&self, name: &str, since: Millis) -> bool;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpretError {
    #[error("node \"{0}\" is not part of this journey version")]
    UnknownNode(NodeId),
    #[error("node \"{node}\" has no \"{branch}\" connection")]
    MissingBranch { node: NodeId, branch: Branch },
    #[error("node \"{0}\" is not a node a contact can wait at")]
    NotWaiting(NodeId),
    #[error("the journey looped more than {MAX_ENTRIES_PER_ADVANCE} times without waiting")]
    Runaway,
    #[error("webhook node \"{0}\" has no webhook picked")]
    NoWebhook(NodeId),
}

/// The facts an advance reads besides the journey.
pub struct Context<'a> {
    pub facts: Facts<'a>,
    pub history: &'a dyn EventHistory,
    /// When the contact entered the journey: the start of "since entering" event windows.
    pub entered_at: Millis,
    pub now: Millis,
}

/// Moves a contact from `start` (entered now, by `arrived_by` unless its run starts there)
/// until it waits or exits.
pub fn advance(
    journey: &Journey,
    start: &NodeId,
    mut arrived_by: Option<Output>,
    context: &Context<'_>,
) -> Result<Outcome, InterpretError> {
    let mut effects = Vec::new();
    let mut current = node(journey, start)?;
    for _ in 0..MAX_ENTRIES_PER_ADVANCE {
        effects.push(Effect::Visit {
            node: current.id.clone(),
            arrived_by: arrived_by.take(),
        });
        let branch = match &current.kind {
            NodeKind::Trigger(_) => Branch::Next,
            NodeKind::Action(action) => {
                effects.push(Effect::SendMessage {
                    node: current.id.clone(),
                    channel: action.channel,
                    template: action.template,
                    message: action.message.clone(),
                });
                Branch::Next
            }
            NodeKind::Webhook(webhook) => {
                let Some(webhook_id) = webhook.webhook else {
                    return Err(InterpretError::NoWebhook(current.id.clone()));
                };
                effects.push(Effect::QueueDelivery {
                    node: current.id.clone(),
                    webhook: webhook_id,
                    custom_data: webhook
                        .custom_data
                        .iter()
                        .map(|field| (field.key.clone(), field.value.clone()))
                        .collect(),
                });
                Branch::Next
            }
            NodeKind::Condition(condition) => {
                if condition_holds(condition.combine, &condition.rules, context) {
                    Branch::Yes
                } else {
                    Branch::No
                }
            }
            NodeKind::Delay(delay) => {
                let halt = Halt::Waiting {
                    node: current.id.clone(),
                    wake_at: context.now + delay.duration.as_millis(),
                    awaiting: None,
                };
                return Ok(Outcome { effects, halt });
            }
            NodeKind::WaitForEvent(wait) => {
                let awaiting = match &wait.until {
                    WaitTarget::Event { event } => Awaiting::Event {
                        name: event.clone(),
                    },
                    WaitTarget::MessageActivity { action, activity } => Awaiting::Activity {
                        action: action.clone(),
                        activity: *activity,
                    },
                };
                let halt = Halt::Waiting {
                    node: current.id.clone(),
                    wake_at: context.now + wait.timeout.as_millis(),
                    awaiting: Some(awaiting),
                };
                return Ok(Outcome { effects, halt });
            }
            NodeKind::Exit => {
                let halt = Halt::Exited {
                    node: current.id.clone(),
                };
                return Ok(Outcome { effects, halt });
            }
        };
        let next = follow(journey, current, branch)?;
        arrived_by = Some(Output {
            node: current.id.clone(),
            branch,
        });
        current = next;
    }
    Err(InterpretError::Runaway)
}

/// Moves a contact on from the delay or wait node it waits at.
pub fn resume(
    journey: &Journey,
    waiting_at: &NodeId,
    how: Resume,
    context: &Context<'_>,
) -> Result<Outcome, InterpretError> {
    let waiting = node(journey, waiting_at)?;
    let branch = match (&waiting.kind, how) {
        (NodeKind::Delay(_), _) => Branch::Next,
        (NodeKind::WaitForEvent(_), Resume::Event) => Branch::Event,
        (NodeKind::WaitForEvent(_), Resume::Timer) => Branch::Timeout,
        _ => return Err(InterpretError::NotWaiting(waiting_at.clone())),
    };
    let next = follow(journey, waiting, branch)?;
    let arrived_by = Output {
        node: waiting.id.clone(),
        branch,
    };
    advance(journey, &next.id, Some(arrived_by), context)
}

fn node<'j>(journey: &'j Journey, id: &NodeId) -> Result<&'j Node, InterpretError> {
    journey
        .node(id)
        .ok_or_else(|| InterpretError::UnknownNode(id.clone()))
}

fn follow<'j>(
    journey: &'j Journey,
    from: &Node,
    branch: Branch,
) -> Result<&'j Node, InterpretError> {
    journey
        .next(&from.id, branch)
        .ok_or_else(|| InterpretError::MissingBranch {
            node: from.id.clone(),
            branch,
        })
}

fn condition_holds(combine: Combine, rules: &[ConditionRule], context: &Context<'_>) -> bool {
    let holds = |rule: &ConditionRule| match rule {
        ConditionRule::Attribute(rule) => rule.holds(context.facts),
        ConditionRule::EventHappened { event, within } => {
            let since = match within {
                Some(span) => context.now - span.as_millis(),
                None => context.entered_at,
            };
            context.history.happened_since(event, since)
        }
    };
    match combine {
        Combine::All => rules.iter().all(holds),
        Combine::Any => rules.iter().any(holds),
    }
}

#[cfg(test)]
mod tests {
    use app::journey::{JourneyDocument, Span, TimeUnit};
    use serde_json::{Map, Value, json};

    use super::*;

    struct History(Vec<(&'static str, Millis)>);

    impl EventHistory for History {
        fn happened_since(&self, name: &str, since: Millis) -> bool {
            self.0
                .iter()
                .any(|(event, at)| *event == name && *at >= since)
        }
    }

    fn journey(document: Value) -> Journey {
        let document: JourneyDocument = serde_json::from_value(document).expect("a document");
        Journey::from_document(document).expect("a graph")
    }

    /// trigger → email → wait 15 min for opened → (event) exit / (timeout) webhook → exit
    fn abandoned_cart() -> Journey {
        journey(json!({
            "nodes": [
                {"id": "start", "kind": "trigger", "settings": {"event": "add_to_cart"}},
                {"id": "email", "kind": "action", "settings": {"channel": "email", "message": "cart"}},
                {"id": "wait", "kind": "wait_for_event", "settings": {
                    "until": {"type": "message_activity", "action": "email", "activity": "opened"},
                    "timeout": {"value": 15, "unit": "minutes"}}},
                {"id": "hook", "kind": "webhook", "settings": {"webhook": 1,
                    "custom_data": [{"key": "reason", "value": "not opened"}]}},
                {"id": "done", "kind": "exit"}
            ],
            "edges": [
                {"from": "start", "branch": "next", "to": "email"},
                {"from": "email", "branch": "next", "to": "wait"},
                {"from": "wait", "branch": "event", "to": "done"},
                {"from": "wait", "branch": "timeout", "to": "hook"},
                {"from": "hook", "branch": "next", "to": "done"}
            ]
        }))
    }

    fn context<'a>(
        contact: &'a Map<String, Value>,
        history: &'a History,
        now: Millis,
    ) -> Context<'a> {
        Context {
            facts: Facts {
                contact,
                event: None,
            },
            history,
            entered_at: 0,
            now,
        }
    }

    /// Each visit as `from.branch → node` (`→ node` where the run started).
    fn arrivals(outcome: &Outcome) -> Vec<String> {
        outcome
            .effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::Visit { node, arrived_by } => Some(match arrived_by {
                    Some(Output { node: from, branch }) => format!("{from}.{branch} → {node}"),
                    None => format!("→ {node}"),
                }),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn entering_runs_until_the_first_wait() {
        let contact = Map::new();
        let history = History(vec![]);
        let outcome = advance(
            &abandoned_cart(),
            &NodeId::new("start"),
            None,
            &context(&contact, &history, 1_000),
        )
        .expect("advance");

        assert_eq!(
            arrivals(&outcome),
            ["→ start", "start.next → email", "email.next → wait"]
        );
        assert!(outcome.effects.contains(&Effect::SendMessage {
            node: NodeId::new("email"),
            channel: Channel::Email,
            template: None,
            message: "cart".to_owned(),
        }));
        assert_eq!(
            outcome.halt,
            Halt::Waiting {
                node: NodeId::new("wait"),
                wake_at: 1_000 + 15 * 60_000,
                awaiting: Some(Awaiting::Activity {
                    action: NodeId::new("email"),
                    activity: Activity::Opened,
                }),
            }
        );
    }

    #[test]
    fn a_timed_out_wait_takes_the_timeout_branch() {
        let contact = Map::new();
        let history = History(vec![]);
        let outcome = resume(
            &abandoned_cart(),
            &NodeId::new("wait"),
            Resume::Timer,
            &context(&contact, &history, 0),
        )
        .expect("resume");

        assert_eq!(
            arrivals(&outcome),
            ["wait.timeout → hook", "hook.next → done"]
        );
        assert!(outcome.effects.contains(&Effect::QueueDelivery {
            node: NodeId::new("hook"),
            webhook: WebhookId(1),
            custom_data: vec![("reason".to_owned(), "not opened".to_owned())],
        }));
        assert_eq!(
            outcome.halt,
            Halt::Exited {
                node: NodeId::new("done")
            }
        );
    }

    #[test]
    fn an_awaited_event_takes_the_event_branch() {
        let contact = Map::new();
        let history = History(vec![]);
        let outcome = resume(
            &abandoned_cart(),
            &NodeId::new("wait"),
            Resume::Event,
            &context(&contact, &history, 0),
        )
        .expect("resume");

        assert_eq!(arrivals(&outcome), ["wait.event → done"]);
        assert_eq!(
            outcome.halt,
            Halt::Exited {
                node: NodeId::new("done")
            }
        );
    }

    fn branching() -> Journey {
        journey(json!({
            "nodes": [
                {"id": "start", "kind": "trigger", "settings": {"event": "form.submitted"}},
                {"id": "check", "kind": "condition", "settings": {"combine": "any", "rules": [
                    {"type": "attribute", "field": "contact.country", "operator": "==", "value": "Canada"},
                    {"type": "event_happened", "event": "purchase",
                     "within": {"value": 7, "unit": "days"}}
                ]}},
                {"id": "pause", "kind": "delay", "settings": {"duration": {"value": 2, "unit": "days"}}},
                {"id": "yes", "kind": "exit"},
                {"id": "no", "kind": "exit"}
            ],
            "edges": [
                {"from": "start", "branch": "next", "to": "check"},
                {"from": "check", "branch": "yes", "to": "pause"},
                {"from": "check", "branch": "no", "to": "no"},
                {"from": "pause", "branch": "next", "to": "yes"}
            ]
        }))
    }

    #[test]
    fn conditions_read_attributes_and_event_history() {
        let journey = branching();
        let start = NodeId::new("start");
        let day = Span::new(1, TimeUnit::Days).as_millis();
        let now = 30 * day;

        let canadian = json!({"country": "Canada"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let none = History(vec![]);
        let outcome =
            advance(&journey, &start, None, &context(&canadian, &none, now)).expect("advance");
        assert_eq!(
            outcome.halt,
            Halt::Waiting {
                node: NodeId::new("pause"),
                wake_at: now + 2 * day,
                awaiting: None
            }
        );

        let french = json!({"country": "France"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let recent = History(vec![("purchase", now - 3 * day)]);
        let outcome =
            advance(&journey, &start, None, &context(&french, &recent, now)).expect("advance");
        assert!(
            matches!(outcome.halt, Halt::Waiting { .. }),
            "a purchase 3 days ago counts"
        );

        let old = History(vec![("purchase", now - 8 * day)]);
        let outcome =
            advance(&journey, &start, None, &context(&french, &old, now)).expect("advance");
        assert_eq!(
            outcome.halt,
            Halt::Exited {
                node: NodeId::new("no")
            }
        );
    }

    #[test]
    fn a_finished_delay_goes_on() {
        let contact = Map::new();
        let history = History(vec![]);
        let outcome = resume(
            &branching(),
            &NodeId::new("pause"),
            Resume::Timer,
            &context(&contact, &history, 0),
        )
        .expect("resume");
        assert_eq!(arrivals(&outcome), ["pause.next → yes"]);
    }

    #[test]
    fn a_loop_without_wait_stops_instead_of_hanging() {
        let looping = journey(json!({
            "nodes": [
                {"id": "start", "kind": "trigger", "settings": {"event": "x"}},
                {"id": "a", "kind": "action", "settings": {"channel": "sms", "message": "m"}},
                {"id": "b", "kind": "action", "settings": {"channel": "sms", "message": "m"}}
            ],
            "edges": [
                {"from": "start", "branch": "next", "to": "a"},
                {"from": "a", "branch": "next", "to": "b"},
                {"from": "b", "branch": "next", "to": "a"}
            ]
        }));
        let contact = Map::new();
        let history = History(vec![]);
        let result = advance(
            &looping,
            &NodeId::new("start"),
            None,
            &context(&contact, &history, 0),
        );
        assert_eq!(result, Err(InterpretError::Runaway));
    }
}
