//! Webhook delivery throughput against a local receiver that answers 200 at once, beside bare
//! reqwest POSTs to the same receiver in the same run (both with 16 requests in flight, the
//! per-webhook default), and the same deliveries to a webhook that batches them 100 a request.
//!
//!     cargo bench -p server --bench delivery [-- REQUESTS]
//!
//! A durable delivery is claimed from the database, rendered, signed, sent, and its attempt
//! and new state committed (SQLite, `synchronous = FULL`). Five rounds of each, in turns;
//! the medians are compared.

use std::{sync::Arc, time::Instant};

use app::{
    api::{DeliveryStatus, Reentry},
    ids::WebhookId,
    journey::fixtures::{chain, webhook_with},
};
use axum::{Router, routing::post};
use server::{
    clock::SystemClock,
    delivery::{DeliverySettings, DeliveryWorker, guard::TargetGuard, send::Sender},
    engine::{Engine, EngineSettings},
    store::Store,
    webhook::{self, Settings},
};

const IN_FLIGHT: usize = 16;
const ROUNDS: usize = 5;

// As in the server binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code, reason = "each bench uses part of the shared support")]
mod support;

#[tokio::main]
async fn main() -> support::BenchResult {
    let requests = support::count_argument(20_000)?;

    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", receiver.local_addr()?);
    let app = Router::new().route("/hook", post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(receiver, app).await });

    let folder = tempfile::tempdir()?;
    let database = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("bench.db").display()
    );
    let store = Store::connect(&database).await?;
    store.migrate().await?;
    let now = chrono::Utc::now().timestamp_millis();
    let settings = Settings::from_input(serde_json::from_value(serde_json::json!({
        "name": "bench", "url": url, "contact_fields": ["email"]
    }))?)?;
    let hook = store
        .create_webhook(&webhook::new_row(settings, now)?)
        .await?;
    publish_journey(&store, hook.id, "signup", now).await?;
    let batching = Settings::from_input(serde_json::from_value(serde_json::json!({
        "name": "bench, batched", "url": url, "contact_fields": ["email"],
        "batch": {"max_size": 100, "max_wait_seconds": 0}
    }))?)?;
    let batched_hook = store
        .create_webhook(&webhook::new_row(batching, now)?)
        .await?;
    publish_journey(&store, batched_hook.id, "bulk_signup", now).await?;

    let sender = Sender::new(
        TargetGuard {
            allow_private: true,
            ..TargetGuard::default()
        },
        std::time::Duration::from_secs(15),
    )?;
    let worker = DeliveryWorker::new(
        store.clone(),
        Arc::new(SystemClock),
        sender,
        DeliverySettings {
            poll_interval: std::time::Duration::from_millis(10),
            batch_size: 512,
            per_webhook_concurrency: IN_FLIGHT,
            shutdown_grace: std::time::Duration::from_secs(10),
        },
    );

    // This machine's speed drifts by a quarter from one second to the next, so the two are
    // measured in turns and compared by their medians.
    let mut bare_rates = Vec::new();
    let mut durable_rates = Vec::new();
    let mut batched_rates = Vec::new();
    // Two batches under way at a time, as the server's worker runs them.
    let drain = || async {
        let started = Instant::now();
        let both = tokio::join!(
            async {
                while worker.tick().await? > 0 {}
                Ok::<(), sqlx::Error>(())
            },
            async {
                while worker.tick().await? > 0 {}
                Ok::<(), sqlx::Error>(())
            },
        );
        both.0?;
        both.1?;
        Ok::<f64, sqlx::Error>(started.elapsed().as_secs_f64())
    };
    for round in 1..=ROUNDS {
        queue_deliveries(&store, requests, "signup", now).await?;
        let bare = bare_posts(&url, requests).await?;
        let durable = drain().await?;
        queue_deliveries(&store, requests, "bulk_signup", now).await?;
        let batched = drain().await?;

        let accepted = store
            .deliveries(&server::store::DeliveryQuery {
                status: Some(DeliveryStatus::Accepted),
                limit: i64::MAX,
                ..Default::default()
            })
            .await?
            .len();
        assert_eq!(
            accepted,
            2 * round * requests,
            "every delivery was accepted"
        );
        let (bare_rate, durable_rate, batched_rate) = (
            requests as f64 / bare,
            requests as f64 / durable,
            requests as f64 / batched,
        );
        println!(
            "round {round}: bare reqwest POSTs {bare_rate:.0}/s, durable deliveries \
             {durable_rate:.0}/s ({:.0} %), batched by 100 {batched_rate:.0}/s ({:.1}× unbatched)",
            100.0 * durable_rate / bare_rate,
            batched_rate / durable_rate
        );
        bare_rates.push(bare_rate);
        durable_rates.push(durable_rate);
        batched_rates.push(batched_rate);
    }
    let (bare, durable, batched) = (
        support::median(bare_rates),
        support::median(durable_rates),
        support::median(batched_rates),
    );
    println!("bare reqwest POSTs: {requests} per round, median {bare:.0}/s");
    println!(
        "durable deliveries: {requests} per round, median {durable:.0}/s ({:.0} % of bare POSTs)",
        100.0 * durable / bare
    );
    println!(
        "batched deliveries (100 a request): median {batched:.0}/s ({:.1}× unbatched)",
        batched / durable
    );
    Ok(())
}

async fn bare_posts(url: &str, requests: usize) -> support::BenchResult<f64> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    support::bare_requests(requests, IN_FLIGHT, |_| {
        client.post(url).body(r#"{"bench":true}"#)
    })
    .await
}

/// Publishes trigger → webhook → exit; every `event` enters it, also again.
async fn publish_journey(
    store: &Store,
    webhook: WebhookId,
    event: &str,
    now: i64,
) -> support::BenchResult {
    let journey = serde_json::to_string(&chain(event, vec![("hook", webhook_with(webhook, &[]))]))?;
    let created = store
        .create_journey("bench", Reentry::Always, &journey, now)
        .await?;
    store.publish_journey(created.id, &journey, now).await?;
    Ok(())
}

/// Queues one delivery per contact through the engine, by way of the journey `event` starts.
async fn queue_deliveries(
    store: &Store,
    contacts: usize,
    event: &str,
    now: i64,
) -> support::BenchResult {
    support::contacts_with_an_event(
        store,
        contacts,
        |n| format!(r#"{{"email": "c{n}@example.com"}}"#),
        event,
        now,
    )
    .await?;
    let mut engine = Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        EngineSettings {
            poll_interval: std::time::Duration::from_millis(10),
            batch_size: 500,
        },
    );
    while engine.tick().await? > 0 {}
    Ok(())
}
