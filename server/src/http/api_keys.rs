//! API keys, managed by admins: created with scopes (the key is shown once), listed, revoked.

use app::{
    api::{ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut, AuditAction},
    ids::ApiKeyId,
};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    routing::{delete, get},
};

use super::{
    AppState, audit, body_limit,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    openapi::{BadBody, BadPath, Fault},
};
use crate::{
    auth::{self, Caller, KeyRequest, Principal},
    store::ApiKeyRow,
};

/// A key's name, at most.
const NAME_LENGTH: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api-keys", get(list).post(create))
        .route("/api-keys/{id}", delete(revoke))
        .layer(DefaultBodyLimit::max(body_limit::SETTINGS))
}

fn api_key_out(row: &ApiKeyRow) -> ApiKeyOut {
    ApiKeyOut {
        id: row.id,
        name: row.name.clone(),
        prefix: format!("{}…", row.prefix),
        scopes: row.scopes(),
        created_by: row.creator_email.clone(),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
    }
}

/// Every key, newest first, revoked ones included.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys",
    responses(
        (status = 200, description = "Every key (never the key itself)", body = Vec<ApiKeyOut>),
        Fault,
    ))]
async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<ApiKeyOut>>> {
    let rows = state.store.api_keys().await?;
    Ok(Json(rows.iter().map(api_key_out).collect()))
}

/// Creates a key; the answer is the only place the key appears.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys",
    request_body = ApiKeyIn,
    responses(
        (status = 201, description = "The key (shown once) and its record", body = ApiKeyCreatedOut),
        BadBody, Fault,
    ))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ApiKeyIn>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreatedOut>)> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > NAME_LENGTH {
        return Err(ApiError::invalid_field(
            "name",
            format!("give the key a name of 1 to {NAME_LENGTH} characters, e.g. the integration's"),
        ));
    }
    if input.scopes.is_empty() {
        return Err(ApiError::invalid_field(
            "scopes",
            "name at least one scope, e.g. events:write",
        ));
    }
    let now = state.clock.now();
    if input.expires_at.is_some_and(|expires| expires <= now) {
        return Err(ApiError::invalid_field(
            "expires_at",
            "the expiry must be in the future",
        ));
    }
    let created_by = match &caller.principal {
        Principal::Operator { operator, .. } => Some(operator.id),
        _ => None,
    };
    let request = KeyRequest {
        name,
        scopes: &input.scopes,
        created_by,
        expires_at: input.expires_at,
    };
    let (key, row) = auth::issue_api_key(&state.store, &request, now).await?;
    audit::record(
        &state,
        &caller.principal.describe(),
        AuditAction::ApiKeyCreated,
        Some(&format!("api key {} ({})", row.id, row.name)),
        caller.address,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreatedOut {
            key,
            api_key: api_key_out(&row),
        }),
    ))
}

/// Revokes a key: it stops working at once (on other server processes of a PostgreSQL
/// deployment, within a second) and stays listed.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = i64, Path, description = "The key's id", example = 1)),
    responses(
        (status = 200, description = "The key, revoked", body = ApiKeyOut),
        BadPath, Fault,
    ))]
async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> ApiResult<Json<ApiKeyOut>> {
    let row = state
        .auth
        .revoke_api_key(id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::not_found(format!("there is no API key {id}")))?;
    audit::record(
        &state,
        &caller.principal.describe(),
        AuditAction::ApiKeyRevoked,
        Some(&format!("api key {} ({})", row.id, row.name)),
        caller.address,
    )
    .await;
    Ok(Json(api_key_out(&row)))
}
