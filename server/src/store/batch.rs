//! The engine's transaction: one [`Batch`] claims work (events to match, enrollments that are
//! due) and records every step's outcome, so a step and its records commit together or not at
//! all. Its statements live with their tables: `events`, `enrollments`, `messages`,
//! `deliveries`, `stats` (node visits), `journeys`, `contacts`.
//!
//! Claims are written first: on SQLite the transaction then holds the write lock from its
//! first statement (a read-first transaction could not upgrade while another connection
//! commits); on PostgreSQL `FOR UPDATE SKIP LOCKED` lets several engine processes take
//! disjoint batches.

use super::{
    Backend, Store, Write, deliveries::NewDelivery, enrollments::Settled, messages::NewMessage,
    stats::Visit,
};
use crate::clock::Millis;

pub struct Batch {
    pub(super) transaction: Write,
    pub(super) backend: Backend,
}

/// What a batch of steps did, gathered so each table gets one statement per chunk of rows.
#[derive(Debug, Default)]
pub struct StepRecords<'a> {
    pub visits: Vec<Visit<'a>>,
    pub messages: Vec<NewMessage<'a>>,
    pub deliveries: Vec<NewDelivery<'a>>,
    /// Where each enrollment of the batch is left.
    pub settled: Vec<Settled<'a>>,
}

impl Store {
    pub async fn begin_batch(&self) -> sqlx::Result<Batch> {
        Ok(Batch {
            transaction: self.begin_write().await?,
            backend: self.backend,
        })
    }
}

impl Batch {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.transaction.commit().await
    }

    /// Records what a batch of steps did and where each left its enrollment.
    pub async fn record_steps(&mut self, steps: &StepRecords<'_>, now: Millis) -> sqlx::Result<()> {
        self.insert_visits(&steps.visits, now).await?;
        self.insert_messages(&steps.messages, now).await?;
        self.insert_deliveries(&steps.deliveries, now).await?;
        self.settle(&steps.settled, now).await
    }
}
