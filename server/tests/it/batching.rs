//! Webhooks that batch: deliveries due together (or within the webhook's wait) go in one
//! request, `{"<key>": [envelope, …]}` or `data=<that JSON>`, signed once over the batch; each
//! envelope keeps its delivery's id; the answer applies to each delivery, which keeps its own
//! record and counts; a refused batch is retried together; the settings are checked.

use std::{collections::HashSet, time::Duration};

use app::{
    api::{DeliveryOut, DeliveryStatus, SigningSecretOut, WebhookOut},
    ids::JourneyId,
    journey::fixtures::{chain, webhook_with},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    held::hook_counts,
    support::{Answer, Backend, Received, Receiver, TestServer, verify_signature},
};

backend_tests!(
    deliveries_go_together_signed_once_and_each_keeps_its_record,
    a_refused_batch_is_retried_together_and_a_form_batch_is_one_field,
    batch_settings_are_checked_and_can_be_turned_off,
    a_gathering_batch_follows_what_happened_while_it_waited,
);

/// A webhook with these settings, and a published journey signup → it → exit.
async fn publish(server: &TestServer, webhook: Value) -> (WebhookOut, JourneyId) {
    let webhook = server.create_webhook(&webhook).await;
    let draft = chain("signup", vec![("hook", webhook_with(webhook.id, &[]))]);
    let journey = server.publish_journey(app::api::Reentry::Once, draft).await;
    (webhook, journey)
}

/// These contacts sign up, in one request.
async fn sign_up(server: &TestServer, contacts: &[&str]) {
    let known: Vec<Value> = contacts
        .iter()
        .map(|contact| json!({"external_id": contact, "attributes": {"plan": "pro"}}))
        .collect();
    let response = server
        .post_json("/api/v1/contacts/batch", &json!({"contacts": known}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let events: Vec<Value> = contacts
        .iter()
        .map(|contact| json!({"contact": contact, "event": "signup"}))
        .collect();
    let response = server
        .post_json("/api/v1/events/batch", &json!({"events": events}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

async fn requests_when(receiver: &Receiver, count: usize, within: Duration) -> Vec<Received> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let received = receiver.received();
        if received.len() >= count || tokio::time::Instant::now() > deadline {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn deliveries(server: &TestServer, journey: JourneyId) -> Vec<DeliveryOut> {
    server
        .expect(
            server
                .get(&format!("/api/v1/deliveries?journey={journey}"))
                .await,
            StatusCode::OK,
        )
        .await
}

/// The envelopes of a JSON batch under `key`.
fn envelopes(body: &[u8], key: &str) -> Vec<Value> {
    let body: Value = serde_json::from_slice(body).expect("a JSON body");
    body[key]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no {key} list in {body}"))
}

async fn deliveries_go_together_signed_once_and_each_keeps_its_record(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let (webhook, journey) = publish(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook"), "contact_fields": ["plan"],
               "batch": {"max_size": 3, "max_wait_seconds": 1, "key": "acme"}}),
    )
    .await;
    assert_eq!(
        webhook
            .batch
            .as_ref()
            .map(|batch| (batch.max_size, batch.key.as_str())),
        Some((3, "acme"))
    );
    let contacts = ["c1", "c2", "c3", "c4", "c5"];
    sign_up(&server, &contacts).await;

    // Three fill a batch and go at once; the other two wait a second for company, then go.
    let first = requests_when(&receiver, 1, Duration::from_secs(5)).await;
    assert_eq!(envelopes(&first[0].body, "acme").len(), 3);
    let both = requests_when(&receiver, 2, Duration::from_secs(5)).await;
    assert_eq!(both.len(), 2, "five deliveries in two requests");
    let waited = both[1].at.duration_since(both[0].at);
    assert!(
        waited >= Duration::from_millis(800),
        "the rest waited {waited:?}"
    );
    assert_eq!(envelopes(&both[1].body, "acme").len(), 2);

    let secret: SigningSecretOut = server
        .expect(
            server
                .get(&format!("/api/v1/webhooks/{}/signing-secret", webhook.id))
                .await,
            StatusCode::OK,
        )
        .await;
    let mut envelope_ids = HashSet::new();
    let mut seen_contacts = HashSet::new();
    for request in &both {
        assert_eq!(
            request.header("content-type"),
            "application/json;charset=UTF-8"
        );
        let id = request.header("webhook-id");
        assert!(id.starts_with("batch_"), "{id}");
        assert!(verify_signature(
            &secret.secret,
            id,
            request.header("webhook-timestamp"),
            &request.body,
            request.header("webhook-signature"),
        ));
        for envelope in envelopes(&request.body, "acme") {
            assert_eq!(envelope["event"], "signup");
            let envelope_id = envelope["id"].as_str().expect("an id").to_owned();
            assert!(envelope_id.starts_with("msg_"), "{envelope_id}");
            envelope_ids.insert(envelope_id);
            seen_contacts.insert(
                envelope["data"]["contact"]["external_id"]
                    .as_str()
                    .expect("a contact")
                    .to_owned(),
            );
        }
    }
    assert_eq!(
        envelope_ids.len(),
        5,
        "each envelope keeps its delivery's id"
    );
    assert_eq!(seen_contacts.len(), 5);
    assert_ne!(both[0].header("webhook-id"), both[1].header("webhook-id"));

    // Each delivery has its own record and counts.
    let counts = hook_counts(&server, journey).await;
    assert_eq!((counts.accepted, counts.pending, counts.failed), (5, 0, 0));
    let log = deliveries(&server, journey).await;
    assert_eq!(log.len(), 5);
    assert!(
        log.iter()
            .all(|delivery| delivery.status == DeliveryStatus::Accepted
                && delivery.attempts == 1
                && delivery.last_status_code == Some(200))
    );
}

async fn a_refused_batch_is_retried_together_and_a_form_batch_is_one_field(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    receiver.queue([Answer::Status(500)]);
    let (_, journey) = publish(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook"), "body_format": "form",
               "batch": {"max_size": 10, "max_wait_seconds": 0}}),
    )
    .await;
    sign_up(&server, &["ana", "bob"]).await;

    let first = requests_when(&receiver, 1, Duration::from_secs(5)).await;
    assert_eq!(
        first[0].header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&first[0].body)
        .into_owned()
        .collect();
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].0, "data");
    let sent = envelopes(fields[0].1.as_bytes(), "events");
    assert_eq!(sent.len(), 2, "the default key, both deliveries");

    // The 500 applies to both: pending, one attempt each, due again at the same moment.
    let mut log = Vec::new();
    for _ in 0..500 {
        log = deliveries(&server, journey).await;
        if log.iter().all(|delivery| delivery.attempts == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        log.iter()
            .all(|delivery| delivery.status == DeliveryStatus::Pending
                && delivery.last_status_code == Some(500)),
        "{log:?}"
    );
    let due: HashSet<Option<i64>> = log
        .iter()
        .map(|delivery| delivery.next_attempt_at)
        .collect();
    assert_eq!(due.len(), 1, "retried together: {log:?}");
    let next = due.into_iter().next().flatten().expect("a next attempt");

    server.clock().set(next + 1);
    let again = requests_when(&receiver, 2, Duration::from_secs(5)).await;
    assert_eq!(again.len(), 2, "the retry is one request");
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&again[1].body)
        .into_owned()
        .collect();
    let retried = envelopes(fields[0].1.as_bytes(), "events");
    let ids = |envelopes: &[Value]| -> HashSet<String> {
        envelopes
            .iter()
            .map(|envelope| envelope["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&retried),
        ids(&sent),
        "the same deliveries, the same ids"
    );
    assert_eq!(again[0].header("webhook-id"), again[1].header("webhook-id"));
    for _ in 0..500 {
        if hook_counts(&server, journey).await.accepted == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let counts = hook_counts(&server, journey).await;
    assert_eq!((counts.accepted, counts.pending), (2, 0));
}

async fn batch_settings_are_checked_and_can_be_turned_off(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    for (settings, named) in [
        (json!({"body_format": "query", "batch": {}}), "batch"),
        (json!({"batch": {"max_size": 0}}), "batch.max_size"),
        (json!({"batch": {"max_size": 1001}}), "batch.max_size"),
        (
            json!({"batch": {"max_wait_seconds": 301}}),
            "batch.max_wait_seconds",
        ),
        (json!({"batch": {"key": "  "}}), "batch.key"),
    ] {
        let mut webhook = json!({"name": "CRM", "url": receiver.url("/hook")});
        webhook
            .as_object_mut()
            .expect("an object")
            .extend(settings.as_object().expect("an object").clone());
        let response = server.post_json("/api/v1/webhooks", &webhook).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{webhook}"
        );
        let text = response.text().await.expect("a body");
        assert!(text.contains(named), "{named}: {text}");
    }
    let (webhook, journey) = publish(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook"), "batch": {}}),
    )
    .await;
    let batch = webhook.batch.expect("batching");
    assert_eq!(
        (batch.max_size, batch.max_wait_seconds, batch.key.as_str()),
        (100, 5, "events")
    );

    // A patch without it keeps it; null turns it off.
    let kept: WebhookOut = server
        .expect(
            server
                .patch_json(
                    &format!("/api/v1/webhooks/{}", webhook.id),
                    &json!({"name": "CRM 2"}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert!(kept.batch.is_some());
    let off: WebhookOut = server
        .expect(
            server
                .patch_json(
                    &format!("/api/v1/webhooks/{}", webhook.id),
                    &json!({"batch": null}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(off.batch, None);
    sign_up(&server, &["ana"]).await;
    let received = requests_when(&receiver, 1, Duration::from_secs(5)).await;
    let body: Value = serde_json::from_slice(&received[0].body).expect("JSON");
    assert_eq!(
        body["event"], "signup",
        "one delivery, its envelope alone: {body}"
    );
    assert!(received[0].header("webhook-id").starts_with("msg_"));
    assert!(hook_counts(&server, journey).await.failed == 0);
}

/// While a batch waits, its journey is deleted (its deliveries cancelled), or its webhook
/// disabled (held) and re-enabled, or its settings change: what goes out follows.
async fn a_gathering_batch_follows_what_happened_while_it_waited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let settings = json!({"name": "CRM", "url": receiver.url("/hook"),
                          "batch": {"max_size": 10, "max_wait_seconds": 2}});

    // Deleted journey: nothing goes.
    let (_, journey) = publish(&server, settings.clone()).await;
    sign_up(&server, &["a1", "a2"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deleted = server.delete(&format!("/api/v1/journeys/{journey}")).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let received = requests_when(&receiver, 1, Duration::from_secs(3)).await;
    assert!(
        received.is_empty(),
        "a cancelled delivery was sent: {:?}",
        received.len()
    );

    // Disabled while waiting: held, not sent; enabled: sent, under the key set meanwhile.
    let (webhook, journey) = publish(&server, settings).await;
    sign_up(&server, &["b1", "b2"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let path = format!("/api/v1/webhooks/{}", webhook.id);
    let disabled = server.patch_json(&path, &json!({"enabled": false})).await;
    assert_eq!(disabled.status(), StatusCode::OK);
    let received = requests_when(&receiver, 1, Duration::from_secs(3)).await;
    assert!(received.is_empty(), "a disabled webhook's batch was sent");
    let mut held = 0;
    for _ in 0..500 {
        held = hook_counts(&server, journey).await.held;
        if held == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(held, 2);
    let enabled = server
        .patch_json(
            &path,
            &json!({"enabled": true, "batch": {"max_size": 10, "max_wait_seconds": 0, "key": "renamed"}}),
        )
        .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    let received = requests_when(&receiver, 1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "the held pair goes as one batch");
    assert_eq!(envelopes(&received[0].body, "renamed").len(), 2);
}
