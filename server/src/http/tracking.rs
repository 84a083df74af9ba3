//! `/t/…`: the links in sent emails, open to the internet because each carries its own
//! unforgeable token (see [`crate::messaging::tracking`]). Opening the email fetches the pixel
//! (`opened`), a link goes through a redirect (`clicked`), and the unsubscribe link, or a mail
//! client's one-click `List-Unsubscribe-Post`, opts the contact out. Each becomes an event of
//! the contact tied to the message, so it resumes waits on that activity and is counted on the
//! canvas.

use app::ids::MessageId;
use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::{
    intake::{IncomingEvent, IntakeError},
    messaging::tracking::{Purpose, Tracker},
    store::TrackedMessage,
};

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/o/{token}", get(open))
        .route("/t/c/{token}", get(click))
        .route("/t/u/{token}", get(unsubscribe_page).post(unsubscribe))
}

#[derive(Debug, Deserialize)]
struct ClickQuery {
    #[serde(default)]
    u: String,
}

async fn open(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some((message, Purpose::Open)) = state.tracker.verify(&token, "") else {
        return not_a_link();
    };
    if let Err(response) = record(&state, message, "opened", json!({})).await {
        return response;
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/gif")),
            // Every open is fetched again, so each one reaches us.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, max-age=0"),
            ),
        ],
        PIXEL,
    )
        .into_response()
}

async fn click(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<ClickQuery>,
) -> Response {
    let Some(target) = Tracker::click_target(&query.u) else {
        return not_a_link();
    };
    let Some((message, Purpose::Click(index))) = state.tracker.verify(&token, &target) else {
        return not_a_link();
    };
    // The contact came for the page: a click that cannot be recorded still leads there.
    if let Err(response) = record(
        &state,
        message,
        "clicked",
        json!({"url": target, "link": index}),
    )
    .await
        && response.status() != StatusCode::NOT_FOUND
    {
        tracing::warn!(%message, "a click could not be recorded");
    }
    Redirect::to(&target).into_response()
}

async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    if !matches!(
        state.tracker.verify(&token, ""),
        Some((_, Purpose::Unsubscribe))
    ) {
        return not_a_link();
    }
    // A form, not an action on GET: link scanners fetch every link in an email.
    Html(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>Unsubscribe</title><main style=\"font-family:sans-serif;max-width:30em;margin:3em auto\">\
         <h1>Unsubscribe?</h1><p>You will no longer receive these messages.</p>\
         <form method=post><button type=submit>Unsubscribe</button></form></main>",
    )
    .into_response()
}

async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some((message, Purpose::Unsubscribe)) = state.tracker.verify(&token, "") else {
        return not_a_link();
    };
    let tracked = match tracked(&state, message).await {
        Ok(tracked) => tracked,
        Err(response) => return response,
    };
    let now = state.clock.now();
    // The attribute the email channel's settings read as the opt-out.
    let opt_out = match super::channels::email_channel(&state).await {
        Ok(settings) => settings.opt_out_attribute,
        Err(error) => return error.into_response(),
    };
    let attributes = json!({ opt_out: true }).to_string();
    if let Err(error) = state
        .store
        .upsert_contact(&tracked.contact_external_id, &attributes, now)
        .await
    {
        return super::ApiError::from(error).into_response();
    }
    if let Err(response) = append(&state, tracked, "unsubscribed", json!({})).await {
        return response;
    }
    Html(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>Unsubscribed</title><main style=\"font-family:sans-serif;max-width:30em;margin:3em auto\">\
         <h1>You are unsubscribed</h1><p>You will no longer receive these messages.</p></main>",
    )
    .into_response()
}

/// Stores the activity as an event of the message's contact; it is matched like any event.
async fn record(
    state: &AppState,
    message: MessageId,
    activity: &str,
    properties: serde_json::Value,
) -> Result<(), Response> {
    append(state, tracked(state, message).await?, activity, properties).await
}

/// The message a genuine token names, with its contact.
async fn tracked(state: &AppState, message: MessageId) -> Result<TrackedMessage, Response> {
    match state.store.tracked_message(message).await {
        Ok(Some(tracked)) => Ok(tracked),
        Ok(None) => Err(not_a_link()),
        Err(error) => Err(super::ApiError::from(error).into_response()),
    }
}

async fn append(
    state: &AppState,
    tracked: TrackedMessage,
    activity: &str,
    properties: serde_json::Value,
) -> Result<(), Response> {
    append_activity(state, tracked, activity, properties)
        .await
        .map_err(|error| match error {
            IntakeError::UnknownContacts(_) => not_a_link(),
            IntakeError::Stopped => super::ApiError::unavailable(error.to_string()).into_response(),
            IntakeError::Database(database) => {
                super::ApiError::from_database(&database).into_response()
            }
        })
}

/// Stores what the contact did with the message as an event of theirs, tied to the message:
/// it resumes waits on that activity and is counted on the action node.
pub(super) async fn append_activity(
    state: &AppState,
    tracked: TrackedMessage,
    activity: &str,
    properties: serde_json::Value,
) -> Result<(), IntakeError> {
    let now = state.clock.now();
    state
        .intake
        .append(vec![IncomingEvent {
            contact: tracked.contact_external_id,
            name: activity.to_owned(),
            properties: properties.to_string(),
            message_id: Some(tracked.id),
            occurred_at: now,
            received_at: now,
        }])
        .await
        .map(|_| ())
}

/// A token that is not ours, altered, or about a message that no longer exists.
fn not_a_link() -> Response {
    (StatusCode::NOT_FOUND, "This link is not valid.").into_response()
}
