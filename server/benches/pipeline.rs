//! The whole pipeline as users run it: events in over HTTP, the engine, webhooks out. Starts
//! the real `wayfarer` binary (release), a local receiver and a load client, and prints in one
//! run: the bare POST rate (client → receiver), events accepted/s and executions/s (event in →
//! webhook accepted by the receiver) for single events and for batches of 100, the latency
//! from event POST to webhook arrival at a fixed offered rate (100/s and 1,000/s), and the
//! server's RSS.
//!
//!     cargo bench -p server --bench pipeline [-- EVENTS]
//!
//! On SQLite (a fresh file); under `.ci/postgres` (which sets `WAYFARER_TEST_POSTGRES_URL` to a
//! throwaway cluster) on a new PostgreSQL database as well:
//!
//!     .ci/postgres cargo bench -p server --bench pipeline
//!
//! The journey is `purchase` → webhook → exit; every event is for a contact of its own, so each
//! enrolls once. The server runs with its defaults (16 requests in flight per webhook).
//!
//! Knobs, for exploring: `PIPELINE_CONNECTIONS` (single-event clients, and the bare rate's;
//! default 128), `PIPELINE_BATCHES` (batches of 100 in flight; default 8), `PIPELINE_LOG`
//! (the server's `--log`, e.g. `error,sqlx::query=debug` for every statement's time).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::{
    api::Reentry,
    journey::fixtures::{chain, webhook_with},
};
use axum::{Json, Router, extract::State, routing::post};
use serde_json::{Value, json};
use tokio::task::JoinSet;

const CONNECTIONS: usize = 128;
const BATCH: usize = 100;
const BATCHES_IN_FLIGHT: usize = 8;

fn connections() -> usize {
    support::knob("PIPELINE_CONNECTIONS", CONNECTIONS)
}

fn batches_in_flight() -> usize {
    support::knob("PIPELINE_BATCHES", BATCHES_IN_FLIGHT)
}

// As in the server binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code, reason = "each bench uses part of the shared support")]
mod support;

use support::wayfarer::{BenchDatabase, Wayfarer, bench_databases};

/// When each webhook arrived, by the contact it was for.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<HashMap<String, Instant>>>);

impl Arrivals {
    fn count(&self) -> usize {
        self.0.lock().expect("arrivals").len()
    }

    fn at(&self, contact: &str) -> Option<Instant> {
        self.0.lock().expect("arrivals").get(contact).copied()
    }

    /// Waits until `total` webhooks have arrived (or a minute without progress); when the
    /// last one did.
    async fn all(&self, total: usize) -> support::BenchResult<Instant> {
        let mut last_count = 0;
        let mut last_progress = Instant::now();
        loop {
            let count = self.count();
            if count >= total {
                let latest = self.0.lock().expect("arrivals").values().max().copied();
                return latest.ok_or_else(|| "no arrivals".into());
            }
            if count > last_count {
                last_count = count;
                last_progress = Instant::now();
            } else if last_progress.elapsed() > Duration::from_secs(60) {
                return Err(format!("only {count} of {total} webhooks arrived").into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn receive(State(arrivals): State<Arrivals>, Json(body): Json<Value>) -> &'static str {
    if let Some(contact) = body["data"]["contact"]["external_id"].as_str() {
        arrivals
            .0
            .lock()
            .expect("arrivals")
            .insert(contact.to_owned(), Instant::now());
    }
    "ok"
}

#[tokio::main]
async fn main() -> support::BenchResult {
    let events = support::count_argument(10_000)?;
    let _ = rustls::crypto::ring::default_provider().install_default();

    let arrivals = Arrivals::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/hook", post(receive))
        .route("/bare", post(|| async { "ok" }))
        .with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let bare = bare_posts(&format!("{receiver}/bare"), events).await?;
    println!(
        "bare POSTs (client → receiver, {} connections): {bare:.0}/s",
        connections()
    );

    let folder = tempfile::tempdir()?;
    for database in bench_databases(folder.path(), "pipeline").await? {
        run(&database, &receiver, &arrivals, events, bare).await?;
    }
    Ok(())
}

async fn run(
    database: &BenchDatabase,
    receiver: &str,
    arrivals: &Arrivals,
    events: usize,
    bare: f64,
) -> support::BenchResult {
    let backend = database.backend;
    let log = std::env::var("PIPELINE_LOG").unwrap_or_else(|_| "error".to_owned());
    // Errors only by default: the bench needs no browser bundle, whose absence is a warning.
    let server = Wayfarer::start(&database.url, &database.key_file, &log).await?;
    let webhook = server
        .call(
            "/api/v1/webhooks",
            &json!({"name": "receiver", "url": format!("{receiver}/hook")}),
        )
        .await?;
    let webhook_id = serde_json::from_value(webhook["id"].clone())?;
    let journey = server
        .call(
            "/api/v1/journeys",
            &json!({"name": "purchase", "reentry": Reentry::Once,
                    "draft": chain("purchase", vec![("hook", webhook_with(webhook_id, &[]))])}),
        )
        .await?;
    server
        .call(
            &format!("/api/v1/journeys/{}/publish", journey["id"]),
            &json!({}),
        )
        .await?;
    // Every event below is for a contact of its own.
    let phases = [
        ("single", events),
        ("batch", events),
        ("paced100", 500),
        ("paced1000", 5_000),
    ];
    for (phase, count) in phases {
        for start in (0..count).step_by(1_000) {
            let contacts: Vec<Value> = (start..count.min(start + 1_000))
                .map(|n| json!({"external_id": format!("{backend}-{phase}-{n}")}))
                .collect();
            server
                .call("/api/v1/contacts/batch", &json!({ "contacts": contacts }))
                .await?;
        }
    }
    println!("{backend}:");

    for (phase, batch) in [("single", 1), ("batch", BATCH)] {
        let before = arrivals.count();
        let started = Instant::now();
        post_events(&server, backend, phase, events, batch).await?;
        let accepted = started.elapsed().as_secs_f64();
        let done = arrivals.all(before + events).await?;
        let executed = done.duration_since(started).as_secs_f64();
        #[expect(clippy::cast_precision_loss, reason = "event counts")]
        let (accepted_rate, executed_rate) = (events as f64 / accepted, events as f64 / executed);
        println!(
            "  {}: events accepted {accepted_rate:.0}/s, executions (event in → webhook \
             accepted) {executed_rate:.0}/s ({:.1} % of bare POSTs); the last webhook {:.1} s \
             after the last 202",
            if batch == 1 {
                format!("single events, {} connections", connections())
            } else {
                format!("batches of {BATCH}, {} in flight", batches_in_flight())
            },
            100.0 * executed_rate / bare,
            (executed - accepted).max(0.0)
        );
    }

    for (phase, rate, count) in [("paced100", 100, 500), ("paced1000", 1_000, 5_000)] {
        let mut latencies = paced(&server, arrivals, backend, phase, rate, count).await?;
        latencies.sort_by(f64::total_cmp);
        println!(
            "  latency event POST → webhook arrival at {rate}/s ({count} events): p50 {:.1} ms, \
             p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            support::percentile(&latencies, 50),
            support::percentile(&latencies, 90),
            support::percentile(&latencies, 99),
            support::percentile(&latencies, 100)
        );
    }
    println!("  server RSS: {} MB", server.rss_kb() / 1024);
    Ok(())
}

/// Posts `count` events for the phase's contacts, `batch` per request.
async fn post_events(
    server: &Wayfarer,
    backend: &str,
    phase: &str,
    count: usize,
    batch: usize,
) -> support::BenchResult {
    let in_flight_limit = if batch == 1 {
        connections()
    } else {
        batches_in_flight()
    };
    let mut in_flight = JoinSet::new();
    for start in (0..count).step_by(batch) {
        if in_flight.len() >= in_flight_limit
            && let Some(done) = in_flight.join_next().await
        {
            done??;
        }
        let events: Vec<Value> = (start..count.min(start + batch))
            .map(|n| json!({"contact": format!("{backend}-{phase}-{n}"), "event": "purchase"}))
            .collect();
        let (path, body) = if batch == 1 {
            ("/api/v1/events", events[0].clone())
        } else {
            ("/api/v1/events/batch", json!({ "events": events }))
        };
        let request = server.client.post(server.url(path)).json(&body);
        in_flight.spawn(support::succeeded(request));
    }
    while let Some(done) = in_flight.join_next().await {
        done??;
    }
    Ok(())
}

/// Single events at `rate` per second; each one's milliseconds from POST to webhook arrival.
async fn paced(
    server: &Wayfarer,
    arrivals: &Arrivals,
    backend: &str,
    phase: &str,
    rate: u32,
    count: usize,
) -> support::BenchResult<Vec<f64>> {
    let before = arrivals.count();
    let interval = Duration::from_secs(1) / rate;
    let started = Instant::now();
    let mut sent = Vec::with_capacity(count);
    let mut in_flight = JoinSet::new();
    for n in 0..count {
        let due = started + interval * u32::try_from(n)?;
        tokio::time::sleep_until(due.into()).await;
        let contact = format!("{backend}-{phase}-{n}");
        sent.push((contact.clone(), Instant::now()));
        let request = server
            .client
            .post(server.url("/api/v1/events"))
            .json(&json!({"contact": contact, "event": "purchase"}));
        in_flight.spawn(support::succeeded(request));
    }
    while let Some(done) = in_flight.join_next().await {
        done??;
    }
    arrivals.all(before + count).await?;
    Ok(sent
        .iter()
        .filter_map(|(contact, at)| {
            arrivals
                .at(contact)
                .map(|arrived| arrived.duration_since(*at).as_secs_f64() * 1_000.0)
        })
        .collect())
}

/// POSTs to a handler that only answers, [`connections`] at a time: the client's and the
/// loopback's limit.
async fn bare_posts(url: &str, requests: usize) -> support::BenchResult<f64> {
    let client = reqwest::Client::new();
    let seconds = support::bare_requests(requests, connections(), |n| {
        client
            .post(url)
            .json(&json!({"contact": format!("bare-{n}"), "event": "purchase"}))
    })
    .await?;
    #[expect(clippy::cast_precision_loss, reason = "a request count")]
    Ok(requests as f64 / seconds)
}
