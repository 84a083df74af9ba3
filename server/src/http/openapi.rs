//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the REST API, derived from the
//! handlers' `#[utoipa::path]` attributes and the `app::api` types they take and give, so it
//! cannot drift from the code. `.ci/test` runs schemathesis against it.

use app::api::ErrorOut;
use axum::{Json, Router, routing::get};
use utoipa::OpenApi;

use super::{AppState, contacts, deliveries, events, health, journeys, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wayfarer",
        description = "Journeys, contacts, events, webhooks and their deliveries. Times are epoch \
                       milliseconds; every error has the body `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        health::health,
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
        webhooks::create,
        webhooks::show,
        webhooks::update,
        webhooks::remove,
        webhooks::signing_secret,
        webhooks::rotate_secret,
        webhooks::preview,
        webhooks::test,
        deliveries::list,
        deliveries::show,
        deliveries::resend,
        deliveries::resend_failed_of_node,
    ),
    tags(
        (name = "health"),
        (name = "contacts"),
        (name = "events"),
        (name = "journeys"),
        (name = "webhooks"),
        (name = "deliveries"),
    )
)]
pub(super) struct ApiDoc;

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
