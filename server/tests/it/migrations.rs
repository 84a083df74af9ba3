//! Migrations bring a database written by an older server up to date, keeping its rows.

use std::path::Path;

use app::ids::WebhookId;
use server::store::Store;
use sqlx::{AnyConnection, Connection, migrate::Migrator};

use crate::support::{Backend, TestDatabase};

backend_tests!(deliveries_keep_their_webhook_when_its_id_becomes_a_number);

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
