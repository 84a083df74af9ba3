//! What is waiting, across every process of the deployment: the queue depths the metrics
//! report at each scrape. Each count reads one partial index (`events_unprocessed`,
//! `enrollments_due`, `deliveries_due`, `deliveries_held`, `messages_due`), so a scrape costs
//! the size of the backlogs, not of the history.

use std::collections::BTreeMap;

use app::ids::WebhookId;

use super::{Store, webhook_hours::Unsent};
use crate::clock::Millis;

/// Work not done yet, as one scrape found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Events stored but not matched to journeys yet (a round failed, or the engine lags).
    pub events_unmatched: i64,
    /// Contacts being stepped or due to be.
    pub enrollments_active: i64,
    /// Contacts in a delay or a wait.
    pub enrollments_waiting: i64,
    /// Webhook requests due now that no worker has claimed: the delivery lag.
    pub deliveries_due: i64,
    /// Messages due now that no worker has claimed.
    pub messages_due: i64,
    /// Each webhook's requests not sent yet: held (disabled) and pending (due, in flight or
    /// waiting for a retry).
    pub unsent: BTreeMap<WebhookId, Unsent>,
}

/// One count of the backlog query.
#[derive(sqlx::FromRow)]
struct Count {
    what: String,
    count: i64,
}

impl Store {
    /// The backlog at `now`.
    pub async fn backlog(&self, now: Millis) -> sqlx::Result<Backlog> {
        let counts: Vec<Count> = sqlx::query_as(
            "SELECT 'events' AS what, COUNT(*) AS count FROM events WHERE processed_at IS NULL
             UNION ALL
             SELECT state, COUNT(*) FROM enrollments WHERE state IN ('active', 'waiting')
             GROUP BY state
             UNION ALL
             SELECT 'deliveries', COUNT(*) FROM deliveries
             WHERE status = 'pending' AND next_attempt_at <= $1
             UNION ALL
             SELECT 'messages', COUNT(*) FROM messages
             WHERE status = 'queued' AND next_attempt_at <= $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut backlog = Backlog {
            unsent: self.unsent_by_webhook().await?,
            ..Backlog::default()
        };
        for Count { what, count } in counts {
            let slot = match what.as_str() {
                "events" => &mut backlog.events_unmatched,
                "active" => &mut backlog.enrollments_active,
                "waiting" => &mut backlog.enrollments_waiting,
                "deliveries" => &mut backlog.deliveries_due,
                "messages" => &mut backlog.messages_due,
                _ => continue,
            };
            *slot = count;
        }
        Ok(backlog)
    }

    /// Each webhook's requests held and pending now (webhooks with neither are left out).
    pub async fn unsent_by_webhook(&self) -> sqlx::Result<BTreeMap<WebhookId, Unsent>> {
        // One index each: `deliveries_held` (webhook_id, id) and `deliveries_due`.
        let rows: Vec<UnsentRow> = sqlx::query_as(
            "SELECT webhook_id, 'held' AS why, COUNT(*) AS count FROM deliveries
             WHERE status = 'held'
             GROUP BY webhook_id
             UNION ALL
             SELECT webhook_id, 'pending', COUNT(*) FROM deliveries
             WHERE status = 'pending'
             GROUP BY webhook_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_webhook: BTreeMap<WebhookId, Unsent> = BTreeMap::new();
        for UnsentRow {
            webhook_id,
            why,
            count,
        } in rows
        {
            let entry = by_webhook.entry(webhook_id).or_default();
            if why == "held" {
                entry.held = count;
            } else {
                entry.pending = count;
            }
        }
        Ok(by_webhook)
    }
}

#[derive(sqlx::FromRow)]
struct UnsentRow {
    webhook_id: WebhookId,
    why: String,
    count: i64,
}
