//! A wait's settings: an event by name, or an activity (opened, clicked, …) of a message an
//! action node before it sent; and when to give up.

use leptos::prelude::*;

use super::{
    NodeForm,
    fields::{Field, SpanField, TextSetting},
};
use crate::journey::{Activity, NodeId, NodeKind, Span, TimeUnit, WaitTarget};

fn target(kind: &NodeKind) -> Option<&WaitTarget> {
    match kind {
        NodeKind::WaitForEvent(wait) => Some(&wait.until),
        _ => None,
    }
}

#[component]
pub(super) fn WaitSettings(form: NodeForm) -> impl IntoView {
    let for_activity =
        move || form.read(|kind| matches!(target(kind), Some(WaitTarget::MessageActivity { .. })));
    let actions = Memo::new(move |_| {
        form.state.editor.with(|editor| {
            let mut actions: Vec<NodeId> = editor
                .journey()
                .nodes()
                .filter(|node| matches!(node.kind, NodeKind::Action(_)))
                .map(|node| node.id.clone())
                .collect();
            actions.sort();
            actions
        })
    });
    view! {
        <Field label="Wait for" hint="">
            <select name="wait-target"
                on:change=move |event| {
                    let activity = event_target_value(&event) == "activity";
                    let first_action = actions.get_untracked().into_iter().next();
                    form.edit(|kind| if let NodeKind::WaitForEvent(wait) = kind {
                        wait.until = if activity {
                            WaitTarget::MessageActivity {
                                action: first_action.unwrap_or_else(|| NodeId::new("")),
                                activity: Activity::Opened,
                            }
                        } else {
                            WaitTarget::Event { event: String::new() }
                        };
                    });
                }
            >
                <option value="event" selected=move || !for_activity()>"an event"</option>
                <option value="activity" selected=for_activity>"activity on a message sent"</option>
            </select>
        </Field>
        {move || if for_activity() {
            view! { <ActivityFields form actions/> }.into_any()
        } else {
            view! {
                <TextSetting form label="Event name" hint="e.g. purchase" name="wait-event"
                    get=|kind| match target(kind) {
                        Some(WaitTarget::Event { event }) => event.clone(),
                        _ => String::new(),
                    }
                    set=|kind, value| if let NodeKind::WaitForEvent(wait) = kind {
                        wait.until = WaitTarget::Event { event: value };
                    }
                />
            }.into_any()
        }}
        <SpanField form label="Give up after" name="timeout"
            get=|kind| match kind {
                NodeKind::WaitForEvent(wait) => wait.timeout,
                _ => Span::new(0, TimeUnit::Minutes),
            }
            set=|kind, span| if let NodeKind::WaitForEvent(wait) = kind {
                wait.timeout = span;
            }
        />
    }
}

/// Which message, and which of its activities.
#[component]
fn ActivityFields(form: NodeForm, actions: Memo<Vec<NodeId>>) -> impl IntoView {
    let awaited = move || {
        form.read(|kind| match target(kind) {
            Some(WaitTarget::MessageActivity { action, activity }) => {
                Some((action.clone(), *activity))
            }
            _ => None,
        })
    };
    view! {
        <Field label="Message sent by" hint="an action node before this one">
            <select name="wait-action"
                on:change=move |event| {
                    let chosen = NodeId::new(event_target_value(&event));
                    form.edit(|kind| if let NodeKind::WaitForEvent(wait) = kind
                        && let WaitTarget::MessageActivity { action, .. } = &mut wait.until {
                        *action = chosen;
                    });
                }
            >
                {move || actions.get().into_iter().map(|action| {
                    let selected = awaited().is_some_and(|(awaited, _)| awaited == action);
                    view! { <option value=action.to_string() selected=selected>{action.to_string()}</option> }
                }).collect_view()}
            </select>
        </Field>
        <Field label="Activity" hint="">
            <select name="wait-activity"
                on:change=move |event| {
                    if let Ok(chosen) = event_target_value(&event).parse::<Activity>() {
                        form.edit(|kind| if let NodeKind::WaitForEvent(wait) = kind
                            && let WaitTarget::MessageActivity { activity, .. } = &mut wait.until {
                            *activity = chosen;
                        });
                    }
                }
            >
                {Activity::ALL.iter().map(|&activity| view! {
                    <option value=activity.as_str()
                        selected=move || awaited().is_some_and(|(_, awaited)| awaited == activity)>
                        {activity.as_str()}
                    </option>
                }).collect_view()}
            </select>
        </Field>
    }
}
