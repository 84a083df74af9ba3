//! `/api/v1/templates`: what action nodes send, one template per channel and message, reusable
//! across journeys. Every text may hold placeholders (`{{contact.first_name}}`), checked when
//! the template is saved.

use serde::{Deserialize, Serialize};

use crate::{ids::TemplateId, journey::Channel};

/// `POST /api/v1/templates` and `PUT /api/v1/templates/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Cart reminder", "content": {"channel": "email", "from": "Shop <shop@example.com>", "subject": "{{contact.first_name | default: \"Hi\"}}, your cart is waiting", "html": "<p>Your cart: <a href=\"https://shop.example/cart\">see it</a></p>", "text": "Your cart: https://shop.example/cart"}})))]
pub struct TemplateIn {
    pub name: String,
    pub content: TemplateContent,
}

/// What a message says, by channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum TemplateContent {
    Email(EmailContent),
    Sms(TextContent),
    Whatsapp(TextContent),
    Rcs(TextContent),
    AppPush(PushContent),
    WebPush(PushContent),
}

impl TemplateContent {
    pub fn channel(&self) -> Channel {
        match self {
            Self::Email(_) => Channel::Email,
            Self::Sms(_) => Channel::Sms,
            Self::Whatsapp(_) => Channel::Whatsapp,
            Self::Rcs(_) => Channel::Rcs,
            Self::AppPush(_) => Channel::AppPush,
            Self::WebPush(_) => Channel::WebPush,
        }
    }

    /// An empty template of `channel`, as a new form starts.
    pub fn empty(channel: Channel) -> Self {
        match channel {
            Channel::Email => Self::Email(EmailContent::default()),
            Channel::Sms => Self::Sms(TextContent::default()),
            Channel::Whatsapp => Self::Whatsapp(TextContent::default()),
            Channel::Rcs => Self::Rcs(TextContent::default()),
            Channel::AppPush => Self::AppPush(PushContent::default()),
            Channel::WebPush => Self::WebPush(PushContent::default()),
        }
    }

    /// Every text field with its name, in the order a form shows them.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        match self {
            Self::Email(email) => vec![
                ("from", &email.from),
                ("reply_to", &email.reply_to),
                ("subject", &email.subject),
                ("html", &email.html),
                ("text", &email.text),
            ],
            Self::Sms(text) | Self::Whatsapp(text) | Self::Rcs(text) => {
                vec![("text", &text.text), ("media_url", &text.media_url)]
            }
            Self::AppPush(push) | Self::WebPush(push) => vec![
                ("title", &push.title),
                ("body", &push.body),
                ("deep_link", &push.deep_link),
                ("data", &push.data),
            ],
        }
    }

    /// The same content with each text field replaced by what `each` makes of it.
    pub fn map_fields(&self, mut each: impl FnMut(&'static str, &str) -> String) -> Self {
        match self {
            Self::Email(email) => Self::Email(EmailContent {
                from: each("from", &email.from),
                reply_to: each("reply_to", &email.reply_to),
                subject: each("subject", &email.subject),
                html: each("html", &email.html),
                text: each("text", &email.text),
            }),
            Self::Sms(text) => Self::Sms(text.map(each)),
            Self::Whatsapp(text) => Self::Whatsapp(text.map(each)),
            Self::Rcs(text) => Self::Rcs(text.map(each)),
            Self::AppPush(push) => Self::AppPush(push.map(each)),
            Self::WebPush(push) => Self::WebPush(push.map(each)),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EmailContent {
    /// `Name <address>` or an address.
    pub from: String,
    #[serde(default)]
    pub reply_to: String,
    pub subject: String,
    /// The HTML part; its links are rewritten to count clicks, and an open pixel is added.
    #[serde(default)]
    pub html: String,
    /// The plain-text part.
    #[serde(default)]
    pub text: String,
}

/// SMS, WhatsApp and RCS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TextContent {
    pub text: String,
    /// An image or document sent with the text, where the channel allows it.
    #[serde(default)]
    pub media_url: String,
}

impl TextContent {
    fn map(&self, mut each: impl FnMut(&'static str, &str) -> String) -> Self {
        Self {
            text: each("text", &self.text),
            media_url: each("media_url", &self.media_url),
        }
    }
}

/// App push and web push.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PushContent {
    pub title: String,
    pub body: String,
    /// Where tapping the notification leads.
    #[serde(default)]
    pub deep_link: String,
    /// Data for the app: a JSON object whose string values may hold placeholders, e.g.
    /// `{"order": "{{event.order_id}}"}` (filled values are escaped as JSON). A provider's
    /// request sends it with `{{message.data}}`.
    #[serde(default)]
    pub data: String,
}

impl PushContent {
    fn map(&self, mut each: impl FnMut(&'static str, &str) -> String) -> Self {
        Self {
            title: each("title", &self.title),
            body: each("body", &self.body),
            deep_link: each("deep_link", &self.deep_link),
            data: each("data", &self.data),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TemplateOut {
    pub id: TemplateId,
    pub name: String,
    pub channel: Channel,
    pub content: TemplateContent,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `POST /api/v1/templates/preview`: a template as a contact would receive it, saved or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"content": {"channel": "sms", "text": "Hi {{contact.first_name}}"}, "contact": "user-42"})))]
pub struct TemplatePreviewIn {
    pub content: TemplateContent,
    /// A contact's external id; without it, sample values fill the placeholders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TemplatePreviewOut {
    /// The content with its placeholders filled in (links not yet rewritten for tracking).
    pub content: TemplateContent,
    /// Placeholders the contact had no value for (rendered empty or as their default).
    pub missing: Vec<String>,
}

crate::text_enum! {
    /// Where a message an action node sent stands.
    pub enum MessageStatus {
        /// Waiting to be sent, or for its next attempt after a transient failure.
        Queued = "queued",
        /// Handed to the channel's provider (the SMTP server accepted it).
        Sent = "sent",
        /// Refused for good, or not sent within its retry window.
        Failed = "failed",
        /// Not sent, on purpose: the contact cannot be reached on the channel or opted out,
        /// the template is missing, or the channel is not set up.
        Skipped = "skipped",
    }
}

/// An action node's messages by state, and how many of them had each activity (each message
/// counted once however often it was opened or clicked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageCountsOut {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    pub delivered: i64,
    pub opened: i64,
    pub clicked: i64,
    pub bounced: i64,
}

/// `GET /api/v1/messages`: the message log, filtered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct MessageFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey: Option<crate::ids::JourneyId>,
    /// An action node's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<crate::journey::NodeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MessageStatus>,
    /// A contact's `external_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// At most this many, newest first (default 100, at most 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// A message an action node sent (or did not, and why), with what its contact did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageOut {
    pub id: crate::ids::MessageId,
    pub journey_id: crate::ids::JourneyId,
    pub version: i64,
    pub node_id: crate::journey::NodeId,
    pub channel: Channel,
    pub template_id: Option<TemplateId>,
    /// The contact's external id.
    pub contact: String,
    pub status: MessageStatus,
    /// Why it failed or was skipped, why it is held, or the last transient error while queued.
    pub reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    /// The provider's own id for it, from its answer.
    pub provider_ref: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    /// The activities recorded for it (delivered, opened, …), each once, in order.
    pub activities: Vec<crate::journey::Activity>,
    /// Every attempt to send it, oldest first (kept for `--attempt-retention-days`).
    pub attempt_log: Vec<MessageAttemptOut>,
}

/// One attempt to send a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageAttemptOut {
    pub attempted_at: i64,
    pub outcome: MessageAttemptOutcome,
    /// The provider's id for it once sent; the error or refusal otherwise.
    pub detail: Option<String>,
}

crate::text_enum! {
    /// What came of one attempt to send a message.
    pub enum MessageAttemptOutcome {
        /// The channel's provider (or SMTP server) took it.
        Sent = "sent",
        /// It could not take it now: tried again later.
        Retry = "retry",
        /// Refused for good, or it could not be sent at all.
        Failed = "failed",
    }
}
