//! Contacts: upserts merge attributes inside the database, so concurrent updates of one
//! contact never lose each other's attributes.

use sqlx::FromRow;

use super::{Backend, Store};
use crate::clock::Millis;

#[derive(Debug, Clone, FromRow)]
pub struct ContactRow {
    pub id: i64,
    pub external_id: String,
    /// JSON object.
    pub attributes: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Creates the contact or merges `attributes` (a JSON object; `null` values remove an
/// attribute) into it. SQLite's `json_patch` is an RFC 7396 merge patch; PostgreSQL's `||`
/// merges top-level keys and `jsonb_strip_nulls` drops the removed ones.
const UPSERT_SQLITE: &str = "
    INSERT INTO contacts (external_id, attributes, created_at, updated_at)
    VALUES ($1, json_patch('{}', $2), $3, $3)
    ON CONFLICT (external_id) DO UPDATE SET
        attributes = json_patch(contacts.attributes, $2),
        updated_at = $3
    RETURNING id, external_id, attributes, created_at, updated_at";

const UPSERT_POSTGRES: &str = "
    INSERT INTO contacts (external_id, attributes, created_at, updated_at)
    VALUES ($1, jsonb_strip_nulls($2::jsonb)::text, $3, $3)
    ON CONFLICT (external_id) DO UPDATE SET
        attributes = jsonb_strip_nulls(contacts.attributes::jsonb || $2::jsonb)::text,
        updated_at = $3
    RETURNING id, external_id, attributes, created_at, updated_at";

impl Store {
    fn upsert_contact_sql(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => UPSERT_SQLITE,
            Backend::Postgres => UPSERT_POSTGRES,
        }
    }

    pub async fn upsert_contact(
        &self,
        external_id: &str,
        attributes: &str,
        now: Millis,
    ) -> sqlx::Result<ContactRow> {
        sqlx::query_as(self.upsert_contact_sql())
            .bind(external_id)
            .bind(attributes)
            .bind(now)
            .fetch_one(&self.pool)
            .await
    }

    /// Upserts every contact in one transaction: all or none.
    pub async fn upsert_contacts(
        &self,
        contacts: &[(&str, String)],
        now: Millis,
    ) -> sqlx::Result<usize> {
        let mut transaction = self.begin_write().await?;
        for (external_id, attributes) in contacts {
            sqlx::query(self.upsert_contact_sql())
                .bind(*external_id)
                .bind(attributes.as_str())
                .bind(now)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(contacts.len())
    }

    pub async fn contact(&self, external_id: &str) -> sqlx::Result<Option<ContactRow>> {
        sqlx::query_as(
            "SELECT id, external_id, attributes, created_at, updated_at
             FROM contacts WHERE external_id = $1",
        )
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await
    }
}
