//! Node kinds and the settings each one needs.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::rule::Rule;
use crate::ids::{TemplateId, WebhookId};

/// A node's id within its journey, chosen by the editor (e.g. `n1`); stable across versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct NodeId(pub String);

impl NodeId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for NodeId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for NodeId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "ssr")]
impl sqlx::Type<sqlx::Any> for NodeId {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <String as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

#[cfg(feature = "ssr")]
impl<'q> sqlx::Encode<'q, sqlx::Any> for NodeId {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&self.0, buf)
    }
}

#[cfg(feature = "ssr")]
impl<'r> sqlx::Decode<'r, sqlx::Any> for NodeId {
    fn decode(
        value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        <String as sqlx::Decode<'r, sqlx::Any>>::decode(value).map(Self)
    }
}

/// Where the editor draws the node; the engine ignores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Node {
    pub id: NodeId,
    #[serde(default)]
    pub position: Position,
    #[serde(flatten)]
    pub kind: NodeKind,
}

/// What a node does, with its settings: `{"kind": "delay", "settings": {...}}` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "settings", rename_all = "snake_case")]
pub enum NodeKind {
    Trigger(Trigger),
    Action(Action),
    WaitForEvent(WaitForEvent),
    Delay(Delay),
    Condition(Condition),
    Webhook(WebhookNode),
    Exit,
}

crate::text_enum! {
    /// The label of an outgoing connection.
    #[derive(PartialOrd, Ord)]
    pub enum Branch {
        Next = "next",
        Event = "event",
        Timeout = "timeout",
        Yes = "yes",
        No = "no",
    }
}

/// Enrolls a contact when an event with this name arrives and the filter holds.
/// A contact added to a list arrives as the event `list.add_contact` with `event.list_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Trigger {
    pub event: String,
    /// Every rule must hold; rules may read `contact.<attribute>` and `event.<property>`.
    #[serde(default)]
    pub filter: Vec<Rule>,
}

/// Sends a message on a channel: the engine queues it, the message worker sends it, and its
/// activities (`opened`, `clicked`, …) come back as events that refer to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Action {
    pub channel: Channel,
    /// The template the message is made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateId>,
    /// A template's name: how documents saved before templates were assets named their
    /// message. Used when no `template` is picked.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

crate::text_enum! {
    pub enum Channel {
        Email = "email",
        Sms = "sms",
        AppPush = "app_push",
        WebPush = "web_push",
        Whatsapp = "whatsapp",
        Rcs = "rcs",
    }
}

impl Channel {
    /// What this channel's messages can be seen to become, as its providers report (and, for
    /// email, its tracking links and relay): the counts an action node shows.
    pub fn activities(self) -> &'static [Activity] {
        match self {
            Self::Email => &[
                Activity::Delivered,
                Activity::Opened,
                Activity::Clicked,
                Activity::Bounced,
            ],
            Self::Sms | Self::AppPush | Self::WebPush => &[Activity::Delivered, Activity::Clicked],
            Self::Whatsapp | Self::Rcs => &[
                Activity::Delivered,
                Activity::Opened,
                Activity::Clicked,
                Activity::Failed,
            ],
        }
    }
}

crate::text_enum! {
    /// How a contact leaves the delay or wait it is at.
    pub enum Resume {
        /// Its timer fired: a delay is over, or a wait timed out.
        Timer = "timer",
        /// The awaited event arrived.
        Event = "event",
    }
}

/// Waits for an event until the timeout; continues on `event` if it came, `timeout` if not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WaitForEvent {
    pub until: WaitTarget,
    pub timeout: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WaitTarget {
    /// Any event with this name for the contact.
    Event { event: String },
    /// An activity of the message that an upstream action node sent this contact.
    MessageActivity { action: NodeId, activity: Activity },
}

crate::text_enum! {
    /// What happened to a sent message, as reported by activity events.
    pub enum Activity {
        Delivered = "delivered",
        Opened = "opened",
        Clicked = "clicked",
        Bounced = "bounced",
        Failed = "failed",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Delay {
    pub duration: Span,
}

/// Continues on `yes` when the rules hold (all or any of them), `no` otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Condition {
    #[serde(default)]
    pub combine: Combine,
    pub rules: Vec<ConditionRule>,
}

crate::text_enum! {
    #[derive(Default)]
    pub enum Combine {
        #[default]
        All = "all",
        Any = "any",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConditionRule {
    /// A rule on the contact's current attributes (`contact.<attribute>`).
    Attribute(Rule),
    /// Whether the contact had an event with this name since entering the journey, or within
    /// the given span before the condition is evaluated.
    EventHappened {
        event: String,
        #[serde(default)]
        within: Option<Span>,
    },
}

/// Sends the contact's data to a configured webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookNode {
    /// The webhook asset to send; `None` until the marketer picks one.
    #[serde(default, deserialize_with = "webhook_id_or_its_text")]
    pub webhook: Option<WebhookId>,
    /// Extra payload fields for this node; values may contain placeholders.
    #[serde(default)]
    pub custom_data: Vec<KeyValue>,
}

/// A webhook node's id as documents store it: a number, or the same number as text, which is
/// how documents saved before ids were typed hold it.
fn webhook_id_or_its_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<WebhookId>, D::Error> {
    #[derive(Deserialize)]
    #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
    #[serde(untagged)]
    enum Stored {
        Number(i64),
        Text(String),
    }
    match Option::<Stored>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Stored::Number(id)) => Ok(Some(WebhookId(id))),
        Some(Stored::Text(text)) => text.trim().parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("webhook must be a webhook's id, not \"{text}\""))
        }),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// A webhook's header whose value is a credential: shown as `********` like those named
    /// like one (`Authorization`, `X-Api-Key`, …). Absent means false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// A duration as the marketer entered it, e.g. 15 minutes or 2 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Span {
    pub value: u32,
    pub unit: TimeUnit,
}

crate::text_enum! {
    pub enum TimeUnit {
        Seconds = "seconds",
        Minutes = "minutes",
        Hours = "hours",
        Days = "days",
        Weeks = "weeks",
    }
}

impl Span {
    pub fn new(value: u32, unit: TimeUnit) -> Self {
        Self { value, unit }
    }

    pub fn as_millis(self) -> i64 {
        let unit_millis: i64 = match self.unit {
            TimeUnit::Seconds => 1_000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => 86_400_000,
            TimeUnit::Weeks => 604_800_000,
        };
        i64::from(self.value) * unit_millis
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            TimeUnit::Seconds => "second",
            TimeUnit::Minutes => "minute",
            TimeUnit::Hours => "hour",
            TimeUnit::Days => "day",
            TimeUnit::Weeks => "week",
        };
        let plural = if self.value == 1 { "" } else { "s" };
        write!(f, "{} {unit}{plural}", self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_convert_to_milliseconds() {
        assert_eq!(Span::new(15, TimeUnit::Minutes).as_millis(), 900_000);
        assert_eq!(Span::new(2, TimeUnit::Days).as_millis(), 172_800_000);
        assert_eq!(
            Span::new(u32::MAX, TimeUnit::Weeks).as_millis(),
            2_597_596_220_016_000_000
        );
        assert_eq!(Span::new(1, TimeUnit::Hours).to_string(), "1 hour");
        assert_eq!(Span::new(2, TimeUnit::Days).to_string(), "2 days");
    }

    #[test]
    fn a_webhook_id_stored_as_text_still_loads() {
        let read = |settings: serde_json::Value| {
            serde_json::from_value::<WebhookNode>(settings).map(|node| node.webhook)
        };
        assert_eq!(
            read(serde_json::json!({"webhook": 7})).expect("number"),
            Some(WebhookId(7))
        );
        assert_eq!(
            read(serde_json::json!({"webhook": "7"})).expect("text"),
            Some(WebhookId(7))
        );
        assert_eq!(
            read(serde_json::json!({"webhook": null})).expect("null"),
            None
        );
        assert_eq!(read(serde_json::json!({})).expect("absent"), None);
        let error = read(serde_json::json!({"webhook": "crm"})).expect_err("not an id");
        assert!(
            error.to_string().contains("webhook must be a webhook's id"),
            "{error}"
        );
        let saved = serde_json::to_value(WebhookNode {
            webhook: Some(WebhookId(7)),
            custom_data: Vec::new(),
        })
        .expect("serialize");
        assert_eq!(saved["webhook"], serde_json::json!(7));
    }

    #[test]
    fn node_json_names_kind_and_settings() {
        let node = Node {
            id: NodeId::new("n2"),
            position: Position { x: 10.0, y: 20.0 },
            kind: NodeKind::Delay(Delay {
                duration: Span::new(15, TimeUnit::Minutes),
            }),
        };
        let json = serde_json::to_value(&node).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({
                "id": "n2",
                "position": {"x": 10.0, "y": 20.0},
                "kind": "delay",
                "settings": {"duration": {"value": 15, "unit": "minutes"}}
            })
        );
        let exit: Node =
            serde_json::from_value(serde_json::json!({"id": "end", "kind": "exit"})).expect("exit");
        assert_eq!(exit.kind, NodeKind::Exit);
    }
}
