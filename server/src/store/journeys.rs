//! Journeys and their published versions.

use app::{
    api::{JourneyStatus, Reentry},
    ids::JourneyId,
};
use sqlx::FromRow;

use super::{Batch, Cancelled, Store};
use crate::clock::Millis;

#[derive(Debug, Clone, FromRow)]
pub struct JourneyRow {
    pub id: JourneyId,
    pub name: String,
    pub status: JourneyStatus,
    pub reentry: Reentry,
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
    pub reentry: Option<Reentry>,
    pub draft: Option<&'a str>,
    pub status: Option<JourneyStatus>,
}

/// A journey whose live version enrolls contacts.
#[derive(Debug, Clone, FromRow)]
pub struct LiveJourney {
    pub id: JourneyId,
    pub live_version: i64,
    pub reentry: Reentry,
}

/// A journey's published version in force (live or paused), with its name.
#[derive(Debug, Clone, FromRow)]
pub struct PublishedJourney {
    pub id: JourneyId,
    pub name: String,
    /// The live version's JSON document.
    pub document: String,
}

const COLUMNS: &str = "id, name, status, reentry, draft, live_version, created_at, updated_at";

impl Store {
    pub async fn create_journey(
        &self,
        name: &str,
        reentry: Reentry,
        draft: &str,
        now: Millis,
    ) -> sqlx::Result<JourneyRow> {
        let mut transaction = self.begin_write().await?;
        let journey = sqlx::query_as(&format!(
            "INSERT INTO journeys (name, reentry, draft, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)
             RETURNING {COLUMNS}"
        ))
        .bind(name)
        .bind(reentry)
        .bind(draft)
        .bind(now)
        .fetch_one(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(journey)
    }

    pub async fn journeys(&self) -> sqlx::Result<Vec<JourneyRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM journeys ORDER BY updated_at DESC, id DESC"
        ))
        .fetch_all(&self.pool)
        .await
    }

    pub async fn journey(&self, id: JourneyId) -> sqlx::Result<Option<JourneyRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM journeys WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Every journey with a published version, with that version's document.
    pub async fn published_journeys(&self) -> sqlx::Result<Vec<PublishedJourney>> {
        sqlx::query_as(
            "SELECT j.id, j.name, v.document
             FROM journeys j
             JOIN journey_versions v ON v.journey_id = j.id AND v.version = j.live_version
             ORDER BY j.id",
        )
        .fetch_all(&self.pool)
        .await
    }

    /// Applies the changes and returns the journey as it now is; `None` if there is no such
    /// journey.
    pub async fn update_journey(
        &self,
        id: JourneyId,
        changes: JourneyChanges<'_>,
        now: Millis,
    ) -> sqlx::Result<Option<JourneyRow>> {
        let mut transaction = self.begin_write().await?;
        let journey = sqlx::query_as(&format!(
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
        .fetch_optional(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(journey)
    }

    /// Deletes the journey, its versions, the contacts' runs through it and its statistics;
    /// messages and webhook requests stay as history, and those not sent yet are skipped or
    /// cancelled. `false` if there was no such journey.
    pub async fn delete_journey(&self, id: JourneyId, now: Millis) -> sqlx::Result<bool> {
        let mut transaction = self.begin_write().await?;
        Cancelled::OfJourney(id)
            .apply(
                &mut transaction,
                self.backend,
                "cancelled: its journey was deleted",
                now,
            )
            .await?;
        sqlx::query(
            "UPDATE messages SET status = 'skipped', reason = 'its journey was deleted',
                 next_attempt_at = NULL, claimed_by = NULL
             WHERE journey_id = $1 AND status = 'queued'",
        )
        .bind(id)
        .execute(&mut *transaction)
        .await?;
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
        id: JourneyId,
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
    pub async fn journey_version(
        &self,
        id: JourneyId,
        version: i64,
    ) -> sqlx::Result<Option<String>> {
        journey_version(&self.pool, id, version).await
    }
}

impl Batch {
    /// [`Store::journey_version`], read in the batch's transaction: a round that holds
    /// SQLite's write lock must not wait for another pool connection, which writers queued
    /// behind that lock may all be holding.
    pub async fn journey_version(
        &mut self,
        id: JourneyId,
        version: i64,
    ) -> sqlx::Result<Option<String>> {
        journey_version(&mut *self.transaction, id, version).await
    }

    pub async fn live_journeys(&mut self) -> sqlx::Result<Vec<LiveJourney>> {
        sqlx::query_as(
            "SELECT id, live_version, reentry FROM journeys
             WHERE status = 'live' AND live_version IS NOT NULL",
        )
        .fetch_all(&mut *self.transaction)
        .await
    }
}

async fn journey_version<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: JourneyId,
    version: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT document FROM journey_versions WHERE journey_id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(executor)
    .await
}
