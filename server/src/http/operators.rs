//! Operators, managed by admins: create (with a one-time password), change role, deactivate,
//! reset a password.

use app::{
    api::{AuditAction, OperatorCreatedOut, OperatorIn, OperatorOut, OperatorPatch, Role},
    ids::OperatorId,
};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    routing::{get, patch, post},
};

use super::{
    AppState, audit, body_limit,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    openapi::{BadBody, BadPath, Fault},
};
use crate::{auth::Caller, store::OperatorRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operators", get(list).post(create))
        .route("/operators/{id}", patch(update))
        .route("/operators/{id}/reset-password", post(reset_password))
        .layer(DefaultBodyLimit::max(body_limit::SETTINGS))
}

pub(super) fn operator_out(row: &OperatorRow) -> OperatorOut {
    OperatorOut {
        id: row.id,
        email: row.email.clone(),
        role: row.role,
        active: row.is_active(),
        must_change_password: row.must_change_password(),
        created_at: row.created_at,
        last_sign_in_at: row.last_sign_in_at,
    }
}

/// Every operator, oldest first.
#[utoipa::path(get, path = "/api/v1/operators", tag = "operators",
    responses(
        (status = 200, description = "Every operator", body = Vec<OperatorOut>),
        Fault,
    ))]
async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<OperatorOut>>> {
    let rows = state.store.operators().await?;
    Ok(Json(rows.iter().map(operator_out).collect()))
}

/// Creates an operator. Without a password, the answer carries a one-time password to hand
/// over, which must be changed at the first sign-in.
#[utoipa::path(post, path = "/api/v1/operators", tag = "operators",
    request_body = OperatorIn,
    responses(
        (status = 201, description = "The operator, and the one-time password if none was given", body = OperatorCreatedOut),
        (status = 409, description = "An operator has this email already (`conflict`)", body = app::api::ErrorOut),
        BadBody, Fault,
    ))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<OperatorIn>,
) -> ApiResult<(StatusCode, Json<OperatorCreatedOut>)> {
    if !crate::auth::is_plausible_email(&input.email) {
        return Err(ApiError::invalid_field(
            "email",
            "write an email address like ana@example.com",
        ));
    }
    let (row, one_time_password) = state
        .auth
        .create_operator(&input.email, input.role, input.password.as_deref(), false)
        .await?;
    let row = row.ok_or_else(|| ApiError::internal("the operator was not created"))?;
    audit::record(
        &state,
        &caller.principal.describe(),
        AuditAction::OperatorCreated,
        Some(&format!("operator {} ({})", row.email, row.role)),
        caller.address,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(OperatorCreatedOut {
            operator: operator_out(&row),
            one_time_password,
        }),
    ))
}

/// Changes an operator's role or deactivates (reactivates) them. The last active admin stays.
#[utoipa::path(patch, path = "/api/v1/operators/{id}", tag = "operators",
    params(("id" = i64, Path, description = "The operator's id", example = 1)),
    request_body = OperatorPatch,
    responses(
        (status = 200, description = "The operator as changed", body = OperatorOut),
        (status = 409, description = "The change would leave no active admin (`conflict`)", body = app::api::ErrorOut),
        BadPath, BadBody, Fault,
    ))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<OperatorId>,
    ApiJson(patch): ApiJson<OperatorPatch>,
) -> ApiResult<Json<OperatorOut>> {
    let existing = existing(&state, id).await?;
    let role = patch.role.unwrap_or(existing.role);
    let active = patch.active.unwrap_or(existing.is_active());
    let stays_admin = role == Role::Admin && active;
    if existing.role == Role::Admin && existing.is_active() && !stays_admin {
        let other_admins = state
            .store
            .operators()
            .await?
            .iter()
            .filter(|row| row.id != id && row.role == Role::Admin && row.is_active())
            .count();
        if other_admins == 0 {
            return Err(ApiError::conflict(
                "this is the last active admin; make another operator admin first",
            ));
        }
    }
    let row = state
        .store
        .update_operator(id, role, active)
        .await?
        .ok_or_else(|| no_operator(id))?;
    audit::record(
        &state,
        &caller.principal.describe(),
        AuditAction::OperatorChanged,
        Some(&format!(
            "operator {} (role {}, {})",
            row.email,
            row.role,
            if row.is_active() {
                "active"
            } else {
                "deactivated"
            }
        )),
        caller.address,
    )
    .await;
    Ok(Json(operator_out(&row)))
}

/// Gives an operator a new one-time password (shown once) and ends their sessions.
#[utoipa::path(post, path = "/api/v1/operators/{id}/reset-password", tag = "operators",
    params(("id" = i64, Path, description = "The operator's id", example = 1)),
    responses(
        (status = 200, description = "The operator and their one-time password", body = OperatorCreatedOut),
        BadPath, Fault,
    ))]
async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<OperatorId>,
) -> ApiResult<Json<OperatorCreatedOut>> {
    let existing = existing(&state, id).await?;
    let (row, one_time_password) = state.auth.set_password(&existing, None, None).await?;
    let row = row.ok_or_else(|| no_operator(id))?;
    audit::record(
        &state,
        &caller.principal.describe(),
        AuditAction::OperatorPasswordReset,
        Some(&format!("operator {}", row.email)),
        caller.address,
    )
    .await;
    Ok(Json(OperatorCreatedOut {
        operator: operator_out(&row),
        one_time_password,
    }))
}

async fn existing(state: &AppState, id: OperatorId) -> ApiResult<OperatorRow> {
    state
        .store
        .operator(id)
        .await?
        .ok_or_else(|| no_operator(id))
}

fn no_operator(id: OperatorId) -> ApiError {
    ApiError::not_found(format!("there is no operator {id}"))
}
