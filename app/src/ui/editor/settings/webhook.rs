//! A webhook node's settings: which webhook it sends to, and custom data of its own.

use leptos::prelude::*;

use super::{NodeForm, fields::Field};
use crate::{
    api::{Scope, WebhookPatch, client},
    ids::WebhookId,
    journey::{KeyValue, NodeKind},
    ui::{access::use_access, fields::KeyValueRows, pages::ErrorNotice},
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
        {move || picked().map(|id| view! { <WebhookState form id/> })}
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

/// Whether the picked webhook sends, with the button that disables it (its requests are then
/// held) or enables it (what it held is sent): a broken receiver is contained from the node.
#[component]
fn WebhookState(form: NodeForm, id: WebhookId) -> impl IntoView {
    let access = use_access();
    let webhooks = form.state.webhooks;
    let current =
        move || webhooks.with(|list| list.iter().find(|webhook| webhook.id == id).cloned());
    let switch = Action::new_local(move |enable: &bool| {
        let patch = WebhookPatch {
            enabled: Some(*enable),
            ..WebhookPatch::default()
        };
        async move {
            let updated = client::update_webhook(id, &patch).await?;
            webhooks.update(|list| {
                if let Some(slot) = list.iter_mut().find(|webhook| webhook.id == id) {
                    *slot = updated;
                }
            });
            Ok::<(), client::ClientError>(())
        }
    });
    move || {
        current().map(|webhook| {
            let enable = !webhook.enabled;
            let state = if webhook.enabled {
                "Sending".to_owned()
            } else {
                format!(
                    "Disabled: {}. Its requests are held.",
                    webhook.disabled_reason.as_deref().unwrap_or("by an operator")
                )
            };
            view! {
                <p class="webhook-state" class:disabled=enable role="status">{state}</p>
                <button
                    type="button"
                    class="secondary"
                    hidden=move || !access.can(Scope::WebhooksWrite)
                    disabled=move || switch.pending().get()
                    on:click=move |_| {
                        switch.dispatch(enable);
                    }
                >
                    {if enable { "Enable webhook" } else { "Disable webhook" }}
                </button>
                {move || switch.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            }
        })
    }
}
