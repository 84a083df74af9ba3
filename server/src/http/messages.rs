//! `GET /api/v1/messages`: the message log, what action nodes sent (or skipped, and why),
//! filterable by journey, node, channel, status and contact, with each message's activities
//! and every attempt to send it.

use app::{
    api::{MessageAttemptOut, MessageFilter, MessageOut},
    journey::Activity,
};
use axum::{Json, Router, extract::State, routing::get};

use super::{
    AppState,
    error::{ApiError, ApiResult},
    extract::ApiQuery,
    openapi::{BadQuery, Fault},
};
use crate::store::{MessageLogRow, MessageQuery};

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/messages", get(list))
}

#[utoipa::path(get, path = "/api/v1/messages", tag = "templates",
    params(MessageFilter),
    responses(
        (status = 200, description = "The message log, newest first", body = Vec<MessageOut>),
        BadQuery, Fault,
    ))]
async fn list(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<MessageFilter>,
) -> ApiResult<Json<Vec<MessageOut>>> {
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit is between 1 and {MAX_LIMIT}"
        )));
    }
    let rows = state
        .store
        .messages(&MessageQuery {
            journey: filter.journey,
            node: filter.node.as_ref(),
            channel: filter.channel,
            status: filter.status,
            contact: filter.contact.as_deref(),
            limit,
        })
        .await?;
    let ids: Vec<_> = rows.iter().map(|row| row.id).collect();
    let mut activities = state.store.message_activities(&ids).await?;
    let mut attempts = state.store.message_attempts(&ids).await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| {
                let had = activities.remove(&row.id).unwrap_or_default();
                let attempt_log = attempts.remove(&row.id).unwrap_or_default();
                message_out(row, had, attempt_log)
            })
            .collect(),
    ))
}

fn message_out(
    row: MessageLogRow,
    had: Vec<String>,
    attempt_log: Vec<MessageAttemptOut>,
) -> MessageOut {
    MessageOut {
        id: row.id,
        journey_id: row.journey_id,
        version: row.version,
        node_id: row.node_id,
        channel: row.channel,
        template_id: row.template_id,
        contact: row.contact,
        status: row.status,
        reason: row.reason,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        provider_ref: row.provider_ref,
        created_at: row.created_at,
        sent_at: row.sent_at,
        // Events of other names that name a message (a client's own) are not activities.
        activities: had
            .iter()
            .filter_map(|name| name.parse::<Activity>().ok())
            .collect(),
        attempt_log,
    }
}
