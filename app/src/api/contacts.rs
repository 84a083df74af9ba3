//! `/api/v1/contacts`: the people journeys run for, keyed by the id the customer's systems use.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `PUT /api/v1/contacts/{external_id}`: the attributes given replace those of the same name;
/// `null` removes an attribute; attributes not mentioned stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactIn {
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

/// One contact of `POST /api/v1/contacts/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactUpsertIn {
    pub external_id: String,
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactBatchIn {
    pub contacts: Vec<ContactUpsertIn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactBatchOut {
    /// How many contacts were created or updated, all in one transaction.
    pub upserted: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactOut {
    pub external_id: String,
    pub attributes: Map<String, Value>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}
