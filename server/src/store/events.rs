//! Stored events: written by the engine's rounds as they match them (or, should that fail, by
//! the intake alone, to be claimed by a later round), read back for conditions ("did the
//! contact have this event?") and the contacts page.

use std::collections::HashMap;

use app::ids::{ContactId, EventId, MessageId};
use sqlx::{AnyConnection, FromRow};

use super::{
    Backend, Batch, Store,
    sql::{Param, insert_rows_returning_ids},
};
use crate::clock::Millis;

/// An event ready to store: its contact resolved to the internal id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub contact_id: ContactId,
    pub name: String,
    /// JSON object.
    pub properties: String,
    pub message_id: Option<MessageId>,
    pub occurred_at: Millis,
    pub received_at: Millis,
}

/// An event the engine claimed for matching.
#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: EventId,
    pub contact_id: ContactId,
    pub name: String,
    /// JSON object.
    pub properties: String,
    pub message_id: Option<MessageId>,
    pub occurred_at: Millis,
}

/// An event as the contacts page shows it.
#[derive(Debug, Clone, FromRow)]
pub struct ContactEventRow {
    pub name: String,
    /// JSON object.
    pub properties: String,
    pub occurred_at: Millis,
}

impl Store {
    /// Stores the events in one transaction, unmatched (for the engine to claim), and returns
    /// their ids in the same order. On PostgreSQL the commit notifies the engines of every
    /// process ([`super::listen::EVENTS_STORED`]), so they need not wait for their poll.
    pub async fn insert_events(&self, events: &[NewEvent]) -> sqlx::Result<Vec<EventId>> {
        let mut transaction = self.begin_write().await?;
        let ids = insert_events(&mut transaction, self.backend, events, None).await?;
        if self.backend == Backend::Postgres && !ids.is_empty() {
            // Delivered when the transaction commits, and only then.
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(super::listen::EVENTS_STORED)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(ids)
    }

    /// The contact's newest events, newest first.
    pub async fn recent_events(
        &self,
        contact_id: ContactId,
        limit: i64,
    ) -> sqlx::Result<Vec<ContactEventRow>> {
        sqlx::query_as(
            "SELECT name, properties, occurred_at FROM events
             WHERE contact_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2",
        )
        .bind(contact_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// How many events were stored for a contact (`name` narrows it to one event name).
    #[cfg(any(test, feature = "test-support"))]
    pub async fn count_events(
        &self,
        contact_id: ContactId,
        name: Option<&str>,
    ) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE contact_id = $1 AND ($2 IS NULL OR name = $2)",
        )
        .bind(contact_id)
        .bind(name)
        .fetch_one(&self.pool)
        .await
    }
}

impl Batch {
    /// Stores new events as matched (the caller matches them in this transaction) and returns
    /// them as stored, in the same order.
    pub async fn insert_matched_events(
        &mut self,
        events: &[NewEvent],
        now: Millis,
    ) -> sqlx::Result<Vec<EventRow>> {
        let ids = insert_events(&mut self.transaction, self.backend, events, Some(now)).await?;
        let rows = events
            .iter()
            .zip(ids)
            .map(|(event, id)| EventRow {
                id,
                contact_id: event.contact_id,
                name: event.name.clone(),
                properties: event.properties.clone(),
                message_id: event.message_id,
                occurred_at: event.occurred_at,
            })
            .collect();
        Ok(rows)
    }

    /// Marks up to `limit` unmatched events as matched and returns them, oldest first.
    pub async fn claim_events(&mut self, now: Millis, limit: i64) -> sqlx::Result<Vec<EventRow>> {
        let sql = format!(
            "UPDATE events SET processed_at = $1
             WHERE id IN (SELECT id FROM events WHERE processed_at IS NULL
                          ORDER BY id LIMIT $2 {})
             RETURNING id, contact_id, name, properties, message_id, occurred_at",
            self.backend.skip_locked()
        );
        let mut events: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *self.transaction)
            .await?;
        events.sort_by_key(|event| event.id);
        Ok(events)
    }

    /// When the contact last had each of these events.
    pub async fn last_occurrences(
        &mut self,
        contact_id: ContactId,
        names: &[&str],
    ) -> sqlx::Result<HashMap<String, Millis>> {
        let mut last = HashMap::new();
        for name in names {
            let at: Option<Millis> = sqlx::query_scalar(
                "SELECT MAX(occurred_at) FROM events WHERE contact_id = $1 AND name = $2",
            )
            .bind(contact_id)
            .bind(*name)
            .fetch_one(&mut *self.transaction)
            .await?;
            if let Some(at) = at {
                last.insert((*name).to_owned(), at);
            }
        }
        Ok(last)
    }
}

/// Inserts the events, matched at `processed_at` or unmatched; their ids in the same order.
async fn insert_events(
    connection: &mut AnyConnection,
    backend: Backend,
    events: &[NewEvent],
    processed_at: Option<Millis>,
) -> sqlx::Result<Vec<EventId>> {
    let rows = events.iter().map(|event| {
        [
            event.contact_id.into(),
            Param::Text(&event.name),
            Param::Text(&event.properties),
            Param::OptInt(event.message_id.map(MessageId::get)),
            Param::Int(event.occurred_at),
            Param::Int(event.received_at),
            Param::OptInt(processed_at),
        ]
    });
    insert_rows_returning_ids(
        connection,
        backend,
        "events (contact_id, name, properties, message_id, occurred_at, received_at,
                 processed_at)",
        rows,
    )
    .await
}
