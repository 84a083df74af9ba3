//! The crash harness: each contact is owed one webhook after 3 seconds (a delay; or a wait for
//! a purchase that half of them make, each branch sending its own webhook); the real server
//! binary is killed with SIGKILL several times while those webhooks go out, and restarted on
//! the same database each time. A receiver that verifies signatures counts what arrives: every
//! contact's webhook (no loss), from the right branch, duplicates only for requests in flight
//! at a kill.
//!
//! CI runs it small. The full size, printing its figures:
//! `WAYFARER_CRASH_CONTACTS=10000 WAYFARER_CRASH_KILLS=3 .ci/postgres cargo nextest run
//! --release -p server crash --no-capture`

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use app::{
    api::SigningSecretOut,
    ids::WebhookId,
    journey::{
        Branch, Delay, JourneyDocument, NodeKind, Span, TimeUnit, WaitForEvent, WaitTarget,
        fixtures::{chain, edge, node, trigger, webhook_with},
    },
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    Answer, Backend, Received, Receiver, TestDatabase, WayfarerProcess, free_port, verify_signature,
};

/// How long before a kill an answered request may still be unrecorded: its attempt waits up to
/// 5 ms to share a commit, then for SQLite's writer behind the engine's round.
const UNRECORDED_AT_A_KILL: Duration = Duration::from_millis(500);

/// How long after a kill the receiver may still read a request the killed process wrote: it
/// is timed when read, and a busy machine reads it late (the replacement is still starting).
const READ_AFTER_A_KILL: Duration = Duration::from_millis(200);

backend_tests!(
    killed_while_delivering_every_webhook_arrives,
    killed_while_waits_end_every_contact_takes_its_branch,
    killed_while_texting_every_contact_gets_its_text,
);

/// What the contacts go through before their webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// signup → 3 s delay → webhook.
    Delay,
    /// signup → wait 3 s for purchase → (event) webhook "event" / (timeout) webhook "timeout";
    /// even-numbered contacts purchase a second after signing up.
    HalfPurchase,
}

/// Messages (and webhook requests) a process has in flight at once, by default.
const IN_FLIGHT: usize = 16;

/// How long the receiver takes to answer: requests are in flight when a kill lands.
const RECEIVER_LATENCY: Duration = Duration::from_millis(50);

fn size(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

async fn killed_while_delivering_every_webhook_arrives(backend: Backend) {
    run(backend, Scenario::Delay).await;
}

async fn killed_while_waits_end_every_contact_takes_its_branch(backend: Backend) {
    run(backend, Scenario::HalfPurchase).await;
}

fn draft(scenario: Scenario, webhook: WebhookId) -> Value {
    let three_seconds = NodeKind::Delay(Delay {
        duration: Span::new(3, TimeUnit::Seconds),
    });
    let hook = |branch: &str| {
        webhook_with(
            webhook,
            &[("contact", "{{contact.external_id}}"), ("branch", branch)],
        )
    };
    match scenario {
        Scenario::Delay => json!(chain(
            "signup",
            vec![("wait", three_seconds), ("hook", hook("delay"))]
        )),
        Scenario::HalfPurchase => {
            let wait = NodeKind::WaitForEvent(WaitForEvent {
                until: WaitTarget::Event {
                    event: "purchase".to_owned(),
                },
                timeout: Span::new(3, TimeUnit::Seconds),
            });
            let nodes = vec![
                node("start", trigger("signup")),
                node("wait", wait),
                node("bought", hook("event")),
                node("missed", hook("timeout")),
                node("done", NodeKind::Exit),
            ];
            let edges = vec![
                edge("start", Branch::Next, "wait"),
                edge("wait", Branch::Event, "bought"),
                edge("wait", Branch::Timeout, "missed"),
                edge("bought", Branch::Next, "done"),
                edge("missed", Branch::Next, "done"),
            ];
            json!(JourneyDocument { nodes, edges })
        }
    }
}

async fn run(backend: Backend, scenario: Scenario) {
    let contacts = size("WAYFARER_CRASH_CONTACTS", 400);
    let kills = size("WAYFARER_CRASH_KILLS", 2);
    let database = TestDatabase::create(backend).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Hang(RECEIVER_LATENCY));
    let port = free_port();
    let mut server = WayfarerProcess::start(&database, port, &[]).await;
    let (webhook, journey) = server
        .publish_with_webhook(
            &json!({"name": "CRM", "url": receiver.url("/hook")}),
            |webhook| draft(scenario, webhook),
        )
        .await;
    let secret: SigningSecretOut = server
        .call(
            Method::GET,
            &format!("/api/v1/webhooks/{}/signing-secret", webhook.id),
            None,
            200,
        )
        .await;

    let ids: Vec<String> = (0..contacts).map(|n| format!("c{n}")).collect();
    let signed_up_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64);
    server
        .contacts_with_events(
            &ids,
            |id| json!({"contact": id, "event": "signup", "occurred_at": signed_up_at}),
        )
        .await;
    if scenario == Scenario::HalfPurchase {
        // A second after signing up, by their own clocks: inside the 3 seconds whenever the
        // server gets to it.
        let purchases = ids
            .iter()
            .step_by(2)
            .map(|id| json!({"contact": id, "event": "purchase", "occurred_at": signed_up_at + 1_000}))
            .collect();
        server.events(purchases).await;
    }

    // Kill while the webhooks are going out: the first once some have arrived, the next ones
    // a little after each restart.
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.received().is_empty() {
        assert!(Instant::now() < deadline, "deliveries start within 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut arrived_at_kills = Vec::new();
    let mut killed_at = Vec::new();
    let first_kill_at = Instant::now();
    let mut restarted_at = Instant::now();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.kill();
        killed_at.push(Instant::now());
        arrived_at_kills.push(receiver.received().len());
        server = WayfarerProcess::start(&database, port, &[]).await;
        restarted_at = Instant::now();
    }

    let deadline = restarted_at + Duration::from_secs(60);
    let mut all_arrived_after = None;
    while Instant::now() < deadline {
        if unique_ids(&receiver) >= contacts {
            all_arrived_after = Some(restarted_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Anything sent twice after that would still show.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let received = receiver.received();
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    let mut bad_signatures = 0;
    let mut wrong_branch = Vec::new();
    for request in &received {
        let id = request.header("webhook-id");
        *per_id.entry(id).or_default() += 1;
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let custom = &body["data"]["custom_data"];
        let contact: usize = custom["contact"]
            .as_str()
            .and_then(|contact| contact.trim_start_matches('c').parse().ok())
            .unwrap_or(usize::MAX);
        let expected = match scenario {
            Scenario::Delay => "delay",
            Scenario::HalfPurchase if contact.is_multiple_of(2) => "event",
            Scenario::HalfPurchase => "timeout",
        };
        if custom["branch"] != expected {
            wrong_branch.push(format!("c{contact}: {}", custom["branch"]));
        }
        if !verify_signature(
            &secret.secret,
            id,
            request.header("webhook-timestamp"),
            &request.body,
            request.header("webhook-signature"),
        ) {
            bad_signatures += 1;
        }
    }
    let lost = contacts.saturating_sub(per_id.len());
    // The longest the receiver heard nothing from the first kill until all had arrived: a
    // restart costs its own start-up, and on PostgreSQL the dead process's claims lapse within
    // the lease; claims stranded for minutes would show here.
    let longest_silence = longest_silence(&received, first_kill_at);
    let duplicates = received.len() - per_id.len();
    let stats = server.stats(journey.id).await;
    let (reached, accepted) = stats
        .nodes
        .iter()
        .filter_map(|node| Some((node.reached, node.deliveries?.accepted)))
        .fold((0, 0), |(reached, accepted), (more, also)| {
            (reached + more, accepted + also)
        });
    println!(
        "crash harness ({}, {scenario:?}): {contacts} contacts, {kills} kills (requests \
         arrived by each: {arrived_at_kills:?}); received {} requests, {} distinct: lost \
         {lost}, duplicates {duplicates}, bad signatures {bad_signatures}, wrong branch {}; all \
         arrived {} after the last restart, the receiver's longest silence since the first kill \
         {longest_silence:.1?}; webhook nodes: reached {reached}, accepted {accepted}",
        backend.name(),
        received.len(),
        per_id.len(),
        wrong_branch.len(),
        all_arrived_after.map_or_else(|| "not".to_owned(), |after| format!("{after:.1?}")),
    );
    assert_eq!(lost, 0, "every contact's webhook arrives");
    assert_eq!(bad_signatures, 0);
    // A request is sent again only when the process that sent it died before recording its
    // answer: its first copy arrived shortly before a kill. How many that is depends on how
    // many answers were waiting for SQLite's writer at that instant (in flight, and finished
    // but not yet committed), which a busy machine stretches; a request sent again that had
    // been answered well before any kill would mean an accepted delivery was not kept.
    let mut first_arrival: HashMap<&str, Instant> = HashMap::new();
    for request in &received {
        first_arrival
            .entry(request.header("webhook-id"))
            .and_modify(|at| *at = (*at).min(request.at))
            .or_insert(request.at);
    }
    let repeated_long_before_a_kill: Vec<&str> = per_id
        .iter()
        .filter(|(_, copies)| **copies > 1)
        .map(|(id, _)| *id)
        .filter(|id| {
            let first = first_arrival[id];
            !killed_at.iter().any(|kill| {
                first.saturating_duration_since(*kill) <= READ_AFTER_A_KILL
                    && kill.saturating_duration_since(first) <= UNRECORDED_AT_A_KILL
            })
        })
        .collect();
    // Signed milliseconds from the first kill, to read a failure by.
    let since_first_kill = |at: Instant| {
        let after = at.saturating_duration_since(first_kill_at).as_millis() as i64;
        after - first_kill_at.saturating_duration_since(at).as_millis() as i64
    };
    let arrivals: Vec<(&str, Vec<i64>)> = repeated_long_before_a_kill
        .iter()
        .map(|id| {
            let times = received
                .iter()
                .filter(|request| request.header("webhook-id") == *id)
                .map(|request| since_first_kill(request.at))
                .collect();
            (*id, times)
        })
        .collect();
    let kills_ms: Vec<i64> = killed_at.iter().map(|at| since_first_kill(*at)).collect();
    assert!(
        repeated_long_before_a_kill.is_empty(),
        "only requests answered within {UNRECORDED_AT_A_KILL:?} before a kill are sent again \
         ({duplicates} repeats); these were answered earlier (their arrivals, in ms from the first kill; the kills: \
         {kills_ms:?}): {arrivals:?}"
    );
    assert!(wrong_branch.is_empty(), "{wrong_branch:?}");
    assert_eq!(reached, contacts as i64);
    assert_eq!(accepted, contacts as i64);
    assert!(
        longest_silence < Duration::from_secs(10),
        "after a kill, deliveries go out again within seconds, not when a long lease lapses: \
         {longest_silence:?}"
    );
}

fn unique_ids(receiver: &Receiver) -> usize {
    let received = receiver.received();
    let mut ids: Vec<&str> = received
        .iter()
        .map(|request| request.header("webhook-id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// signup → an SMS through a provider that passes the message id as its idempotency key →
/// exit; the process is killed while the texts go out. Every contact's text reaches the
/// provider, a text sent again carries the same key (so a provider that honours it sends it
/// once), and a killed process's claims lapse within seconds, not minutes.
async fn killed_while_texting_every_contact_gets_its_text(backend: Backend) {
    let contacts = size("WAYFARER_CRASH_CONTACTS", 400);
    let kills = size("WAYFARER_CRASH_KILLS", 2);
    let database = TestDatabase::create(backend).await;
    let provider = Receiver::start().await;
    provider.always(Answer::Hang(RECEIVER_LATENCY));
    let port = free_port();
    let mut server = WayfarerProcess::start(&database, port, &[]).await;
    let _: Value = server
        .call(
            Method::PUT,
            "/api/v1/channels/sms",
            Some(&json!({"provider": {
                "url": provider.url("/send"),
                "body_format": "form",
                "body": "To={{message.to}}&Body={{message.text}}",
                "headers": [{"key": "Idempotency-Key", "value": "{{message.id}}"}],
                "receipts": {
                    "auth": {"type": "hmac", "header": "X-Signature", "secret": "receipts"},
                    "message_path": "$.ref", "status_path": "$.status"},
            }})),
            200,
        )
        .await;
    let template: Value = server
        .call(
            Method::POST,
            "/api/v1/templates",
            Some(&json!({"name": "Welcome", "content": {"channel": "sms", "text": "Hi {{contact.external_id}}"}})),
            201,
        )
        .await;
    let draft = chain(
        "signup",
        vec![(
            "text",
            NodeKind::Action(app::journey::Action {
                channel: app::journey::Channel::Sms,
                template: serde_json::from_value(template["id"].clone()).ok(),
                message: String::new(),
            }),
        )],
    );
    let journey: Value = server
        .call(
            Method::POST,
            "/api/v1/journeys",
            Some(&json!({"name": "texts", "draft": draft})),
            201,
        )
        .await;
    let journey_id = journey["id"].as_i64().expect("an id");
    let _: Value = server
        .call(
            Method::POST,
            &format!("/api/v1/journeys/{journey_id}/publish"),
            None,
            201,
        )
        .await;

    let ids: Vec<String> = (0..contacts).map(|n| format!("c{n}")).collect();
    for chunk in ids.chunks(1_000) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|id| json!({"external_id": id, "attributes": {"phone": format!("+33{id}")}}))
            .collect();
        let _: Value = server
            .call(
                Method::POST,
                "/api/v1/contacts/batch",
                Some(&json!({"contacts": batch})),
                200,
            )
            .await;
    }
    server
        .events(
            ids.iter()
                .map(|id| json!({"contact": id, "event": "signup"}))
                .collect(),
        )
        .await;

    let deadline = Instant::now() + Duration::from_secs(60);
    while provider.received().is_empty() {
        assert!(Instant::now() < deadline, "texts start within 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first_kill_at = Instant::now();
    let mut restarted_at = Instant::now();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.kill();
        server = WayfarerProcess::start(&database, port, &[]).await;
        restarted_at = Instant::now();
    }
    let keys = || {
        let mut keys: Vec<String> = provider
            .received()
            .iter()
            .map(|request| request.header("idempotency-key").to_owned())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys.len()
    };
    let deadline = restarted_at + Duration::from_secs(60);
    while keys() < contacts && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = provider.received();
    let mut per_key: HashMap<&str, usize> = HashMap::new();
    for request in &received {
        *per_key
            .entry(request.header("idempotency-key"))
            .or_default() += 1;
    }
    let longest_silence = longest_silence(&received, first_kill_at);
    let stats = server.stats(app::ids::JourneyId(journey_id)).await;
    let sent = stats
        .nodes
        .iter()
        .find(|node| node.node_id == "text")
        .and_then(|node| node.messages)
        .map_or(0, |counts| counts.sent);
    println!(
        "crash harness ({}, texts): {contacts} contacts, {kills} kills; the provider received \
         {} requests, {} distinct messages (sent again after a kill: {}); the longest silence \
         since the first kill {longest_silence:.1?}; the node counts {sent} sent",
        backend.name(),
        received.len(),
        per_key.len(),
        received.len() - per_key.len(),
    );
    assert_eq!(
        per_key.len(),
        contacts,
        "every contact's text reaches the provider"
    );
    // Outcomes are recorded as they come, so a kill sends again what was in flight (16) and
    // what had just finished, not the whole round's (recorded at its end, it was 48 to 96).
    let sent_again = received.len() - per_key.len();
    assert!(
        sent_again <= kills * 2 * IN_FLIGHT,
        "{sent_again} texts sent again over {kills} kills"
    );
    assert!(
        per_key.keys().all(|key| !key.is_empty()),
        "every text carries its key"
    );
    assert_eq!(sent, contacts as i64);
    assert!(
        longest_silence < Duration::from_secs(20),
        "after a kill, texts go out again within seconds, not when a long lease lapses: \
         {longest_silence:?}"
    );
}

/// The longest the receiver heard nothing, from `since` to its last request.
fn longest_silence(received: &[Received], since: Instant) -> Duration {
    let mut arrivals: Vec<Instant> = received.iter().map(|request| request.at).collect();
    arrivals.sort_unstable();
    arrivals
        .iter()
        .filter(|at| **at >= since)
        .fold((since, Duration::ZERO), |(previous, longest), at| {
            (*at, longest.max(at.duration_since(previous)))
        })
        .1
}
