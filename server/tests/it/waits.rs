//! "Did A but not B within T": a wait for B counts every B of the contact since the run began
//! (its trigger event), whatever the batching; events that came while the journey was paused
//! count on resume; one event resumes one wait.

use std::{collections::HashMap, time::Duration};

use app::{
    api::{JourneyStatsOut, Reentry},
    ids::JourneyId,
    journey::JourneyDocument,
};
use serde_json::{Value, json};

use crate::support::{Backend, TestServer};

backend_tests!(
    an_awaited_event_counts_the_same_whatever_the_batching,
    events_that_came_while_paused_are_heard_on_resume,
    one_event_resumes_one_wait,
);

const MINUTE: i64 = 60_000;

/// signup → wait 10 min for `purchase` → (event) "bought" / (timeout) "missed", both exits;
/// with a second wait for `purchase` between the first and "bought" when `twice`.
fn did_a_but_not_b(twice: bool) -> JourneyDocument {
    let node = |id: &str, kind: &str, settings: Value| json!({"id": id, "position": {"x": 0, "y": 0}, "kind": kind, "settings": settings});
    let wait = |id: &str| {
        node(
            id,
            "wait_for_event",
            json!({"until": {"type": "event", "event": "purchase"},
                   "timeout": {"value": 10, "unit": "minutes"}}),
        )
    };
    let edge =
        |from: &str, branch: &str, to: &str| json!({"from": from, "branch": branch, "to": to});
    let mut nodes = vec![
        node("start", "trigger", json!({"event": "signup"})),
        wait("wait"),
        node("bought", "exit", json!(null)),
        node("missed", "exit", json!(null)),
    ];
    let mut edges = vec![
        edge("start", "next", "wait"),
        edge("wait", "timeout", "missed"),
    ];
    if twice {
        nodes.push(wait("again"));
        edges.extend([
            edge("wait", "event", "again"),
            edge("again", "event", "bought"),
            edge("again", "timeout", "missed"),
        ]);
    } else {
        edges.push(edge("wait", "event", "bought"));
    }
    serde_json::from_value(json!({"nodes": nodes, "edges": edges})).expect("a document")
}

/// Where each contact's run ended, once all `contacts` have ended (or after ten seconds).
async fn endings(
    server: &TestServer,
    journey: JourneyId,
    contacts: usize,
) -> HashMap<String, String> {
    let mut connection = server.database_connection().await;
    let mut ended = HashMap::new();
    for _ in 0..1_000 {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.external_id, n.node_id FROM enrollments n
             JOIN contacts c ON c.id = n.contact_id
             WHERE n.journey_id = $1 AND n.state = 'exited'",
        )
        .bind(journey)
        .fetch_all(&mut connection)
        .await
        .expect("runs");
        ended = rows.into_iter().collect();
        if ended.len() == contacts {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ended
}

async fn contacts(server: &TestServer, count: usize) {
    let contacts: Vec<Value> = (0..count)
        .map(|n| json!({"external_id": format!("c{n}")}))
        .collect();
    let response = server
        .post_json("/api/v1/contacts/batch", &json!({ "contacts": contacts }))
        .await;
    assert_eq!(response.status(), 200);
}

/// A small deterministic generator: the cases are the same on every run and every machine.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

/// Each contact signs up (A) and may purchase (B) at a time before, at or after A's, inside or
/// past the 10-minute window; the events are sent in random order (A before B or not) in
/// batches of random sizes while the engine runs. Every contact's branch must be the reference
/// model's: B counts if it happened after A (at the same millisecond: if it was sent after A)
/// and within the 10 minutes; when the engine processed what does not matter.
async fn an_awaited_event_counts_the_same_whatever_the_batching(backend: Backend) {
    const CONTACTS: usize = 120;
    let server = TestServer::start(backend).await;
    let journey = server
        .publish_journey(Reentry::Once, did_a_but_not_b(false))
        .await;
    contacts(&server, CONTACTS).await;
    let start = server.clock().now_millis();
    let mut random = Xorshift(0x5eed_cafe_f00d_d00d);
    let offsets = [
        -MINUTE,
        0,
        1,
        5 * MINUTE,
        10 * MINUTE - 1,
        10 * MINUTE,
        11 * MINUTE,
    ];
    let mut expected = HashMap::new();
    let mut events = Vec::new();
    for n in 0..CONTACTS {
        let contact = format!("c{n}");
        let signup = json!({"contact": contact, "event": "signup", "occurred_at": start});
        let purchase_at =
            (random.below(4) > 0).then(|| start + offsets[random.below(offsets.len())]);
        let purchase_first = random.below(3) == 0;
        let counts = match purchase_at {
            // Later than the signup, or at the same time and sent after it.
            Some(at) => {
                (at > start || (at == start && !purchase_first)) && at < start + 10 * MINUTE
            }
            None => false,
        };
        expected.insert(
            contact.clone(),
            if counts { "bought" } else { "missed" }.to_owned(),
        );
        let purchase = purchase_at
            .map(|at| json!({"contact": contact, "event": "purchase", "occurred_at": at}));
        match (purchase, purchase_first) {
            (Some(purchase), true) => events.extend([purchase, signup]),
            (Some(purchase), false) => events.extend([signup, purchase]),
            (None, _) => events.push(signup),
        }
    }
    // Interleave the contacts while keeping each one's order: repeatedly take the next event
    // of a random contact with events left.
    let mut queues: Vec<Vec<Value>> = Vec::new();
    let mut per_contact: HashMap<String, usize> = HashMap::new();
    for event in events {
        let contact = event["contact"].as_str().unwrap_or_default().to_owned();
        let index = *per_contact.entry(contact).or_insert_with(|| {
            queues.push(Vec::new());
            queues.len() - 1
        });
        queues[index].push(event);
    }
    for queue in &mut queues {
        queue.reverse();
    }
    let mut interleaved = Vec::new();
    while !queues.is_empty() {
        let pick = random.below(queues.len());
        if let Some(event) = queues[pick].pop() {
            interleaved.push(event);
        }
        if queues[pick].is_empty() {
            queues.swap_remove(pick);
        }
    }
    let mut remaining = interleaved.as_slice();
    while !remaining.is_empty() {
        let size = (1 + random.below(12)).min(remaining.len());
        let (batch, rest) = remaining.split_at(size);
        let response = server
            .post_json("/api/v1/events/batch", &json!({ "events": batch }))
            .await;
        assert_eq!(response.status(), 202);
        remaining = rest;
        if random.below(4) == 0 {
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }
    // Everyone is waiting or already through; past the window, the rest time out.
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.clock().advance(10 * MINUTE + 1);
    let ended = endings(&server, journey, CONTACTS).await;
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(contact, branch)| ended.get(*contact) != Some(*branch))
        .map(|(contact, branch)| {
            format!(
                "{contact}: expected {branch}, ended at {:?}",
                ended.get(contact)
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {CONTACTS} wrong: {wrong:#?}",
        wrong.len()
    );
    // The canvas counts each of the wait's outputs: the contacts that took it.
    let took = |branch: &str| expected.values().filter(|ended| *ended == branch).count();
    let stats: JourneyStatsOut = server.journey_stats(journey).await;
    let left_by = |node: &str| -> Vec<(String, i64)> {
        stats
            .nodes
            .iter()
            .find(|stats| stats.node_id.as_str() == node)
            .map(|stats| {
                stats
                    .left_by
                    .iter()
                    .map(|count| (count.branch.to_string(), count.contacts))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        left_by("wait"),
        [
            ("event".to_owned(), took("bought") as i64),
            ("timeout".to_owned(), took("missed") as i64)
        ]
    );
    assert_eq!(left_by("start"), [("next".to_owned(), CONTACTS as i64)]);
    assert_eq!(left_by("bought"), []);
}

async fn events_that_came_while_paused_are_heard_on_resume(backend: Backend) {
    let server = TestServer::start(backend).await;
    let journey = server
        .publish_journey(Reentry::Once, did_a_but_not_b(false))
        .await;
    contacts(&server, 1).await;
    let signup = server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "c0", "event": "signup"}),
        )
        .await;
    assert_eq!(signup.status(), 202);
    wait_for_waiting(&server, journey).await;
    let paused = server
        .post(&format!("/api/v1/journeys/{journey}/pause"))
        .await;
    assert_eq!(paused.status(), 200);
    server.clock().advance(MINUTE);
    let purchase = server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "c0", "event": "purchase"}),
        )
        .await;
    assert_eq!(purchase.status(), 202);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let resumed = server
        .post(&format!("/api/v1/journeys/{journey}/resume"))
        .await;
    assert_eq!(resumed.status(), 200);
    // No clock move: the contact leaves by "event" now, not at the timeout.
    let ended = endings(&server, journey, 1).await;
    assert_eq!(ended.get("c0").map(String::as_str), Some("bought"));
}

async fn wait_for_waiting(server: &TestServer, journey: JourneyId) {
    for _ in 0..500 {
        let stats: JourneyStatsOut = server.journey_stats(journey).await;
        if stats
            .nodes
            .iter()
            .any(|node| node.node_id == "wait" && node.waiting == 1)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the contact waits within five seconds");
}

/// Signup and one purchase in the same batch: the purchase passes the first wait, and the
/// second wait for a purchase needs another one.
async fn one_event_resumes_one_wait(backend: Backend) {
    let server = TestServer::start(backend).await;
    let journey = server
        .publish_journey(Reentry::Once, did_a_but_not_b(true))
        .await;
    contacts(&server, 2).await;
    let batch = json!({"events": [
        {"contact": "c0", "event": "signup"},
        {"contact": "c0", "event": "purchase"},
        {"contact": "c1", "event": "signup"},
        {"contact": "c1", "event": "purchase"},
    ]});
    assert_eq!(
        server
            .post_json("/api/v1/events/batch", &batch)
            .await
            .status(),
        202
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.clock().advance(MINUTE);
    let second = server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "c1", "event": "purchase"}),
        )
        .await;
    assert_eq!(second.status(), 202);
    let ended = endings(&server, journey, 1).await;
    assert_eq!(ended.get("c1").map(String::as_str), Some("bought"));
    server.clock().advance(10 * MINUTE);
    let ended = endings(&server, journey, 2).await;
    assert_eq!(
        ended.get("c0").map(String::as_str),
        Some("missed"),
        "one purchase passed only the first wait"
    );
}
