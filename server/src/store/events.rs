//! Stored events.

use std::collections::HashMap;

use super::{Store, sql::Params};
use crate::clock::Millis;

/// An event ready to store: its contact resolved to the internal id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub contact_id: i64,
    pub name: String,
    /// JSON object.
    pub properties: String,
    pub message_id: Option<i64>,
    pub occurred_at: Millis,
    pub received_at: Millis,
}

impl Store {
    /// Stores the events in one transaction and returns their ids in the same order.
    pub async fn insert_events(&self, events: &[&NewEvent]) -> sqlx::Result<Vec<i64>> {
        let mut transaction = self.begin_write().await?;
        let mut ids = Vec::with_capacity(events.len());
        for event in events {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO events
                     (contact_id, name, properties, message_id, occurred_at, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING id",
            )
            .bind(event.contact_id)
            .bind(event.name.as_str())
            .bind(event.properties.as_str())
            .bind(event.message_id)
            .bind(event.occurred_at)
            .bind(event.received_at)
            .fetch_one(&mut *transaction)
            .await?;
            ids.push(id);
        }
        transaction.commit().await?;
        Ok(ids)
    }

    /// The internal ids of the contacts with these external ids; unknown ones are absent.
    pub async fn contact_ids(&self, external_ids: &[&str]) -> sqlx::Result<HashMap<String, i64>> {
        let mut found = HashMap::with_capacity(external_ids.len());
        // Bounded statements: SQLite allows 32,766 parameters, PostgreSQL 65,535.
        for chunk in external_ids.chunks(500) {
            let sql = format!(
                "SELECT external_id, id FROM contacts WHERE external_id IN ({})",
                Params::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, (String, i64)>(&sql);
            for external_id in chunk {
                query = query.bind(*external_id);
            }
            found.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(found)
    }

    /// How many events were stored for a contact (`name` narrows it to one event name).
    pub async fn count_events(&self, contact_id: i64, name: Option<&str>) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE contact_id = $1 AND ($2 IS NULL OR name = $2)",
        )
        .bind(contact_id)
        .bind(name)
        .fetch_one(&self.pool)
        .await
    }
}
