//! Pruning the attempt log: each webhook request's attempts keep the receiver's answer, which
//! adds up to most of the database at a steady rate, so attempts older than the retention
//! period are deleted, a batch per short transaction.

use super::Store;
use crate::clock::Millis;

/// How much one [`Store::prune_attempts`] call deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub attempts: u64,
    pub message_attempts: u64,
    pub webhook_hours: u64,
    /// Alert emails refused for good, kept for whoever looks until the retention ends.
    pub failed_alert_emails: u64,
}

impl Store {
    /// Deletes the oldest attempts up to `batch` of them, as long as they were made before
    /// `before`, and the webhooks' hourly counts of hours before it and the alert emails
    /// refused for good that were queued before it. Returns how many went;
    /// fewer attempts than `batch` means none older are left (or the next is newer).
    ///
    /// Attempts are numbered in the order they are logged, so the oldest are the lowest ids:
    /// reading the first `batch` by primary key and deleting `id <= ` the last old one costs
    /// the batch alone, without an index on the time or a scan of the newer rows. An attempt
    /// logged out of order (a process with a clock behind) waits until the newer ones before
    /// it are old too.
    pub async fn prune_attempts(&self, before: Millis, batch: i64) -> sqlx::Result<Pruned> {
        let oldest: Vec<(i64, Millis)> =
            sqlx::query_as("SELECT id, attempted_at FROM delivery_attempts ORDER BY id LIMIT $1")
                .bind(batch)
                .fetch_all(&self.pool)
                .await?;
        let last_old = oldest
            .iter()
            .take_while(|(_, attempted_at)| *attempted_at < before)
            .last()
            .map(|(id, _)| *id);
        let oldest_messages: Vec<(i64, Millis)> =
            sqlx::query_as("SELECT id, attempted_at FROM message_attempts ORDER BY id LIMIT $1")
                .bind(batch)
                .fetch_all(&self.pool)
                .await?;
        let last_old_message = oldest_messages
            .iter()
            .take_while(|(_, attempted_at)| *attempted_at < before)
            .last()
            .map(|(id, _)| *id);
        let mut transaction = self.begin_write().await?;
        let attempts = match last_old {
            Some(last) => sqlx::query("DELETE FROM delivery_attempts WHERE id <= $1")
                .bind(last)
                .execute(&mut *transaction)
                .await?
                .rows_affected(),
            None => 0,
        };
        let message_attempts = match last_old_message {
            Some(last) => sqlx::query("DELETE FROM message_attempts WHERE id <= $1")
                .bind(last)
                .execute(&mut *transaction)
                .await?
                .rows_affected(),
            None => 0,
        };
        let webhook_hours = sqlx::query("DELETE FROM webhook_hours WHERE hour < $1")
            .bind(super::hour_of(before))
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        let failed_alert_emails =
            sqlx::query("DELETE FROM alert_emails WHERE status = 'failed' AND queued_at < $1")
                .bind(before)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
        transaction.commit().await?;
        Ok(Pruned {
            attempts,
            message_attempts,
            failed_alert_emails,
            webhook_hours,
        })
    }
}
