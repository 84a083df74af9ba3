//! `/api/v1/templates`: create, list, read, replace and delete message templates; preview one
//! (saved or not) as a contact would receive it.

use app::{
    api::{
        AuditAction, Scope, TemplateContent, TemplateIn, TemplateOut, TemplatePreviewIn,
        TemplatePreviewOut,
    },
    ids::TemplateId,
    journey::NodeKind,
    template::TemplateData,
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
    openapi::{BadBody, BadPath, Fault},
};
use crate::{
    auth::Caller,
    delivery::prepare::rfc3339,
    messaging::compose,
    store::{TemplateRow, json_object},
};

const MAX_NAME_CHARS: usize = 200;

/// An email's HTML may be long; a megabyte is more than any mail client shows.
const MAX_TEMPLATE_BYTES: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/templates", get(list).post(create))
        .route("/templates/preview", post(preview))
        .route("/templates/{id}", get(show).put(replace).delete(remove))
        .layer(DefaultBodyLimit::max(MAX_TEMPLATE_BYTES))
}

#[utoipa::path(post, path = "/api/v1/templates", tag = "templates",
    request_body = TemplateIn,
    responses(
        (status = 201, description = "The template", body = TemplateOut),
        BadBody, Fault,
    ))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<TemplateIn>,
) -> ApiResult<(StatusCode, Json<TemplateOut>)> {
    let now = state.clock.now();
    let row = checked_row(input, TemplateId(0), now)?;
    let row = state.store.create_template(&row).await?;
    audit::by(
        &state,
        &caller,
        AuditAction::TemplateCreated,
        format!("template {}", row.id),
    )
    .await;
    Ok((StatusCode::CREATED, Json(out(&row)?)))
}

#[utoipa::path(get, path = "/api/v1/templates", tag = "templates",
    responses(
        (status = 200, description = "Every template, by name", body = Vec<TemplateOut>),
        Fault,
    ))]
async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<TemplateOut>>> {
    let rows = state.store.templates().await?;
    Ok(Json(rows.iter().map(out).collect::<ApiResult<_>>()?))
}

#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "templates",
    params(("id" = i64, Path, description = "The template's id", example = 1)),
    responses(
        (status = 200, description = "The template", body = TemplateOut),
        BadPath, Fault,
    ))]
async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<TemplateId>,
) -> ApiResult<Json<TemplateOut>> {
    let row = state
        .store
        .template(id)
        .await?
        .ok_or_else(|| no_template(id))?;
    Ok(Json(out(&row)?))
}

/// Replaces the template: messages queued from it and not sent yet go out with the new text.
#[utoipa::path(put, path = "/api/v1/templates/{id}", tag = "templates",
    params(("id" = i64, Path, description = "The template's id", example = 1)),
    request_body = TemplateIn,
    responses(
        (status = 200, description = "The template as saved", body = TemplateOut),
        BadPath, BadBody, Fault,
    ))]
async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<TemplateId>,
    ApiJson(input): ApiJson<TemplateIn>,
) -> ApiResult<Json<TemplateOut>> {
    let row = checked_row(input, id, state.clock.now())?;
    let row = state
        .store
        .save_template(&row)
        .await?
        .ok_or_else(|| no_template(id))?;
    audit::by(
        &state,
        &caller,
        AuditAction::TemplateEdited,
        format!("template {id}"),
    )
    .await;
    Ok(Json(out(&row)?))
}

#[utoipa::path(delete, path = "/api/v1/templates/{id}", tag = "templates",
    params(("id" = i64, Path, description = "The template's id", example = 1)),
    responses(
        (status = 204, description = "Deleted; its messages not sent yet are skipped"),
        (status = 409, description = "A published journey sends it (`conflict`, naming them)", body = app::api::ErrorOut),
        BadPath, Fault,
    ))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<TemplateId>,
) -> ApiResult<StatusCode> {
    let users = super::journeys::published_using(&state, |journey| {
        journey.nodes().any(
            |node| matches!(&node.kind, NodeKind::Action(action) if action.template == Some(id)),
        )
    })
    .await?;
    if !users.is_empty() {
        return Err(ApiError::conflict(format!(
            "template {id} is sent by the published journeys {}: pick another template in their \
             action nodes and publish them, or delete those journeys, before deleting it",
            users.join(", ")
        )));
    }
    if !state.store.delete_template(id).await? {
        return Err(no_template(id));
    }
    audit::by(
        &state,
        &caller,
        AuditAction::TemplateDeleted,
        format!("template {id}"),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The content as `contact` would receive it (links not rewritten yet), or with sample values.
#[utoipa::path(post, path = "/api/v1/templates/preview", tag = "templates",
    request_body = TemplatePreviewIn,
    responses(
        (status = 200, description = "The content with its placeholders filled", body = TemplatePreviewOut),
        (status = 403, description = "A contact named by a caller who may not read contacts (`forbidden`)", body = app::api::ErrorOut),
        (status = 404, description = "No contact with that external id (`not_found`)", body = app::api::ErrorOut),
        BadBody, Fault,
    ))]
async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<TemplatePreviewIn>,
) -> ApiResult<Json<TemplatePreviewOut>> {
    compose::validate(&input.content).map_err(|error| ApiError::invalid_field("content", error))?;
    let composed = match &input.contact {
        None => compose::sample(&input.content),
        Some(external_id) => {
            // The preview shows the contact's attributes: templates:read alone must not read
            // them one placeholder at a time.
            if !caller.principal.has(Scope::ContactsRead) {
                return Err(ApiError::forbidden(
                    "previewing with a contact shows their attributes, which needs contacts:read; \
                     preview with sample values instead (no contact)",
                ));
            }
            let contact = state.store.contact(external_id).await?.ok_or_else(|| {
                ApiError::not_found(format!("there is no contact \"{external_id}\""))
            })?;
            let attributes = json_object(&contact.attributes);
            let now = rfc3339(state.clock.now());
            compose::compose(
                &input.content,
                &TemplateData {
                    contact_external_id: &contact.external_id,
                    contact: &attributes,
                    event_name: None,
                    event_occurred_at: Some(&now),
                    event: None,
                    journey_id: None,
                    journey_name: None,
                    message: None,
                },
            )
        }
    }
    .map_err(|error| ApiError::invalid_field("content", error))?;
    Ok(Json(TemplatePreviewOut {
        content: composed.content,
        missing: composed.missing,
    }))
}

/// The row to store for `input`, or the error naming the field that is wrong.
fn checked_row(input: TemplateIn, id: TemplateId, now: i64) -> ApiResult<TemplateRow> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid_field("name", "a template needs a name"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid_field(
            "name",
            format!("at most {MAX_NAME_CHARS} characters"),
        ));
    }
    compose::validate(&input.content).map_err(|error| ApiError::invalid_field("content", error))?;
    Ok(TemplateRow {
        id,
        name: name.to_owned(),
        channel: input.content.channel(),
        content: serde_json::to_string(&input.content).map_err(ApiError::internal)?,
        created_at: now,
        updated_at: now,
    })
}

fn out(row: &TemplateRow) -> ApiResult<TemplateOut> {
    let content: TemplateContent = serde_json::from_str(&row.content).map_err(|error| {
        ApiError::internal(format_args!("template {} cannot be read: {error}", row.id))
    })?;
    Ok(TemplateOut {
        id: row.id,
        name: row.name.clone(),
        channel: row.channel,
        content,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn no_template(id: TemplateId) -> ApiError {
    ApiError::not_found(format!("there is no template {id}"))
}
