//! Builders for journeys in tests: short to write, and valid unless a test breaks them.

use serde_json::json;

use super::*;

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

pub fn webhook(id: &str) -> NodeKind {
    NodeKind::Webhook(WebhookNode {
        webhook: Some(id.to_owned()),
        custom_data: Vec::new(),
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

/// The product's reference scenario: add to cart → email → wait 15 min for "opened" →
/// opened: exit; timeout: webhook → exit.
pub fn abandoned_cart() -> Journey {
    journey(
        vec![
            node("start", trigger("add_to_cart")),
            node("email", email("cart-reminder")),
            node("wait", wait_for_activity("email", Activity::Opened, 15)),
            node("hook", webhook("crm")),
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
