//! The fields the kinds' settings forms are made of: a labelled field, a text setting, a
//! duration, rows of rules.

use leptos::prelude::*;
use serde_json::Value;

use super::NodeForm;
use crate::journey::{NodeKind, Operator, Rule, Span, TimeUnit};

#[component]
pub(super) fn Field(label: &'static str, hint: &'static str, children: Children) -> impl IntoView {
    view! {
        <label class="field">
            <span class="field-label">{label}</span>
            {children()}
            {(!hint.is_empty()).then(|| view! { <span class="field-hint">{hint}</span> })}
        </label>
    }
}

/// A text field of a node's settings, read by `get` and written by `set`; its edits merge
/// into one undo step until it loses focus.
#[component]
pub(super) fn TextSetting(
    form: NodeForm,
    label: &'static str,
    hint: &'static str,
    name: &'static str,
    get: fn(&NodeKind) -> String,
    set: fn(&mut NodeKind, String),
) -> impl IntoView {
    view! {
        <Field label hint>
            <input
                type="text"
                name=name
                prop:value=move || form.read(get)
                on:input=move |event| {
                    let value = event_target_value(&event);
                    form.edit(|kind| set(kind, value));
                }
                on:blur=move |_| form.seal()
            />
        </Field>
    }
}

/// A duration of a node's settings: a number and a unit.
#[component]
pub(super) fn SpanField(
    form: NodeForm,
    label: &'static str,
    name: &'static str,
    get: fn(&NodeKind) -> Span,
    set: fn(&mut NodeKind, Span),
) -> impl IntoView {
    let span = move || {
        form.kind
            .with(|kind| kind.as_ref().map_or(Span::new(0, TimeUnit::Minutes), get))
    };
    view! {
        <div class="field span-field">
            <span class="field-label">{label}</span>
            <input
                type="number"
                min="0"
                name=format!("{name}-value")
                aria-label=format!("{label}: number")
                prop:value=move || span().value.to_string()
                on:input=move |event| {
                    let value = event_target_value(&event).trim().parse::<u32>().unwrap_or(0);
                    form.edit(|kind| set(kind, Span::new(value, get(kind).unit)));
                }
                on:blur=move |_| form.seal()
            />
            <select
                name=format!("{name}-unit")
                aria-label=format!("{label}: unit")
                on:change=move |event| {
                    if let Ok(unit) = event_target_value(&event).parse::<TimeUnit>() {
                        form.edit(|kind| set(kind, Span::new(get(kind).value, unit)));
                    }
                }
            >
                {TimeUnit::ALL
                    .iter()
                    .map(|&unit| {
                        view! {
                            <option value=unit.as_str() selected=move || span().unit == unit>
                                {unit.as_str()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </div>
    }
    .into_any()
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

/// Rules as rows of field, operator and value, with add and remove. Rows are drawn by
/// position, so that typing into one keeps its focus.
#[component]
pub(super) fn RuleRows(
    title: &'static str,
    hint: &'static str,
    rules: Signal<Vec<Rule>>,
    set_rules: Callback<Vec<Rule>>,
) -> impl IntoView {
    let change = move |change: &dyn Fn(&mut Vec<Rule>)| {
        let mut all = rules.get_untracked();
        change(&mut all);
        set_rules.run(all);
    };
    let rows = move || {
        (0..rules.with(Vec::len))
            .map(|index| {
                view! { <RuleRow rules index change=Callback::new(move |edit: RuleEdit| {
                    change(&|all| edit.apply(all, index));
                })/> }
            })
            .collect_view()
    };
    view! {
        <fieldset class="rules">
            <legend>{title}</legend>
            {rows}
            <button type="button" class="secondary"
                on:click=move |_| change(&|all| all.push(Rule {
                    field: String::new(),
                    operator: Operator::Eq,
                    value: Value::String(String::new()),
                }))
            >"+ Add rule"</button>
            <span class="field-hint">{hint}</span>
        </fieldset>
    }
    .into_any()
}

/// What a rule row's fields change.
#[derive(Debug, Clone)]
enum RuleEdit {
    Field(String),
    Operator(Operator),
    Value(Value),
    Remove,
}

impl RuleEdit {
    fn apply(&self, rules: &mut Vec<Rule>, index: usize) {
        if index >= rules.len() {
            return;
        }
        match self {
            Self::Field(field) => rules[index].field.clone_from(field),
            Self::Operator(operator) => rules[index].operator = *operator,
            Self::Value(value) => rules[index].value = value.clone(),
            Self::Remove => {
                rules.remove(index);
            }
        }
    }
}

#[component]
fn RuleRow(rules: Signal<Vec<Rule>>, index: usize, change: Callback<RuleEdit>) -> impl IntoView {
    let read = move |read: fn(&Rule) -> String| {
        rules.with(|rules| rules.get(index).map(read).unwrap_or_default())
    };
    view! {
        <div class="rule-row">
            <input type="text" aria-label="Field" placeholder="contact.country"
                prop:value=move || read(|rule| rule.field.clone())
                on:input=move |event| change.run(RuleEdit::Field(event_target_value(&event)))
            />
            <select aria-label="Operator"
                on:change=move |event| {
                    if let Ok(operator) = event_target_value(&event).parse::<Operator>() {
                        change.run(RuleEdit::Operator(operator));
                    }
                }
            >
                {Operator::ALL.iter().map(|&operator| view! {
                    <option value=operator.as_str()
                        selected=move || read(|rule| rule.operator.as_str().to_owned()) == operator.as_str()>
                        {operator.as_str()}
                    </option>
                }).collect_view()}
            </select>
            <input type="text" aria-label="Value" placeholder="value"
                prop:value=move || read(|rule| value_text(&rule.value))
                on:input=move |event| {
                    change.run(RuleEdit::Value(typed_value(&event_target_value(&event))));
                }
            />
            <button type="button" class="icon-button" aria-label="Remove rule"
                on:click=move |_| change.run(RuleEdit::Remove)
            >"×"</button>
        </div>
    }
}
