//! Durable event intake with group commit.
//!
//! An fsync costs about as much as a thousand row inserts, so the requests that arrive while
//! one commit is under way are written together in the next one: each request is answered
//! only after the transaction holding its events has committed, and throughput grows with
//! load instead of being capped at one commit per request.

use std::sync::Arc;

use app::ids::EventId;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::store::{NewEvent, Store};

/// Events one commit takes at most; a larger backlog is written by the following commits.
const MAX_EVENTS_PER_COMMIT: usize = 2_000;
/// Requests that may wait for the writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 1_024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum IntakeError {
    #[error("the database did not store the events: {0}")]
    Database(Arc<sqlx::Error>),
    #[error("the event writer has stopped; the server is shutting down")]
    Stopped,
}

type Reply = oneshot::Sender<Result<Vec<EventId>, IntakeError>>;

struct Request {
    events: Vec<NewEvent>,
    reply: Reply,
}

/// The handle request handlers use; clones share one writer task.
#[derive(Clone)]
pub struct EventIntake {
    requests: mpsc::Sender<Request>,
}

impl EventIntake {
    /// Starts the writer task, which wakes `stored` after each commit. It ends once every
    /// handle is dropped and the queue is drained.
    pub fn start(store: Store, stored: Arc<Notify>) -> Self {
        let (requests, queue) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(write_groups(store, queue, stored));
        Self { requests }
    }

    /// Stores the events and returns their ids, in order, once they are committed.
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<EventId>, IntakeError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { events, reply })
            .await
            .map_err(|_| IntakeError::Stopped)?;
        answer.await.map_err(|_| IntakeError::Stopped)?
    }
}

async fn write_groups(store: Store, mut queue: mpsc::Receiver<Request>, stored: Arc<Notify>) {
    while let Some(first) = queue.recv().await {
        let mut count = first.events.len();
        let mut group = vec![first];
        while count < MAX_EVENTS_PER_COMMIT {
            match queue.try_recv() {
                Ok(request) => {
                    count += request.events.len();
                    group.push(request);
                }
                Err(_) => break,
            }
        }
        let events: Vec<&NewEvent> = group.iter().flat_map(|request| &request.events).collect();
        match store.insert_events(&events).await {
            Ok(ids) => {
                stored.notify_one();
                let mut ids = ids.into_iter();
                for request in group {
                    let own: Vec<EventId> = ids.by_ref().take(request.events.len()).collect();
                    // A caller that gave up (client disconnected) still has its events stored.
                    let _ = request.reply.send(Ok(own));
                }
            }
            Err(error) => {
                tracing::error!(%error, events = count, "storing events failed");
                let error = Arc::new(error);
                for request in group {
                    let _ = request
                        .reply
                        .send(Err(IntakeError::Database(error.clone())));
                }
            }
        }
    }
}
