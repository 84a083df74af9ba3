//! `/api/v1/deliveries`: the webhook requests nodes queued, their attempts, and resending.

use serde::{Deserialize, Serialize};

use crate::{
    ids::{DeliveryId, JourneyId, WebhookId},
    journey::NodeId,
};

crate::text_enum! {
    /// Where a delivery stands.
    pub enum DeliveryStatus {
        /// Not accepted yet: due now, or waiting for its next attempt.
        Pending = "pending",
        /// Not sent while its webhook is disabled; sent once it is enabled again.
        Held = "held",
        /// The receiver answered 2xx.
        Accepted = "accepted",
        /// Not accepted within the retry window, refused for good (410), or not sendable.
        Failed = "failed",
        /// Never sent: its journey or webhook was deleted before it was accepted.
        Cancelled = "cancelled",
    }
}

crate::text_enum! {
    /// What one attempt of a delivery came to.
    pub enum AttemptOutcome {
        Accepted = "accepted",
        /// Not accepted; another attempt is scheduled.
        Retry = "retry",
        Failed = "failed",
    }
}

/// Filters of `GET /api/v1/deliveries`; all optional, combined with "and".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct DeliveryFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey: Option<JourneyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeId>,
    /// Only the requests of this journey version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeliveryStatus>,
    /// A contact's `external_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Created at or after (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Created before (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// At most this many, newest first (default 100, at most 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryOut {
    pub id: DeliveryId,
    pub webhook: WebhookId,
    pub journey_id: JourneyId,
    pub version: i64,
    pub node_id: NodeId,
    pub contact: String,
    /// The contact's name (`first_name` and `last_name`, or `name`), for callers who may read
    /// contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    /// The contact's email (the attribute the email channel reads), for callers who may read
    /// contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    pub status: DeliveryStatus,
    /// Attempts since the delivery was queued or last resent (a resend starts the retry
    /// schedule over); `attempts_log` lists every attempt.
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptOut {
    pub attempted_at: i64,
    pub latency_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    /// The first 4 KB of the receiver's answer; absent for readers who cannot resend (viewers).
    pub response_body: Option<String>,
    /// Placeholders the contact or event lacked; they were sent empty or as their default.
    pub missing_placeholders: Vec<String>,
    pub outcome: AttemptOutcome,
}

/// `GET /api/v1/deliveries/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryDetailOut {
    #[serde(flatten)]
    pub delivery: DeliveryOut,
    pub attempts_log: Vec<AttemptOut>,
}

/// `POST /api/v1/journeys/{id}/nodes/{node}/resend-failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResentOut {
    pub resent: u64,
    /// When they were resent (epoch ms): `GET …/nodes/{node}/resends?resent_at=` follows them.
    pub resent_at: i64,
}

/// `GET /api/v1/journeys/{id}/nodes/{node}/resends`: which resend to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct ResendQuery {
    /// The `resent_at` a resend answered with.
    pub resent_at: i64,
}

/// Where the requests of one resend of a webhook node are now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResendProgressOut {
    pub resent_at: i64,
    pub accepted: i64,
    /// Not answered yet (or held by a disabled webhook).
    pub pending: i64,
    pub failed: i64,
}

/// `GET /api/v1/journeys/{id}/nodes/{node}/failures`: which requests to look at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct FailuresQuery {
    /// `failed` (the default) or `pending` (those being retried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeliveryStatus>,
    /// Only this version's requests; all versions without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// `GET /api/v1/journeys/{id}/nodes/{node}/timeline` and
/// `POST /api/v1/journeys/{id}/nodes/{node}/resend-failed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct TimelineQuery {
    /// Only this version's requests; all versions without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// A webhook node's requests over its life, by when each was queued, in equal slices of time
/// from its first request to now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeTimelineOut {
    /// The width of a slice, a round span (1 s, 10 s, 1 min, 1 h, 1 day…); 0 without requests.
    pub slice_ms: i64,
    /// Oldest first, every slice from the first request's to now's (empty ones too).
    pub slices: Vec<TimelineSliceOut>,
}

/// Requests queued in `[start, start + slice_ms)`, by where they stand now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TimelineSliceOut {
    /// Epoch milliseconds.
    pub start: i64,
    pub accepted: i64,
    pub failed: i64,
    /// Pending or held.
    pub pending: i64,
}

/// A webhook node's failed (or retrying) requests, grouped by cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeFailuresOut {
    pub status: DeliveryStatus,
    /// The largest group first.
    pub groups: Vec<FailureGroupOut>,
    /// How many requests were read: the latest ones, at most 10,000.
    pub scanned: u64,
    /// Whether there were more than were read.
    pub truncated: bool,
}

/// Requests that failed for one cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FailureGroupOut {
    /// The group's key, for "resend these": e.g. `http 400 invalid phone`, `timeout`.
    pub cause: String,
    /// E.g. `HTTP 400 "invalid phone"`, `timeout`, `connection refused`.
    pub label: String,
    pub count: i64,
    /// The earliest and latest last attempt of the group's requests (epoch ms).
    pub first_at: i64,
    pub last_at: i64,
    /// The group's latest failure.
    pub example: FailureExampleOut,
}

/// One request of a failure group, as its last attempt left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FailureExampleOut {
    pub delivery_id: DeliveryId,
    /// The contact's `external_id`.
    pub contact: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub answer: Option<String>,
}

/// `POST /api/v1/journeys/{id}/nodes/{node}/failures/resend`: resends one group's failed
/// requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"cause": "http 400 invalid phone"})))]
pub struct ResendCauseIn {
    /// A group's `cause`, as the failures listing gave it.
    pub cause: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}
