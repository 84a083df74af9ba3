//! `GET /api/v1/openapi.json`: an OpenAPI 3.1 document of every endpoint, each of which exists.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::support::{Backend, TestServer};

backend_tests!(
    the_document_describes_every_endpoint_and_only_real_ones,
    the_documents_examples_are_accepted_as_they_are,
);

/// Every operation of the API. A new endpoint goes here and into the document.
const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/api/v1/health"),
    ("post", "/api/v1/setup"),
    ("get", "/api/v1/session"),
    ("post", "/api/v1/session"),
    ("delete", "/api/v1/session"),
    ("post", "/api/v1/session/password"),
    ("get", "/api/v1/operators"),
    ("post", "/api/v1/operators"),
    ("patch", "/api/v1/operators/{id}"),
    ("post", "/api/v1/operators/{id}/reset-password"),
    ("get", "/api/v1/api-keys"),
    ("post", "/api/v1/api-keys"),
    ("delete", "/api/v1/api-keys/{id}"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/contacts"),
    ("post", "/api/v1/contacts/batch"),
    ("get", "/api/v1/contacts/{external_id}"),
    ("put", "/api/v1/contacts/{external_id}"),
    ("get", "/api/v1/contacts/{external_id}/activity"),
    ("post", "/api/v1/events"),
    ("post", "/api/v1/events/batch"),
    ("get", "/api/v1/journeys"),
    ("post", "/api/v1/journeys"),
    ("get", "/api/v1/journeys/{id}"),
    ("patch", "/api/v1/journeys/{id}"),
    ("delete", "/api/v1/journeys/{id}"),
    ("post", "/api/v1/journeys/{id}/publish"),
    ("post", "/api/v1/journeys/{id}/pause"),
    ("post", "/api/v1/journeys/{id}/resume"),
    ("get", "/api/v1/journeys/{id}/stats"),
    ("post", "/api/v1/journeys/{id}/nodes/{node}/resend-failed"),
    ("get", "/api/v1/journeys/{id}/nodes/{node}/failures"),
    ("post", "/api/v1/journeys/{id}/nodes/{node}/failures/resend"),
    ("get", "/api/v1/journeys/{id}/nodes/{node}/timeline"),
    ("get", "/api/v1/journeys/{id}/nodes/{node}/resends"),
    ("get", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/{id}"),
    ("patch", "/api/v1/webhooks/{id}"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("get", "/api/v1/webhooks/{id}/signing-secret"),
    ("get", "/api/v1/webhooks/health"),
    ("get", "/api/v1/metrics"),
    ("post", "/api/v1/webhooks/{id}/rotate-secret"),
    ("post", "/api/v1/webhooks/{id}/preview"),
    ("post", "/api/v1/webhooks/{id}/test"),
    ("post", "/api/v1/webhooks/preview"),
    ("post", "/api/v1/webhooks/test"),
    ("get", "/api/v1/templates"),
    ("post", "/api/v1/templates"),
    ("get", "/api/v1/templates/{id}"),
    ("put", "/api/v1/templates/{id}"),
    ("delete", "/api/v1/templates/{id}"),
    ("post", "/api/v1/templates/preview"),
    ("get", "/api/v1/messages"),
    ("get", "/api/v1/channels"),
    ("get", "/api/v1/channels/presets"),
    ("get", "/api/v1/channels/{channel}"),
    ("put", "/api/v1/channels/{channel}"),
    ("delete", "/api/v1/channels/{channel}"),
    ("post", "/api/v1/receipts/{channel}"),
    ("get", "/api/v1/deliveries"),
    ("get", "/api/v1/deliveries/{id}"),
    ("get", "/api/v1/deliveries/{id}/request"),
    ("post", "/api/v1/deliveries/{id}/resend"),
];

async fn the_document_describes_every_endpoint_and_only_real_ones(backend: Backend) {
    let server = TestServer::start(backend).await;
    let response = server.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");

    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            documented.insert((method.clone(), path.clone()));
            let responses = operation["responses"].as_object().expect("responses");
            // Health answers a fault with its own 503 body.
            assert!(
                responses.contains_key("500") || path == "/api/v1/health",
                "{method} {path} documents its server fault"
            );
        }
    }
    let expected: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(documented, expected);

    // Each documented operation is routed: the API's fallback (no such endpoint) never answers.
    for (method, path) in OPERATIONS {
        let concrete = path
            .replace("{id}", "999999")
            .replace("{external_id}", "nobody")
            .replace("{node}", "hook")
            .replace("{channel}", "sms");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
        let answer = server
            .client()
            .request(method.clone(), server.url(&concrete))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("a response");
        let body: Value = answer.json().await.unwrap_or_default();
        assert_ne!(
            body["error"]["message"], "no API endpoint at this path and method",
            "{method} {concrete} is documented but not routed"
        );
    }
}

/// Each request body's example, sent as it is, is accepted: the examples a reader copies (and
/// schemathesis starts from) work.
async fn the_documents_examples_are_accepted_as_they_are(backend: Backend) {
    let server = TestServer::start(backend).await;
    let document: Value = server
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    let example = |schema: &str| {
        let example = &document["components"]["schemas"][schema]["example"];
        assert!(example.is_object(), "{schema} has an example");
        example.clone()
    };
    // In an order where each finds what it names: webhook 1, contact c-1, journey 1.
    let calls = [
        (Method::POST, "/api/v1/webhooks", "WebhookIn", 201),
        (Method::PUT, "/api/v1/contacts/c-1", "ContactIn", 200),
        (
            Method::POST,
            "/api/v1/contacts/batch",
            "ContactBatchIn",
            200,
        ),
        (Method::POST, "/api/v1/events", "EventIn", 202),
        (Method::POST, "/api/v1/events/batch", "EventBatchIn", 202),
        (Method::POST, "/api/v1/journeys", "JourneyIn", 201),
        (Method::PATCH, "/api/v1/journeys/1", "JourneyPatch", 200),
        (
            Method::POST,
            "/api/v1/webhooks/1/rotate-secret",
            "RotateSecretIn",
            200,
        ),
        (
            Method::POST,
            "/api/v1/webhooks/1/preview",
            "WebhookTestIn",
            200,
        ),
        (
            Method::POST,
            "/api/v1/webhooks/preview",
            "WebhookDraftIn",
            200,
        ),
    ];
    for (method, path, schema, status) in calls {
        let answer = server
            .client()
            .request(method.clone(), server.url(path))
            .json(&example(schema))
            .send()
            .await
            .expect("a response");
        let code = answer.status();
        let body = answer.text().await.unwrap_or_default();
        assert_eq!(
            code, status,
            "{method} {path} with the {schema} example: {body}"
        );
    }
    let journey: Value = server
        .get("/api/v1/journeys/1")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        journey["validation_errors"],
        serde_json::json!([]),
        "the journey example can be published"
    );
}
