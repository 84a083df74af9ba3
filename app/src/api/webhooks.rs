//! `/api/v1/webhooks`: where webhook nodes send contacts' data, and how.

use serde::{Deserialize, Serialize};

use crate::{ids::WebhookId, journey::KeyValue};

/// `POST /api/v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "CRM", "url": "https://crm.example/hook/{{contact.external_id}}", "body_format": "json", "contact_fields": ["email"], "custom_data": [{"key": "plan", "value": "{{contact.plan | default: \"free\"}}"}], "auth": {"type": "bearer", "token": "t0ken"}, "retry_window_hours": 12})))]
pub struct WebhookIn {
    pub name: String,
    /// http(s) URL; may contain placeholders such as `{{contact.external_id}}`.
    pub url: String,
    /// Defaults to POST (GET for the `query` format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    #[serde(default)]
    pub body_format: BodyFormat,
    /// The contact attributes sent in `data.contact` (the external id always is).
    #[serde(default)]
    pub contact_fields: Vec<String>,
    /// Sent in `data.custom_data`; values may contain placeholders.
    #[serde(default)]
    pub custom_data: Vec<KeyValue>,
    /// Extra request headers; values may contain placeholders.
    #[serde(default)]
    pub headers: Vec<KeyValue>,
    #[serde(default)]
    pub auth: AuthIn,
    /// How long a request that is not accepted is retried, from its first attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_window_hours: Option<u32>,
    /// The webhook disables itself once every request has failed for this long (default 24;
    /// 0: never); its requests are then held, not failed, until it is enabled again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_after_failing_hours: Option<u32>,
    /// At most this many requests a second, from all server processes together (default 0:
    /// no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_second: Option<u32>,
    /// Who is emailed when requests fail for good.
    #[serde(default)]
    pub alert_emails: Vec<String>,
    /// Whether alert emails go out (default true); off keeps `alert_emails` for later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts_enabled: Option<bool>,
    /// At most one alert email every this many minutes (1–10,080, default 60); failures in
    /// between are added up in the next one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_every_minutes: Option<u32>,
    /// `immediate` (default), or failures gathered in an `hourly` or `daily` digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_digest: Option<AlertDigest>,
    /// Send deliveries together, several in one request (absent: one request each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Batching>,
}

/// How a webhook sends its deliveries together: whatever is due within `max_wait_seconds` of
/// the first, up to `max_size`, in one request whose body is `{"<key>": [envelope, …]}` (JSON)
/// or `data=<that JSON>` (form). Each envelope is the delivery's own, with its own `id`; the
/// request is signed once, over the batch; its answer applies to each delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Batching {
    /// At most this many deliveries per request: 1 to 1,000 (default 100).
    #[serde(default = "default_batch_size")]
    pub max_size: u32,
    /// How long the first delivery due waits for others to join it: 0 to 300 seconds (default
    /// 5). Deliveries due at once go together even with 0.
    #[serde(default = "default_batch_wait")]
    pub max_wait_seconds: u32,
    /// The key holding the list (default `events`), e.g. the receiver's account name.
    #[serde(default = "default_batch_key")]
    pub key: String,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            max_size: default_batch_size(),
            max_wait_seconds: default_batch_wait(),
            key: default_batch_key(),
        }
    }
}

fn default_batch_size() -> u32 {
    100
}

fn default_batch_wait() -> u32 {
    5
}

fn default_batch_key() -> String {
    "events".to_owned()
}

/// `null` as `Some(None)` (turn it off), absent as `None` (keep it): what a PATCH of an optional
/// setting needs.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PATCH /api/v1/webhooks/{id}`: only the fields present change. In `auth`, a secret left
/// out keeps the one stored, so a form can be saved without re-entering passwords.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_format: Option<BodyFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<Vec<KeyValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<KeyValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_window_hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_after_failing_hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_second: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_emails: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_every_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_digest: Option<AlertDigest>,
    /// Batching settings; `null` turns batching off.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Batching>, nullable))]
    pub batch: Option<Option<Batching>>,
    /// Disable the webhook (its requests are held, not sent and not failed) or enable it
    /// (what it held is sent, oldest first, each with a fresh retry window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Every field of the settings, as a replacement of the stored ones (the enabled state stays):
/// what a form that shows the whole webhook sends when it edits one.
impl From<WebhookIn> for WebhookPatch {
    fn from(input: WebhookIn) -> Self {
        Self {
            name: Some(input.name),
            url: Some(input.url),
            method: input.method,
            body_format: Some(input.body_format),
            contact_fields: Some(input.contact_fields),
            custom_data: Some(input.custom_data),
            headers: Some(input.headers),
            auth: Some(input.auth),
            retry_window_hours: input.retry_window_hours,
            disable_after_failing_hours: input.disable_after_failing_hours,
            max_requests_per_second: input.max_requests_per_second,
            alert_emails: Some(input.alert_emails),
            alert_every_minutes: input.alert_every_minutes,
            alerts_enabled: input.alerts_enabled,
            alert_digest: input.alert_digest,
            batch: Some(input.batch),
            enabled: None,
        }
    }
}

crate::text_enum! {
    /// How a webhook's failures for good are told by email. Disablings are told at once
    /// whatever this says.
    #[derive(Default)]
    pub enum AlertDigest {
        /// The first at once, then at most one email every `alert_every_minutes`.
        #[default]
        Immediate = "immediate",
        /// Gathered, and sent just after each hour (UTC) that had some.
        Hourly = "hourly",
        /// Gathered, and sent just after midnight (UTC).
        Daily = "daily",
    }
}

crate::text_enum! {
    pub enum HttpMethod {
        Get = "GET",
        Post = "POST",
        Put = "PUT",
        Patch = "PATCH",
    }
}

crate::text_enum! {
    #[derive(Default)]
    pub enum BodyFormat {
        /// `application/json` envelope `{id, event, event_category, event_time, data}`.
        #[default]
        Json = "json",
        /// `application/x-www-form-urlencoded` with one key, `data`, holding the JSON envelope.
        Form = "form",
        /// Contact and event fields as URL query parameters; no body.
        Query = "query",
    }
}

crate::text_enum! {
    /// How a webhook's requests authenticate: the `type` of [`AuthIn`] and [`AuthOut`], and
    /// what a webhook's row records.
    pub enum AuthKind {
        None = "none",
        Basic = "basic",
        Bearer = "bearer",
        ApiKey = "api_key",
    }
}

/// How the request authenticates. Secrets are write-only: answers only say whether one is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthIn {
    #[default]
    None,
    Basic {
        username: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
    Bearer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    ApiKey {
        /// The header that carries the key, e.g. `X-API-Key`.
        header: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthOut {
    None,
    Basic {
        username: String,
        password_set: bool,
    },
    Bearer {
        token_set: bool,
    },
    ApiKey {
        header: String,
        key_set: bool,
    },
}

impl AuthOut {
    pub fn kind(&self) -> AuthKind {
        match self {
            Self::None => AuthKind::None,
            Self::Basic { .. } => AuthKind::Basic,
            Self::Bearer { .. } => AuthKind::Bearer,
            Self::ApiKey { .. } => AuthKind::ApiKey,
        }
    }

    /// Whether a password, token or key is stored.
    pub fn secret_set(&self) -> bool {
        match self {
            Self::None => false,
            Self::Basic { password_set, .. } => *password_set,
            Self::Bearer { token_set } => *token_set,
            Self::ApiKey { key_set, .. } => *key_set,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookOut {
    pub id: WebhookId,
    pub name: String,
    pub url: String,
    pub method: HttpMethod,
    pub body_format: BodyFormat,
    pub contact_fields: Vec<String>,
    pub custom_data: Vec<KeyValue>,
    pub headers: Vec<KeyValue>,
    pub auth: AuthOut,
    pub retry_window_hours: u32,
    /// Disables itself once every request has failed for this long; 0: never.
    pub disable_after_failing_hours: u32,
    /// At most this many requests a second, from every server process together; 0: no limit.
    pub max_requests_per_second: u32,
    pub alert_emails: Vec<String>,
    /// Whether alert emails go out to `alert_emails`.
    pub alerts_enabled: bool,
    /// At most one alert email every this many minutes.
    pub alert_every_minutes: u32,
    pub alert_digest: AlertDigest,
    /// How deliveries are sent together; `None`: one request each.
    pub batch: Option<Batching>,
    pub enabled: bool,
    /// Why the webhook was disabled, e.g. the receiver answered `410 Gone`.
    pub disabled_reason: Option<String>,
    /// Since when every request has failed (`None` while the receiver accepts).
    pub failing_since: Option<i64>,
    /// Since when the webhook is disabled (`None` while enabled).
    pub disabled_at: Option<i64>,
    /// Until when no request goes to the receiver: it answered 429 or 503, or not within the
    /// timeout, and asked for (or is given) a break. `None` while not paused.
    pub paused_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `GET /api/v1/webhooks/{id}/signing-secret`: what a receiver needs to verify signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SigningSecretOut {
    /// `whsec_` followed by the base64 key, as Standard Webhooks libraries take it.
    pub secret: String,
    /// During a rotation's overlap, the previous secret, which still signs too.
    pub previous_secret: Option<String>,
    pub previous_expires_at: Option<i64>,
}

/// `GET /api/v1/webhooks/health`: how each webhook's receiver has fared lately, for the
/// webhooks page's health line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhooksHealthOut {
    /// The width of an hour, in milliseconds (3,600,000): `hours[i]` starts at
    /// `since + i * hour_ms`.
    pub hour_ms: i64,
    /// Epoch milliseconds: the start of the oldest hour, 23 whole hours before the current one.
    pub since: i64,
    /// Every webhook, by id.
    pub webhooks: Vec<WebhookHealthOut>,
    /// Whether alert emails go out: `false` when the processes that send them (this one, or
    /// with `--role web` the workers, who check in every minute) have no `--smtp-url`.
    pub alert_emails_sent: bool,
}

/// One webhook's last 24 hours and the requests it has not sent yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookHealthOut {
    pub id: WebhookId,
    /// 24 hours, oldest first, the current (unfinished) hour last.
    pub hours: Vec<HourCountOut>,
    /// Requests waiting for the webhook to be enabled again.
    pub held: i64,
    /// Requests queued or waiting for a retry.
    pub pending: i64,
    /// Alert emails about it the SMTP server has not taken yet, though they were tried (they
    /// are tried again), and those it refused for good or could not take for a day.
    pub alert_emails_waiting: i64,
    pub alert_emails_failed: i64,
    /// What the SMTP server said of the latest of them.
    pub alert_email_error: Option<String>,
}

/// Requests to a webhook in one hour: `accepted` answered 2xx; `failed` did not (each attempt
/// counts, retried or not) or could not be sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HourCountOut {
    pub accepted: i64,
    pub failed: i64,
}

/// `POST /api/v1/webhooks/{id}/rotate-secret`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"overlap_hours": 24})))]
pub struct RotateSecretIn {
    /// How long requests are signed with the old secret too, so receivers can switch over.
    /// Defaults to 24 hours.
    #[serde(default)]
    pub overlap_hours: Option<u32>,
}

/// `POST /api/v1/webhooks/{id}/preview` and `/test`: what to fill the placeholders with. With
/// no contact, sample values stand in for the contact's fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"contact": "c-1", "event": "signup", "properties": {"source": "ad"}})))]
pub struct WebhookTestIn {
    /// A contact's `external_id`, to send its real data.
    #[serde(default)]
    pub contact: Option<String>,
    /// The event name the request is about; `sample.event` when absent.
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// `POST /api/v1/webhooks/preview` and `/test`: settings as a form holds them, tried before
/// they are saved. Nothing is stored or changed; the settings are checked as a save checks them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"webhook": {"name": "CRM", "url": "https://crm.example/hook/{{contact.external_id}}", "auth": {"type": "bearer"}}, "edits": 1, "sample": {"event": "signup"}})))]
pub struct WebhookDraftIn {
    pub webhook: WebhookIn,
    /// The stored webhook these settings edit. Its secrets stand in for those left out (or
    /// sent back masked), as when the edit is saved, and its signing secret signs. Without
    /// it the settings are a new webhook's, signed with a throwaway secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edits: Option<WebhookId>,
    /// What to fill the placeholders with.
    #[serde(default)]
    pub sample: WebhookTestIn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeaderOut {
    pub name: String,
    pub value: String,
}

/// The exact request, with authentication secrets masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestPreviewOut {
    pub method: HttpMethod,
    pub url: String,
    pub headers: Vec<HeaderOut>,
    pub body: String,
    /// Placeholders the data lacked; they rendered empty or as their default.
    pub missing_placeholders: Vec<String>,
}

impl RequestPreviewOut {
    /// A form body's `data` field (the envelope, URL-encoded as the receiver gets it) decoded
    /// and laid out as JSON; `None` for other bodies.
    pub fn form_data_json(&self) -> Option<String> {
        let form = self.headers.iter().any(|header| {
            header.name.eq_ignore_ascii_case("content-type")
                && header
                    .value
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
        });
        if !form {
            return None;
        }
        let data = self.body.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decoded(name)? == "data").then(|| form_decoded(value))?
        })?;
        let value: serde_json::Value = serde_json::from_str(&data).ok()?;
        serde_json::to_string_pretty(&value).ok()
    }
}

/// An `application/x-www-form-urlencoded` name or value as text: `+` is a space, `%XX` a byte;
/// `None` when that is not UTF-8 or an escape is broken.
fn form_decoded(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(byte) = rest.next() {
        bytes.push(match byte {
            b'+' => b' ',
            b'%' => {
                let high = char::from(rest.next()?).to_digit(16)?;
                let low = char::from(rest.next()?).to_digit(16)?;
                u8::try_from(high * 16 + low).ok()?
            }
            other => other,
        });
    }
    String::from_utf8(bytes).ok()
}

/// What the receiver answered to a test request. 2xx means the webhook works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookTestOut {
    pub accepted: bool,
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    pub response_headers: Vec<HeaderOut>,
    /// The first 4 KB of the answer.
    pub response_body: String,
    pub request: RequestPreviewOut,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview(content_type: &str, body: &str) -> RequestPreviewOut {
        RequestPreviewOut {
            method: HttpMethod::Post,
            url: "https://crm.example/hook".to_owned(),
            headers: vec![HeaderOut {
                name: "content-type".to_owned(),
                value: content_type.to_owned(),
            }],
            body: body.to_owned(),
            missing_placeholders: Vec::new(),
        }
    }

    #[test]
    fn a_form_bodys_data_reads_as_json() {
        let body = "data=%7B%22data%22%3A%7B%22name%22%3A%22Ana+Lima%22%2C%22%C3%A9%22%3A1%7D%7D";
        let decoded = preview("application/x-www-form-urlencoded", body)
            .form_data_json()
            .expect("decoded");
        assert_eq!(
            decoded,
            "{\n  \"data\": {\n    \"name\": \"Ana Lima\",\n    \"é\": 1\n  }\n}"
        );
        // Another field first, upper-case escapes and content type: still found.
        let decoded = preview(
            "Application/X-WWW-Form-Urlencoded; charset=utf-8",
            "x=1&data=%5B1%2C2%5D",
        )
        .form_data_json();
        assert_eq!(decoded.as_deref(), Some("[\n  1,\n  2\n]"));
    }

    #[test]
    fn other_bodies_are_not_decoded() {
        let form = "application/x-www-form-urlencoded";
        for (content_type, body) in [
            ("application/json;charset=UTF-8", "{\"data\": 1}"),
            (form, "other=%7B%7D"),
            (form, "data=not+json"),
            (form, "data=%7"),
            (form, "data=%FF"),
            (form, ""),
        ] {
            assert_eq!(
                preview(content_type, body).form_data_json(),
                None,
                "{content_type} {body}"
            );
        }
    }
}
