//! The engine's storage: one [`Batch`] is one transaction in which the engine claims work
//! (events to match, enrollments that are due) and records every step's outcome, so a step
//! and its records commit together or not at all.
//!
//! Claims are written first: on SQLite the transaction then holds the write lock from its
//! first statement (a read-first transaction could not upgrade while another connection
//! commits); on PostgreSQL `FOR UPDATE SKIP LOCKED` lets several engine processes take
//! disjoint batches.

use std::collections::HashMap;

use sqlx::FromRow;

use super::{
    Backend, Store, Write,
    sql::{IN_LIST_CHUNK, Param, Params, ROWS_PER_STATEMENT, insert_rows},
};
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
    transaction: Write,
    backend: Backend,
}

impl Store {
    pub async fn begin_batch(&self) -> sqlx::Result<Batch> {
        Ok(Batch {
            transaction: self.begin_write().await?,
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

    /// The attributes (JSON text) of these contacts.
    pub async fn contact_attributes(
        &mut self,
        contact_ids: &[i64],
    ) -> sqlx::Result<HashMap<i64, String>> {
        let mut found = HashMap::with_capacity(contact_ids.len());
        for chunk in contact_ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT id, attributes FROM contacts WHERE id IN ({})",
                Params::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            found.extend(query.fetch_all(&mut *self.transaction).await?);
        }
        Ok(found)
    }

    /// The unfinished (`active`/`waiting`) and finished enrollments of these contacts in
    /// these journeys, as (journey, contact, unfinished) triples.
    pub async fn enrollments_of(
        &mut self,
        journey_ids: &[i64],
        contact_ids: &[i64],
    ) -> sqlx::Result<Vec<(i64, i64, bool)>> {
        let mut found = Vec::new();
        if journey_ids.is_empty() {
            return Ok(found);
        }
        for chunk in contact_ids.chunks(IN_LIST_CHUNK) {
            let mut params = Params::new(self.backend);
            let sql = format!(
                "SELECT DISTINCT journey_id, contact_id,
                        CASE WHEN state IN ('active', 'waiting') THEN 1 ELSE 0 END
                 FROM enrollments
                 WHERE journey_id IN ({}) AND contact_id IN ({})",
                params.list(journey_ids.len()),
                params.list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, (i64, i64, i64)>(&sql);
            for id in journey_ids.iter().chain(chunk) {
                query = query.bind(*id);
            }
            let rows = query.fetch_all(&mut *self.transaction).await?;
            found.extend(
                rows.into_iter()
                    .map(|(journey, contact, unfinished)| (journey, contact, unfinished == 1)),
            );
        }
        Ok(found)
    }

    /// Enrolls each (journey, version, contact, trigger node, triggering event) at its
    /// trigger, due now.
    pub async fn enroll(
        &mut self,
        enrollments: &[(i64, i64, i64, &str, i64)],
        now: Millis,
    ) -> sqlx::Result<()> {
        let rows = enrollments
            .iter()
            .map(|(journey, version, contact, node, event)| {
                [
                    Param::Int(*journey),
                    Param::Int(*version),
                    Param::Int(*contact),
                    Param::Text(node),
                    Param::Text("active"),
                    Param::Int(now),
                    Param::Int(now),
                    Param::Int(now),
                    Param::Int(*event),
                ]
            });
        insert_rows(
            &mut self.transaction,
            self.backend,
            "enrollments (journey_id, version, contact_id, node_id, state, due_at, entered_at,
                          updated_at, trigger_event_id)",
            rows,
        )
        .await
    }

    /// Wakes the enrollments waiting for these events by name, where an event happened while
    /// its enrollment waited (after the wait began, before it timed out).
    pub async fn resume_waiting_for_events(
        &mut self,
        events: &[EventRow],
        now: Millis,
    ) -> sqlx::Result<u64> {
        let mut resumed = 0;
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::new(self.backend);
            let values = params.rows(chunk.len(), 3);
            let (due_at, updated_at) = (params.one(), params.one());
            let sql = format!(
                "WITH arrived (contact_id, name, occurred_at) AS (VALUES {values})
                 UPDATE enrollments SET state = 'active', resumed = 'event', due_at = {due_at},
                                        updated_at = {updated_at}
                 WHERE state = 'waiting' AND awaiting_event IS NOT NULL
                   AND EXISTS (SELECT 1 FROM arrived
                               WHERE arrived.contact_id = enrollments.contact_id
                                 AND arrived.name = enrollments.awaiting_event
                                 AND arrived.occurred_at >= enrollments.waiting_since
                                 AND arrived.occurred_at < enrollments.due_at)
                   AND journey_id IN (SELECT id FROM journeys WHERE status = 'live')"
            );
            let mut query = sqlx::query(&sql);
            for event in chunk {
                query = query
                    .bind(event.contact_id)
                    .bind(event.name.as_str())
                    .bind(event.occurred_at);
            }
            query = query.bind(now).bind(now);
            resumed += query.execute(&mut *self.transaction).await?.rows_affected();
        }
        Ok(resumed)
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

    /// Records what a batch of steps did and where each left its enrollment.
    pub async fn record_steps(&mut self, steps: &StepRecords<'_>, now: Millis) -> sqlx::Result<()> {
        let visits = steps.visits.iter().map(|(enrollment, node)| {
            [
                Param::Int(enrollment.id),
                Param::Int(enrollment.journey_id),
                Param::Int(enrollment.version),
                Param::Text(node),
                Param::Int(enrollment.contact_id),
                Param::Int(now),
            ]
        });
        insert_rows(
            &mut self.transaction,
            self.backend,
            "node_visits (enrollment_id, journey_id, version, node_id, contact_id, visited_at)",
            visits,
        )
        .await?;
        let messages = steps
            .messages
            .iter()
            .map(|(enrollment, node, channel, template)| {
                [
                    Param::Int(enrollment.id),
                    Param::Int(enrollment.journey_id),
                    Param::Int(enrollment.version),
                    Param::Text(node),
                    Param::Int(enrollment.contact_id),
                    Param::Text(channel),
                    Param::Text(template),
                    Param::Int(now),
                ]
            });
        insert_rows(
            &mut self.transaction,
            self.backend,
            "messages (enrollment_id, journey_id, version, node_id, contact_id, channel, template,
                       created_at)",
            messages,
        )
        .await?;
        let deliveries = steps
            .deliveries
            .iter()
            .map(|(enrollment, node, webhook, data)| {
                [
                    Param::Int(enrollment.id),
                    Param::Int(enrollment.journey_id),
                    Param::Int(enrollment.version),
                    Param::Text(node),
                    Param::Int(enrollment.contact_id),
                    Param::Text(webhook),
                    Param::Text(data),
                    Param::Int(now),
                    Param::Int(now),
                    Param::Int(now),
                ]
            });
        insert_rows(
            &mut self.transaction,
            self.backend,
            "deliveries (enrollment_id, journey_id, version, node_id, contact_id, webhook,
                         custom_data, created_at, next_attempt_at, updated_at)",
            deliveries,
        )
        .await?;
        self.settle(&steps.settled, now).await
    }

    /// Writes each enrollment's new state with one statement per chunk.
    async fn settle(&mut self, settled: &[(i64, NextState<'_>)], now: Millis) -> sqlx::Result<()> {
        for chunk in settled.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::new(self.backend);
            let values = params.rows(chunk.len(), 9);
            let updated_at = params.one();
            let sql = format!(
                "WITH settled (id, state, node_id, due_at, awaiting_event, awaiting_node,
                               awaiting_activity, waiting_since, error) AS (VALUES {values})
                 UPDATE enrollments SET
                     state = settled.state,
                     node_id = COALESCE(settled.node_id, enrollments.node_id),
                     due_at = settled.due_at,
                     resumed = NULL,
                     awaiting_event = settled.awaiting_event,
                     awaiting_node = settled.awaiting_node,
                     awaiting_activity = settled.awaiting_activity,
                     waiting_since = settled.waiting_since,
                     error = settled.error,
                     updated_at = {updated_at}
                 FROM settled
                 WHERE enrollments.id = settled.id"
            );
            let mut query = sqlx::query(&sql);
            for (id, next) in chunk {
                let row: [Param<'_>; 9] = match next {
                    NextState::Waiting {
                        node,
                        wake_at,
                        awaiting_event,
                        awaiting_node,
                        awaiting_activity,
                    } => [
                        Param::Int(*id),
                        Param::Text("waiting"),
                        Param::OptText(Some(node)),
                        Param::OptInt(Some(*wake_at)),
                        Param::OptText(*awaiting_event),
                        Param::OptText(*awaiting_node),
                        Param::OptText(*awaiting_activity),
                        Param::OptInt(Some(now)),
                        Param::OptText(None),
                    ],
                    NextState::Exited { node } => [
                        Param::Int(*id),
                        Param::Text("exited"),
                        Param::OptText(Some(node)),
                        Param::OptInt(None),
                        Param::OptText(None),
                        Param::OptText(None),
                        Param::OptText(None),
                        Param::OptInt(None),
                        Param::OptText(None),
                    ],
                    NextState::Failed { error } => [
                        Param::Int(*id),
                        Param::Text("failed"),
                        Param::OptText(None),
                        Param::OptInt(None),
                        Param::OptText(None),
                        Param::OptText(None),
                        Param::OptText(None),
                        Param::OptInt(None),
                        Param::OptText(Some(error)),
                    ],
                };
                for param in row {
                    query = param.bind(query);
                }
            }
            query = query.bind(now);
            query.execute(&mut *self.transaction).await?;
        }
        Ok(())
    }
}

/// What a batch of steps did, gathered so each table gets one statement per chunk of rows.
#[derive(Debug, Default)]
pub struct StepRecords<'a> {
    /// (enrollment, node reached)
    pub visits: Vec<(&'a EnrollmentRow, &'a str)>,
    /// (enrollment, action node, channel, template)
    pub messages: Vec<(&'a EnrollmentRow, &'a str, &'a str, &'a str)>,
    /// (enrollment, webhook node, webhook, custom data as JSON)
    pub deliveries: Vec<(&'a EnrollmentRow, &'a str, &'a str, String)>,
    /// (enrollment id, its new state)
    pub settled: Vec<(i64, NextState<'a>)>,
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
