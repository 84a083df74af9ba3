//! Request and response types of the REST API (`/api/v1`), shared by the server, the UI and
//! the tests so that all three agree on the wire format. Inputs are `*In` / `*Patch`, outputs
//! `*Out`.

mod access;
mod channels;
pub mod client;
mod contacts;
mod deliveries;
mod events;
mod journeys;
mod templates;
mod webhooks;

use serde::{Deserialize, Serialize};

pub use access::*;
pub use channels::*;
pub use contacts::*;
pub use deliveries::*;
pub use events::*;
pub use journeys::*;
pub use templates::*;
pub use webhooks::*;

/// `GET /api/v1/health`: answered with 200 when the database is usable, 503 otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HealthOut {
    pub status: HealthStatus,
    /// The server's version (its crate version).
    pub version: String,
    pub database: DatabaseHealthOut,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DatabaseHealthOut {
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub status: HealthStatus,
    /// The newest migration applied to the database, when it answered.
    pub schema_version: Option<i64>,
    /// Why the database is unavailable, when it is.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Unavailable,
}

/// The body of every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorOut {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable, machine-readable kind of error, e.g. `not_found`.
    pub code: String,
    /// What went wrong and how to fix it, for a person.
    pub message: String,
}
