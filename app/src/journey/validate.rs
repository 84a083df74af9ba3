//! Whether a journey can run: every problem found, each naming the node it concerns and what
//! to change. The editor shows these live; the server refuses to publish while any remain.

use std::collections::HashSet;

use petgraph::{
    Direction,
    algo::{has_path_connecting, tarjan_scc},
    visit::{Bfs, EdgeFiltered, EdgeRef, IntoNeighborsDirected, NodeFiltered},
};
use serde::{Deserialize, Serialize};

use super::{
    graph::Journey,
    node::{Branch, Channel, ConditionRule, Node, NodeId, NodeKind, Span, WaitTarget},
    rule::{Rule, split_field},
};
use crate::ids::{TemplateId, WebhookId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ValidationError {
    /// The node the problem is about; `None` for the journey as a whole.
    pub node: Option<NodeId>,
    pub message: String,
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.node {
            Some(node) => write!(f, "node \"{node}\": {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl Journey {
    /// Every reason this journey cannot run, in a stable order; empty when it can.
    pub fn validate(&self) -> Vec<ValidationError> {
        let mut errors = Errors::default();
        let trigger = check_single_trigger(self, &mut errors);
        for node in self.nodes() {
            check_branches(self, node, &mut errors);
            check_settings(self, node, &mut errors);
        }
        if let Some(trigger) = trigger {
            check_reachable(self, trigger, &mut errors);
        }
        check_loops_wait(self, &mut errors);
        check_loops_that_send(self, &mut errors);
        errors.0
    }

    /// Problems with the webhooks the journey's webhook nodes name: `exists` says whether a
    /// webhook id is known (the server asks its store, the editor its list of webhooks).
    pub fn check_webhooks(&self, exists: impl Fn(WebhookId) -> bool) -> Vec<ValidationError> {
        let mut errors = Errors::default();
        for (node, id) in self.webhook_nodes() {
            if !exists(id) {
                errors.node(
                    node,
                    format!("sends to webhook {id}, which does not exist: pick another."),
                );
            }
        }
        errors.0
    }

    /// Problems of action nodes whose template is gone or is for another channel;
    /// `channel_of` gives an existing template's channel.
    pub fn check_templates(
        &self,
        channel_of: impl Fn(TemplateId) -> Option<Channel>,
    ) -> Vec<ValidationError> {
        let mut errors = Errors::default();
        for node in self.nodes() {
            let NodeKind::Action(action) = &node.kind else {
                continue;
            };
            let Some(id) = action.template else {
                continue;
            };
            match channel_of(id) {
                None => errors.node(
                    node,
                    format!("sends template {id}, which does not exist: pick another."),
                ),
                Some(channel) if channel != action.channel => errors.node(
                    node,
                    format!(
                        "sends {} but its template is for {channel}: pick an {} template.",
                        action.channel, action.channel
                    ),
                ),
                Some(_) => {}
            }
        }
        errors.0
    }

    /// The webhook nodes that name a webhook, with the webhook each names.
    pub fn webhook_nodes(&self) -> impl Iterator<Item = (&Node, WebhookId)> {
        self.nodes().filter_map(|node| match &node.kind {
            NodeKind::Webhook(webhook) => webhook.webhook.map(|id| (node, id)),
            _ => None,
        })
    }
}

#[derive(Default)]
struct Errors(Vec<ValidationError>);

impl Errors {
    fn journey(&mut self, message: impl Into<String>) {
        self.0.push(ValidationError {
            node: None,
            message: message.into(),
        });
    }

    fn node(&mut self, node: &Node, message: impl Into<String>) {
        self.0.push(ValidationError {
            node: Some(node.id.clone()),
            message: format!("{} {}", node.kind.label(), message.into()),
        });
    }
}

fn check_single_trigger<'a>(journey: &'a Journey, errors: &mut Errors) -> Option<&'a Node> {
    let triggers: Vec<&Node> = journey
        .nodes()
        .filter(|node| matches!(node.kind, NodeKind::Trigger(_)))
        .collect();
    match triggers.as_slice() {
        [] => {
            errors.journey("Add a trigger: every journey starts at exactly one trigger node.");
            None
        }
        [trigger] => {
            if !journey.inputs(&trigger.id).is_empty() {
                errors.node(
                    trigger,
                    "starts the journey and cannot have incoming connections.",
                );
            }
            Some(trigger)
        }
        [first, others @ ..] => {
            for other in others {
                errors.node(
                    other,
                    format!(
                        "is a second trigger; a journey starts at exactly one trigger (\"{}\"). \
                         Remove this one or make it another journey.",
                        first.id
                    ),
                );
            }
            Some(first)
        }
    }
}

fn check_branches(journey: &Journey, node: &Node, errors: &mut Errors) {
    let expected = node.kind.branches();
    let outputs = journey.outputs(&node.id);
    for branch in expected {
        if !outputs.iter().any(|(connected, _)| connected == branch) {
            errors.node(
                node,
                format!("has no \"{branch}\" connection: connect it to the node that follows."),
            );
        }
    }
    for (branch, _) in &outputs {
        if !expected.contains(branch) {
            let message = if expected.is_empty() {
                "ends the journey and cannot have outgoing connections.".to_owned()
            } else {
                format!("has no \"{branch}\" output; remove that connection.")
            };
            errors.node(node, message);
        }
    }
}

fn check_settings(journey: &Journey, node: &Node, errors: &mut Errors) {
    match &node.kind {
        NodeKind::Trigger(trigger) => {
            if trigger.event.trim().is_empty() {
                errors.node(node, "needs the name of the event that starts the journey.");
            }
            for rule in &trigger.filter {
                check_rule(node, rule, &["contact", "event"], errors);
            }
        }
        NodeKind::Action(action) => {
            if action.template.is_none() && action.message.trim().is_empty() {
                errors.node(
                    node,
                    format!(
                        "needs an {} template to send: pick one.",
                        action.channel.as_str()
                    ),
                );
            }
        }
        NodeKind::WaitForEvent(wait) => {
            check_span(node, "timeout", wait.timeout, errors);
            match &wait.until {
                WaitTarget::Event { event } => {
                    if event.trim().is_empty() {
                        errors.node(node, "needs the name of the event to wait for.");
                    }
                }
                WaitTarget::MessageActivity { action, activity } => {
                    check_activity_source(journey, node, action, activity.as_str(), errors);
                }
            }
        }
        NodeKind::Delay(delay) => check_span(node, "duration", delay.duration, errors),
        NodeKind::Condition(condition) => {
            if condition.rules.is_empty() {
                errors.node(
                    node,
                    "needs at least one rule to decide between yes and no.",
                );
            }
            for rule in &condition.rules {
                match rule {
                    ConditionRule::Attribute(rule) => check_rule(node, rule, &["contact"], errors),
                    ConditionRule::EventHappened { event, within } => {
                        if event.trim().is_empty() {
                            errors.node(node, "has an event rule without an event name.");
                        }
                        if let Some(within) = within {
                            check_span(node, "event rule's time window", *within, errors);
                        }
                    }
                }
            }
        }
        NodeKind::Webhook(webhook) => {
            if webhook.webhook.is_none() {
                errors.node(node, "needs a webhook: pick which one to send.");
            }
            let mut keys = HashSet::new();
            for field in &webhook.custom_data {
                if field.key.trim().is_empty() {
                    errors.node(node, "has a custom data field without a key.");
                } else if !keys.insert(field.key.as_str()) {
                    errors.node(
                        node,
                        format!("has the custom data key \"{}\" twice.", field.key),
                    );
                }
                // Checked here, or every delivery of the node would fail unsent.
                if let Err(error) = crate::template::Template::parse(&field.value) {
                    errors.node(
                        node,
                        format!(
                            "has a bad placeholder in the custom data \"{}\": {error}.",
                            field.key
                        ),
                    );
                }
            }
        }
        NodeKind::Exit => {}
    }
}

fn check_span(node: &Node, what: &str, span: Span, errors: &mut Errors) {
    if span.value == 0 {
        errors.node(node, format!("needs a {what} longer than zero."));
    }
}

fn check_rule(node: &Node, rule: &Rule, scopes: &[&str], errors: &mut Errors) {
    let allowed = scopes
        .iter()
        .map(|scope| format!("{scope}.<name>"))
        .collect::<Vec<_>>()
        .join(" or ");
    match split_field(&rule.field) {
        Some((scope, _)) if scopes.contains(&scope) => {}
        _ => {
            errors.node(
                node,
                format!("has a rule on \"{}\"; rules read {allowed}.", rule.field),
            );
            return;
        }
    }
    if rule.operator != super::Operator::Exists && rule.value.is_null() {
        errors.node(
            node,
            format!(
                "has a rule \"{} {}\" without a value to compare with.",
                rule.field,
                rule.operator.as_str()
            ),
        );
    }
}

fn check_activity_source(
    journey: &Journey,
    node: &Node,
    action: &NodeId,
    activity: &str,
    errors: &mut Errors,
) {
    let source = journey.node(action);
    let is_action = source.is_some_and(|source| matches!(source.kind, NodeKind::Action(_)));
    if !is_action {
        errors.node(
            node,
            format!(
                "waits for \"{activity}\" of the message sent by \"{action}\", which is not an \
                 action node of this journey."
            ),
        );
        return;
    }
    let graph = journey.graph();
    let (Some(from), Some(to)) = (journey.index_of(action), journey.index_of(&node.id)) else {
        return;
    };
    if !has_path_connecting(graph, from, to, None) {
        errors.node(
            node,
            format!(
                "waits for \"{activity}\" of the message sent by \"{action}\", but contacts \
                 reach this wait without passing through that action."
            ),
        );
    }
}

fn check_reachable(journey: &Journey, trigger: &Node, errors: &mut Errors) {
    let graph = journey.graph();
    let Some(start) = journey.index_of(&trigger.id) else {
        return;
    };
    let mut reached = HashSet::new();
    let mut bfs = Bfs::new(graph, start);
    while let Some(index) = bfs.next(graph) {
        reached.insert(index);
    }
    for index in graph.node_indices() {
        let node = &graph[index];
        // Extra triggers already have their own error.
        if !reached.contains(&index) && !matches!(node.kind, NodeKind::Trigger(_)) {
            errors.node(
                node,
                "cannot be reached from the trigger: connect it or remove it.",
            );
        }
    }
}

/// A loop is fine only when it passes through a delay or wait, which makes contacts stay;
/// otherwise a contact would go round it forever within one step.
fn check_loops_wait(journey: &Journey, errors: &mut Errors) {
    let graph = journey.graph();
    let instant = NodeFiltered::from_fn(graph, |index| !graph[index].kind.waits());
    for mut component in tarjan_scc(&instant) {
        let is_loop = component.len() > 1
            || component
                .first()
                .is_some_and(|&index| graph.edges(index).any(|edge| edge.target() == index));
        if !is_loop {
            continue;
        }
        // Document order, so the message and the node it is attached to do not change between
        // runs.
        component.sort_unstable();
        let ids: Vec<&str> = component
            .iter()
            .map(|&index| graph[index].id.as_str())
            .collect();
        let first = &graph[component[0]];
        errors.node(
            first,
            format!(
                "is part of a loop without a delay or wait ({}): contacts would go round it \
                 forever. Add a delay or wait to the loop.",
                ids.join(" → ")
            ),
        );
    }
}

/// A loop that sends (an action or a webhook node on it) must be gated by the contact: it
/// passes through a wait-for-event's `event` branch. Delays and timeouts are not enough: a
/// `webhook → 1 s delay → webhook` loop sent a request per contact per second, forever.
/// Loops that only wait and check (a daily "has the contact bought yet?") send nothing and
/// stay allowed.
fn check_loops_that_send(journey: &Journey, errors: &mut Errors) {
    let graph = journey.graph();
    let ungated = EdgeFiltered::from_fn(graph, |edge| *edge.weight() != Branch::Event);
    for mut component in tarjan_scc(&ungated) {
        let is_loop = component.len() > 1
            || component.first().is_some_and(|&index| {
                ungated
                    .neighbors_directed(index, Direction::Outgoing)
                    .any(|next| next == index)
            });
        // A loop with no delay or wait at all is reported by `check_loops_wait`.
        if !is_loop || !component.iter().any(|&index| graph[index].kind.waits()) {
            continue;
        }
        component.sort_unstable();
        let Some(&sender) = component.iter().find(|&&index| {
            matches!(
                graph[index].kind,
                NodeKind::Action(_) | NodeKind::Webhook(_)
            )
        }) else {
            continue;
        };
        let ids: Vec<&str> = component
            .iter()
            .map(|&index| graph[index].id.as_str())
            .collect();
        errors.node(
            &graph[sender],
            format!(
                "sends in a loop that nothing the contact does gates ({}): each contact would \
                 get it every time round, forever. Lead the loop through the \"event\" branch \
                 of a Wait for event.",
                ids.join(" → ")
            ),
        );
    }
}
