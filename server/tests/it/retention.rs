//! The attempt log keeps its retention period: older attempts (and the receivers' answers in
//! them) are deleted by the server on its own, the deliveries and their counts stay.

use std::time::Duration;

use serde_json::json;

use crate::{
    deliveries::deliver_once_to,
    held::hook_counts,
    support::{Backend, Receiver, TestServer},
};

backend_tests!(attempts_older_than_the_retention_period_are_pruned,);

const HOUR: i64 = 3_600_000;

async fn attempts(server: &TestServer) -> Vec<(i64, String)> {
    sqlx::query_as(
        "SELECT d.contact_id, d.status FROM delivery_attempts a
         JOIN deliveries d ON d.id = a.delivery_id ORDER BY a.id",
    )
    .fetch_all(&mut server.database_connection().await)
    .await
    .expect("the attempt log")
}

async fn attempts_when(server: &TestServer, count: usize) -> Vec<(i64, String)> {
    let mut last = Vec::new();
    for _ in 0..500 {
        last = attempts(server).await;
        if last.len() == count {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the log never held {count} attempts: {last:?}");
}

async fn attempts_older_than_the_retention_period_are_pruned(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.attempt_retention_days = 1).await;
    let receiver = Receiver::start().await;
    let (_, journey) = deliver_once_to(
        &server,
        json!({"name": "CRM", "url": receiver.url("/hook")}),
    )
    .await;
    let first = attempts_when(&server, 1).await;
    // Two alert emails the SMTP server refused for good: one now, one a day later.
    let started = server.clock().now_millis();
    for queued_at in [started, started + 24 * HOUR] {
        sqlx::query(
            "INSERT INTO alert_emails (recipients, subject, body, status, next_attempt_at,
                                       queued_at)
             VALUES ('[\"ops@example.com\"]', 'CRM failing', '…', 'failed', $1, $1)",
        )
        .bind(queued_at)
        .execute(&mut server.database_connection().await)
        .await
        .expect("a failed alert email");
    }

    // A day less an hour later, another contact's request; then two hours pass.
    server.clock().advance(23 * HOUR);
    server.signs_up("bob", json!({})).await;
    let both = attempts_when(&server, 2).await;
    server.clock().advance(2 * HOUR);

    // The first attempt is now older than a day: it goes, the second stays.
    let left = attempts_when(&server, 1).await;
    assert_eq!(left, both[1..].to_vec());
    assert_ne!(left, first);
    // The deliveries and the canvas counts are untouched.
    let hook = hook_counts(&server, journey).await;
    assert_eq!((hook.accepted, hook.failed), (2, 0));
    // The first request's hour went from the health counts; the second's stays.
    let hours: Vec<(i64, i64)> = sqlx::query_as("SELECT hour, accepted FROM webhook_hours")
        .fetch_all(&mut server.database_connection().await)
        .await
        .expect("the hourly counts");
    assert_eq!(hours.len(), 1, "{hours:?}");
    assert_eq!(hours[0].1, 1);
    // The refused alert email older than a day went too.
    let kept: Vec<(i64,)> = sqlx::query_as("SELECT queued_at FROM alert_emails")
        .fetch_all(&mut server.database_connection().await)
        .await
        .expect("the alert emails");
    assert_eq!(kept, vec![(started + 24 * HOUR,)]);
    assert_eq!(receiver.received().len(), 2);
}
