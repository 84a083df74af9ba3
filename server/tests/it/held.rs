//! Containing a broken receiver without losing requests: a disabled webhook holds them (not
//! attempted, not failed, their retry window stopped) and sends them once enabled, oldest
//! first, each with a fresh window; a webhook every request of which fails for its set period
//! disables itself.

use std::time::Duration;

use app::{
    api::{
        DeliveryCountsOut, HourCountOut, Reentry, WebhookHealthOut, WebhookOut, WebhooksHealthOut,
    },
    ids::{JourneyId, WebhookId},
    journey::fixtures::{chain, webhook_with},
};
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    deliveries::{DeliveryState, after_attempts, deliver_once_to, delivery},
    support::{Answer, Backend, Receiver, SmtpReceiver, TestDatabase, TestServer},
};

backend_tests!(
    a_disabled_webhook_holds_its_requests_until_it_is_enabled,
    held_requests_go_out_oldest_first_at_the_webhooks_pace,
    held_requests_are_released_a_chunk_at_a_time,
    a_webhook_failing_for_its_set_period_disables_itself_and_holds_the_rest,
);

const HOUR: i64 = 3_600_000;

pub(crate) async fn hook_counts(server: &TestServer, journey: JourneyId) -> DeliveryCountsOut {
    server
        .journey_stats(journey)
        .await
        .nodes
        .iter()
        .find(|node| node.node_id == "hook")
        .and_then(|node| node.deliveries)
        .expect("the hook node's counts")
}

async fn switch(server: &TestServer, webhook: WebhookId, enabled: bool) -> WebhookOut {
    server
        .expect(
            server
                .patch_json(
                    &format!("/api/v1/webhooks/{webhook}"),
                    &json!({ "enabled": enabled }),
                )
                .await,
            StatusCode::OK,
        )
        .await
}

/// The webhook's health line, as the webhooks page reads it.
async fn health(server: &TestServer, webhook: WebhookId) -> WebhookHealthOut {
    let all: WebhooksHealthOut = server
        .expect(server.get("/api/v1/webhooks/health").await, StatusCode::OK)
        .await;
    assert_eq!(all.hour_ms, HOUR);
    all.webhooks
        .into_iter()
        .find(|line| line.id == webhook)
        .expect("every webhook has a health line")
}

async fn alert_emails_sent(server: &TestServer) -> bool {
    server
        .expect::<WebhooksHealthOut>(server.get("/api/v1/webhooks/health").await, StatusCode::OK)
        .await
        .alert_emails_sent
}

/// Requests of a health line's 24 hours, accepted and failed.
fn day_total(line: &WebhookHealthOut) -> HourCountOut {
    line.hours
        .iter()
        .fold(HourCountOut::default(), |sum, hour| HourCountOut {
            accepted: sum.accepted + hour.accepted,
            failed: sum.failed + hour.failed,
        })
}

/// The webhook once `condition` holds (or a panic after five seconds).
async fn webhook_when(
    server: &TestServer,
    id: WebhookId,
    condition: impl Fn(&WebhookOut) -> bool,
) -> WebhookOut {
    let mut last = server.webhook(id).await;
    for _ in 0..500 {
        if condition(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        last = server.webhook(id).await;
    }
    panic!("the webhook never came to the expected state: {last:?}");
}

/// The delivery once its status is `status` (or a panic after ten seconds).
async fn delivery_when(server: &TestServer, status: &str) -> DeliveryState {
    let mut last = None;
    for _ in 0..1_000 {
        last = delivery(server).await;
        if last.as_ref().is_some_and(|state| state.status == status) {
            return last.expect("a delivery");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the delivery is not {status}: {last:?}");
}

async fn window_started_at(server: &TestServer) -> Option<i64> {
    let mut connection = server.database_connection().await;
    sqlx::query_scalar("SELECT window_started_at FROM deliveries")
        .fetch_one(&mut connection)
        .await
        .expect("the delivery's window")
}

async fn a_disabled_webhook_holds_its_requests_until_it_is_enabled(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let hook = server
        .create_webhook(&json!({"name": "CRM", "url": receiver.url("/hook")}))
        .await;
    let disabled = switch(&server, hook.id, false).await;
    assert_eq!(
        (disabled.enabled, disabled.disabled_reason.as_deref()),
        (false, Some("disabled by an operator"))
    );
    let disabled_at = server.clock().now_millis();
    assert_eq!(disabled.disabled_at, Some(disabled_at));
    let journey = server
        .publish_journey(
            Reentry::Once,
            chain("signup", vec![("hook", webhook_with(hook.id, &[]))]),
        )
        .await;
    server.signs_up("ana", json!({})).await;

    let held = delivery_when(&server, "held").await;
    assert_eq!((held.attempts, held.next_attempt_at), (0, None));
    let counts = hook_counts(&server, journey).await;
    assert_eq!(
        (counts.accepted, counts.pending, counts.held, counts.failed),
        (0, 0, 1, 0)
    );
    let line = health(&server, hook.id).await;
    assert_eq!((line.held, line.pending, line.hours.len()), (1, 0, 24));
    assert!(
        !alert_emails_sent(&server).await,
        "no --smtp-url: the page says alerts are not sent"
    );
    assert_eq!(
        day_total(&line),
        HourCountOut::default(),
        "nothing sent yet"
    );
    let id: i64 = sqlx::query_scalar("SELECT id FROM deliveries")
        .fetch_one(&mut server.database_connection().await)
        .await
        .expect("the delivery's id");
    let resend = server
        .post(&format!("/api/v1/deliveries/{id}/resend"))
        .await;
    assert_eq!(
        resend.status(),
        StatusCode::CONFLICT,
        "a held request is not resent"
    );

    // Its retry window does not run: a day later it is still held, never attempted.
    server.clock().advance(24 * HOUR);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(delivery(&server).await.expect("a delivery").status, "held");
    assert!(
        receiver.received().is_empty(),
        "nothing is sent while disabled"
    );
    // An edit of another setting keeps the time it was disabled at.
    let renamed = server
        .expect::<WebhookOut>(
            server
                .patch_json(
                    &format!("/api/v1/webhooks/{}", hook.id),
                    &json!({"name": "CRM 2"}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(renamed.disabled_at, Some(disabled_at));

    let enabled = switch(&server, hook.id, true).await;
    assert!(enabled.enabled && enabled.disabled_reason.is_none());
    assert_eq!(enabled.disabled_at, None);
    let sent = after_attempts(&server, 1).await;
    assert_eq!(sent.status, "accepted");
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(
        window_started_at(&server).await,
        Some(server.clock().now_millis()),
        "a released request starts a fresh retry window"
    );
    let counts = hook_counts(&server, journey).await;
    assert_eq!(
        (counts.accepted, counts.pending, counts.held, counts.failed),
        (1, 0, 0, 0)
    );
    let line = health(&server, hook.id).await;
    assert_eq!((line.held, line.pending), (0, 0));
    assert_eq!(
        line.hours[23],
        HourCountOut {
            accepted: 1,
            failed: 0
        },
        "the current hour, last"
    );
}

async fn a_webhook_failing_for_its_set_period_disables_itself_and_holds_the_rest(backend: Backend) {
    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let server = TestServer::start_with(backend, |config| config.smtp_url = Some(url)).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Status(503));
    let (hook, journey) = deliver_once_to(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook"), "disable_after_failing_hours": 1,
               "alert_emails": ["ops@example.com"]}),
    )
    .await;
    assert_eq!(hook.disable_after_failing_hours, 1);

    let mut state = after_attempts(&server, 1).await;
    let began_failing = server.clock().now_millis();
    // The worker notes it just after it records the attempt.
    let failing = webhook_when(&server, hook.id, |hook| hook.failing_since.is_some()).await;
    assert_eq!(failing.failing_since, Some(began_failing));
    // Retries until the hour of failures is over: the attempt after it disables the webhook.
    while server.clock().now_millis() - began_failing < HOUR {
        assert!(server.webhook(hook.id).await.enabled, "{state:?}");
        server
            .clock()
            .set(state.next_attempt_at.expect("a retry is due"));
        state = after_attempts(&server, state.attempts + 1).await;
    }
    let disabled = webhook_when(&server, hook.id, |hook| !hook.enabled).await;
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some("every request failed for 1 h; its requests are held until it is enabled again")
    );
    assert_eq!(disabled.disabled_at, Some(server.clock().now_millis()));
    // Every attempt of that hour and a bit is on the health line as failed.
    let line = health(&server, hook.id).await;
    assert_eq!(
        day_total(&line),
        HourCountOut {
            accepted: 0,
            failed: state.attempts
        }
    );
    assert_eq!(
        (line.held, line.pending),
        (0, 1),
        "the next retry is queued"
    );
    assert!(alert_emails_sent(&server).await);
    // The stakeholders hear of it, whatever the hourly limit of failure alerts.
    let mut emails = Vec::new();
    for _ in 0..500 {
        emails = smtp.messages();
        if !emails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert!(
        emails[0].contains("Subject: Webhook \"CRM\" was disabled"),
        "{}",
        emails[0]
    );
    // The retry then due is held, not attempted; the window would have allowed it.
    let attempts = state.attempts;
    server
        .clock()
        .set(state.next_attempt_at.expect("a retry is due"));
    let held = delivery_when(&server, "held").await;
    assert_eq!(held.attempts, attempts);
    assert_eq!(receiver.received().len() as i64, attempts);

    // Fixed and enabled: the held request goes out, and the failing period is over.
    receiver.always(Answer::Status(200));
    let enabled = switch(&server, hook.id, true).await;
    assert_eq!(enabled.failing_since, None, "enabling starts afresh");
    let sent = after_attempts(&server, attempts + 1).await;
    assert_eq!(sent.status, "accepted");
    let counts = hook_counts(&server, journey).await;
    assert_eq!(
        (counts.accepted, counts.pending, counts.held, counts.failed),
        (1, 0, 0, 0)
    );
    assert_eq!(server.webhook(hook.id).await.failing_since, None);
}

/// A webhook (rate limited to 10 a second) to `receiver`, disabled, that holds `count`
/// contacts' requests, queued in the order of the contacts returned.
async fn holding(
    server: &TestServer,
    receiver: &Receiver,
    count: usize,
) -> (WebhookOut, JourneyId, Vec<String>) {
    let hook = server
        .create_webhook(&json!({"name": "CRM", "url": receiver.url("/hook"),
                               "max_requests_per_second": 10}))
        .await;
    switch(server, hook.id, false).await;
    let journey = server
        .publish_journey(
            Reentry::Once,
            chain("signup", vec![("hook", webhook_with(hook.id, &[]))]),
        )
        .await;
    let order: Vec<String> = (0..count).map(|n| format!("c{n}")).collect();
    for (held, contact) in order.iter().enumerate() {
        server.signs_up(contact, json!({})).await;
        for _ in 0..500 {
            if hook_counts(server, journey).await.held == held as i64 + 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert_eq!(hook_counts(server, journey).await.held, count as i64);
    assert_eq!(receiver.count(), 0, "nothing sent while disabled");
    (hook, journey, order)
}

/// Enabled again, a webhook sends what it held oldest first, at its rate limit, each request
/// with a window of its own.
async fn held_requests_go_out_oldest_first_at_the_webhooks_pace(backend: Backend) {
    const HELD: usize = 5;
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let (hook, journey, order) = holding(&server, &receiver, HELD).await;

    switch(&server, hook.id, true).await;
    for _ in 0..1_000 {
        if receiver.count() >= HELD {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut received = receiver.received();
    assert_eq!(received.len(), HELD);
    received.sort_by_key(|request| request.at);
    let sent_order: Vec<String> = received
        .iter()
        .map(|request| {
            let body: serde_json::Value =
                serde_json::from_slice(&request.body).expect("a JSON body");
            body["data"]["contact"]["external_id"]
                .as_str()
                .expect("the contact")
                .to_owned()
        })
        .collect();
    assert_eq!(sent_order, order, "oldest first");
    // Ten a second: four gaps of 100 ms (less the timer's slack).
    let took = received[HELD - 1].at.duration_since(received[0].at);
    assert!(took >= Duration::from_millis(350), "sent in {took:?}");
    let mut counts = hook_counts(&server, journey).await;
    for _ in 0..500 {
        if counts.accepted == HELD as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        counts = hook_counts(&server, journey).await;
    }
    assert_eq!((counts.accepted, counts.held), (HELD as i64, 0));
}

/// Releasing goes a chunk a transaction, oldest first, until none is left: what a webhook
/// that held far more than a chunk needs.
async fn held_requests_are_released_a_chunk_at_a_time(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let server = TestServer::start_configured(database.alias(), |_| {}).await;
    let receiver = Receiver::start().await;
    let (hook, _, _) = holding(&server, &receiver, 5).await;
    let now = server.clock().now_millis();
    // Stopped: no worker's heartbeat releases them before the release under test.
    let store = server.store().await;
    let mut connection = server.database_connection().await;
    server.stop().await.expect("the server stops");
    sqlx::query("UPDATE webhooks SET enabled = 1, disabled_at = NULL WHERE id = $1")
        .bind(hook.id.0)
        .execute(&mut connection)
        .await
        .expect("enabled");
    let released = store
        .release_held_in_chunks(Some(hook.id), now, 2)
        .await
        .expect("released");
    assert_eq!(released, 5, "chunks of 2, 2 and 1");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'held'")
        .fetch_one(&mut connection)
        .await
        .expect("the deliveries");
    assert_eq!(left, 0);
}
