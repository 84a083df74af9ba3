//! A million contacts waiting in a one-day delay: the server's memory while they wait, and how
//! late their timers fire when they come due.
//!
//!     cargo bench -p server --bench waiting [-- CONTACTS]
//!
//! On SQLite (a fresh file); under `.ci/postgres` on a new PostgreSQL database as well. The
//! journey is `signup` → delay 1 day → exit. The contacts are enrolled through the engine
//! (in this process) on a clock that spreads their entries over `WAITING_SPREAD_SECS` seconds
//! (default 100), set a day back; their timers are then moved by one constant so that the
//! first comes due some seconds after the real `wayfarer` binary starts. From then on the
//! timers come due evenly, CONTACTS / spread per second, and the server fires them on the
//! wall clock. Printed: the server's RSS with every contact waiting and at its peak while
//! firing, and each contact's lateness (when it reached the exit minus when its timer came
//! due, both as the server recorded them). `WAITING_LOG` sets the server's `--log` (e.g.
//! `error,sqlx::query=debug` for every statement's time).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use app::{
    api::{EnrollmentState, Reentry},
    journey::{
        NodeId,
        fixtures::{chain, delay},
    },
};
use server::{
    clock::ManualClock,
    engine::{Engine, EngineSettings},
    store::Store,
};
use sqlx::{Connection as _, Row as _};

// As in the server binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(dead_code, reason = "each bench uses part of the shared support")]
mod support;

use support::wayfarer::{BenchDatabase, Wayfarer, bench_databases};

const DAY_MS: i64 = 86_400_000;

/// How long after the timers are moved the first comes due: time for the UPDATE that moves
/// them and for the server's start. Ten seconds were too few on PostgreSQL, where moving a
/// million timers took about 13 s: the server came up 3.4 s after the first was due, and the
/// bench measured its own lateness (the output says how early the server was up).
const LEAD: Duration = Duration::from_secs(30);

/// Engine rounds of the enrollment take this many events at most.
const ENROLLMENT_BATCH: i64 = 500;

#[tokio::main]
async fn main() -> support::BenchResult {
    let contacts = support::count_argument(1_000_000)?;
    let spread_secs = support::knob("WAITING_SPREAD_SECS", 100).max(1);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let folder = tempfile::tempdir()?;
    for database in bench_databases(folder.path(), "waiting").await? {
        run(&database, contacts, spread_secs).await?;
    }
    Ok(())
}

async fn run(
    database: &BenchDatabase,
    contacts: usize,
    spread_secs: usize,
) -> support::BenchResult {
    let database_url = database.url.as_str();
    println!("{}:", database.backend);
    let store = Store::connect(database_url).await?;
    store.migrate().await?;
    let document = serde_json::to_string(&chain("signup", vec![("wait", delay(24 * 60))]))?;
    let now = chrono::Utc::now().timestamp_millis();
    let journey = store
        .create_journey("waiting", Reentry::Once, &document, now)
        .await?;
    store.publish_journey(journey.id, &document, now).await?;

    let setup = Instant::now();
    support::contacts_with_an_event(&store, contacts, |_| "{}".to_owned(), "signup", now).await?;
    println!(
        "  setup: {contacts} contacts and their events stored in {:.0} s",
        setup.elapsed().as_secs_f64()
    );

    let enrolling = Instant::now();
    enroll(&store, contacts, spread_secs).await?;
    let counts = store.version_counts(journey.id, 1).await?;
    let waiting = counts
        .states
        .get(&(NodeId::new("wait"), EnrollmentState::Waiting))
        .copied()
        .unwrap_or(0);
    if usize::try_from(waiting)? != contacts {
        return Err(format!("{waiting} of {contacts} contacts are waiting").into());
    }
    store.close().await;
    println!(
        "  enrolled through the engine in {:.0} s: {contacts} contacts wait a day, their timers \
         due over {spread_secs} s ({} per second)",
        enrolling.elapsed().as_secs_f64(),
        contacts / spread_secs
    );

    // The timers as if the contacts had entered a day before now: one UPDATE, the only write
    // the engine did not make.
    let mut connection = sqlx::AnyConnection::connect(database_url).await?;
    let first_due: i64 = sqlx::query_scalar(
        "SELECT MIN(due_at) FROM enrollments WHERE journey_id = $1 AND state = 'waiting'",
    )
    .bind(journey.id.get())
    .fetch_one(&mut connection)
    .await?;
    let shift =
        chrono::Utc::now().timestamp_millis() + i64::try_from(LEAD.as_millis())? - first_due;
    sqlx::query("UPDATE enrollments SET due_at = due_at + $1 WHERE journey_id = $2")
        .bind(shift)
        .bind(journey.id.get())
        .execute(&mut connection)
        .await?;

    let log = std::env::var("WAITING_LOG").unwrap_or_else(|_| "error".to_owned());
    let server = Wayfarer::start(database_url, &database.key_file, &log).await?;
    // Timers that came due before the server was up are late by the bench's doing.
    let first_due_in = first_due + shift - chrono::Utc::now().timestamp_millis();
    println!(
        "  server RSS with every contact waiting: {} MB (up {first_due_in} ms before the first \
         timer comes due)",
        server.rss_kb() / 1024
    );
    let firing = Instant::now();
    let mut still_waiting = waiting;
    let mut last_progress = Instant::now();
    while still_waiting > 0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM enrollments
             WHERE journey_id = $1 AND state IN ('waiting', 'active')",
        )
        .bind(journey.id.get())
        .fetch_one(&mut connection)
        .await?;
        if left < still_waiting {
            last_progress = Instant::now();
        } else if last_progress.elapsed() > Duration::from_secs(60) {
            return Err(format!("{left} contacts still wait a minute after the last left").into());
        }
        still_waiting = left;
    }
    println!(
        "  every timer fired {:.0} s after the server started; server peak RSS {} MB",
        firing.elapsed().as_secs_f64(),
        server.peak_rss_kb() / 1024
    );

    // When each contact reached the exit against when it entered the delay: a day and the
    // shift after that is when its timer came due.
    // Each node's visits read on their own and matched here: joined in SQL by contact, the
    // visits index (ordered by the branch before the contact) made it a scan per contact.
    let visits = |node: &'static str| {
        sqlx::query(
            "SELECT contact_id, visited_at FROM node_visits
             WHERE journey_id = $1 AND version = 1 AND node_id = $2",
        )
        .bind(journey.id.get())
        .bind(node)
    };
    let mut entered: HashMap<i64, i64> = HashMap::with_capacity(contacts);
    for row in visits("wait").fetch_all(&mut connection).await? {
        entered.insert(row.try_get("contact_id")?, row.try_get("visited_at")?);
    }
    let mut lateness: Vec<i64> = Vec::with_capacity(contacts);
    for row in visits("done").fetch_all(&mut connection).await? {
        let contact: i64 = row.try_get("contact_id")?;
        let exited: i64 = row.try_get("visited_at")?;
        if let Some(waited) = entered.get(&contact) {
            lateness.push(exited - waited - DAY_MS - shift);
        }
    }
    if lateness.len() != contacts {
        return Err(format!("{} of {contacts} contacts reached the exit", lateness.len()).into());
    }
    lateness.sort_unstable();
    println!(
        "  lateness (exit reached − timer due): p50 {} ms, p99 {} ms, max {} ms",
        support::percentile(&lateness, 50),
        support::percentile(&lateness, 99),
        lateness.last().copied().unwrap_or(0)
    );
    connection.close().await?;
    Ok(())
}

/// Enrolls every contact with a stored event through the engine; the clock starts a day back
/// and moves on with each round, so the entries (and the timers a day later) spread evenly
/// over `spread_secs`.
async fn enroll(store: &Store, contacts: usize, spread_secs: usize) -> support::BenchResult {
    let started = chrono::Utc::now().timestamp_millis() - DAY_MS;
    let clock = ManualClock::starting_at(started);
    let mut engine = Engine::new(
        store.clone(),
        Arc::new(clock.clone()),
        EngineSettings {
            poll_interval: Duration::from_millis(10),
            batch_size: ENROLLMENT_BATCH,
        },
    );
    #[expect(clippy::cast_precision_loss, reason = "counts and milliseconds")]
    let per_round = spread_secs as f64 * 1_000.0 * ENROLLMENT_BATCH as f64 / contacts as f64;
    let mut rounds = 0_u32;
    while engine.tick().await? > 0 {
        rounds += 1;
        #[expect(clippy::cast_possible_truncation, reason = "milliseconds")]
        clock.set(started + (f64::from(rounds) * per_round) as i64);
    }
    Ok(())
}
