//! Alert emails: each webhook's alert turn (at most one email every `alert_every_minutes`,
//! failures within the pause held back for the next), and the emails themselves, queued in
//! the same transaction as the turn that decided them and claimed by one sender.

use app::ids::WebhookId;
use sqlx::FromRow;

use super::{
    Backend, Claimant, Store,
    deliveries::{Claimable, claim_due},
};
use crate::clock::Millis;

/// A webhook's alert turn, taken: the failures held back since its last alert, which the
/// email taking the turn reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertTurn {
    pub held_back: i64,
    pub held_back_error: Option<String>,
}

/// An alert email to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlertEmail {
    pub webhook: WebhookId,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// A queued alert email, claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct QueuedAlertEmail {
    pub id: i64,
    pub webhook_id: Option<WebhookId>,
    /// A JSON array of addresses.
    pub recipients: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
    pub queued_at: Millis,
}

/// A webhook's alert emails the SMTP server did not take: still tried, or given up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertTrouble {
    pub waiting: i64,
    pub failed: i64,
    /// The latest error.
    pub last_error: Option<String>,
}

/// What became of a claimed alert email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertEmailOutcome {
    /// Taken by the SMTP server: the row goes.
    Sent,
    /// Not taken now (4xx, no connection): due again `at`.
    Retry { at: Millis, error: String },
    /// Refused for good, or out of time: kept, failed, for whoever looks.
    Failed { error: String },
}

impl Store {
    /// Takes the webhook's alert turn if it was last alerted at or before `before` (or never):
    /// marks it alerted `now`, hands the failures held back since (which start again from
    /// none) to `compose`, and queues the email it writes, all in one transaction, so that a
    /// turn taken is an email sent sooner or later. `None`: not its turn. With several
    /// processes, one of them wins.
    ///
    /// `telling_disabled`: the email tells that the webhook was disabled; queued only if no
    /// other did (the disabling's flag is still set), and the flag is cleared with it.
    pub async fn queue_alert_email(
        &self,
        id: WebhookId,
        now: Millis,
        before: Millis,
        telling_disabled: bool,
        compose: impl FnOnce(&AlertTurn) -> Option<NewAlertEmail>,
    ) -> sqlx::Result<Option<AlertTurn>> {
        let mut transaction = self.begin_write().await?;
        if telling_disabled {
            let untold = sqlx::query(
                "UPDATE webhooks SET disable_untold = 0 WHERE id = $1 AND disable_untold = 1",
            )
            .bind(id)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
            if untold == 0 {
                transaction.commit().await?;
                return Ok(None);
            }
        }
        // SQLite's write lock is taken at BEGIN; PostgreSQL locks the row, so a failure held
        // back by another process meanwhile waits, then counts towards the next turn.
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        };
        let turn: Option<(i64, Option<String>)> = sqlx::query_as(&format!(
            "SELECT unreported_failures, unreported_error FROM webhooks
             WHERE id = $1 AND (alerted_at IS NULL OR alerted_at <= $2){lock}"
        ))
        .bind(id)
        .bind(before)
        .fetch_optional(&mut *transaction)
        .await?;
        let Some((held_back, held_back_error)) = turn else {
            transaction.commit().await?;
            return Ok(None);
        };
        let turn = AlertTurn {
            held_back,
            held_back_error,
        };
        let Some(email) = compose(&turn) else {
            // Nothing to say (another process reported the failures meanwhile): the turn
            // stays where it was.
            transaction.commit().await?;
            return Ok(Some(turn));
        };
        sqlx::query(
            "UPDATE webhooks SET alerted_at = $1, unreported_failures = 0, unreported_error = NULL,
                 unreported_since = NULL
             WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *transaction)
        .await?;
        let recipients = serde_json::to_string(&email.recipients)
            .map_err(|error| sqlx::Error::Encode(error.into()))?;
        sqlx::query(
            "INSERT INTO alert_emails (webhook_id, recipients, subject, body, next_attempt_at,
                                       queued_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(email.webhook)
        .bind(recipients)
        .bind(email.subject)
        .bind(email.body)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(Some(turn))
    }

    /// Adds failures for good that came while the webhook's alerts pause (or for its
    /// digest), for its next email.
    pub async fn hold_back_failures(
        &self,
        id: WebhookId,
        count: i64,
        last_error: &str,
        now: Millis,
    ) -> sqlx::Result<()> {
        self.write_one(
            sqlx::query(
                "UPDATE webhooks SET unreported_failures = unreported_failures + $2,
                     unreported_error = $3, unreported_since = COALESCE(unreported_since, $4)
                 WHERE id = $1",
            )
            .bind(id)
            .bind(count)
            .bind(last_error)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// Webhooks with failures held back that are due at `now`: an immediate one's pause is
    /// over; a digest's hour (from `hour_start`) or day (from `day_start`) began after its
    /// first held-back failure.
    pub async fn webhooks_owed_an_alert(
        &self,
        now: Millis,
        hour_start: Millis,
        day_start: Millis,
    ) -> sqlx::Result<Vec<WebhookId>> {
        sqlx::query_scalar(
            "SELECT id FROM webhooks
             WHERE unreported_failures > 0 AND alerts_enabled = 1
               AND ((alert_digest = 'immediate'
                     AND (alerted_at IS NULL OR alerted_at <= $1 - alert_every_minutes * 60000))
                    OR (alert_digest = 'hourly' AND unreported_since < $2)
                    OR (alert_digest = 'daily' AND unreported_since < $3))
             ORDER BY id",
        )
        .bind(now)
        .bind(hour_start)
        .bind(day_start)
        .fetch_all(&self.pool)
        .await
    }

    /// Alerts turned off: the webhook's emails not sent yet are dropped, and the failures held
    /// back for its next email forgotten, so that turning alerts on again does not send them.
    pub async fn drop_pending_alerts(&self, webhook: WebhookId) -> sqlx::Result<()> {
        let mut transaction = self.begin_write().await?;
        sqlx::query("DELETE FROM alert_emails WHERE webhook_id = $1 AND status = 'queued'")
            .bind(webhook)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "UPDATE webhooks SET unreported_failures = 0, unreported_since = NULL
             WHERE id = $1 AND unreported_failures > 0",
        )
        .bind(webhook)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await
    }

    /// Notes that `claimant`, a process with an SMTP server, runs at `now`; forgets the
    /// processes not seen for a day.
    pub async fn note_smtp_sender(&self, claimant: Claimant, now: Millis) -> sqlx::Result<()> {
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO smtp_senders (claimant, seen_at) VALUES ($1, $2)
             ON CONFLICT (claimant) DO UPDATE SET seen_at = excluded.seen_at",
        )
        .bind(claimant.0)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM smtp_senders WHERE seen_at < $1")
            .bind(now - 24 * 3_600_000)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await
    }

    /// A process with an SMTP server that stops says so at once.
    pub async fn forget_smtp_sender(&self, claimant: Claimant) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM smtp_senders WHERE claimant = $1")
            .bind(claimant.0)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Whether a process with an SMTP server was seen at or after `since`.
    pub async fn smtp_sender_seen_since(&self, since: Millis) -> sqlx::Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM smtp_senders WHERE seen_at >= $1 LIMIT 1")
                .bind(since)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// Per webhook, its alert emails queued since `since` that were tried and not taken, and
    /// those given up (older ones are history: the line shows the last day, like the requests).
    pub async fn alert_trouble_by_webhook(
        &self,
        since: Millis,
    ) -> sqlx::Result<std::collections::BTreeMap<WebhookId, AlertTrouble>> {
        // Few rows: only emails whose sending failed are left in the table.
        let rows: Vec<(WebhookId, String, Option<String>)> = sqlx::query_as(
            "SELECT webhook_id, status, last_error FROM alert_emails
             WHERE webhook_id IS NOT NULL AND attempts > 0 AND queued_at >= $1
             ORDER BY id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut trouble = std::collections::BTreeMap::<WebhookId, AlertTrouble>::new();
        for (webhook, status, last_error) in rows {
            let line = trouble.entry(webhook).or_default();
            if status == "failed" {
                line.failed += 1;
            } else {
                line.waiting += 1;
            }
            if last_error.is_some() {
                line.last_error = last_error;
            }
        }
        Ok(trouble)
    }

    /// Webhooks disabled at or before `before` whose stakeholders were not told (the process
    /// that disabled them stopped first), with the reason; only those with alerts on and
    /// addresses to send them to.
    pub async fn webhooks_disabled_untold(
        &self,
        before: Millis,
    ) -> sqlx::Result<Vec<(WebhookId, Option<String>)>> {
        sqlx::query_as(
            "SELECT id, disabled_reason FROM webhooks
             WHERE disable_untold = 1 AND enabled = 0 AND disabled_at <= $1
               AND alert_emails <> '[]' AND alerts_enabled = 1
             ORDER BY id",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await
    }

    /// Claims the next queued alert email due at `now` for `claimant` until `lease_until`:
    /// if this process dies while sending, another sends it then. One at a time: the lease
    /// covers one SMTP exchange.
    pub async fn claim_alert_email(
        &self,
        claimant: Claimant,
        now: Millis,
        lease_until: Millis,
    ) -> sqlx::Result<Option<QueuedAlertEmail>> {
        let mut transaction = self.begin_write().await?;
        let ids: Vec<i64> = claim_due(
            &mut transaction,
            self.backend,
            Claimable::AlertEmails,
            claimant,
            now,
            lease_until,
            1,
        )
        .await?;
        let claimed = match ids.first() {
            Some(id) => Some(
                sqlx::query_as(
                    "SELECT id, webhook_id, recipients, subject, body, attempts, queued_at
                     FROM alert_emails WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut *transaction)
                .await?,
            ),
            None => None,
        };
        transaction.commit().await?;
        Ok(claimed)
    }

    /// Records what became of an alert email `claimant` holds (nothing if it lost the claim).
    pub async fn settle_alert_email(
        &self,
        claimant: Claimant,
        id: i64,
        outcome: &AlertEmailOutcome,
    ) -> sqlx::Result<()> {
        let query = match outcome {
            AlertEmailOutcome::Sent => {
                sqlx::query("DELETE FROM alert_emails WHERE id = $1 AND claimed_by = $2")
                    .bind(id)
                    .bind(claimant.0)
            }
            AlertEmailOutcome::Retry { at, error } => sqlx::query(
                "UPDATE alert_emails SET attempts = attempts + 1, next_attempt_at = $3,
                     last_error = $4, claimed_by = NULL
                 WHERE id = $1 AND claimed_by = $2",
            )
            .bind(id)
            .bind(claimant.0)
            .bind(*at)
            .bind(error.as_str()),
            AlertEmailOutcome::Failed { error } => sqlx::query(
                "UPDATE alert_emails SET attempts = attempts + 1, status = 'failed',
                     last_error = $3, claimed_by = NULL
                 WHERE id = $1 AND claimed_by = $2",
            )
            .bind(id)
            .bind(claimant.0)
            .bind(error.as_str()),
        };
        self.write_one(query).await?;
        Ok(())
    }
}
