//! Two server processes on one database share the work: every contact moves through the
//! journey once and every webhook request is sent once.

use std::{collections::HashSet, time::Duration};

use app::{
    api::{JourneyOut, JourneyStatsOut},
    journey::fixtures::{chain, email, webhook_with},
};
use serde_json::json;
use sqlx::{AnyConnection, Connection};

use crate::support::{Backend, Receiver, TestServer};

backend_tests!(two_servers_on_one_database_do_each_step_once);

const CONTACTS: usize = 300;

async fn two_servers_on_one_database_do_each_step_once(backend: Backend) {
    let first = TestServer::start(backend).await;
    let second = TestServer::start_on(first.database().alias()).await;
    let receiver = Receiver::start().await;

    let webhook = first
        .create_webhook(&json!({"name": "CRM", "url": receiver.url("/hook")}))
        .await;
    let draft = chain(
        "signup",
        vec![
            ("email", email("hi")),
            ("hook", webhook_with(webhook.id, &[])),
        ],
    );
    let journey: JourneyOut = first
        .post_json(
            "/api/v1/journeys",
            &json!({"name": "scale", "draft": draft}),
        )
        .await
        .json()
        .await
        .expect("a journey");
    let published = second
        .post(&format!("/api/v1/journeys/{}/publish", journey.id))
        .await;
    assert_eq!(published.status(), 201);

    // Contacts and events arrive through both servers.
    for chunk_start in (0..CONTACTS).step_by(50) {
        let server = if chunk_start % 100 == 0 {
            &first
        } else {
            &second
        };
        let ids: Vec<String> = (chunk_start..chunk_start + 50)
            .map(|n| format!("c{n}"))
            .collect();
        let contacts: Vec<_> = ids.iter().map(|id| json!({"external_id": id})).collect();
        let response = server
            .post_json("/api/v1/contacts/batch", &json!({ "contacts": contacts }))
            .await;
        assert_eq!(response.status(), 200);
        let events: Vec<_> = ids
            .iter()
            .map(|id| json!({"contact": id, "event": "signup"}))
            .collect();
        let response = server
            .post_json("/api/v1/events/batch", &json!({ "events": events }))
            .await;
        assert_eq!(response.status(), 202);
    }

    let mut stats = None;
    for _ in 0..1_000 {
        let current: JourneyStatsOut = first
            .get(&format!("/api/v1/journeys/{}/stats", journey.id))
            .await
            .json()
            .await
            .expect("stats");
        let hook = current
            .nodes
            .iter()
            .find(|n| n.node_id == "hook")
            .expect("hook");
        if hook
            .deliveries
            .is_some_and(|d| d.accepted == CONTACTS as i64)
        {
            stats = Some(current);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = stats.expect("every delivery is accepted");
    for node in &stats.nodes {
        assert_eq!(node.reached, CONTACTS as i64, "{node:?}");
    }
    let done = stats
        .nodes
        .iter()
        .find(|n| n.node_id == "done")
        .expect("done");
    assert_eq!(done.exited, CONTACTS as i64);

    let received = receiver.received();
    let ids: HashSet<&str> = received
        .iter()
        .map(|request| request.header("webhook-id"))
        .collect();
    assert_eq!(ids.len(), CONTACTS, "one delivery per contact");
    assert_eq!(received.len(), CONTACTS, "each sent once");
    sqlx::any::install_default_drivers();
    let mut database = AnyConnection::connect(first.database().url())
        .await
        .expect("connect");
    for (table, per_contact) in [
        ("node_visits", 4),
        ("messages", 1),
        ("deliveries", 1),
        ("enrollments", 1),
    ] {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut database)
            .await
            .expect("count");
        assert_eq!(
            rows,
            per_contact * CONTACTS as i64,
            "{table}: each step once"
        );
    }
    database.close().await.ok();
}
