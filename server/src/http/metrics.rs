//! `GET /api/v1/metrics` (scope `metrics:read`), and `GET /metrics` on `--metrics-listen`: the
//! Prometheus scrape.

use std::time::Duration;

use axum::{
    Router,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};

use super::{AppState, openapi::Fault};

/// A database slower than this leaves the backlog out of the scrape rather than holding up
/// Prometheus (whose scrape timeout is 10 s by default).
const BACKLOG_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// What `--metrics-listen` serves: `/metrics` alone, without authentication.
pub fn open_router(state: AppState) -> axum::Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

#[utoipa::path(get, path = "/api/v1/metrics", tag = "metrics",
    responses(
        (status = 200, description = "This process's counters and the deployment's backlog, in \
          the OpenMetrics text format Prometheus reads (`metrics_path: /api/v1/metrics` with \
          the key as `bearer_token`)",
         body = String, content_type = "application/openmetrics-text"),
        Fault,
    ))]
async fn scrape(State(state): State<AppState>) -> Response {
    let backlog = match tokio::time::timeout(
        BACKLOG_TIMEOUT,
        state.store.backlog(state.clock.now()),
    )
    .await
    {
        Ok(Ok(backlog)) => Some(backlog),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: the backlog could not be read");
            None
        }
        Err(_elapsed) => {
            tracing::warn!(timeout = ?BACKLOG_TIMEOUT, "metrics: the database did not answer the backlog query in time");
            None
        }
    };
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(backlog.as_ref()),
    )
        .into_response()
}
