//! Deleting journeys and webhooks: their ids are never given to new rows, their requests not
//! sent yet are cancelled (kept in the log, never sent), and a webhook that a published journey
//! sends to cannot be deleted.

use std::time::Duration;

use app::{
    api::{DeliveryOut, DeliveryStatus, JourneyOut, Reentry, WebhookOut},
    ids::{JourneyId, WebhookId},
    journey::fixtures::{chain, webhook_with},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Answer, Backend, Receiver, TestServer};

backend_tests!(
    deleted_ids_are_never_given_again,
    deleting_a_journey_cancels_its_unsent_requests,
    a_webhook_a_published_journey_uses_cannot_be_deleted,
    deleting_a_webhook_cancels_its_unsent_requests,
    a_request_whose_journey_or_webhook_is_gone_is_cancelled_when_claimed,
);

const HOUR: i64 = 3_600_000;

async fn create_journey(server: &TestServer, name: &str) -> JourneyId {
    let journey: JourneyOut = server
        .expect(
            server
                .post_json(
                    "/api/v1/journeys",
                    &json!({"name": name, "draft": {"nodes": [], "edges": []}}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    journey.id
}

async fn deleted_ids_are_never_given_again(backend: Backend) {
    let server = TestServer::start(backend).await;
    create_journey(&server, "first").await;
    let newest = create_journey(&server, "second").await;
    let deleted = server.delete(&format!("/api/v1/journeys/{newest}")).await;
    assert_eq!(deleted.status(), 204);
    let next = create_journey(&server, "third").await;
    assert!(next > newest, "journey {next} after deleted {newest}");

    let hook = |name: &str| json!({"name": name, "url": "https://example.com/hook"});
    server.create_webhook(&hook("first")).await;
    let newest = server.create_webhook(&hook("second")).await.id;
    let deleted = server.delete(&format!("/api/v1/webhooks/{newest}")).await;
    assert_eq!(deleted.status(), 204);
    let next = server.create_webhook(&hook("third")).await.id;
    assert!(next > newest, "webhook {next} after deleted {newest}");
}

/// A published journey signup → webhook to `webhook` → exit, and one contact who signed up.
async fn one_contact_through(server: &TestServer, webhook: WebhookId) -> JourneyId {
    let draft = chain("signup", vec![("hook", webhook_with(webhook, &[]))]);
    let journey = server.publish_journey(Reentry::Always, &draft).await;
    server.signs_up("ana", json!({})).await;
    journey
}

/// The deliveries of `webhook` once `ready` holds for them (or after five seconds).
async fn deliveries_of(
    server: &TestServer,
    webhook: WebhookId,
    ready: impl Fn(&[DeliveryOut]) -> bool,
) -> Vec<DeliveryOut> {
    let mut deliveries = Vec::new();
    for _ in 0..500 {
        deliveries = server
            .get(&format!("/api/v1/deliveries?webhook={webhook}"))
            .await
            .json()
            .await
            .expect("deliveries");
        if ready(&deliveries) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    deliveries
}

/// A webhook to `receiver`, which refuses every request: its deliveries stay pending.
async fn refused_webhook(server: &TestServer, receiver: &Receiver, name: &str) -> WebhookOut {
    receiver.always(Answer::Status(503));
    server
        .create_webhook(&json!({"name": name, "url": receiver.url("/hook")}))
        .await
}

/// Moves the clock past every retry of the next hours and checks that nothing more is sent.
async fn nothing_more_is_sent(server: &TestServer, receiver: &Receiver) {
    let sent = receiver.received().len();
    for _ in 0..5 {
        server.clock().advance(HOUR);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        receiver.received().len(),
        sent,
        "a cancelled request is never sent"
    );
}

async fn deleting_a_journey_cancels_its_unsent_requests(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let webhook = refused_webhook(&server, &receiver, "CRM").await;
    let journey = one_contact_through(&server, webhook.id).await;
    let pending = deliveries_of(&server, webhook.id, |deliveries| {
        deliveries
            .first()
            .is_some_and(|delivery| delivery.attempts == 1)
    })
    .await;
    assert_eq!(pending[0].status, DeliveryStatus::Pending);

    let deleted = server.delete(&format!("/api/v1/journeys/{journey}")).await;
    assert_eq!(deleted.status(), 204);
    let cancelled = deliveries_of(&server, webhook.id, |_| true).await;
    assert_eq!(cancelled.len(), 1, "kept in the log");
    assert_eq!(cancelled[0].status, DeliveryStatus::Cancelled);
    assert_eq!(
        cancelled[0].last_error.as_deref(),
        Some("cancelled: its journey was deleted")
    );
    nothing_more_is_sent(&server, &receiver).await;

    let resend = server
        .post(&format!("/api/v1/deliveries/{}/resend", cancelled[0].id))
        .await;
    assert_eq!(resend.status(), 409, "a cancelled request is not resent");
}

async fn a_webhook_a_published_journey_uses_cannot_be_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let webhook = server
        .create_webhook(&json!({"name": "CRM", "url": "https://example.com/hook"}))
        .await;
    let draft = chain("signup", vec![("hook", webhook_with(webhook.id, &[]))]);
    let journey = server.publish_journey(Reentry::Once, &draft).await;
    let paused = server
        .post(&format!("/api/v1/journeys/{journey}/pause"))
        .await;
    assert_eq!(paused.status(), 200);

    let refused = server
        .delete(&format!("/api/v1/webhooks/{}", webhook.id))
        .await;
    assert_eq!(refused.status(), 409);
    let error: Value = refused.json().await.expect("an error");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("\"test\" ({journey})")),
        "names the journey: {message}"
    );
    assert_eq!(
        server
            .get(&format!("/api/v1/webhooks/{}", webhook.id))
            .await
            .status(),
        200,
        "still there"
    );

    let deleted = server.delete(&format!("/api/v1/journeys/{journey}")).await;
    assert_eq!(deleted.status(), 204);
    let deleted = server
        .delete(&format!("/api/v1/webhooks/{}", webhook.id))
        .await;
    assert_eq!(deleted.status(), 204);
}

async fn deleting_a_webhook_cancels_its_unsent_requests(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let old = refused_webhook(&server, &receiver, "old CRM").await;
    let journey = one_contact_through(&server, old.id).await;
    deliveries_of(&server, old.id, |deliveries| {
        deliveries
            .first()
            .is_some_and(|delivery| delivery.attempts == 1)
    })
    .await;

    // Version 2 sends elsewhere; version 1's contact still has its request pending.
    let new = server
        .create_webhook(&json!({"name": "new CRM", "url": "https://example.com/hook"}))
        .await;
    let draft = chain("signup", vec![("hook", webhook_with(new.id, &[]))]);
    let edited = server
        .patch_json(
            &format!("/api/v1/journeys/{journey}"),
            &json!({"draft": draft}),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let published = server
        .post(&format!("/api/v1/journeys/{journey}/publish"))
        .await;
    assert_eq!(published.status(), 201);

    let deleted = server.delete(&format!("/api/v1/webhooks/{}", old.id)).await;
    assert_eq!(deleted.status(), 204);
    let cancelled = deliveries_of(&server, old.id, |_| true).await;
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].status, DeliveryStatus::Cancelled);
    assert_eq!(
        cancelled[0].last_error.as_deref(),
        Some("cancelled: its webhook was deleted")
    );
    nothing_more_is_sent(&server, &receiver).await;
}

/// Deletion cancels in its own transaction; a request queued by a batch that committed just
/// after it (or written by an older server) is cancelled by the worker instead of sent.
async fn a_request_whose_journey_or_webhook_is_gone_is_cancelled_when_claimed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let webhook = server
        .create_webhook(&json!({"name": "CRM", "url": receiver.url("/hook")}))
        .await;
    let journey = create_journey(&server, "kept").await;
    server
        .put_json("/api/v1/contacts/ana", &json!({"attributes": {}}))
        .await;
    let mut connection = server.database_connection().await;
    let contact: i64 = sqlx::query_scalar("SELECT id FROM contacts WHERE external_id = 'ana'")
        .fetch_one(&mut connection)
        .await
        .expect("the contact");
    let now = server.clock().now_millis();
    for (journey, webhook) in [(JourneyId(9_999), webhook.id), (journey, WebhookId(9_999))] {
        sqlx::query(
            "INSERT INTO deliveries (enrollment_id, journey_id, version, node_id, contact_id,
                                     webhook_id, custom_data, created_at, next_attempt_at)
             VALUES (1, $1, 1, 'hook', $2, $3, '[]', $4, $4)",
        )
        .bind(journey)
        .bind(contact)
        .bind(webhook)
        .bind(now)
        .execute(&mut connection)
        .await
        .expect("a delivery");
    }
    server.clock().advance(1);
    let mut reasons: Vec<(String, Option<String>)> = Vec::new();
    for _ in 0..500 {
        reasons = sqlx::query_as("SELECT status, last_error FROM deliveries ORDER BY id")
            .fetch_all(&mut connection)
            .await
            .expect("deliveries");
        if reasons.iter().all(|(status, _)| status != "pending") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancelled = |why: &str| {
        (
            "cancelled".to_owned(),
            Some(format!("cancelled: its {why} was deleted")),
        )
    };
    assert_eq!(reasons, vec![cancelled("journey"), cancelled("webhook")]);
    assert!(receiver.received().is_empty(), "nothing sent");
}
