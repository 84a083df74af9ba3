//! The one table of node kinds: what each is called and drawn as, the outputs it has, whether
//! contacts wait at it, and the settings a new one starts with. The palette, the canvas, the
//! settings panel, validation and the engine all ask here; a new kind is a row here, its
//! settings type, its settings form and its arm in the interpreter.

use super::node::{
    Action, Branch, Channel, Combine, Condition, Delay, NodeKind, Span, TimeUnit, Trigger,
    WaitForEvent, WaitTarget, WebhookNode,
};

crate::text_enum! {
    /// A node's kind without its settings; the word is the `kind` of a node in JSON.
    #[derive(PartialOrd, Ord)]
    pub enum NodeKindTag {
        Trigger = "trigger",
        Action = "action",
        WaitForEvent = "wait_for_event",
        Delay = "delay",
        Condition = "condition",
        Webhook = "webhook",
        Exit = "exit",
    }
}

/// One row of the table.
struct KindInfo {
    label: &'static str,
    icon: &'static str,
    branches: &'static [Branch],
    /// Whether a contact may stay at such a node for a while.
    waits: bool,
}

impl NodeKindTag {
    fn info(self) -> KindInfo {
        const NEXT: &[Branch] = &[Branch::Next];
        let (label, icon, branches, waits) = match self {
            Self::Trigger => ("Trigger", "⚡", NEXT, false),
            Self::Action => ("Action", "✉", NEXT, false),
            Self::WaitForEvent => (
                "Wait for event",
                "◴",
                &[Branch::Event, Branch::Timeout][..],
                true,
            ),
            Self::Delay => ("Delay", "◷", NEXT, true),
            Self::Condition => ("Condition", "◇", &[Branch::Yes, Branch::No][..], false),
            Self::Webhook => ("Webhook", "⇄", NEXT, false),
            Self::Exit => ("Exit", "■", &[][..], false),
        };
        KindInfo {
            label,
            icon,
            branches,
            waits,
        }
    }

    /// The name people read: "Wait for event".
    pub fn label(self) -> &'static str {
        self.info().label
    }

    pub fn icon(self) -> &'static str {
        self.info().icon
    }

    /// The outgoing branches this kind must have, each connected to exactly one node.
    pub fn branches(self) -> &'static [Branch] {
        self.info().branches
    }

    /// Whether a contact may stay at this node for a while. A loop in the graph must pass
    /// through such a node, or a contact would loop forever within one step.
    pub fn waits(self) -> bool {
        self.info().waits
    }

    /// A new node's settings, for the marketer to fill in.
    pub fn new_settings(self) -> NodeKind {
        match self {
            Self::Trigger => NodeKind::Trigger(Trigger {
                event: String::new(),
                filter: Vec::new(),
            }),
            Self::Action => NodeKind::Action(Action {
                channel: Channel::Email,
                template: None,
                message: String::new(),
            }),
            Self::WaitForEvent => NodeKind::WaitForEvent(WaitForEvent {
                until: WaitTarget::Event {
                    event: String::new(),
                },
                timeout: Span::new(1, TimeUnit::Days),
            }),
            Self::Delay => NodeKind::Delay(Delay {
                duration: Span::new(1, TimeUnit::Hours),
            }),
            Self::Condition => NodeKind::Condition(Condition {
                combine: Combine::All,
                rules: Vec::new(),
            }),
            Self::Webhook => NodeKind::Webhook(WebhookNode {
                webhook: None,
                custom_data: Vec::new(),
            }),
            Self::Exit => NodeKind::Exit,
        }
    }
}

impl NodeKind {
    pub fn tag(&self) -> NodeKindTag {
        match self {
            Self::Trigger(_) => NodeKindTag::Trigger,
            Self::Action(_) => NodeKindTag::Action,
            Self::WaitForEvent(_) => NodeKindTag::WaitForEvent,
            Self::Delay(_) => NodeKindTag::Delay,
            Self::Condition(_) => NodeKindTag::Condition,
            Self::Webhook(_) => NodeKindTag::Webhook,
            Self::Exit => NodeKindTag::Exit,
        }
    }

    pub fn label(&self) -> &'static str {
        self.tag().label()
    }

    pub fn branches(&self) -> &'static [Branch] {
        self.tag().branches()
    }

    pub fn waits(&self) -> bool {
        self.tag().waits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_starts_as_itself_and_its_word_is_its_json_kind() {
        for &tag in NodeKindTag::ALL {
            let settings = tag.new_settings();
            assert_eq!(settings.tag(), tag);
            let json = serde_json::to_value(&settings).expect("serialises");
            assert_eq!(json["kind"], tag.as_str());
            assert!(!tag.label().is_empty() && !tag.icon().is_empty());
        }
        assert_eq!(
            NodeKindTag::WaitForEvent.branches(),
            [Branch::Event, Branch::Timeout]
        );
        assert!(NodeKindTag::Exit.branches().is_empty());
        assert!(NodeKindTag::Delay.waits() && !NodeKindTag::Webhook.waits());
    }
}
