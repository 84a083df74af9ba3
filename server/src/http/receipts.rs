//! `POST /api/v1/receipts/{channel}`: where a channel's provider (for email, the SMTP relay's
//! event webhook) reports what became of a message (delivered, failed, read, clicked, bounced). Open to the internet like the
//! tracking links, so each report must carry the provider's signature (or its basic
//! credentials) before anything in it is read. A report becomes an activity event of the
//! message's contact, at most once per message and activity.

use app::{
    api::{ReceiptOut, ReceiptStatus},
    journey::{Activity, Channel},
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, header},
    routing::post,
};
use serde_json::json;

use super::{
    AppState, body_limit,
    error::{ApiError, ApiResult},
    extract::ApiPath,
    openapi::Fault,
    tracking::append_activity,
};
use crate::{
    intake::IntakeError,
    messaging::{channel::ChannelSettings, email, receipt},
    store::MessageReference,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/receipts/{channel}", post(receive))
        .layer(DefaultBodyLimit::max(body_limit::SETTINGS))
}

/// Takes a provider's report on a message. The body is JSON or a form; where it names the
/// message and its status is set with the channel's provider.
#[utoipa::path(post, path = "/api/v1/receipts/{channel}", tag = "channels",
    params(("channel" = String, Path, description = "sms, whatsapp, rcs, app_push, web_push, or email (its SMTP relay's reports)", example = "sms")),
    request_body(content = String, description = "The provider's report, JSON or a form", content_type = "application/json"),
    responses(
        (status = 200, description = "Taken: what it recorded, if anything", body = ReceiptOut),
        (status = 400, description = "The report cannot be read (`bad_request`)", body = app::api::ErrorOut),
        (status = 401, description = "Not signed by the provider (`unauthenticated`)", body = app::api::ErrorOut),
        (status = 404, description = "No such channel or provider, or no message it names (`not_found`)", body = app::api::ErrorOut),
        Fault,
    ))]
async fn receive(
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ReceiptOut>> {
    let no_provider = || {
        ApiError::not_found(format!(
            "no provider is set up for \"{channel}\", so it takes no receipts"
        ))
    };
    let channel: Channel = channel.parse().map_err(|_| no_provider())?;
    let settings = state
        .store
        .channel_row(channel)
        .await?
        .and_then(|row| ChannelSettings::parse(&row).ok())
        .ok_or_else(no_provider)?;
    // Email's reports come from its SMTP relay; the others' from their provider, which may
    // name messages by its own ids.
    let (receipts, named_by_provider) = match (channel, settings.provider) {
        (Channel::Email, _) => (settings.receipts.ok_or_else(no_provider)?, false),
        (_, Some(provider)) => (provider.receipts, !provider.answer_id_path.is_empty()),
        (_, None) => return Err(no_provider()),
    };
    receipt::authenticate(&receipts.auth, &headers, &body)
        .map_err(|error| ApiError::unauthenticated(error.to_string()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let report = receipt::read(&receipts, content_type, &body)
        .map_err(|error| ApiError::bad_request(error.to_string()))?;
    let Some(activity) = receipts.activity(&report.status) else {
        return Ok(Json(ReceiptOut {
            recorded: None,
            status: ReceiptStatus::NotAnActivity,
            note: Some(format!(
                "the status \"{}\" is not an activity Wayfarer records",
                report.status
            )),
        }));
    };
    let reference = if named_by_provider {
        MessageReference::Provider(report.reference.clone())
    } else {
        // The request passed Wayfarer's id (`{{message.id}}`), or the email its `Message-ID`,
        // so the report gives it back.
        match email::message_of_reference(&report.reference) {
            Some(id) => MessageReference::Ours(id),
            None => return Err(no_message(channel, &report.reference)),
        }
    };
    let message = state
        .store
        .message_by_reference(channel, &reference)
        .await?
        .ok_or_else(|| no_message(channel, &report.reference))?;
    // Providers repeat reports (retries, several callbacks): each activity counts once.
    if state
        .store
        .message_had_activity(message.id, activity.as_str())
        .await?
    {
        return Ok(Json(ReceiptOut {
            recorded: None,
            status: ReceiptStatus::Duplicate,
            note: Some(format!("message {} already had {activity}", message.id)),
        }));
    }
    if activity == Activity::Failed {
        state
            .store
            .fail_sent_message(
                message.id,
                &format!("the provider reported \"{}\"", report.status),
            )
            .await?;
    }
    append_activity(
        &state,
        message,
        activity.as_str(),
        json!({"status": report.status, "channel": channel.as_str()}),
    )
    .await
    .map_err(|error| match error {
        IntakeError::UnknownContacts(_) => ApiError::not_found("the message's contact was deleted"),
        IntakeError::Stopped => ApiError::unavailable(error.to_string()),
        IntakeError::Database(database) => ApiError::from_database(&database),
    })?;
    Ok(Json(ReceiptOut {
        recorded: Some(activity),
        status: ReceiptStatus::Recorded,
        note: None,
    }))
}

fn no_message(channel: Channel, reference: &str) -> ApiError {
    let shown: String = reference.chars().take(100).collect();
    ApiError::not_found(format!("there is no {channel} message \"{shown}\""))
}
