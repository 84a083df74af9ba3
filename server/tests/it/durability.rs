//! A crash (kill -9) while contacts move through a journey loses no step and repeats none.

use std::time::{Duration, Instant};

use app::{
    api::{JourneyOut, JourneyStatsOut, WebhookOut},
    journey::fixtures::{chain, email, webhook_with},
};
use serde_json::json;
use sqlx::{AnyConnection, Connection};

use crate::support::{Backend, TestDatabase, WayfarerProcess, free_port, http_client};

backend_tests!(a_killed_server_resumes_without_losing_or_repeating_steps);

const CONTACTS: usize = 600;

/// Small engine batches, so a kill lands mid-run.
const SMALL_BATCHES: &[&str] = &["--engine-batch", "20", "--engine-poll-ms", "10"];

fn reached(stats: &JourneyStatsOut, node: &str) -> i64 {
    stats
        .nodes
        .iter()
        .find(|n| n.node_id == node)
        .map_or(0, |n| n.reached)
}

async fn a_killed_server_resumes_without_losing_or_repeating_steps(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let port = free_port();
    let mut server = WayfarerProcess::start(&database, port, SMALL_BATCHES).await;
    let client = http_client();

    let webhook: WebhookOut = client
        .post(format!("{}/api/v1/webhooks", server.base))
        .json(&json!({"name": "CRM", "url": "http://127.0.0.1:9/unreached"}))
        .send()
        .await
        .expect("create a webhook")
        .json()
        .await
        .expect("a webhook");
    let journey: JourneyOut = client
        .post(format!("{}/api/v1/journeys", server.base))
        .json(&json!({"name": "crash", "draft": chain("signup", vec![
            ("email", email("hi")),
            ("hook", webhook_with(webhook.id, &[])),
        ])}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("a journey");
    let published = client
        .post(format!(
            "{}/api/v1/journeys/{}/publish",
            server.base, journey.id
        ))
        .send()
        .await
        .expect("publish");
    assert_eq!(published.status(), 201);

    let ids: Vec<String> = (0..CONTACTS).map(|n| format!("c{n}")).collect();
    for chunk in ids.chunks(300) {
        let contacts: Vec<_> = chunk.iter().map(|id| json!({"external_id": id})).collect();
        let response = client
            .post(format!("{}/api/v1/contacts/batch", server.base))
            .json(&json!({ "contacts": contacts }))
            .send()
            .await
            .expect("contacts");
        assert_eq!(response.status(), 200);
        let events: Vec<_> = chunk
            .iter()
            .map(|id| json!({"contact": id, "event": "signup"}))
            .collect();
        let response = client
            .post(format!("{}/api/v1/events/batch", server.base))
            .json(&json!({ "events": events }))
            .send()
            .await
            .expect("events");
        assert_eq!(response.status(), 202);
    }

    // Kill it once contacts are on their way but not all through.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = server.stats(journey.id).await;
        if reached(&stats, "start") > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the engine starts within 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    sqlx::any::install_default_drivers();
    let mut database_view = AnyConnection::connect(database.url())
        .await
        .expect("connect");
    let done_at_kill: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM enrollments WHERE state = 'exited'")
            .fetch_one(&mut database_view)
            .await
            .expect("count");
    assert!(
        done_at_kill < CONTACTS as i64,
        "the kill came before the engine finished, or this test proves nothing"
    );

    let server = WayfarerProcess::start(&database, port, SMALL_BATCHES).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stats = server.stats(journey.id).await;
        let exited = stats
            .nodes
            .iter()
            .find(|n| n.node_id == "done")
            .map_or(0, |n| n.exited);
        if exited == CONTACTS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "every contact finishes after the restart: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    for (table, per_contact) in [
        ("node_visits", 4),
        ("messages", 1),
        ("deliveries", 1),
        ("enrollments", 1),
    ] {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut database_view)
            .await
            .expect("count");
        assert_eq!(
            rows,
            per_contact * CONTACTS as i64,
            "{table}: every step recorded exactly once (killed with {done_at_kill} of {CONTACTS} done)"
        );
    }
    let unmatched: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE processed_at IS NULL")
            .fetch_one(&mut database_view)
            .await
            .expect("count");
    assert_eq!(unmatched, 0);
    database_view.close().await.ok();
}
