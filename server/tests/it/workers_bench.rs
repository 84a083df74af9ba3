//! Scaling out on PostgreSQL, measured: one web process and 1, 2, … worker processes (the real
//! binaries, `--role web` / `--role worker`) on one database, in the same run. Contacts' events
//! go in through the web process in batches of 1,000 before any worker starts; each step sends
//! a webhook to a local receiver; the figure is executions per second from the first webhook
//! received to the last (the workers' own work), beside the bare rate the receiver takes plain
//! POSTs at in the same run.
//!
//! CI runs it small, to check that every webhook arrives once with each number of workers. The
//! full size, printing its figures:
//!
//!     WAYFARER_SCALE_EVENTS=40000 WAYFARER_SCALE_WORKERS=1,2,4 \
//!         .ci/postgres cargo nextest run --release -p server workers_bench --no-capture

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Backend, Receiver, TestDatabase, WayfarerProcess, free_port, http_client};

fn setting<T: std::str::FromStr>(variable: &str, default: T) -> T {
    std::env::var(variable)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Plain POSTs to the receiver, 16 in flight (the per-webhook default): the bare limit.
async fn bare_post_rate(receiver: &Receiver, requests: usize) -> f64 {
    let client = http_client();
    let url = receiver.url("/bare");
    let started = Instant::now();
    let mut in_flight = tokio::task::JoinSet::new();
    for _ in 0..requests {
        if in_flight.len() == 16 {
            in_flight.join_next().await;
        }
        let post = client.post(&url).body("{}").send();
        in_flight.spawn(async move { post.await.expect("the receiver answers") });
    }
    in_flight.join_all().await;
    requests as f64 / started.elapsed().as_secs_f64()
}

/// Executions per second with `workers` worker processes: the events are stored before any
/// worker runs, so the figure is the workers' (engine and delivery) alone, from the first
/// webhook received to the last, neither the intake nor the processes' start-up in it.
async fn executions_per_second(events: usize, workers: usize) -> f64 {
    let database = TestDatabase::create(Backend::Postgres).await;
    let receiver = Receiver::start().await;
    // The events go in faster than the default per-key rate; the intake is not measured.
    let web = WayfarerProcess::start(
        &database,
        free_port(),
        &["--role", "web", "--ingest-rate-per-key", "0"],
    )
    .await;
    web.publish_signup_to(&receiver.url("/hook")).await;
    let ids: Vec<String> = (0..events).map(|n| format!("c{n}")).collect();
    web.contacts_with_events(&ids, |id| json!({"contact": id, "event": "signup"}))
        .await;
    let _workers = WayfarerProcess::start_many(&database, workers, &["--role", "worker"]).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    while receiver.count() < events {
        assert!(
            Instant::now() < deadline,
            "{} of {events} webhooks in ten minutes with {workers} workers",
            receiver.count()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Anything sent twice would show by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = receiver.received();
    assert_eq!(received.len(), events, "each webhook once");
    let first = received
        .iter()
        .map(|request| request.at)
        .min()
        .expect("webhooks");
    let last = received
        .iter()
        .map(|request| request.at)
        .max()
        .expect("webhooks");
    events as f64 / last.duration_since(first).as_secs_f64()
}

#[tokio::test]
async fn workers_bench() {
    let events: usize = setting("WAYFARER_SCALE_EVENTS", 300);
    let workers: Vec<usize> = std::env::var("WAYFARER_SCALE_WORKERS")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|count| count.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1, 2]);
    let receiver = Receiver::start().await;
    let bare = bare_post_rate(&receiver, events.min(5_000)).await;
    println!("bare POSTs to the receiver: {bare:.0}/s");
    let mut one = None;
    for count in workers {
        let rate = executions_per_second(events, count).await;
        let against_one = one.get_or_insert(rate);
        println!(
            "{count} worker(s): {events} events → webhooks in {:.0}/s ({:.2} × one worker, {:.0} % of bare POSTs)",
            rate,
            rate / *against_one,
            100.0 * rate / bare
        );
    }
}
