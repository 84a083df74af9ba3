//! `/api/v1/contacts`: the people journeys run for, keyed by the id the customer's systems use.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{ids::JourneyId, journey::NodeId};

/// `PUT /api/v1/contacts/{external_id}`: the attributes given replace those of the same name;
/// `null` removes an attribute; attributes not mentioned stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"attributes": {"email": "ana@example.com", "country": "Canada", "age": 31}})))]
pub struct ContactIn {
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

/// One contact of `POST /api/v1/contacts/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ContactUpsertIn {
    pub external_id: String,
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"contacts": [{"external_id": "c-2", "attributes": {"email": "bo@example.com"}}]})))]
pub struct ContactBatchIn {
    pub contacts: Vec<ContactUpsertIn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ContactBatchOut {
    /// How many contacts were created or updated, all in one transaction.
    pub upserted: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ContactOut {
    pub external_id: String,
    pub attributes: Map<String, Value>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// `GET /api/v1/contacts?search=…`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema, utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
pub struct ContactSearch {
    /// The start of an `external_id` or an `email` attribute, in any case.
    #[serde(default)]
    pub search: String,
    /// At most this many (default 50, at most 200).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /api/v1/contacts/{external_id}/activity`: what the contact did and where they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ContactActivityOut {
    /// The newest 50 events, newest first.
    pub events: Vec<ContactEventOut>,
    /// Runs through journeys, newest first.
    pub journeys: Vec<ContactRunOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ContactEventOut {
    pub name: String,
    pub properties: Map<String, Value>,
    pub occurred_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ContactRunOut {
    pub journey_id: JourneyId,
    /// `None` once the journey was deleted.
    pub journey_name: Option<String>,
    pub version: i64,
    /// Where the contact is (`active`, `waiting`) or where the run ended (`exited`, `failed`).
    pub node_id: NodeId,
    pub state: EnrollmentState,
    /// Why a `failed` run could not go on (e.g. its version cannot be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub entered_at: i64,
    pub updated_at: i64,
}

crate::text_enum! {
    /// Where a contact's run through a journey stands.
    pub enum EnrollmentState {
        /// Entering its node now, or leaving it by a branch.
        Active = "active",
        /// At a delay or a wait, until its timer or event.
        Waiting = "waiting",
        /// Ended at an exit (or a node with nowhere to go).
        Exited = "exited",
        /// Could not go on; the reason is logged and kept with the run.
        Failed = "failed",
    }
}

impl EnrollmentState {
    /// Whether the contact is still in the journey.
    pub fn unfinished(self) -> bool {
        matches!(self, Self::Active | Self::Waiting)
    }
}
