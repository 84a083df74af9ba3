//! `/api/v1/journeys`: drafts, validation, versions, pause and resume, and bad input.

use app::{
    api::{
        ErrorOut, JourneyIn, JourneyOut, JourneyPatch, JourneyStatus, JourneySummaryOut,
        PublishOut, Reentry, ValidationErrorsOut, WebhookOut,
    },
    ids::JourneyId,
    journey::{JourneyDocument, NodeId},
};
use serde_json::{Value, json};

use crate::support::{Backend, TestServer};

backend_tests!(
    a_draft_is_created_read_listed_and_edited,
    an_invalid_draft_is_saved_but_not_published,
    publishing_freezes_numbered_versions,
    pause_and_resume_apply_to_published_journeys,
    deleting_a_journey_removes_it,
    a_missing_webhook_blocks_publishing,
    a_bad_placeholder_in_a_webhook_node_blocks_publishing,
    bad_input_is_a_client_error,
    a_loop_that_sends_on_a_timer_is_not_published,
);

/// A webhook for the journeys' webhook nodes to name; its id.
async fn a_webhook(server: &TestServer) -> String {
    let response = server
        .post_json(
            "/api/v1/webhooks",
            &json!({"name": "CRM", "url": "https://crm.example/hook"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let webhook: WebhookOut = response.json().await.expect("a webhook");
    webhook.id.to_string()
}

/// trigger add_to_cart → email → wait 15 min for opened → (opened) exit / (timeout) webhook → exit
fn abandoned_cart(webhook: &str) -> JourneyDocument {
    serde_json::from_value(json!({
        "nodes": [
            {"id": "start", "position": {"x": 0, "y": 0}, "kind": "trigger",
             "settings": {"event": "add_to_cart"}},
            {"id": "email", "position": {"x": 0, "y": 120}, "kind": "action",
             "settings": {"channel": "email", "message": "cart-reminder"}},
            {"id": "wait", "position": {"x": 0, "y": 240}, "kind": "wait_for_event",
             "settings": {"until": {"type": "message_activity", "action": "email", "activity": "opened"},
                          "timeout": {"value": 15, "unit": "minutes"}}},
            {"id": "hook", "position": {"x": 200, "y": 360}, "kind": "webhook",
             "settings": {"webhook": webhook}},
            {"id": "done", "position": {"x": 0, "y": 480}, "kind": "exit"}
        ],
        "edges": [
            {"from": "start", "branch": "next", "to": "email"},
            {"from": "email", "branch": "next", "to": "wait"},
            {"from": "wait", "branch": "event", "to": "done"},
            {"from": "wait", "branch": "timeout", "to": "hook"},
            {"from": "hook", "branch": "next", "to": "done"}
        ]
    }))
    .expect("a journey document")
}

async fn create(server: &TestServer, name: &str, draft: JourneyDocument) -> JourneyOut {
    let response = server
        .post_json(
            "/api/v1/journeys",
            &JourneyIn {
                name: name.to_owned(),
                reentry: Reentry::Once,
                draft,
            },
        )
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("a journey")
}

async fn a_draft_is_created_read_listed_and_edited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let hook = a_webhook(&server).await;

    let created = create(&server, "  Abandoned cart  ", abandoned_cart(&hook)).await;
    assert_eq!(created.name, "Abandoned cart");
    assert_eq!(created.status, JourneyStatus::Draft);
    assert_eq!(created.live_version, None);
    assert_eq!(created.draft, abandoned_cart(&hook));
    assert_eq!(created.validation_errors, vec![]);

    let read: JourneyOut = server
        .get(&format!("/api/v1/journeys/{}", created.id))
        .await
        .json()
        .await
        .expect("a journey");
    assert_eq!(read, created);

    server.clock().advance(60_000);
    let patch = JourneyPatch {
        name: Some("Cart reminder".to_owned()),
        reentry: Some(Reentry::AfterExit),
        draft: None,
    };
    let response = server
        .patch_json(&format!("/api/v1/journeys/{}", created.id), &patch)
        .await;
    assert_eq!(response.status(), 200);
    let edited: JourneyOut = response.json().await.expect("a journey");
    assert_eq!(edited.name, "Cart reminder");
    assert_eq!(edited.reentry, Reentry::AfterExit);
    assert_eq!(
        edited.draft,
        abandoned_cart(&hook),
        "fields not sent stay as they were"
    );
    assert_eq!(edited.updated_at, created.updated_at + 60_000);

    server.clock().advance(60_000);
    let other = create(&server, "Welcome", JourneyDocument::default()).await;
    let list: Vec<JourneySummaryOut> = server
        .get("/api/v1/journeys")
        .await
        .json()
        .await
        .expect("a list");
    let ids: Vec<JourneyId> = list.iter().map(|journey| journey.id).collect();
    assert_eq!(
        ids,
        vec![other.id, created.id],
        "most recently edited first"
    );
    assert_eq!(list[1].name, "Cart reminder");
    assert_eq!(list[1].status, JourneyStatus::Draft);
}

async fn an_invalid_draft_is_saved_but_not_published(backend: Backend) {
    let server = TestServer::start(backend).await;
    let hook = a_webhook(&server).await;
    let mut draft = abandoned_cart(&hook);
    draft
        .edges
        .retain(|edge| edge.from.as_str() != "wait" || edge.branch.as_str() != "timeout");
    let journey = create(&server, "Unfinished", draft).await;

    assert_eq!(
        journey.validation_errors.len(),
        2,
        "{:#?}",
        journey.validation_errors
    );
    let nodes: Vec<Option<&str>> = journey
        .validation_errors
        .iter()
        .map(|error| error.node.as_ref().map(NodeId::as_str))
        .collect();
    assert_eq!(nodes, vec![Some("wait"), Some("hook")]);

    let response = server
        .post(&format!("/api/v1/journeys/{}/publish", journey.id))
        .await;
    assert_eq!(response.status(), 422);
    let body: ValidationErrorsOut = response.json().await.expect("validation errors");
    assert_eq!(body.error.code, "invalid_journey");
    assert_eq!(body.validation_errors, journey.validation_errors);

    let after: JourneyOut = server
        .get(&format!("/api/v1/journeys/{}", journey.id))
        .await
        .json()
        .await
        .expect("a journey");
    assert_eq!(after.status, JourneyStatus::Draft);
    assert_eq!(after.live_version, None);
}

async fn publishing_freezes_numbered_versions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let hook = a_webhook(&server).await;
    let journey = create(&server, "Abandoned cart", abandoned_cart(&hook)).await;
    assert_eq!(journey.live_document, None, "nothing published yet");
    let publish = format!("/api/v1/journeys/{}/publish", journey.id);

    let response = server.post(&publish).await;
    assert_eq!(response.status(), 201);
    let first: PublishOut = response.json().await.expect("a version");
    assert_eq!(first.version, 1);
    // The editor compares its draft with the live document to tell whether publishing
    // would make anything new.
    let shown: JourneyOut = server
        .get(&format!("/api/v1/journeys/{}", journey.id))
        .await
        .json()
        .await
        .expect("a journey");
    assert_eq!(shown.live_document.as_ref(), Some(&shown.draft));

    // Editing the draft afterwards leaves version 1 as published.
    let mut edited = abandoned_cart(&hook);
    edited.nodes[1].position.x = 500.0;
    server
        .patch_json(
            &format!("/api/v1/journeys/{}", journey.id),
            &JourneyPatch {
                draft: Some(edited.clone()),
                ..JourneyPatch::default()
            },
        )
        .await;
    let second: PublishOut = server.post(&publish).await.json().await.expect("a version");
    assert_eq!(second.version, 2);

    let live: JourneyOut = server
        .get(&format!("/api/v1/journeys/{}", journey.id))
        .await
        .json()
        .await
        .expect("a journey");
    assert_eq!(live.status, JourneyStatus::Live);
    assert_eq!(live.live_version, Some(2));
    assert_eq!(live.live_document, Some(edited));
    let version_1 = server
        .store()
        .await
        .journey_version(journey.id, 1)
        .await
        .expect("query")
        .expect("version 1 exists");
    let version_1: JourneyDocument = serde_json::from_str(&version_1).expect("a document");
    assert_eq!(version_1, abandoned_cart(&hook));
}

async fn pause_and_resume_apply_to_published_journeys(backend: Backend) {
    let server = TestServer::start(backend).await;
    let hook = a_webhook(&server).await;
    let journey = create(&server, "Abandoned cart", abandoned_cart(&hook)).await;
    let path = |action: &str| format!("/api/v1/journeys/{}/{action}", journey.id);

    let response = server.post(&path("pause")).await;
    assert_eq!(response.status(), 409, "a draft cannot be paused");

    server.post(&path("publish")).await;
    let paused: JourneyOut = server
        .post(&path("pause"))
        .await
        .json()
        .await
        .expect("a journey");
    assert_eq!(paused.status, JourneyStatus::Paused);

    let republished: PublishOut = server
        .post(&path("publish"))
        .await
        .json()
        .await
        .expect("a version");
    assert_eq!(republished.version, 2);
    let still_paused: JourneyOut = server
        .get(&format!("/api/v1/journeys/{}", journey.id))
        .await
        .json()
        .await
        .expect("a journey");
    assert_eq!(
        still_paused.status,
        JourneyStatus::Paused,
        "publishing does not resume"
    );

    let resumed: JourneyOut = server
        .post(&path("resume"))
        .await
        .json()
        .await
        .expect("a journey");
    assert_eq!(resumed.status, JourneyStatus::Live);
}

async fn deleting_a_journey_removes_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let hook = a_webhook(&server).await;
    let journey = create(&server, "Abandoned cart", abandoned_cart(&hook)).await;
    server
        .post(&format!("/api/v1/journeys/{}/publish", journey.id))
        .await;

    let response = server
        .delete(&format!("/api/v1/journeys/{}", journey.id))
        .await;
    assert_eq!(response.status(), 204);

    let response = server
        .get(&format!("/api/v1/journeys/{}", journey.id))
        .await;
    assert_eq!(response.status(), 404);
    let again = server
        .delete(&format!("/api/v1/journeys/{}", journey.id))
        .await;
    assert_eq!(again.status(), 404);
}

async fn a_missing_webhook_blocks_publishing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let hook = a_webhook(&server).await;
    let journey = create(&server, "Abandoned cart", abandoned_cart(&hook)).await;
    assert_eq!(journey.validation_errors, vec![]);

    let response = server.delete(&format!("/api/v1/webhooks/{hook}")).await;
    assert_eq!(response.status(), 204);
    let response = server
        .post(&format!("/api/v1/journeys/{}/publish", journey.id))
        .await;
    assert_eq!(response.status(), 422);
    let body: ValidationErrorsOut = response.json().await.expect("validation errors");
    let problems: Vec<String> = body
        .validation_errors
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        vec![format!(
            "node \"hook\": Webhook sends to webhook {hook}, which does not exist: pick another."
        )]
    );
    let read: JourneyOut = server
        .get(&format!("/api/v1/journeys/{}", journey.id))
        .await
        .json()
        .await
        .expect("a journey");
    assert_eq!(
        read.validation_errors, body.validation_errors,
        "shown on the draft too"
    );
    assert_eq!(read.status, JourneyStatus::Draft);
}

async fn bad_input_is_a_client_error(backend: Backend) {
    let server = TestServer::start(backend).await;

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("no name", json!({"name": " "}), 422, "unprocessable"),
        ("wrong type", json!({"name": 7}), 400, "invalid_json"),
        (
            "unknown node kind",
            json!({"name": "x", "draft": {"nodes": [{"id": "a", "kind": "teleport"}]}}),
            400,
            "invalid_json",
        ),
        (
            "dangling edge",
            json!({"name": "x", "draft": {"nodes": [{"id": "a", "kind": "exit"}],
                   "edges": [{"from": "a", "branch": "next", "to": "ghost"}]}}),
            422,
            "unprocessable",
        ),
    ];
    let too_many: Vec<Value> = (0..=2_000)
        .map(|n| json!({"id": format!("n{n}"), "kind": "exit"}))
        .collect();
    let cases = cases.into_iter().chain([(
        "2,001 nodes",
        json!({"name": "x", "draft": {"nodes": too_many, "edges": []}}),
        422,
        "unprocessable",
    )]);
    for (case, body, status, code) in cases {
        let response = server.post_json("/api/v1/journeys", &body).await;
        assert_eq!(response.status(), status, "{case}");
        let error: ErrorOut = response.json().await.expect("an error body");
        assert_eq!(error.error.code, code, "{case}: {}", error.error.message);
        if case == "2,001 nodes" {
            assert!(
                error.error.message.contains("at most 2000 nodes"),
                "{}",
                error.error.message
            );
        }
    }

    let broken = server
        .post_raw("/api/v1/journeys", "application/json", "{\"name\": ")
        .await;
    assert_eq!(broken.status(), 400);

    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let too_large = server
        .post_raw("/api/v1/journeys", "application/json", &huge)
        .await;
    assert_eq!(too_large.status(), 413);
    let error: ErrorOut = too_large.json().await.expect("an error body");
    assert_eq!(error.error.code, "payload_too_large");

    let missing = server.get("/api/v1/journeys/999999").await;
    assert_eq!(missing.status(), 404);
    let error: ErrorOut = missing.json().await.expect("an error body");
    assert_eq!(error.error.message, "there is no journey 999999");

    let not_a_number = server.get("/api/v1/journeys/abc").await;
    assert_eq!(not_a_number.status(), 400);
}

/// A webhook node's own custom data is rendered at every delivery; a placeholder that cannot
/// be read once made each of them fail unsent.
async fn a_bad_placeholder_in_a_webhook_node_blocks_publishing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let hook = a_webhook(&server).await;
    let mut document = serde_json::to_value(abandoned_cart(&hook)).expect("a document");
    document["nodes"][3]["settings"]["custom_data"] =
        json!([{"key": "who", "value": "{{user.id}}"}]);
    let draft: JourneyDocument = serde_json::from_value(document).expect("a document");
    let journey = create(&server, "Bad placeholder", draft).await;

    let response = server
        .post(&format!("/api/v1/journeys/{}/publish", journey.id))
        .await;
    let body: ValidationErrorsOut = server
        .expect(response, reqwest::StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(
        body.validation_errors.len(),
        1,
        "{:?}",
        body.validation_errors
    );
    let problem = &body.validation_errors[0];
    assert_eq!(problem.node.as_ref().map(NodeId::as_str), Some("hook"));
    assert!(
        problem
            .message
            .contains("bad placeholder in the custom data \"who\""),
        "{}",
        problem.message
    );
}

/// webhook → 1 s delay → webhook sent a request per contact per second, forever.
async fn a_loop_that_sends_on_a_timer_is_not_published(backend: Backend) {
    let server = TestServer::start(backend).await;
    let hook = a_webhook(&server).await;
    let draft: JourneyDocument = serde_json::from_value(json!({
        "nodes": [
            {"id": "start", "position": {"x": 0, "y": 0}, "kind": "trigger",
             "settings": {"event": "signup"}},
            {"id": "hook", "position": {"x": 0, "y": 120}, "kind": "webhook",
             "settings": {"webhook": hook}},
            {"id": "pause", "position": {"x": 0, "y": 240}, "kind": "delay",
             "settings": {"duration": {"value": 1, "unit": "seconds"}}}
        ],
        "edges": [
            {"from": "start", "branch": "next", "to": "hook"},
            {"from": "hook", "branch": "next", "to": "pause"},
            {"from": "pause", "branch": "next", "to": "hook"}
        ]
    }))
    .expect("a document");
    let journey = create(&server, "Every second", draft).await;
    let response = server
        .post(&format!("/api/v1/journeys/{}/publish", journey.id))
        .await;
    assert_eq!(response.status(), 422);
    let body: ValidationErrorsOut = response.json().await.expect("validation errors");
    assert_eq!(
        body.validation_errors.len(),
        1,
        "{:#?}",
        body.validation_errors
    );
    let error = &body.validation_errors[0];
    assert_eq!(error.node.as_ref().map(NodeId::as_str), Some("hook"));
    assert!(
        error
            .message
            .contains("sends in a loop that nothing the contact does gates"),
        "{}",
        error.message
    );
}
