//! Webhooks: the list with a Test button per webhook, and a form with every setting of the
//! webhook asset, a placeholder picker, "Preview request" and "Test".

use leptos::prelude::*;
use leptos_meta::Title;

mod form;
pub(crate) mod health;

use form::WebhookForm;
use health::{HealthLine, state_text};

use super::{
    access::use_access,
    fields::NumberField,
    pages::{DataTable, LoadedList, PageHeader, utc_seconds},
};
use crate::{
    api::{
        RequestPreviewOut, Scope, SigningSecretOut, WebhookOut, WebhookPatch, WebhookTestOut,
        WebhooksHealthOut, client,
    },
    ids::WebhookId,
};

/// Which webhook the form edits.
#[derive(Debug, Clone, PartialEq)]
enum Editing {
    Closed,
    New,
    Existing(Box<WebhookOut>),
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let webhooks = LocalResource::new(client::list_webhooks);
    // The health lines come apart from the list: a caller without deliveries:read still sees
    // the webhooks, only without them.
    let health = LocalResource::new(move || {
        webhooks.track();
        client::webhooks_health()
    });
    let editing = RwSignal::new(Editing::Closed);
    let may_write = use_access().can_once_hydrated(Scope::WebhooksWrite);
    view! {
        <Title text="Webhooks"/>
        <PageHeader title="Webhooks"/>
        {move || {
            let unsent = health.get().and_then(Result::ok).is_some_and(|health| !health.alert_emails_sent);
            unsent.then(|| view! {
                <p class="notice alerts-off" role="note">
                    "Alert emails are not sent: no server process that sends them has \
                     --smtp-url. Failures still show here and in each journey's delivery log."
                </p>
            })
        }}
        <Show when=move || may_write.get()>
            <p>
                <button type="button" on:click=move |_| editing.set(Editing::New)>"New webhook"</button>
            </p>
        </Show>
        {move || match editing.get() {
            Editing::Closed => None,
            Editing::New => Some(view! { <WebhookForm initial=None editing webhooks/> }.into_any()),
            Editing::Existing(webhook) => {
                Some(view! { <WebhookForm initial=Some(*webhook) editing webhooks/> }.into_any())
            }
        }}
        <LoadedList
            list=webhooks
            loading="Loading webhooks…"
            empty="No webhooks yet. Add one, then test it with sample data."
            show=move |list| view! { <WebhookTable webhooks=list editing reload=webhooks health/> }
        />
    }
}

type WebhookList = LocalResource<Result<Vec<WebhookOut>, client::ClientError>>;
type HealthLines = LocalResource<Result<WebhooksHealthOut, client::ClientError>>;

#[component]
fn WebhookTable(
    webhooks: Vec<WebhookOut>,
    editing: RwSignal<Editing>,
    reload: WebhookList,
    health: HealthLines,
) -> impl IntoView {
    let rows = webhooks
        .into_iter()
        .map(|webhook| view! { <WebhookRow webhook editing reload health/> })
        .collect_view();
    view! {
        <DataTable columns=&["Name", "URL", "Format", "State and last 24 hours", "Test"]>
            {rows}
        </DataTable>
    }
}

/// One webhook with its Edit, Disable (or Enable) and Test buttons.
#[component]
fn WebhookRow(
    webhook: WebhookOut,
    editing: RwSignal<Editing>,
    reload: WebhookList,
    health: HealthLines,
) -> impl IntoView {
    let access = use_access();
    let id = webhook.id;
    let test = Action::new_local(move |_: &()| async move { client::test_webhook(id).await });
    let enable = !webhook.enabled;
    let switch = Action::new_local(move |_: &()| async move {
        let patch = WebhookPatch {
            enabled: Some(enable),
            ..WebhookPatch::default()
        };
        let switched = client::update_webhook(id, &patch).await;
        if switched.is_ok() {
            reload.refetch();
        }
        switched
    });
    let state = state_text(&webhook);
    let health_line = move || {
        let Some(Ok(all)) = health.get() else {
            return None;
        };
        let line = all.webhooks.into_iter().find(|line| line.id == id)?;
        Some(view! { <HealthLine line hour_ms=all.hour_ms since=all.since/> })
    };
    let name = webhook.name.clone();
    let switch_name = webhook.name.clone();
    let secret_name = webhook.name.clone();
    let secret_open = RwSignal::new(false);
    let edited = webhook.clone();
    view! {
        <tr>
            <td class="journey-name">{webhook.name}</td>
            <td class="url">{url_with_breaks(&webhook.url)}</td>
            <td>{webhook.body_format.as_str()}</td>
            <td class="health">
                <span class="state">{state}</span>
                {health_line}
            </td>
            <td class="test-cell">
                <div class="row-buttons">
                    <button
                        type="button"
                        class="secondary"
                        hidden=move || !access.can(Scope::WebhooksWrite)
                        aria-label=format!("Edit {name}")
                        on:click=move |_| editing.set(Editing::Existing(Box::new(edited.clone())))
                    >
                        "Edit"
                    </button>
                    " "
                    <button
                        type="button"
                        class="secondary"
                        hidden=move || !access.can(Scope::WebhooksWrite)
                        aria-label=format!("{} {switch_name}", if enable { "Enable" } else { "Disable" })
                        title=if enable {
                            "Send what it holds, oldest first, and new requests again"
                        } else {
                            "Hold its requests (not sent, not failed) until it is enabled again"
                        }
                        disabled=move || switch.pending().get()
                        on:click=move |_| {
                            switch.dispatch(());
                        }
                    >
                        {if enable { "Enable" } else { "Disable" }}
                    </button>
                    " "
                    <button
                        type="button"
                        class="secondary"
                        hidden=move || !access.can(Scope::WebhooksWrite)
                        aria-label=format!("Signing secret of {secret_name}")
                        aria-expanded=move || secret_open.get().to_string()
                        on:click=move |_| secret_open.update(|open| *open = !*open)
                    >
                        "Signing secret"
                    </button>
                    " "
                    <button
                        type="button"
                        hidden=move || !access.can(Scope::WebhooksWrite)
                        aria-label=format!("Test {name}")
                        disabled=move || test.pending().get()
                        on:click=move |_| {
                            test.dispatch(());
                        }
                    >
                        "Test"
                    </button>
                </div>
                {move || switch.value().get().and_then(Result::err).map(|error| view! {
                    <span class="test-result failed" role="alert">{format!("✗ {error}")}</span>
                })}
                {move || test.value().get().map(|result| view! { <TestVerdict result/> })}
                <Show when=move || secret_open.get()>
                    <SigningSecret id/>
                </Show>
            </td>
        </tr>
    }
}

/// The webhook's signing secret, read when opened (the read is audited), and a rotation with
/// an overlap during which the old secret signs too, so receivers can switch without
/// refusing requests.
#[component]
fn SigningSecret(id: WebhookId) -> impl IntoView {
    let secret = RwSignal::new(None::<Result<SigningSecretOut, client::ClientError>>);
    leptos::task::spawn_local(async move {
        secret.set(Some(client::webhook_signing_secret(id).await));
    });
    let overlap_hours = RwSignal::new(24_u32);
    let rotate = Action::new_local(move |_: &()| async move {
        let rotated = client::rotate_webhook_secret(id, overlap_hours.get_untracked()).await;
        if rotated.is_ok() {
            secret.set(Some(rotated.clone()));
        }
        rotated.map(|_| ())
    });
    let shown = move || match secret.get() {
        None => view! { <p class="field-hint">"Reading the secret…"</p> }.into_any(),
        Some(Err(error)) => {
            view! { <p class="test-result failed" role="alert">{format!("✗ {error}")}</p> }
                .into_any()
        }
        Some(Ok(out)) => {
            let previous = out.previous_secret.map(|previous| {
                let until = out.previous_expires_at.map(utc_seconds).unwrap_or_default();
                view! {
                    <label class="field">
                        <span class="field-label">{format!("Previous secret (signs too until {until} UTC)")}</span>
                        <input type="text" readonly class="secret-value" prop:value=previous/>
                    </label>
                }
            });
            view! {
                <label class="field">
                    <span class="field-label">"Secret"</span>
                    <input type="text" readonly class="secret-value" prop:value=out.secret/>
                </label>
                {previous}
            }
            .into_any()
        }
    };
    view! {
        <section class="signing-secret" aria-label="Signing secret">
            <p class="field-hint">
                "Receivers verify the webhook-signature header with this secret (Standard Webhooks). \
                 Anyone holding it can forge requests they trust."
            </p>
            {shown}
            <div class="row-buttons">
                <NumberField label="Old secret signs too for (hours)" value=overlap_hours min=0 max=168/>
                <button type="button" class="secondary" disabled=move || rotate.pending().get()
                    on:click=move |_| {
                        rotate.dispatch(());
                    }>
                    "Rotate secret"
                </button>
            </div>
            {move || rotate.value().get().and_then(Result::err).map(|error| view! {
                <p class="test-result failed" role="alert">{format!("✗ {error}")}</p>
            })}
        </section>
    }
}

/// The URL with a line-break opportunity after each `/`, `?` and `&`, so that a narrow column
/// breaks it between its parts; a part longer than the column still breaks anywhere (CSS).
fn url_with_breaks(url: &str) -> impl IntoView + use<> {
    url.split_inclusive(['/', '?', '&'])
        .map(|part| view! { {part.to_owned()}<wbr/> })
        .collect_view()
}

/// A green check for a 2xx answer, a red cross with the reason otherwise.
#[component]
fn TestVerdict(result: Result<WebhookTestOut, client::ClientError>) -> impl IntoView {
    let (ok, text) = match result {
        Ok(out) if out.accepted => (
            true,
            format!(
                "✓ {} in {} ms",
                out.status_code.unwrap_or_default(),
                out.latency_ms
            ),
        ),
        Ok(out) => {
            let reason = match (out.status_code, out.error) {
                (Some(code), _) => format!("answered {code}"),
                (None, Some(error)) => error,
                (None, None) => "no answer".to_owned(),
            };
            (false, format!("✗ {reason}"))
        }
        Err(error) => (false, format!("✗ {error}")),
    };
    view! {
        <span class=if ok { "test-result ok" } else { "test-result failed" } role="status">
            {text}
        </span>
    }
}

/// The request exactly as it would be sent, secrets masked.
#[component]
pub(crate) fn RequestPreview(request: RequestPreviewOut) -> impl IntoView {
    let headers = request
        .headers
        .iter()
        .map(|header| format!("{}: {}", header.name, header.value))
        .collect::<Vec<_>>()
        .join("\n");
    let missing = (!request.missing_placeholders.is_empty()).then(|| {
        view! {
            <p class="field-hint">
                {format!(
                    "Not in the sample data (sent empty or as their default): {}",
                    request.missing_placeholders.join(", ")
                )}
            </p>
        }
    });
    // A form body is the envelope URL-encoded: sent as it is, read decoded.
    let decoded = request.form_data_json().map(|json| {
        view! {
            <h3 class="preview-label" id="decoded-form-data">"data, decoded (sent URL-encoded, as above)"</h3>
            <pre aria-labelledby="decoded-form-data">{json}</pre>
        }
    });
    view! {
        <section class="request-preview" aria-label="Request preview">
            <pre>{format!("{} {}\n{headers}\n\n{}", request.method.as_str(), request.url, request.body)}</pre>
            {decoded}
            {missing}
        </section>
    }
}
