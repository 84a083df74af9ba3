//! `/api/v1/journeys`: create, list, read, edit and delete drafts; publish versions; pause and
//! resume; statistics per node.

use super::openapi::{BadBody, BadPath, BadQuery, Fault};
use std::collections::{HashMap, HashSet};

use app::{
    api::{
        AuditAction, BranchCountOut, DeliveryCountsOut, DeliveryStatus, EnrollmentState, JourneyIn,
        JourneyOut, JourneyPatch, JourneyStatsOut, JourneyStatus, JourneySummaryOut,
        MessageCountsOut, MessageStatus, NodeStatsOut, PublishOut, StatsQuery,
    },
    ids::{JourneyId, TemplateId, WebhookId},
    journey::{
        Activity, Channel, Journey, JourneyDocument, NodeId, NodeKind, Output, ValidationError,
    },
};
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};

use super::{
    AppState, audit,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath, ApiQuery},
};
use crate::{
    auth::Caller,
    store::{Hearing, JourneyChanges, JourneyRow, VersionCounts},
};

const MAX_NAME_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/journeys", get(list).post(create))
        .route("/journeys/{id}", get(show).patch(update).delete(remove))
        .route("/journeys/{id}/publish", post(publish))
        .route("/journeys/{id}/pause", post(pause))
        .route("/journeys/{id}/resume", post(resume))
        .route("/journeys/{id}/stats", get(stats))
}

#[utoipa::path(post, path = "/api/v1/journeys", tag = "journeys",
    request_body = JourneyIn,
    responses(
        (status = 201, description = "The draft, with every reason it cannot be published yet", body = JourneyOut),
        BadBody, Fault,
    ))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<JourneyIn>,
) -> ApiResult<(StatusCode, Json<JourneyOut>)> {
    let name = checked_name(&input.name)?;
    let draft = draft_json(input.draft)?;
    let row = state
        .store
        .create_journey(name, input.reentry, &draft, state.clock.now())
        .await?;
    audit::by(
        &state,
        &caller,
        AuditAction::JourneyCreated,
        format!("journey {}", row.id),
    )
    .await;
    Ok((StatusCode::CREATED, Json(journey_out(&state, row).await?)))
}

#[utoipa::path(get, path = "/api/v1/journeys", tag = "journeys",
    responses(
        (status = 200, description = "Every journey, most recently edited first", body = Vec<JourneySummaryOut>),
        Fault,
    ))]
async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<JourneySummaryOut>>> {
    let rows = state.store.journeys().await?;
    let in_journey: HashMap<JourneyId, i64> = state
        .store
        .contacts_in_journeys()
        .await?
        .into_iter()
        .collect();
    let summaries = rows
        .into_iter()
        .map(|row| JourneySummaryOut {
            status: row.status,
            contacts_in_journey: in_journey.get(&row.id).copied().unwrap_or(0),
            id: row.id,
            name: row.name,
            live_version: row.live_version,
            updated_at: row.updated_at,
        })
        .collect();
    Ok(Json(summaries))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}", tag = "journeys",
    params(("id" = i64, Path, description = "The journey's id", example = 1)),
    responses(
        (status = 200, description = "The journey with its draft and validation errors", body = JourneyOut),
        BadPath, Fault,
    ))]
async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<JourneyId>,
) -> ApiResult<Json<JourneyOut>> {
    let row = existing(&state, id).await?;
    Ok(Json(journey_out(&state, row).await?))
}

#[utoipa::path(patch, path = "/api/v1/journeys/{id}", tag = "journeys",
    params(("id" = i64, Path, description = "The journey's id", example = 1)),
    request_body = JourneyPatch,
    responses(
        (status = 200, description = "The journey as it now is", body = JourneyOut),
        BadPath, BadBody, Fault,
    ))]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JourneyId>,
    ApiJson(patch): ApiJson<JourneyPatch>,
) -> ApiResult<Json<JourneyOut>> {
    let name = patch.name.as_deref().map(checked_name).transpose()?;
    let draft = patch.draft.map(draft_json).transpose()?;
    let changes = JourneyChanges {
        name,
        reentry: patch.reentry,
        draft: draft.as_deref(),
        status: None,
    };
    let row = state
        .store
        .update_journey(id, changes, state.clock.now())
        .await?
        .ok_or_else(|| no_journey(id))?;
    audit::by(
        &state,
        &caller,
        AuditAction::JourneyEdited,
        format!("journey {id}"),
    )
    .await;
    Ok(Json(journey_out(&state, row).await?))
}

#[utoipa::path(delete, path = "/api/v1/journeys/{id}", tag = "journeys",
    params(("id" = i64, Path, description = "The journey's id", example = 1)),
    responses(
        (status = 204, description = "Deleted; its unsent webhook requests are cancelled"),
        BadPath, Fault,
    ))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JourneyId>,
) -> ApiResult<StatusCode> {
    if state.store.delete_journey(id, state.clock.now()).await? {
        audit::by(
            &state,
            &caller,
            AuditAction::JourneyDeleted,
            format!("journey {id}"),
        )
        .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_journey(id))
    }
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/publish", tag = "journeys",
    params(("id" = i64, Path, description = "The journey's id", example = 1)),
    responses(
        (status = 201, description = "The draft frozen as the next version, now live", body = PublishOut),
        BadPath,
        (status = 422, description = "The draft cannot run (`invalid_journey`), every reason listed", body = app::api::ValidationErrorsOut),
        Fault,
    ))]
async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JourneyId>,
) -> ApiResult<(StatusCode, Json<PublishOut>)> {
    let row = existing(&state, id).await?;
    let journey = stored_journey(&row)?;
    let errors = problems(&state, &journey).await?;
    if !errors.is_empty() {
        return Err(ApiError::invalid_journey(errors));
    }
    let published_at = state.clock.now();
    let version = state
        .store
        .publish_journey(id, &row.draft, published_at)
        .await?
        .ok_or_else(|| no_journey(id))?;
    audit::by(
        &state,
        &caller,
        AuditAction::JourneyPublished,
        format!("journey {id} version {version}"),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(PublishOut {
            version,
            published_at,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/pause", tag = "journeys",
    params(("id" = i64, Path, description = "The journey's id", example = 1)),
    responses(
        (status = 200, description = "Paused: it enrolls and moves no one", body = JourneyOut),
        (status = 409, description = "Never published (`conflict`)", body = app::api::ErrorOut),
        BadPath, Fault,
    ))]
async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JourneyId>,
) -> ApiResult<Json<JourneyOut>> {
    let out = set_status(&state, id, JourneyStatus::Paused).await?;
    audit::by(
        &state,
        &caller,
        AuditAction::JourneyPaused,
        format!("journey {id}"),
    )
    .await;
    Ok(out)
}

#[utoipa::path(post, path = "/api/v1/journeys/{id}/resume", tag = "journeys",
    params(("id" = i64, Path, description = "The journey's id", example = 1)),
    responses(
        (status = 200, description = "Live again", body = JourneyOut),
        (status = 409, description = "Never published (`conflict`)", body = app::api::ErrorOut),
        BadPath, Fault,
    ))]
async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<JourneyId>,
) -> ApiResult<Json<JourneyOut>> {
    let out = set_status(&state, id, JourneyStatus::Live).await?;
    audit::by(
        &state,
        &caller,
        AuditAction::JourneyResumed,
        format!("journey {id}"),
    )
    .await;
    Ok(out)
}

/// Pausing and resuming apply to published journeys; repeating either changes nothing.
async fn set_status(
    state: &AppState,
    id: JourneyId,
    status: JourneyStatus,
) -> ApiResult<Json<JourneyOut>> {
    let row = existing(state, id).await?;
    if row.status == JourneyStatus::Draft {
        return Err(ApiError::conflict(format!(
            "journey {id} has never been published; publish it before pausing or resuming it"
        )));
    }
    let changes = JourneyChanges {
        status: Some(status),
        ..JourneyChanges::default()
    };
    let row = state
        .store
        .update_journey(id, changes, state.clock.now())
        .await?
        .ok_or_else(|| no_journey(id))?;
    if status == JourneyStatus::Live {
        // Events kept arriving while the journey was paused: the waits that heard theirs move
        // on now, instead of timing out later.
        let mut batch = state.store.begin_batch().await?;
        batch
            .hear_awaited_events(Hearing::Journey(id), state.clock.now())
            .await?;
        batch.commit().await?;
    }
    Ok(Json(journey_out(state, row).await?))
}

#[utoipa::path(get, path = "/api/v1/journeys/{id}/stats", tag = "journeys",
    params(("id" = i64, Path, description = "The journey's id", example = 1), StatsQuery),
    responses(
        (status = 200, description = "Counts per node of the live (or given) version", body = JourneyStatsOut),
        BadPath, BadQuery, Fault,
    ))]
async fn stats(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<JourneyId>,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<JourneyStatsOut>> {
    let row = existing(&state, id).await?;
    let version = query.version.or(row.live_version);
    let (journey, counts) = match version {
        Some(version) => {
            let document = state
                .store
                .journey_version(id, version)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found(format!("journey {id} has no version {version}"))
                })?;
            let journey: Journey = serde_json::from_str(&document).map_err(|error| {
                ApiError::internal(format_args!("journey {id} version {version}: {error}"))
            })?;
            (journey, state.store.version_counts(id, version).await?)
        }
        None => (stored_journey(&row)?, VersionCounts::default()),
    };
    let nodes = journey
        .nodes()
        .map(|node| {
            let id = &node.id;
            let in_state = |state: EnrollmentState| {
                counts
                    .states
                    .get(&(id.clone(), state))
                    .copied()
                    .unwrap_or(0)
            };
            let requests = |status: DeliveryStatus| {
                counts
                    .deliveries
                    .get(&(id.clone(), status))
                    .copied()
                    .unwrap_or(0)
            };
            NodeStatsOut {
                node_id: id.clone(),
                reached: counts.reached.get(id).copied().unwrap_or(0),
                waiting: in_state(EnrollmentState::Waiting) + in_state(EnrollmentState::Active),
                exited: in_state(EnrollmentState::Exited),
                failed: in_state(EnrollmentState::Failed),
                left_by: node
                    .kind
                    .tag()
                    .branches()
                    .iter()
                    .map(|&branch| BranchCountOut {
                        branch,
                        contacts: counts
                            .took
                            .get(&Output {
                                node: id.clone(),
                                branch,
                            })
                            .copied()
                            .unwrap_or(0),
                    })
                    .collect(),
                deliveries: matches!(node.kind, NodeKind::Webhook(_)).then(|| DeliveryCountsOut {
                    accepted: requests(DeliveryStatus::Accepted),
                    pending: requests(DeliveryStatus::Pending),
                    held: requests(DeliveryStatus::Held),
                    failed: requests(DeliveryStatus::Failed),
                }),
                messages: matches!(node.kind, NodeKind::Action(_))
                    .then(|| message_counts(&counts, id)),
            }
        })
        .collect();
    Ok(Json(JourneyStatsOut {
        journey_id: id,
        version,
        nodes,
    }))
}

fn message_counts(counts: &VersionCounts, node: &NodeId) -> MessageCountsOut {
    let messages = |status: MessageStatus| {
        counts
            .messages
            .get(&(node.clone(), status))
            .copied()
            .unwrap_or(0)
    };
    let had = |activity: Activity| {
        counts
            .activities
            .get(&(node.clone(), activity))
            .copied()
            .unwrap_or(0)
    };
    MessageCountsOut {
        queued: messages(MessageStatus::Queued),
        sent: messages(MessageStatus::Sent),
        failed: messages(MessageStatus::Failed),
        skipped: messages(MessageStatus::Skipped),
        delivered: had(Activity::Delivered),
        opened: had(Activity::Opened),
        clicked: had(Activity::Clicked),
        bounced: had(Activity::Bounced),
    }
}

/// The published journeys (live or paused) whose version in force `uses` (an asset about to
/// be deleted), named as `"Name" (id)`.
pub(super) async fn published_using(
    state: &AppState,
    uses: impl Fn(&Journey) -> bool,
) -> ApiResult<Vec<String>> {
    let mut users = Vec::new();
    for published in state.store.published_journeys().await? {
        match serde_json::from_str::<Journey>(&published.document) {
            Ok(journey) => {
                if uses(&journey) {
                    users.push(format!("\"{}\" ({})", published.name, published.id));
                }
            }
            Err(error) => tracing::error!(
                journey = %published.id,
                %error,
                "a published version cannot be read"
            ),
        }
    }
    Ok(users)
}

async fn existing(state: &AppState, id: JourneyId) -> ApiResult<JourneyRow> {
    state.store.journey(id).await?.ok_or_else(|| no_journey(id))
}

fn no_journey(id: JourneyId) -> ApiError {
    ApiError::not_found(format!("there is no journey {id}"))
}

fn checked_name(name: &str) -> ApiResult<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::unprocessable("a journey needs a name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::unprocessable(format!(
            "a journey name has at most {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name)
}

/// The draft as stored: any graph the editor can draw, even one that cannot run yet; but not
/// one that is not a graph (duplicate ids, edges to nowhere).
fn draft_json(document: JourneyDocument) -> ApiResult<String> {
    let journey = Journey::from_document(document).map_err(|error| {
        ApiError::unprocessable(format!("the journey graph is malformed: {error}"))
    })?;
    serde_json::to_string(&journey).map_err(ApiError::internal)
}

fn stored_journey(row: &JourneyRow) -> ApiResult<Journey> {
    serde_json::from_str(&row.draft).map_err(|error| {
        ApiError::internal(format_args!(
            "journey {} has an unreadable draft: {error}",
            row.id
        ))
    })
}

/// Everything that keeps the journey from being published: its own problems, and webhook and
/// action nodes naming assets that do not exist (deleted, or mistyped through the API).
async fn problems(state: &AppState, journey: &Journey) -> ApiResult<Vec<ValidationError>> {
    let mut errors = journey.validate();
    let webhooks: HashSet<WebhookId> = state.store.webhook_ids().await?.into_iter().collect();
    errors.extend(journey.check_webhooks(|id| webhooks.contains(&id)));
    if journey
        .nodes()
        .any(|node| matches!(&node.kind, NodeKind::Action(action) if action.template.is_some()))
    {
        let templates: HashMap<TemplateId, Channel> =
            state.store.template_channels().await?.into_iter().collect();
        errors.extend(journey.check_templates(|id| templates.get(&id).copied()));
    }
    Ok(errors)
}

async fn journey_out(state: &AppState, row: JourneyRow) -> ApiResult<JourneyOut> {
    let journey = stored_journey(&row)?;
    let live_document = match row.live_version {
        Some(version) => state
            .store
            .journey_version(row.id, version)
            .await?
            .and_then(|stored| serde_json::from_str::<Journey>(&stored).ok())
            .map(|live| live.to_document()),
        None => None,
    };
    Ok(JourneyOut {
        live_document,
        status: row.status,
        reentry: row.reentry,
        validation_errors: problems(state, &journey).await?,
        draft: journey.to_document(),
        id: row.id,
        name: row.name,
        live_version: row.live_version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
