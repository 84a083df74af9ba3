//! A condition's settings: whether all or any rules must hold, rules on the contact's
//! attributes, and rules on events the contact had.

use leptos::prelude::*;

use super::{
    NodeForm,
    fields::{Field, RuleRows},
};
use crate::journey::{Combine, Condition, ConditionRule, NodeKind, Rule};

fn condition(kind: &NodeKind) -> Option<&Condition> {
    match kind {
        NodeKind::Condition(condition) => Some(condition),
        _ => None,
    }
}

#[component]
pub(super) fn ConditionSettings(form: NodeForm) -> impl IntoView {
    let combine = move || form.read(|kind| condition(kind).map(|condition| condition.combine));
    let attribute_rules = Signal::derive(move || {
        form.read(|kind| {
            condition(kind)
                .into_iter()
                .flat_map(|condition| &condition.rules)
                .filter_map(|rule| match rule {
                    ConditionRule::Attribute(rule) => Some(rule.clone()),
                    ConditionRule::EventHappened { .. } => None,
                })
                .collect()
        })
    });
    view! {
        <Field label="Continue on yes when" hint="">
            <select name="combine"
                on:change=move |event| {
                    if let Ok(chosen) = event_target_value(&event).parse::<Combine>() {
                        form.edit(|kind| if let NodeKind::Condition(condition) = kind {
                            condition.combine = chosen;
                        });
                    }
                }
            >
                <option value="all" selected=move || combine() == Some(Combine::All)>"every rule holds"</option>
                <option value="any" selected=move || combine() == Some(Combine::Any)>"any rule holds"</option>
            </select>
        </Field>
        <RuleRows
            title="Attribute rules"
            hint="Fields: contact.<attribute>"
            rules=attribute_rules
            set_rules=Callback::new(move |rules: Vec<Rule>| {
                form.edit(|kind| if let NodeKind::Condition(condition) = kind {
                    condition.rules.retain(|rule| matches!(rule, ConditionRule::EventHappened { .. }));
                    condition.rules.extend(rules.into_iter().map(ConditionRule::Attribute));
                });
            })
        />
        <EventRules form/>
    }
}

/// "Had event …" rules, drawn by position like the other rows, so that typing keeps the
/// field's focus.
#[component]
fn EventRules(form: NodeForm) -> impl IntoView {
    let events = Memo::new(move |_| {
        form.read(|kind| {
            condition(kind)
                .into_iter()
                .flat_map(|condition| &condition.rules)
                .filter_map(|rule| match rule {
                    ConditionRule::EventHappened { event, .. } => Some(event.clone()),
                    ConditionRule::Attribute(_) => None,
                })
                .collect::<Vec<_>>()
        })
    });
    let rename = move |index: usize, name: String| {
        form.edit(|kind| {
            if let NodeKind::Condition(condition) = kind
                && let Some(ConditionRule::EventHappened { event, .. }) = condition
                    .rules
                    .iter_mut()
                    .filter(|rule| matches!(rule, ConditionRule::EventHappened { .. }))
                    .nth(index)
            {
                *event = name;
            }
        });
    };
    view! {
        <fieldset class="rules">
            <legend>"Event rules"</legend>
            {move || (0..events.with(Vec::len)).map(|index| view! {
                <div class="rule-row">
                    <span>"had event"</span>
                    <input type="text" aria-label="Event name"
                        prop:value=move || events.with(|events| events.get(index).cloned().unwrap_or_default())
                        on:input=move |input| rename(index, event_target_value(&input))
                    />
                </div>
            }).collect_view()}
            <button type="button" class="secondary"
                on:click=move |_| {
                    form.edit(|kind| if let NodeKind::Condition(condition) = kind {
                        condition.rules.push(ConditionRule::EventHappened { event: String::new(), within: None });
                    });
                }
            >"+ Add event rule"</button>
        </fieldset>
    }
}
