//! The webhook form: every setting of the asset, a placeholder picker, "Preview request" and
//! "Send test". Both try the settings as the form shows them without saving them: only "Save
//! webhook" creates or changes the webhook.

use leptos::prelude::*;

use super::{Editing, RequestPreview, TestVerdict};
use crate::{
    api::{
        AlertDigest, AuthIn, AuthKind, AuthOut, Batching, BodyFormat, HttpMethod, WebhookDraftIn,
        WebhookIn, WebhookOut, WebhookTestIn, WebhookTestOut,
        client::{self, ClientError},
    },
    ids::WebhookId,
    journey::KeyValue,
    ui::{
        fields::{AuthFields, KeyValueRows, NumberField},
        pages::{ErrorNotice, action_error},
    },
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

/// What the form shows, one signal per field. Secrets are write-only: `secret` is what the
/// user typed, and left empty the stored one stays.
#[derive(Clone, Copy)]
struct Draft {
    saved_id: RwSignal<Option<WebhookId>>,
    name: RwSignal<String>,
    url: RwSignal<String>,
    method: RwSignal<HttpMethod>,
    format: RwSignal<BodyFormat>,
    /// Comma-separated attribute names.
    contact_fields: RwSignal<String>,
    custom_data: RwSignal<Vec<KeyValue>>,
    headers: RwSignal<Vec<KeyValue>>,
    retry_hours: RwSignal<u32>,
    disable_after_hours: RwSignal<u32>,
    max_per_second: RwSignal<u32>,
    /// Comma-separated addresses.
    alert_emails: RwSignal<String>,
    alerts_enabled: RwSignal<bool>,
    alert_every_minutes: RwSignal<u32>,
    alert_digest: RwSignal<AlertDigest>,
    /// Whether deliveries go together, and how.
    batching: RwSignal<bool>,
    batch_size: RwSignal<u32>,
    batch_wait: RwSignal<u32>,
    batch_key: RwSignal<String>,
    auth_kind: RwSignal<AuthKind>,
    /// Basic: the user name; API key: the header.
    auth_name: RwSignal<String>,
    secret: RwSignal<String>,
    secret_set: RwSignal<bool>,
}

/// `"a, b,,c"` → `["a", "b", "c"]`.
fn listed(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Draft {
    fn new(initial: Option<&WebhookOut>) -> Self {
        let auth_name = match initial.map(|webhook| &webhook.auth) {
            Some(AuthOut::Basic { username, .. }) => username.clone(),
            Some(AuthOut::ApiKey { header, .. }) => header.clone(),
            _ => String::new(),
        };
        let batching = initial
            .and_then(|webhook| webhook.batch.clone())
            .unwrap_or_default();
        Self {
            saved_id: RwSignal::new(initial.map(|webhook| webhook.id)),
            name: RwSignal::new(initial.map(|w| w.name.clone()).unwrap_or_default()),
            url: RwSignal::new(initial.map(|w| w.url.clone()).unwrap_or_default()),
            method: RwSignal::new(initial.map_or(HttpMethod::Post, |w| w.method)),
            format: RwSignal::new(initial.map(|w| w.body_format).unwrap_or_default()),
            contact_fields: RwSignal::new(
                initial
                    .map(|w| w.contact_fields.join(", "))
                    .unwrap_or_default(),
            ),
            custom_data: RwSignal::new(initial.map(|w| w.custom_data.clone()).unwrap_or_default()),
            headers: RwSignal::new(initial.map(|w| w.headers.clone()).unwrap_or_default()),
            retry_hours: RwSignal::new(initial.map_or(12, |w| w.retry_window_hours)),
            disable_after_hours: RwSignal::new(
                initial.map_or(24, |w| w.disable_after_failing_hours),
            ),
            max_per_second: RwSignal::new(initial.map_or(0, |w| w.max_requests_per_second)),
            alert_emails: RwSignal::new(
                initial
                    .map(|w| w.alert_emails.join(", "))
                    .unwrap_or_default(),
            ),
            alerts_enabled: RwSignal::new(initial.is_none_or(|w| w.alerts_enabled)),
            alert_every_minutes: RwSignal::new(initial.map_or(60, |w| w.alert_every_minutes)),
            alert_digest: RwSignal::new(initial.map(|w| w.alert_digest).unwrap_or_default()),
            batching: RwSignal::new(initial.is_some_and(|w| w.batch.is_some())),
            batch_size: RwSignal::new(batching.max_size),
            batch_wait: RwSignal::new(batching.max_wait_seconds),
            batch_key: RwSignal::new(batching.key),
            auth_kind: RwSignal::new(initial.map_or(AuthKind::None, |w| w.auth.kind())),
            auth_name: RwSignal::new(auth_name),
            secret: RwSignal::new(String::new()),
            secret_set: RwSignal::new(initial.is_some_and(|w| w.auth.secret_set())),
        }
    }

    fn auth(self) -> AuthIn {
        let secret = Some(self.secret.get_untracked()).filter(|secret| !secret.is_empty());
        match self.auth_kind.get_untracked() {
            AuthKind::None => AuthIn::None,
            AuthKind::Basic => AuthIn::Basic {
                username: self.auth_name.get_untracked(),
                password: secret,
            },
            AuthKind::Bearer => AuthIn::Bearer { token: secret },
            AuthKind::ApiKey => AuthIn::ApiKey {
                header: self.auth_name.get_untracked(),
                key: secret,
            },
        }
    }

    fn input(self) -> WebhookIn {
        WebhookIn {
            name: self.name.get_untracked(),
            url: self.url.get_untracked(),
            method: Some(self.method.get_untracked()),
            body_format: self.format.get_untracked(),
            contact_fields: listed(&self.contact_fields.get_untracked()),
            custom_data: self.custom_data.get_untracked(),
            headers: self.headers.get_untracked(),
            auth: self.auth(),
            retry_window_hours: Some(self.retry_hours.get_untracked()),
            disable_after_failing_hours: Some(self.disable_after_hours.get_untracked()),
            max_requests_per_second: Some(self.max_per_second.get_untracked()),
            alert_emails: listed(&self.alert_emails.get_untracked()),
            alerts_enabled: Some(self.alerts_enabled.get_untracked()),
            alert_every_minutes: Some(self.alert_every_minutes.get_untracked()),
            alert_digest: Some(self.alert_digest.get_untracked()),
            batch: self.batching.get_untracked().then(|| Batching {
                max_size: self.batch_size.get_untracked(),
                max_wait_seconds: self.batch_wait.get_untracked(),
                key: self.batch_key.get_untracked(),
            }),
        }
    }

    /// What the form shows, as an edit of the saved webhook (if there is one): secrets left
    /// empty are the stored ones.
    fn draft(self) -> WebhookDraftIn {
        WebhookDraftIn {
            webhook: self.input(),
            edits: self.saved_id.get_untracked(),
            sample: WebhookTestIn::default(),
        }
    }

    /// Saves what the form shows; returns the webhook's id.
    async fn save(self) -> Result<WebhookId, ClientError> {
        let saved = match self.saved_id.get_untracked() {
            None => client::create_webhook(&self.input()).await?,
            Some(id) => client::update_webhook(id, &self.input().into()).await?,
        };
        self.saved_id.set(Some(saved.id));
        self.secret.set(String::new());
        self.secret_set.set(saved.auth.secret_set());
        Ok(saved.id)
    }
}

#[component]
pub(super) fn WebhookForm(
    initial: Option<WebhookOut>,
    editing: RwSignal<Editing>,
    webhooks: LocalResource<Result<Vec<WebhookOut>, ClientError>>,
) -> impl IntoView {
    let draft = Draft::new(initial.as_ref());
    let save = Action::new_local(move |_: &()| async move {
        draft.save().await?;
        webhooks.refetch();
        Ok::<_, ClientError>(())
    });
    let preview = Action::new_local(move |_: &()| async move {
        let draft = draft.draft();
        client::preview_webhook_draft(&draft).await
    });
    let test = Action::new_local(move |_: &()| async move {
        let draft = draft.draft();
        client::test_webhook_draft(&draft).await
    });
    let busy = move || save.pending().get() || preview.pending().get() || test.pending().get();
    let saved = move || {
        (save.version().get() > 0 && save.value().get().is_some_and(|result| result.is_ok()))
            .then(|| view! { <span class="test-result ok" role="status">"Saved"</span> })
    };
    view! {
        <form class="webhook-form" aria-label="Webhook settings" on:submit=move |event| {
            event.prevent_default();
            save.dispatch(());
        }>
            <h2>{move || if draft.saved_id.get().is_some() { "Edit webhook" } else { "New webhook" }}</h2>
            <div class="form-grid">
                <RequestFields draft/>
                <AuthFields kind=draft.auth_kind name=draft.auth_name secret=draft.secret
                    stored=draft.secret_set.into() username_placeholder="crm-user"/>
            </div>
            <KeyValueRows legend="Custom data" name="custom field" rows=draft.custom_data.into()
                set_rows=Callback::new(move |rows| draft.custom_data.set(rows))
                key_placeholder="plan" value_placeholder="{{contact.plan | default: \"free\"}}"/>
            <KeyValueRows legend="Custom headers" name="header" rows=draft.headers.into()
                set_rows=Callback::new(move |rows| draft.headers.set(rows))
                key_placeholder="X-Source" value_placeholder="wayfarer" secret_toggle=true
                hint="Values of headers marked Secret, or named like a credential (Authorization, X-Api-Key, …), are stored sealed and shown as ********."/>
            <div class="form-actions">
                <button type="submit" disabled=busy>"Save webhook"</button>
                <button type="button" class="secondary" disabled=busy on:click=move |_| { preview.dispatch(()); }>
                    "Preview request"
                </button>
                <button type="button" class="secondary" disabled=busy on:click=move |_| { test.dispatch(()); }>
                    "Send test"
                </button>
                <button type="button" class="secondary" on:click=move |_| editing.set(Editing::Closed)>"Close"</button>
                {saved}
            </div>
            {action_error(save)}
            {move || preview.value().get().map(|result| match result {
                Ok(request) => view! { <RequestPreview request/> }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
            {move || test.value().get().map(|result| view! { <TestOutcome result/> })}
        </form>
    }
}

/// Where the request goes, what it carries and for how long it is retried.
#[component]
fn RequestFields(draft: Draft) -> impl IntoView {
    let Draft {
        name,
        url,
        method,
        format,
        contact_fields,
        retry_hours,
        disable_after_hours,
        max_per_second,
        alert_emails,
        alerts_enabled,
        alert_every_minutes,
        alert_digest,
        batching,
        batch_size,
        batch_wait,
        batch_key,
        ..
    } = draft;
    view! {
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
                let placeholder = event_target_value(&event);
                url.update(|url| url.push_str(&placeholder));
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
        <NumberField label="Retry for (hours)" value=retry_hours min=1 max=72/>
        <NumberField
            label="Disable after failing for (hours)"
            value=disable_after_hours
            min=0
            max=720
            hint="Requests are then held until you enable it again; 0: never."
        />
        <NumberField
            label="At most requests per second"
            value=max_per_second
            min=0
            max=10_000
            hint="From all server processes together; 0: no limit."
        />
        <label class="field checkbox wide">
            <input type="checkbox" name="batching" prop:checked=batching
                on:change=move |event| batching.set(event_target_checked(&event))/>
            <span>"Send in batches"</span>
            <span class="field-hint">
                "Several deliveries in one request: {\"<key>\": [envelope, …]}, signed once; \
                 each envelope keeps its own id."
            </span>
        </label>
        <Show when=move || batching.get()>
            <NumberField label="Batch size (deliveries)" value=batch_size min=1 max=1_000/>
            <NumberField
                label="Gather for (seconds)"
                value=batch_wait
                min=0
                max=300
                hint="How long the first delivery waits for others; 0: what is due together."
            />
            <label class="field">
                <span class="field-label">"Batch key"</span>
                <input type="text" placeholder="events" prop:value=batch_key
                    on:input=move |event| batch_key.set(event_target_value(&event))/>
                <span class="field-hint">"The key holding the list, e.g. your account name."</span>
            </label>
        </Show>
        <label class="field wide">
            <span class="field-label">"Email when requests fail for good"</span>
            <input type="text" placeholder="ops@example.com, crm-owner@example.com"
                prop:value=alert_emails
                on:input=move |event| alert_emails.set(event_target_value(&event))/>
            <span class="field-hint">"Comma-separated."</span>
        </label>
        <label class="field checkbox wide">
            <input type="checkbox" name="alerts-enabled" prop:checked=alerts_enabled
                on:change=move |event| alerts_enabled.set(event_target_checked(&event))/>
            <span>"Send alert emails"</span>
            <span class="field-hint">"Off: nothing is emailed; the addresses are kept."</span>
        </label>
        <label class="field">
            <span class="field-label">"Alert emails"</span>
            <select name="alert-digest" on:change=move |event| {
                if let Ok(chosen) = event_target_value(&event).parse::<AlertDigest>() {
                    alert_digest.set(chosen);
                }
            }>
                <option value="immediate" selected=move || alert_digest.get() == AlertDigest::Immediate>"At once, then paced"</option>
                <option value="hourly" selected=move || alert_digest.get() == AlertDigest::Hourly>"Hourly digest"</option>
                <option value="daily" selected=move || alert_digest.get() == AlertDigest::Daily>"Daily digest (00:00 UTC)"</option>
            </select>
            <span class="field-hint">"A disabling is told at once either way."</span>
        </label>
        <NumberField
            label="At most one alert every (minutes)"
            value=alert_every_minutes
            min=1
            max=10_080
            hint="At once, then paced: failures in between are added up in the next email."
        />
    }
}

/// A test's verdict with the receiver's answer.
#[component]
fn TestOutcome(result: Result<WebhookTestOut, ClientError>) -> impl IntoView {
    let body = result
        .as_ref()
        .ok()
        .map(|out| out.response_body.clone())
        .filter(|body| !body.is_empty());
    view! {
        <div class="test-outcome">
            <TestVerdict result/>
            {body.map(|body| view! { <pre class="response-body" aria-label="Response body">{body}</pre> })}
        </div>
    }
}
