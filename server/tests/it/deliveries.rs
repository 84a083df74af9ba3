//! Webhook delivery against a real receiver: signatures, every answer a receiver can give,
//! the retry schedule and its 12-hour window (on the test's clock), and the node counts.

use std::time::Duration;

use app::{
    api::{
        AttemptOutcome, DeliveryDetailOut, DeliveryOut, DeliveryStatus, JourneyIn, JourneyOut,
        JourneyStatsOut, Reentry, ResentOut, SigningSecretOut, WebhookOut, WebhookTestOut,
        WebhooksHealthOut,
    },
    ids::{DeliveryId, JourneyId, WebhookId},
    journey::fixtures::{chain, webhook_with},
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection};

use server::store::{AttemptRecord, Claimant};

use crate::support::{
    Answer, Backend, Receiver, SmtpReceiver, TestDatabase, TestServer, insert_contact,
    resetting_port, verify_signature,
};

backend_tests!(
    an_accepted_request_is_signed_and_counted,
    a_refused_request_is_retried_with_the_same_webhook_id,
    gone_fails_the_delivery_and_disables_the_webhook,
    retry_after_is_honoured,
    retry_after_of_zero_or_of_years_stays_near_the_schedule,
    an_answer_with_a_nul_or_broken_utf8_is_recorded,
    a_resend_starts_the_retry_schedule_over,
    the_window_closes_after_twelve_hours,
    timeouts_resets_and_redirects_are_not_accepted,
    private_targets_are_refused_unless_allowed,
    an_allowed_network_is_reached_though_private,
    the_delivery_log_filters_shows_attempts_and_resends,
    a_slow_receiver_does_not_hold_back_the_others,
    each_attempt_of_a_batch_is_recorded_with_its_own_outcome,
    persistent_failure_emails_the_stakeholders_once_an_hour,
    an_alert_the_smtp_server_cannot_take_now_is_sent_later_once,
    a_disabling_left_untold_is_told_by_the_sweep,
    alerts_turned_off_send_nothing_and_keep_their_addresses,
    an_hourly_digest_gathers_the_failures_of_its_hour,
    a_daily_digest_gathers_the_failures_of_its_day,
    a_request_that_cannot_be_made_fails_at_once_and_is_alerted,
    a_delivery_goes_out_as_soon_as_it_is_queued,
);

const SECOND: i64 = 1_000;
const HOUR: i64 = 3_600 * SECOND;

/// A webhook to `url`, a journey signup → webhook → exit, and one contact that signed up.
async fn deliver_once(server: &TestServer, url: &str) -> (WebhookOut, JourneyId) {
    deliver_once_to(
        server,
        json!({"name": "CRM", "url": url, "contact_fields": ["email"],
               "custom_data": [{"key": "plan", "value": "{{contact.plan}}"}]}),
    )
    .await
}

/// [`deliver_once`] with a webhook of these settings.
pub(crate) async fn deliver_once_to(
    server: &TestServer,
    webhook: Value,
) -> (WebhookOut, JourneyId) {
    let webhook = server.create_webhook(&webhook).await;
    let draft = chain(
        "signup",
        vec![("hook", webhook_with(webhook.id, &[("step", "welcome")]))],
    );
    let journey: JourneyOut = server
        .post_json(
            "/api/v1/journeys",
            &JourneyIn {
                name: "Welcome".to_owned(),
                reentry: Reentry::Once,
                draft,
            },
        )
        .await
        .json()
        .await
        .expect("a journey");
    let published = server
        .post(&format!("/api/v1/journeys/{}/publish", journey.id))
        .await;
    assert_eq!(published.status(), 201);
    let contact = server
        .put_json(
            "/api/v1/contacts/ana",
            &json!({"attributes": {"email": "ana@example.com", "plan": "pro"}}),
        )
        .await;
    assert_eq!(contact.status(), 200);
    let event = server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "ana", "event": "signup", "properties": {"source": "ad"},
                    "occurred_at": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(event.status(), 202);
    (webhook, journey.id)
}

/// The deliveries at `path` once there are `count` of them (or the last list read, after
/// five seconds).
async fn deliveries_when(server: &TestServer, path: &str, count: usize) -> Vec<DeliveryOut> {
    let mut deliveries: Vec<DeliveryOut> = Vec::new();
    for _ in 0..500 {
        deliveries = server.get(path).await.json().await.expect("deliveries");
        if deliveries.len() == count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    deliveries
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeliveryState {
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
}

pub(crate) async fn delivery(server: &TestServer) -> Option<DeliveryState> {
    sqlx::any::install_default_drivers();
    let mut connection = AnyConnection::connect(server.database().url())
        .await
        .expect("connect");
    type Row = (String, i64, Option<i64>, Option<i64>, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT status, attempts, next_attempt_at, last_status_code, last_error FROM deliveries",
    )
    .fetch_optional(&mut connection)
    .await
    .expect("query");
    connection.close().await.ok();
    row.map(
        |(status, attempts, next_attempt_at, last_status_code, last_error)| DeliveryState {
            status,
            attempts,
            next_attempt_at,
            last_status_code,
            last_error,
        },
    )
}

/// Waits until the delivery has had `attempts` attempts.
pub(crate) async fn after_attempts(server: &TestServer, attempts: i64) -> DeliveryState {
    let mut last = None;
    for _ in 0..1_000 {
        last = delivery(server).await;
        if last
            .as_ref()
            .is_some_and(|state| state.attempts >= attempts)
        {
            return last.expect("a delivery");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no {attempts} attempts; last state {last:?}");
}

async fn hook_counts(server: &TestServer, journey: JourneyId) -> (i64, i64, i64) {
    let stats: JourneyStatsOut = server.journey_stats(journey).await;
    let hook = stats
        .nodes
        .iter()
        .find(|node| node.node_id == "hook")
        .expect("the hook node");
    let deliveries = hook.deliveries.expect("delivery counts");
    (deliveries.accepted, deliveries.pending, deliveries.failed)
}

async fn an_accepted_request_is_signed_and_counted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    let (webhook, journey) =
        deliver_once(&server, &receiver.url("/hook/{{contact.external_id}}")).await;

    let state = after_attempts(&server, 1).await;
    assert_eq!(state.status, "accepted");
    assert_eq!(hook_counts(&server, journey).await, (1, 0, 0));

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri.path(), "/hook/ana");
    assert_eq!(
        request.header("content-type"),
        "application/json;charset=UTF-8"
    );
    let body: Value = serde_json::from_slice(&request.body).expect("JSON");
    assert_eq!(body["event"], "signup");
    assert_eq!(body["event_time"], "2026-01-01T00:00:00.000Z");
    assert_eq!(body["id"], request.header("webhook-id"));
    assert_eq!(
        body["data"],
        json!({
            "contact": {"external_id": "ana", "email": "ana@example.com"},
            "event_details": {"source": "ad"},
            "custom_data": {"plan": "pro", "step": "welcome"},
            "journey": {"id": journey, "name": "Welcome"}
        })
    );
    let secret: SigningSecretOut = server
        .get(&format!("/api/v1/webhooks/{}/signing-secret", webhook.id))
        .await
        .json()
        .await
        .expect("the secret");
    let timestamp = request.header("webhook-timestamp");
    assert_eq!(timestamp, (server.clock().now_millis() / 1_000).to_string());
    let id = request.header("webhook-id");
    let signature = request.header("webhook-signature");
    assert!(verify_signature(
        &secret.secret,
        id,
        timestamp,
        &request.body,
        signature
    ));
    let mut tampered = request.body.to_vec();
    tampered[0] = b' ';
    assert!(
        !verify_signature(&secret.secret, id, timestamp, &tampered, signature),
        "a changed body fails"
    );
}

async fn a_refused_request_is_retried_with_the_same_webhook_id(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    receiver.queue([Answer::Status(500)]);
    let (_, journey) = deliver_once(&server, &receiver.url("/hook")).await;

    let first = after_attempts(&server, 1).await;
    assert_eq!(first.status, "pending");
    assert_eq!(first.last_status_code, Some(500));
    let now = server.clock().now_millis();
    let next = first.next_attempt_at.expect("a next attempt");
    assert!(
        (now + 5 * SECOND..=now + 5_500).contains(&next),
        "5 s + up to 10 % jitter: {}",
        next - now
    );
    assert_eq!(hook_counts(&server, journey).await, (0, 1, 0));

    server.clock().advance(6 * SECOND);
    let second = after_attempts(&server, 2).await;
    assert_eq!(second.status, "accepted");
    assert_eq!(hook_counts(&server, journey).await, (1, 0, 0));
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id")
    );
    assert_ne!(received[0].header("webhook-id"), "");
}

/// 410 Gone fails the request at once and disables the webhook; its stakeholders get one
/// email that says so, with the failure in it.
async fn gone_fails_the_delivery_and_disables_the_webhook(backend: Backend) {
    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let server = TestServer::start_with(backend, |config| config.smtp_url = Some(url)).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Status(410));
    let (webhook, journey) = deliver_once_to(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook"),
               "alert_emails": ["ops@example.com"]}),
    )
    .await;

    let state = after_attempts(&server, 1).await;
    assert_eq!(
        (state.status.as_str(), state.next_attempt_at),
        ("failed", None)
    );
    assert_eq!(hook_counts(&server, journey).await, (0, 0, 1));
    // The worker disables the webhook just after it records the attempt.
    let mut read = server.webhook(webhook.id).await;
    for _ in 0..200 {
        if !read.enabled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        read = server.webhook(webhook.id).await;
    }
    assert!(!read.enabled);
    assert_eq!(
        read.disabled_reason.as_deref(),
        Some("the receiver answered 410 Gone")
    );
    let messages = smtp.messages_when(1).await;
    let email = readable(&messages[0]);
    for said in [
        "Subject: Webhook \"CRM\" was disabled",
        "was disabled: the receiver answered 410 Gone.",
        "Before that, 1 request(s) failed for good",
    ] {
        assert!(email.contains(said), "{said} in {email}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "one email, not one per cause");
}

async fn retry_after_is_honoured(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    // The first retry is scheduled 5 to 5.5 s later; 8 s is inside the band a receiver may
    // ask for (the schedule's delay to twice it).
    receiver.queue([Answer::WithHeaders(
        429,
        vec![("retry-after", "8".to_owned())],
    )]);
    let (_, _) = deliver_once(&server, &receiver.url("/hook")).await;

    let first = after_attempts(&server, 1).await;
    let now = server.clock().now_millis();
    assert_eq!(first.next_attempt_at, Some(now + 8 * SECOND));

    server.clock().advance(6 * SECOND);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "not before the time the receiver asked for"
    );
    server.clock().advance(3 * SECOND);
    assert_eq!(after_attempts(&server, 2).await.status, "accepted");
}

/// `Retry-After: 0` once made a 429 receiver be hit thousands of times in seconds, and a huge
/// value overflowed the next attempt's time.
async fn retry_after_of_zero_or_of_years_stays_near_the_schedule(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    receiver.queue([
        Answer::WithHeaders(429, vec![("retry-after", "0".to_owned())]),
        Answer::WithHeaders(503, vec![("retry-after", "99999999999999".to_owned())]),
    ]);
    let (_, _) = deliver_once(&server, &receiver.url("/hook")).await;

    let first = after_attempts(&server, 1).await;
    let now = server.clock().now_millis();
    let wait = first.next_attempt_at.expect("retried") - now;
    assert!(
        (5 * SECOND..=5_500).contains(&wait),
        "after Retry-After: 0, {wait} ms"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "no attempt before the schedule's delay"
    );

    server.clock().set(now + wait);
    let second = after_attempts(&server, 2).await;
    let now = server.clock().now_millis();
    let wait = second.next_attempt_at.expect("retried") - now;
    // The second retry is scheduled after 60 to 66 s; at most twice that, whatever was asked.
    assert!(
        (60 * SECOND..=132 * SECOND).contains(&wait),
        "after a huge Retry-After, {wait} ms"
    );
    server.clock().set(now + wait);
    assert_eq!(after_attempts(&server, 3).await.status, "accepted");
}

/// PostgreSQL cannot store NUL in text: an answer holding one failed its batch's record, and
/// the batch was sent again after every lease, forever.
async fn an_answer_with_a_nul_or_broken_utf8_is_recorded(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    receiver.queue([Answer::WithBody(500, b"bad\0answer \xff\xfe")]);
    let (_, _) = deliver_once(&server, &receiver.url("/hook")).await;

    let state = after_attempts(&server, 1).await;
    assert_eq!(
        (state.status.as_str(), state.last_status_code),
        ("pending", Some(500))
    );
    let deliveries: Vec<DeliveryOut> = server
        .expect(server.get("/api/v1/deliveries").await, StatusCode::OK)
        .await;
    let detail: DeliveryDetailOut = server
        .expect(
            server
                .get(&format!("/api/v1/deliveries/{}", deliveries[0].id))
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        detail.attempts_log[0].response_body.as_deref(),
        Some("bad\u{FFFD}answer \u{FFFD}\u{FFFD}")
    );
    // Recorded, not re-sent: the next attempt waits for its time.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 1);
}

/// A resend once kept the attempt count, so its first retry waited hours.
async fn a_resend_starts_the_retry_schedule_over(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Status(503));
    let (_, _) = deliver_once(&server, &receiver.url("/hook")).await;
    let mut state = after_attempts(&server, 1).await;
    while state.status == "pending" {
        server
            .clock()
            .set(state.next_attempt_at.expect("pending has a next attempt"));
        state = after_attempts(&server, state.attempts + 1).await;
    }
    assert_eq!(state.status, "failed");
    let sent = receiver.received().len();

    let deliveries: Vec<DeliveryOut> = server
        .expect(server.get("/api/v1/deliveries").await, StatusCode::OK)
        .await;
    let resend = server
        .post(&format!("/api/v1/deliveries/{}/resend", deliveries[0].id))
        .await;
    assert_eq!(resend.status(), 200);
    // Wait for the resent attempt to be sent and recorded (while it is in flight, the claim's
    // lease is the next attempt time, and the count is still 0).
    let mut state = None;
    for _ in 0..500 {
        state = delivery(&server).await;
        if receiver.received().len() > sent
            && state.as_ref().is_some_and(|state| state.attempts >= 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let state = state.expect("a delivery");
    let wait = state.next_attempt_at.expect("retried") - server.clock().now_millis();
    assert_eq!(state.attempts, 1, "{state:?}");
    assert!(
        (5 * SECOND..=5_500).contains(&wait),
        "the first retry after a resend: {wait} ms"
    );
}

async fn the_window_closes_after_twelve_hours(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Status(503));
    let (_, journey) = deliver_once(&server, &receiver.url("/hook")).await;

    let mut state = after_attempts(&server, 1).await;
    let started = server.clock().now_millis();
    while state.status == "pending" {
        let next = state
            .next_attempt_at
            .expect("a pending delivery has a next attempt");
        server.clock().set(next);
        state = after_attempts(&server, state.attempts + 1).await;
    }
    assert_eq!(state.status, "failed");
    assert_eq!(state.last_status_code, Some(503));
    let elapsed = server.clock().now_millis() - started;
    assert!(
        elapsed <= 12 * HOUR,
        "no attempt after the window: {elapsed}"
    );
    // It gave up because the next wait (4 h plus up to 10 % jitter) would end past 12 h.
    assert!(
        elapsed + 4 * HOUR + 4 * HOUR / 10 > 12 * HOUR,
        "it gave up too early: {elapsed}"
    );
    // 5 s, 1 min, 5 min, 30 min, 1 h, 2 h and 4 h waits put the 8th attempt at 7.6 h (plus
    // jitter); a 9th fits only if the jitter stays small.
    assert!((8..=9).contains(&state.attempts), "{state:?}");
    assert_eq!(receiver.received().len() as i64, state.attempts);
    assert_eq!(hook_counts(&server, journey).await, (0, 0, 1));
}

async fn timeouts_resets_and_redirects_are_not_accepted(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.delivery_timeout_secs = 1).await;
    let receiver = Receiver::start().await;
    receiver.queue([
        Answer::Hang(Duration::from_secs(3)),
        Answer::Redirect("https://elsewhere.example/"),
    ]);
    let (webhook, _) = deliver_once(&server, &receiver.url("/hook")).await;

    let timed_out = after_attempts(&server, 1).await;
    assert_eq!(timed_out.status, "pending");
    assert_eq!(timed_out.last_status_code, None);
    assert!(
        timed_out
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("timeout")),
        "{timed_out:?}"
    );

    server.clock().advance(6 * SECOND);
    let redirected = after_attempts(&server, 2).await;
    assert_eq!(redirected.status, "pending");
    assert_eq!(redirected.last_status_code, Some(302));
    assert!(
        redirected
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("redirects are not followed"))
    );

    let (port, _resetting) = resetting_port().await;
    let response = server
        .patch_json(
            &format!("/api/v1/webhooks/{}", webhook.id),
            &json!({"url": format!("http://127.0.0.1:{port}/hook")}),
        )
        .await;
    assert_eq!(response.status(), 200);
    server.clock().advance(2 * 60 * SECOND);
    let reset = after_attempts(&server, 3).await;
    assert_eq!(reset.status, "pending");
    assert_eq!(reset.last_status_code, None);
    assert!(reset.last_error.is_some(), "{reset:?}");
}

async fn private_targets_are_refused_unless_allowed(backend: Backend) {
    let server =
        TestServer::start_with(backend, |config| config.allow_private_targets = false).await;
    let receiver = Receiver::start().await;
    let (webhook, _) = deliver_once(&server, &receiver.url("/hook")).await;

    let state = after_attempts(&server, 1).await;
    assert_eq!(state.status, "pending");
    assert!(
        state
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("refused to connect")),
        "{state:?}"
    );

    // A name that resolves to loopback is refused at the resolver, where it is dialled.
    let by_name = receiver.url("/hook").replace("127.0.0.1", "localhost");
    let response = server
        .patch_json(
            &format!("/api/v1/webhooks/{}", webhook.id),
            &json!({"url": by_name}),
        )
        .await;
    assert_eq!(response.status(), 200);
    server.clock().advance(6 * SECOND);
    let state = after_attempts(&server, 2).await;
    assert_eq!(state.status, "pending");
    assert!(
        state
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("refused to connect")),
        "{state:?}"
    );
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
}

async fn an_allowed_network_is_reached_though_private(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.allow_private_targets = false;
        config.allowed_target_networks = vec!["127.0.0.0/8".parse().expect("a network")];
    })
    .await;
    let receiver = Receiver::start().await;
    let (webhook, _) = deliver_once(&server, &receiver.url("/hook")).await;

    let state = after_attempts(&server, 1).await;
    assert_eq!(state.status, "accepted", "{state:?}");
    assert_eq!(receiver.received().len(), 1);

    // Another private network stays closed: ::1 is loopback but not in 127.0.0.0/8.
    let outside = receiver.url("/hook").replace("127.0.0.1", "[::1]");
    let response = server
        .patch_json(
            &format!("/api/v1/webhooks/{}", webhook.id),
            &json!({"url": outside}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let tested: WebhookTestOut = server
        .post_json(&format!("/api/v1/webhooks/{}/test", webhook.id), &json!({}))
        .await
        .json()
        .await
        .expect("a test result");
    assert!(!tested.accepted);
    let error = tested.error.unwrap_or_default();
    assert!(
        error.contains("refused to connect: ::1 is a private"),
        "{error}"
    );
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing more reached the receiver"
    );
}

async fn the_delivery_log_filters_shows_attempts_and_resends(backend: Backend) {
    let server = TestServer::start(backend).await;
    let receiver = Receiver::start().await;
    receiver.queue([Answer::Status(410)]);
    let (webhook, journey) = deliver_once(&server, &receiver.url("/hook")).await;
    after_attempts(&server, 1).await;
    // Bob's request comes after the 410 disabled the webhook: it is held, not sent, not failed.
    server.signs_up("bob", json!({})).await;
    let held = deliveries_when(
        &server,
        &format!("/api/v1/deliveries?journey={journey}&status=held"),
        1,
    )
    .await;
    assert_eq!(held.len(), 1, "{held:?}");
    let bob = held[0].clone();
    assert_eq!((bob.contact.as_str(), bob.attempts), ("bob", 0));
    let failed: Vec<DeliveryOut> = server
        .get(&format!(
            "/api/v1/deliveries?journey={journey}&status=failed"
        ))
        .await
        .json()
        .await
        .expect("deliveries");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(hook_counts(&server, journey).await, (0, 0, 1));
    let ana = &failed[0];
    assert_eq!(ana.contact, "ana");
    let by_contact: Vec<DeliveryOut> = server
        .get(&format!(
            "/api/v1/deliveries?webhook={}&contact=bob",
            webhook.id
        ))
        .await
        .json()
        .await
        .expect("deliveries");
    assert_eq!(
        by_contact.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![bob.id]
    );

    let detail: DeliveryDetailOut = server
        .get(&format!("/api/v1/deliveries/{}", ana.id))
        .await
        .json()
        .await
        .expect("a delivery");
    assert_eq!(detail.attempts_log.len(), 1);
    assert_eq!(detail.attempts_log[0].status_code, Some(410));
    assert_eq!(detail.attempts_log[0].outcome, AttemptOutcome::Failed);

    server
        .patch_json(
            &format!("/api/v1/webhooks/{}", webhook.id),
            &json!({"enabled": true}),
        )
        .await;
    let resent: ResentOut = server
        .post(&format!(
            "/api/v1/journeys/{journey}/nodes/hook/resend-failed"
        ))
        .await
        .json()
        .await
        .expect("a count");
    assert_eq!(
        resent.resent, 1,
        "bob's held request is released by the enabling"
    );
    for _ in 0..500 {
        if hook_counts(&server, journey).await == (2, 0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        hook_counts(&server, journey).await,
        (2, 0, 0),
        "counts follow the resend"
    );

    let again = server
        .post(&format!("/api/v1/deliveries/{}/resend", ana.id))
        .await;
    assert_eq!(again.status(), 200);
    let mut detail = detail;
    for _ in 0..500 {
        detail = server
            .get(&format!("/api/v1/deliveries/{}", ana.id))
            .await
            .json()
            .await
            .expect("a delivery");
        if detail.attempts_log.len() == 3 && detail.delivery.status == DeliveryStatus::Accepted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(detail.attempts_log.len(), 3, "{detail:?}");
    assert!(
        detail
            .attempts_log
            .iter()
            .all(|a| a.missing_placeholders.is_empty()),
        "ana has a plan"
    );
    let bob_detail: DeliveryDetailOut = server
        .get(&format!("/api/v1/deliveries/{}", bob.id))
        .await
        .json()
        .await
        .expect("a delivery");
    let sent = bob_detail
        .attempts_log
        .last()
        .expect("bob's resent attempt");
    assert_eq!(
        sent.missing_placeholders,
        vec!["contact.plan"],
        "{bob_detail:?}"
    );
    let ana_ids: Vec<String> = receiver
        .received()
        .iter()
        .filter(|request| String::from_utf8_lossy(&request.body).contains("\"ana\""))
        .map(|request| request.header("webhook-id").to_owned())
        .collect();
    assert_eq!(ana_ids.len(), 3);
    assert!(
        ana_ids.iter().all(|id| id == &ana_ids[0]),
        "one webhook-id per delivery: {ana_ids:?}"
    );

    let pending_again = server
        .post(&format!("/api/v1/deliveries/{}/resend", 999_999))
        .await;
    assert_eq!(pending_again.status(), 404);
    let bad_status = server.get("/api/v1/deliveries?status=lost").await;
    assert_eq!(bad_status.status(), 400);
}

async fn a_slow_receiver_does_not_hold_back_the_others(backend: Backend) {
    let server = TestServer::start(backend).await;
    let slow = Receiver::start().await;
    slow.always(Answer::Hang(Duration::from_secs(3)));
    let fast = Receiver::start().await;
    let mut ids = Vec::new();
    for (name, receiver) in [("slow", &slow), ("fast", &fast)] {
        let webhook = server
            .create_webhook(&json!({"name": name, "url": receiver.url("/hook")}))
            .await;
        ids.push(webhook.id);
    }
    let draft = chain(
        "signup",
        vec![
            ("slow", webhook_with(ids[0], &[])),
            ("fast", webhook_with(ids[1], &[])),
        ],
    );
    let journey: JourneyOut = server
        .post_json("/api/v1/journeys", &json!({"name": "both", "draft": draft}))
        .await
        .json()
        .await
        .expect("a journey");
    server
        .post(&format!("/api/v1/journeys/{}/publish", journey.id))
        .await;
    server
        .put_json("/api/v1/contacts/ana", &json!({"attributes": {}}))
        .await;
    server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "ana", "event": "signup"}),
        )
        .await;

    // Both requests leave in one batch; the fast one is recorded while the slow one hangs.
    let mut statuses = Vec::new();
    for _ in 0..200 {
        let deliveries: Vec<DeliveryOut> = server
            .get(&format!("/api/v1/deliveries?journey={}", journey.id))
            .await
            .json()
            .await
            .expect("deliveries");
        statuses = deliveries
            .iter()
            .map(|d| (d.node_id.to_string(), d.status.as_str()))
            .collect();
        statuses.sort();
        if statuses
            .iter()
            .any(|(node, status)| node == "fast" && *status == "accepted")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        statuses,
        vec![
            ("fast".to_owned(), "accepted"),
            ("slow".to_owned(), "pending")
        ]
    );
    assert_eq!(slow.received().len(), 1, "the slow request is under way");
}

/// The store writes a batch's states grouped: deliveries that end alike share one statement,
/// the others get a row each. Both kinds in one batch must each land on their own delivery.
async fn each_attempt_of_a_batch_is_recorded_with_its_own_outcome(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (store, mut connection) = database.migrated().await;
    let contact = insert_contact(&mut connection).await;
    let mut ids = Vec::new();
    for enrollment in 1..=5_i64 {
        let id: DeliveryId = sqlx::query_scalar(
            "INSERT INTO deliveries (enrollment_id, journey_id, version, node_id, contact_id,
                                     webhook_id, custom_data, created_at, next_attempt_at)
             VALUES ($1, 1, 1, 'hook', $2, 1, '[]', 0, 0) RETURNING id",
        )
        .bind(enrollment)
        .bind(contact)
        .fetch_one(&mut connection)
        .await
        .expect("a delivery");
        ids.push(id);
    }
    let claimant = Claimant::random();
    let claimed = store
        .claim_due_deliveries(claimant, 10, 1_000_000, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 5);

    let record = |n: usize, status: DeliveryStatus, code: i64, next: Option<i64>| AttemptRecord {
        delivery_id: ids[n],
        webhook_id: WebhookId(1),
        attempted_at: 20,
        latency_ms: ids[n].get(),
        status_code: Some(code),
        error: (code != 200).then(|| format!("answered {code}")),
        response_body: Some(format!("body {}", ids[n])),
        missing_placeholders: None,
        outcome: if status == DeliveryStatus::Accepted {
            AttemptOutcome::Accepted
        } else {
            AttemptOutcome::Retry
        },
        status,
        next_attempt_at: next,
        window_started_at: 10,
    };
    let records = [
        record(0, DeliveryStatus::Accepted, 200, None),
        record(1, DeliveryStatus::Pending, 500, Some(5_000)),
        record(2, DeliveryStatus::Accepted, 200, None),
        record(3, DeliveryStatus::Pending, 503, Some(6_000)),
        record(4, DeliveryStatus::Accepted, 200, None),
    ];
    store
        .record_attempts(claimant, &records, 30)
        .await
        .expect("record");

    type Row = (
        DeliveryId,
        String,
        i64,
        Option<i64>,
        Option<i64>,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, status, attempts, next_attempt_at, last_status_code, last_error, updated_at
         FROM deliveries ORDER BY id",
    )
    .fetch_all(&mut connection)
    .await
    .expect("deliveries");
    let accepted = |n: usize| (ids[n], "accepted".to_owned(), 1, None, Some(200), None, 30);
    let retried = |n: usize, code: i64, next| {
        let error = Some(format!("answered {code}"));
        (
            ids[n],
            "pending".to_owned(),
            1,
            Some(next),
            Some(code),
            error,
            30,
        )
    };
    assert_eq!(
        rows,
        vec![
            accepted(0),
            retried(1, 500, 5_000),
            accepted(2),
            retried(3, 503, 6_000),
            accepted(4)
        ]
    );
    let attempts: Vec<(DeliveryId, i64, String)> = sqlx::query_as(
        "SELECT delivery_id, latency_ms, response_body FROM delivery_attempts ORDER BY delivery_id",
    )
    .fetch_all(&mut connection)
    .await
    .expect("attempts");
    let expected: Vec<(DeliveryId, i64, String)> = ids
        .iter()
        .map(|&id| (id, id.get(), format!("body {id}")))
        .collect();
    assert_eq!(attempts, expected);

    // The webhook's hour counts them, and a later batch in the same hour adds to it.
    let hour = || async {
        store
            .webhook_health(0)
            .await
            .expect("health")
            .hours
            .into_iter()
            .map(|hour| (hour.webhook_id, hour.hour, hour.accepted, hour.failed))
            .collect::<Vec<_>>()
    };
    assert_eq!(hour().await, vec![(WebhookId(1), 0, 3, 2)]);
    let again = store
        .claim_due_deliveries(claimant, 10_000, 1_000_000, 10)
        .await
        .expect("claim the retries");
    assert_eq!(again.len(), 2);
    store
        .record_attempts(
            claimant,
            &[
                record(1, DeliveryStatus::Accepted, 200, None),
                record(3, DeliveryStatus::Accepted, 200, None),
            ],
            40,
        )
        .await
        .expect("record the retries");
    assert_eq!(hour().await, vec![(WebhookId(1), 0, 5, 2)]);
    connection.close().await.ok();
    store.close().await;
}

/// The SMTP server cannot take the alert at first (451): it stays queued in the database, also
/// across a restart, and goes out once it is due again, once.
async fn an_alert_the_smtp_server_cannot_take_now_is_sent_later_once(backend: Backend) {
    let smtp = SmtpReceiver::start().await;
    smtp.reply_next(&["451 4.3.0 try later"]);
    let database = TestDatabase::create(backend).await;
    let url = smtp.url();
    let server = TestServer::start_configured(database.alias(), |config| {
        config.smtp_url = Some(url);
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Status(410));
    deliver_once_to(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook"),
               "alert_emails": ["ops@example.com"]}),
    )
    .await;
    let mut queued: Option<(i64, Option<String>)> = None;
    for _ in 0..500 {
        queued = sqlx::query_as("SELECT attempts, last_error FROM alert_emails")
            .fetch_optional(&mut server.database_connection().await)
            .await
            .expect("the queue");
        if queued.as_ref().is_some_and(|(attempts, _)| *attempts == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (attempts, error) = queued.expect("the alert is queued");
    assert_eq!(attempts, 1, "tried once");
    assert!(
        error.as_deref().is_some_and(|error| error.contains("451")),
        "{error:?}"
    );
    assert!(smtp.messages().is_empty());
    // The webhooks page says so.
    let health: WebhooksHealthOut = server
        .expect(server.get("/api/v1/webhooks/health").await, StatusCode::OK)
        .await;
    let line = &health.webhooks[0];
    assert_eq!(
        (line.alert_emails_waiting, line.alert_emails_failed),
        (1, 0)
    );
    assert!(
        line.alert_email_error
            .as_deref()
            .is_some_and(|error| error.contains("451")),
        "{line:?}"
    );
    server.stop().await.expect("stopped");

    let url = smtp.url();
    let restarted = TestServer::start_configured(database, |config| {
        config.smtp_url = Some(url);
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(smtp.messages().is_empty(), "not before it is due again");
    restarted.clock().advance(2 * 60 * SECOND);
    let messages = smtp.messages_when(1).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("Subject: Webhook \"CRM\" was disabled"),
        "{}",
        messages[0]
    );
    restarted.clock().advance(2 * HOUR);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "sent once");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alert_emails")
        .fetch_one(&mut restarted.database_connection().await)
        .await
        .expect("the queue");
    assert_eq!(left, 0, "a sent email leaves the queue");
    let health: WebhooksHealthOut = restarted
        .expect(
            restarted.get("/api/v1/webhooks/health").await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(health.webhooks[0].alert_emails_waiting, 0);
}

/// An email as a reader sees it: quoted-printable's soft line breaks joined, `=3D` read `=`.
fn readable(email: &str) -> String {
    email
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// Disables the webhook as the delivery worker does on a 410, without queuing the alert: as a
/// process that stopped right after.
async fn disabled_by_a_gone(server: &TestServer, webhook: WebhookId) {
    let disabled = server
        .store()
        .await
        .disable_webhook(
            webhook,
            "the receiver answered 410 Gone",
            server.clock().now_millis(),
        )
        .await
        .expect("disabled");
    assert!(disabled);
}

/// A process disabled the webhook (its receiver answered 410) and stopped before it queued the
/// email: the disabling is in the database, so the sweep of any process tells it, once.
async fn a_disabling_left_untold_is_told_by_the_sweep(backend: Backend) {
    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let server = TestServer::start_with(backend, |config| config.smtp_url = Some(url)).await;
    let webhook = server
        .create_webhook(&json!({"name": "CRM", "url": "https://crm.example/hook",
                               "alert_emails": ["ops@example.com"]}))
        .await;
    disabled_by_a_gone(&server, webhook.id).await;
    server.clock().advance(2 * 60 * SECOND);
    let messages = smtp.messages_when(1).await;
    let read = readable(&messages[0]);
    for said in [
        "Subject: Webhook \"CRM\" was disabled",
        "was disabled: the receiver answered 410 Gone.",
    ] {
        assert!(read.contains(said), "{said} in {read}");
    }
    server.clock().advance(5 * 60 * SECOND);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "told once");
}

/// Alerts off: a disabling is not emailed (another webhook's, alerts on, is, so the sweep
/// did run), the addresses stay, and an email queued before turning them off is dropped;
/// turned on again, the sweep tells the disabling that is still in force.
async fn alerts_turned_off_send_nothing_and_keep_their_addresses(backend: Backend) {
    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let server = TestServer::start_with(backend, |config| config.smtp_url = Some(url)).await;
    let quiet = server
        .create_webhook(&json!({"name": "CRM", "url": "https://crm.example/hook",
                               "alert_emails": ["ops@example.com"], "alerts_enabled": false}))
        .await;
    assert!(!quiet.alerts_enabled);
    let told = server
        .create_webhook(&json!({"name": "ERP", "url": "https://erp.example/hook",
                               "alert_emails": ["ops@example.com"]}))
        .await;
    disabled_by_a_gone(&server, quiet.id).await;
    disabled_by_a_gone(&server, told.id).await;
    server.clock().advance(2 * 60 * SECOND);
    let messages = smtp.messages_when(1).await;
    assert!(messages[0].contains("Subject: Webhook \"ERP\" was disabled"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        smtp.messages().len(),
        1,
        "nothing about CRM: its alerts are off"
    );
    let kept = server.webhook(quiet.id).await;
    assert_eq!(
        (kept.alerts_enabled, kept.alert_emails),
        (false, vec!["ops@example.com".to_owned()])
    );

    // ERP's next email is queued, the SMTP server puts it off; then ERP's alerts go off.
    smtp.reply_next(&["451 4.3.0 try later"]);
    let switch = |id: app::ids::WebhookId, on: bool| {
        let server = &server;
        async move {
            let answer = server
                .patch_json(
                    &format!("/api/v1/webhooks/{id}"),
                    &json!({ "alerts_enabled": on }),
                )
                .await;
            assert_eq!(answer.status(), StatusCode::OK);
        }
    };
    switch(told.id, true).await;
    let enabled = server
        .patch_json(
            &format!("/api/v1/webhooks/{}", told.id),
            &json!({"enabled": true}),
        )
        .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    disabled_by_a_gone(&server, told.id).await;
    server.clock().advance(2 * 60 * SECOND);
    let queued = || async {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM alert_emails WHERE status = 'queued'")
                .fetch_one(&mut server.database_connection().await)
                .await
                .expect("the queue");
        count
    };
    for _ in 0..500 {
        if queued().await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(queued().await, 1, "put off by the SMTP server");
    switch(told.id, false).await;
    assert_eq!(queued().await, 0, "dropped with the alerts");
    server.clock().advance(10 * 60 * SECOND);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "nothing more about ERP");

    switch(quiet.id, true).await;
    server.clock().advance(2 * 60 * SECOND);
    let messages = smtp.messages_when(2).await;
    assert!(
        messages[1].contains("Subject: Webhook \"CRM\" was disabled"),
        "the disabling in force is told: {}",
        messages[1]
    );
}

/// An hourly digest: failures for good are not emailed as they come; once the hour they came
/// in is over, one email counts them all.
async fn an_hourly_digest_gathers_the_failures_of_its_hour(backend: Backend) {
    digest_gathers_the_failures_of_its_period(backend, app::api::AlertDigest::Hourly).await;
}

/// A daily digest: the hour's end sends nothing; the day's (UTC) sends one email.
async fn a_daily_digest_gathers_the_failures_of_its_day(backend: Backend) {
    digest_gathers_the_failures_of_its_period(backend, app::api::AlertDigest::Daily).await;
}

async fn digest_gathers_the_failures_of_its_period(
    backend: Backend,
    digest: app::api::AlertDigest,
) {
    const DAY: i64 = 24 * HOUR;
    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let server = TestServer::start_with(backend, |config| config.smtp_url = Some(url)).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Status(503));
    let (webhook, _) = deliver_once_to(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook"), "retry_window_hours": 1,
               "alert_emails": ["ops@example.com"], "alert_digest": digest}),
    )
    .await;
    assert_eq!(webhook.alert_digest, digest);
    server.signs_up("bob", json!({})).await;
    // Both fail for good within the first hour of the test's clock (about 40 minutes in).
    let started = server.clock().now_millis();
    assert_eq!(started % HOUR, 0, "the tests start on the hour");
    retry_the_pending_until_it_fails(&server).await;
    assert!(server.clock().now_millis() < started + HOUR);
    let failed = deliveries_when(&server, "/api/v1/deliveries?status=failed", 2).await;
    assert_eq!(failed.len(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        smtp.messages().is_empty(),
        "nothing before the hour is over"
    );

    let (period_over, phrase) = match digest {
        app::api::AlertDigest::Daily => {
            // The hour's end is not the day's.
            server.clock().set(started + HOUR + 60 * SECOND);
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(smtp.messages().is_empty(), "nothing before the day is over");
            ((started / DAY + 1) * DAY, "gathered in a daily digest")
        }
        _ => (started + HOUR, "gathered in an hourly digest"),
    };
    server.clock().set(period_over + 60 * SECOND);
    let messages = smtp.messages_when(1).await;
    let read = readable(&messages[0]);
    for said in [
        "Subject: Webhook \"CRM\": 2 request(s) failed for good",
        phrase,
    ] {
        assert!(read.contains(said), "{said} in {read}");
    }
    server.clock().advance(2 * HOUR);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "one digest");
}

/// A request that cannot be made (a placeholder turned a path segment into "..") is not sent,
/// not retried: it fails for good at once, and the alert says why.
async fn a_request_that_cannot_be_made_fails_at_once_and_is_alerted(backend: Backend) {
    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let server = TestServer::start_with(backend, |config| config.smtp_url = Some(url)).await;
    let receiver = Receiver::start().await;
    deliver_once_to(
        &server,
        json!({"name": "CRM", "url": receiver.url("/c/{{contact.plan}}/hook"),
               "alert_emails": ["ops@example.com"]}),
    )
    .await;
    // Ana's plan is "pro": sent. Bob's is "..": the request would go to another path.
    server.signs_up("bob", json!({"plan": ".."})).await;
    let failed = deliveries_when(&server, "/api/v1/deliveries?status=failed", 1).await;
    assert_eq!(failed[0].attempts, 1);
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains("\"..\"")),
        "{failed:?}"
    );
    let messages = smtp.messages_when(1).await;
    let read = readable(&messages[0]);
    for said in [
        "Subject: Webhook \"CRM\": 1 request(s) failed for good",
        "would send the request to another path",
    ] {
        assert!(read.contains(said), "{said} in {read}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let paths: Vec<String> = receiver
        .received()
        .iter()
        .map(|request| request.uri.path().to_owned())
        .collect();
    assert_eq!(paths, ["/c/pro/hook"], "only Ana's request went out");
}

/// Two processes on one PostgreSQL database, both with an SMTP server, both sweeping: a
/// disabling left untold is emailed once, by whichever takes the alert's turn.
#[tokio::test]
async fn two_processes_send_an_alert_once() {
    let smtp = SmtpReceiver::start().await;
    let database = crate::support::TestDatabase::create(Backend::Postgres).await;
    let mut processes = Vec::new();
    for _ in 0..2 {
        let url = smtp.url();
        processes.push(
            TestServer::start_configured(database.alias(), |config| {
                config.smtp_url = Some(url);
            })
            .await,
        );
    }
    let webhook = processes[0]
        .create_webhook(&json!({"name": "CRM", "url": "https://crm.example/hook",
                               "alert_emails": ["ops@example.com"]}))
        .await;
    disabled_by_a_gone(&processes[0], webhook.id).await;
    for process in &processes {
        process.clock().advance(2 * 60 * SECOND);
    }
    smtp.messages_when(1).await;
    for process in &processes {
        process.clock().advance(2 * 60 * SECOND);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 1, "told once by the two processes");
}

/// Moves the clock to each retry of the one pending delivery until it fails for good.
async fn retry_the_pending_until_it_fails(server: &TestServer) {
    let pending = || async {
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT id, attempts, next_attempt_at FROM deliveries WHERE status = 'pending'",
        )
        .fetch_optional(&mut server.database_connection().await)
        .await
        .expect("the deliveries");
        row
    };
    for _ in 0..1_000 {
        let Some(row) = pending().await else {
            return;
        };
        // Due then: its next attempt, or the end of the pause a receiver's 503 asked for.
        let (_, _, next_attempt_at) = row;
        server
            .clock()
            .set(next_attempt_at.max(server.clock().now_millis()));
        // Until that attempt (or deferral) is recorded.
        for _ in 0..500 {
            if pending().await != Some(row) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    panic!("the pending delivery never failed: {:?}", pending().await);
}

async fn persistent_failure_emails_the_stakeholders_once_an_hour(backend: Backend) {
    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let server = TestServer::start_with(backend, |config| config.smtp_url = Some(url)).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Status(503));
    // Retried for an hour, so that a second contact's request fails within the next hour.
    let (webhook, journey) = deliver_once_to(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook"), "retry_window_hours": 1,
               "alert_emails": ["ops@example.com", " crm-owner@example.com "]}),
    )
    .await;
    assert_eq!(
        webhook.alert_emails,
        vec!["ops@example.com", "crm-owner@example.com"]
    );

    // Retried for an hour on the test's clock, then failed for good: one email.
    let mut state = after_attempts(&server, 1).await;
    while state.status == "pending" {
        server.clock().set(
            state
                .next_attempt_at
                .expect("a pending delivery is due again"),
        );
        let attempts = state.attempts;
        state = after_attempts(&server, attempts + 1).await;
    }
    assert_eq!(state.status, "failed");
    let messages = smtp.messages_when(1).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let email = &messages[0];
    assert!(
        email.contains("Subject: Webhook \"CRM\": 1 request(s) failed for good"),
        "{email}"
    );
    assert!(email.contains("ops@example.com") && email.contains("crm-owner@example.com"));
    // It names the journey and node sending there, with a link to open them.
    let read = readable(email);
    let link = format!(
        "\"Welcome\" ({journey}), node hook: {}/journeys/{journey}?log=hook",
        server.url("")
    );
    assert!(read.contains(&link), "{link} in {read}");
    assert!(
        email.contains("answered 503") || email.contains("503"),
        "{email}"
    );

    // Bob's request fails for good within the hour (about 40 minutes later): held back, not
    // emailed; the sweep sends it once the hour is over.
    let first_alert_at = server.clock().now_millis();
    server.signs_up("bob", json!({})).await;
    retry_the_pending_until_it_fails(&server).await;
    assert!(
        server.clock().now_millis() < first_alert_at + HOUR,
        "bob's request failed within the hour"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(smtp.messages().len(), 1, "at most one email an hour");
    server.clock().set(first_alert_at + HOUR + 60 * SECOND);
    let messages = smtp.messages_when(2).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    let read = readable(&messages[1]);
    for said in [
        "Subject: Webhook \"CRM\": 1 request(s) failed for good",
        "Last error: answered 503",
    ] {
        assert!(read.contains(said), "{said} in {read}");
    }
    // Nothing is owed any more: hours later, no third email.
    server.clock().advance(3 * 60 * 60 * 1_000);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 2);

    // A third contact's request is answered 410 Gone: failed at once, and the webhook
    // disabled. That is told at once, whatever the pause, with the failure and the causes of
    // the webhook's latest failures, counted.
    receiver.always(Answer::Status(410));
    server.signs_up("carol", json!({})).await;
    let failed = deliveries_when(&server, "/api/v1/deliveries?status=failed", 3).await;
    assert_eq!(failed.len(), 3, "carol's request failed too");
    let messages = smtp.messages_when(3).await;
    let read = readable(&messages[2]);
    for said in [
        "Subject: Webhook \"CRM\" was disabled",
        "Before that, 1 request(s) failed for good since the last alert",
        "Why its latest 3 failed request(s) failed:",
        "- 2: HTTP 503, from ",
        "- 1: HTTP 410, from ",
    ] {
        assert!(read.contains(said), "{said} in {read}");
    }

    // The pause is the webhook's own, from a minute to a week.
    let refused = server
        .patch_json(
            &format!("/api/v1/webhooks/{}", webhook.id),
            &json!({"alert_every_minutes": 0}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = refused.text().await.expect("an error");
    assert!(error.contains("alert_every_minutes"), "{error}");
    let daily: WebhookOut = server
        .expect(
            server
                .patch_json(
                    &format!("/api/v1/webhooks/{}", webhook.id),
                    &json!({"alert_every_minutes": 1440}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(daily.alert_every_minutes, 1440);
}

/// Each stage wakes the next when it commits (intake → engine → delivery): with a poll
/// interval of a minute, a webhook still arrives within moments of its event.
async fn a_delivery_goes_out_as_soon_as_it_is_queued(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.engine_poll_ms = 60_000).await;
    let receiver = Receiver::start().await;
    // Both loops have had their first look at the (empty) queue and wait for the next poll.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    deliver_once(&server, &receiver.url("/hook")).await;
    while receiver.received().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the webhook waited for a poll"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
