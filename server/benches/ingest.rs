//! Event intake over HTTP with an API key, with the per-key rate limiter off and on (set so
//! high that it never refuses, so only its cost shows), beside bare POSTs of the same body to a
//! handler that only answers, in the same run.
//!
//!     cargo bench -p server --bench ingest [-- REQUESTS]
//!
//! Each request is one event, `POST /api/v1/events`, 32 in flight: authenticated (the key's
//! hash looked up), checked, stored durably (SQLite, `synchronous = FULL`, group commit) and
//! answered 202. Five rounds of each, in turns; the medians are compared. The limiter's own
//! cost per request is then measured alone.

use std::{sync::Arc, time::Instant};

use app::api::Scope;
use axum::{Router, routing::post};
use server::{Config, Server, auth, store::Store};
use tokio::{sync::oneshot, task::JoinSet};

const IN_FLIGHT: usize = 32;
const ROUNDS: usize = 5;
const EVENT: &str =
    r#"{"contact": "c-1", "event": "page_view", "properties": {"path": "/pricing"}}"#;

// As in the server binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code, reason = "each bench uses part of the shared support")]
mod support;

/// A server on a fresh SQLite file with contact `c-1` and an API key; its address and key.
async fn start(
    folder: &std::path::Path,
    name: &str,
    rate_per_key: u32,
) -> support::BenchResult<(String, String, oneshot::Sender<()>)> {
    let url = format!(
        "sqlite://{}?mode=rwc",
        folder.join(format!("{name}.db")).display()
    );
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    store
        .upsert_contacts(&[("c-1", "{}".to_owned())], 0)
        .await?;
    let request = auth::KeyRequest {
        name: "bench",
        scopes: &[Scope::EventsWrite],
        created_by: None,
        expires_at: None,
    };
    let (key, _) = auth::issue_api_key(&store, &request, 0).await?;
    store.close().await;
    let mut config = Config::for_tests(url);
    config.secret_key_file = Some(folder.join(format!("{name}.key")));
    config.ingest_rate_per_key = rate_per_key;
    config.ingest_burst_per_key = u32::MAX;
    config.log = "error".to_owned();
    let server = Server::start(&config).await?;
    let address = format!("http://{}", server.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    Ok((address, key, stop))
}

#[tokio::main]
async fn main() -> support::BenchResult {
    let requests = support::count_argument(5_000)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let folder = tempfile::tempdir()?;

    let bare = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_url = format!("http://{}/events", bare.local_addr()?);
    let app = Router::new().route(
        "/events",
        post(|body: axum::body::Bytes| async move {
            (axum::http::StatusCode::ACCEPTED, body.len().to_string())
        }),
    );
    tokio::spawn(async move { axum::serve(bare, app).await });

    let (unlimited, unlimited_key, _stop_unlimited) = start(folder.path(), "off", 0).await?;
    let (limited, limited_key, _stop_limited) = start(folder.path(), "on", u32::MAX).await?;

    let mut rates: [Vec<f64>; 3] = Default::default();
    for round in 1..=ROUNDS {
        let bare_rate = posts(&bare_url, None, requests).await?;
        let off = posts(
            &format!("{unlimited}/api/v1/events"),
            Some(&unlimited_key),
            requests,
        )
        .await?;
        let on = posts(
            &format!("{limited}/api/v1/events"),
            Some(&limited_key),
            requests,
        )
        .await?;
        println!(
            "round {round}: bare POSTs {bare_rate:.0}/s, events limiter off {off:.0}/s, \
             limiter on {on:.0}/s"
        );
        for (rates, rate) in rates.iter_mut().zip([bare_rate, off, on]) {
            rates.push(rate);
        }
    }
    let [bare_rate, off, on] = rates.map(support::median);
    println!("bare POSTs: {requests} per round, median {bare_rate:.0}/s");
    println!(
        "events accepted, limiter off: median {off:.0}/s ({:.0} % of bare POSTs)",
        100.0 * off / bare_rate
    );
    println!(
        "events accepted, limiter on: median {on:.0}/s ({:.0} % of bare POSTs)",
        100.0 * on / bare_rate,
    );
    // The two rates differ by this machine's noise more than by the limiter; its own cost is
    // measured alone and set against the time one request takes at the rate measured above.
    let per_take = limiter_nanoseconds();
    println!(
        "the limiter alone: {per_take:.0} ns per request, {:.3} % of a request's time at \
         {off:.0} events/s",
        100.0 * per_take * off / 1e9
    );
    Ok(())
}

/// Nanoseconds one `take` costs, over a million of them on one key.
fn limiter_nanoseconds() -> f64 {
    use server::auth::rate::{IngestLimiter, RateLimit};
    const TAKES: u32 = 1_000_000;
    let limiter = IngestLimiter::new(RateLimit {
        per_second: u32::MAX,
        burst: u32::MAX,
    });
    let key = app::ids::ApiKeyId(1);
    let started = Instant::now();
    for now in 0..TAKES {
        let _ = std::hint::black_box(limiter.take(key, 1, i64::from(now)));
    }
    started.elapsed().as_secs_f64() * 1e9 / f64::from(TAKES)
}

/// `requests` POSTs of one event, `IN_FLIGHT` at a time; the rate of 2xx answers.
async fn posts(url: &str, key: Option<&str>, requests: usize) -> support::BenchResult<f64> {
    let client = Arc::new(reqwest::Client::new());
    let started = Instant::now();
    let mut in_flight = JoinSet::new();
    for _ in 0..requests {
        if in_flight.len() >= IN_FLIGHT
            && let Some(done) = in_flight.join_next().await
        {
            done??;
        }
        let mut request = client
            .post(url)
            .header("content-type", "application/json")
            .body(EVENT);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        in_flight.spawn(support::succeeded(request));
    }
    while let Some(done) = in_flight.join_next().await {
        done??;
    }
    #[expect(clippy::cast_precision_loss, reason = "a request count")]
    Ok(requests as f64 / started.elapsed().as_secs_f64())
}
