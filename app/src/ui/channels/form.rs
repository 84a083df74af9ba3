//! The channel form: the address and opt-out attributes and, for every channel but email, the
//! HTTP provider (from a preset or by hand) and how its receipts are read; for email, how the
//! SMTP relay's reports are read, if it sends some. Secrets are
//! write-only: their inputs start empty, and left empty they keep the stored ones.

use leptos::prelude::*;

use super::{ChannelList, default_attributes, page_origin};
use crate::{
    api::{
        AuthIn, AuthKind, AuthOut, ChannelIn, ChannelOut, FrequencyCap, HttpMethod,
        ProviderBodyFormat, ProviderIn, ProviderOut, QuietHours, ReceiptAuthIn, ReceiptAuthOut,
        ReceiptsIn, ReceiptsOut, StatusMapping,
        client::{self, ClientError},
    },
    journey::{Activity, Channel, KeyValue},
    ui::{
        fields::{AuthFields, KeyValueRows, SecretField, channel_label},
        pages::{ErrorNotice, action_error},
    },
};

/// What a provider's URL, headers and body may hold.
const PLACEHOLDERS: &str = "Placeholders: {{message.to}} {{message.text}} {{message.id}} \
     {{message.title}} {{message.body}} {{message.deep_link}} {{message.media_url}} \
     {{contact.<attribute>}}. Values are escaped for the body format.";

/// How a provider proves its receipts are its own: the `type` of [`ReceiptAuthIn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReceiptAuthKind {
    Hmac,
    Basic,
}

impl ReceiptAuthKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Hmac => "hmac",
            Self::Basic => "basic",
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        [Self::Hmac, Self::Basic]
            .into_iter()
            .find(|kind| kind.as_str() == word)
    }
}

/// What the form shows, one signal per field.
#[derive(Clone, Copy)]
struct Draft {
    address_attribute: RwSignal<String>,
    opt_out_attribute: RwSignal<String>,
    /// None for email, which goes out through the server's SMTP relay.
    provider: Option<ProviderDraft>,
    /// Email only: the channel's own SMTP relay (empty: the server's --smtp-url).
    smtp_url: RwSignal<String>,
    /// Email only: whether the SMTP relay's reports are read, and how.
    relay_reports: RwSignal<bool>,
    relay_receipts: ReceiptsDraft,
    /// The frequency cap's numbers as typed; both empty: no cap.
    cap_messages: RwSignal<String>,
    cap_hours: RwSignal<String>,
    /// Quiet hours as typed; start and end empty: none.
    quiet_start: RwSignal<String>,
    quiet_end: RwSignal<String>,
    quiet_zone_attribute: RwSignal<String>,
    quiet_default_zone: RwSignal<String>,
}

impl Draft {
    fn new(channel: &ChannelOut) -> Self {
        Self {
            address_attribute: RwSignal::new(channel.address_attribute.clone()),
            opt_out_attribute: RwSignal::new(channel.opt_out_attribute.clone()),
            provider: (channel.channel != Channel::Email)
                .then(|| ProviderDraft::new(channel.provider.as_ref())),
            smtp_url: RwSignal::new(channel.smtp_url.clone().unwrap_or_default()),
            relay_reports: RwSignal::new(channel.receipts.is_some()),
            relay_receipts: ReceiptsDraft::new(channel.receipts.as_ref()),
            cap_messages: RwSignal::new(
                channel
                    .frequency_cap
                    .map(|cap| cap.max_messages.to_string())
                    .unwrap_or_default(),
            ),
            cap_hours: RwSignal::new(
                channel
                    .frequency_cap
                    .map(|cap| cap.per_hours.to_string())
                    .unwrap_or_default(),
            ),
            quiet_start: RwSignal::new(quiet(channel, |hours| &hours.start)),
            quiet_end: RwSignal::new(quiet(channel, |hours| &hours.end)),
            quiet_zone_attribute: RwSignal::new(quiet(channel, |hours| &hours.time_zone_attribute)),
            quiet_default_zone: RwSignal::new(quiet(channel, |hours| &hours.default_time_zone)),
        }
    }

    fn input(self) -> ChannelIn {
        // Left empty, an attribute is the channel's default.
        let named = |name: RwSignal<String>| {
            Some(name.get_untracked().trim().to_owned()).filter(|name| !name.is_empty())
        };
        ChannelIn {
            address_attribute: named(self.address_attribute),
            opt_out_attribute: named(self.opt_out_attribute),
            provider: self.provider.map(ProviderDraft::input),
            frequency_cap: self.frequency_cap(),
            quiet_hours: self.quiet_hours(),
            receipts: (self.provider.is_none() && self.relay_reports.get_untracked())
                .then(|| self.relay_receipts.input()),
            smtp_url: named(self.smtp_url).filter(|_| self.provider.is_none()),
        }
    }

    /// A number that does not parse is sent as 0, which the server refuses naming the field.
    fn frequency_cap(self) -> Option<FrequencyCap> {
        let (messages, hours) = (
            self.cap_messages.get_untracked(),
            self.cap_hours.get_untracked(),
        );
        if messages.trim().is_empty() && hours.trim().is_empty() {
            return None;
        }
        Some(FrequencyCap {
            max_messages: messages.trim().parse().unwrap_or(0),
            per_hours: hours.trim().parse().unwrap_or(0),
        })
    }

    fn quiet_hours(self) -> Option<QuietHours> {
        let (start, end) = (
            self.quiet_start.get_untracked(),
            self.quiet_end.get_untracked(),
        );
        if start.trim().is_empty() && end.trim().is_empty() {
            return None;
        }
        Some(QuietHours {
            start,
            end,
            time_zone_attribute: self.quiet_zone_attribute.get_untracked(),
            default_time_zone: self.quiet_default_zone.get_untracked(),
        })
    }
}

/// A field of the channel's quiet hours, empty when it has none.
fn quiet(channel: &ChannelOut, field: impl Fn(&QuietHours) -> &String) -> String {
    channel
        .quiet_hours
        .as_ref()
        .map(field)
        .cloned()
        .unwrap_or_default()
}

/// The provider's fields. Each secret is what the user typed; `*_stored` names the kind of
/// authentication the server holds a secret for, which an empty input keeps while the URL
/// stays on the stored provider's host.
#[derive(Clone, Copy)]
struct ProviderDraft {
    url: RwSignal<String>,
    /// Whether the URL still names the stored provider's scheme, host and port: the server
    /// sends its secrets nowhere else, so they must be typed again for another host.
    same_host: Memo<bool>,
    method: RwSignal<HttpMethod>,
    body_format: RwSignal<ProviderBodyFormat>,
    body: RwSignal<String>,
    headers: RwSignal<Vec<KeyValue>>,
    auth_kind: RwSignal<AuthKind>,
    /// Basic: the user name; API key: the header.
    auth_name: RwSignal<String>,
    auth_secret: RwSignal<String>,
    auth_stored: Option<AuthKind>,
    answer_id_path: RwSignal<String>,
    receipts: ReceiptsDraft,
}

/// How a provider's (or the SMTP relay's) reports are read and proved. The secret is what the
/// user typed; `stored` names the kind of proof the server holds a secret for.
#[derive(Clone, Copy)]
struct ReceiptsDraft {
    kind: RwSignal<ReceiptAuthKind>,
    /// HMAC: the signature's header; basic: the user name.
    name: RwSignal<String>,
    secret: RwSignal<String>,
    stored: Option<ReceiptAuthKind>,
    message_path: RwSignal<String>,
    status_path: RwSignal<String>,
    statuses: RwSignal<Vec<StatusMapping>>,
}

impl ReceiptsDraft {
    fn new(stored: Option<&ReceiptsOut>) -> Self {
        let draft = Self {
            kind: RwSignal::new(ReceiptAuthKind::Hmac),
            name: RwSignal::new("X-Signature".to_owned()),
            secret: RwSignal::default(),
            stored: stored.and_then(|receipts| match receipts.auth {
                ReceiptAuthOut::Hmac {
                    secret_set: true, ..
                } => Some(ReceiptAuthKind::Hmac),
                ReceiptAuthOut::Basic {
                    password_set: true, ..
                } => Some(ReceiptAuthKind::Basic),
                _ => None,
            }),
            message_path: RwSignal::default(),
            status_path: RwSignal::default(),
            statuses: RwSignal::default(),
        };
        if let Some(stored) = stored {
            draft.fill(&receipts_without_secret(stored));
        }
        draft
    }

    fn fill(self, receipts: &ReceiptsIn) {
        let (kind, name) = match &receipts.auth {
            ReceiptAuthIn::Hmac { header, .. } => (ReceiptAuthKind::Hmac, header.clone()),
            ReceiptAuthIn::Basic { username, .. } => (ReceiptAuthKind::Basic, username.clone()),
        };
        self.kind.set(kind);
        self.name.set(name);
        self.message_path.set(receipts.message_path.clone());
        self.status_path.set(receipts.status_path.clone());
        self.statuses.set(receipts.statuses.clone());
    }

    fn input(self) -> ReceiptsIn {
        // An empty secret input keeps the stored secret (sent as None).
        let secret = Some(self.secret.get_untracked()).filter(|typed| !typed.is_empty());
        let name = self.name.get_untracked();
        ReceiptsIn {
            auth: match self.kind.get_untracked() {
                ReceiptAuthKind::Hmac => ReceiptAuthIn::Hmac {
                    header: name,
                    secret,
                },
                ReceiptAuthKind::Basic => ReceiptAuthIn::Basic {
                    username: name,
                    password: secret,
                },
            },
            message_path: self.message_path.get_untracked(),
            status_path: self.status_path.get_untracked(),
            statuses: self.statuses.get_untracked(),
        }
    }
}

impl ProviderDraft {
    fn new(stored: Option<&ProviderOut>) -> Self {
        let url = RwSignal::new(String::new());
        let stored_origin = stored.map(|provider| origin_of(&provider.url));
        let draft = Self {
            url,
            same_host: Memo::new(move |_| {
                stored_origin.as_deref() == Some(url.with(|url| origin_of(url)).as_str())
            }),
            method: RwSignal::new(HttpMethod::Post),
            body_format: RwSignal::default(),
            body: RwSignal::default(),
            headers: RwSignal::default(),
            auth_kind: RwSignal::new(AuthKind::None),
            auth_name: RwSignal::default(),
            auth_secret: RwSignal::default(),
            auth_stored: stored
                .map(|provider| &provider.auth)
                .filter(|auth| auth.secret_set())
                .map(AuthOut::kind),
            answer_id_path: RwSignal::default(),
            receipts: ReceiptsDraft::new(stored.map(|provider| &provider.receipts)),
        };
        draft.fill(&stored.map_or_else(ProviderIn::default, without_secrets));
        draft
    }

    /// Shows `provider` (stored settings or a preset); typed secrets stay, as neither holds
    /// any.
    fn fill(self, provider: &ProviderIn) {
        self.url.set(provider.url.clone());
        self.method.set(provider.method.unwrap_or(HttpMethod::Post));
        self.body_format.set(provider.body_format);
        self.body.set(provider.body.clone());
        self.headers.set(provider.headers.clone());
        let (auth_kind, auth_name) = match &provider.auth {
            AuthIn::None => (AuthKind::None, String::new()),
            AuthIn::Basic { username, .. } => (AuthKind::Basic, username.clone()),
            AuthIn::Bearer { .. } => (AuthKind::Bearer, String::new()),
            AuthIn::ApiKey { header, .. } => (AuthKind::ApiKey, header.clone()),
        };
        self.auth_kind.set(auth_kind);
        self.auth_name.set(auth_name);
        self.answer_id_path.set(provider.answer_id_path.clone());
        self.receipts.fill(&provider.receipts);
    }

    fn input(self) -> ProviderIn {
        // An empty secret input keeps the stored secret (sent as None).
        let typed = |secret: RwSignal<String>| {
            Some(secret.get_untracked()).filter(|typed| !typed.is_empty())
        };
        let auth_name = self.auth_name.get_untracked();
        let auth = match self.auth_kind.get_untracked() {
            AuthKind::None => AuthIn::None,
            AuthKind::Basic => AuthIn::Basic {
                username: auth_name,
                password: typed(self.auth_secret),
            },
            AuthKind::Bearer => AuthIn::Bearer {
                token: typed(self.auth_secret),
            },
            AuthKind::ApiKey => AuthIn::ApiKey {
                header: auth_name,
                key: typed(self.auth_secret),
            },
        };
        let body_format = self.body_format.get_untracked();
        ProviderIn {
            url: self.url.get_untracked(),
            method: Some(self.method.get_untracked()),
            body_format,
            // The body's field is hidden for `none`: what it held before is not sent.
            body: if body_format == ProviderBodyFormat::None {
                String::new()
            } else {
                self.body.get_untracked()
            },
            headers: self.headers.get_untracked(),
            auth,
            answer_id_path: self.answer_id_path.get_untracked(),
            receipts: self.receipts.input(),
        }
    }
}

/// `https://sms.example:8443` of `https://user:****@SMS.example:8443/send?to=…`, as written: what
/// the server compares to keep a provider's secrets (a default port written out reads as
/// another host here, which only asks for the secret again).
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.trim().split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}").to_ascii_lowercase()
}

/// The stored provider as an input that keeps its secrets.
fn without_secrets(provider: &ProviderOut) -> ProviderIn {
    let auth = match &provider.auth {
        AuthOut::None => AuthIn::None,
        AuthOut::Basic { username, .. } => AuthIn::Basic {
            username: username.clone(),
            password: None,
        },
        AuthOut::Bearer { .. } => AuthIn::Bearer { token: None },
        AuthOut::ApiKey { header, .. } => AuthIn::ApiKey {
            header: header.clone(),
            key: None,
        },
    };
    ProviderIn {
        url: provider.url.clone(),
        method: Some(provider.method),
        body_format: provider.body_format,
        body: provider.body.clone(),
        headers: provider.headers.clone(),
        auth,
        answer_id_path: provider.answer_id_path.clone(),
        receipts: receipts_without_secret(&provider.receipts),
    }
}

/// Stored receipt settings as an input that keeps their secret.
fn receipts_without_secret(receipts: &ReceiptsOut) -> ReceiptsIn {
    ReceiptsIn {
        auth: match &receipts.auth {
            ReceiptAuthOut::Hmac { header, .. } => ReceiptAuthIn::Hmac {
                header: header.clone(),
                secret: None,
            },
            ReceiptAuthOut::Basic { username, .. } => ReceiptAuthIn::Basic {
                username: username.clone(),
                password: None,
            },
        },
        message_path: receipts.message_path.clone(),
        status_path: receipts.status_path.clone(),
        statuses: receipts.statuses.clone(),
    }
}

#[component]
pub(super) fn ChannelForm(
    initial: ChannelOut,
    editing: RwSignal<Option<ChannelOut>>,
    /// Says what was saved once the form has closed.
    notice: RwSignal<Option<String>>,
    channels: ChannelList,
) -> impl IntoView {
    let channel = initial.channel;
    let draft = Draft::new(&initial);
    let save = Action::new_local(move |_: &()| {
        let input = draft.input();
        async move {
            client::save_channel(channel, &input).await?;
            channels.refetch();
            notice.set(Some(format!("Saved the {channel} channel.")));
            // Closing drops every typed secret with the form.
            editing.set(None);
            Ok::<_, ClientError>(())
        }
    });
    let (default_address, default_opt_out) = default_attributes(channel);
    let receipt_url = format!("{}/api/v1/receipts/{}", page_origin(), channel.as_str());
    let provider = match draft.provider {
        None => view! { <RelayReports draft receipt_url/> }.into_any(),
        Some(provider) => view! { <ProviderFields channel provider receipt_url/> }.into_any(),
    };
    view! {
        <form class="webhook-form channel-form" aria-label="Channel settings" on:submit=move |event| {
            event.prevent_default();
            save.dispatch(());
        }>
            <h2>{format!("{} channel", channel_label(channel))}</h2>
            <div class="form-grid">
                <TextField label="Address attribute" value=draft.address_attribute
                    placeholder=format!("Default: {default_address}")
                    hint="The contact attribute holding the address on this channel."/>
                <TextField label="Opt-out attribute" value=draft.opt_out_attribute
                    placeholder=format!("Default: {default_opt_out}")
                    hint="Set to true on a contact, it opts them out of this channel."/>
            </div>
            <h3>"Frequency and time"</h3>
            <div class="form-grid">
                <TextField label="At most messages" value=draft.cap_messages
                    placeholder="No cap" hint="Per contact; the ones over it are skipped."/>
                <TextField label="Per hours" value=draft.cap_hours placeholder="24"/>
                <TextField label="Quiet hours start" value=draft.quiet_start placeholder="21:00"
                    hint="In the contact's time zone; messages wait until the end."/>
                <TextField label="Quiet hours end" value=draft.quiet_end placeholder="08:00"/>
                <TextField label="Time zone attribute" value=draft.quiet_zone_attribute
                    placeholder="time_zone"/>
                <TextField label="Default time zone" value=draft.quiet_default_zone
                    placeholder="UTC" hint="For contacts without one, e.g. Europe/Paris."/>
            </div>
            {provider}
            <div class="form-actions">
                <button type="submit" disabled=move || save.pending().get()>"Save"</button>
                <button type="button" class="secondary" on:click=move |_| editing.set(None)>
                    "Cancel"
                </button>
            </div>
            {action_error(save)}
        </form>
    }
}

/// The provider's request, and how its receipts are read.
#[component]
fn ProviderFields(channel: Channel, provider: ProviderDraft, receipt_url: String) -> impl IntoView {
    let has_body = Memo::new(move |_| provider.body_format.get() != ProviderBodyFormat::None);
    view! {
        <PresetChoice channel provider/>
        <h3>"Provider request"</h3>
        <div class="form-grid">
            <TextField label="URL" value=provider.url wide=true
                placeholder="https://api.sms-provider.example/v1/messages"
                hint="Placeholders may appear in its path and query, not in its host. Stored \
                      secrets stay only while the host does."/>
            <MethodChoice method=provider.method/>
            <BodyFormatChoice format=provider.body_format/>
            <Show when=move || has_body.get()>
                <div class="field full">
                    <label class="field-label" for="channel-body">"Body"</label>
                    <textarea class="code" id="channel-body" rows="5"
                        placeholder="To={{message.to}}&Body={{message.text}}"
                        aria-describedby="channel-body-hint"
                        prop:value=provider.body
                        on:input=move |event| provider.body.set(event_target_value(&event))></textarea>
                    <span class="field-hint" id="channel-body-hint">{PLACEHOLDERS}</span>
                </div>
            </Show>
            <AuthFields kind=provider.auth_kind name=provider.auth_name
                secret=provider.auth_secret username_placeholder="account id"
                stored=Signal::derive(move || {
                    provider.auth_stored == Some(provider.auth_kind.get()) && provider.same_host.get()
                })/>
            <TextField label="Answer id path" value=provider.answer_id_path placeholder="$.sid"
                hint="Where the provider's answer gives its id for the message; empty: receipts \
                      name messages by {{message.id}}."/>
        </div>
        <KeyValueRows legend="Headers" name="header" rows=provider.headers.into()
            set_rows=Callback::new(move |rows| provider.headers.set(rows))
            key_placeholder="Idempotency-Key" value_placeholder="{{message.id}}" secret_toggle=true
            hint="Values of headers marked Secret, or named like a credential (Authorization, \
                  X-Api-Key, …), are stored sealed and shown as ********."/>
        <h3>"Delivery receipts"</h3>
        <p class="field-hint">
            "Give the provider this URL for its delivery reports: "
            <code class="receipt-url">{receipt_url}</code>
        </p>
        <ReceiptsFields receipts=provider.receipts secret_kept=provider.same_host.into()
            message_placeholder="$.MessageSid" status_placeholder="$.MessageStatus"/>
    }
}

/// Email's part: it goes out through the server's SMTP relay; the relay's event webhook may
/// report bounces (and deliveries, opens) back.
#[component]
fn RelayReports(draft: Draft, receipt_url: String) -> impl IntoView {
    let reports = draft.relay_reports;
    view! {
        <h3>"SMTP relay"</h3>
        <div class="form-grid">
            <TextField label="SMTP relay URL" value=draft.smtp_url wide=true
                placeholder="smtps://user:password@smtp.example:465"
                hint="smtps:// is TLS throughout; smtp://…:587?tls=required is STARTTLS; plain \
                      smtp:// is unencrypted. Empty: the server's --smtp-url. The password is \
                      stored sealed and shown as ********."/>
        </div>
        <label class="field checkbox wide">
            <input type="checkbox" name="relay-reports" prop:checked=reports
                on:change=move |event| reports.set(event_target_checked(&event))/>
            <span>"Read the relay's reports (bounces, deliveries)"</span>
        </label>
        <Show when=move || reports.get()>
            <p class="field-hint">
                "Give the relay's event webhook this URL: "
                <code class="receipt-url">{receipt_url.clone()}</code>
                " Its reports name a message by the Message-ID Wayfarer gave it (<wf-…@wayfarer>)."
            </p>
            <ReceiptsFields receipts=draft.relay_receipts secret_kept=Signal::derive(|| true)
                message_placeholder="$.mail.commonHeaders.messageId" status_placeholder="$.eventType"/>
        </Show>
    }
}

/// How reports prove they are the sender's, and where they name the message and its status.
#[component]
fn ReceiptsFields(
    receipts: ReceiptsDraft,
    /// Whether a stored secret still applies (a provider's does only while its host stays).
    secret_kept: Signal<bool>,
    message_placeholder: &'static str,
    status_placeholder: &'static str,
) -> impl IntoView {
    view! {
        <div class="form-grid">
            <ReceiptAuthFields receipts secret_kept/>
            <TextField label="Message path" value=receipts.message_path placeholder=message_placeholder
                hint="Where a report names the message; form reports read as an object of \
                      their fields."/>
            <TextField label="Status path" value=receipts.status_path placeholder=status_placeholder
                hint="Where a report gives the message's status."/>
        </div>
        <StatusRows statuses=receipts.statuses/>
    }
}

/// Fills the provider's fields from a preset that fits the channel; none is offered when none
/// fits.
#[component]
fn PresetChoice(channel: Channel, provider: ProviderDraft) -> impl IntoView {
    let presets = LocalResource::new(client::channel_presets);
    let fitting = Memo::new(move |_| {
        presets
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|preset| preset.channels.contains(&channel))
            .collect::<Vec<_>>()
    });
    // What the chosen preset asks the user to fill in.
    let description = RwSignal::new(String::new());
    let choose = move |id: String| {
        let preset = fitting
            .with_untracked(|presets| presets.iter().find(|preset| preset.id == id).cloned());
        if let Some(preset) = &preset {
            provider.fill(&preset.provider);
        }
        description.set(preset.map(|preset| preset.description).unwrap_or_default());
    };
    view! {
        {move || presets.get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
        <Show when=move || fitting.with(|presets| !presets.is_empty())>
            <div class="field preset-choice">
                <label class="field-label" for="channel-preset">"Start from a preset"</label>
                <select id="channel-preset" aria-describedby="channel-preset-description"
                    on:change=move |event| choose(event_target_value(&event))>
                    <option value="" selected>"Choose…"</option>
                    {move || fitting.get().into_iter().map(|preset| view! {
                        <option value=preset.id>{preset.name}</option>
                    }).collect_view()}
                </select>
                <span class="field-hint" id="channel-preset-description">{description}</span>
            </div>
        </Show>
    }
}

#[component]
fn MethodChoice(method: RwSignal<HttpMethod>) -> impl IntoView {
    view! {
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
    }
}

#[component]
fn BodyFormatChoice(format: RwSignal<ProviderBodyFormat>) -> impl IntoView {
    let choice = |option: ProviderBodyFormat, label: &'static str| {
        view! { <option value=option.as_str() selected=move || format.get() == option>{label}</option> }
    };
    view! {
        <label class="field">
            <span class="field-label">"Body format"</span>
            <select on:change=move |event| {
                if let Ok(chosen) = event_target_value(&event).parse::<ProviderBodyFormat>() {
                    format.set(chosen);
                }
            }>
                {choice(ProviderBodyFormat::Json, "JSON")}
                {choice(ProviderBodyFormat::Form, "Form (key=value&…)")}
                {choice(ProviderBodyFormat::None, "None (the message goes in the URL)")}
            </select>
        </label>
    }
}

/// How reports prove they are the provider's own.
#[component]
fn ReceiptAuthFields(receipts: ReceiptsDraft, secret_kept: Signal<bool>) -> impl IntoView {
    let ReceiptsDraft {
        kind: receipt_kind,
        name: receipt_name,
        secret: receipt_secret,
        stored: receipt_stored,
        ..
    } = receipts;
    let choice = |kind: ReceiptAuthKind, label: &'static str| {
        view! { <option value=kind.as_str() selected=move || receipt_kind.get() == kind>{label}</option> }
    };
    let stored =
        Signal::derive(move || receipt_stored == Some(receipt_kind.get()) && secret_kept.get());
    let fields = move || match receipt_kind.get() {
        ReceiptAuthKind::Hmac => view! {
            <TextField label="Signature header" value=receipt_name placeholder="X-Signature"/>
            <SecretField label="Signing secret" typed=receipt_secret stored/>
        }
        .into_any(),
        ReceiptAuthKind::Basic => view! {
            <TextField label="Receipt username" value=receipt_name placeholder="receipts"/>
            <SecretField label="Receipt password" typed=receipt_secret stored/>
        }
        .into_any(),
    };
    view! {
        <label class="field">
            <span class="field-label">"Receipt authentication"</span>
            <select on:change=move |event| {
                if let Some(kind) = ReceiptAuthKind::from_word(&event_target_value(&event)) {
                    receipt_name.set(match kind {
                        ReceiptAuthKind::Hmac => "X-Signature".to_owned(),
                        ReceiptAuthKind::Basic => String::new(),
                    });
                    receipt_kind.set(kind);
                }
            }>
                {choice(ReceiptAuthKind::Hmac, "HMAC-SHA256 signature in a header")}
                {choice(ReceiptAuthKind::Basic, "Basic (username and password)")}
            </select>
        </label>
        {fields}
    }
}

/// The provider's status words that are activities. Rows are drawn by position and again only
/// when one is added or removed, so typing into one keeps its focus.
#[component]
fn StatusRows(statuses: RwSignal<Vec<StatusMapping>>) -> impl IntoView {
    let count = Memo::new(move |_| statuses.with(Vec::len));
    let change = move |index: usize, change: &dyn Fn(&mut StatusMapping)| {
        statuses.update(|all| {
            if let Some(mapping) = all.get_mut(index) {
                change(mapping);
            }
        });
    };
    let row = move |index: usize| {
        let read = move || statuses.with(|all| all.get(index).cloned());
        view! {
            <div class="rule-row">
                <input type="text" aria-label=format!("status {} word", index + 1)
                    placeholder="undelivered"
                    prop:value=move || read().map(|mapping| mapping.status).unwrap_or_default()
                    on:input=move |event| {
                        let word = event_target_value(&event);
                        change(index, &|mapping| mapping.status = word.clone());
                    }/>
                <select aria-label=format!("status {} activity", index + 1) on:change=move |event| {
                    if let Ok(activity) = event_target_value(&event).parse::<Activity>() {
                        change(index, &|mapping| mapping.activity = activity);
                    }
                }>
                    {Activity::ALL.iter().map(|&activity| view! {
                        <option value=activity.as_str()
                            selected=move || read().is_some_and(|mapping| mapping.activity == activity)>
                            {activity.as_str()}
                        </option>
                    }).collect_view()}
                </select>
                <button type="button" class="icon-button" aria-label=format!("Remove status {}", index + 1)
                    on:click=move |_| statuses.update(|all| if index < all.len() { all.remove(index); })
                >"×"</button>
            </div>
        }
    };
    view! {
        <fieldset class="rules">
            <legend>"Statuses"</legend>
            {move || (0..count.get()).map(row).collect_view()}
            <button type="button" class="secondary" on:click=move |_| statuses.update(|all| {
                all.push(StatusMapping { status: String::new(), activity: Activity::Delivered });
            })>"+ Add status"</button>
            <span class="field-hint">
                "Empty: the usual words (delivered, read/opened, clicked, failed/undelivered, \
                 bounced) and nothing else."
            </span>
        </fieldset>
    }
}

/// A labelled line of text. Its hint sits beside the label, not in it, so that the input's
/// name is the label alone.
#[component]
fn TextField(
    label: &'static str,
    value: RwSignal<String>,
    #[prop(into)] placeholder: String,
    #[prop(optional)] hint: &'static str,
    /// Two columns of the grid.
    #[prop(optional)]
    wide: bool,
) -> impl IntoView {
    let id = field_id(label);
    let hint_id = format!("{id}-hint");
    view! {
        <div class=if wide { "field wide" } else { "field" }>
            <label class="field-label" for=id.clone()>{label}</label>
            <input type="text" id=id placeholder=placeholder prop:value=value
                aria-describedby=(!hint.is_empty()).then(|| hint_id.clone())
                on:input=move |event| value.set(event_target_value(&event))/>
            {(!hint.is_empty()).then(|| view! { <span class="field-hint" id=hint_id>{hint}</span> })}
        </div>
    }
}

/// The id of the form's field labelled `label` (one form is open at a time).
fn field_id(label: &str) -> String {
    format!("channel-{}", label.to_ascii_lowercase().replace(' ', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_leave_out_user_info_path_and_case() {
        assert_eq!(
            origin_of("https://acct:********@SMS.example:8443/send?to={{message.to}}"),
            "https://sms.example:8443"
        );
        assert_eq!(
            origin_of(" http://127.0.0.1:4000#top "),
            "http://127.0.0.1:4000"
        );
        assert_ne!(
            origin_of("https://sms.example/send"),
            origin_of("https://elsewhere.example/send")
        );
    }

    #[test]
    fn a_stored_provider_is_shown_without_its_secrets() {
        let stored = ProviderOut {
            url: "https://sms.example/send".to_owned(),
            method: HttpMethod::Put,
            body_format: ProviderBodyFormat::Form,
            body: "Body={{message.text}}".to_owned(),
            headers: Vec::new(),
            auth: AuthOut::Basic {
                username: "acct".to_owned(),
                password_set: true,
            },
            answer_id_path: "$.sid".to_owned(),
            receipts: ReceiptsOut {
                auth: ReceiptAuthOut::Hmac {
                    header: "X-Signature".to_owned(),
                    secret_set: true,
                },
                message_path: "$.ref".to_owned(),
                status_path: "$.status".to_owned(),
                statuses: Vec::new(),
            },
        };
        let shown = without_secrets(&stored);
        assert_eq!(shown.method, Some(HttpMethod::Put));
        assert_eq!(
            shown.auth,
            AuthIn::Basic {
                username: "acct".to_owned(),
                password: None
            }
        );
        assert_eq!(
            shown.receipts.auth,
            ReceiptAuthIn::Hmac {
                header: "X-Signature".to_owned(),
                secret: None
            }
        );
    }
}
