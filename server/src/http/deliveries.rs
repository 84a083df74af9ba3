//! `/api/v1/deliveries`: the delivery log (filterable), one delivery with its attempts,
//! resending, and a webhook node's failures grouped by cause.

use super::openapi::{BadBody, BadPath, BadQuery, Fault};
use app::{
    api::{
        AttemptOut, AuditAction, DeliveryDetailOut, DeliveryFilter, DeliveryOut, DeliveryStatus,
        FailuresQuery, NodeFailuresOut, NodeTimelineOut, ResendCauseIn, ResendProgressOut,
        ResendQuery, ResentOut, TimelineQuery,
    },
    ids::{DeliveryId, JourneyId},
    journey::NodeId,
};
use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};

use super::{
    AppState, audit,
    contacts::ContactLabels,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath, ApiQuery},
};
use crate::{
    auth::Caller,
    delivery::{
        prepare::{Subject, Target},
        render, timeline, triage,
    },
    store::{DeliveryQuery, DeliveryRow, ResendScope},
};

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/{id}", get(show))
        .route("/deliveries/{id}/request", get(request_of))
        .route("/deliveries/{id}/resend", post(resend))
        .route(
            "/journeys/{id}/nodes/{node}/resend-failed",
            post(resend_failed_of_node),
        )
        .route(
            "/journeys/{id}/nodes/{node}/failures",
            get(failures_of_node),
        )
        .route(
            "/journeys/{id}/nodes/{node}/failures/resend",
            post(resend_cause_of_node),
        )
        .route(
            "/journeys/{id}/nodes/{node}/timeline",
            get(timeline_of_node),
        )
        .route(
            "/journeys/{id}/nodes/{node}/resends",
            get(resend_progress_of_node),
        )
}

/// The latest failures a triage reads: enough to show every cause that matters, bounded so
/// that a node with millions of failures answers at once.
const TRIAGE_SCAN: i64 = 10_000;

#[utoipa::path(get, path = "/api/v1/journeys/{id}/nodes/{node}/failures", tag = "deliveries",
    params(("id" = i64, Path, description = "The journey's id", example = 1), ("node" = String, Path, description = "The webhook node's id", example = "hook"), FailuresQuery),
    responses(
        (status = 200, description = "The node's failed (or retrying) requests grouped by cause, the largest group first", body = NodeFailuresOut),
        (status = 404, description = "No such journey (`not_found`)", body = app::api::ErrorOut),
        BadPath, BadQuery, Fault,
    ))]
async fn failures_of_node(
    State(state): State<AppState>,
    ApiPath((journey, node)): ApiPath<(JourneyId, NodeId)>,
    ApiQuery(query): ApiQuery<FailuresQuery>,
) -> ApiResult<Json<NodeFailuresOut>> {
    existing_journey(&state, journey).await?;
    let status = triage_status(query.status)?;
    let failures = state
        .store
        .last_failures(journey, &node, status, query.version, TRIAGE_SCAN + 1)
        .await?;
    let truncated = failures.len() > TRIAGE_SCAN as usize;
    let failures = &failures[..failures.len().min(TRIAGE_SCAN as usize)];
    Ok(Json(NodeFailuresOut {
        status,
        groups: triage::group(failures),
        scanned: failures.len() as u64,
        truncated,
    }))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}/nodes/{node}/timeline", tag = "deliveries",
    params(("id" = i64, Path, description = "The journey's id", example = 1), ("node" = String, Path, description = "The webhook node's id", example = "hook"), TimelineQuery),
    responses(
        (status = 200, description = "The node's requests over its life, in equal slices of time up to now", body = NodeTimelineOut),
        (status = 404, description = "No such journey (`not_found`)", body = app::api::ErrorOut),
        BadPath, BadQuery, Fault,
    ))]
async fn timeline_of_node(
    State(state): State<AppState>,
    ApiPath((journey, node)): ApiPath<(JourneyId, NodeId)>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> ApiResult<Json<NodeTimelineOut>> {
    existing_journey(&state, journey).await?;
    let Some(first) = state
        .store
        .first_delivery_at(journey, &node, query.version)
        .await?
    else {
        return Ok(Json(NodeTimelineOut {
            slice_ms: 0,
            slices: Vec::new(),
        }));
    };
    let now = state.clock.now();
    let width = timeline::slice_width(first, now);
    let counts = state
        .store
        .delivery_timeline(
            journey,
            &node,
            query.version,
            timeline::origin(first, width),
            width,
        )
        .await?;
    Ok(Json(NodeTimelineOut {
        slice_ms: width,
        slices: timeline::slices(first, now, width, &counts),
    }))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/nodes/{node}/failures/resend", tag = "deliveries",
    params(("id" = i64, Path, description = "The journey's id", example = 1), ("node" = String, Path, description = "The webhook node's id", example = "hook")),
    request_body = ResendCauseIn,
    responses(
        (status = 200, description = "How many of the group's failed requests were resent (those among the latest 10,000 failures)", body = ResentOut),
        (status = 404, description = "No such journey (`not_found`)", body = app::api::ErrorOut),
        BadPath, BadBody, Fault,
    ))]
async fn resend_cause_of_node(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((journey, node)): ApiPath<(JourneyId, NodeId)>,
    ApiJson(input): ApiJson<ResendCauseIn>,
) -> ApiResult<Json<ResentOut>> {
    existing_journey(&state, journey).await?;
    let failures = state
        .store
        .last_failures(
            journey,
            &node,
            DeliveryStatus::Failed,
            input.version,
            TRIAGE_SCAN,
        )
        .await?;
    let ids = triage::with_cause(&failures, &input.cause);
    let resent_at = state.clock.now();
    let resent = state.store.resend_failed(&ids, resent_at).await?;
    audit::by(
        &state,
        &caller,
        AuditAction::FailedDeliveriesResent,
        format!(
            "journey {journey} node {node}, cause \"{}\" ({resent} deliveries)",
            input.cause
        ),
    )
    .await;
    Ok(Json(ResentOut { resent, resent_at }))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}/nodes/{node}/resends", tag = "deliveries",
    params(("id" = i64, Path, description = "The journey's id", example = 1), ("node" = String, Path, description = "The webhook node's id", example = "hook"), ResendQuery),
    responses(
        (status = 200, description = "Where the requests of that resend are now: accepted, pending or failed", body = ResendProgressOut),
        (status = 404, description = "No such journey (`not_found`)", body = app::api::ErrorOut),
        BadPath, BadQuery, Fault,
    ))]
async fn resend_progress_of_node(
    State(state): State<AppState>,
    ApiPath((journey, node)): ApiPath<(JourneyId, NodeId)>,
    ApiQuery(query): ApiQuery<ResendQuery>,
) -> ApiResult<Json<ResendProgressOut>> {
    existing_journey(&state, journey).await?;
    let progress = state
        .store
        .resend_progress(journey, &node, query.resent_at)
        .await?;
    Ok(Json(ResendProgressOut {
        resent_at: query.resent_at,
        accepted: progress.accepted,
        pending: progress.pending,
        failed: progress.failed,
    }))
}

/// Failed requests, or pending ones being retried: the two a triage groups.
fn triage_status(status: Option<DeliveryStatus>) -> ApiResult<DeliveryStatus> {
    match status.unwrap_or(DeliveryStatus::Failed) {
        status @ (DeliveryStatus::Failed | DeliveryStatus::Pending) => Ok(status),
        other => Err(ApiError::bad_request(format!(
            "status: failures are grouped for `failed` or `pending` requests, not `{}`",
            other.as_str()
        ))),
    }
}

async fn existing_journey(state: &AppState, journey: JourneyId) -> ApiResult<()> {
    match state.store.journey(journey).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(format!(
            "there is no journey {journey}"
        ))),
    }
}

#[utoipa::path(get, path = "/api/v1/deliveries", tag = "deliveries",
    params(DeliveryFilter),
    responses(
        (status = 200, description = "The delivery log, newest first", body = Vec<DeliveryOut>),
        BadQuery, Fault,
    ))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<DeliveryFilter>,
) -> ApiResult<Json<Vec<DeliveryOut>>> {
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit is between 1 and {MAX_LIMIT}"
        )));
    }
    let query = DeliveryQuery {
        id: None,
        webhook: filter.webhook,
        journey: filter.journey,
        node: filter.node.as_ref(),
        version: filter.version,
        status: filter.status,
        contact: filter.contact.as_deref(),
        since: filter.since,
        until: filter.until,
        limit,
    };
    let rows = state.store.deliveries(&query).await?;
    let labels = ContactLabels::for_caller(&state, &caller).await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| delivery_out(row, labels.as_ref()))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/deliveries/{id}", tag = "deliveries",
    params(("id" = i64, Path, description = "The delivery's id", example = 1)),
    responses(
        (status = 200, description = "The delivery with every attempt", body = DeliveryDetailOut),
        BadPath, Fault,
    ))]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<DeliveryId>,
) -> ApiResult<Json<DeliveryDetailOut>> {
    // Receivers' answers can carry personal data: readers who cannot resend (viewers) see
    // that an answer came, not what it said.
    let shows_answers = caller.principal.has(app::api::Scope::DeliveriesWrite);
    let delivery = one(&state, id).await?;
    let attempts = state.store.delivery_attempts(id).await?;
    let labels = ContactLabels::for_caller(&state, &caller).await?;
    Ok(Json(DeliveryDetailOut {
        delivery: delivery_out(delivery, labels.as_ref()),
        attempts_log: attempts
            .into_iter()
            .map(|attempt| AttemptOut {
                attempted_at: attempt.attempted_at,
                latency_ms: attempt.latency_ms,
                status_code: attempt.status_code,
                error: attempt.error,
                response_body: attempt.response_body.filter(|_| shows_answers),
                missing_placeholders: attempt
                    .missing_placeholders
                    .map(|missing| missing.split(", ").map(str::to_owned).collect())
                    .unwrap_or_default(),
                outcome: attempt.outcome,
            })
            .collect(),
    }))
}

/// The delivery's request as it would be sent now: today's webhook settings with the
/// delivery's contact, event and custom data, authentication and secret headers masked, not
/// signed. What a triage shows beside an answer, to see what the receiver refused.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}/request", tag = "deliveries",
    params(("id" = i64, Path, description = "The delivery's id", example = 1)),
    responses(
        (status = 200, description = "The request, authentication masked", body = app::api::RequestPreviewOut),
        (status = 404, description = "No such delivery, or its webhook was deleted (`not_found`)", body = app::api::ErrorOut),
        (status = 422, description = "The webhook's settings cannot make this delivery's request (`unprocessable`)", body = app::api::ErrorOut),
        BadPath, Fault,
    ))]
async fn request_of(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<DeliveryId>,
) -> ApiResult<Json<app::api::RequestPreviewOut>> {
    let delivery = state
        .store
        .delivery_subject(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no delivery {id}")))?;
    let row = state
        .store
        .webhook(delivery.webhook_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the delivery's webhook was deleted"))?;
    let target = Target::of(&row, state.clock.now()).map_err(ApiError::internal)?;
    let request = target
        .request(&Subject::of_delivery(&delivery))
        .map_err(|error| ApiError::unprocessable(format!("the request cannot be made: {error}")))?;
    Ok(Json(super::webhooks::preview_out(render::masked(
        request,
        &target.settings,
    ))))
}

/// Starts a new attempt cycle with the same `webhook-id`; a pending delivery is left alone.
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/resend", tag = "deliveries",
    params(("id" = i64, Path, description = "The delivery's id", example = 1)),
    responses(
        (status = 200, description = "A new attempt cycle, with the same webhook-id", body = DeliveryOut),
        (status = 409, description = "Pending already, held by its disabled webhook, or cancelled (`conflict`)", body = app::api::ErrorOut),
        BadPath, Fault,
    ))]
async fn resend(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<DeliveryId>,
) -> ApiResult<Json<DeliveryOut>> {
    let delivery = one(&state, id).await?;
    match delivery.status {
        DeliveryStatus::Pending => {
            return Err(ApiError::conflict(format!(
                "delivery {id} is pending already; it is sent at its next attempt"
            )));
        }
        DeliveryStatus::Held => {
            return Err(ApiError::conflict(format!(
                "delivery {id} is held while its webhook is disabled; enable the webhook to \
                 send it"
            )));
        }
        DeliveryStatus::Cancelled => {
            return Err(ApiError::conflict(format!(
                "delivery {id} was cancelled when its journey or webhook was deleted; it is \
                 never sent"
            )));
        }
        DeliveryStatus::Accepted | DeliveryStatus::Failed => {}
    }
    state
        .store
        .resend_deliveries(ResendScope::Delivery(id), state.clock.now())
        .await?;
    audit::by(
        &state,
        &caller,
        AuditAction::DeliveryResent,
        format!("delivery {id}"),
    )
    .await;
    let labels = ContactLabels::for_caller(&state, &caller).await?;
    Ok(Json(delivery_out(one(&state, id).await?, labels.as_ref())))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/nodes/{node}/resend-failed", tag = "deliveries",
    params(("id" = i64, Path, description = "The journey's id", example = 1), ("node" = String, Path, description = "The webhook node's id", example = "hook"), TimelineQuery),
    responses(
        (status = 200, description = "How many failed deliveries were resent", body = ResentOut),
        BadPath, BadQuery, Fault,
    ))]
async fn resend_failed_of_node(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((journey, node)): ApiPath<(JourneyId, NodeId)>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> ApiResult<Json<ResentOut>> {
    existing_journey(&state, journey).await?;
    let resent_at = state.clock.now();
    let resent = state
        .store
        .resend_deliveries(
            ResendScope::FailedOfNode {
                journey,
                node: &node,
                version: query.version,
            },
            resent_at,
        )
        .await?;
    audit::by(
        &state,
        &caller,
        AuditAction::FailedDeliveriesResent,
        format!("journey {journey} node {node} ({resent} deliveries)"),
    )
    .await;
    Ok(Json(ResentOut { resent, resent_at }))
}

async fn one(state: &AppState, id: DeliveryId) -> ApiResult<DeliveryRow> {
    let query = DeliveryQuery {
        id: Some(id),
        limit: 1,
        ..DeliveryQuery::default()
    };
    state
        .store
        .deliveries(&query)
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("there is no delivery {id}")))
}

fn delivery_out(row: DeliveryRow, labels: Option<&ContactLabels>) -> DeliveryOut {
    let label = labels
        .map(|labels| labels.label(&row.contact_attributes))
        .unwrap_or_default();
    DeliveryOut {
        id: row.id,
        webhook: row.webhook_id,
        journey_id: row.journey_id,
        version: row.version,
        node_id: row.node_id,
        contact: row.contact,
        contact_name: label.name,
        contact_email: label.email,
        status: row.status,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        last_status_code: row.last_status_code,
        last_error: row.last_error,
        created_at: row.created_at,
    }
}
