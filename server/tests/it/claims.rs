//! Who holds a delivery while it is sent: claims are short leases renewed by their holder, a
//! lapsed holder cannot overwrite its successor's result, and a server that stops gives its
//! unfinished claims back.

use std::time::Duration;

use app::{
    api::{AttemptOutcome, DeliveryStatus, Reentry},
    ids::{DeliveryId, WebhookId},
    journey::fixtures::{chain, webhook_with},
};
use serde_json::json;
use server::store::{AttemptRecord, Claimant};
use sqlx::{AnyConnection, Connection};

use crate::support::{Answer, Backend, Receiver, TestDatabase, TestServer, insert_contact};

backend_tests!(
    a_lapsed_claim_cannot_overwrite_the_new_holders_result,
    a_stopping_server_gives_back_what_it_was_sending,
    an_answer_within_the_shutdown_grace_is_recorded,
    a_renewed_message_claim_is_not_taken_over,
    renewing_leases_never_waits_for_a_delivery_being_settled,
);

/// Two deliveries due at 0, for one contact.
async fn two_due_deliveries(connection: &mut AnyConnection) -> [DeliveryId; 2] {
    let contact = insert_contact(&mut *connection).await;
    let mut ids = [DeliveryId(0); 2];
    for (enrollment, id) in ids.iter_mut().enumerate() {
        *id = sqlx::query_scalar(
            "INSERT INTO deliveries (enrollment_id, journey_id, version, node_id, contact_id,
                                     webhook_id, custom_data, created_at, next_attempt_at)
             VALUES ($1, 1, 1, 'hook', $2, 1, '[]', 0, 0) RETURNING id",
        )
        .bind(enrollment as i64 + 1)
        .bind(contact)
        .fetch_one(&mut *connection)
        .await
        .expect("a delivery");
    }
    ids
}

/// A long round of messages (500 emails to an SMTP server that times out) outlasts a lease:
/// the worker's heartbeat renews it, so another process does not send them too.
async fn a_renewed_message_claim_is_not_taken_over(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (store, mut connection) = database.migrated().await;
    let contact = insert_contact(&mut connection).await;
    for enrollment in 1..=2_i64 {
        sqlx::query(
            "INSERT INTO messages (enrollment_id, journey_id, version, node_id, contact_id,
                                   channel, template, created_at, next_attempt_at)
             VALUES ($1, 1, 1, 'mail', $2, 'email', 'welcome', 0, 0)",
        )
        .bind(enrollment)
        .bind(contact)
        .execute(&mut connection)
        .await
        .expect("a queued message");
    }
    let (sending, other) = (Claimant::random(), Claimant::random());
    let claim = |claimant, now| {
        let store = store.clone();
        async move {
            store
                .claim_due_messages(claimant, now, now + 100, 10)
                .await
                .expect("claim")
                .len()
        }
    };

    assert_eq!(claim(sending, 10).await, 2);
    assert_eq!(
        store
            .renew_message_claims(sending, 300)
            .await
            .expect("renew"),
        2
    );
    assert_eq!(claim(other, 200).await, 0, "renewed until 300");
    assert_eq!(claim(other, 350).await, 2, "lapsed: taken over");
    assert_eq!(
        store
            .renew_message_claims(sending, 600)
            .await
            .expect("renew"),
        0,
        "a lapsed holder renews nothing it lost"
    );
}

fn record(delivery_id: DeliveryId, status: DeliveryStatus, at: i64) -> AttemptRecord {
    let accepted = status == DeliveryStatus::Accepted;
    AttemptRecord {
        delivery_id,
        webhook_id: WebhookId(1),
        attempted_at: at,
        latency_ms: 1,
        status_code: Some(if accepted { 200 } else { 503 }),
        error: None,
        response_body: None,
        missing_placeholders: None,
        outcome: if accepted {
            AttemptOutcome::Accepted
        } else {
            AttemptOutcome::Retry
        },
        status,
        next_attempt_at: (!accepted).then_some(at + 5_000),
        window_started_at: at,
    }
}

/// The heartbeat renews what it can at once: a delivery another transaction is settling (the
/// engine's round recording its attempt) is left to the next beat. Waiting for it deadlocked
/// with that round on PostgreSQL. SQLite has one writer at a time: there, nothing else holds
/// a row while the heartbeat writes.
async fn renewing_leases_never_waits_for_a_delivery_being_settled(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (store, mut connection) = database.migrated().await;
    let [first, _] = two_due_deliveries(&mut connection).await;
    let worker = Claimant::random();
    let claimed = store
        .claim_due_deliveries(worker, 10, 110, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);

    let mut settling = None;
    if backend == Backend::Postgres {
        let mut transaction = connection.begin().await.expect("begin");
        sqlx::query("UPDATE deliveries SET attempts = 1 WHERE id = $1")
            .bind(first)
            .execute(&mut *transaction)
            .await
            .expect("the first delivery locked");
        settling = Some(transaction);
    }
    let renewed = tokio::time::timeout(Duration::from_secs(5), store.renew_claims(worker, 200))
        .await
        .expect("the renewal waited for a locked delivery")
        .expect("renew");
    assert_eq!(renewed, if settling.is_some() { 1 } else { 2 });
    if let Some(transaction) = settling {
        transaction.rollback().await.expect("rollback");
    }
    assert_eq!(
        store.renew_claims(worker, 300).await.expect("renew"),
        2,
        "the next beat renews both"
    );
}

async fn a_lapsed_claim_cannot_overwrite_the_new_holders_result(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let (store, mut connection) = database.migrated().await;
    let [first, second] = two_due_deliveries(&mut connection).await;
    let (slow, quick) = (Claimant::random(), Claimant::random());
    let claim = |claimant, now| {
        let store = store.clone();
        async move {
            store
                .claim_due_deliveries(claimant, now, now + 100, 10)
                .await
                .expect("claim")
                .len()
        }
    };

    assert_eq!(claim(slow, 10).await, 2);
    assert_eq!(claim(quick, 50).await, 0, "leased until 110");
    assert_eq!(store.renew_claims(slow, 200).await.expect("renew"), 2);
    assert_eq!(claim(quick, 150).await, 0, "renewed until 200");
    assert_eq!(claim(quick, 250).await, 2, "lapsed: taken over");
    assert_eq!(claim(slow, 260).await, 0, "held by the other now");

    store
        .record_attempts(quick, &[record(first, DeliveryStatus::Accepted, 300)], 300)
        .await
        .expect("record");
    // The slow worker's answers come in late: logged, but they change no state.
    store
        .record_attempts(
            slow,
            &[
                record(first, DeliveryStatus::Pending, 310),
                record(second, DeliveryStatus::Pending, 310),
            ],
            310,
        )
        .await
        .expect("record");
    type Row = (String, i64, Option<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT status, attempts, claimed_by FROM deliveries WHERE id IN ($1, $2) ORDER BY id",
    )
    .bind(first)
    .bind(second)
    .fetch_all(&mut connection)
    .await
    .expect("deliveries");
    assert_eq!(rows[0].0, "accepted");
    assert_eq!(rows[0].1, 1);
    assert_eq!(rows[0].2, None);
    assert_eq!(rows[1].0, "pending", "still the other worker's to send");
    assert_eq!(rows[1].1, 0);
    assert!(rows[1].2.is_some());
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_attempts")
        .fetch_one(&mut connection)
        .await
        .expect("attempts");
    assert_eq!(logged, 3, "every request sent is in the log");

    // The holder gives the other back: due at once, for anyone.
    assert_eq!(
        store
            .release_claims(Some(slow), None, 400)
            .await
            .expect("release"),
        0,
        "the slow worker holds nothing"
    );
    assert_eq!(
        store
            .release_claims(Some(quick), None, 400)
            .await
            .expect("release"),
        1
    );
    assert_eq!(claim(slow, 400).await, 1);
    connection.close().await.ok();
}

/// A server with this shutdown grace whose one webhook request (signup → webhook) is in flight
/// to `receiver`.
async fn sending_one_request(
    database: &TestDatabase,
    receiver: &Receiver,
    shutdown_grace_secs: u64,
) -> TestServer {
    let server = TestServer::start_configured(database.alias(), |config| {
        config.shutdown_grace_secs = shutdown_grace_secs;
    })
    .await;
    let webhook = server
        .create_webhook(&json!({"name": "CRM", "url": receiver.url("/hook")}))
        .await;
    let draft = chain("signup", vec![("hook", webhook_with(webhook.id, &[]))]);
    server.publish_journey(Reentry::Once, &draft).await;
    server
        .put_json("/api/v1/contacts/ana", &json!({"attributes": {}}))
        .await;
    let event = server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "ana", "event": "signup"}),
        )
        .await;
    assert_eq!(event.status(), 202);
    for _ in 0..500 {
        if !receiver.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(receiver.received().len(), 1, "the request is in flight");
    server
}

/// The engine, which records the worker's attempts, stops with the HTTP server; an answer
/// that arrives later, within the shutdown grace, is recorded all the same.
async fn an_answer_within_the_shutdown_grace_is_recorded(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Hang(Duration::from_millis(1_500)));
    let server = sending_one_request(&database, &receiver, 10).await;

    server.stop().await.expect("a clean stop");
    sqlx::any::install_default_drivers();
    let mut connection = AnyConnection::connect(database.url())
        .await
        .expect("connect");
    let (status, attempts, claimed_by): (String, i64, Option<i64>) =
        sqlx::query_as("SELECT status, attempts, claimed_by FROM deliveries")
            .fetch_one(&mut connection)
            .await
            .expect("the delivery");
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_attempts")
        .fetch_one(&mut connection)
        .await
        .expect("the attempts");
    connection.close().await.ok();
    assert_eq!(
        (status.as_str(), attempts, claimed_by, logged),
        ("accepted", 1, None, 1)
    );
}

async fn a_stopping_server_gives_back_what_it_was_sending(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Hang(Duration::from_secs(60)));
    let first = sending_one_request(&database, &receiver, 1).await;

    let clock = first.clock().clone();
    let stopping = std::time::Instant::now();
    first.stop().await.expect("a clean stop");
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "the grace bounds the stop: {:?}",
        stopping.elapsed()
    );
    sqlx::any::install_default_drivers();
    let mut connection = AnyConnection::connect(database.url())
        .await
        .expect("connect");
    let (status, claimed_by, next_attempt_at): (String, Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT status, claimed_by, next_attempt_at FROM deliveries")
            .fetch_one(&mut connection)
            .await
            .expect("the delivery");
    connection.close().await.ok();
    assert_eq!(status, "pending");
    assert_eq!(claimed_by, None, "given back");
    assert!(
        next_attempt_at.is_some_and(|at| at <= clock.now_millis()),
        "due at once, not when a lease lapses"
    );

    // The next server sends it without the clock moving past any lease.
    receiver.always(Answer::Status(200));
    let second = TestServer::start_on(database.alias()).await;
    for _ in 0..500 {
        if receiver.received().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id"),
        "the same delivery, sent again"
    );
    second.stop().await.expect("a clean stop");
}
