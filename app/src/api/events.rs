//! `/api/v1/events`: what happened to contacts, sent by the customer's systems.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{EventId, MessageId};

/// One event. The 202 answer means it is durably stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"contact": "c-1", "event": "add_to_cart", "properties": {"sku": "A-1", "price": 19.9}, "occurred_at": "2026-11-23T16:35:00Z"})))]
pub struct EventIn {
    /// The contact's `external_id`; the contact must exist.
    pub contact: String,
    /// The event's name, e.g. `add_to_cart` or, for message activity, `opened`.
    pub event: String,
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// For activity events (`delivered`, `opened`, …): the message they are about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// When it happened: epoch milliseconds or RFC 3339 text; when it arrived if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Timestamp {
    Millis(i64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"events": [{"contact": "c-1", "event": "signup"}, {"contact": "c-1", "event": "purchase", "occurred_at": 1767225600000_i64}]})))]
pub struct EventBatchIn {
    pub events: Vec<EventIn>,
}

/// The ids the stored events got, in the order they were sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventsAcceptedOut {
    pub ids: Vec<EventId>,
}
