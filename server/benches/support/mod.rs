//! What the benches share: a size from the command line, knobs from the environment, contacts
//! with one event each, and the server binary run from outside.

pub mod wayfarer;

use server::store::{NewEvent, Store};

pub type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// The first argument that is not a flag, as a count; `default` without one.
pub fn count_argument(default: usize) -> BenchResult<usize> {
    Ok(std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .map(|arg| arg.parse())
        .transpose()?
        .unwrap_or(default))
}

/// A knob from the environment, or its default.
pub fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The value `percent` % of the way through `sorted` (nearest rank); the default when empty.
pub fn percentile<T: Copy + Default>(sorted: &[T], percent: usize) -> T {
    let index = (sorted.len().saturating_sub(1) * percent + 50) / 100;
    sorted.get(index).copied().unwrap_or_default()
}

/// Stores contacts `c0…` (attributes from `attributes(n)`) and one event `event` for each,
/// a thousand per transaction.
pub async fn contacts_with_an_event(
    store: &Store,
    contacts: usize,
    attributes: impl Fn(usize) -> String,
    event: &str,
    now: i64,
) -> BenchResult {
    for start in (0..contacts).step_by(1_000) {
        let numbers = start..contacts.min(start + 1_000);
        let rows: Vec<(String, String)> =
            numbers.map(|n| (format!("c{n}"), attributes(n))).collect();
        let upserts: Vec<(&str, String)> = rows
            .iter()
            .map(|(id, attributes)| (id.as_str(), attributes.clone()))
            .collect();
        store.upsert_contacts(&upserts, now).await?;
        let ids: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
        let contact_ids = store.contact_ids(&ids).await?;
        let events: Vec<NewEvent> = ids
            .iter()
            .map(|id| NewEvent {
                contact_id: contact_ids[*id],
                name: event.to_owned(),
                properties: "{}".to_owned(),
                message_id: None,
                occurred_at: now,
                received_at: now,
            })
            .collect();
        store.insert_events(&events).await?;
    }
    Ok(())
}

/// Sends the request; `Err` names what went wrong unless the answer is a success.
pub async fn succeeded(request: reqwest::RequestBuilder) -> Result<(), String> {
    match request.send().await {
        Ok(answer) if answer.status().is_success() => Ok(()),
        Ok(answer) => Err(format!("answered {}", answer.status())),
        Err(error) => Err(error.to_string()),
    }
}

/// Sends `requests` requests made by `request(n)`, `in_flight` at a time, each required to
/// succeed: the bare rate a bench compares its durable one with. The seconds it took.
pub async fn bare_requests(
    requests: usize,
    in_flight: usize,
    request: impl Fn(usize) -> reqwest::RequestBuilder,
) -> BenchResult<f64> {
    let started = std::time::Instant::now();
    let mut sending = tokio::task::JoinSet::new();
    for n in 0..requests {
        if sending.len() >= in_flight
            && let Some(done) = sending.join_next().await
        {
            done??;
        }
        sending.spawn(succeeded(request(n)));
    }
    while let Some(done) = sending.join_next().await {
        done??;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// The middle of a run's rates: this machine's speed drifts, so rounds are compared by it.
pub fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}
