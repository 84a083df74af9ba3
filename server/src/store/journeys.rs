//! Journeys and their published versions.

use sqlx::FromRow;

use super::Store;
use crate::clock::Millis;

#[derive(Debug, Clone, FromRow)]
pub struct JourneyRow {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub reentry: String,
    /// The draft's JSON document.
    pub draft: String,
    pub live_version: Option<i64>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Changes to a journey; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct JourneyChanges<'a> {
    pub name: Option<&'a str>,
    pub reentry: Option<&'a str>,
    pub draft: Option<&'a str>,
    pub status: Option<&'a str>,
}

const COLUMNS: &str = "id, name, status, reentry, draft, live_version, created_at, updated_at";

impl Store {
    pub async fn create_journey(
        &self,
        name: &str,
        reentry: &str,
        draft: &str,
        now: Millis,
    ) -> sqlx::Result<JourneyRow> {
        sqlx::query_as(&format!(
            "INSERT INTO journeys (name, reentry, draft, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)
             RETURNING {COLUMNS}"
        ))
        .bind(name)
        .bind(reentry)
        .bind(draft)
        .bind(now)
        .fetch_one(&self.pool)
        .await
    }

    pub async fn journeys(&self) -> sqlx::Result<Vec<JourneyRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM journeys ORDER BY updated_at DESC, id DESC"
        ))
        .fetch_all(&self.pool)
        .await
    }

    /// How many contacts are in each journey now (running or waiting), by journey id; journeys
    /// without any are absent.
    pub async fn contacts_in_journeys(&self) -> sqlx::Result<Vec<(i64, i64)>> {
        sqlx::query_as(
            "SELECT journey_id, COUNT(DISTINCT contact_id) FROM enrollments
             WHERE state IN ('active', 'waiting') GROUP BY journey_id",
        )
        .fetch_all(&self.pool)
        .await
    }

    pub async fn journey(&self, id: i64) -> sqlx::Result<Option<JourneyRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM journeys WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Applies the changes and returns the journey as it now is; `None` if there is no such
    /// journey.
    pub async fn update_journey(
        &self,
        id: i64,
        changes: JourneyChanges<'_>,
        now: Millis,
    ) -> sqlx::Result<Option<JourneyRow>> {
        sqlx::query_as(&format!(
            "UPDATE journeys SET
                 name = COALESCE($2, name),
                 reentry = COALESCE($3, reentry),
                 draft = COALESCE($4, draft),
                 status = COALESCE($5, status),
                 updated_at = $6
             WHERE id = $1
             RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(changes.name)
        .bind(changes.reentry)
        .bind(changes.draft)
        .bind(changes.status)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
    }

    /// Deletes the journey, its versions, the contacts' runs through it and its statistics;
    /// messages and webhook requests stay as history. `false` if there was no such journey.
    pub async fn delete_journey(&self, id: i64) -> sqlx::Result<bool> {
        let mut transaction = self.begin_write().await?;
        for table in ["node_visits", "enrollments", "journey_versions"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE journey_id = $1"))
                .bind(id)
                .execute(&mut *transaction)
                .await?;
        }
        let deleted = sqlx::query("DELETE FROM journeys WHERE id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        transaction.commit().await?;
        Ok(deleted > 0)
    }

    /// Freezes `document` as the journey's next version and makes it the live one (a paused
    /// journey stays paused). Returns the new version number, or `None` if there is no such
    /// journey.
    pub async fn publish_journey(
        &self,
        id: i64,
        document: &str,
        now: Millis,
    ) -> sqlx::Result<Option<i64>> {
        let mut transaction = self.begin_write().await?;
        // Updating the row first takes its lock on PostgreSQL, so concurrent publishes of one
        // journey number their versions one after the other.
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE journeys SET
                 live_version = COALESCE(live_version, 0) + 1,
                 status = CASE WHEN status = 'paused' THEN 'paused' ELSE 'live' END,
                 updated_at = $2
             WHERE id = $1
             RETURNING live_version",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(version) = version else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO journey_versions (journey_id, version, document, published_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(version)
        .bind(document)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(Some(version))
    }

    /// A published version's document.
    pub async fn journey_version(&self, id: i64, version: i64) -> sqlx::Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT document FROM journey_versions WHERE journey_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await
    }
}
