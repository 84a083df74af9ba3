//! Messages action nodes send: queued by the step that reaches the node, claimed and sent by
//! the message worker. Activity events (`opened`, `clicked`, …) name them by id, and a wait for
//! an activity finds its message through them.

use std::collections::HashMap;

use app::{
    api::{MessageAttemptOut, MessageAttemptOutcome, MessageStatus},
    ids::{ContactId, JourneyId, MessageId, TemplateId},
    journey::{Channel, NodeId},
};
use sqlx::FromRow;

use super::{
    Batch, Claimant, EnrollmentRow, Store,
    deliveries::{Claimable, claim_due},
    sql::{IN_LIST_CHUNK, Param, Params, ROWS_PER_STATEMENT, bind_rows, insert_rows},
};
use crate::clock::Millis;

/// A message an action node sends in a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage<'a> {
    pub enrollment: &'a EnrollmentRow,
    pub node: &'a NodeId,
    pub channel: Channel,
    pub template: Option<TemplateId>,
    /// The template's name, for documents saved before templates were assets.
    pub template_name: &'a str,
}

/// A claimed message with what sending it needs.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DueMessage {
    pub id: MessageId,
    pub journey_id: JourneyId,
    pub contact_id: ContactId,
    pub channel: Channel,
    /// What the node picked: a template id, else a name.
    pub template_id: Option<TemplateId>,
    pub template_name: String,
    /// The template found, if it still exists ([`Store::templates_by_id`] reads it once per
    /// round rather than once per message).
    pub found_template: Option<TemplateId>,
    pub attempts: i64,
    pub created_at: Millis,
    /// Where its retry window starts, when not at `created_at` (held for quiet hours).
    pub window_from: Option<Millis>,
    pub contact_external_id: String,
    pub contact_attributes: String,
    pub event_name: Option<String>,
    pub event_properties: Option<String>,
    pub event_occurred_at: Option<Millis>,
    pub journey_name: Option<String>,
}

/// What became of a claimed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// The provider took it; with the provider's own id for it, when its answer gave one.
    Sent {
        provider_ref: Option<String>,
    },
    /// A transient failure: try again at `at`.
    Retry {
        at: Millis,
        error: String,
    },
    Failed {
        reason: String,
    },
    Skipped {
        reason: String,
    },
    /// Not sent yet on purpose (the contact's quiet hours): due again at `until`, with a fresh
    /// retry window from then.
    Deferred {
        until: Millis,
        reason: String,
    },
}

/// How a provider's receipt names a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageReference {
    /// By the id the provider's answer gave it.
    Provider(String),
    /// By Wayfarer's id, which the provider's request passed on.
    Ours(MessageId),
}

/// A message the tracking endpoints found.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TrackedMessage {
    pub id: MessageId,
    pub channel: Channel,
    pub contact_external_id: String,
}

/// What the message log lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageQuery<'a> {
    pub journey: Option<JourneyId>,
    pub node: Option<&'a NodeId>,
    pub channel: Option<Channel>,
    pub status: Option<MessageStatus>,
    pub contact: Option<&'a str>,
    pub limit: i64,
}

/// A message as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MessageLogRow {
    pub id: MessageId,
    pub journey_id: JourneyId,
    pub version: i64,
    pub node_id: NodeId,
    pub channel: Channel,
    pub template_id: Option<TemplateId>,
    pub contact: String,
    pub status: MessageStatus,
    pub reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<Millis>,
    pub provider_ref: Option<String>,
    pub created_at: Millis,
    pub sent_at: Option<Millis>,
}

/// One attempt to send a message, as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
struct MessageAttemptRow {
    message_id: MessageId,
    attempted_at: Millis,
    outcome: MessageAttemptOutcome,
    detail: Option<String>,
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct MessageRow {
    pub id: MessageId,
    pub node_id: NodeId,
    pub channel: Channel,
}

impl Batch {
    pub(super) async fn insert_messages(
        &mut self,
        messages: &[NewMessage<'_>],
        now: Millis,
    ) -> sqlx::Result<()> {
        let rows = messages.iter().map(|message| {
            [
                message.enrollment.id.into(),
                message.enrollment.journey_id.into(),
                Param::Int(message.enrollment.version),
                Param::Text(message.node.as_str()),
                message.enrollment.contact_id.into(),
                Param::Text(message.channel.as_str()),
                Param::Text(message.template_name),
                Param::OptInt(message.template.map(TemplateId::get)),
                Param::Text(MessageStatus::Queued.as_str()),
                Param::Int(now),
                Param::Int(now),
            ]
        });
        insert_rows(
            &mut self.transaction,
            self.backend,
            "messages (enrollment_id, journey_id, version, node_id, contact_id, channel, template,
                       template_id, status, next_attempt_at, created_at)",
            rows,
        )
        .await
    }
}

impl Store {
    /// Claims up to `limit` queued messages that are due for `claimant` until `lease_until`:
    /// if this process dies while sending, they are due again then.
    pub async fn claim_due_messages(
        &self,
        claimant: Claimant,
        now: Millis,
        lease_until: Millis,
        limit: i64,
    ) -> sqlx::Result<Vec<DueMessage>> {
        // A read first: the worker polls for retries, and an idle poll must not take SQLite's
        // write turn from the engine (it delayed the engine's records of attempts).
        let any_due: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM messages WHERE status = 'queued' AND next_attempt_at <= $1 LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if any_due.is_none() {
            return Ok(Vec::new());
        }
        let mut transaction = self.begin_write().await?;
        let ids: Vec<MessageId> = claim_due(
            &mut transaction,
            self.backend,
            Claimable::Messages,
            claimant,
            now,
            lease_until,
            limit,
        )
        .await?;
        // What sending needs is read after the claim commits: SQLite has one writer, and the
        // other round's records (or the engine's) should not wait for this read.
        transaction.commit().await?;
        let mut due = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT m.id, m.journey_id, m.contact_id, m.channel, m.template_id, m.template AS template_name,
                        t.id AS found_template,
                        m.attempts, m.created_at, m.window_from,
                        c.external_id AS contact_external_id, c.attributes AS contact_attributes,
                        e.name AS event_name, e.properties AS event_properties,
                        e.occurred_at AS event_occurred_at, j.name AS journey_name
                 FROM messages m
                 JOIN contacts c ON c.id = m.contact_id
                 LEFT JOIN templates t ON t.id = COALESCE(
                     m.template_id,
                     (SELECT MIN(named.id) FROM templates named
                      WHERE named.name = m.template AND named.channel = m.channel))
                 LEFT JOIN enrollments n ON n.id = m.enrollment_id
                 LEFT JOIN events e ON e.id = n.trigger_event_id
                 LEFT JOIN journeys j ON j.id = m.journey_id
                 WHERE m.id IN ({})
                 ORDER BY m.id",
                Params::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, DueMessage>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            due.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(due)
    }

    /// Records what became of messages `claimant` holds; one whose claim another worker took
    /// over meanwhile is left to that worker.
    pub async fn record_messages(
        &self,
        claimant: Claimant,
        outcomes: &[(MessageId, MessageOutcome)],
        now: Millis,
    ) -> sqlx::Result<()> {
        let settled = outcomes.iter().map(|(id, outcome)| {
            let (status, next_attempt_at, reason) = match outcome {
                MessageOutcome::Sent { .. } => (MessageStatus::Sent, None, None),
                MessageOutcome::Retry { at, error } => {
                    (MessageStatus::Queued, Some(*at), Some(error.as_str()))
                }
                MessageOutcome::Failed { reason } => {
                    (MessageStatus::Failed, None, Some(reason.as_str()))
                }
                MessageOutcome::Skipped { reason } => {
                    (MessageStatus::Skipped, None, Some(reason.as_str()))
                }
                MessageOutcome::Deferred { until, reason } => {
                    (MessageStatus::Queued, Some(*until), Some(reason.as_str()))
                }
            };
            let provider_ref = match outcome {
                MessageOutcome::Sent { provider_ref } => provider_ref.as_deref(),
                _ => None,
            };
            let window_from = match outcome {
                MessageOutcome::Deferred { until, .. } => Some(*until),
                _ => None,
            };
            let attempted = i64::from(!matches!(
                outcome,
                MessageOutcome::Skipped { .. } | MessageOutcome::Deferred { .. }
            ));
            [
                (*id).into(),
                Param::Text(status.as_str()),
                Param::OptInt(next_attempt_at),
                Param::OptText(reason),
                Param::Int(attempted),
                Param::OptText(provider_ref),
                Param::OptInt(window_from),
            ]
        });
        let settled: Vec<[Param<'_>; 7]> = settled.collect();
        let attempts: Vec<[Param<'_>; 3]> = outcomes
            .iter()
            .filter_map(|(id, outcome)| {
                let (outcome, detail) = match outcome {
                    MessageOutcome::Sent { provider_ref } => {
                        (MessageAttemptOutcome::Sent, provider_ref.as_deref())
                    }
                    MessageOutcome::Retry { error, .. } => {
                        (MessageAttemptOutcome::Retry, Some(error.as_str()))
                    }
                    MessageOutcome::Failed { reason } => {
                        (MessageAttemptOutcome::Failed, Some(reason.as_str()))
                    }
                    MessageOutcome::Skipped { .. } | MessageOutcome::Deferred { .. } => {
                        return None;
                    }
                };
                Some([
                    (*id).into(),
                    Param::Text(outcome.as_str()),
                    Param::OptText(detail),
                ])
            })
            .collect();
        let mut transaction = self.begin_write().await?;
        // Logged before the outcomes free the claims: only for messages this worker still
        // holds, as the outcomes themselves.
        for chunk in attempts.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::new(self.backend);
            let values = params.rows(chunk.len(), 3);
            let attempted_at = params.one();
            let holder = params.one();
            let sql = format!(
                "WITH attempted (message_id, outcome, detail) AS (VALUES {values})
                 INSERT INTO message_attempts (message_id, attempted_at, outcome, detail)
                 SELECT attempted.message_id, {attempted_at}, attempted.outcome, attempted.detail
                 FROM attempted JOIN messages ON messages.id = attempted.message_id
                 WHERE messages.claimed_by = {holder} AND messages.status = 'queued'"
            );
            bind_rows(sqlx::query(&sql), chunk)
                .bind(now)
                .bind(claimant.0)
                .execute(&mut *transaction)
                .await?;
        }
        // One statement per few hundred messages, not one each: each statement costs a
        // hand-off to SQLite's thread, which made recording cost as much as sending.
        for chunk in settled.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::new(self.backend);
            let values = params.rows(chunk.len(), 7);
            let sent_at = params.one();
            let holder = params.one();
            let sql = format!(
                "WITH settled (id, status, next_attempt_at, reason, attempted, provider_ref,
                               window_from) AS (VALUES {values})
                 UPDATE messages SET
                     status = settled.status,
                     next_attempt_at = settled.next_attempt_at,
                     reason = settled.reason,
                     attempts = messages.attempts + settled.attempted,
                     sent_at = CASE WHEN settled.status = 'sent' THEN {sent_at}
                                    ELSE messages.sent_at END,
                     provider_ref = settled.provider_ref,
                     window_from = COALESCE(settled.window_from, messages.window_from),
                     claimed_by = NULL
                 FROM settled
                 WHERE messages.id = settled.id AND messages.claimed_by = {holder}
                   AND messages.status = 'queued'"
            );
            bind_rows(sqlx::query(&sql), chunk)
                .bind(now)
                .bind(claimant.0)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Extends the lease of every queued message `claimant` holds to `lease_until`: the
    /// message worker's heartbeat, so a round longer than a lease (500 emails to a server that
    /// times out) is not taken over and sent twice by another process. Returns how many.
    pub async fn renew_message_claims(
        &self,
        claimant: Claimant,
        lease_until: Millis,
    ) -> sqlx::Result<u64> {
        self.renew(Claimable::Messages, claimant, lease_until).await
    }

    /// Makes the queued messages claimed by `claimant` (or by anyone, with `None`) due at
    /// `now` and unclaimed: what a stopping worker gives back, and what a restarted SQLite
    /// server takes over from the process that died. Returns how many.
    pub async fn release_message_claims(
        &self,
        claimant: Option<Claimant>,
        now: Millis,
    ) -> sqlx::Result<u64> {
        let holder = if claimant.is_some() {
            "AND claimed_by = $2"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE messages SET next_attempt_at = $1, claimed_by = NULL
             WHERE status = 'queued' AND claimed_by IS NOT NULL {holder}"
        );
        let mut query = sqlx::query(&sql).bind(now);
        if let Some(claimant) = claimant {
            query = query.bind(claimant.0);
        }
        let done = self.write_one(query).await?;
        Ok(done.rows_affected())
    }

    /// A message a tracking link names, with its contact; `None` if unknown.
    pub async fn tracked_message(&self, id: MessageId) -> sqlx::Result<Option<TrackedMessage>> {
        sqlx::query_as(
            "SELECT m.id, m.channel, c.external_id AS contact_external_id
             FROM messages m JOIN contacts c ON c.id = m.contact_id
             WHERE m.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }
}

impl super::Store {
    /// The message on `channel` a provider's receipt names, with its contact.
    pub async fn message_by_reference(
        &self,
        channel: Channel,
        reference: &MessageReference,
    ) -> sqlx::Result<Option<TrackedMessage>> {
        let column = match reference {
            MessageReference::Provider(_) => "provider_ref",
            MessageReference::Ours(_) => "id",
        };
        let sql = format!(
            "SELECT m.id, m.channel, c.external_id AS contact_external_id
             FROM messages m JOIN contacts c ON c.id = m.contact_id
             WHERE m.channel = $1 AND m.{column} = $2"
        );
        let query = sqlx::query_as(&sql).bind(channel);
        let query = match reference {
            MessageReference::Provider(reference) => query.bind(reference.as_str()),
            MessageReference::Ours(id) => query.bind(*id),
        };
        query.fetch_optional(&self.pool).await
    }

    /// The message log: messages matching `query`, newest first.
    pub async fn messages(&self, query: &MessageQuery<'_>) -> sqlx::Result<Vec<MessageLogRow>> {
        sqlx::query_as(
            "SELECT m.id, m.journey_id, m.version, m.node_id, m.channel, m.template_id,
                    c.external_id AS contact, m.status, m.reason, m.attempts,
                    CASE WHEN m.status = 'queued' THEN m.next_attempt_at END AS next_attempt_at,
                    m.provider_ref, m.created_at, m.sent_at
             FROM messages m JOIN contacts c ON c.id = m.contact_id
             WHERE ($1 IS NULL OR m.journey_id = $1)
               AND ($2 IS NULL OR m.node_id = $2)
               AND ($3 IS NULL OR m.channel = $3)
               AND ($4 IS NULL OR m.status = $4)
               AND ($5 IS NULL OR c.external_id = $5)
             ORDER BY m.id DESC
             LIMIT $6",
        )
        .bind(query.journey)
        .bind(query.node)
        .bind(query.channel)
        .bind(query.status)
        .bind(query.contact)
        .bind(query.limit)
        .fetch_all(&self.pool)
        .await
    }

    /// The activities recorded for each of these messages, each once, in the order they came.
    pub async fn message_activities(
        &self,
        ids: &[MessageId],
    ) -> sqlx::Result<HashMap<MessageId, Vec<String>>> {
        let mut found: HashMap<MessageId, Vec<String>> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT message_id, name FROM events WHERE message_id IN ({}) ORDER BY id",
                Params::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, (MessageId, String)>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for (id, name) in query.fetch_all(&self.pool).await? {
                let names = found.entry(id).or_default();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        Ok(found)
    }

    /// Every attempt to send each of these messages, oldest first.
    pub async fn message_attempts(
        &self,
        ids: &[MessageId],
    ) -> sqlx::Result<HashMap<MessageId, Vec<MessageAttemptOut>>> {
        let mut found: HashMap<MessageId, Vec<MessageAttemptOut>> =
            HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT message_id, attempted_at, outcome, detail FROM message_attempts
                 WHERE message_id IN ({}) ORDER BY id",
                Params::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, MessageAttemptRow>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                found
                    .entry(row.message_id)
                    .or_default()
                    .push(MessageAttemptOut {
                        attempted_at: row.attempted_at,
                        outcome: row.outcome,
                        detail: row.detail,
                    });
            }
        }
        Ok(found)
    }

    /// How many messages on `channel` each of `contacts` was sent since `since`.
    pub async fn recently_sent(
        &self,
        channel: Channel,
        contacts: &[ContactId],
        since: Millis,
    ) -> sqlx::Result<HashMap<ContactId, i64>> {
        let mut counts = HashMap::with_capacity(contacts.len());
        for chunk in contacts.chunks(IN_LIST_CHUNK) {
            let mut params = Params::new(self.backend);
            let sql = format!(
                "SELECT contact_id, COUNT(*) FROM messages
                 WHERE status = 'sent' AND channel = {} AND sent_at > {}
                   AND contact_id IN ({})
                 GROUP BY contact_id",
                params.one(),
                params.one(),
                params.list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, (ContactId, i64)>(&sql)
                .bind(channel)
                .bind(since);
            for contact in chunk {
                query = query.bind(*contact);
            }
            counts.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(counts)
    }

    /// Whether an activity event of `name` was recorded for the message.
    pub async fn message_had_activity(&self, id: MessageId, name: &str) -> sqlx::Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM events WHERE message_id = $1 AND name = $2 LIMIT 1")
                .bind(id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// Marks a sent message failed because its provider reported that it could not deliver it.
    pub async fn fail_sent_message(&self, id: MessageId, reason: &str) -> sqlx::Result<()> {
        self.write_one(
            sqlx::query(
                "UPDATE messages SET status = 'failed', reason = $1
                 WHERE id = $2 AND status = 'sent'",
            )
            .bind(reason)
            .bind(id),
        )
        .await?;
        Ok(())
    }

    /// The external id of the contact each of these messages was sent to; unknown messages
    /// are absent.
    pub async fn message_recipients(
        &self,
        message_ids: &[MessageId],
    ) -> sqlx::Result<HashMap<MessageId, String>> {
        let mut found = HashMap::with_capacity(message_ids.len());
        for chunk in message_ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT m.id, c.external_id FROM messages m JOIN contacts c ON c.id = m.contact_id
                 WHERE m.id IN ({})",
                Params::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, (MessageId, String)>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            found.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(found)
    }
}

#[cfg(any(test, feature = "test-support"))]
impl super::Store {
    /// The messages sent to a contact, oldest first.
    pub async fn contact_messages(
        &self,
        contact_id: app::ids::ContactId,
    ) -> sqlx::Result<Vec<MessageRow>> {
        sqlx::query_as(
            "SELECT id, node_id, channel FROM messages WHERE contact_id = $1 ORDER BY id",
        )
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await
    }
}
