//! `/api/v1/events`: accept events once they are durably stored.

use super::openapi::{BadBody, Fault};

use app::{
    api::{EventBatchIn, EventIn, EventsAcceptedOut, Timestamp},
    ids::MessageId,
};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    routing::post,
};

use super::{
    AppState,
    error::{ApiError, ApiResult},
    extract::ApiJson,
};
use crate::{
    auth::{Caller, Principal},
    clock::Millis,
    intake::{IncomingEvent, IntakeError},
};

const MAX_BATCH: usize = 1_000;
const MAX_NAME_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/events",
            post(accept_one).layer(DefaultBodyLimit::max(super::body_limit::ONE_RECORD)),
        )
        .route("/events/batch", post(accept_batch))
}

#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    request_body = EventIn,
    responses(
        (status = 202, description = "Stored durably; matched by the engine next", body = EventsAcceptedOut),
        (status = 404, description = "No such contact (`not_found`)", body = app::api::ErrorOut),
        (status = 503, description = "The server is stopping (`unavailable`)", body = app::api::ErrorOut),
        (status = 429, description = "Over the API key's event rate (`rate_limited`), with `Retry-After`", body = app::api::ErrorOut),
        BadBody, Fault,
    ))]
async fn accept_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(event): ApiJson<EventIn>,
) -> ApiResult<(StatusCode, Json<EventsAcceptedOut>)> {
    accept(&state, &caller, vec![event]).await
}

#[utoipa::path(post, path = "/api/v1/events/batch", tag = "events",
    request_body = EventBatchIn,
    responses(
        (status = 202, description = "All stored durably, in one transaction", body = EventsAcceptedOut),
        (status = 404, description = "A contact does not exist (`not_found`)", body = app::api::ErrorOut),
        (status = 503, description = "The server is stopping (`unavailable`)", body = app::api::ErrorOut),
        (status = 429, description = "Over the API key's event rate (`rate_limited`), with `Retry-After`", body = app::api::ErrorOut),
        BadBody, Fault,
    ))]
async fn accept_batch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(batch): ApiJson<EventBatchIn>,
) -> ApiResult<(StatusCode, Json<EventsAcceptedOut>)> {
    if batch.events.len() > MAX_BATCH {
        return Err(ApiError::unprocessable(format!(
            "a batch has at most {MAX_BATCH} events; this one has {}",
            batch.events.len()
        )));
    }
    accept(&state, &caller, batch.events).await
}

async fn accept(
    state: &AppState,
    caller: &Caller,
    events: Vec<EventIn>,
) -> ApiResult<(StatusCode, Json<EventsAcceptedOut>)> {
    let received_at = state.clock.now();
    if let Principal::Key(key) = &caller.principal {
        let count = u32::try_from(events.len()).unwrap_or(u32::MAX);
        if !state.ingest_limiter.fits(count) {
            return Err(ApiError::unprocessable(format!(
                "this batch of {count} events is larger than an API key may send at once (the \
                 server's --ingest-burst-per-key); send smaller batches"
            )));
        }
        if let Err(over) = state.ingest_limiter.take(key.id, count, received_at) {
            return Err(ApiError::too_many(
                "rate_limited",
                format!(
                    "this API key sends events faster than the server allows \
                     (--ingest-rate-per-key); retry after {} s",
                    over.retry_after_secs
                ),
                over.retry_after_secs,
            ));
        }
    }
    for (position, event) in events.iter().enumerate() {
        check_event(event).map_err(|error| error.prefixed(&prefix(position, &events)))?;
    }
    check_messages(state, &events).await?;
    let incoming = events
        .into_iter()
        .map(|event| {
            let occurred_at = match &event.occurred_at {
                Some(timestamp) => millis(timestamp).unwrap_or(received_at),
                None => received_at,
            };
            Ok(IncomingEvent {
                properties: serde_json::to_string(&event.properties).map_err(ApiError::internal)?,
                contact: event.contact,
                name: event.event,
                message_id: event.message_id,
                occurred_at,
                received_at,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let ids = state
        .intake
        .append(incoming)
        .await
        .map_err(|error| match error {
            IntakeError::Stopped => ApiError::unavailable(error.to_string()),
            IntakeError::UnknownContacts(_) => ApiError::not_found(format!(
                "{error}; create contacts with PUT /api/v1/contacts/{{external_id}} first"
            )),
            IntakeError::Database(database) => ApiError::from_database(&database),
        })?;
    Ok((StatusCode::ACCEPTED, Json(EventsAcceptedOut { ids })))
}

/// An activity event (`opened` with a `message_id`) is about a message sent to its contact: one
/// naming another contact's message would resume that contact's wait.
async fn check_messages(state: &AppState, events: &[EventIn]) -> ApiResult<()> {
    let messages: Vec<MessageId> = events.iter().filter_map(|event| event.message_id).collect();
    if messages.is_empty() {
        return Ok(());
    }
    let recipients = state.store.message_recipients(&messages).await?;
    for (position, event) in events.iter().enumerate() {
        let Some(message) = event.message_id else {
            continue;
        };
        let problem = match recipients.get(&message) {
            None => format!("message_id {message} names no message that was sent"),
            Some(recipient) if *recipient != event.contact => format!(
                "message_id {message} was sent to another contact than \"{}\"",
                event.contact
            ),
            Some(_) => continue,
        };
        return Err(ApiError::unprocessable(problem).prefixed(&prefix(position, events)));
    }
    Ok(())
}

fn prefix(position: usize, events: &[EventIn]) -> String {
    if events.len() == 1 {
        String::new()
    } else {
        format!("events[{position}]: ")
    }
}

fn check_event(event: &EventIn) -> ApiResult<()> {
    if event.event.trim().is_empty() {
        return Err(ApiError::unprocessable("an event needs a name (\"event\")"));
    }
    if event.event.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::unprocessable(format!(
            "an event name has at most {MAX_NAME_CHARS} characters"
        )));
    }
    if event.contact.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "an event needs the contact's external_id (\"contact\")",
        ));
    }
    if let Some(timestamp) = &event.occurred_at
        && millis(timestamp).is_none()
    {
        return Err(ApiError::unprocessable(
            "occurred_at must be epoch milliseconds or RFC 3339 text such as 2026-11-23T16:35:00Z",
        ));
    }
    Ok(())
}

fn millis(timestamp: &Timestamp) -> Option<Millis> {
    match timestamp {
        Timestamp::Millis(millis) => Some(*millis),
        Timestamp::Text(text) => chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|time| time.timestamp_millis()),
    }
}
