//! Re-entry rules hold across processes: two servers on one database, each matching its own
//! share of a burst of events per contact, enroll a contact in a `once` journey once.

use app::{
    api::Reentry,
    journey::fixtures::{chain, delay},
};
use serde_json::json;

use crate::support::{Backend, TestServer};

backend_tests!(bursts_of_events_through_two_servers_enroll_once);

const CONTACTS: usize = 40;
const EVENTS_EACH: usize = 8;

async fn bursts_of_events_through_two_servers_enroll_once(backend: Backend) {
    // Small engine batches: many short transactions on each side, so that both servers match
    // events of one contact at the same moment.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_test_writer()
        .try_init();
    let small_batches = |config: &mut server::Config| config.engine_batch = 4;
    let first = TestServer::start_with(backend, small_batches).await;
    let second = TestServer::start_configured(first.database().alias(), small_batches).await;
    // The contact waits an hour after entering, so a second enrollment cannot hide behind a
    // finished first one.
    let journey = first
        .publish_journey(Reentry::Once, chain("signup", vec![("later", delay(60))]))
        .await;
    let contacts: Vec<_> = (0..CONTACTS)
        .map(|n| json!({"external_id": format!("c{n}")}))
        .collect();
    let created = first
        .post_json("/api/v1/contacts/batch", &json!({ "contacts": contacts }))
        .await;
    assert_eq!(created.status(), 200);

    // Every contact's events come through both servers at once, in small batches.
    let mut posts = tokio::task::JoinSet::new();
    for round in 0..EVENTS_EACH {
        let server = if round % 2 == 0 { &first } else { &second };
        for chunk in (0..CONTACTS).collect::<Vec<_>>().chunks(5) {
            let events: Vec<_> = chunk
                .iter()
                .map(|n| json!({"contact": format!("c{n}"), "event": "signup"}))
                .collect();
            let request = server
                .client()
                .post(server.url("/api/v1/events/batch"))
                .json(&json!({ "events": events }));
            posts.spawn(async move {
                let answer = request.send().await.expect("post events");
                (answer.status(), answer.text().await.unwrap_or_default())
            });
        }
    }
    while let Some(answer) = posts.join_next().await {
        let (status, body) = answer.expect("a request task");
        assert_eq!(status, 202, "{body}");
    }

    let mut connection = first.database_connection().await;
    let mut unmatched = i64::MAX;
    for _ in 0..1_000 {
        unmatched = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE processed_at IS NULL")
            .fetch_one(&mut connection)
            .await
            .expect("count");
        if unmatched == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(unmatched, 0, "every event is matched");
    let runs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.external_id, COUNT(*) FROM enrollments n JOIN contacts c ON c.id = n.contact_id
         WHERE n.journey_id = $1 GROUP BY c.external_id HAVING COUNT(*) > 1",
    )
    .bind(journey)
    .fetch_all(&mut connection)
    .await
    .expect("runs");
    assert!(
        runs.is_empty(),
        "contacts enrolled more than once: {runs:?}"
    );
    let enrolled: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT contact_id) FROM enrollments WHERE journey_id = $1",
    )
    .bind(journey)
    .fetch_one(&mut connection)
    .await
    .expect("count");
    assert_eq!(enrolled, CONTACTS as i64);
}
