//! A crash (kill -9) while contacts move through a journey loses no step and repeats none.

use std::time::{Duration, Instant};

use app::{
    api::JourneyStatsOut,
    journey::fixtures::{chain, email, webhook_with},
};
use serde_json::json;
use sqlx::{AnyConnection, Connection};

use crate::support::{Backend, TestDatabase, WayfarerProcess, free_port};

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
    let (_, journey) = server
        .publish_with_webhook(
            &json!({"name": "CRM", "url": "http://127.0.0.1:9/unreached"}),
            |webhook| {
                json!(chain(
                    "signup",
                    vec![("email", email("hi")), ("hook", webhook_with(webhook, &[]))]
                ))
            },
        )
        .await;
    let ids: Vec<String> = (0..CONTACTS).map(|n| format!("c{n}")).collect();
    server
        .contacts_with_events(&ids, |id| json!({"contact": id, "event": "signup"}))
        .await;

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
