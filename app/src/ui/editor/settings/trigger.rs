//! A trigger's settings: the event that starts the journey and the rules it must meet.

use leptos::prelude::*;

use super::{
    NodeForm,
    fields::{RuleRows, TextSetting},
};
use crate::journey::{NodeKind, Rule};

#[component]
pub(super) fn TriggerSettings(form: NodeForm) -> impl IntoView {
    let rules = Signal::derive(move || {
        form.read(|kind| match kind {
            NodeKind::Trigger(trigger) => trigger.filter.clone(),
            _ => Vec::new(),
        })
    });
    view! {
        <TextSetting form label="Event that starts the journey" hint="e.g. add_to_cart" name="event"
            get=|kind| match kind {
                NodeKind::Trigger(trigger) => trigger.event.clone(),
                _ => String::new(),
            }
            set=|kind, value| if let NodeKind::Trigger(trigger) = kind {
                trigger.event = value;
            }
        />
        <RuleRows
            title="Only when"
            hint="Fields: contact.<attribute> or event.<property>"
            rules
            set_rules=Callback::new(move |rules: Vec<Rule>| {
                form.edit(|kind| if let NodeKind::Trigger(trigger) = kind {
                    trigger.filter = rules;
                });
            })
        />
    }
}
