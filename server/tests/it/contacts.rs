//! `/api/v1/contacts`: upserts merge attributes; batches are all or nothing.

use app::api::{ContactBatchOut, ContactOut, ErrorOut};
use serde_json::json;

use crate::support::{Backend, TestServer};

backend_tests!(
    upsert_creates_then_merges_attributes,
    batch_upserts_all_or_none,
    unknown_contact_is_a_404,
);

async fn upsert_creates_then_merges_attributes(backend: Backend) {
    let server = TestServer::start(backend).await;

    let response = server
        .put_json(
            "/api/v1/contacts/c-42",
            &json!({"attributes": {"email": "ana@example.com", "country": "Canada", "age": 31}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let created: ContactOut = response.json().await.expect("a contact");
    assert_eq!(created.external_id, "c-42");
    assert_eq!(created.created_at, created.updated_at);

    server.clock().advance(1_000);
    let updated: ContactOut = server
        .put_json(
            "/api/v1/contacts/c-42",
            &json!({"attributes": {"age": 32, "country": null, "plan": "pro"}}),
        )
        .await
        .json()
        .await
        .expect("a contact");
    assert_eq!(
        serde_json::Value::Object(updated.attributes.clone()),
        json!({"email": "ana@example.com", "age": 32, "plan": "pro"}),
        "given attributes replace, null removes, others stay"
    );
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(updated.updated_at, created.created_at + 1_000);

    let read: ContactOut = server
        .get("/api/v1/contacts/c-42")
        .await
        .json()
        .await
        .expect("a contact");
    assert_eq!(read, updated);
}

async fn batch_upserts_all_or_none(backend: Backend) {
    let server = TestServer::start(backend).await;

    let response = server
        .post_json(
            "/api/v1/contacts/batch",
            &json!({"contacts": [
                {"external_id": "a", "attributes": {"country": "Canada"}},
                {"external_id": "b", "attributes": {"country": "France"}},
                {"external_id": "a", "attributes": {"age": 20}}
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let out: ContactBatchOut = response.json().await.expect("a count");
    assert_eq!(out.upserted, 3);
    let a: ContactOut = server
        .get("/api/v1/contacts/a")
        .await
        .json()
        .await
        .expect("a");
    assert_eq!(
        serde_json::Value::Object(a.attributes),
        json!({"country": "Canada", "age": 20})
    );

    let response = server
        .post_json(
            "/api/v1/contacts/batch",
            &json!({"contacts": [
                {"external_id": "c", "attributes": {}},
                {"external_id": " ", "attributes": {}}
            ]}),
        )
        .await;
    assert_eq!(response.status(), 422);
    let error: ErrorOut = response.json().await.expect("an error");
    assert!(
        error.error.message.starts_with("contacts[1]: "),
        "{}",
        error.error.message
    );
    let c = server.get("/api/v1/contacts/c").await;
    assert_eq!(c.status(), 404, "nothing of a refused batch is stored");
}

async fn unknown_contact_is_a_404(backend: Backend) {
    let server = TestServer::start(backend).await;

    let response = server.get("/api/v1/contacts/nobody").await;

    assert_eq!(response.status(), 404);
    let error: ErrorOut = response.json().await.expect("an error");
    assert_eq!(error.error.message, "there is no contact \"nobody\"");
}
