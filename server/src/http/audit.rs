//! `GET /api/v1/audit` and the one way handlers write to the audit log.

use std::net::IpAddr;

use app::api::{AuditAction, AuditEntryOut, AuditQuery};
use axum::{Json, Router, extract::State, routing::get};

use super::{
    AppState,
    error::{ApiError, ApiResult},
    extract::ApiQuery,
    openapi::{BadQuery, Fault},
};
use crate::{auth::Caller, store::NewAuditEntry};

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

/// Writes an audit line. The action has happened already: a line that cannot be written is
/// logged as an error rather than failing the request.
pub(super) async fn record(
    state: &AppState,
    actor: &str,
    action: AuditAction,
    object: Option<&str>,
    address: Option<IpAddr>,
) {
    let address = address.map(|address| address.to_string());
    let entry = NewAuditEntry {
        actor,
        action,
        object,
        address: address.as_deref(),
    };
    if let Err(error) = state.store.record_audit(&entry, state.clock.now()).await {
        tracing::error!(%error, %action, actor, "cannot write the audit log");
    }
}

/// Writes an audit line for what `caller` did to `object`.
pub(super) async fn by(state: &AppState, caller: &Caller, action: AuditAction, object: String) {
    record(
        state,
        &caller.principal.describe(),
        action,
        Some(&object),
        caller.address,
    )
    .await;
}

/// Who did what, newest first; filter by actor text and action, page with `before`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit lines, newest first", body = Vec<AuditEntryOut>),
        BadQuery, Fault,
    ))]
async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntryOut>>> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "give 1 to 500"));
    }
    let rows = state.store.audit_log(&query, limit).await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| AuditEntryOut {
                id: row.id,
                at: row.at,
                actor: row.actor,
                action: row.action,
                object: row.object,
                address: row.address,
            })
            .collect(),
    ))
}
