//! A webhook node's settings: which webhook it sends to, and custom data of its own.

use leptos::prelude::*;

use super::{NodeForm, fields::Field};
use crate::{
    journey::{KeyValue, NodeKind},
    ui::fields::KeyValueRows,
};

#[component]
pub(super) fn WebhookSettings(form: NodeForm) -> impl IntoView {
    let picked = move || {
        form.read(|kind| match kind {
            NodeKind::Webhook(webhook) => webhook.webhook,
            _ => None,
        })
    };
    let pairs = Signal::derive(move || {
        form.read(|kind| match kind {
            NodeKind::Webhook(webhook) => webhook.custom_data.clone(),
            _ => Vec::new(),
        })
    });
    view! {
        <Field label="Send to webhook" hint="">
            <select name="webhook"
                on:change=move |event| {
                    let chosen = event_target_value(&event).parse().ok();
                    form.edit(|kind| if let NodeKind::Webhook(webhook) = kind {
                        webhook.webhook = chosen;
                    });
                }
            >
                <option value="" selected=move || picked().is_none()>"Pick a webhook…"</option>
                {move || form.state.webhooks.get().into_iter().map(|webhook| {
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
                form.edit(|kind| if let NodeKind::Webhook(webhook) = kind {
                    webhook.custom_data = rows;
                });
            })
            key_placeholder="key"
            value_placeholder="{{contact.email}}"
            hint="Values may use placeholders such as {{contact.first_name | default: \"there\"}}."
            on_blur=Callback::new(move |()| form.seal())
        />
    }
}
