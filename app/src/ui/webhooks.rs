//! Webhooks: the list with a Test button per webhook, and a form with every setting of the
//! webhook asset, a placeholder picker, "Preview request" and "Test".

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    fields::KeyValueRows,
    pages::{ErrorNotice, LoadedList, PageHeader, action_error},
};
use crate::api::{
    AuthIn, AuthOut, BodyFormat, HttpMethod, RequestPreviewOut, WebhookIn, WebhookOut,
    WebhookPatch, WebhookTestOut, client,
};

/// Placeholders offered by the picker; any contact attribute or event property works.
const PLACEHOLDERS: [&str; 7] = [
    "{{contact.external_id}}",
    "{{contact.email}}",
    "{{contact.first_name | default: \"there\"}}",
    "{{event.name}}",
    "{{event.occurred_at}}",
    "{{journey.name}}",
    "{{event.list_id}}",
];

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
    let editing = RwSignal::new(Editing::Closed);
    view! {
        <Title text="Webhooks"/>
        <PageHeader title="Webhooks"/>
        <p>
            <button type="button" on:click=move |_| editing.set(Editing::New)>"New webhook"</button>
        </p>
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
            show=move |list| view! { <WebhookTable webhooks=list editing/> }
        />
    }
}

#[component]
fn WebhookTable(webhooks: Vec<WebhookOut>, editing: RwSignal<Editing>) -> impl IntoView {
    let rows = webhooks
        .into_iter()
        .map(|webhook| view! { <WebhookRow webhook editing/> })
        .collect_view();
    view! {
        <table class="data-table">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"URL"</th>
                    <th scope="col">"Format"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Test"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// One webhook with its Edit and Test buttons.
#[component]
fn WebhookRow(webhook: WebhookOut, editing: RwSignal<Editing>) -> impl IntoView {
    let id = webhook.id;
    let test = Action::new_local(move |_: &()| async move { client::test_webhook(id).await });
    let state = if webhook.enabled {
        "enabled".to_owned()
    } else {
        format!(
            "disabled: {}",
            webhook
                .disabled_reason
                .as_deref()
                .unwrap_or("by an operator")
        )
    };
    let name = webhook.name.clone();
    let edited = webhook.clone();
    view! {
        <tr>
            <td class="journey-name">{webhook.name}</td>
            <td class="url">{webhook.url}</td>
            <td>{webhook.body_format.as_str()}</td>
            <td>{state}</td>
            <td class="test-cell">
                <button
                    type="button"
                    class="secondary"
                    aria-label=format!("Edit {name}")
                    on:click=move |_| editing.set(Editing::Existing(Box::new(edited.clone())))
                >
                    "Edit"
                </button>
                " "
                <button
                    type="button"
                    aria-label=format!("Test {name}")
                    disabled=move || test.pending().get()
                    on:click=move |_| {
                        test.dispatch(());
                    }
                >
                    "Test"
                </button>
                {move || test.value().get().map(|result| view! { <TestVerdict result/> })}
            </td>
        </tr>
    }
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

/// Every setting of a webhook; secrets are write-only (left empty, the stored one stays).
#[component]
fn WebhookForm(
    initial: Option<WebhookOut>,
    editing: RwSignal<Editing>,
    webhooks: LocalResource<Result<Vec<WebhookOut>, client::ClientError>>,
) -> impl IntoView {
    let saved_id = RwSignal::new(initial.as_ref().map(|webhook| webhook.id));
    let name = RwSignal::new(initial.as_ref().map(|w| w.name.clone()).unwrap_or_default());
    let url = RwSignal::new(initial.as_ref().map(|w| w.url.clone()).unwrap_or_default());
    let method = RwSignal::new(initial.as_ref().map_or(HttpMethod::Post, |w| w.method));
    let format = RwSignal::new(initial.as_ref().map(|w| w.body_format).unwrap_or_default());
    let contact_fields = RwSignal::new(
        initial
            .as_ref()
            .map(|w| w.contact_fields.join(", "))
            .unwrap_or_default(),
    );
    let custom_data = RwSignal::new(
        initial
            .as_ref()
            .map(|w| w.custom_data.clone())
            .unwrap_or_default(),
    );
    let headers = RwSignal::new(
        initial
            .as_ref()
            .map(|w| w.headers.clone())
            .unwrap_or_default(),
    );
    let retry_hours = RwSignal::new(initial.as_ref().map_or(12, |w| w.retry_window_hours));
    let alert_emails = RwSignal::new(
        initial
            .as_ref()
            .map(|w| w.alert_emails.join(", "))
            .unwrap_or_default(),
    );
    let (auth_type, user_or_header, secret_set) = match initial.as_ref().map(|w| &w.auth) {
        Some(AuthOut::Basic {
            username,
            password_set,
        }) => ("basic", username.clone(), *password_set),
        Some(AuthOut::Bearer { token_set }) => ("bearer", String::new(), *token_set),
        Some(AuthOut::ApiKey { header, key_set }) => ("api_key", header.clone(), *key_set),
        _ => ("none", String::new(), false),
    };
    let auth_type = RwSignal::new(auth_type.to_owned());
    let user_or_header = RwSignal::new(user_or_header);
    let secret = RwSignal::new(String::new());
    let secret_set = RwSignal::new(secret_set);

    let auth = move || {
        let secret = Some(secret.get_untracked()).filter(|secret| !secret.is_empty());
        match auth_type.get_untracked().as_str() {
            "basic" => AuthIn::Basic {
                username: user_or_header.get_untracked(),
                password: secret,
            },
            "bearer" => AuthIn::Bearer { token: secret },
            "api_key" => AuthIn::ApiKey {
                header: user_or_header.get_untracked(),
                key: secret,
            },
            _ => AuthIn::None,
        }
    };
    let listed = |text: String| {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let fields = move || listed(contact_fields.get_untracked());
    let alerted = move || listed(alert_emails.get_untracked());
    // Saves what the form shows; returns the webhook's id.
    let save = move || async move {
        let saved = match saved_id.get_untracked() {
            None => {
                client::create_webhook(&WebhookIn {
                    name: name.get_untracked(),
                    url: url.get_untracked(),
                    method: Some(method.get_untracked()),
                    body_format: format.get_untracked(),
                    contact_fields: fields(),
                    custom_data: custom_data.get_untracked(),
                    headers: headers.get_untracked(),
                    auth: auth(),
                    retry_window_hours: Some(retry_hours.get_untracked()),
                    alert_emails: alerted(),
                })
                .await?
            }
            Some(id) => {
                client::update_webhook(
                    id,
                    &WebhookPatch {
                        name: Some(name.get_untracked()),
                        url: Some(url.get_untracked()),
                        method: Some(method.get_untracked()),
                        body_format: Some(format.get_untracked()),
                        contact_fields: Some(fields()),
                        custom_data: Some(custom_data.get_untracked()),
                        headers: Some(headers.get_untracked()),
                        auth: Some(auth()),
                        retry_window_hours: Some(retry_hours.get_untracked()),
                        alert_emails: Some(alerted()),
                        enabled: None,
                    },
                )
                .await?
            }
        };
        saved_id.set(Some(saved.id));
        secret.set(String::new());
        secret_set.set(matches!(
            saved.auth,
            AuthOut::Basic {
                password_set: true,
                ..
            } | AuthOut::Bearer { token_set: true }
                | AuthOut::ApiKey { key_set: true, .. }
        ));
        webhooks.refetch();
        Ok::<_, client::ClientError>(saved.id)
    };
    let save_action = Action::new_local(move |_: &()| async move { save().await.map(|_| ()) });
    let preview = Action::new_local(move |_: &()| async move {
        let id = save().await?;
        client::preview_webhook(id).await
    });
    let test = Action::new_local(move |_: &()| async move {
        let id = save().await?;
        client::test_webhook(id).await
    });
    let busy =
        move || save_action.pending().get() || preview.pending().get() || test.pending().get();
    let insert_placeholder = move |placeholder: String| {
        url.update(|url| url.push_str(&placeholder));
    };

    view! {
        <form class="webhook-form" aria-label="Webhook settings" on:submit=move |event| {
            event.prevent_default();
            save_action.dispatch(());
        }>
            <h2>{move || if saved_id.get().is_some() { "Edit webhook" } else { "New webhook" }}</h2>
            <div class="form-grid">
                <label class="field">
                    <span class="field-label">"Name"</span>
                    <input type="text" placeholder="CRM" prop:value=name
                        on:input=move |event| name.set(event_target_value(&event))/>
                </label>
                <label class="field wide">
                    <span class="field-label">"URL"</span>
                    <input type="text" placeholder="https://crm.example/hook/{{contact.external_id}}"
                        prop:value=url on:input=move |event| url.set(event_target_value(&event))/>
                </label>
                <label class="field">
                    <span class="field-label">"Insert placeholder"</span>
                    <select on:change=move |event| {
                        let value = event_target_value(&event);
                        if !value.is_empty() {
                            insert_placeholder(value);
                        }
                    }>
                        <option value="" selected>"Choose…"</option>
                        {PLACEHOLDERS.into_iter().map(|placeholder| view! {
                            <option value=placeholder>{placeholder}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="field-label">"Method"</span>
                    <select on:change=move |event| {
                        if let Ok(chosen) = event_target_value(&event).parse::<HttpMethod>() {
                            method.set(chosen);
                        }
                    }>
                        {[HttpMethod::Post, HttpMethod::Put, HttpMethod::Patch, HttpMethod::Get].into_iter().map(|option| view! {
                            <option value=option.as_str() selected=move || method.get() == option>{option.as_str()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="field-label">"Format"</span>
                    <select on:change=move |event| {
                        if let Ok(chosen) = event_target_value(&event).parse::<BodyFormat>() {
                            format.set(chosen);
                        }
                    }>
                        <option value="json" selected=move || format.get() == BodyFormat::Json>"JSON"</option>
                        <option value="form" selected=move || format.get() == BodyFormat::Form>"Form (data=…)"</option>
                        <option value="query" selected=move || format.get() == BodyFormat::Query>"Query string"</option>
                    </select>
                </label>
                <label class="field wide">
                    <span class="field-label">"Contact fields to send"</span>
                    <input type="text" placeholder="email, first_name, country" prop:value=contact_fields
                        on:input=move |event| contact_fields.set(event_target_value(&event))/>
                    <span class="field-hint">"Comma-separated attribute names; the external id is always sent."</span>
                </label>
                <label class="field">
                    <span class="field-label">"Retry for (hours)"</span>
                    <input type="number" min="1" max="72" prop:value=move || retry_hours.get().to_string()
                        on:input=move |event| {
                            if let Ok(hours) = event_target_value(&event).trim().parse() {
                                retry_hours.set(hours);
                            }
                        }/>
                </label>
                <label class="field wide">
                    <span class="field-label">"Email when requests fail for good"</span>
                    <input type="text" placeholder="ops@example.com, crm-owner@example.com"
                        prop:value=alert_emails
                        on:input=move |event| alert_emails.set(event_target_value(&event))/>
                    <span class="field-hint">"Comma-separated; at most one email an hour per webhook."</span>
                </label>
                <label class="field">
                    <span class="field-label">"Authentication"</span>
                    <select on:change=move |event| auth_type.set(event_target_value(&event))>
                        <option value="none" selected=move || auth_type.get() == "none">"None"</option>
                        <option value="basic" selected=move || auth_type.get() == "basic">"Basic (username and password)"</option>
                        <option value="bearer" selected=move || auth_type.get() == "bearer">"Bearer token"</option>
                        <option value="api_key" selected=move || auth_type.get() == "api_key">"API key in a header"</option>
                    </select>
                </label>
                {move || {
                    let kind = auth_type.get();
                    let first = match kind.as_str() {
                        "basic" => Some(("Username", "crm-user")),
                        "api_key" => Some(("Header", "X-API-Key")),
                        _ => None,
                    };
                    let secret_label = match kind.as_str() {
                        "basic" => "Password",
                        "bearer" => "Token",
                        "api_key" => "Key",
                        _ => return None,
                    };
                    Some(view! {
                        {first.map(|(label, placeholder)| view! {
                            <label class="field">
                                <span class="field-label">{label}</span>
                                <input type="text" placeholder=placeholder prop:value=user_or_header
                                    on:input=move |event| user_or_header.set(event_target_value(&event))/>
                            </label>
                        })}
                        <label class="field">
                            <span class="field-label">{secret_label}</span>
                            <input type="password" autocomplete="new-password"
                                placeholder=move || if secret_set.get() { "•••••• stored; type to replace" } else { "" }
                                prop:value=secret on:input=move |event| secret.set(event_target_value(&event))/>
                        </label>
                    })
                }}
            </div>
            <KeyValueRows legend="Custom data" name="custom field" rows=custom_data.into()
                set_rows=Callback::new(move |rows| custom_data.set(rows))
                key_placeholder="plan" value_placeholder="{{contact.plan | default: \"free\"}}"/>
            <KeyValueRows legend="Custom headers" name="header" rows=headers.into()
                set_rows=Callback::new(move |rows| headers.set(rows))
                key_placeholder="X-Source" value_placeholder="wayfarer"/>
            <div class="form-actions">
                <button type="submit" disabled=busy>"Save webhook"</button>
                <button type="button" class="secondary" disabled=busy on:click=move |_| { preview.dispatch(()); }>
                    "Preview request"
                </button>
                <button type="button" class="secondary" disabled=busy on:click=move |_| { test.dispatch(()); }>
                    "Send test"
                </button>
                <button type="button" class="secondary" on:click=move |_| editing.set(Editing::Closed)>"Close"</button>
                {move || (save_action.version().get() > 0 && save_action.value().get().is_some_and(|r| r.is_ok()))
                    .then(|| view! { <span class="test-result ok" role="status">"Saved"</span> })}
            </div>
            {action_error(save_action)}
            {move || preview.value().get().map(|result| match result {
                Ok(request) => view! { <RequestPreview request/> }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
            {move || test.value().get().map(|result| {
                let details = result.as_ref().ok().map(|out| out.response_body.clone());
                view! {
                    <div class="test-outcome">
                        <TestVerdict result/>
                        {details.filter(|body| !body.is_empty()).map(|body| view! {
                            <pre class="response-body" aria-label="Response body">{body}</pre>
                        })}
                    </div>
                }
            })}
        </form>
    }
}

/// The request exactly as it would be sent, secrets masked.
#[component]
fn RequestPreview(request: RequestPreviewOut) -> impl IntoView {
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
    view! {
        <section class="request-preview" aria-label="Request preview">
            <pre>{format!("{} {}\n{headers}\n\n{}", request.method.as_str(), request.url, request.body)}</pre>
            {missing}
        </section>
    }
}
