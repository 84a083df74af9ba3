//! `GET /api/v1/health`: liveness for load balancers and a first look for operators.

use std::time::Duration;

use app::api::{DatabaseHealthOut, HealthOut, HealthStatus};
use axum::{Json, Router, extract::State, http::StatusCode, routing::get};

use super::AppState;

/// A database that takes longer than this to answer `SELECT` counts as unavailable.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

#[utoipa::path(get, path = "/api/v1/health", tag = "health",
    responses(
        (status = 200, description = "The server and its database are usable", body = HealthOut),
        (status = 503, description = "The database does not answer", body = HealthOut),
    ))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthOut>) {
    let database = database_health(&state).await;
    let status = database.status;
    let code = match status {
        HealthStatus::Ok => StatusCode::OK,
        HealthStatus::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    };
    let body = HealthOut {
        status,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database,
    };
    (code, Json(body))
}

async fn database_health(state: &AppState) -> DatabaseHealthOut {
    let backend = state.store.backend().name().to_owned();
    let answer = tokio::time::timeout(DATABASE_TIMEOUT, state.store.schema_version()).await;
    let error = match answer {
        Ok(Ok(schema_version)) => {
            return DatabaseHealthOut {
                backend,
                status: HealthStatus::Ok,
                schema_version: Some(schema_version),
                error: None,
            };
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "health check: database query failed");
            "the database did not answer the health query".to_owned()
        }
        Err(_elapsed) => format!(
            "the database did not answer within {} s",
            DATABASE_TIMEOUT.as_secs()
        ),
    };
    DatabaseHealthOut {
        backend,
        status: HealthStatus::Unavailable,
        schema_version: None,
        error: Some(error),
    }
}
