//! `/api/v1/channels` (admin): how each channel's messages are sent: the address and opt-out
//! attributes, and for every channel but email the HTTP provider and how its receipts are
//! read. Secrets are never answered back.

use app::{
    api::{AuditAction, ChannelIn, ChannelOut, ProviderPreset},
    journey::Channel,
};
use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    routing::get,
};

use super::{
    AppState, audit, body_limit,
    error::{ApiError, ApiResult},
    extract::{ApiJson, ApiPath},
    openapi::{BadBody, BadPath, Fault},
};
use crate::{
    auth::Caller,
    messaging::{channel::ChannelSettings, presets},
    store::ChannelRow,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels", get(list))
        .route("/channels/presets", get(provider_presets))
        .route("/channels/{channel}", get(show).put(save).delete(reset))
        .layer(DefaultBodyLimit::max(body_limit::SETTINGS))
}

#[utoipa::path(get, path = "/api/v1/channels", tag = "channels",
    responses(
        (status = 200, description = "Every channel, set up or not", body = Vec<ChannelOut>),
        Fault,
    ))]
async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<ChannelOut>>> {
    let rows = state.store.channel_rows().await?;
    let smtp = smtp_available(&state).await?;
    let shown = Channel::ALL
        .iter()
        .map(|&channel| {
            let row = rows.iter().find(|row| row.channel == channel);
            out(&state, smtp, channel, row)
        })
        .collect();
    Ok(Json(shown))
}

#[utoipa::path(get, path = "/api/v1/channels/{channel}", tag = "channels",
    params(("channel" = String, Path, description = "email, sms, whatsapp, rcs, app_push or web_push", example = "sms")),
    responses(
        (status = 200, description = "The channel's settings, without secrets", body = ChannelOut),
        BadPath, Fault,
    ))]
async fn show(
    State(state): State<AppState>,
    ApiPath(channel): ApiPath<Channel>,
) -> ApiResult<Json<ChannelOut>> {
    let row = state.store.channel_row(channel).await?;
    let smtp = smtp_available(&state).await?;
    Ok(Json(out(&state, smtp, channel, row.as_ref())))
}

/// Replaces the channel's settings; secrets left out keep the stored ones while the
/// provider's URL stays on the same host.
#[utoipa::path(put, path = "/api/v1/channels/{channel}", tag = "channels",
    params(("channel" = String, Path, description = "email, sms, whatsapp, rcs, app_push or web_push", example = "sms")),
    request_body = ChannelIn,
    responses(
        (status = 200, description = "The settings as saved, without secrets", body = ChannelOut),
        BadPath, BadBody, Fault,
    ))]
async fn save(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(channel): ApiPath<Channel>,
    ApiJson(input): ApiJson<ChannelIn>,
) -> ApiResult<Json<ChannelOut>> {
    let defaults = ChannelSettings::default_for(channel, &state.messaging.email_attribute);
    let current = match state.store.channel_row(channel).await? {
        // Unreadable settings are replaced; their secrets have to be typed again.
        Some(row) => ChannelSettings::parse(&row).unwrap_or_else(|_| defaults.clone()),
        None => defaults.clone(),
    };
    let settings = ChannelSettings::from_input(channel, input, &current, &defaults)
        .map_err(|problems| ApiError::invalid_field("channel", problems))?;
    let row = ChannelRow {
        channel,
        settings: serde_json::to_string(&settings).map_err(ApiError::internal)?,
        updated_at: state.clock.now(),
    };
    state.store.save_channel(&row).await?;
    audit::by(
        &state,
        &caller,
        AuditAction::ChannelSaved,
        format!("channel {channel}"),
    )
    .await;
    let smtp = smtp_available(&state).await?;
    Ok(Json(out(&state, smtp, channel, Some(&row))))
}

/// Forgets the channel's settings: back to the default attributes, and no provider (its
/// messages are skipped until one is set).
#[utoipa::path(delete, path = "/api/v1/channels/{channel}", tag = "channels",
    params(("channel" = String, Path, description = "email, sms, whatsapp, rcs, app_push or web_push", example = "sms")),
    responses(
        (status = 204, description = "Back to its defaults"),
        BadPath, Fault,
    ))]
async fn reset(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(channel): ApiPath<Channel>,
) -> ApiResult<StatusCode> {
    if state.store.delete_channel(channel).await? {
        audit::by(
            &state,
            &caller,
            AuditAction::ChannelReset,
            format!("channel {channel}"),
        )
        .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/channels/presets", tag = "channels",
    responses(
        (status = 200, description = "Provider shapes to start from", body = Vec<ProviderPreset>),
        Fault,
    ))]
async fn provider_presets() -> Json<Vec<ProviderPreset>> {
    Json(presets::presets())
}

/// Whether the processes that send have an SMTP server of the server's (`--smtp-url`).
async fn smtp_available(state: &AppState) -> ApiResult<bool> {
    Ok(state
        .messaging
        .smtp_available(&state.store, state.clock.now())
        .await?)
}

/// The channel as answers show it, with whether its messages go out now (`smtp`: the
/// sending processes have the server's SMTP server).
fn out(state: &AppState, smtp: bool, channel: Channel, row: Option<&ChannelRow>) -> ChannelOut {
    let defaults = || ChannelSettings::default_for(channel, &state.messaging.email_attribute);
    let (settings, unreadable) = match row.map(ChannelSettings::parse) {
        Some(Ok(settings)) => (settings, None),
        Some(Err(problem)) => (defaults(), Some(problem)),
        None => (defaults(), None),
    };
    let mut shown = settings.out(channel);
    shown.updated_at = row.map(|row| row.updated_at);
    shown.problem = unreadable.or_else(|| match channel {
        Channel::Email if !smtp && settings.smtp_url.is_none() => Some(
            "emails are not sent: set the channel's SMTP relay, or start the server with \
             --smtp-url"
                .to_owned(),
        ),
        Channel::Email => None,
        _ if settings.provider.is_none() => Some(format!(
            "{channel} messages are skipped until a provider is set up"
        )),
        _ => None,
    });
    shown.ready = shown.problem.is_none();
    shown
}

/// The email channel's settings as saved, or its defaults while nobody set it up.
pub(super) async fn email_channel(state: &AppState) -> ApiResult<ChannelSettings> {
    let defaults =
        || ChannelSettings::default_for(Channel::Email, &state.messaging.email_attribute);
    Ok(match state.store.channel_row(Channel::Email).await? {
        Some(row) => ChannelSettings::parse(&row).unwrap_or_else(|_| defaults()),
        None => defaults(),
    })
}
