//! What the engine writes for others, with group commit: events from the HTTP intake and the
//! delivery worker's attempt records.
//!
//! An fsync costs about as much as a thousand row inserts, so the requests that arrive while
//! one commit is under way are written together in the next one. The engine takes them: it
//! stores a group's events and matches them (enrolling, waking waits, stepping the contacts to
//! their next wait or exit, queuing their webhooks), and records the attempts, in one
//! transaction. Each request is answered only after that transaction has committed, so a 202
//! still means on disk. An event used to cost a commit for the intake, two for the engine and
//! one for its delivery's record, which took turns at SQLite's single writer.

use std::{collections::HashMap, sync::Arc};

use app::ids::{ContactId, EventId, MessageId};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    clock::{Millis, SharedClock},
    metrics::SharedMetrics,
    store::{AttemptRecord, Claimant, NewEvent, Store},
};

/// Requests that may wait for the writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 1_024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum IntakeError {
    #[error("the database did not store the events: {0}")]
    Database(Arc<sqlx::Error>),
    #[error("the event writer has stopped; the server is shutting down")]
    Stopped,
    /// External ids, sorted, that name no contact.
    #[error("no contact with external_id {}", quoted(.0))]
    UnknownContacts(Vec<String>),
}

/// The first few ids, quoted; an answer to a batch of a thousand unknown contacts names ten.
fn quoted(ids: &[String]) -> String {
    const NAMED: usize = 10;
    let named = ids
        .iter()
        .take(NAMED)
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(", ");
    match ids.len().checked_sub(NAMED) {
        Some(more) if more > 0 => format!("{named} and {more} more"),
        _ => named,
    }
}

/// An event as a client sent it: its contact named by external id, resolved when it is stored
/// (in the same transaction, so a contact deleted meanwhile cannot be half-referenced).
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingEvent {
    pub contact: String,
    pub name: String,
    /// JSON object.
    pub properties: String,
    pub message_id: Option<MessageId>,
    pub occurred_at: Millis,
    pub received_at: Millis,
}

type Reply = oneshot::Sender<Result<Vec<EventId>, IntakeError>>;

struct Request {
    /// Emptied once the group resolves them.
    events: Vec<IncomingEvent>,
    count: usize,
    reply: Reply,
}

/// Why attempts were not recorded through the engine.
#[derive(Debug)]
pub enum Unrecorded {
    /// The engine has stopped taking work: here they are back, to record otherwise.
    EngineStopped(Vec<AttemptRecord>),
    /// The database did not take them (the engine's transaction, or their own, failed): here
    /// they are back, to record once it does.
    Failed {
        error: IntakeError,
        records: Vec<AttemptRecord>,
    },
    /// The engine ended without answering (it panicked): the records went with it.
    Lost,
}

/// Attempts a delivery worker made, to record with its deliveries' new states.
pub struct Attempts {
    pub claimant: Claimant,
    pub records: Vec<AttemptRecord>,
    reply: oneshot::Sender<Result<(), Unrecorded>>,
}

enum Pending {
    Events(Request),
    Attempts(Attempts),
}

impl Pending {
    fn rows(&self) -> usize {
        match self {
            Self::Events(request) => request.count,
            Self::Attempts(attempts) => attempts.records.len(),
        }
    }
}

/// The handle request handlers use; clones share one queue, which the engine drains.
#[derive(Clone)]
pub struct EventIntake {
    requests: mpsc::Sender<Pending>,
}

/// The delivery worker's handle: attempts recorded in the engine's next transaction.
#[derive(Clone)]
pub struct AttemptLog {
    requests: mpsc::Sender<Pending>,
}

/// The engine's end of the queue.
pub struct IntakeQueue {
    queue: mpsc::Receiver<Pending>,
    /// A request received while waiting for one, taken by the next [`IntakeQueue::take`].
    first: Option<Pending>,
    closed: bool,
}

/// Requests taken together: written in one transaction.
#[derive(Default)]
pub struct Group {
    requests: Vec<Request>,
    /// The events of every request, their contacts resolved, once [`Group::resolve`] ran.
    resolved: Option<Vec<NewEvent>>,
    pub attempts: Vec<Attempts>,
}

impl EventIntake {
    pub fn new() -> (Self, IntakeQueue) {
        let (requests, queue) = mpsc::channel(QUEUE_DEPTH);
        let queue = IntakeQueue {
            queue,
            first: None,
            closed: false,
        };
        (Self { requests }, queue)
    }

    /// The handle through which a delivery worker has its attempts recorded.
    pub fn attempt_log(&self) -> AttemptLog {
        AttemptLog {
            requests: self.requests.clone(),
        }
    }

    /// Stores the events and returns their ids, in order, once they are committed.
    pub async fn append(&self, events: Vec<IncomingEvent>) -> Result<Vec<EventId>, IntakeError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Pending::Events(Request {
                count: events.len(),
                events,
                reply,
            }))
            .await
            .map_err(|_| IntakeError::Stopped)?;
        answer.await.map_err(|_| IntakeError::Stopped)?
    }
}

impl AttemptLog {
    /// Records the attempts; returns once they are committed, or gives them back once the
    /// engine has stopped taking work (it closes its queue and writes what the queue held
    /// before it stops, so nothing sent is left unanswered).
    pub async fn record(
        &self,
        claimant: Claimant,
        records: Vec<AttemptRecord>,
    ) -> Result<(), Unrecorded> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending::Attempts(Attempts {
            claimant,
            records,
            reply,
        });
        if let Err(mpsc::error::SendError(pending)) = self.requests.send(pending).await {
            return Err(match pending {
                Pending::Attempts(attempts) => Unrecorded::EngineStopped(attempts.records),
                Pending::Events(_) => Unrecorded::Lost,
            });
        }
        answer.await.unwrap_or(Err(Unrecorded::Lost))
    }
}

impl IntakeQueue {
    /// The intake of a process without an engine (`--role web`): stores each group's events
    /// unmatched, in one transaction, and answers; the workers' engines match them. Runs until
    /// `stop` turns true, then writes what is still queued.
    pub async fn store_only(
        mut self,
        store: Store,
        clock: SharedClock,
        metrics: SharedMetrics,
        group_size: usize,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                () = self.ready() => {}
                _ = stop.wait_for(|stop| *stop) => self.close(),
            }
            let group = self.take(group_size);
            if group.is_empty() {
                return;
            }
            write_alone(&store, &clock, &metrics, group).await;
        }
    }

    /// Waits until a request is waiting; never returns once every handle is dropped (the
    /// engine then only polls).
    pub async fn ready(&mut self) {
        if self.first.is_some() {
            return;
        }
        if !self.closed {
            match self.queue.recv().await {
                Some(request) => {
                    self.first = Some(request);
                    return;
                }
                None => self.closed = true,
            }
        }
        std::future::pending().await
    }

    /// Refuses new requests; those already queued can still be taken.
    pub fn close(&mut self) {
        self.queue.close();
    }

    /// The requests waiting now, without waiting: at least one if any, then more while they
    /// hold fewer than `max_rows` events and attempts together.
    pub fn take(&mut self, max_rows: usize) -> Group {
        let mut group = Group::default();
        let mut count = 0;
        while let Some(pending) = self.first.take().or_else(|| self.queue.try_recv().ok()) {
            count += pending.rows();
            match pending {
                Pending::Events(request) => group.requests.push(request),
                Pending::Attempts(attempts) => group.attempts.push(attempts),
            }
            if count >= max_rows {
                break;
            }
        }
        group
    }
}

impl Group {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.attempts.is_empty()
    }

    pub fn has_events(&self) -> bool {
        !self.requests.is_empty()
    }

    /// The external ids of every event's contact.
    pub fn contacts(&self) -> Vec<&str> {
        let mut contacts: Vec<&str> = self
            .requests
            .iter()
            .flat_map(|request| &request.events)
            .map(|event| event.contact.as_str())
            .collect();
        contacts.sort_unstable();
        contacts.dedup();
        contacts
    }

    /// The events with their contacts resolved, once [`Group::resolve`] ran.
    pub fn resolved(&self) -> Option<&[NewEvent]> {
        self.resolved.as_deref()
    }

    /// Resolves the events' contacts by `contacts`, keeping the order the requests came in. A
    /// request naming a contact that does not exist is answered at once and left out: its
    /// events are stored all or none, like a batch.
    pub fn resolve(&mut self, contacts: &HashMap<String, ContactId>) -> &[NewEvent] {
        let mut resolved = Vec::new();
        let mut kept = Vec::with_capacity(self.requests.len());
        for mut request in std::mem::take(&mut self.requests) {
            let mut unknown: Vec<String> = request
                .events
                .iter()
                .filter(|event| !contacts.contains_key(&event.contact))
                .map(|event| event.contact.clone())
                .collect();
            if !unknown.is_empty() {
                unknown.sort_unstable();
                unknown.dedup();
                let _ = request
                    .reply
                    .send(Err(IntakeError::UnknownContacts(unknown)));
                continue;
            }
            resolved.extend(request.events.drain(..).map(|event| NewEvent {
                contact_id: contacts[&event.contact],
                name: event.name,
                properties: event.properties,
                message_id: event.message_id,
                occurred_at: event.occurred_at,
                received_at: event.received_at,
            }));
            kept.push(request);
        }
        self.requests = kept;
        self.resolved.insert(resolved)
    }

    /// Answers every event request with its events' ids (`ids` in the order of the resolved
    /// events).
    pub fn stored(&mut self, ids: Vec<EventId>) {
        let mut ids = ids.into_iter();
        for request in self.requests.drain(..) {
            let own: Vec<EventId> = ids.by_ref().take(request.count).collect();
            // A caller that gave up (client disconnected) still has its events stored.
            let _ = request.reply.send(Ok(own));
        }
    }

    /// Answers every request, events and attempts alike, that the database is unavailable.
    pub fn unavailable(&mut self, error: &Arc<sqlx::Error>) {
        for request in self.requests.drain(..) {
            let _ = request
                .reply
                .send(Err(IntakeError::Database(error.clone())));
        }
        for attempts in self.attempts.drain(..) {
            attempts.unrecorded(IntakeError::Database(error.clone()));
        }
    }

    /// Answers every event request with the error that kept its events from being stored.
    pub fn failed(&mut self, error: sqlx::Error) {
        tracing::error!(%error, requests = self.requests.len(), "storing events failed");
        let error = Arc::new(error);
        for request in self.requests.drain(..) {
            let _ = request
                .reply
                .send(Err(IntakeError::Database(error.clone())));
        }
    }
}

/// Writes a group without matching its events (a later round matches them) and records its
/// attempts, each in a transaction of its own; answers every request.
pub async fn write_alone(
    store: &Store,
    clock: &SharedClock,
    metrics: &SharedMetrics,
    mut group: Group,
) {
    if group.has_events() {
        match store_unmatched(store, &mut group).await {
            Ok(ids) => {
                metrics.events_stored(ids.len());
                group.stored(ids);
            }
            Err(error) => group.failed(error),
        }
    }
    for attempts in group.attempts.drain(..) {
        let recorded = store
            .record_attempts(attempts.claimant, &attempts.records, clock.now())
            .await;
        attempts.answer(recorded);
    }
}

/// Stores the group's events unmatched; their ids, in order.
async fn store_unmatched(store: &Store, group: &mut Group) -> sqlx::Result<Vec<EventId>> {
    if group.resolved().is_none() {
        let contacts = store.contact_ids(&group.contacts()).await?;
        group.resolve(&contacts);
    }
    store
        .insert_events(group.resolved().unwrap_or_default())
        .await
}

impl Attempts {
    /// Tells the worker whether its attempts are recorded; if not, gives them back.
    pub fn answer(self, recorded: sqlx::Result<()>) {
        match recorded {
            Ok(()) => {
                let _ = self.reply.send(Ok(()));
            }
            Err(error) => self.unrecorded(IntakeError::Database(Arc::new(error))),
        }
    }

    fn unrecorded(self, error: IntakeError) {
        let _ = self.reply.send(Err(Unrecorded::Failed {
            error,
            records: self.records,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_names_at_most_ten_unknown_contacts() {
        let ids = |count: usize| (0..count).map(|n| format!("c{n}")).collect::<Vec<_>>();
        assert_eq!(quoted(&ids(2)), "\"c0\", \"c1\"");
        assert_eq!(quoted(&ids(10)).matches('"').count(), 20);
        let many = quoted(&ids(999));
        assert!(many.starts_with("\"c0\", "), "{many}");
        assert!(many.ends_with("\"c9\" and 989 more"), "{many}");
    }
}
