//! Each webhook's requests per hour, accepted and failed: counted in the transaction that
//! logs the attempts, read for the webhooks page's health line.

use std::collections::BTreeMap;

use app::{api::AttemptOutcome, ids::WebhookId};
use sqlx::{AnyConnection, FromRow};

use super::{
    AttemptRecord, Backend, Store,
    sql::{Param, upsert_rows},
};
use crate::clock::Millis;

/// An hour in milliseconds.
pub const HOUR_MS: Millis = 3_600_000;

/// The start of the hour holding `at`.
pub fn hour_of(at: Millis) -> Millis {
    at - at.rem_euclid(HOUR_MS)
}

/// A webhook's requests in the hour starting at `hour`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct WebhookHour {
    pub webhook_id: WebhookId,
    pub hour: Millis,
    pub accepted: i64,
    pub failed: i64,
}

/// Requests a webhook has not sent yet, by why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unsent {
    pub held: i64,
    pub pending: i64,
}

/// What a health line is drawn from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookHealthRows {
    /// Every webhook, by id.
    pub webhooks: Vec<WebhookId>,
    /// Their hours from the `since` asked for, in no order.
    pub hours: Vec<WebhookHour>,
    /// Webhooks with requests not sent yet.
    pub unsent: BTreeMap<WebhookId, Unsent>,
    /// Webhooks with alert emails the SMTP server did not take.
    pub alert_trouble: BTreeMap<WebhookId, super::AlertTrouble>,
}

/// Adds the attempts to their webhooks' hours: one row per webhook and hour, written in key
/// order so that two processes' transactions lock the rows they share in the same order.
pub(super) async fn count_attempts(
    connection: &mut AnyConnection,
    backend: Backend,
    records: &[AttemptRecord],
) -> sqlx::Result<()> {
    let mut hours: BTreeMap<(WebhookId, Millis), (i64, i64)> = BTreeMap::new();
    for record in records {
        let (accepted, failed) = hours
            .entry((record.webhook_id, hour_of(record.attempted_at)))
            .or_default();
        match record.outcome {
            AttemptOutcome::Accepted => *accepted += 1,
            AttemptOutcome::Retry | AttemptOutcome::Failed => *failed += 1,
        }
    }
    let rows = hours
        .into_iter()
        .map(|((webhook, hour), (accepted, failed))| {
            [
                webhook.into(),
                Param::Int(hour),
                Param::Int(accepted),
                Param::Int(failed),
            ]
        });
    upsert_rows(
        connection,
        backend,
        "webhook_hours (webhook_id, hour, accepted, failed)",
        rows,
        "ON CONFLICT (webhook_id, hour) DO UPDATE SET
             accepted = webhook_hours.accepted + excluded.accepted,
             failed = webhook_hours.failed + excluded.failed",
    )
    .await
}

impl Store {
    /// The webhook's requests held now (while it is disabled).
    pub async fn held_count(&self, webhook: WebhookId) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE status = 'held' AND webhook_id = $1",
        )
        .bind(webhook)
        .fetch_one(&self.pool)
        .await
    }

    /// Every webhook's hours from `since` on, and its held and pending requests now.
    pub async fn webhook_health(&self, since: Millis) -> sqlx::Result<WebhookHealthRows> {
        let webhooks = sqlx::query_scalar("SELECT id FROM webhooks ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        let hours = sqlx::query_as(
            "SELECT webhook_id, hour, accepted, failed FROM webhook_hours WHERE hour >= $1",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(WebhookHealthRows {
            webhooks,
            hours,
            unsent: self.unsent_by_webhook().await?,
            alert_trouble: self.alert_trouble_by_webhook(since).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_starts_on_a_multiple_of_an_hour() {
        assert_eq!(hour_of(0), 0);
        assert_eq!(hour_of(HOUR_MS - 1), 0);
        assert_eq!(hour_of(HOUR_MS), HOUR_MS);
        assert_eq!(hour_of(5 * HOUR_MS + 42), 5 * HOUR_MS);
    }
}
