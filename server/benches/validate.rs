//! Validation of the largest journey accepted ([`app::journey::MAX_NODES`] nodes): what a
//! publish, every draft save and the editor (on each edit, in the browser) pay. Prints the
//! median of 25 rounds beside the bare cost of copying the document, measured in the same run.
//!
//!     cargo bench -p server --bench validate

use std::time::{Duration, Instant};

use app::journey::{
    Branch, Journey, JourneyDocument, MAX_EDGES, MAX_NODES, NodeKind,
    fixtures::{condition_country, delay, edge, email, node, trigger, wait_for_event, webhook},
};

/// A trigger, then delays, conditions, emails, waits and webhooks in turn, each leading to the
/// next; every condition's "no" loops back through the delay before it; an exit at the end.
fn largest_journey() -> JourneyDocument {
    let id = |n: usize| format!("n{n}");
    let mut nodes = vec![node(&id(0), trigger("signup"))];
    let mut edges = Vec::new();
    for n in 1..MAX_NODES - 1 {
        let kind = match n % 5 {
            1 => delay(60),
            2 => condition_country("CA"),
            3 => email("hello"),
            4 => wait_for_event("purchase", 60),
            _ => webhook(1),
        };
        nodes.push(node(&id(n), kind));
    }
    nodes.push(node(&id(MAX_NODES - 1), NodeKind::Exit));
    for n in 0..MAX_NODES - 1 {
        match n % 5 {
            2 if n > 0 => {
                edges.push(edge(&id(n), Branch::Yes, &id(n + 1)));
                edges.push(edge(&id(n), Branch::No, &id(n - 1)));
            }
            4 => {
                edges.push(edge(&id(n), Branch::Event, &id(n + 1)));
                edges.push(edge(&id(n), Branch::Timeout, &id(n + 1)));
            }
            _ => edges.push(edge(&id(n), Branch::Next, &id(n + 1))),
        }
    }
    assert!(edges.len() <= MAX_EDGES);
    JourneyDocument { nodes, edges }
}

fn median(mut rounds: Vec<Duration>) -> Duration {
    rounds.sort_unstable();
    rounds[rounds.len() / 2]
}

fn main() {
    let document = largest_journey();
    let (nodes, edges) = (document.nodes.len(), document.edges.len());
    let problems = Journey::from_document(document.clone())
        .expect("a graph")
        .validate();
    assert!(
        problems.is_empty(),
        "the bench journey is valid: {problems:?}"
    );

    let mut copy = Vec::new();
    let mut validate = Vec::new();
    for _ in 0..25 {
        let started = Instant::now();
        let cloned = std::hint::black_box(document.clone());
        copy.push(started.elapsed());
        let started = Instant::now();
        let journey = Journey::from_document(cloned).expect("a graph");
        std::hint::black_box(journey.validate());
        validate.push(started.elapsed());
    }
    println!("journey: {nodes} nodes, {edges} connections (the largest accepted)");
    println!(
        "bare copy of the document: median {:.2} ms",
        median(copy).as_secs_f64() * 1e3
    );
    println!(
        "graph built and validated: median {:.2} ms",
        median(validate).as_secs_f64() * 1e3
    );
}
