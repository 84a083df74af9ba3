//! `/api/v1/journeys`: drafts the editor saves, and the versions publishing freezes.

use serde::{Deserialize, Serialize};

use crate::{
    ids::JourneyId,
    journey::{Branch, JourneyDocument, NodeId, ValidationError},
};

/// `POST /api/v1/journeys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Welcome", "reentry": "once", "draft": {"nodes": [
        {"id": "start", "position": {"x": 0, "y": 0}, "kind": "trigger", "settings": {"event": "signup"}},
        {"id": "wait", "position": {"x": 0, "y": 120}, "kind": "wait_for_event", "settings": {"until": {"type": "event", "event": "purchase"}, "timeout": {"value": 1, "unit": "days"}}},
        {"id": "hook", "position": {"x": 200, "y": 240}, "kind": "webhook", "settings": {"webhook": 1}},
        {"id": "done", "position": {"x": 0, "y": 360}, "kind": "exit"}],
      "edges": [{"from": "start", "branch": "next", "to": "wait"},
                {"from": "wait", "branch": "event", "to": "done"},
                {"from": "wait", "branch": "timeout", "to": "hook"},
                {"from": "hook", "branch": "next", "to": "done"}]}})))]
pub struct JourneyIn {
    pub name: String,
    #[serde(default)]
    pub reentry: Reentry,
    /// The graph to start from; an empty canvas when absent.
    #[serde(default)]
    pub draft: JourneyDocument,
}

/// `PATCH /api/v1/journeys/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Welcome, second try", "reentry": "after_exit"})))]
pub struct JourneyPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reentry: Option<Reentry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<JourneyDocument>,
}

crate::text_enum! {
    /// Whether a contact may enter a journey it has entered before.
    #[derive(Default)]
    pub enum Reentry {
        /// Never again.
        #[default]
        Once = "once",
        /// Again once its previous run through the journey has ended.
        AfterExit = "after_exit",
        /// Every time the trigger matches, even while still in the journey.
        Always = "always",
    }
}

crate::text_enum! {
    pub enum JourneyStatus {
        /// Never published.
        Draft = "draft",
        /// A published version enrolls contacts.
        Live = "live",
        /// Published, but enrolls no one and moves no one on until resumed.
        Paused = "paused",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JourneyOut {
    pub id: JourneyId,
    pub name: String,
    pub status: JourneyStatus,
    pub reentry: Reentry,
    /// The newest published version, if any.
    pub live_version: Option<i64>,
    pub draft: JourneyDocument,
    /// The live version's document: publishing a draft equal to it would only make an
    /// identical version, so the editor does not offer it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_document: Option<JourneyDocument>,
    /// Why the draft cannot be published yet; empty when it can.
    pub validation_errors: Vec<ValidationError>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// One row of `GET /api/v1/journeys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JourneySummaryOut {
    pub id: JourneyId,
    pub name: String,
    pub status: JourneyStatus,
    pub live_version: Option<i64>,
    /// Contacts running through the journey or waiting in it now.
    #[serde(default)]
    pub contacts_in_journey: i64,
    pub updated_at: i64,
}

/// `POST /api/v1/journeys/{id}/publish`: the version just created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PublishOut {
    pub version: i64,
    pub published_at: i64,
}

/// The 422 answer to publishing an invalid draft: every problem, with its node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ValidationErrorsOut {
    pub error: super::ErrorBody,
    pub validation_errors: Vec<ValidationError>,
}

/// `GET /api/v1/journeys/{id}/stats[?version=N]`: counts per node of one version (the live
/// one unless asked otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JourneyStatsOut {
    pub journey_id: JourneyId,
    /// `None` for a journey never published (every count is then zero).
    pub version: Option<i64>,
    pub nodes: Vec<NodeStatsOut>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeStatsOut {
    pub node_id: NodeId,
    /// Distinct contacts that reached the node.
    pub reached: i64,
    /// Contacts at the node now: waiting at a delay or wait, or about to move on.
    pub waiting: i64,
    /// Contacts whose run through the journey ended at this node.
    pub exited: i64,
    /// Contacts whose run failed at this node.
    pub failed: i64,
    /// Per output of the node, in the kind's order: distinct contacts that left by it.
    #[serde(default)]
    pub left_by: Vec<BranchCountOut>,
    /// For webhook nodes: the requests it queued, by state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<DeliveryCountsOut>,
    /// For action nodes: the messages it sent, by state and activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<super::MessageCountsOut>,
}

/// How many distinct contacts left a node by one of its outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BranchCountOut {
    pub branch: Branch,
    pub contacts: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryCountsOut {
    pub accepted: i64,
    pub pending: i64,
    /// Not sent while the webhook is disabled (not counted in `pending`).
    #[serde(default)]
    pub held: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct StatsQuery {
    #[serde(default)]
    pub version: Option<i64>,
}
