//! `/api/v1/contacts`: upserts merge attributes; batches are all or nothing.

use std::time::Duration;

use app::{
    api::{
        ContactActivityOut, ContactBatchOut, ContactOut, EnrollmentState, ErrorOut,
        JourneySummaryOut, Reentry,
    },
    journey::fixtures::{chain, delay},
};
use serde_json::json;

use crate::support::{Backend, TestServer};

backend_tests!(
    upsert_creates_then_merges_attributes,
    batch_upserts_all_or_none,
    unknown_contact_is_a_404,
    contacts_are_found_by_id_or_email,
    a_contact_shows_its_events_and_where_it_is_in_journeys,
    nested_attributes_are_replaced_whole_and_nulls_dropped,
);

/// One rule on both backends (SQLite merged nested objects, PostgreSQL replaced them): a given
/// attribute replaces the stored one whole; nulls are dropped at every level.
async fn nested_attributes_are_replaced_whole_and_nulls_dropped(backend: Backend) {
    let server = TestServer::start(backend).await;
    let put = |attributes: serde_json::Value| {
        let server = &server;
        async move {
            let response = server
                .put_json("/api/v1/contacts/ana", &json!({ "attributes": attributes }))
                .await;
            assert_eq!(response.status(), 200);
            let contact: ContactOut = response.json().await.expect("a contact");
            serde_json::Value::Object(contact.attributes)
        }
    };
    let created = put(json!({
        "address": {"city": "Paris", "zip": "75001", "floor": null},
        "tags": ["a", null],
        "plan": "pro"
    }))
    .await;
    assert_eq!(
        created,
        json!({"address": {"city": "Paris", "zip": "75001"}, "tags": ["a", null], "plan": "pro"})
    );
    let updated = put(json!({"address": {"city": "Lyon", "street": null}, "plan": null})).await;
    assert_eq!(
        updated,
        json!({"address": {"city": "Lyon"}, "tags": ["a", null]}),
        "the address is replaced, not merged; the plan is removed; the tags stay"
    );
}

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

async fn contacts_are_found_by_id_or_email(backend: Backend) {
    let server = TestServer::start(backend).await;
    for (id, email) in [
        ("ana-1", "Ana.Lopez@Example.com"),
        ("bob", "bob@example.com"),
        ("an_a%", "other@example.com"),
    ] {
        server.clock().advance(1_000);
        let response = server
            .put_json(
                &format!("/api/v1/contacts/{id}"),
                &json!({"attributes": {"email": email}}),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    let server = &server;
    let found = |search: &str| {
        let path = format!("/api/v1/contacts?search={search}");
        async move {
            let contacts: Vec<ContactOut> = server.get(&path).await.json().await.expect("a list");
            contacts
                .into_iter()
                .map(|contact| contact.external_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("ana-").await, vec!["ana-1"]);
    assert_eq!(found("ANA.lo").await, vec!["ana-1"], "email, in any case");
    assert_eq!(found("an").await, vec!["an_a%", "ana-1"], "newest first");
    assert_eq!(found("an_").await, vec!["an_a%"], "_ is taken literally");
    assert_eq!(
        found("an%25").await,
        Vec::<String>::new(),
        "% is taken literally"
    );
    assert_eq!(found("bob%40").await, vec!["bob"]);
    assert_eq!(found("zed").await, Vec::<String>::new());
    assert_eq!(found("").await.len(), 3, "no search lists the newest");
}

async fn a_contact_shows_its_events_and_where_it_is_in_journeys(backend: Backend) {
    let server = TestServer::start(backend).await;
    let draft = chain("signup", vec![("pause", delay(24 * 60))]);
    let journey = server.publish_journey(Reentry::Once, draft).await;
    server
        .put_json("/api/v1/contacts/ana", &json!({"attributes": {}}))
        .await;
    for (event, at) in [
        ("page_view", "2026-01-01T00:00:00Z"),
        ("signup", "2026-01-02T00:00:00Z"),
    ] {
        let response = server
            .post_json(
                "/api/v1/events",
                &json!({"contact": "ana", "event": event, "properties": {"plan": "pro"},
                        "occurred_at": at}),
            )
            .await;
        assert_eq!(response.status(), 202);
    }

    let mut activity = None;
    for _ in 0..500 {
        let read: ContactActivityOut = server
            .get("/api/v1/contacts/ana/activity")
            .await
            .json()
            .await
            .expect("activity");
        if read
            .journeys
            .first()
            .is_some_and(|run| run.state == EnrollmentState::Waiting)
        {
            activity = Some(read);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let activity = activity.expect("ana waits in the journey");
    let events: Vec<&str> = activity
        .events
        .iter()
        .map(|event| event.name.as_str())
        .collect();
    assert_eq!(events, vec!["signup", "page_view"], "newest first");
    assert_eq!(activity.events[0].properties["plan"], "pro");
    assert_eq!(activity.journeys.len(), 1);
    let run = &activity.journeys[0];
    assert_eq!(run.journey_id, journey);
    assert_eq!(run.journey_name.as_deref(), Some("test"));
    assert_eq!((run.version, run.node_id.as_str()), (1, "pause"));

    // The journeys list counts her among the contacts in the journey.
    let list: Vec<JourneySummaryOut> = server
        .get("/api/v1/journeys")
        .await
        .json()
        .await
        .expect("a list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].contacts_in_journey, 1);

    let missing = server.get("/api/v1/contacts/nobody/activity").await;
    assert_eq!(missing.status(), 404);
}
