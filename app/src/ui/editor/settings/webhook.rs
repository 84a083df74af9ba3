//! A webhook node's settings: which webhook it sends to, and custom data of its own.

use leptos::{prelude::*, task::spawn_local};

use super::{NodeForm, fields::Field};
use crate::{
    api::{Scope, WebhookOut, WebhookPatch, client},
    ids::WebhookId,
    journey::{KeyValue, NodeKind},
    ui::{
        access::use_access, fields::KeyValueRows, pages::ErrorNotice, webhooks::health::state_text,
    },
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

/// How often the node panel reads its webhook's state again.
const STATE_READ_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// The webhook's state as the node panel says it: "Sending" while all is well, else what the
/// webhooks page says (since when it fails, is paused or is disabled, and why), and that a
/// disabled webhook holds its requests.
fn panel_state(webhook: &WebhookOut) -> String {
    if webhook.enabled && webhook.failing_since.is_none() && webhook.paused_until.is_none() {
        return "Sending".to_owned();
    }
    let text = state_text(webhook);
    let mut said: String = text
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .chain(text.chars().skip(1))
        .collect();
    if !webhook.enabled && !said.contains("held") {
        said.push_str(". Its requests are held.");
    }
    said
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
    // Read again every few seconds: a 410 or the failing period disables it while the panel
    // is open, and the panel says so without a reload.
    // One read at a time; the list is written only when the webhook changed, as a write
    // redraws whatever reads the list (the webhook picker, the canvas's problems).
    let reading = StoredValue::new(false);
    if let Ok(handle) = set_interval_with_handle(
        move || {
            if reading.get_value() {
                return;
            }
            reading.set_value(true);
            spawn_local(async move {
                if let Ok(fresh) = client::webhook(id).await {
                    // `try_`: the editor may have been left while the read was under way.
                    let changed = webhooks.try_with_untracked(|list| {
                        list.iter()
                            .any(|webhook| webhook.id == id && *webhook != fresh)
                    });
                    if changed == Some(true) {
                        webhooks.try_update(|list| {
                            if let Some(slot) = list.iter_mut().find(|webhook| webhook.id == id) {
                                *slot = fresh;
                            }
                        });
                    }
                }
                reading.set_value(false);
            });
        },
        STATE_READ_EVERY,
    ) {
        on_cleanup(move || handle.clear());
    }
    move || {
        current().map(|webhook| {
            let enable = !webhook.enabled;
            let state = panel_state(&webhook);
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

#[cfg(test)]
mod tests {
    use super::panel_state;
    use crate::{api::WebhookOut, ui::webhooks::health::tests::webhook};

    #[test]
    fn the_panel_says_since_when_and_that_requests_are_held_once() {
        assert_eq!(panel_state(&webhook()), "Sending");
        let gone = WebhookOut {
            enabled: false,
            disabled_reason: Some("the receiver answered 410 Gone".to_owned()),
            disabled_at: Some(1_795_451_700_000),
            ..webhook()
        };
        assert_eq!(
            panel_state(&gone),
            "Disabled since 2026-11-23 16:35 UTC: the receiver answered 410 Gone. Its requests \
             are held."
        );
        let failing = WebhookOut {
            enabled: false,
            disabled_reason: Some(
                "every request failed for 24 h; its requests are held until it is enabled again"
                    .to_owned(),
            ),
            disabled_at: Some(1_795_451_700_000),
            ..webhook()
        };
        assert_eq!(
            panel_state(&failing),
            "Disabled since 2026-11-23 16:35 UTC: every request failed for 24 h; its requests \
             are held until it is enabled again"
        );
        let paused = WebhookOut {
            paused_until: Some(1_795_451_707_000),
            ..webhook()
        };
        assert!(panel_state(&paused).starts_with("Enabled; paused until"));
    }
}
