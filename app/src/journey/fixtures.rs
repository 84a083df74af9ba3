//! Builders for journeys in tests: short to write, and valid unless a test breaks them.

use serde_json::json;

use super::*;
use crate::ids::WebhookId;

pub fn node(id: &str, kind: NodeKind) -> Node {
    Node {
        id: NodeId::new(id),
        position: Position::default(),
        kind,
    }
}

pub fn trigger(event: &str) -> NodeKind {
    NodeKind::Trigger(Trigger {
        event: event.to_owned(),
        filter: Vec::new(),
    })
}

pub fn email(message: &str) -> NodeKind {
    NodeKind::Action(Action {
        channel: Channel::Email,
        template: None,
        message: message.to_owned(),
    })
}

pub fn wait_for_activity(action: &str, activity: Activity, minutes: u32) -> NodeKind {
    NodeKind::WaitForEvent(WaitForEvent {
        until: WaitTarget::MessageActivity {
            action: NodeId::new(action),
            activity,
        },
        timeout: Span::new(minutes, TimeUnit::Minutes),
    })
}

pub fn wait_for_event(event: &str, minutes: u32) -> NodeKind {
    NodeKind::WaitForEvent(WaitForEvent {
        until: WaitTarget::Event {
            event: event.to_owned(),
        },
        timeout: Span::new(minutes, TimeUnit::Minutes),
    })
}

pub fn delay(minutes: u32) -> NodeKind {
    NodeKind::Delay(Delay {
        duration: Span::new(minutes, TimeUnit::Minutes),
    })
}

pub fn condition_country(country: &str) -> NodeKind {
    NodeKind::Condition(Condition {
        combine: Combine::All,
        rules: vec![ConditionRule::Attribute(Rule {
            field: "contact.country".to_owned(),
            operator: Operator::Eq,
            value: json!(country),
        })],
    })
}

pub fn webhook(id: i64) -> NodeKind {
    webhook_with(WebhookId(id), &[])
}

/// A webhook node sending to `id`, with its own custom data.
pub fn webhook_with(id: WebhookId, custom_data: &[(&str, &str)]) -> NodeKind {
    NodeKind::Webhook(WebhookNode {
        webhook: Some(id),
        custom_data: custom_data
            .iter()
            .map(|(key, value)| KeyValue {
                key: (*key).to_owned(),
                value: (*value).to_owned(),
                secret: false,
            })
            .collect(),
    })
}

pub fn edge(from: &str, branch: Branch, to: &str) -> Edge {
    Edge {
        from: NodeId::new(from),
        branch,
        to: NodeId::new(to),
    }
}

pub fn journey(nodes: Vec<Node>, edges: Vec<Edge>) -> Journey {
    Journey::from_document(JourneyDocument { nodes, edges }).expect("a well-formed document")
}

/// `start` (a trigger on `event`) → each step in order → `done` (an exit): the shape most
/// tests need, e.g. `chain("signup", vec![("hook", webhook(1))])`.
pub fn chain(event: &str, steps: Vec<(&str, NodeKind)>) -> JourneyDocument {
    let mut nodes = vec![node("start", trigger(event))];
    let mut edges = Vec::new();
    let mut previous = "start".to_owned();
    for (id, kind) in steps {
        edges.push(edge(&previous, Branch::Next, id));
        nodes.push(node(id, kind));
        previous = id.to_owned();
    }
    edges.push(edge(&previous, Branch::Next, "done"));
    nodes.push(node("done", NodeKind::Exit));
    JourneyDocument { nodes, edges }
}

/// The product's reference scenario as a document, its webhook node sending to `webhook`:
/// add to cart → email → wait 15 min for "opened" → opened: `thanks`; timeout: webhook (with
/// the custom data `reason`) → `done`.
pub fn abandoned_cart_to(webhook: WebhookId) -> JourneyDocument {
    JourneyDocument {
        nodes: vec![
            node("start", trigger("add_to_cart")),
            node("email", email("cart-reminder")),
            node("wait", wait_for_activity("email", Activity::Opened, 15)),
            node("thanks", NodeKind::Exit),
            node(
                "hook",
                webhook_with(webhook, &[("reason", "cart not recovered")]),
            ),
            node("done", NodeKind::Exit),
        ],
        edges: vec![
            edge("start", Branch::Next, "email"),
            edge("email", Branch::Next, "wait"),
            edge("wait", Branch::Event, "thanks"),
            edge("wait", Branch::Timeout, "hook"),
            edge("hook", Branch::Next, "done"),
        ],
    }
}

/// The product's reference scenario: add to cart → email → wait 15 min for "opened" →
/// opened: exit; timeout: webhook → exit.
pub fn abandoned_cart() -> Journey {
    journey(
        vec![
            node("start", trigger("add_to_cart")),
            node("email", email("cart-reminder")),
            node("wait", wait_for_activity("email", Activity::Opened, 15)),
            node("hook", webhook(1)),
            node("done", NodeKind::Exit),
        ],
        vec![
            edge("start", Branch::Next, "email"),
            edge("email", Branch::Next, "wait"),
            edge("wait", Branch::Event, "done"),
            edge("wait", Branch::Timeout, "hook"),
            edge("hook", Branch::Next, "done"),
        ],
    )
}
