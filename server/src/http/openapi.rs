//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the REST API, derived from the
//! handlers' `#[utoipa::path]` attributes and the `app::api` types they take and give, so it
//! cannot drift from the code. `.ci/test` runs schemathesis against it.

use app::api::ErrorOut;
use axum::{Json, Router, http::Method, routing::get};
use utoipa::{
    Modify, OpenApi, PartialSchema,
    openapi::{
        ContentBuilder, RefOr, ResponseBuilder,
        security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        },
    },
};

use super::{
    AppState, access, api_keys, audit, channels, contacts, deliveries, events, health, journeys,
    messages, metrics, operators, receipts, session, templates, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wayfarer",
        description = "Journeys, contacts, events, webhooks and their deliveries. Times are epoch \
                       milliseconds; every error has the body `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&Guarded),
    paths(
        health::health,
        session::setup,
        session::sign_in,
        session::current,
        session::sign_out,
        session::change_password,
        operators::list,
        operators::create,
        operators::update,
        operators::reset_password,
        api_keys::list,
        api_keys::create,
        api_keys::revoke,
        audit::list,
        contacts::search,
        contacts::upsert_batch,
        contacts::show,
        contacts::upsert,
        contacts::activity,
        events::accept_one,
        events::accept_batch,
        journeys::list,
        journeys::create,
        journeys::show,
        journeys::update,
        journeys::remove,
        journeys::publish,
        journeys::pause,
        journeys::resume,
        journeys::stats,
        webhooks::list,
        webhooks::health,
        webhooks::create,
        webhooks::show,
        webhooks::update,
        webhooks::remove,
        webhooks::signing_secret,
        webhooks::rotate_secret,
        webhooks::preview,
        webhooks::test,
        webhooks::preview_draft,
        webhooks::test_draft,
        templates::list,
        templates::create,
        templates::show,
        templates::replace,
        templates::remove,
        templates::preview,
        messages::list,
        channels::list,
        channels::provider_presets,
        channels::show,
        channels::save,
        channels::reset,
        receipts::receive,
        deliveries::list,
        deliveries::show,
        deliveries::request_of,
        deliveries::resend,
        deliveries::resend_failed_of_node,
        deliveries::failures_of_node,
        deliveries::timeline_of_node,
        deliveries::resend_cause_of_node,
        deliveries::resend_progress_of_node,
        metrics::scrape,
    ),
    tags(
        (name = "health"),
        (name = "session", description = "Signing in: a session cookie for the UI"),
        (name = "operators", description = "People who sign in (admin)"),
        (name = "api-keys", description = "Keys integrations send as `Authorization: Bearer` (admin)"),
        (name = "audit", description = "Who did what (admin)"),
        (name = "contacts"),
        (name = "events"),
        (name = "journeys"),
        (name = "webhooks"),
        (name = "templates", description = "What action nodes send, per channel"),
        (name = "channels", description = "How each channel's messages are sent (admin), and providers' receipts"),
        (name = "deliveries"),
        (name = "metrics", description = "For Prometheus: counters, latencies and queue depths"),
    )
)]
pub(super) struct ApiDoc;

/// Every operation that is not public takes an API key or the session cookie and may answer
/// 401 and 403, as the access rules (`access::rule`) say; the rules are the one source.
struct Guarded;

impl Modify for Guarded {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("wf_…")
                        .description(Some("An API key an admin created, with its scopes"))
                        .build(),
                ),
            );
            components.add_security_scheme(
                "session",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                    crate::auth::SESSION_COOKIE,
                ))),
            );
        }
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(ErrorOut::schema()))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in &mut openapi.paths.paths {
            for (method, operation) in [
                (Method::GET, item.get.as_mut()),
                (Method::POST, item.post.as_mut()),
                (Method::PUT, item.put.as_mut()),
                (Method::PATCH, item.patch.as_mut()),
                (Method::DELETE, item.delete.as_mut()),
            ] {
                let Some(operation) = operation else { continue };
                let rule = access::rule(&method, path);
                if matches!(rule, Some(access::Access::Public)) {
                    continue;
                }
                let scope = match rule {
                    Some(access::Access::Scopes(scopes)) => scopes
                        .iter()
                        .map(|scope| scope.as_str().to_owned())
                        .collect(),
                    _ => Vec::new(),
                };
                operation.security = Some(vec![
                    SecurityRequirement::new("api_key", scope),
                    SecurityRequirement::new("session", Vec::<String>::new()),
                ]);
                let responses = &mut operation.responses.responses;
                responses.entry("401".to_owned()).or_insert_with(|| {
                    error(
                        "No credentials, or an API key or session that is not valid \
                         (`unauthenticated`, `invalid_api_key`, `session_ended`)",
                    )
                });
                responses.entry("403".to_owned()).or_insert_with(|| {
                    error(
                        "The role or the key's scopes do not allow it (`forbidden`), a session's \
                         write without its CSRF token (`csrf_token_invalid`), or a one-time \
                         password not yet changed (`password_change_required`)",
                    )
                });
            }
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

// The answers below describe the document only: handlers answer through `ApiError`.

/// What any endpoint may answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(super) enum Fault {
    /// A fault of the server (`internal`); its details go to the server's log.
    #[response(status = 500)]
    Internal(ErrorOut),
}

/// What an endpoint with a JSON body may answer to a bad one.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(super) enum BadBody {
    /// Malformed JSON, or a body of the wrong shape (`invalid_json`).
    #[response(status = 400)]
    Malformed(ErrorOut),
    /// Over the endpoint's limit (`payload_too_large`): 2 MB for batches and journeys, 256 KB
    /// for one contact or event, 64 KB for a webhook's settings.
    #[response(status = 413)]
    TooLarge(ErrorOut),
    /// The body did not arrive whole within `--body-read-timeout-secs` (`request_timeout`).
    #[response(status = 408)]
    Slow(ErrorOut),
    /// Not sent as `application/json` (`unsupported_media_type`).
    #[response(status = 415)]
    NotJson(ErrorOut),
    /// Well-formed but not acceptable, with the field named: a NUL character anywhere
    /// (`invalid_text`), or a value out of bounds (`unprocessable`).
    #[response(status = 422)]
    Unacceptable(ErrorOut),
}

/// What an endpoint that names a resource in its path may answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(super) enum BadPath {
    /// A path parameter that does not parse, e.g. an id that is not a number (`bad_request`).
    #[response(status = 400)]
    Unparsable(ErrorOut),
    /// No such resource (`not_found`).
    #[response(status = 404)]
    NotFound(ErrorOut),
    /// A NUL character in the path (`invalid_text`).
    #[response(status = 422)]
    NulInPath(ErrorOut),
}

/// What an endpoint with query parameters may answer to bad ones.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(super) enum BadQuery {
    /// A parameter that does not parse (`bad_request`).
    #[response(status = 400)]
    Unparsable(ErrorOut),
    /// A NUL character, or a value out of bounds (`invalid_text`, `unprocessable`).
    #[response(status = 422)]
    Unacceptable(ErrorOut),
}
