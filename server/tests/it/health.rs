use std::time::Duration;

use app::api::{ErrorOut, HealthOut, HealthStatus};

use crate::support::{Backend, TestDatabase, TestServer};

backend_tests!(
    health_reports_version_and_migrated_schema,
    unknown_api_path_is_a_json_404,
    stop_finishes_cleanly,
);

async fn health_reports_version_and_migrated_schema(backend: Backend) {
    let server = TestServer::start(backend).await;

    let response = server.get("/api/v1/health").await;

    assert_eq!(response.status(), 200);
    let health: HealthOut = response.json().await.expect("health is JSON");
    assert_eq!(health.status, HealthStatus::Ok);
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(health.database.backend, backend.name());
    assert_eq!(health.database.status, HealthStatus::Ok);
    assert_eq!(
        health.database.schema_version,
        Some(newest_migration(backend))
    );
    assert_eq!(health.database.error, None);
}

async fn unknown_api_path_is_a_json_404(backend: Backend) {
    let server = TestServer::start(backend).await;

    let response = server.get("/api/v1/no-such-thing").await;

    assert_eq!(response.status(), 404);
    let error: ErrorOut = response.json().await.expect("errors are JSON");
    assert_eq!(error.error.code, "not_found");
}

async fn stop_finishes_cleanly(backend: Backend) {
    let server = TestServer::start(backend).await;
    let url = server.url("/api/v1/health");

    server
        .stop()
        .await
        .expect("serve returns Ok after shutdown");

    let after_stop = crate::support::http_client().get(&url).send().await;
    assert!(
        after_stop.is_err(),
        "the port is closed after stop: {after_stop:?}"
    );
}

#[tokio::test]
async fn health_is_503_while_postgres_is_down_and_recovers() {
    let server = TestServer::start_on(TestDatabase::on_private_cluster().await).await;
    let cluster = server
        .database()
        .private_cluster()
        .expect("a private cluster");

    cluster.stop();
    let response = server.get("/api/v1/health").await;
    assert_eq!(response.status(), 503);
    let health: HealthOut = response.json().await.expect("health is JSON");
    assert_eq!(health.status, HealthStatus::Unavailable);
    assert_eq!(health.database.status, HealthStatus::Unavailable);
    assert!(health.database.error.is_some());

    cluster.resume();
    let mut status = 0;
    for _ in 0..50 {
        status = server.get("/api/v1/health").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "health recovers once PostgreSQL is back");
}

/// The newest migration in the backend's folder, read from disk so that adding a migration
/// needs no change here.
fn newest_migration(backend: Backend) -> i64 {
    let folder = format!(
        "{}/../migrations/{}",
        env!("CARGO_MANIFEST_DIR"),
        backend.name()
    );
    std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("read {folder}: {error}"))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let (version, _) = name.strip_suffix(".sql")?.split_once('_')?;
            version.parse().ok()
        })
        .max()
        .expect("at least one migration")
}
