//! Webhook assets: what a marketer configures, checked when saved so that problems surface in
//! the form rather than in a failed delivery hours later; and the secrets that go with them.

pub mod health;
pub mod mask;
pub mod usage;

use app::{
    api::{
        AlertDigest, AuthIn, AuthKind, AuthOut, Batching, BodyFormat, HttpMethod, WebhookIn,
        WebhookOut, WebhookPatch,
    },
    ids::WebhookId,
    journey::KeyValue,
    template::{Scope, Template},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};

use crate::{clock::Millis, store::WebhookRow};

const MAX_NAME_CHARS: usize = 200;
const DEFAULT_RETRY_WINDOW_HOURS: u32 = 12;
const MAX_ALERT_EMAILS: usize = 20;
const MAX_RETRY_WINDOW_HOURS: u32 = 72;
/// Svix disables an endpoint after five days of failures; a day is shorter because the
/// webhook then holds its requests rather than dropping them.
const DEFAULT_DISABLE_AFTER_FAILING_HOURS: u32 = 24;
const MAX_DISABLE_AFTER_FAILING_HOURS: u32 = 720;
const DEFAULT_ALERT_EVERY_MINUTES: u32 = 60;
/// A week.
const MAX_ALERT_EVERY_MINUTES: u32 = 10_080;
const MAX_REQUESTS_PER_SECOND: u32 = 10_000;
/// A thousand envelopes of a few kilobytes: a body of a few megabytes at most.
const MAX_BATCH_SIZE: u32 = 1_000;
/// Five minutes: longer, a batch would be news of the past.
const MAX_BATCH_WAIT_SECONDS: u32 = 300;
/// Headers Wayfarer sets itself on every request, and the hop-by-hop ones HTTP gives to the
/// connection rather than the receiver: a custom header or an API key header may be none of
/// them.
const RESERVED_HEADERS: [&str; 12] = [
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
];

/// Why a webhook may not name `message.*`: it sends no message.
const NO_MESSAGE_HERE: &str = "message.* placeholders belong in a channel provider's request; \
     a webhook sends no message.";

/// Everything wrong with a webhook's settings, each a sentence saying what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join(" "))]
pub struct InvalidWebhook(pub Vec<String>);

/// A stored row that this server cannot read back (edited by hand, or a bug).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook {id} is stored unreadably: {reason}")]
pub struct CorruptWebhook {
    pub id: WebhookId,
    pub reason: String,
}

/// How requests authenticate, with their secrets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Auth {
    None,
    Basic { username: String, password: String },
    Bearer { token: String },
    ApiKey { header: String, key: String },
}

/// A webhook's settings, typed; what the row stores as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub name: String,
    pub url: String,
    pub method: HttpMethod,
    pub body_format: BodyFormat,
    pub contact_fields: Vec<String>,
    pub custom_data: Vec<KeyValue>,
    pub headers: Vec<KeyValue>,
    pub auth: Auth,
    pub retry_window_hours: u32,
    /// Disables itself once every request has failed for this long; 0: never.
    pub disable_after_failing_hours: u32,
    /// At most this many requests a second, from all processes together; 0: no limit.
    pub max_requests_per_second: u32,
    pub alert_emails: Vec<String>,
    /// Off keeps the addresses and sends nothing.
    pub alerts_enabled: bool,
    /// At most one alert email every this many minutes; failures in between go in the next.
    pub alert_every_minutes: u32,
    pub alert_digest: AlertDigest,
    /// Deliveries sent together; `None`: one request each.
    pub batch: Option<Batching>,
}

impl Settings {
    /// The settings of a new webhook; secrets the chosen authentication needs are required.
    pub fn from_input(input: WebhookIn) -> Result<Self, InvalidWebhook> {
        let mut problems = Vec::new();
        let auth = auth_from_input(input.auth, &Auth::None, &mut problems);
        let settings = Self {
            method: input.method.unwrap_or(match input.body_format {
                BodyFormat::Query => HttpMethod::Get,
                BodyFormat::Json | BodyFormat::Form => HttpMethod::Post,
            }),
            name: input.name.trim().to_owned(),
            url: input.url.trim().to_owned(),
            body_format: input.body_format,
            contact_fields: input.contact_fields,
            custom_data: input.custom_data,
            headers: trimmed_names(input.headers),
            auth,
            retry_window_hours: input
                .retry_window_hours
                .unwrap_or(DEFAULT_RETRY_WINDOW_HOURS),
            disable_after_failing_hours: input
                .disable_after_failing_hours
                .unwrap_or(DEFAULT_DISABLE_AFTER_FAILING_HOURS),
            max_requests_per_second: input.max_requests_per_second.unwrap_or(0),
            alert_emails: trimmed(input.alert_emails),
            alerts_enabled: input.alerts_enabled.unwrap_or(true),
            alert_every_minutes: input
                .alert_every_minutes
                .unwrap_or(DEFAULT_ALERT_EVERY_MINUTES),
            alert_digest: input.alert_digest.unwrap_or_default(),
            batch: input.batch.map(trimmed_batch),
        };
        settings.checked(problems)
    }

    /// These settings with the patch applied; a secret the patch leaves out is kept when the
    /// kind of authentication stays the same and the URL keeps its origin. A stored secret
    /// never follows the URL to another scheme, host or port: the patch must give it again
    /// (or no authentication), else the Test button would hand it to the new host.
    pub fn patched(self, patch: WebhookPatch) -> Result<Self, InvalidWebhook> {
        let mut problems = Vec::new();
        // A form shows the masked settings; what it sends back masked keeps the stored value.
        let url = patch.url.map_or(self.url.clone(), |url| {
            mask::unmasked_url(url.trim().to_owned(), &self.url)
        });
        let moved = !same_origin(&self.url, &url);
        let kept = if moved { &Auth::None } else { &self.auth };
        let auth = match patch.auth {
            Some(auth) => auth_from_input(auth, kept, &mut problems),
            None if moved && self.auth != Auth::None => {
                problems.push(
                    "The URL now points to another host: enter the authentication's secret \
                     again (it is not sent to a new host unless you do), or choose no \
                     authentication."
                        .to_owned(),
                );
                Auth::None
            }
            None => self.auth.clone(),
        };
        let body_format = patch.body_format.unwrap_or(self.body_format);
        let settings = Self {
            name: patch.name.map_or(self.name, |name| name.trim().to_owned()),
            url,
            method: patch.method.unwrap_or(self.method),
            body_format,
            contact_fields: patch.contact_fields.unwrap_or(self.contact_fields),
            custom_data: patch.custom_data.unwrap_or(self.custom_data),
            headers: patched_headers(patch.headers, &self.headers, moved, &mut problems),
            auth,
            retry_window_hours: patch.retry_window_hours.unwrap_or(self.retry_window_hours),
            disable_after_failing_hours: patch
                .disable_after_failing_hours
                .unwrap_or(self.disable_after_failing_hours),
            max_requests_per_second: patch
                .max_requests_per_second
                .unwrap_or(self.max_requests_per_second),
            alert_emails: patch.alert_emails.map_or(self.alert_emails, trimmed),
            alerts_enabled: patch.alerts_enabled.unwrap_or(self.alerts_enabled),
            alert_every_minutes: patch
                .alert_every_minutes
                .unwrap_or(self.alert_every_minutes),
            alert_digest: patch.alert_digest.unwrap_or(self.alert_digest),
            batch: patch
                .batch
                .map_or(self.batch, |batch| batch.map(trimmed_batch)),
        };
        settings.checked(problems)
    }

    fn checked(self, mut problems: Vec<String>) -> Result<Self, InvalidWebhook> {
        if self.name.is_empty() {
            problems.push("A webhook needs a name.".to_owned());
        } else if self.name.chars().count() > MAX_NAME_CHARS {
            problems.push(format!(
                "A webhook name has at most {MAX_NAME_CHARS} characters."
            ));
        }
        check_url(&self.url, false, &mut problems);
        match (self.body_format, self.method) {
            (BodyFormat::Query, HttpMethod::Get | HttpMethod::Post) => {}
            (BodyFormat::Query, method) => problems.push(format!(
                "The query format sends no body, so it uses GET or POST, not {}.",
                method.as_str()
            )),
            (format, HttpMethod::Get) => problems.push(format!(
                "The {} format sends a body, which GET cannot carry: use POST, PUT or PATCH.",
                format.as_str()
            )),
            _ => {}
        }
        check_contact_fields(&self.contact_fields, &mut problems);
        check_pairs("custom data", &self.custom_data, false, &mut problems);
        check_pairs("header", &self.headers, false, &mut problems);
        check_headers(&self.headers, &self.auth, &mut problems);
        check_alert_emails(&self.alert_emails, &mut problems);
        if !(1..=MAX_RETRY_WINDOW_HOURS).contains(&self.retry_window_hours) {
            problems.push(format!(
                "The retry window is between 1 and {MAX_RETRY_WINDOW_HOURS} hours."
            ));
        }
        if self.max_requests_per_second > MAX_REQUESTS_PER_SECOND {
            problems.push(format!(
                "max_requests_per_second is at most {MAX_REQUESTS_PER_SECOND}; 0 sets no limit."
            ));
        }
        if self.disable_after_failing_hours > MAX_DISABLE_AFTER_FAILING_HOURS {
            problems.push(format!(
                "disable_after_failing_hours is at most {MAX_DISABLE_AFTER_FAILING_HOURS} (30 \
                 days); 0 never disables the webhook."
            ));
        }
        if !(1..=MAX_ALERT_EVERY_MINUTES).contains(&self.alert_every_minutes) {
            problems.push(format!(
                "alert_every_minutes is between 1 and {MAX_ALERT_EVERY_MINUTES} (a week)."
            ));
        }
        if let Some(batch) = &self.batch {
            check_batch(batch, self.body_format, &mut problems);
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(InvalidWebhook(problems))
        }
    }

    /// The row for these settings; `base` supplies what settings do not cover (id, secrets
    /// for signing, state, times).
    pub fn into_row(self, base: WebhookRow) -> WebhookRow {
        let (auth_type, auth_name, auth_secret) = match self.auth {
            Auth::None => (AuthKind::None, None, None),
            Auth::Basic { username, password } => (AuthKind::Basic, Some(username), Some(password)),
            Auth::Bearer { token } => (AuthKind::Bearer, None, Some(token)),
            Auth::ApiKey { header, key } => (AuthKind::ApiKey, Some(header), Some(key)),
        };
        WebhookRow {
            name: self.name,
            url: self.url,
            method: self.method,
            body_format: self.body_format,
            contact_fields: json_text(&self.contact_fields),
            custom_data: json_text(&self.custom_data),
            headers: json_text(&self.headers),
            auth_type,
            auth_name,
            auth_secret,
            retry_window_hours: i64::from(self.retry_window_hours),
            disable_after_failing_hours: i64::from(self.disable_after_failing_hours),
            max_requests_per_second: i64::from(self.max_requests_per_second),
            alert_emails: json_text(&self.alert_emails),
            alerts_enabled: i64::from(self.alerts_enabled),
            alert_every_minutes: i64::from(self.alert_every_minutes),
            alert_digest: self.alert_digest,
            batch: self.batch.as_ref().map(json_text),
            ..base
        }
    }

    pub fn from_row(row: &WebhookRow) -> Result<Self, CorruptWebhook> {
        let corrupt = |reason: String| CorruptWebhook { id: row.id, reason };
        let auth = match (
            row.auth_type,
            row.auth_name.clone(),
            row.auth_secret.clone(),
        ) {
            (AuthKind::None, _, _) => Auth::None,
            (AuthKind::Basic, Some(username), Some(password)) => Auth::Basic { username, password },
            (AuthKind::Bearer, _, Some(token)) => Auth::Bearer { token },
            (AuthKind::ApiKey, Some(header), Some(key)) => Auth::ApiKey { header, key },
            (kind, _, _) => return Err(corrupt(format!("incomplete {kind} authentication"))),
        };
        Ok(Self {
            name: row.name.clone(),
            url: row.url.clone(),
            method: row.method,
            body_format: row.body_format,
            contact_fields: serde_json::from_str(&row.contact_fields)
                .map_err(|error| corrupt(format!("contact fields: {error}")))?,
            custom_data: serde_json::from_str(&row.custom_data)
                .map_err(|error| corrupt(format!("custom data: {error}")))?,
            headers: serde_json::from_str(&row.headers)
                .map_err(|error| corrupt(format!("headers: {error}")))?,
            auth,
            retry_window_hours: u32::try_from(row.retry_window_hours)
                .map_err(|error| corrupt(format!("retry window: {error}")))?,
            disable_after_failing_hours: u32::try_from(row.disable_after_failing_hours)
                .map_err(|error| corrupt(format!("disable after failing: {error}")))?,
            max_requests_per_second: u32::try_from(row.max_requests_per_second)
                .map_err(|error| corrupt(format!("max requests per second: {error}")))?,
            alert_emails: serde_json::from_str(&row.alert_emails)
                .map_err(|error| corrupt(format!("alert emails: {error}")))?,
            alerts_enabled: row.alerts_enabled != 0,
            alert_every_minutes: u32::try_from(row.alert_every_minutes)
                .map_err(|error| corrupt(format!("alert every minutes: {error}")))?,
            alert_digest: row.alert_digest,
            batch: row
                .batch
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|error| corrupt(format!("batch: {error}")))?,
        })
    }
}

/// The batch key without the spaces around it.
fn trimmed_batch(batch: Batching) -> Batching {
    Batching {
        key: batch.key.trim().to_owned(),
        ..batch
    }
}

/// Batches go in a body, within bounds a receiver can take.
fn check_batch(batch: &Batching, body_format: BodyFormat, problems: &mut Vec<String>) {
    if body_format == BodyFormat::Query {
        problems.push(
            "batch: the query format sends one delivery in the URL; batches need the json or \
             form format."
                .to_owned(),
        );
    }
    if !(1..=MAX_BATCH_SIZE).contains(&batch.max_size) {
        problems.push(format!("batch.max_size is between 1 and {MAX_BATCH_SIZE}."));
    }
    if batch.max_wait_seconds > MAX_BATCH_WAIT_SECONDS {
        problems.push(format!(
            "batch.max_wait_seconds is at most {MAX_BATCH_WAIT_SECONDS}."
        ));
    }
    if batch.key.is_empty() || batch.key.chars().count() > MAX_NAME_CHARS {
        problems.push(format!(
            "batch.key names the list in the body: 1 to {MAX_NAME_CHARS} characters."
        ));
    }
}

/// A new row for these settings, with a fresh signing secret.
pub fn new_row(settings: Settings, now: Millis) -> Result<WebhookRow, getrandom::Error> {
    let base = WebhookRow {
        id: WebhookId(0),
        name: String::new(),
        url: String::new(),
        method: settings.method,
        body_format: settings.body_format,
        contact_fields: String::new(),
        custom_data: String::new(),
        headers: String::new(),
        auth_type: AuthKind::None,
        auth_name: None,
        auth_secret: None,
        signing_secret: generate_signing_secret()?,
        previous_signing_secret: None,
        previous_secret_expires_at: None,
        retry_window_hours: 0,
        alert_emails: String::new(),
        alerted_at: None,
        enabled: 1,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        disable_after_failing_hours: 0,
        failing_since: None,
        max_requests_per_second: 0,
        disabled_at: None,
        alert_every_minutes: i64::from(DEFAULT_ALERT_EVERY_MINUTES),
        alerts_enabled: 1,
        alert_digest: AlertDigest::Immediate,
        paused_until: None,
        batch: None,
    };
    Ok(settings.into_row(base))
}

/// The webhook as the API shows it at `now`: every setting, no secret.
pub fn webhook_out(row: &WebhookRow, now: Millis) -> Result<WebhookOut, CorruptWebhook> {
    let settings = Settings::from_row(row)?;
    let auth = auth_out(&settings.auth);
    Ok(WebhookOut {
        id: row.id,
        name: settings.name,
        url: mask::masked_url(&settings.url),
        method: settings.method,
        body_format: settings.body_format,
        contact_fields: settings.contact_fields,
        custom_data: settings.custom_data,
        headers: mask::masked_headers(&settings.headers),
        auth,
        retry_window_hours: settings.retry_window_hours,
        disable_after_failing_hours: settings.disable_after_failing_hours,
        max_requests_per_second: settings.max_requests_per_second,
        alert_emails: settings.alert_emails,
        alerts_enabled: settings.alerts_enabled,
        alert_every_minutes: settings.alert_every_minutes,
        alert_digest: settings.alert_digest,
        batch: settings.batch,
        enabled: row.is_enabled(),
        disabled_reason: row.disabled_reason.clone(),
        failing_since: row.failing_since,
        disabled_at: row.disabled_at,
        paused_until: row.paused_until.filter(|until| *until > now),
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The authentication as answers show it: whether each secret is set, never the secret.
pub(crate) fn auth_out(auth: &Auth) -> AuthOut {
    match auth {
        Auth::None => AuthOut::None,
        Auth::Basic { username, password } => AuthOut::Basic {
            username: username.clone(),
            password_set: !password.is_empty(),
        },
        Auth::Bearer { token } => AuthOut::Bearer {
            token_set: !token.is_empty(),
        },
        Auth::ApiKey { header, key } => AuthOut::ApiKey {
            header: header.clone(),
            key_set: !key.is_empty(),
        },
    }
}

/// Header names as they are sent: `" X-Tenant "` is stored and sent as `X-Tenant`.
pub(crate) fn trimmed_names(headers: Vec<KeyValue>) -> Vec<KeyValue> {
    headers
        .into_iter()
        .map(|header| KeyValue {
            key: header.key.trim().to_owned(),
            ..header
        })
        .collect()
}

fn trimmed(addresses: Vec<String>) -> Vec<String> {
    addresses
        .into_iter()
        .map(|address| address.trim().to_owned())
        .filter(|address| !address.is_empty())
        .collect()
}

/// Addresses that can be written to: a local part, one `@`, a domain with a dot, no spaces.
fn check_alert_emails(addresses: &[String], problems: &mut Vec<String>) {
    if addresses.len() > MAX_ALERT_EMAILS {
        problems.push(format!(
            "A webhook alerts at most {MAX_ALERT_EMAILS} addresses."
        ));
    }
    for address in addresses {
        let valid = match address.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !address.contains(char::is_whitespace)
                    && !domain.contains('@')
            }
            None => false,
        };
        if !valid {
            problems.push(format!(
                "\"{address}\" is not an email address (write it like ops@example.com)."
            ));
        }
    }
}

/// `whsec_` and 24 random bytes in base64, the Standard Webhooks secret format.
pub fn generate_signing_secret() -> Result<String, getrandom::Error> {
    let mut key = [0_u8; 24];
    getrandom::fill(&mut key)?;
    Ok(format!("whsec_{}", STANDARD.encode(key)))
}

/// The headers after an edit. A credential header (marked secret, or named like one) sent back
/// masked, or left out of the edit, keeps its stored value, unless the URL moved to another
/// origin: then, like the authentication's secret, it must be typed again or removed.
fn patched_headers(
    patch: Option<Vec<KeyValue>>,
    stored: &[KeyValue],
    moved: bool,
    problems: &mut Vec<String>,
) -> Vec<KeyValue> {
    let is_credential = |header: &KeyValue| header.secret || mask::is_sensitive_name(&header.key);
    match patch {
        Some(headers) => {
            let kept: Vec<String> = headers
                .iter()
                .filter(|header| header.value == mask::MASK)
                .map(|header| header.key.trim().to_owned())
                .collect();
            let unmasked = trimmed_names(mask::unmasked_headers(headers, stored));
            if moved {
                for header in unmasked.iter().filter(|header| {
                    kept.iter().any(|key| key.eq_ignore_ascii_case(&header.key))
                        && header.value != mask::MASK
                }) {
                    problems.push(moved_header_problem(&header.key));
                }
            }
            unmasked
        }
        None => {
            if moved {
                for header in stored.iter().filter(|header| is_credential(header)) {
                    problems.push(moved_header_problem(&header.key));
                }
            }
            stored.to_vec()
        }
    }
}

fn moved_header_problem(name: &str) -> String {
    format!(
        "The URL now points to another host: enter the value of the header \"{name}\" again \
         (a stored credential is not sent to a new host unless you do), or remove the header."
    )
}

/// Whether two webhook URLs send to the same scheme, host and port (placeholders cannot be
/// there, so the templates parse as URLs); a URL that does not parse is another origin.
pub(crate) fn same_origin(before: &str, after: &str) -> bool {
    match (url::Url::parse(before), url::Url::parse(after)) {
        (Ok(before), Ok(after)) => before.origin() == after.origin(),
        _ => false,
    }
}

/// The row with a new signing secret; the old one keeps signing until `now + overlap`.
pub fn rotated(
    row: WebhookRow,
    overlap_millis: Millis,
    now: Millis,
) -> Result<WebhookRow, getrandom::Error> {
    Ok(WebhookRow {
        previous_signing_secret: Some(row.signing_secret.clone()),
        previous_secret_expires_at: Some(now + overlap_millis),
        signing_secret: generate_signing_secret()?,
        updated_at: now,
        ..row
    })
}

pub(crate) fn auth_from_input(input: AuthIn, current: &Auth, problems: &mut Vec<String>) -> Auth {
    let mut secret = |given: Option<String>, kept: Option<&String>, what: &str| -> String {
        match given.or_else(|| kept.cloned()) {
            Some(secret) if !secret.is_empty() => secret,
            _ => {
                problems.push(format!("This authentication needs a {what}."));
                String::new()
            }
        }
    };
    match input {
        AuthIn::None => Auth::None,
        AuthIn::Basic { username, password } => {
            let kept = match current {
                Auth::Basic { password, .. } => Some(password),
                _ => None,
            };
            let password = secret(password, kept, "password");
            if username.trim().is_empty() {
                problems.push("Basic authentication needs a user name.".to_owned());
            }
            Auth::Basic { username, password }
        }
        AuthIn::Bearer { token } => {
            let kept = match current {
                Auth::Bearer { token } => Some(token),
                _ => None,
            };
            Auth::Bearer {
                token: secret(token, kept, "token"),
            }
        }
        AuthIn::ApiKey { header, key } => {
            let kept = match current {
                Auth::ApiKey { key, .. } => Some(key),
                _ => None,
            };
            let key = secret(key, kept, "key");
            let header = header.trim().to_owned();
            if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                problems.push(format!(
                    "\"{header}\" is not a header name; API keys go in a header such as X-API-Key."
                ));
            } else if RESERVED_HEADERS.contains(&header.to_ascii_lowercase().as_str()) {
                problems.push(format!(
                    "The header \"{header}\" is set by Wayfarer itself; put the API key in another \
                     header, such as X-API-Key."
                ));
            }
            Auth::ApiKey { header, key }
        }
    }
}

/// Checks a request URL template; `message` allows `message.*` placeholders (a provider's).
pub(crate) fn check_url(url: &str, message: bool, problems: &mut Vec<String>) {
    let template = match Template::parse(url) {
        Ok(template) => template,
        Err(error) => {
            problems.push(format!("The URL has a bad placeholder: {error}."));
            return;
        }
    };
    if !message && template.uses(Scope::Message) {
        problems.push(NO_MESSAGE_HERE.to_owned());
    }
    // Placeholders are filled per contact; a sample value shows whether the rest is a URL.
    let sample = template.fill(|_| "sample".to_owned());
    match url::Url::parse(&sample) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            if !authority_is_fixed(&template) {
                problems.push(
                    "Placeholders may not appear in the URL's scheme, host, port or user name: \
                     contact data could send the request elsewhere. Put them in the path or the \
                     query."
                        .to_owned(),
                );
            }
        }
        Ok(parsed) => problems.push(format!(
            "The URL must start with http:// or https:// and name a host, not {}:.",
            parsed.scheme()
        )),
        Err(error) => problems.push(format!("The URL is not valid ({error}).")),
    }
}

/// Whether the URL's scheme and authority (user, host, port) are the same whatever the
/// placeholders hold: filled with a marker, none of them may contain it.
pub(crate) fn authority_is_fixed(url: &Template) -> bool {
    const MARK: &str = "wayfarerplaceholder";
    match url::Url::parse(&url.fill(|_| MARK.to_owned())) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or_default();
            ![
                parsed.scheme(),
                host,
                parsed.username(),
                parsed.password().unwrap_or_default(),
            ]
            .iter()
            .any(|part| part.to_ascii_lowercase().contains(MARK))
        }
        // A marker that breaks the URL sits where only literal text may be (a port, say).
        Err(_) => false,
    }
}

fn check_contact_fields(fields: &[String], problems: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    for field in fields {
        if field.trim().is_empty() {
            problems.push("A contact field to send has no name.".to_owned());
        } else if !seen.insert(field) {
            problems.push(format!("The contact field \"{field}\" is listed twice."));
        }
    }
}

pub(crate) fn check_pairs(
    what: &str,
    pairs: &[KeyValue],
    message: bool,
    problems: &mut Vec<String>,
) {
    let mut seen = std::collections::HashSet::new();
    for pair in pairs {
        if pair.key.trim().is_empty() {
            problems.push(format!("A {what} entry has no name."));
        } else if !seen.insert(pair.key.to_ascii_lowercase()) {
            problems.push(format!("The {what} \"{}\" is given twice.", pair.key));
        }
        match Template::parse(&pair.value) {
            Ok(template) if !message && template.uses(Scope::Message) => {
                problems.push(format!("The {what} \"{}\": {NO_MESSAGE_HERE}", pair.key))
            }
            Ok(_) => {}
            Err(error) => problems.push(format!(
                "The {what} \"{}\" has a bad placeholder: {error}.",
                pair.key
            )),
        }
    }
}

pub(crate) fn check_headers(headers: &[KeyValue], auth: &Auth, problems: &mut Vec<String>) {
    for header in headers {
        let name = header.key.trim().to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            problems.push(format!("\"{}\" is not a valid header name.", header.key));
        } else if RESERVED_HEADERS.contains(&name.as_str()) {
            problems.push(format!(
                "The header \"{}\" is set by Wayfarer itself.",
                header.key
            ));
        } else if name == "authorization"
            && matches!(auth, Auth::Basic { .. } | Auth::Bearer { .. })
        {
            problems.push(
                "The Authorization header comes from the authentication settings; remove it \
                 from the custom headers."
                    .to_owned(),
            );
        } else if let Auth::ApiKey {
            header: key_header, ..
        } = auth
            && key_header.eq_ignore_ascii_case(&name)
        {
            problems.push(format!(
                "The header \"{}\" carries the API key; remove it from the custom headers.",
                header.key
            ));
        }
        if header.value.contains(['\r', '\n']) {
            problems.push(format!(
                "The header \"{}\" has a line break in its value.",
                header.key
            ));
        }
    }
}

fn json_text<T: serde::Serialize>(value: &T) -> String {
    // Serialising strings and string pairs cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_may_fill_the_path_and_query_but_not_the_authority() {
        let fixed = |url: &str| authority_is_fixed(&Template::parse(url).expect("a template"));
        assert!(fixed(
            "https://example.com/{{contact.x}}?list={{event.list_id}}"
        ));
        assert!(fixed("https://example.com/hook"));
        assert!(!fixed("https://api.example.com{{contact.x}}/p"));
        assert!(!fixed("https://{{contact.x}}.example.com/"));
        assert!(!fixed("https://u{{contact.x}}@example.com/"));
        assert!(!fixed("https://example.com:{{contact.port}}/"));
    }

    #[test]
    fn alert_addresses_must_be_email_addresses() {
        let mut problems = Vec::new();
        check_alert_emails(
            &[
                "ops@example.com".to_owned(),
                "ops".to_owned(),
                "ops@localhost".to_owned(),
                "o ps@example.com".to_owned(),
                "@example.com".to_owned(),
            ],
            &mut problems,
        );
        assert_eq!(
            problems,
            vec![
                "\"ops\" is not an email address (write it like ops@example.com).",
                "\"ops@localhost\" is not an email address (write it like ops@example.com).",
                "\"o ps@example.com\" is not an email address (write it like ops@example.com).",
                "\"@example.com\" is not an email address (write it like ops@example.com).",
            ]
        );
        let many: Vec<String> = (0..21).map(|n| format!("ops{n}@example.com")).collect();
        let mut problems = Vec::new();
        check_alert_emails(&many, &mut problems);
        assert_eq!(problems, vec!["A webhook alerts at most 20 addresses."]);
        assert_eq!(
            trimmed(vec![" a@example.com ".to_owned(), "  ".to_owned()]),
            vec!["a@example.com"]
        );
    }
}
