//! `/api/v1/webhooks`: create, list, read, edit and delete webhook assets; read and rotate
//! their signing secrets; preview and test a webhook, saved or not.

use super::openapi::{BadBody, BadPath, Fault};
use app::{
    api::{
        AuditAction, HeaderOut, RequestPreviewOut, RotateSecretIn, SigningSecretOut,
        WebhookDraftIn, WebhookIn, WebhookOut, WebhookPatch, WebhookTestIn, WebhookTestOut,
        WebhooksHealthOut,
    },
    ids::WebhookId,
};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    routing::{get, post},
};

use super::{
    AppState, audit,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
};
use crate::{
    auth::Caller,
    clock::Millis,
    delivery::{
        prepare::{Subject, Target},
        render::{self, OutgoingRequest},
    },
    store::WebhookRow,
    webhook::{self, InvalidWebhook, Settings},
};

const DEFAULT_OVERLAP_HOURS: u32 = 24;
const MAX_OVERLAP_HOURS: u32 = 24 * 7;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/health", get(health))
        .route("/webhooks/preview", post(preview_draft))
        .route("/webhooks/test", post(test_draft))
        .route("/webhooks/{id}", get(show).patch(update).delete(remove))
        .route("/webhooks/{id}/signing-secret", get(signing_secret))
        .route("/webhooks/{id}/rotate-secret", post(rotate_secret))
        .route("/webhooks/{id}/preview", post(preview))
        .route("/webhooks/{id}/test", post(test))
        .layer(DefaultBodyLimit::max(super::body_limit::SETTINGS))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/preview", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id", example = 1)),
    request_body = WebhookTestIn,
    responses(
        (status = 200, description = "The exact request, authentication masked", body = RequestPreviewOut),
        BadPath, BadBody, Fault,
    ))]
async fn preview(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<WebhookId>,
    ApiJson(input): ApiJson<WebhookTestIn>,
) -> ApiResult<Json<RequestPreviewOut>> {
    let target = stored_target(&state, id).await?;
    Ok(Json(preview_of(&state, &target, input).await?))
}

/// Sends the request now, whatever the webhook's state, and reports the answer.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id", example = 1)),
    request_body = WebhookTestIn,
    responses(
        (status = 200, description = "The request was sent now; what the receiver answered", body = WebhookTestOut),
        BadPath, BadBody, Fault,
    ))]
async fn test(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<WebhookId>,
    ApiJson(input): ApiJson<WebhookTestIn>,
) -> ApiResult<Json<WebhookTestOut>> {
    let target = stored_target(&state, id).await?;
    Ok(Json(test_of(&state, &target, input).await?))
}

/// The request settings not saved yet would send: what a form previews before Save.
#[utoipa::path(post, path = "/api/v1/webhooks/preview", tag = "webhooks",
    request_body = WebhookDraftIn,
    responses(
        (status = 200, description = "The exact request, authentication masked; nothing is stored", body = RequestPreviewOut),
        (status = 404, description = "`edits` names no webhook (`not_found`)", body = app::api::ErrorOut),
        BadBody, Fault,
    ))]
async fn preview_draft(
    State(state): State<AppState>,
    ApiJson(draft): ApiJson<WebhookDraftIn>,
) -> ApiResult<Json<RequestPreviewOut>> {
    let target = draft_target(&state, draft.edits, draft.webhook).await?;
    Ok(Json(preview_of(&state, &target, draft.sample).await?))
}

/// Sends the request of settings not saved yet, now, and reports the answer; nothing is
/// stored.
#[utoipa::path(post, path = "/api/v1/webhooks/test", tag = "webhooks",
    request_body = WebhookDraftIn,
    responses(
        (status = 200, description = "The request was sent now; what the receiver answered", body = WebhookTestOut),
        (status = 404, description = "`edits` names no webhook (`not_found`)", body = app::api::ErrorOut),
        BadBody, Fault,
    ))]
async fn test_draft(
    State(state): State<AppState>,
    ApiJson(draft): ApiJson<WebhookDraftIn>,
) -> ApiResult<Json<WebhookTestOut>> {
    let target = draft_target(&state, draft.edits, draft.webhook).await?;
    Ok(Json(test_of(&state, &target, draft.sample).await?))
}

async fn stored_target(state: &AppState, id: WebhookId) -> ApiResult<Target> {
    let row = existing(state, id).await?;
    Target::of(&row, state.clock.now()).map_err(ApiError::internal)
}

/// Settings from a form, checked as saving them would check them, as a target that is not
/// stored: a new webhook's, or the stored one's as the edit would leave it (its secrets kept
/// where the edit leaves them out, never for another origin).
async fn draft_target(
    state: &AppState,
    edits: Option<WebhookId>,
    webhook: WebhookIn,
) -> ApiResult<Target> {
    let now = state.clock.now();
    let row = match edits {
        Some(id) => {
            let row = existing(state, id).await?;
            Settings::from_row(&row)
                .map_err(ApiError::internal)?
                .patched(webhook.into())
                .map_err(invalid)?
                .into_row(row)
        }
        None => {
            let settings = Settings::from_input(webhook).map_err(invalid)?;
            webhook::new_row(settings, now).map_err(ApiError::internal)?
        }
    };
    Target::of(&row, now).map_err(ApiError::internal)
}

async fn preview_of(
    state: &AppState,
    target: &Target,
    input: WebhookTestIn,
) -> ApiResult<RequestPreviewOut> {
    let request = sample_request(state, target, input).await?;
    Ok(preview_out(render::masked(request, &target.settings)))
}

/// Sends the target's sample request through the delivery sender (and so its guard).
async fn test_of(
    state: &AppState,
    target: &Target,
    input: WebhookTestIn,
) -> ApiResult<WebhookTestOut> {
    let request = sample_request(state, target, input).await?;
    let attempt = state.sender.send(&request).await;
    Ok(WebhookTestOut {
        accepted: attempt
            .status
            .is_some_and(|status| (200..300).contains(&status)),
        status_code: attempt.status,
        latency_ms: u64::try_from(attempt.latency.as_millis()).unwrap_or(u64::MAX),
        error: attempt.error,
        response_headers: attempt
            .headers
            .into_iter()
            .map(|(name, value)| HeaderOut { name, value })
            .collect(),
        response_body: attempt.body,
        request: preview_out(render::masked(request, &target.settings)),
    })
}

/// The target's signed request for a chosen contact, or for sample data: built the way the
/// delivery worker builds it.
async fn sample_request(
    state: &AppState,
    target: &Target,
    input: WebhookTestIn,
) -> ApiResult<OutgoingRequest> {
    let now = state.clock.now();
    let contact = match &input.contact {
        Some(external_id) => Some(state.store.contact(external_id).await?.ok_or_else(|| {
            ApiError::not_found(format!("there is no contact \"{external_id}\""))
        })?),
        None => None,
    };
    let subject = Subject::sample(&target.settings, contact, input, now);
    let mut request = target.request(&subject).map_err(|error| {
        ApiError::unprocessable(format!("the request cannot be built: {error}"))
    })?;
    target.sign(&mut request, now).map_err(ApiError::internal)?;
    Ok(request)
}

pub(super) fn preview_out(request: OutgoingRequest) -> RequestPreviewOut {
    RequestPreviewOut {
        method: request.method,
        url: request.url.into(),
        headers: request
            .headers
            .into_iter()
            .map(|(name, value)| HeaderOut { name, value })
            .collect(),
        body: String::from_utf8_lossy(&request.body).into_owned(),
        missing_placeholders: request.missing,
    }
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = WebhookIn,
    responses(
        (status = 201, description = "The webhook; secrets never come back", body = WebhookOut),
        BadBody, Fault,
    ))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<WebhookIn>,
) -> ApiResult<(StatusCode, Json<WebhookOut>)> {
    let settings = Settings::from_input(input).map_err(invalid)?;
    let row = webhook::new_row(settings, state.clock.now()).map_err(ApiError::internal)?;
    let row = state.store.create_webhook(&row).await?;
    audit::by(
        &state,
        &caller,
        AuditAction::WebhookCreated,
        format!("webhook {}", row.id),
    )
    .await;
    Ok((StatusCode::CREATED, Json(out(&row, state.clock.now())?)))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "Every webhook, by name; secrets never come back", body = Vec<WebhookOut>),
        Fault,
    ))]
async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<WebhookOut>>> {
    let rows = state.store.webhooks().await?;
    let now = state.clock.now();
    Ok(Json(
        rows.iter()
            .map(|row| out(row, now))
            .collect::<ApiResult<_>>()?,
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks/health", tag = "webhooks",
    responses(
        (status = 200, description = "Every webhook's requests accepted and failed in each of the last 24 hours, and the requests it holds or has pending now", body = WebhooksHealthOut),
        Fault,
    ))]
async fn health(State(state): State<AppState>) -> ApiResult<Json<WebhooksHealthOut>> {
    let now = state.clock.now();
    let rows = state
        .store
        .webhook_health(webhook::health::since(now))
        .await?;
    let smtp = state.messaging.smtp_available(&state.store, now).await?;
    Ok(Json(webhook::health::health(&rows, now, smtp)))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id", example = 1)),
    responses(
        (status = 200, description = "The webhook", body = WebhookOut),
        BadPath, Fault,
    ))]
async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<Json<WebhookOut>> {
    Ok(Json(out(&existing(&state, id).await?, state.clock.now())?))
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id", example = 1)),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The webhook as it now is", body = WebhookOut),
        BadPath, BadBody, Fault,
    ))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<WebhookId>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> ApiResult<Json<WebhookOut>> {
    let row = existing(&state, id).await?;
    let enabled = patch.enabled;
    let settings = Settings::from_row(&row)
        .map_err(ApiError::internal)?
        .patched(patch)
        .map_err(invalid)?;
    let mut row = settings.into_row(row);
    if let Some(enabled) = enabled {
        row.enabled = i64::from(enabled);
        if enabled {
            row.disabled_reason = None;
        } else if row.disabled_reason.is_none() {
            row.disabled_reason = Some("disabled by an operator".to_owned());
        }
    }
    row.updated_at = state.clock.now();
    let row = state
        .store
        .save_webhook(&row)
        .await?
        .ok_or_else(|| no_webhook(id))?;
    if row.alerts_enabled == 0 {
        // Off means nothing is emailed: not what was queued before, nor later what was
        // held back meanwhile.
        state.store.drop_pending_alerts(id).await?;
    }
    if enabled == Some(true) {
        // What the webhook held goes out now; every worker's heartbeat would release it too.
        let released = state
            .store
            .release_held(Some(id), state.clock.now())
            .await?;
        if released > 0 {
            tracing::info!(webhook = %id, released, "webhook enabled; its held requests are sent");
        }
    }
    audit::by(
        &state,
        &caller,
        AuditAction::WebhookEdited,
        format!("webhook {id}"),
    )
    .await;
    Ok(Json(out(&row, state.clock.now())?))
}

/// Deletes a webhook no published journey sends to; its requests not sent yet are cancelled.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id", example = 1)),
    responses(
        (status = 204, description = "Deleted; its unsent requests are cancelled"),
        (status = 409, description = "A published journey sends to it (`conflict`, naming them)", body = app::api::ErrorOut),
        BadPath, Fault,
    ))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<StatusCode> {
    let users = webhook::usage::users(&state.store, id).await?;
    if !users.is_empty() {
        let named: Vec<String> = users
            .iter()
            .map(webhook::usage::WebhookUser::quoted)
            .collect();
        return Err(ApiError::conflict(format!(
            "webhook {id} is used by the published journeys {}: remove it from their webhook \
             nodes and publish them, or delete those journeys, before deleting it",
            named.join(", ")
        )));
    }
    if state.store.delete_webhook(id, state.clock.now()).await? {
        audit::by(
            &state,
            &caller,
            AuditAction::WebhookDeleted,
            format!("webhook {id}"),
        )
        .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_webhook(id))
    }
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/signing-secret", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id", example = 1)),
    responses(
        (status = 200, description = "The secret receivers verify signatures with", body = SigningSecretOut),
        BadPath, Fault,
    ))]
async fn signing_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<Json<SigningSecretOut>> {
    let row = existing(&state, id).await?;
    audit::by(
        &state,
        &caller,
        AuditAction::SigningSecretRead,
        format!("webhook {id}"),
    )
    .await;
    Ok(Json(secret_out(&row, state.clock.now())))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id", example = 1)),
    request_body = RotateSecretIn,
    responses(
        (status = 200, description = "The new secret; the old one signs too until the overlap ends", body = SigningSecretOut),
        BadPath, BadBody, Fault,
    ))]
async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<WebhookId>,
    ApiJson(input): ApiJson<RotateSecretIn>,
) -> ApiResult<Json<SigningSecretOut>> {
    let overlap_hours = input.overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS);
    if overlap_hours > MAX_OVERLAP_HOURS {
        return Err(ApiError::unprocessable(format!(
            "the overlap is at most {MAX_OVERLAP_HOURS} hours"
        )));
    }
    let now = state.clock.now();
    let row = existing(&state, id).await?;
    let row = webhook::rotated(row, i64::from(overlap_hours) * 3_600_000, now)
        .map_err(ApiError::internal)?;
    let row = state
        .store
        .save_webhook(&row)
        .await?
        .ok_or_else(|| no_webhook(id))?;
    audit::by(
        &state,
        &caller,
        AuditAction::SigningSecretRotated,
        format!("webhook {id}"),
    )
    .await;
    Ok(Json(secret_out(&row, now)))
}

fn secret_out(row: &WebhookRow, now: Millis) -> SigningSecretOut {
    let overlapping = row
        .previous_secret_expires_at
        .is_some_and(|expires| expires > now);
    SigningSecretOut {
        secret: row.signing_secret.clone(),
        previous_secret: row.previous_signing_secret.clone().filter(|_| overlapping),
        previous_expires_at: row.previous_secret_expires_at.filter(|_| overlapping),
    }
}

async fn existing(state: &AppState, id: WebhookId) -> ApiResult<WebhookRow> {
    state.store.webhook(id).await?.ok_or_else(|| no_webhook(id))
}

fn no_webhook(id: WebhookId) -> ApiError {
    ApiError::not_found(format!("there is no webhook {id}"))
}

fn invalid(error: InvalidWebhook) -> ApiError {
    ApiError::unprocessable(error.to_string())
}

fn out(row: &WebhookRow, now: Millis) -> ApiResult<WebhookOut> {
    webhook::webhook_out(row, now).map_err(ApiError::internal)
}
