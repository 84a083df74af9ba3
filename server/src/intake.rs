//! Durable event intake with group commit, handed straight to the engine.
//!
//! An fsync costs about as much as a thousand row inserts, so the requests that arrive while
//! one commit is under way are written together in the next one. The engine takes them: it
//! stores a group's events and matches them (enrolling, waking waits, stepping the contacts to
//! their next wait or exit, queuing their webhooks) in one transaction. Each request is
//! answered only after that transaction has committed, so a 202 still means on disk, and an
//! event costs one commit instead of one for the intake and two for the engine, which on
//! SQLite's single writer took turns.

use std::{collections::HashMap, sync::Arc};

use app::ids::{ContactId, EventId, MessageId};
use tokio::sync::{mpsc, oneshot};

use crate::{clock::Millis, store::NewEvent};

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

fn quoted(ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(", ")
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

/// The handle request handlers use; clones share one queue, which the engine drains.
#[derive(Clone)]
pub struct EventIntake {
    requests: mpsc::Sender<Request>,
}

/// The engine's end of the intake.
pub struct IntakeQueue {
    queue: mpsc::Receiver<Request>,
    /// A request received while waiting for one, taken by the next [`IntakeQueue::take`].
    first: Option<Request>,
    closed: bool,
}

/// Requests taken together: their events are stored in one transaction.
#[derive(Default)]
pub struct Group {
    requests: Vec<Request>,
    /// The events of every request, their contacts resolved, once [`Group::resolve`] ran.
    resolved: Option<Vec<NewEvent>>,
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

    /// Stores the events and returns their ids, in order, once they are committed.
    pub async fn append(
        &self,
        events: Vec<IncomingEvent>,
    ) -> Result<Vec<EventId>, IntakeError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request {
                count: events.len(),
                events,
                reply,
            })
            .await
            .map_err(|_| IntakeError::Stopped)?;
        answer.await.map_err(|_| IntakeError::Stopped)?
    }
}

impl IntakeQueue {
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

    /// The requests waiting now, without waiting: at least one if any, then more while they
    /// hold at most `max_events` events together.
    pub fn take(&mut self, max_events: usize) -> Group {
        let mut group = Group::default();
        let mut count = 0;
        while let Some(request) = self.first.take().or_else(|| self.queue.try_recv().ok()) {
            count += request.count;
            group.requests.push(request);
            if count >= max_events {
                break;
            }
        }
        group
    }
}

impl Group {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
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

    /// Answers every request with its events' ids (`ids` in the order of the resolved events).
    pub fn stored(self, ids: Vec<EventId>) {
        let mut ids = ids.into_iter();
        for request in self.requests {
            let own: Vec<EventId> = ids.by_ref().take(request.count).collect();
            // A caller that gave up (client disconnected) still has its events stored.
            let _ = request.reply.send(Ok(own));
        }
    }

    /// Answers every request with the error that kept its events from being stored.
    pub fn failed(self, error: sqlx::Error) {
        tracing::error!(%error, requests = self.requests.len(), "storing events failed");
        let error = Arc::new(error);
        for request in self.requests {
            let _ = request
                .reply
                .send(Err(IntakeError::Database(error.clone())));
        }
    }
}
