//! PostgreSQL stopped for a while and started again: requests meanwhile answer 503 with a clear
//! error and a Retry-After within seconds, the workers keep trying, and once it is back every
//! event a 202 acknowledged reaches its webhook without restarting the server. A request in
//! flight when the database went is answered, and its answer recorded once the database is
//! back, without sending it again.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use app::{
    api::{ErrorOut, JourneyStatsOut, Reentry},
    journey::fixtures::{chain, webhook_with},
};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Answer, Receiver, TestDatabase, TestServer};

const CONTACTS: usize = 10;

async fn post_event(server: &TestServer, contact: usize) -> reqwest::Response {
    server
        .post_json(
            "/api/v1/events",
            &json!({"contact": format!("c{contact}"), "event": "signup"}),
        )
        .await
}

#[tokio::test]
async fn a_postgres_outage_answers_503_and_loses_nothing_acknowledged() {
    let server = TestServer::start_on(TestDatabase::on_private_cluster().await).await;
    let cluster = server
        .database()
        .private_cluster()
        .expect("a private cluster");
    let receiver = Receiver::start().await;
    let webhook = server
        .create_webhook(&json!({"name": "CRM", "url": receiver.url("/hook")}))
        .await;
    server
        .publish_journey(
            Reentry::Once,
            chain("signup", vec![("hook", webhook_with(webhook.id, &[]))]),
        )
        .await;
    let contacts: Vec<_> = (0..CONTACTS)
        .map(|n| json!({"external_id": format!("c{n}")}))
        .collect();
    let created = server
        .post_json("/api/v1/contacts/batch", &json!({ "contacts": contacts }))
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    for contact in 0..CONTACTS / 2 {
        assert_eq!(
            post_event(&server, contact).await.status(),
            StatusCode::ACCEPTED
        );
    }

    cluster.stop();
    let asked = Instant::now();
    let refused = post_event(&server, CONTACTS / 2).await;
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "the 503 took {:?}",
        asked.elapsed()
    );
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let error: ErrorOut = refused.json().await.expect("an error body");
    assert_eq!(error.error.code, "unavailable");
    assert!(
        error.error.message.contains("database is unavailable"),
        "{}",
        error.error.message
    );
    // The engine and the workers meet the outage too, and keep trying.
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.resume();

    // A client that retries on 503 gets its events in once the database is back.
    for contact in CONTACTS / 2..CONTACTS {
        let mut status = StatusCode::SERVICE_UNAVAILABLE;
        for _ in 0..100 {
            status = post_event(&server, contact).await.status();
            if status != StatusCode::SERVICE_UNAVAILABLE {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, StatusCode::ACCEPTED, "c{contact} after the outage");
    }
    let mut arrived = BTreeMap::new();
    for _ in 0..1_000 {
        arrived = receiver.webhook_ids_by_contact();
        if arrived.len() == CONTACTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let contacts: Vec<&String> = arrived.keys().collect();
    let expected: Vec<String> = (0..CONTACTS).map(|n| format!("c{n}")).collect();
    assert_eq!(
        contacts,
        expected.iter().collect::<Vec<_>>(),
        "every acknowledged event's webhook"
    );
    for (contact, ids) in &arrived {
        assert_eq!(
            ids.len(),
            1,
            "{contact}'s requests carry one webhook-id: {ids:?}"
        );
    }
}

/// The receiver answers while the database is down: the answer cannot be recorded then. The
/// delivery stays claimed until it is, and is not sent again (it was, once its batch failed
/// and was given back).
#[tokio::test]
async fn an_answer_during_an_outage_is_recorded_afterwards_not_sent_again() {
    let server = TestServer::start_on(TestDatabase::on_private_cluster().await).await;
    let cluster = server
        .database()
        .private_cluster()
        .expect("a private cluster");
    let receiver = Receiver::start().await;
    receiver.queue([Answer::Hang(Duration::from_secs(2))]);
    let webhook = server
        .create_webhook(&json!({"name": "CRM", "url": receiver.url("/hook")}))
        .await;
    let journey = server
        .publish_journey(
            Reentry::Once,
            chain("signup", vec![("hook", webhook_with(webhook.id, &[]))]),
        )
        .await;
    let created = server
        .post_json(
            "/api/v1/contacts/batch",
            &json!({"contacts": [{"external_id": "c0"}]}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(post_event(&server, 0).await.status(), StatusCode::ACCEPTED);
    for _ in 0..500 {
        if !receiver.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(receiver.received().len(), 1, "the request is in flight");

    cluster.stop();
    // The answer comes after 2 s; recording it fails within the pool's 3 s wait, or the
    // next round's (one that started before the answer came takes it along).
    tokio::time::sleep(Duration::from_secs(10)).await;
    cluster.resume();

    let mut accepted = 0;
    for _ in 0..200 {
        let answer = server
            .get(&format!("/api/v1/journeys/{journey}/stats"))
            .await;
        if answer.status() == StatusCode::OK {
            let stats: JourneyStatsOut = answer.json().await.expect("statistics");
            accepted = stats
                .nodes
                .iter()
                .find(|node| node.node_id == "hook")
                .and_then(|node| node.deliveries)
                .map_or(0, |deliveries| deliveries.accepted);
            if accepted == 1 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        accepted, 1,
        "the answer is recorded once the database is back"
    );
    // Long enough for a delivery given back to be claimed and sent again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), 1, "sent once");
}
