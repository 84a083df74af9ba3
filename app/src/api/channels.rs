//! `/api/v1/channels`: how each channel's messages reach contacts (admin only). Email goes out
//! through the server's SMTP relay (`--smtp-url`); SMS, WhatsApp, RCS, app push and web push
//! go through an HTTP provider configured like a webhook, whose request is a template of the
//! provider's own API. Providers report what became of a message (delivered, failed, …) to
//! `/api/v1/receipts/{channel}`, authenticated by a secret shared with the provider.

use serde::{Deserialize, Serialize};

use super::{AuthIn, AuthOut, HttpMethod};
use crate::journey::{Activity, Channel, KeyValue};

/// `PUT /api/v1/channels/{channel}`. Secrets left out keep the ones stored, so a form can be
/// saved without typing them again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"address_attribute": "phone", "opt_out_attribute": "sms_opt_out", "provider": {"url": "https://sms.example/v1/messages", "body_format": "form", "body": "To={{message.to}}&Body={{message.text}}&Reference={{message.id}}", "auth": {"type": "basic", "username": "account", "password": "s3cret"}, "answer_id_path": "$.sid", "receipts": {"auth": {"type": "hmac", "header": "X-Signature", "secret": "shared-secret"}, "message_path": "$.MessageSid", "status_path": "$.MessageStatus"}}, "frequency_cap": {"max_messages": 3, "per_hours": 24}, "quiet_hours": {"start": "21:00", "end": "08:00", "time_zone_attribute": "time_zone", "default_time_zone": "Europe/Paris"}})))]
pub struct ChannelIn {
    /// The contact attribute holding the address on this channel (default: `email` for
    /// email, `phone` for SMS, WhatsApp and RCS, `push_token` for push).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_attribute: Option<String>,
    /// The contact attribute that, set to true, opts the contact out of this channel
    /// (default: `unsubscribed` for email, `sms_opt_out`, `whatsapp_opt_out`, `rcs_opt_out`,
    /// `push_opt_out`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_attribute: Option<String>,
    /// How messages are sent; required for every channel but email, absent for email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderIn>,
    /// At most so many of this channel's messages per contact in a sliding window; the ones
    /// over it are skipped (recorded, with the reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_cap: Option<FrequencyCap>,
    /// Hours of the contact's day when nothing is sent: a message due then waits until they
    /// end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// Email only: how the SMTP relay's event webhook (bounces, deliveries, opens it tracks)
    /// is read at `/api/v1/receipts/email`. Its reports name a message by the `Message-ID`
    /// Wayfarer gave it (`<wf-…@wayfarer>`) or by its id. The other channels read receipts
    /// with their provider (`provider.receipts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts: Option<ReceiptsIn>,
    /// Email only: the SMTP relay email goes out through, instead of the server's
    /// `--smtp-url`: `smtps://user:password@host:465` (TLS),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS), `smtp://host:25` (unencrypted,
    /// for a relay on the same machine). Empty: `--smtp-url`. Sent back masked, the stored
    /// password is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FrequencyCap {
    /// 1 to 1000.
    pub max_messages: u32,
    /// The window, in hours: 1 to 720 (30 days).
    pub per_hours: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QuietHours {
    /// When they start, `HH:MM` in the contact's time zone, e.g. `21:00`.
    pub start: String,
    /// When they end, e.g. `08:00` (before `start`: they span midnight).
    pub end: String,
    /// The contact attribute holding an IANA time zone such as `Europe/Paris` (default
    /// `time_zone`).
    #[serde(default)]
    pub time_zone_attribute: String,
    /// For contacts without a (valid) one (default `UTC`).
    #[serde(default)]
    pub default_time_zone: String,
}

/// The request sent to a provider for each message. Its URL, headers and body are templates:
/// `{{message.to}}`, `{{message.text}}`, `{{message.id}}`, `{{contact.first_name}}`, …
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderIn {
    /// http(s) URL; placeholders may appear in its path and query, not its host.
    pub url: String,
    /// Defaults to POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HttpMethod>,
    #[serde(default)]
    pub body_format: ProviderBodyFormat,
    /// The body, a template; values are escaped for the body format (JSON string escapes, or
    /// form encoding). Empty for `none`.
    #[serde(default)]
    pub body: String,
    /// Extra request headers; values may contain placeholders. Pass the message id as the
    /// provider's idempotency key (`Idempotency-Key: {{message.id}}`) where it takes one: a
    /// retry after a crash is then never sent twice.
    #[serde(default)]
    pub headers: Vec<KeyValue>,
    #[serde(default)]
    pub auth: AuthIn,
    /// Where the provider's answer gives its own id for the message (`$.sid`); receipts then
    /// name messages by that id. Empty: receipts name them by Wayfarer's id, which the
    /// request passes with `{{message.id}}`.
    #[serde(default)]
    pub answer_id_path: String,
    pub receipts: ReceiptsIn,
}

crate::text_enum! {
    #[derive(Default)]
    pub enum ProviderBodyFormat {
        /// `application/json`; placeholder values are escaped as JSON string contents.
        #[default]
        Json = "json",
        /// `application/x-www-form-urlencoded`; placeholder values are percent-encoded.
        Form = "form",
        /// No body (the message goes in the URL's query).
        None = "none",
    }
}

/// How the provider's delivery reports are read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceiptsIn {
    pub auth: ReceiptAuthIn,
    /// Where a report names the message (`$.MessageSid`, `$.data.reference`); form bodies
    /// read as an object of their fields.
    pub message_path: String,
    /// Where a report gives the message's status (`$.MessageStatus`).
    pub status_path: String,
    /// The provider's statuses that are activities, e.g. `undelivered` → `failed`. Empty: the
    /// usual words (`delivered`, `read`/`opened`, `clicked`, `failed`/`undelivered`,
    /// `bounced`) and nothing else.
    #[serde(default)]
    pub statuses: Vec<StatusMapping>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusMapping {
    /// The provider's word, compared without regard to case.
    pub status: String,
    pub activity: Activity,
}

/// How a provider proves a report is its own. Secrets are write-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReceiptAuthIn {
    /// A header carrying the HMAC-SHA256 of the raw body under the secret, in hex or base64,
    /// optionally prefixed `sha256=`.
    Hmac {
        header: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
    /// HTTP basic authentication, as set in the provider's callback URL settings.
    Basic {
        username: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
    },
}

impl Default for ReceiptAuthIn {
    fn default() -> Self {
        Self::Hmac {
            header: "X-Signature".to_owned(),
            secret: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReceiptAuthOut {
    Hmac {
        header: String,
        secret_set: bool,
    },
    Basic {
        username: String,
        password_set: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChannelOut {
    pub channel: Channel,
    pub address_attribute: String,
    pub opt_out_attribute: String,
    pub provider: Option<ProviderOut>,
    pub frequency_cap: Option<FrequencyCap>,
    pub quiet_hours: Option<QuietHours>,
    /// Email only: how the SMTP relay's reports are read, when it sends some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts: Option<ReceiptsOut>,
    /// Email only: the channel's own SMTP relay, its password masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
    /// Whether messages on this channel are sent now.
    pub ready: bool,
    /// What stands in the way when not ready, as a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Where the provider (or, for email, the SMTP relay) posts its reports: a path on this
    /// server, for HTTP channels and for email with receipts set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_path: Option<String>,
    /// When the settings were last saved; absent while they are the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderOut {
    pub url: String,
    pub method: HttpMethod,
    pub body_format: ProviderBodyFormat,
    pub body: String,
    /// Credentials among them masked.
    pub headers: Vec<KeyValue>,
    pub auth: AuthOut,
    pub answer_id_path: String,
    pub receipts: ReceiptsOut,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceiptsOut {
    pub auth: ReceiptAuthOut,
    pub message_path: String,
    pub status_path: String,
    pub statuses: Vec<StatusMapping>,
}

/// A ready-made provider shape to start a form from (`GET /api/v1/channels/presets`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderPreset {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The channels it fits.
    pub channels: Vec<Channel>,
    /// The settings, with the account's URL and secrets left to fill in.
    pub provider: ProviderIn,
}

/// `POST /api/v1/receipts/{channel}` answers a report it took with 200 and this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReceiptOut {
    pub status: ReceiptStatus,
    /// The activity recorded, when one was.
    pub recorded: Option<Activity>,
    /// Why nothing was recorded, when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

crate::text_enum! {
    /// What became of a provider's report.
    pub enum ReceiptStatus {
        /// Recorded as an activity of the message.
        Recorded = "recorded",
        /// The message already had this activity: nothing changed.
        Duplicate = "duplicate",
        /// Its status (`queued`, `sent`, …) is not an activity: nothing changed.
        NotAnActivity = "not_an_activity",
    }
}
