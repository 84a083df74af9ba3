//! The side panel: the settings of the selected node, with the fields its kind needs.

use leptos::{ev, prelude::*};
use serde_json::Value;

use super::{EditorState, Selection, canvas::kind_label, canvas::kind_name};
use crate::{
    editor::Editor,
    journey::{
        Activity, Channel, Combine, ConditionRule, KeyValue, NodeId, NodeKind, Operator, Rule,
        Span, TimeUnit, WaitTarget,
    },
    ui::fields::KeyValueRows,
};

const UNITS: [TimeUnit; 5] = [
    TimeUnit::Seconds,
    TimeUnit::Minutes,
    TimeUnit::Hours,
    TimeUnit::Days,
    TimeUnit::Weeks,
];

pub(super) fn unit_label(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Seconds => "seconds",
        TimeUnit::Minutes => "minutes",
        TimeUnit::Hours => "hours",
        TimeUnit::Days => "days",
        TimeUnit::Weeks => "weeks",
    }
}

fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "Email",
        Channel::Sms => "SMS",
        Channel::AppPush => "App push",
        Channel::WebPush => "Web push",
        Channel::Whatsapp => "WhatsApp",
        Channel::Rcs => "RCS",
    }
}

/// A typed value as JSON: a number when it reads as one, `true`/`false`, else text.
fn typed_value(text: &str) -> Value {
    let trimmed = text.trim();
    if let Ok(number) = trimmed.parse::<i64>() {
        return Value::from(number);
    }
    if let Ok(number) = trimmed.parse::<f64>()
        && number.is_finite()
    {
        return Value::from(number);
    }
    match trimmed {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(text.to_owned()),
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The selected node's settings, or how to start.
#[component]
pub(super) fn SidePanel(state: EditorState) -> impl IntoView {
    let selected = Memo::new(move |_| match state.selection.get() {
        Selection::Node(id) => state
            .editor
            .with(|editor| editor.journey().node(&id).is_some())
            .then_some(id),
        _ => None,
    });
    view! {
        <section class="node-settings" aria-label="Node settings">
            {move || match selected.get() {
                None => {
                    view! {
                        <h2>"Settings"</h2>
                        <p class="hint">
                            "Select a node to set it up. Connect nodes by dragging from a node's \
                             bottom port to another node."
                        </p>
                    }
                        .into_any()
                }
                Some(id) => view! { <NodeSettings state id/> }.into_any(),
            }}
        </section>
    }
    .into_any()
}

#[component]
fn NodeSettings(state: EditorState, id: NodeId) -> impl IntoView {
    let kind = {
        let id = id.clone();
        Memo::new(move |_| {
            state
                .editor
                .with(|editor| editor.journey().node(&id).map(|node| node.kind.clone()))
        })
    };
    // Only a change of kind (another node) rebuilds the form; settings changes update fields.
    let name = Memo::new(move |_| kind.with(|kind| kind.as_ref().map_or("exit", kind_name)));
    let edit = {
        let id = id.clone();
        move |change: &dyn Fn(&mut NodeKind)| {
            let Some(mut after) = kind.get_untracked() else {
                return;
            };
            change(&mut after);
            let _ = state.edit(|editor| editor.configure(&id, after));
        }
    };
    let edit = StoredValue::new_local(edit);
    let seal = move |_: ev::FocusEvent| state.edit(|editor| editor.seal());
    let read = move |read: &dyn Fn(&NodeKind) -> String| {
        kind.with(|kind| kind.as_ref().map(read).unwrap_or_default())
    };

    let form = move || {
        match name.get() {
            "trigger" => view! {
                <TextSetting label="Event that starts the journey" hint="e.g. add_to_cart" name="event"
                    value=Signal::derive(move || read(&|kind| match kind {
                        NodeKind::Trigger(trigger) => trigger.event.clone(),
                        _ => String::new(),
                    }))
                    set=Callback::new(move |value: String| {
                        edit.with_value(|edit| edit(&|kind| if let NodeKind::Trigger(trigger) = kind {
                            trigger.event = value.clone();
                        }));
                    })
                    seal
                />
                <RuleRows
                    state
                    title="Only when"
                    hint="Fields: contact.<attribute> or event.<property>"
                    rules=Signal::derive(move || kind.with(|kind| match kind {
                        Some(NodeKind::Trigger(trigger)) => trigger.filter.clone(),
                        _ => Vec::new(),
                    }))
                    set_rules=Callback::new(move |rules: Vec<Rule>| {
                        edit.with_value(|edit| edit(&|kind| if let NodeKind::Trigger(trigger) = kind {
                            trigger.filter = rules.clone();
                        }));
                    })
                />
            }
            .into_any(),
            "action" => view! {
                <Field label="Channel" hint="">
                    <select name="channel"
                        on:change=move |event| {
                            let value = event_target_value(&event);
                            let channel = Channel::ALL.iter().copied().find(|c| c.as_str() == value);
                            edit.with_value(|edit| edit(&|kind| if let (NodeKind::Action(action), Some(channel)) = (&mut *kind, channel) {
                                action.channel = channel;
                            }));
                        }
                    >
                        {Channel::ALL.iter().copied().map(|channel| {
                            let selected = move || read(&|kind| match kind {
                                NodeKind::Action(action) => action.channel.as_str().to_owned(),
                                _ => String::new(),
                            }) == channel.as_str();
                            view! {
                                <option value=channel.as_str() selected=selected>{channel_label(channel)}</option>
                            }
                        }).collect_view()}
                    </select>
                </Field>
                <TextSetting label="Message" hint="the template's name, e.g. cart-reminder" name="message"
                    value=Signal::derive(move || read(&|kind| match kind {
                        NodeKind::Action(action) => action.message.clone(),
                        _ => String::new(),
                    }))
                    set=Callback::new(move |value: String| {
                        edit.with_value(|edit| edit(&|kind| if let NodeKind::Action(action) = kind {
                            action.message = value.clone();
                        }));
                    })
                    seal
                />
            }
            .into_any(),
            "wait_for_event" => {
                let waits_for_activity = move || kind.with(|kind| matches!(
                    kind,
                    Some(NodeKind::WaitForEvent(wait)) if matches!(wait.until, WaitTarget::MessageActivity { .. })
                ));
                let actions = Memo::new(move |_| state.editor.with(|editor| {
                    let mut actions: Vec<NodeId> = editor
                        .journey()
                        .nodes()
                        .filter(|node| matches!(node.kind, NodeKind::Action(_)))
                        .map(|node| node.id.clone())
                        .collect();
                    actions.sort();
                    actions
                }));
                view! {
                    <Field label="Wait for" hint="">
                        <select name="wait-target"
                            on:change=move |event| {
                                let activity = event_target_value(&event) == "activity";
                                let first_action = actions.get_untracked().into_iter().next();
                                edit.with_value(|edit| edit(&|kind| if let NodeKind::WaitForEvent(wait) = kind {
                                    wait.until = if activity {
                                        WaitTarget::MessageActivity {
                                            action: first_action.clone().unwrap_or_else(|| NodeId::new("")),
                                            activity: Activity::Opened,
                                        }
                                    } else {
                                        WaitTarget::Event { event: String::new() }
                                    };
                                }));
                            }
                        >
                            <option value="event" selected=move || !waits_for_activity()>"an event"</option>
                            <option value="activity" selected=waits_for_activity>"activity on a message sent"</option>
                        </select>
                    </Field>
                    {move || if waits_for_activity() {
                        view! {
                            <Field label="Message sent by" hint="an action node before this one">
                                <select name="wait-action"
                                    on:change=move |event| {
                                        let value = NodeId::new(event_target_value(&event));
                                        edit.with_value(|edit| edit(&|kind| if let NodeKind::WaitForEvent(wait) = kind
                                            && let WaitTarget::MessageActivity { action, .. } = &mut wait.until {
                                            *action = value.clone();
                                        }));
                                    }
                                >
                                    {move || actions.get().into_iter().map(|action| {
                                        let current = read(&|kind| match kind {
                                            NodeKind::WaitForEvent(wait) => match &wait.until {
                                                WaitTarget::MessageActivity { action, .. } => action.to_string(),
                                                WaitTarget::Event { .. } => String::new(),
                                            },
                                            _ => String::new(),
                                        });
                                        let selected = current == action.as_str();
                                        view! { <option value=action.to_string() selected=selected>{action.to_string()}</option> }
                                    }).collect_view()}
                                </select>
                            </Field>
                            <Field label="Activity" hint="">
                                <select name="wait-activity"
                                    on:change=move |event| {
                                        let value = event_target_value(&event);
                                        let chosen = Activity::ALL.iter().copied().find(|a| a.as_str() == value);
                                        edit.with_value(|edit| edit(&|kind| if let NodeKind::WaitForEvent(wait) = kind
                                            && let WaitTarget::MessageActivity { activity, .. } = &mut wait.until
                                            && let Some(chosen) = chosen {
                                            *activity = chosen;
                                        }));
                                    }
                                >
                                    {Activity::ALL.iter().copied().map(|activity| {
                                        let selected = move || read(&|kind| match kind {
                                            NodeKind::WaitForEvent(wait) => match &wait.until {
                                                WaitTarget::MessageActivity { activity, .. } => activity.as_str().to_owned(),
                                                WaitTarget::Event { .. } => String::new(),
                                            },
                                            _ => String::new(),
                                        }) == activity.as_str();
                                        view! { <option value=activity.as_str() selected=selected>{activity.as_str()}</option> }
                                    }).collect_view()}
                                </select>
                            </Field>
                        }.into_any()
                    } else {
                        view! {
                            <TextSetting label="Event name" hint="e.g. purchase" name="wait-event"
                                value=Signal::derive(move || read(&|kind| match kind {
                                    NodeKind::WaitForEvent(wait) => match &wait.until {
                                        WaitTarget::Event { event } => event.clone(),
                                        WaitTarget::MessageActivity { .. } => String::new(),
                                    },
                                    _ => String::new(),
                                }))
                                set=Callback::new(move |value: String| {
                                    edit.with_value(|edit| edit(&|kind| if let NodeKind::WaitForEvent(wait) = kind {
                                        wait.until = WaitTarget::Event { event: value.clone() };
                                    }));
                                })
                                seal
                            />
                        }.into_any()
                    }}
                    <SpanField
                        label="Give up after"
                        name="timeout"
                        span=Signal::derive(move || kind.with(|kind| match kind {
                            Some(NodeKind::WaitForEvent(wait)) => wait.timeout,
                            _ => Span::new(0, TimeUnit::Minutes),
                        }))
                        set_span=Callback::new(move |span: Span| {
                            edit.with_value(|edit| edit(&|kind| if let NodeKind::WaitForEvent(wait) = kind {
                                wait.timeout = span;
                            }));
                        })
                        seal
                    />
                }
                .into_any()
            }
            "delay" => view! {
                <SpanField
                    label="Wait for"
                    name="duration"
                    span=Signal::derive(move || kind.with(|kind| match kind {
                        Some(NodeKind::Delay(delay)) => delay.duration,
                        _ => Span::new(0, TimeUnit::Minutes),
                    }))
                    set_span=Callback::new(move |span: Span| {
                        edit.with_value(|edit| edit(&|kind| if let NodeKind::Delay(delay) = kind {
                            delay.duration = span;
                        }));
                    })
                    seal
                />
            }
            .into_any(),
            "condition" => view! {
                <ConditionForm state kind edit/>
            }
            .into_any(),
            "webhook" => view! {
                <WebhookForm state kind edit/>
            }
            .into_any(),
            _ => view! { <p class="hint">"Contacts who reach an exit leave the journey."</p> }.into_any(),
        }
    };
    let remove = {
        let id = id.clone();
        move |_| {
            state.selection.set(Selection::Node(id.clone()));
            state.remove_selected();
        }
    };
    view! {
        <h2>{move || kind_label(name.get())} " " <span class="node-id">{id.to_string()}</span></h2>
        <form class="settings-form" on:submit=|event| event.prevent_default()>{form}</form>
        <Connections state id=id.clone()/>
        <button type="button" class="danger" on:click=remove>"Delete node"</button>
    }
    .into_any()
}

/// Where each output of the node leads, as a choice per output: the keyboard's way to
/// connect and disconnect (the mouse can also drag from the ports on the canvas).
#[component]
fn Connections(state: EditorState, id: NodeId) -> impl IntoView {
    let outputs = {
        let id = id.clone();
        Memo::new(move |_| {
            state.editor.with(|editor| {
                let journey = editor.journey();
                let Some(node) = journey.node(&id) else {
                    return Vec::new();
                };
                node.kind
                    .branches()
                    .iter()
                    .map(|&branch| {
                        let target = journey.next(&id, branch).map(|target| target.id.clone());
                        (branch, target)
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    let others = {
        let id = id.clone();
        Memo::new(move |_| {
            state.editor.with(|editor| {
                let mut others: Vec<(NodeId, &'static str)> = editor
                    .journey()
                    .nodes()
                    .filter(|node| node.id != id)
                    .map(|node| (node.id.clone(), kind_label(kind_name(&node.kind))))
                    .collect();
                others.sort();
                others
            })
        })
    };
    move || {
        let rows = outputs.get();
        if rows.is_empty() {
            return None;
        }
        let id = id.clone();
        Some(view! {
            <fieldset class="rules connections">
                <legend>"Connections"</legend>
                {rows.into_iter().map(|(branch, target)| {
                    let id = id.clone();
                    let current = target.as_ref().map(ToString::to_string).unwrap_or_default();
                    view! {
                        <label class="field">
                            <span class="field-label">{format!("{} →", branch.as_str())}</span>
                            <select
                                name=format!("connect-{}", branch.as_str())
                                aria-label=format!("Output {} leads to", branch.as_str())
                                on:change=move |event| {
                                    let chosen = event_target_value(&event);
                                    let _ = if chosen.is_empty() {
                                        state.edit(|editor| editor.disconnect(&id, branch))
                                    } else {
                                        state.edit(|editor| editor.connect(&id, branch, &NodeId::new(chosen)))
                                    };
                                }
                            >
                                <option value="" selected=current.is_empty()>"— nowhere —"</option>
                                {others.get().into_iter().map(|(other, label)| {
                                    let selected = other.as_str() == current;
                                    view! {
                                        <option value=other.to_string() selected=selected>
                                            {format!("{other} ({label})")}
                                        </option>
                                    }
                                }).collect_view()}
                            </select>
                        </label>
                    }
                }).collect_view()}
            </fieldset>
        }.into_any())
    }
}

#[component]
fn Field(label: &'static str, hint: &'static str, children: Children) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            {children()}
            {(!hint.is_empty()).then(|| view! { <span class="field-hint">{hint}</span> })}
        </label>
    }
}

/// A text field of a node's settings; its edits merge into one undo step until it loses focus.
#[component]
fn TextSetting<F>(
    label: &'static str,
    hint: &'static str,
    name: &'static str,
    value: Signal<String>,
    set: Callback<String>,
    seal: F,
) -> impl IntoView
where
    F: Fn(ev::FocusEvent) + Copy + Send + Sync + 'static,
{
    view! {
        <Field label hint>
            <input
                type="text"
                name=name
                prop:value=move || value.get()
                on:input=move |event| set.run(event_target_value(&event))
                on:blur=seal
            />
        </Field>
    }
}

#[component]
fn SpanField<F>(
    label: &'static str,
    name: &'static str,
    span: Signal<Span>,
    set_span: Callback<Span>,
    seal: F,
) -> impl IntoView
where
    F: Fn(ev::FocusEvent) + Copy + Send + Sync + 'static,
{
    view! {
        <div class="field span-field">
            <span class="field-label">{label}</span>
            <input
                type="number"
                min="0"
                name=format!("{name}-value")
                aria-label=format!("{label}: number")
                prop:value=move || span.get().value.to_string()
                on:input=move |event| {
                    let value = event_target_value(&event).trim().parse::<u32>().unwrap_or(0);
                    set_span.run(Span::new(value, span.get_untracked().unit));
                }
                on:blur=seal
            />
            <select
                name=format!("{name}-unit")
                aria-label=format!("{label}: unit")
                on:change=move |event| {
                    let value = event_target_value(&event);
                    if let Some(unit) = UNITS.into_iter().find(|unit| unit_label(*unit) == value) {
                        set_span.run(Span::new(span.get_untracked().value, unit));
                    }
                }
            >
                {UNITS
                    .into_iter()
                    .map(|unit| {
                        view! {
                            <option value=unit_label(unit) selected=move || span.get().unit == unit>
                                {unit_label(unit)}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </div>
    }
    .into_any()
}

/// Rules as rows of field, operator and value, with add and remove.
#[component]
fn RuleRows(
    state: EditorState,
    title: &'static str,
    hint: &'static str,
    rules: Signal<Vec<Rule>>,
    set_rules: Callback<Vec<Rule>>,
) -> impl IntoView {
    let _ = state;
    let change = move |index: usize, change: &dyn Fn(&mut Rule)| {
        let mut all = rules.get_untracked();
        if let Some(rule) = all.get_mut(index) {
            change(rule);
        }
        set_rules.run(all);
    };
    let rows = move || {
        (0..rules.with(Vec::len))
            .map(|index| {
                let read = move |read: &dyn Fn(&Rule) -> String| {
                    rules.with(|rules| rules.get(index).map(read).unwrap_or_default())
                };
                view! {
                    <div class="rule-row">
                        <input type="text" aria-label="Field" placeholder="contact.country"
                            prop:value=move || read(&|rule| rule.field.clone())
                            on:input=move |event| {
                                let value = event_target_value(&event);
                                change(index, &|rule| rule.field = value.clone());
                            }
                        />
                        <select aria-label="Operator"
                            on:change=move |event| {
                                let value = event_target_value(&event);
                                if let Some(operator) = Operator::ALL.iter().copied().find(|op| op.as_str() == value) {
                                    change(index, &|rule| rule.operator = operator);
                                }
                            }
                        >
                            {Operator::ALL.iter().copied().map(|operator| view! {
                                <option value=operator.as_str()
                                    selected=move || read(&|rule| rule.operator.as_str().to_owned()) == operator.as_str()>
                                    {operator.as_str()}
                                </option>
                            }).collect_view()}
                        </select>
                        <input type="text" aria-label="Value" placeholder="value"
                            prop:value=move || read(&|rule| value_text(&rule.value))
                            on:input=move |event| {
                                let value = typed_value(&event_target_value(&event));
                                change(index, &|rule| rule.value = value.clone());
                            }
                        />
                        <button type="button" class="icon-button" aria-label="Remove rule"
                            on:click=move |_| {
                                let mut all = rules.get_untracked();
                                if index < all.len() {
                                    all.remove(index);
                                }
                                set_rules.run(all);
                            }
                        >"×"</button>
                    </div>
                }
            })
            .collect_view()
    };
    view! {
        <fieldset class="rules">
            <legend>{title}</legend>
            {rows}
            <button type="button" class="secondary"
                on:click=move |_| {
                    let mut all = rules.get_untracked();
                    all.push(Rule {
                        field: String::new(),
                        operator: Operator::Eq,
                        value: Value::String(String::new()),
                    });
                    set_rules.run(all);
                }
            >"+ Add rule"</button>
            <span class="field-hint">{hint}</span>
        </fieldset>
    }
    .into_any()
}

#[component]
fn ConditionForm<E>(
    state: EditorState,
    kind: Memo<Option<NodeKind>>,
    edit: StoredValue<E, LocalStorage>,
) -> impl IntoView
where
    E: Fn(&dyn Fn(&mut NodeKind)) + 'static,
{
    let combine_is = move |wanted: Combine| {
        kind.with(|kind| matches!(kind, Some(NodeKind::Condition(c)) if c.combine == wanted))
    };
    let attribute_rules = Signal::derive(move || {
        kind.with(|kind| match kind {
            Some(NodeKind::Condition(condition)) => condition
                .rules
                .iter()
                .filter_map(|rule| match rule {
                    ConditionRule::Attribute(rule) => Some(rule.clone()),
                    ConditionRule::EventHappened { .. } => None,
                })
                .collect(),
            _ => Vec::new(),
        })
    });
    let event_rules = Memo::new(move |_| {
        kind.with(|kind| match kind {
            Some(NodeKind::Condition(condition)) => condition
                .rules
                .iter()
                .filter_map(|rule| match rule {
                    ConditionRule::EventHappened { event, .. } => Some(event.clone()),
                    ConditionRule::Attribute(_) => None,
                })
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });
    view! {
        <Field label="Continue on yes when" hint="">
            <select name="combine"
                on:change=move |event| {
                    let any = event_target_value(&event) == "any";
                    edit.with_value(|edit| edit(&|kind| if let NodeKind::Condition(condition) = kind {
                        condition.combine = if any { Combine::Any } else { Combine::All };
                    }));
                }
            >
                <option value="all" selected=move || combine_is(Combine::All)>"every rule holds"</option>
                <option value="any" selected=move || combine_is(Combine::Any)>"any rule holds"</option>
            </select>
        </Field>
        <RuleRows
            state
            title="Attribute rules"
            hint="Fields: contact.<attribute>"
            rules=attribute_rules
            set_rules=Callback::new(move |rules: Vec<Rule>| {
                edit.with_value(|edit| edit(&|kind| if let NodeKind::Condition(condition) = kind {
                    condition.rules.retain(|rule| matches!(rule, ConditionRule::EventHappened { .. }));
                    condition.rules.extend(rules.iter().cloned().map(ConditionRule::Attribute));
                }));
            })
        />
        <fieldset class="rules">
            <legend>"Event rules"</legend>
            // Drawn by position, like the other rows, so that typing keeps the field's focus.
            {move || (0..event_rules.with(Vec::len)).map(|index| view! {
                <div class="rule-row">
                    <span>"had event"</span>
                    <input type="text" aria-label="Event name"
                        prop:value=move || event_rules.with(|events| events.get(index).cloned().unwrap_or_default())
                        on:input=move |input| {
                            let value = event_target_value(&input);
                            edit.with_value(|edit| edit(&|kind| if let NodeKind::Condition(condition) = kind
                                && let Some(ConditionRule::EventHappened { event, .. }) = condition
                                    .rules
                                    .iter_mut()
                                    .filter(|rule| matches!(rule, ConditionRule::EventHappened { .. }))
                                    .nth(index) {
                                *event = value.clone();
                            }));
                        }
                    />
                </div>
            }).collect_view()}
            <button type="button" class="secondary"
                on:click=move |_| {
                    edit.with_value(|edit| edit(&|kind| if let NodeKind::Condition(condition) = kind {
                        condition.rules.push(ConditionRule::EventHappened { event: String::new(), within: None });
                    }));
                }
            >"+ Add event rule"</button>
        </fieldset>
    }
    .into_any()
}

#[component]
fn WebhookForm<E>(
    state: EditorState,
    kind: Memo<Option<NodeKind>>,
    edit: StoredValue<E, LocalStorage>,
) -> impl IntoView
where
    E: Fn(&dyn Fn(&mut NodeKind)) + 'static,
{
    let picked = move || {
        kind.with(|kind| match kind {
            Some(NodeKind::Webhook(webhook)) => webhook.webhook,
            _ => None,
        })
    };
    let pairs = Signal::derive(move || {
        kind.with(|kind| match kind {
            Some(NodeKind::Webhook(webhook)) => webhook.custom_data.clone(),
            _ => Vec::new(),
        })
    });
    view! {
        <Field label="Send to webhook" hint="">
            <select name="webhook"
                on:change=move |event| {
                    let value = event_target_value(&event);
                    edit.with_value(|edit| edit(&|kind| if let NodeKind::Webhook(webhook) = kind {
                        webhook.webhook = value.parse().ok();
                    }));
                }
            >
                <option value="" selected=move || picked().is_none()>"Pick a webhook…"</option>
                {move || state.webhooks.get().into_iter().map(|webhook| {
                    let selected = picked() == Some(webhook.id);
                    view! { <option value=webhook.id.to_string() selected=selected>{webhook.name}</option> }
                }).collect_view()}
            </select>
        </Field>
        <p class="field-hint">
            <a href="/webhooks" target="_blank">"Manage and test webhooks"</a>
        </p>
        <KeyValueRows
            legend="Custom data for this node"
            name="field"
            rows=pairs
            set_rows=Callback::new(move |rows: Vec<KeyValue>| {
                edit.with_value(|edit| edit(&|kind| if let NodeKind::Webhook(webhook) = kind {
                    webhook.custom_data = rows.clone();
                }));
            })
            key_placeholder="key"
            value_placeholder="{{contact.email}}"
            hint="Values may use placeholders such as {{contact.first_name | default: \"there\"}}."
            on_blur=Callback::new(move |()| state.edit(Editor::seal))
        />
    }
    .into_any()
}
