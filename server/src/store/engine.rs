//! The engine's storage: one [`Batch`] is one transaction in which the engine claims work
//! (events to match, enrollments that are due) and records every step's outcome, so a step
//! and its records commit together or not at all.
//!
//! Claims are written first: on SQLite the transaction then holds the write lock from its
//! first statement (a read-first transaction could not upgrade while another connection
//! commits); on PostgreSQL `FOR UPDATE SKIP LOCKED` lets several engine processes take
//! disjoint batches.

use std::collections::HashMap;

use sqlx::{Any, FromRow, Transaction};

use super::{Backend, Store};
use crate::clock::Millis;

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: i64,
    pub contact_id: i64,
    pub name: String,
    pub properties: String,
    pub message_id: Option<i64>,
    pub occurred_at: Millis,
}

#[derive(Debug, Clone, FromRow)]
pub struct LiveJourney {
    pub id: i64,
    pub live_version: i64,
    pub reentry: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct EnrollmentRow {
    pub id: i64,
    pub journey_id: i64,
    pub version: i64,
    pub contact_id: i64,
    pub node_id: String,
    pub state: String,
    pub resumed: Option<String>,
    pub entered_at: Millis,
}

/// Where a step leaves an enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextState<'a> {
    Waiting {
        node: &'a str,
        wake_at: Millis,
        awaiting_event: Option<&'a str>,
        awaiting_node: Option<&'a str>,
        awaiting_activity: Option<&'a str>,
    },
    Exited {
        node: &'a str,
    },
    Failed {
        error: &'a str,
    },
}

pub struct Batch {
    transaction: Transaction<'static, Any>,
    backend: Backend,
}

impl Store {
    pub async fn begin_batch(&self) -> sqlx::Result<Batch> {
        Ok(Batch {
            transaction: self.pool.begin().await?,
            backend: self.backend,
        })
    }
}

impl Batch {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.transaction.commit().await
    }

    fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }

    /// Marks up to `limit` unmatched events as matched and returns them, oldest first.
    pub async fn claim_events(&mut self, now: Millis, limit: i64) -> sqlx::Result<Vec<EventRow>> {
        let sql = format!(
            "UPDATE events SET processed_at = $1
             WHERE id IN (SELECT id FROM events WHERE processed_at IS NULL
                          ORDER BY id LIMIT $2 {})
             RETURNING id, contact_id, name, properties, message_id, occurred_at",
            self.skip_locked()
        );
        let mut events: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *self.transaction)
            .await?;
        events.sort_by_key(|event| event.id);
        Ok(events)
    }

    pub async fn live_journeys(&mut self) -> sqlx::Result<Vec<LiveJourney>> {
        sqlx::query_as(
            "SELECT id, live_version, reentry FROM journeys
             WHERE status = 'live' AND live_version IS NOT NULL",
        )
        .fetch_all(&mut *self.transaction)
        .await
    }

    pub async fn journey_document(
        &mut self,
        id: i64,
        version: i64,
    ) -> sqlx::Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT document FROM journey_versions WHERE journey_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version)
        .fetch_optional(&mut *self.transaction)
        .await
    }

    /// The contact's attributes as JSON text.
    pub async fn contact_attributes(&mut self, contact_id: i64) -> sqlx::Result<String> {
        sqlx::query_scalar("SELECT attributes FROM contacts WHERE id = $1")
            .bind(contact_id)
            .fetch_one(&mut *self.transaction)
            .await
    }

    /// Whether the contact has an enrollment in the journey: any at all, or (`only_unfinished`)
    /// one still in it.
    pub async fn has_enrollment(
        &mut self,
        journey_id: i64,
        contact_id: i64,
        only_unfinished: bool,
    ) -> sqlx::Result<bool> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM enrollments
             WHERE journey_id = $1 AND contact_id = $2
               AND ($3 = 0 OR state IN ('active', 'waiting'))",
        )
        .bind(journey_id)
        .bind(contact_id)
        .bind(i64::from(only_unfinished))
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(count > 0)
    }

    /// Enrolls the contact at the trigger node, due now.
    pub async fn enroll(
        &mut self,
        journey_id: i64,
        version: i64,
        contact_id: i64,
        trigger_node: &str,
        now: Millis,
    ) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO enrollments
                 (journey_id, version, contact_id, node_id, state, due_at, entered_at, updated_at)
             VALUES ($1, $2, $3, $4, 'active', $5, $5, $5)
             RETURNING id",
        )
        .bind(journey_id)
        .bind(version)
        .bind(contact_id)
        .bind(trigger_node)
        .bind(now)
        .fetch_one(&mut *self.transaction)
        .await
    }

    /// Wakes the contact's enrollments waiting for an event of this name, if it happened
    /// while they waited (after the wait began, before it timed out).
    pub async fn resume_waiting_for_event(
        &mut self,
        contact_id: i64,
        name: &str,
        occurred_at: Millis,
        now: Millis,
    ) -> sqlx::Result<u64> {
        let resumed = sqlx::query(
            "UPDATE enrollments SET state = 'active', resumed = 'event', due_at = $4,
                                    updated_at = $4
             WHERE contact_id = $1 AND state = 'waiting' AND awaiting_event = $2
               AND waiting_since <= $3 AND due_at > $3
               AND journey_id IN (SELECT id FROM journeys WHERE status = 'live')",
        )
        .bind(contact_id)
        .bind(name)
        .bind(occurred_at)
        .bind(now)
        .execute(&mut *self.transaction)
        .await?;
        Ok(resumed.rows_affected())
    }

    /// Wakes the enrollment waiting for this activity of the message it sent.
    pub async fn resume_waiting_for_activity(
        &mut self,
        message_id: i64,
        activity: &str,
        occurred_at: Millis,
        now: Millis,
    ) -> sqlx::Result<u64> {
        let resumed = sqlx::query(
            "UPDATE enrollments SET state = 'active', resumed = 'event', due_at = $4,
                                    updated_at = $4
             WHERE state = 'waiting' AND awaiting_activity = $2
               AND waiting_since <= $3 AND due_at > $3
               AND (id, awaiting_node) IN
                   (SELECT enrollment_id, node_id FROM messages WHERE id = $1)
               AND journey_id IN (SELECT id FROM journeys WHERE status = 'live')",
        )
        .bind(message_id)
        .bind(activity)
        .bind(occurred_at)
        .bind(now)
        .execute(&mut *self.transaction)
        .await?;
        Ok(resumed.rows_affected())
    }

    /// Claims up to `limit` enrollments of live journeys that are due: entering a node,
    /// resumed by an event, or whose timer has fired.
    pub async fn claim_due(&mut self, now: Millis, limit: i64) -> sqlx::Result<Vec<EnrollmentRow>> {
        let sql = format!(
            "UPDATE enrollments SET updated_at = $1
             WHERE id IN (SELECT id FROM enrollments
                          WHERE state IN ('active', 'waiting') AND due_at <= $1
                            AND journey_id IN (SELECT id FROM journeys WHERE status = 'live')
                          ORDER BY due_at, id LIMIT $2 {})
             RETURNING id, journey_id, version, contact_id, node_id, state, resumed, entered_at",
            self.skip_locked()
        );
        let mut due: Vec<EnrollmentRow> = sqlx::query_as(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *self.transaction)
            .await?;
        due.sort_by_key(|enrollment| enrollment.id);
        Ok(due)
    }

    /// When the contact last had each of these events.
    pub async fn last_occurrences(
        &mut self,
        contact_id: i64,
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

    pub async fn record_visit(
        &mut self,
        enrollment: &EnrollmentRow,
        node: &str,
        now: Millis,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO node_visits (enrollment_id, journey_id, version, node_id, contact_id,
                                      visited_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(enrollment.id)
        .bind(enrollment.journey_id)
        .bind(enrollment.version)
        .bind(node)
        .bind(enrollment.contact_id)
        .bind(now)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    pub async fn record_message(
        &mut self,
        enrollment: &EnrollmentRow,
        node: &str,
        channel: &str,
        template: &str,
        now: Millis,
    ) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO messages (enrollment_id, journey_id, version, node_id, contact_id,
                                   channel, template, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             RETURNING id",
        )
        .bind(enrollment.id)
        .bind(enrollment.journey_id)
        .bind(enrollment.version)
        .bind(node)
        .bind(enrollment.contact_id)
        .bind(channel)
        .bind(template)
        .bind(now)
        .fetch_one(&mut *self.transaction)
        .await
    }

    pub async fn queue_delivery(
        &mut self,
        enrollment: &EnrollmentRow,
        node: &str,
        webhook: &str,
        custom_data: &str,
        now: Millis,
    ) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO deliveries (enrollment_id, journey_id, version, node_id, contact_id,
                                     webhook, custom_data, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             RETURNING id",
        )
        .bind(enrollment.id)
        .bind(enrollment.journey_id)
        .bind(enrollment.version)
        .bind(node)
        .bind(enrollment.contact_id)
        .bind(webhook)
        .bind(custom_data)
        .bind(now)
        .fetch_one(&mut *self.transaction)
        .await
    }

    /// Records where the step left the enrollment.
    pub async fn settle(&mut self, id: i64, next: NextState<'_>, now: Millis) -> sqlx::Result<()> {
        let query = match next {
            NextState::Waiting {
                node,
                wake_at,
                awaiting_event,
                awaiting_node,
                awaiting_activity,
            } => sqlx::query(
                "UPDATE enrollments SET state = 'waiting', node_id = $2, due_at = $3,
                        resumed = NULL, awaiting_event = $4, awaiting_node = $5,
                        awaiting_activity = $6, waiting_since = $7, updated_at = $7
                 WHERE id = $1",
            )
            .bind(id)
            .bind(node)
            .bind(wake_at)
            .bind(awaiting_event)
            .bind(awaiting_node)
            .bind(awaiting_activity)
            .bind(now),
            NextState::Exited { node } => sqlx::query(
                "UPDATE enrollments SET state = 'exited', node_id = $2, due_at = NULL,
                        resumed = NULL, awaiting_event = NULL, awaiting_node = NULL,
                        awaiting_activity = NULL, updated_at = $3
                 WHERE id = $1",
            )
            .bind(id)
            .bind(node)
            .bind(now),
            NextState::Failed { error } => sqlx::query(
                "UPDATE enrollments SET state = 'failed', due_at = NULL, error = $2,
                        updated_at = $3
                 WHERE id = $1",
            )
            .bind(id)
            .bind(error)
            .bind(now),
        };
        query.execute(&mut *self.transaction).await?;
        Ok(())
    }
}

impl Store {
    /// The messages sent to a contact, oldest first: (message id, journey node, channel).
    pub async fn contact_messages(
        &self,
        contact_id: i64,
    ) -> sqlx::Result<Vec<(i64, String, String)>> {
        sqlx::query_as(
            "SELECT id, node_id, channel FROM messages WHERE contact_id = $1 ORDER BY id",
        )
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await
    }
}
