//! `/api/v1/events`: an accepted event is stored; bad events are refused whole.

use app::{
    api::{ErrorOut, EventsAcceptedOut},
    ids::{ContactId, EventId},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestServer};

backend_tests!(
    accepted_events_are_stored,
    concurrent_requests_are_all_stored,
    an_unknown_contact_refuses_only_its_own_request,
    events_for_unknown_contacts_are_refused,
    malformed_events_are_refused,
    text_with_a_nul_is_refused_naming_its_field_and_spoils_nothing_else,
);

async fn contact(server: &TestServer, external_id: &str) -> ContactId {
    let response = server
        .put_json(
            &format!("/api/v1/contacts/{external_id}"),
            &json!({"attributes": {}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    server
        .store()
        .await
        .contact(external_id)
        .await
        .expect("query")
        .expect("the contact exists")
        .id
}

async fn accepted_events_are_stored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ana = contact(&server, "ana").await;

    let response = server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "ana", "event": "add_to_cart", "properties": {"sku": "A-1"}}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let single: EventsAcceptedOut = response.json().await.expect("ids");
    assert_eq!(single.ids.len(), 1);

    let response = server
        .post_json(
            "/api/v1/events/batch",
            &json!({"events": [
                {"contact": "ana", "event": "signup"},
                {"contact": "ana", "event": "opened", "message_id": 7}
            ]}),
        )
        .await;
    assert_eq!(response.status(), 422, "no message 7 was sent");
    let error: Value = response.json().await.expect("an error");
    assert_eq!(
        error["error"]["message"],
        "events[1]: message_id 7 names no message that was sent"
    );

    let response = server
        .post_json(
            "/api/v1/events/batch",
            &json!({"events": [
                {"contact": "ana", "event": "opened",
                 "occurred_at": "2026-01-01T00:00:00Z"},
                {"contact": "ana", "event": "add_to_cart", "occurred_at": 1767225600123i64}
            ]}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let batch: EventsAcceptedOut = response.json().await.expect("ids");
    assert_eq!(batch.ids.len(), 2);
    assert!(batch.ids[0] < batch.ids[1], "ids follow the order sent");

    let store = server.store().await;
    assert_eq!(store.count_events(ana, None).await.expect("count"), 3);
    assert_eq!(
        store
            .count_events(ana, Some("add_to_cart"))
            .await
            .expect("count"),
        2
    );
}

async fn concurrent_requests_are_all_stored(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ana = contact(&server, "ana").await;

    let mut requests = tokio::task::JoinSet::new();
    for n in 0..50 {
        let request = server
            .client()
            .post(server.url("/api/v1/events"))
            .json(&json!({"contact": "ana", "event": "page_view", "properties": {"n": n}}));
        requests.spawn(request.send());
    }

    let mut ids: Vec<EventId> = Vec::new();
    while let Some(sent) = requests.join_next().await {
        let response = sent
            .expect("the task ran")
            .expect("the request was answered");
        assert_eq!(response.status(), 202);
        let accepted: EventsAcceptedOut = response.json().await.expect("ids");
        ids.extend(accepted.ids);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "every request got its own id");
    let stored = server
        .store()
        .await
        .count_events(ana, Some("page_view"))
        .await;
    assert_eq!(stored.expect("count"), 50);
}

/// Requests that arrive together are stored in one transaction; one naming a contact that
/// does not exist is refused alone.
async fn an_unknown_contact_refuses_only_its_own_request(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ana = contact(&server, "ana").await;

    let mut requests = tokio::task::JoinSet::new();
    for n in 0..40 {
        let who = if n % 4 == 0 {
            format!("ghost-{n}")
        } else {
            "ana".to_owned()
        };
        let request = server
            .client()
            .post(server.url("/api/v1/events"))
            .json(&json!({"contact": who, "event": "page_view"}));
        requests.spawn(async move { (n, request.send().await) });
    }
    while let Some(sent) = requests.join_next().await {
        let (n, response) = sent.expect("the task ran");
        let response = response.expect("the request was answered");
        if n % 4 == 0 {
            assert_eq!(response.status(), 404);
            let error: ErrorOut = response.json().await.expect("an error");
            assert!(
                error.error.message.contains(&format!("\"ghost-{n}\"")),
                "{}",
                error.error.message
            );
        } else {
            assert_eq!(response.status(), 202);
        }
    }
    let stored = server.store().await.count_events(ana, None).await;
    assert_eq!(stored.expect("count"), 30);
}

async fn events_for_unknown_contacts_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ana = contact(&server, "ana").await;

    let response = server
        .post_json(
            "/api/v1/events/batch",
            &json!({"events": [
                {"contact": "ana", "event": "add_to_cart"},
                {"contact": "ghost", "event": "add_to_cart"}
            ]}),
        )
        .await;

    assert_eq!(response.status(), 404);
    let error: ErrorOut = response.json().await.expect("an error");
    assert!(
        error.error.message.contains("\"ghost\""),
        "{}",
        error.error.message
    );
    let stored = server.store().await.count_events(ana, None).await;
    assert_eq!(
        stored.expect("count"),
        0,
        "nothing of a refused batch is stored"
    );
}

async fn malformed_events_are_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    contact(&server, "ana").await;

    let cases = [
        (json!({"contact": "ana", "event": ""}), 422),
        (
            json!({"contact": "ana", "event": "x", "occurred_at": "yesterday"}),
            422,
        ),
        (json!({"contact": "ana"}), 400),
        (
            json!({"contact": "ana", "event": "x", "properties": [1, 2]}),
            400,
        ),
    ];
    for (body, status) in cases {
        let response = server.post_json("/api/v1/events", &body).await;
        assert_eq!(response.status(), status, "{body}");
        let _: ErrorOut = response.json().await.expect("an error body");
    }
}

/// PostgreSQL cannot store NUL in text: an event named `"g\u0000o"` once failed with a 500,
/// and with it every request of the same group commit.
async fn text_with_a_nul_is_refused_naming_its_field_and_spoils_nothing_else(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ana = contact(&server, "ana").await;

    let mut requests = tokio::task::JoinSet::new();
    for n in 0..20 {
        let event = if n == 10 { "g\u{0}o" } else { "page_view" };
        let request = server
            .client()
            .post(server.url("/api/v1/events"))
            .json(&json!({"contact": "ana", "event": event}));
        requests.spawn(async move { (n, request.send().await) });
    }
    while let Some(sent) = requests.join_next().await {
        let (n, response) = sent.expect("the task ran");
        let response = response.expect("the request was answered");
        if n == 10 {
            let error: ErrorOut = server
                .expect(response, StatusCode::UNPROCESSABLE_ENTITY)
                .await;
            assert_eq!(error.error.code, "invalid_text");
            assert!(
                error.error.message.contains("`event`"),
                "{}",
                error.error.message
            );
        } else {
            assert_eq!(response.status(), 202, "request {n}");
        }
    }
    let stored = server.store().await.count_events(ana, None).await;
    assert_eq!(
        stored.expect("count"),
        19,
        "every other event of the group is stored"
    );

    let batch = server
        .post_json(
            "/api/v1/events/batch",
            &json!({"events": [{"contact": "ana", "event": "ok", "properties": {"k\u{0}": 1}}]}),
        )
        .await;
    let error: ErrorOut = server.expect(batch, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        error
            .error
            .message
            .contains("`events[0].properties.k\\u0000`"),
        "{}",
        error.error.message
    );

    let journey = server
        .post_json(
            "/api/v1/journeys",
            &json!({"name": "N", "draft": {"nodes": [
                {"id": "start\u{0}", "kind": "trigger", "settings": {"event": "signup"}}
            ], "edges": []}}),
        )
        .await;
    let error: ErrorOut = server
        .expect(journey, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert!(
        error.error.message.contains("`draft.nodes[0].id`"),
        "{}",
        error.error.message
    );

    for path in ["/api/v1/contacts/a%00b", "/api/v1/contacts?search=a%00b"] {
        let response = server.get(path).await;
        let error: ErrorOut = server
            .expect(response, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(error.error.code, "invalid_text", "{path}");
    }
}
