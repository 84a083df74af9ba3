//! Migrations bring a database written by an older server up to date, keeping its rows.

use std::path::Path;

use app::ids::{JourneyId, WebhookId};
use server::store::Store;
use sqlx::{AnyConnection, Connection, migrate::Migrator};

use crate::support::{Backend, TestDatabase};

backend_tests!(
    deliveries_keep_their_webhook_when_its_id_becomes_a_number,
    rows_and_their_references_survive_the_change_that_stops_id_reuse,
);

/// Applies this backend's migrations up to `version` only, as an older server did.
async fn migrate_up_to(backend: Backend, url: &str, version: i64) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(backend.name());
    let older = tempfile::tempdir().expect("a folder");
    for entry in std::fs::read_dir(&source).expect("the migrations") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        let number: i64 = name
            .split('_')
            .next()
            .unwrap_or("")
            .parse()
            .unwrap_or(i64::MAX);
        if number <= version {
            std::fs::copy(&path, older.path().join(name)).expect("copy a migration");
        }
    }
    let migrator = Migrator::new(older.path())
        .await
        .expect("read the migrations");
    let mut connection = AnyConnection::connect(url).await.expect("connect");
    migrator.run(&mut connection).await.expect("migrate");
    connection.close().await.ok();
}

async fn deliveries_keep_their_webhook_when_its_id_becomes_a_number(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    sqlx::any::install_default_drivers();
    migrate_up_to(backend, database.url(), 7).await;
    let mut connection = AnyConnection::connect(database.url())
        .await
        .expect("connect");
    let contact: i64 = sqlx::query_scalar(
        "INSERT INTO contacts (external_id, attributes, created_at, updated_at)
         VALUES ('ana', '{}', 0, 0) RETURNING id",
    )
    .fetch_one(&mut connection)
    .await
    .expect("a contact");
    for webhook in ["5", "crm", ""] {
        sqlx::query(
            "INSERT INTO deliveries (enrollment_id, journey_id, version, node_id, contact_id,
                                     webhook, custom_data, created_at)
             VALUES (1, 1, 1, 'hook', $1, $2, '[]', 0)",
        )
        .bind(contact)
        .bind(webhook)
        .execute(&mut connection)
        .await
        .expect("a delivery of the old schema");
    }
    connection.close().await.ok();

    let store = Store::connect(database.url()).await.expect("connect");
    store.migrate().await.expect("the newer migrations apply");
    let mut connection = AnyConnection::connect(database.url())
        .await
        .expect("connect");
    let webhooks: Vec<WebhookId> =
        sqlx::query_scalar("SELECT webhook_id FROM deliveries ORDER BY id")
            .fetch_all(&mut connection)
            .await
            .expect("the deliveries");
    assert_eq!(
        webhooks,
        vec![WebhookId(5), WebhookId(0), WebhookId(0)],
        "a number stays; text that names no webhook becomes 0, which none has"
    );
    connection.close().await.ok();
    store.close().await;
}

/// On SQLite the tables are rebuilt with AUTOINCREMENT: the rows that refer to a rebuilt table
/// (by cascading keys, too) must all still be there, and an id deleted afterwards stays unused.
async fn rows_and_their_references_survive_the_change_that_stops_id_reuse(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    sqlx::any::install_default_drivers();
    migrate_up_to(backend, database.url(), 8).await;
    let mut connection = AnyConnection::connect(database.url())
        .await
        .expect("connect");
    for statement in [
        "INSERT INTO contacts (external_id, attributes, created_at, updated_at)
         VALUES ('ana', '{}', 0, 0)",
        "INSERT INTO journeys (name, draft, created_at, updated_at) VALUES ('a', '{}', 0, 0)",
        "INSERT INTO journeys (name, draft, created_at, updated_at) VALUES ('b', '{}', 0, 0)",
        "INSERT INTO journey_versions (journey_id, version, document, published_at)
         VALUES (2, 1, '{}', 0)",
        "INSERT INTO events (contact_id, name, occurred_at, received_at)
         VALUES (1, 'signup', 0, 0)",
        "INSERT INTO deliveries (enrollment_id, journey_id, version, node_id, contact_id,
                                 webhook_id, custom_data, created_at, next_attempt_at)
         VALUES (1, 2, 1, 'hook', 1, 1, '[]', 0, 0)",
        "INSERT INTO delivery_attempts (delivery_id, attempted_at, latency_ms, outcome)
         VALUES (1, 0, 3, 'retry')",
    ] {
        sqlx::query(statement)
            .execute(&mut connection)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
    connection.close().await.ok();

    let store = Store::connect(database.url()).await.expect("connect");
    store.migrate().await.expect("the newer migrations apply");
    let mut connection = AnyConnection::connect(database.url())
        .await
        .expect("connect");
    for (table, rows) in [
        ("contacts", 1),
        ("journeys", 2),
        ("journey_versions", 1),
        ("events", 1),
        ("deliveries", 1),
        ("delivery_attempts", 1),
    ] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut connection)
            .await
            .expect("count");
        assert_eq!(count, rows, "{table} keeps its rows");
    }
    assert!(
        store
            .delete_journey(JourneyId(2), 0)
            .await
            .expect("delete the newest journey")
    );
    let next: JourneyId = sqlx::query_scalar(
        "INSERT INTO journeys (name, draft, created_at, updated_at)
         VALUES ('c', '{}', 0, 0) RETURNING id",
    )
    .fetch_one(&mut connection)
    .await
    .expect("a new journey");
    assert_eq!(
        next,
        JourneyId(3),
        "the deleted journey's id is not given again"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM deliveries")
        .fetch_one(&mut connection)
        .await
        .expect("the delivery");
    assert_eq!(
        status, "cancelled",
        "the deleted journey's request is not sent"
    );
    connection.close().await.ok();
    store.close().await;
}
