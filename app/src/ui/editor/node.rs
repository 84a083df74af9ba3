//! A node on the canvas: an HTML box at its journey position, with its ports and, on a live
//! journey, its counts. Everything it shows comes from the kind table and its settings.

use leptos::{ev, prelude::*};

use super::{EditorState, Selection, pointer::Pointer};
use crate::{
    api::{
        DeliveryCountsOut, DeliveryStatus, MessageCountsOut, NodeStatsOut, TemplateOut, WebhookOut,
    },
    editor::canvas::{NODE_HEIGHT, NODE_WIDTH, output_port},
    journey::{
        Action, Activity, Branch, Channel, NodeId, NodeKind, NodeKindTag, Operator, Position, Rule,
        WaitTarget,
    },
};

/// One line saying what the node does.
pub(super) fn summary(
    kind: &NodeKind,
    webhooks: &[WebhookOut],
    templates: &[TemplateOut],
) -> String {
    fn or_unset(text: &str) -> String {
        if text.trim().is_empty() {
            "not set".to_owned()
        } else {
            text.to_owned()
        }
    }
    match kind {
        NodeKind::Trigger(trigger) => {
            let mut text = format!("on {}", or_unset(&trigger.event));
            if let Some(first) = trigger.filter.first() {
                text.push_str(" · ");
                text.push_str(&rule_text(first));
                if trigger.filter.len() > 1 {
                    text.push_str(&format!(" +{}", trigger.filter.len() - 1));
                }
            }
            text
        }
        NodeKind::Action(Action {
            channel,
            template,
            message,
        }) => {
            let what = match template {
                Some(id) => templates
                    .iter()
                    .find(|candidate| candidate.id == *id)
                    .map_or_else(
                        || format!("template {id} (missing)"),
                        |template| template.name.clone(),
                    ),
                // Saved before templates were assets: the template's name.
                None if !message.trim().is_empty() => message.clone(),
                None => "no template picked".to_owned(),
            };
            format!("{} · {what}", channel.as_str())
        }
        NodeKind::WaitForEvent(wait) => {
            let what = match &wait.until {
                WaitTarget::Event { event } => or_unset(event),
                WaitTarget::MessageActivity { activity, .. } => activity.as_str().to_owned(),
            };
            format!("{what} ≤ {} {}", wait.timeout.value, wait.timeout.unit)
        }
        NodeKind::Delay(delay) => format!("{} {}", delay.duration.value, delay.duration.unit),
        NodeKind::Condition(condition) => match condition.rules.len() {
            1 => "1 rule".to_owned(),
            rules => format!("{rules} rules"),
        },
        NodeKind::Webhook(webhook) => match webhook.webhook {
            None => "no webhook picked".to_owned(),
            Some(id) => webhooks
                .iter()
                .find(|candidate| candidate.id == id)
                .map_or_else(
                    || format!("webhook {id} (missing)"),
                    |hook| hook.name.clone(),
                ),
        },
        NodeKind::Exit => "end of the journey".to_owned(),
    }
}

/// A rule as a marketer reads it: `cabin = business` for `event.cabin == "business"` (the
/// event is what a trigger's filter reads first; contact fields keep their prefix).
fn rule_text(rule: &Rule) -> String {
    let field = rule.field.strip_prefix("event.").unwrap_or(&rule.field);
    let value = match &rule.value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match rule.operator {
        Operator::Exists => format!("{field} exists"),
        Operator::Eq => format!("{field} = {value}"),
        Operator::Ne => format!("{field} ≠ {value}"),
        operator => format!("{field} {} {value}", operator.as_str()),
    }
}

/// Characters of a summary that fit on a node; longer ones end in "…" (shortened here rather
/// than by a CSS clip, which would cost the canvas a paint chunk per node).
const SUMMARY_CHARS: usize = 24;

fn fitted(text: String) -> String {
    if text.chars().count() <= SUMMARY_CHARS {
        return text;
    }
    let mut short: String = text.chars().take(SUMMARY_CHARS - 1).collect();
    short.push('…');
    short
}

fn px(value: f64) -> String {
    format!("{value:.1}px")
}

#[component]
pub(super) fn NodeView(state: EditorState, id: NodeId, pointer: Pointer) -> impl IntoView {
    let node = {
        let id = id.clone();
        Memo::new(move |_| {
            state
                .editor
                .with(|editor| editor.journey().node(&id).cloned())
        })
    };
    let position = {
        let id = id.clone();
        Memo::new(move |_| {
            let stored =
                node.with(|node| node.as_ref().map(|node| node.position).unwrap_or_default());
            state.drawn_position(&id, stored)
        })
    };
    let selected = {
        let id = id.clone();
        Memo::new(move |_| {
            state
                .selection
                .with(|selection| *selection == Selection::Node(id.clone()))
        })
    };
    let invalid = {
        let id = id.clone();
        Memo::new(move |_| {
            state.problems.with(|problems| {
                problems
                    .iter()
                    .any(|problem| problem.node.as_ref() == Some(&id))
            })
        })
    };
    let kind = Memo::new(move |_| node.with(|node| node.as_ref().map(|node| node.kind.clone())));
    let tag = Memo::new(move |_| {
        kind.with(|kind| kind.as_ref().map_or(NodeKindTag::Exit, NodeKind::tag))
    });
    let full_text = Memo::new(move |_| {
        kind.with(|kind| {
            kind.as_ref()
                .map(|kind| {
                    state.webhooks.with(|webhooks| {
                        state
                            .templates
                            .with(|templates| summary(kind, webhooks, templates))
                    })
                })
                .unwrap_or_default()
        })
    });
    let text = move || fitted(full_text.get());
    let channel = Memo::new(move |_| {
        kind.with(|kind| match kind {
            Some(NodeKind::Action(action)) => Some(action.channel),
            _ => None,
        })
    });
    let label = id.to_string();
    let (press_id, key_id) = (id.clone(), id.clone());
    view! {
        <div
            class=move || {
                let mut class = format!("node kind-{}", tag.get());
                if selected.get() { class.push_str(" selected"); }
                if invalid.get() { class.push_str(" invalid"); }
                class
            }
            data-node-id=label.clone()
            data-kind=move || tag.get().as_str()
            style=move || {
                let at = position.get();
                format!(
                    "left: {}; top: {}; width: {}; height: {}",
                    px(at.x),
                    px(at.y),
                    px(NODE_WIDTH),
                    px(NODE_HEIGHT),
                )
            }
            tabindex="0"
            role="button"
            aria-label=move || format!("{} node {}", tag.get().label(), label)
            aria-pressed=move || selected.get().to_string()
            on:pointerdown=move |event| pointer.press_node(press_id.clone(), event)
            on:keydown=move |event: ev::KeyboardEvent| {
                if event.key() == "Enter" {
                    state.selection.set(Selection::Node(key_id.clone()));
                }
            }
        >
            <div class="node-box">
                <span class="node-icon" aria-hidden="true">{move || tag.get().icon()}</span>
                <span class="node-kind">{move || tag.get().label()}</span>
                <span class="node-summary" title=move || full_text.get()>{text}</span>
            </div>
            <span class="port-in"></span>
            <div class="ports">
                <Ports state id=id.clone() tag pointer/>
            </div>
            <Badges state id channel/>
        </div>
    }
    .into_any()
}

/// Width of an output port's dot (`.port-dot` in the stylesheet).
const PORT_SIZE: f64 = 14.0;

/// The node's outputs, each a handle to drag a connection from, in a row along its bottom
/// edge. They sit in the row's flow, each moved to its place by its left margin: a positioned
/// element would cost the canvas a paint chunk of its own.
#[component]
fn Ports(
    state: EditorState,
    id: NodeId,
    tag: Memo<NodeKindTag>,
    pointer: Pointer,
) -> impl IntoView {
    move || {
        let tag = tag.get();
        let mut end_of_previous = 0.0;
        tag.branches()
            .iter()
            .map(|&branch| {
                let centre = output_port(Position::default(), tag, branch).x;
                let margin = centre - PORT_SIZE / 2.0 - end_of_previous;
                end_of_previous = centre + PORT_SIZE / 2.0;
                let press_id = id.clone();
                let took = {
                    let id = id.clone();
                    Memo::new(move |_| {
                        state.stats.with(|stats| {
                            stats.get(&id).map(|stats| {
                                stats
                                    .left_by
                                    .iter()
                                    .find(|count| count.branch == branch)
                                    .map_or(0, |count| count.contacts)
                            })
                        })
                    })
                };
                view! {
                    <span
                        class="port-out"
                        data-branch=branch.as_str()
                        style=format!("margin-left: {}", px(margin))
                        title=move || took.get().map(|contacts| took_title(branch, contacts))
                        on:pointerdown=move |event| pointer.press_port(press_id.clone(), branch, event)
                    >
                        <span class="port-dot"></span>
                        {move || took.get().map(|contacts| view! {
                            <span class="port-count">{contacts}</span>
                        })}
                        {(branch != Branch::Next)
                            .then(|| view! { <span class="port-label">{branch.as_str()}</span> })}
                    </span>
                }
            })
            .collect_view()
    }
}

fn took_title(branch: Branch, contacts: i64) -> String {
    let contacts = some_contacts(contacts);
    match branch {
        Branch::Next => format!("{contacts} went on from here"),
        branch => format!("{contacts} left by {branch}"),
    }
}

/// On a live journey: contacts that reached the node, wait at it now, ended there or failed
/// there (the last three when there are any); for webhook nodes, the requests by state (which
/// open the delivery log); for action nodes, the messages sent and opened.
#[component]
fn Badges(state: EditorState, id: NodeId, channel: Memo<Option<Channel>>) -> impl IntoView {
    let stats: Memo<Option<NodeStatsOut>> = {
        let id = id.clone();
        Memo::new(move |_| state.stats.with(|stats| stats.get(&id).cloned()))
    };
    // A node with failures opens on them, grouped by cause: what an operator wants first.
    let open_log = move |event: ev::PointerEvent| {
        event.stop_propagation();
        let failed = stats.with_untracked(|stats| {
            stats
                .as_ref()
                .and_then(|stats| stats.deliveries)
                .is_some_and(|counts| counts.failed > 0)
        });
        state
            .log_status
            .set(failed.then_some(DeliveryStatus::Failed));
        state.selection.set(Selection::Node(id.clone()));
        state.log_node.set(Some(id.clone()));
    };
    move || {
        stats.get().map(|stats| {
            let open_log = open_log.clone();
            let contacts = ContactCount::ALL
                .iter()
                .filter_map(|&count| {
                    let contacts = count.of(&stats);
                    (count == ContactCount::Reached || contacts > 0).then(|| {
                        view! {
                            <span class=format!("badge {}", count.class()) title=count.title(contacts)>
                                {format!("{} {contacts}", count.symbol())}
                            </span>
                        }
                    })
                })
                .collect_view();
            view! {
                <span class="contact-counts">{contacts}</span>
                {stats.deliveries.map(|counts| view! {
                    <span
                        class="badge deliveries"
                        role="button"
                        title=delivery_counts_title(&counts)
                        on:pointerdown=open_log
                    >
                        {delivery_counts_text(&counts)}
                    </span>
                })}
                {stats.messages.map(|counts| {
                    let channel = channel.get().unwrap_or(Channel::Email);
                    view! { <MessageBadges counts channel/> }
                })}
            }
        })
    }
}

/// The counts of contacts a node shows, in the order it shows them; the header's legend lists
/// the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ContactCount {
    Reached,
    Waiting,
    Exited,
    Failed,
}

impl ContactCount {
    pub const ALL: [Self; 4] = [Self::Reached, Self::Waiting, Self::Exited, Self::Failed];

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Reached => "◉",
            Self::Waiting => "◔",
            Self::Exited => "⇥",
            Self::Failed => "⚠",
        }
    }

    /// What the legend says of it.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Reached => "reached",
            Self::Waiting => "waiting now",
            Self::Exited => "ended here",
            Self::Failed => "failed here",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Self::Reached => "reached",
            Self::Waiting => "waiting",
            Self::Exited => "exited",
            Self::Failed => "failed",
        }
    }

    fn of(self, stats: &NodeStatsOut) -> i64 {
        match self {
            Self::Reached => stats.reached,
            Self::Waiting => stats.waiting,
            Self::Exited => stats.exited,
            Self::Failed => stats.failed,
        }
    }

    fn title(self, contacts: i64) -> String {
        let contacts = some_contacts(contacts);
        match self {
            Self::Reached => format!("{contacts} reached this node"),
            Self::Waiting => format!("{contacts} waiting at this node now"),
            Self::Exited => format!("{contacts} ended their run here"),
            Self::Failed => format!("{contacts} stopped here on an error"),
        }
    }
}

/// "1 contact", "2 contacts".
fn some_contacts(count: i64) -> String {
    match count {
        1 => "1 contact".to_owned(),
        many => format!("{many} contacts"),
    }
}

/// A webhook node's request counts; requests a disabled webhook holds count as pending, marked.
fn delivery_counts_text(counts: &DeliveryCountsOut) -> String {
    let held = if counts.held > 0 { " ⏸" } else { "" };
    format!(
        "✓ {}  ◷ {}{held}  ✗ {}",
        counts.accepted,
        counts.pending + counts.held,
        counts.failed
    )
}

fn delivery_counts_title(counts: &DeliveryCountsOut) -> String {
    let mut title = "Requests accepted, pending and failed: open the delivery log".to_owned();
    if counts.held > 0 {
        title.push_str(&format!(
            ". Webhook disabled: {} of the pending requests are held until it is enabled again",
            counts.held
        ));
    }
    title
}

/// An action node's messages: how many were sent, then each of the channel's activities and
/// the failures once there are some; every count in the tooltip.
#[component]
fn MessageBadges(counts: MessageCountsOut, channel: Channel) -> impl IntoView {
    let title = message_counts_title(&counts, channel);
    let seen = message_badges(&counts, channel)
        .into_iter()
        .map(|(class, text)| {
            view! { <span class=format!("badge messages {class}") title=title.clone()>{text}</span> }
        })
        .collect_view();
    view! {
        <span class="message-counts">
            <span class="badge messages sent" title=title.clone()>{format!("✉ {}", counts.sent)}</span>
            {seen}
        </span>
    }
}

/// How many messages had each activity of the channel, then any other activity a provider
/// reported, then failed and skipped, as (class, text), leaving out those none had.
fn message_badges(counts: &MessageCountsOut, channel: Channel) -> Vec<(&'static str, String)> {
    let own = channel.activities();
    own.iter()
        .chain(
            Activity::ALL
                .iter()
                .filter(|activity| !own.contains(activity)),
        )
        .filter(|activity| **activity != Activity::Failed)
        .map(|activity| (activity.as_str(), activity_count(counts, *activity)))
        .chain([("failed", counts.failed), ("skipped", counts.skipped)])
        .filter(|(_, count)| *count > 0)
        .map(|(class, count)| (class, format!("{class} {count}")))
        .collect()
}

fn activity_count(counts: &MessageCountsOut, activity: Activity) -> i64 {
    match activity {
        Activity::Delivered => counts.delivered,
        Activity::Opened => counts.opened,
        Activity::Clicked => counts.clicked,
        Activity::Bounced => counts.bounced,
        Activity::Failed => counts.failed,
    }
}

fn message_counts_title(counts: &MessageCountsOut, channel: Channel) -> String {
    let mut parts = vec![format!("sent {}", counts.sent)];
    for activity in channel.activities() {
        if *activity != Activity::Failed {
            parts.push(format!("{activity} {}", activity_count(counts, *activity)));
        }
    }
    parts.push(format!("failed {}", counts.failed));
    parts.push(format!("skipped {}", counts.skipped));
    parts.push(format!("queued {}", counts.queued));
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::Trigger;

    #[test]
    fn an_action_node_counts_its_channels_own_activities() {
        let counts = MessageCountsOut {
            queued: 1,
            sent: 9,
            failed: 2,
            skipped: 3,
            delivered: 8,
            opened: 4,
            clicked: 0,
            bounced: 1,
        };
        assert_eq!(
            message_badges(&counts, Channel::Email),
            [
                ("delivered", "delivered 8".to_owned()),
                ("opened", "opened 4".to_owned()),
                ("bounced", "bounced 1".to_owned()),
                ("failed", "failed 2".to_owned()),
                ("skipped", "skipped 3".to_owned()),
            ]
        );
        // An SMS's own activities first; what a provider reported beyond them still shows.
        assert_eq!(
            message_badges(&counts, Channel::Sms),
            [
                ("delivered", "delivered 8".to_owned()),
                ("opened", "opened 4".to_owned()),
                ("bounced", "bounced 1".to_owned()),
                ("failed", "failed 2".to_owned()),
                ("skipped", "skipped 3".to_owned()),
            ]
        );
        assert_eq!(
            message_counts_title(&counts, Channel::Sms),
            "sent 9 · delivered 8 · clicked 0 · failed 2 · skipped 3 · queued 1"
        );
    }

    fn trigger(filter: Vec<Rule>) -> NodeKind {
        NodeKind::Trigger(Trigger {
            event: "flight_search".to_owned(),
            filter,
        })
    }

    fn rule(field: &str, operator: Operator, value: serde_json::Value) -> Rule {
        Rule {
            field: field.to_owned(),
            operator,
            value,
        }
    }

    #[test]
    fn a_trigger_says_its_event_and_its_filter() {
        assert_eq!(summary(&trigger(Vec::new()), &[], &[]), "on flight_search");
        let business = rule("event.cabin", Operator::Eq, serde_json::json!("business"));
        assert_eq!(
            summary(&trigger(vec![business.clone()]), &[], &[]),
            "on flight_search · cabin = business"
        );
        let adults = rule("contact.age", Operator::Ge, serde_json::json!(18));
        assert_eq!(
            summary(&trigger(vec![business, adults]), &[], &[]),
            "on flight_search · cabin = business +1"
        );
    }

    #[test]
    fn rules_read_as_sentences() {
        assert_eq!(
            rule_text(&rule("contact.age", Operator::Ge, serde_json::json!(18))),
            "contact.age >= 18"
        );
        assert_eq!(
            rule_text(&rule(
                "event.coupon",
                Operator::Exists,
                serde_json::Value::Null
            )),
            "coupon exists"
        );
        assert_eq!(
            rule_text(&rule(
                "event.cabin",
                Operator::Ne,
                serde_json::json!("economy")
            )),
            "cabin ≠ economy"
        );
    }
}
