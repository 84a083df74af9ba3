//! Engine throughput: enrolls N contacts (default 100,000) into trigger → condition → webhook →
//! exit on a fresh SQLite file and prints contact-steps per second and peak memory.
//!
//!     cargo bench -p server --bench engine [-- CONTACTS]
//!
//! A contact-step is one node a contact passes through (four per contact here), each recorded
//! durably with the enrollment's state in the engine's batched transactions.

use std::{sync::Arc, time::Instant};

use app::{
    api::{EnrollmentState, Reentry},
    journey::{
        Branch, Combine, Condition, ConditionRule, JourneyDocument, NodeId, NodeKind, Operator,
        Rule,
        fixtures::{edge, node, trigger, webhook},
    },
};
use server::{
    clock::SystemClock,
    engine::{Engine, EngineSettings},
    store::Store,
};

/// trigger → condition (adults) → webhook → exit; minors go straight to the exit.
fn journey() -> JourneyDocument {
    JourneyDocument {
        nodes: vec![
            node("start", trigger("add_to_cart")),
            node(
                "adult",
                NodeKind::Condition(Condition {
                    combine: Combine::All,
                    rules: vec![ConditionRule::Attribute(Rule {
                        field: "contact.age".to_owned(),
                        operator: Operator::Ge,
                        value: 18.into(),
                    })],
                }),
            ),
            node("hook", webhook(1)),
            node("done", NodeKind::Exit),
        ],
        edges: vec![
            edge("start", Branch::Next, "adult"),
            edge("adult", Branch::Yes, "hook"),
            edge("adult", Branch::No, "done"),
            edge("hook", Branch::Next, "done"),
        ],
    }
}

// As in the server binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code, reason = "each bench uses part of the shared support")]
mod support;

#[tokio::main]
async fn main() -> support::BenchResult {
    let contacts = support::count_argument(100_000)?;
    let folder = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("bench.db").display()
    );
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    let now = chrono::Utc::now().timestamp_millis();

    let document = serde_json::to_string(&journey())?;
    let journey = store
        .create_journey("bench", Reentry::Once, &document, now)
        .await?;
    store.publish_journey(journey.id, &document, now).await?;

    let setup = Instant::now();
    support::contacts_with_an_event(
        &store,
        contacts,
        |n| format!(r#"{{"age": {}}}"#, 10 + n % 60),
        "add_to_cart",
        now,
    )
    .await?;
    println!(
        "setup: {contacts} contacts and events stored in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let mut engine = Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        EngineSettings {
            poll_interval: std::time::Duration::from_millis(10),
            batch_size: 500,
        },
    );
    let started = Instant::now();
    while engine.tick().await? > 0 {}
    let elapsed = started.elapsed().as_secs_f64();

    let stats = store.version_counts(journey.id, 1).await?;
    let steps: i64 = stats.reached.values().sum();
    let exited = stats
        .states
        .get(&(NodeId::new("done"), EnrollmentState::Exited))
        .copied();
    assert_eq!(
        exited,
        Some(contacts as i64),
        "every contact reached the exit"
    );
    println!("engine: {steps} contact-steps for {contacts} contacts in {elapsed:.2} s");
    println!("engine: {:.0} contact-steps/s", steps as f64 / elapsed);
    println!("peak RSS: {} MiB", peak_rss_kib().unwrap_or(0) / 1024);
    Ok(())
}

/// The process's peak resident set size (VmHWM) on Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
