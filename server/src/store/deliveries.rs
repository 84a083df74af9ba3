//! Webhook deliveries and their attempts: queued by the engine's steps, claimed and recorded
//! by the delivery worker, listed and resent through the API.

use std::collections::HashMap;

use app::{
    api::{AttemptOutcome, DeliveryStatus},
    ids::{DeliveryId, JourneyId, WebhookId},
    journey::NodeId,
};
use sqlx::FromRow;

use super::{
    Batch, EnrollmentRow, Store,
    sql::{AnyQuery, IN_LIST_CHUNK, Param, Params, ROWS_PER_STATEMENT, insert_rows},
};
use crate::clock::Millis;

/// A request a webhook node queues in a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery<'a> {
    pub enrollment: &'a EnrollmentRow,
    pub node: &'a NodeId,
    pub webhook: WebhookId,
    /// The node's custom data: JSON `[{"key", "value"}]`.
    pub custom_data: String,
}

/// A delivery claimed for sending, with what its request needs.
#[derive(Debug, Clone, FromRow)]
pub struct DueDelivery {
    pub id: DeliveryId,
    pub journey_id: JourneyId,
    pub node_id: NodeId,
    pub webhook_id: WebhookId,
    /// The node's custom data: JSON `[{"key", "value"}]`.
    pub custom_data: String,
    pub attempts: i64,
    pub window_started_at: Option<Millis>,
    pub created_at: Millis,
    pub contact_external_id: String,
    pub contact_attributes: String,
    pub event_name: Option<String>,
    pub event_properties: Option<String>,
    pub event_occurred_at: Option<Millis>,
    pub journey_name: Option<String>,
}

/// The result of one attempt and the delivery's state after it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: DeliveryId,
    pub attempted_at: Millis,
    pub latency_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub response_body: Option<String>,
    /// Placeholders the data lacked, comma-separated.
    pub missing_placeholders: Option<String>,
    pub outcome: AttemptOutcome,
    /// The delivery's status afterwards.
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<Millis>,
    pub window_started_at: Millis,
}

/// A delivery's state after an attempt, as `record_attempts` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SettledState<'a> {
    status: DeliveryStatus,
    next_attempt_at: Option<Millis>,
    window_started_at: Millis,
    last_status_code: Option<i64>,
    last_error: Option<&'a str>,
}

impl<'a> SettledState<'a> {
    fn of(record: &'a AttemptRecord) -> Self {
        Self {
            status: record.status,
            next_attempt_at: record.next_attempt_at,
            window_started_at: record.window_started_at,
            last_status_code: record.status_code,
            last_error: record.error.as_deref(),
        }
    }

    /// Binds the five values in the order of the columns above.
    fn bind<'q>(self, query: AnyQuery<'q>) -> AnyQuery<'q>
    where
        'a: 'q,
    {
        query
            .bind(self.status)
            .bind(self.next_attempt_at)
            .bind(self.window_started_at)
            .bind(self.last_status_code)
            .bind(self.last_error)
    }
}

impl Store {
    /// Claims up to `limit` due deliveries by moving their next attempt to `lease_until`: if
    /// this process dies while sending, they become due again then (at-least-once).
    pub async fn claim_due_deliveries(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: i64,
    ) -> sqlx::Result<Vec<DueDelivery>> {
        let skip_locked = self.backend.skip_locked();
        let mut transaction = self.begin_write().await?;
        let ids: Vec<DeliveryId> = sqlx::query_scalar(&format!(
            "UPDATE deliveries SET next_attempt_at = $2
             WHERE id IN (SELECT id FROM deliveries
                          WHERE status = 'pending' AND next_attempt_at <= $1
                          ORDER BY next_attempt_at, id LIMIT $3 {skip_locked})
             RETURNING id"
        ))
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&mut *transaction)
        .await?;
        if ids.is_empty() {
            transaction.commit().await?;
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT d.id, d.journey_id, d.node_id, d.webhook_id, d.custom_data, d.attempts,
                    d.window_started_at, d.created_at,
                    c.external_id AS contact_external_id, c.attributes AS contact_attributes,
                    e.name AS event_name, e.properties AS event_properties,
                    e.occurred_at AS event_occurred_at, j.name AS journey_name
             FROM deliveries d
             JOIN contacts c ON c.id = d.contact_id
             LEFT JOIN enrollments n ON n.id = d.enrollment_id
             LEFT JOIN events e ON e.id = n.trigger_event_id
             LEFT JOIN journeys j ON j.id = d.journey_id
             WHERE d.id IN ({})
             ORDER BY d.id",
            Params::new(self.backend).list(ids.len())
        );
        let mut query = sqlx::query_as::<_, DueDelivery>(&sql);
        for id in &ids {
            query = query.bind(*id);
        }
        let due = query.fetch_all(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(due)
    }

    /// Logs the attempts and moves their deliveries on, all in one transaction with a few
    /// multi-row statements.
    pub async fn record_attempts(
        &self,
        records: &[AttemptRecord],
        now: Millis,
    ) -> sqlx::Result<()> {
        let mut transaction = self.begin_write().await?;
        let attempts = records.iter().map(|record| {
            [
                record.delivery_id.into(),
                Param::Int(record.attempted_at),
                Param::Int(record.latency_ms),
                Param::OptInt(record.status_code),
                Param::OptText(record.error.as_deref()),
                Param::OptText(record.response_body.as_deref()),
                Param::OptText(record.missing_placeholders.as_deref()),
                Param::Text(record.outcome.as_str()),
            ]
        });
        insert_rows(
            &mut transaction,
            self.backend,
            "delivery_attempts (delivery_id, attempted_at, latency_ms, status_code, error,
                                response_body, missing_placeholders, outcome)",
            attempts,
        )
        .await?;
        // Deliveries that end in the same state (a batch accepted at once, typically) are moved
        // by one `WHERE id IN` per state, which binds a parameter per row instead of six; the
        // rest (retries, whose next attempts differ by their jitter) by a `VALUES` list.
        let mut by_state: HashMap<SettledState<'_>, Vec<DeliveryId>> = HashMap::new();
        for record in records {
            by_state
                .entry(SettledState::of(record))
                .or_default()
                .push(record.delivery_id);
        }
        let mut singles = Vec::new();
        for (state, ids) in by_state {
            if let [id] = ids[..] {
                singles.push((id, state));
                continue;
            }
            for chunk in ids.chunks(IN_LIST_CHUNK) {
                let mut params = Params::new(self.backend);
                let settled = params.list(6);
                let sql = format!(
                    "UPDATE deliveries SET attempts = attempts + 1,
                         (status, next_attempt_at, window_started_at, last_status_code, last_error,
                          updated_at) = ({settled})
                     WHERE id IN ({})",
                    params.list(chunk.len())
                );
                let mut query = state.bind(sqlx::query(&sql)).bind(now);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(&mut *transaction).await?;
            }
        }
        for chunk in singles.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::new(self.backend);
            let values = params.rows(chunk.len(), 6);
            let updated_at = params.one();
            let sql = format!(
                "WITH settled (id, status, next_attempt_at, window_started_at, last_status_code,
                               last_error) AS (VALUES {values})
                 UPDATE deliveries SET
                     status = settled.status,
                     next_attempt_at = settled.next_attempt_at,
                     attempts = deliveries.attempts + 1,
                     window_started_at = settled.window_started_at,
                     last_status_code = settled.last_status_code,
                     last_error = settled.last_error,
                     updated_at = {updated_at}
                 FROM settled
                 WHERE deliveries.id = settled.id"
            );
            let mut query = sqlx::query(&sql);
            for (id, state) in chunk {
                query = state.bind(query.bind(*id));
            }
            query = query.bind(now);
            query.execute(&mut *transaction).await?;
        }
        transaction.commit().await
    }
}

/// A delivery as the API lists it.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub journey_id: JourneyId,
    pub version: i64,
    pub node_id: NodeId,
    pub contact: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: Option<Millis>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    pub attempted_at: Millis,
    pub latency_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub response_body: Option<String>,
    pub missing_placeholders: Option<String>,
    pub outcome: AttemptOutcome,
}

/// Optional filters, combined with "and".
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery<'a> {
    pub id: Option<DeliveryId>,
    pub webhook: Option<WebhookId>,
    pub journey: Option<JourneyId>,
    pub node: Option<&'a NodeId>,
    pub status: Option<DeliveryStatus>,
    pub contact: Option<&'a str>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub limit: i64,
}

impl Store {
    /// Deliveries matching the query, newest first.
    pub async fn deliveries(&self, query: &DeliveryQuery<'_>) -> sqlx::Result<Vec<DeliveryRow>> {
        sqlx::query_as(
            "SELECT d.id, d.webhook_id, d.journey_id, d.version, d.node_id,
                    c.external_id AS contact, d.status, d.attempts, d.next_attempt_at,
                    d.last_status_code, d.last_error, d.created_at
             FROM deliveries d JOIN contacts c ON c.id = d.contact_id
             WHERE ($1 IS NULL OR d.id = $1)
               AND ($2 IS NULL OR d.webhook_id = $2)
               AND ($3 IS NULL OR d.journey_id = $3)
               AND ($4 IS NULL OR d.node_id = $4)
               AND ($5 IS NULL OR d.status = $5)
               AND ($6 IS NULL OR c.external_id = $6)
               AND ($7 IS NULL OR d.created_at >= $7)
               AND ($8 IS NULL OR d.created_at < $8)
             ORDER BY d.id DESC
             LIMIT $9",
        )
        .bind(query.id)
        .bind(query.webhook)
        .bind(query.journey)
        .bind(query.node)
        .bind(query.status)
        .bind(query.contact)
        .bind(query.since)
        .bind(query.until)
        .bind(query.limit)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn delivery_attempts(
        &self,
        delivery_id: DeliveryId,
    ) -> sqlx::Result<Vec<AttemptRow>> {
        sqlx::query_as(
            "SELECT attempted_at, latency_ms, status_code, error, response_body,
                    missing_placeholders, outcome
             FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Starts a new attempt cycle (due now, a fresh retry window) for the deliveries in
    /// `scope` that are not pending; the `webhook-id` stays the same. Returns how many.
    pub async fn resend_deliveries(
        &self,
        scope: ResendScope<'_>,
        now: Millis,
    ) -> sqlx::Result<u64> {
        let (delivery, journey_node, only_failed) = match scope {
            ResendScope::Delivery(id) => (Some(id), None, false),
            ResendScope::FailedOfNode { journey, node } => (None, Some((journey, node)), true),
        };
        let resent = sqlx::query(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $1,
                 window_started_at = NULL, attempts = 0, updated_at = $1
             WHERE status <> 'pending'
               AND ($2 IS NULL OR id = $2)
               AND ($3 IS NULL OR journey_id = $3)
               AND ($4 IS NULL OR node_id = $4)
               AND ($5 = 0 OR status = 'failed')",
        )
        .bind(now)
        .bind(delivery)
        .bind(journey_node.map(|(journey, _)| journey))
        .bind(journey_node.map(|(_, node)| node))
        .bind(i64::from(only_failed))
        .execute(&self.pool)
        .await?;
        Ok(resent.rows_affected())
    }
}

/// Which deliveries a resend takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendScope<'a> {
    /// This one, if it is not pending.
    Delivery(DeliveryId),
    /// Every failed delivery of a journey's webhook node, in all its versions.
    FailedOfNode {
        journey: JourneyId,
        node: &'a NodeId,
    },
}

impl Batch {
    pub(super) async fn insert_deliveries(
        &mut self,
        deliveries: &[NewDelivery<'_>],
        now: Millis,
    ) -> sqlx::Result<()> {
        let rows = deliveries.iter().map(|delivery| {
            [
                delivery.enrollment.id.into(),
                delivery.enrollment.journey_id.into(),
                Param::Int(delivery.enrollment.version),
                Param::Text(delivery.node.as_str()),
                delivery.enrollment.contact_id.into(),
                delivery.webhook.into(),
                Param::Text(&delivery.custom_data),
                Param::Int(now),
                Param::Int(now),
                Param::Int(now),
            ]
        });
        insert_rows(
            &mut self.transaction,
            self.backend,
            "deliveries (enrollment_id, journey_id, version, node_id, contact_id, webhook_id,
                         custom_data, created_at, next_attempt_at, updated_at)",
            rows,
        )
        .await
    }
}
