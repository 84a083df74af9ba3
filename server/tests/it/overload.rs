//! A receiver that says it is overloaded (429, 503, no answer in time) gets nothing more from
//! any process until the pause it asked for is over (at most until the refused request's own
//! retry), while the other webhooks keep their pace.

use std::time::Duration;

use serde_json::json;

use crate::{
    deliveries::deliver_once_to,
    support::{Answer, Backend, Receiver, TestServer},
};

backend_tests!(an_overloaded_receiver_pauses_its_webhook_and_no_other,);

const SECOND: i64 = 1_000;

/// One delivery as the table holds it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct Row {
    webhook_id: i64,
    status: String,
    attempts: i64,
    next_attempt_at: Option<i64>,
}

async fn deliveries(server: &TestServer) -> Vec<Row> {
    sqlx::query_as(
        "SELECT webhook_id, status, attempts, next_attempt_at FROM deliveries ORDER BY id",
    )
    .fetch_all(&mut server.database_connection().await)
    .await
    .expect("the deliveries")
}

/// The deliveries once `done` holds for them (or the last ones read, after five seconds).
async fn deliveries_when(server: &TestServer, done: impl Fn(&[Row]) -> bool) -> Vec<Row> {
    let mut rows = Vec::new();
    for _ in 0..500 {
        rows = deliveries(server).await;
        if done(&rows) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the deliveries never got there: {rows:?}");
}

async fn an_overloaded_receiver_pauses_its_webhook_and_no_other(backend: Backend) {
    let server = TestServer::start(backend).await;
    let busy = Receiver::start().await;
    busy.queue([Answer::WithHeaders(
        429,
        vec![("retry-after", "8".to_owned())],
    )]);
    let calm = Receiver::start().await;
    // Ana reaches the busy receiver first: it asks for 8 s.
    let (busy_hook, _) =
        deliver_once_to(&server, json!({"name": "Busy", "url": busy.url("/hook")})).await;
    let refused = deliveries_when(&server, |rows| {
        rows.first().is_some_and(|row| row.attempts == 1)
    })
    .await;
    let asked_until = server.clock().now_millis() + 8 * SECOND;
    assert_eq!(refused[0].next_attempt_at, Some(asked_until));
    let paused: Option<i64> = sqlx::query_scalar("SELECT paused_until FROM webhooks WHERE id = $1")
        .bind(busy_hook.id.0)
        .fetch_one(&mut server.database_connection().await)
        .await
        .expect("the webhook");
    assert_eq!(paused, Some(asked_until), "every process reads the pause");
    let shown = server.webhook(busy_hook.id).await;
    assert_eq!(
        shown.paused_until,
        Some(asked_until),
        "the API shows the pause"
    );

    // A second journey on the same event sends to the calm receiver.
    let (calm_hook, _) =
        deliver_once_to(&server, json!({"name": "Calm", "url": calm.url("/hook")})).await;
    // Bob enters both: the calm receiver gets his request at once, the busy one does not.
    server.signs_up("bob", json!({})).await;
    let rows = deliveries_when(&server, |rows| {
        rows.iter()
            .filter(|row| row.webhook_id == calm_hook.id.0 && row.status == "accepted")
            .count()
            == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(busy.received().len(), 1, "nothing more during the pause");
    let bobs_busy = rows
        .iter()
        .filter(|row| row.webhook_id == busy_hook.id.0)
        .nth(1)
        .expect("bob's request to the busy receiver");
    assert_eq!(
        (
            bobs_busy.status.as_str(),
            bobs_busy.attempts,
            bobs_busy.next_attempt_at
        ),
        ("pending", 0, Some(asked_until)),
        "deferred to the end of the pause, not attempted"
    );
    assert_eq!(calm.received().len(), 2);

    // Once the pause is over, both go, and are accepted.
    server.clock().set(asked_until);
    let shown = server.webhook(busy_hook.id).await;
    assert_eq!(
        shown.paused_until, None,
        "a pause that is over is not shown"
    );
    deliveries_when(&server, |rows| {
        rows.iter()
            .filter(|row| row.webhook_id == busy_hook.id.0 && row.status == "accepted")
            .count()
            == 2
    })
    .await;
    assert_eq!(busy.received().len(), 3);
}
