//! Webhook deliveries and their attempts: queued by the engine's steps, claimed and recorded
//! by the delivery worker, listed and resent through the API.

use std::collections::{HashMap, HashSet};

use app::{
    api::{AttemptOutcome, DeliveryStatus},
    ids::{DeliveryId, JourneyId, WebhookId},
    journey::NodeId,
};
use sqlx::{AnyConnection, FromRow};

use super::{
    Backend, Batch, EnrollmentRow, Store,
    sql::{
        AnyQuery, IN_LIST_CHUNK, Param, Params, ROWS_PER_STATEMENT, insert_rows,
        insert_rows_returning_ids,
    },
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
    /// The delivery's webhook, whose hourly counts the attempt joins.
    pub webhook_id: WebhookId,
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

/// A claim that deliveries are born with: those the engine queues for the delivery worker of
/// its own process, handed over in memory instead of claimed by another transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BornClaimed {
    pub claimant: Claimant,
    pub lease_until: Millis,
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

/// Who holds a claimed delivery: one random token per delivery worker. Every state change of a
/// claimed delivery names its holder, so a worker whose lease ran out (and whose deliveries
/// another worker took over) cannot write over the new holder's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimant(pub(super) i64);

impl Claimant {
    pub fn random() -> Self {
        let bits = getrandom::u64().unwrap_or_else(|_| {
            // No OS randomness: the time still tells processes apart.
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos() as u64)
        });
        Self(i64::try_from(bits >> 1).unwrap_or(i64::MAX))
    }
}

/// The tables whose due rows workers claim, with the state a due row is in.
#[derive(Debug, Clone, Copy)]
pub(super) enum Claimable {
    Deliveries,
    Messages,
    AlertEmails,
}

impl Claimable {
    /// Whether the claimant's own claims are left alone. Delivery and message workers send
    /// many batches at once: a row one of them holds is being sent. The alert sender sends one
    /// email at a time, so one it holds is one whose outcome it could not record: it takes it
    /// again rather than leave it until the process ends.
    fn skips_own_claims(self) -> bool {
        !matches!(self, Self::AlertEmails)
    }

    fn table_and_due_state(self) -> (&'static str, &'static str) {
        match self {
            Self::Deliveries => ("deliveries", "pending"),
            Self::Messages => ("messages", "queued"),
            Self::AlertEmails => ("alert_emails", "queued"),
        }
    }
}

/// Claims up to `limit` rows of `table` that are due at `now` for `claimant` until
/// `lease_until` (their `next_attempt_at` moves to the lease's end); rows the claimant holds
/// already are never claimed twice. Returns their ids.
pub(super) async fn claim_due<Id>(
    connection: &mut sqlx::AnyConnection,
    backend: super::Backend,
    table: Claimable,
    claimant: Claimant,
    now: Millis,
    lease_until: Millis,
    limit: i64,
) -> sqlx::Result<Vec<Id>>
where
    Id: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + Unpin,
{
    let skips_own = if table.skips_own_claims() {
        "AND (claimed_by IS NULL OR claimed_by <> $4)"
    } else {
        ""
    };
    let (table, due) = table.table_and_due_state();
    let skip_locked = backend.skip_locked();
    sqlx::query_scalar(&format!(
        "UPDATE {table} SET next_attempt_at = $2, claimed_by = $4
         WHERE id IN (SELECT id FROM {table}
                      WHERE status = '{due}' AND next_attempt_at <= $1 {skips_own}
                      ORDER BY next_attempt_at, id LIMIT $3 {skip_locked})
         RETURNING id"
    ))
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .bind(claimant.0)
    .fetch_all(connection)
    .await
}

impl Store {
    /// Claims up to `limit` due deliveries for `claimant` until `lease_until`: if this process
    /// dies while sending, they become due again then (at-least-once). Deliveries the claimant
    /// holds already are never claimed twice, even when their lease ran out.
    pub async fn claim_due_deliveries(
        &self,
        claimant: Claimant,
        now: Millis,
        lease_until: Millis,
        limit: i64,
    ) -> sqlx::Result<Vec<DueDelivery>> {
        let mut transaction = self.begin_write().await?;
        let ids: Vec<DeliveryId> = claim_due(
            &mut transaction,
            self.backend,
            Claimable::Deliveries,
            claimant,
            now,
            lease_until,
            limit,
        )
        .await?;
        if ids.is_empty() {
            transaction.commit().await?;
            return Ok(Vec::new());
        }
        let due = due_deliveries(&mut transaction, self.backend, &ids).await?;
        transaction.commit().await?;
        Ok(due)
    }

    /// Extends the lease of every delivery `claimant` holds to `lease_until`: the heartbeat of
    /// a worker that is alive, so leases can be short and a dead worker's claims are taken
    /// over soon. Returns how many it renewed.
    ///
    /// On PostgreSQL it skips the rows another transaction has locked: those are being
    /// settled (the engine's round records their attempts), and the next beat renews any
    /// that stay claimed. Waiting for them instead deadlocked with that round, which updates
    /// the same rows in another order: PostgreSQL noticed after a second and aborted one of
    /// the two (measured in the pipeline bench: the round stalled, the renewal failed).
    pub async fn renew_claims(&self, claimant: Claimant, lease_until: Millis) -> sqlx::Result<u64> {
        self.renew(Claimable::Deliveries, claimant, lease_until)
            .await
    }

    /// Extends the lease of what `claimant` holds of `table` to `lease_until`.
    pub(super) async fn renew(
        &self,
        table: Claimable,
        claimant: Claimant,
        lease_until: Millis,
    ) -> sqlx::Result<u64> {
        let (table, due) = table.table_and_due_state();
        let mut transaction = self.begin_write().await?;
        let renewed = sqlx::query(&format!(
            "UPDATE {table} SET next_attempt_at = $2
             WHERE id IN (SELECT id FROM {table}
                          WHERE claimed_by = $1 AND status = '{due}' {})",
            self.backend.skip_locked()
        ))
        .bind(claimant.0)
        .bind(lease_until)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        transaction.commit().await?;
        Ok(renewed)
    }

    /// Makes deliveries claimed by `claimant` (or by anyone, with `None`) due at `now` and
    /// unclaimed: what a worker that stops gives back, and what a restarted SQLite server,
    /// the only process on its file, takes over from the one that died. `ids` limits it to
    /// those deliveries. Returns how many.
    /// Which of `ids` are still pending and claimed by `claimant`: a delivery cancelled (its
    /// journey or webhook deleted) or taken over since it was claimed is not.
    pub async fn still_claimed(
        &self,
        claimant: Claimant,
        ids: &[DeliveryId],
    ) -> sqlx::Result<HashSet<DeliveryId>> {
        let mut held = HashSet::with_capacity(ids.len());
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let mut params = Params::new(self.backend);
            let holder = params.one();
            let sql = format!(
                "SELECT id FROM deliveries
                 WHERE status = 'pending' AND claimed_by = {holder} AND id IN ({})",
                params.list(chunk.len())
            );
            let mut query = sqlx::query_scalar::<_, DeliveryId>(&sql).bind(claimant.0);
            for id in chunk {
                query = query.bind(*id);
            }
            held.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(held)
    }

    pub async fn release_claims(
        &self,
        claimant: Option<Claimant>,
        ids: Option<&[DeliveryId]>,
        now: Millis,
    ) -> sqlx::Result<u64> {
        let mut transaction = self.begin_write().await?;
        let mut released = 0;
        // With ids, one statement per chunk of them; without, one for every claim.
        let chunks: Vec<Option<&[DeliveryId]>> = match ids {
            Some(ids) => ids.chunks(IN_LIST_CHUNK).map(Some).collect(),
            None => vec![None],
        };
        for chunk in chunks {
            let mut params = Params::new(self.backend);
            let at = params.one();
            let holder = match claimant {
                Some(_) => format!("AND claimed_by = {}", params.one()),
                None => String::new(),
            };
            let only = match chunk {
                Some(chunk) => format!("AND id IN ({})", params.list(chunk.len())),
                None => String::new(),
            };
            let sql = format!(
                "UPDATE deliveries SET next_attempt_at = {at}, claimed_by = NULL
                 WHERE status = 'pending' AND claimed_by IS NOT NULL {holder} {only}"
            );
            let mut query = sqlx::query(&sql).bind(now);
            if let Some(claimant) = claimant {
                query = query.bind(claimant.0);
            }
            for id in chunk.unwrap_or_default() {
                query = query.bind(*id);
            }
            released += query.execute(&mut *transaction).await?.rows_affected();
        }
        transaction.commit().await?;
        Ok(released)
    }

    /// Holds the deliveries `claimant` claimed whose webhook is disabled: not attempted, not
    /// failed, unclaimed, their retry window stopped, until the webhook is enabled again. One
    /// whose webhook was enabled meanwhile stays pending and claimed (the caller gives it
    /// back). Returns how many were held.
    pub async fn hold_deliveries(
        &self,
        claimant: Claimant,
        ids: &[DeliveryId],
        now: Millis,
    ) -> sqlx::Result<u64> {
        let mut transaction = self.begin_write().await?;
        let mut held = 0;
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let mut params = Params::new(self.backend);
            let (at, holder) = (params.one(), params.one());
            let sql = format!(
                "UPDATE deliveries SET status = 'held', claimed_by = NULL, next_attempt_at = NULL,
                     updated_at = {at}
                 WHERE status = 'pending' AND claimed_by = {holder} AND id IN ({})
                   AND webhook_id IN (SELECT id FROM webhooks WHERE enabled = 0)",
                params.list(chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(now).bind(claimant.0);
            for id in chunk {
                query = query.bind(*id);
            }
            held += query.execute(&mut *transaction).await?.rows_affected();
        }
        transaction.commit().await?;
        Ok(held)
    }

    /// Releases what enabled webhooks hold (`webhook`: only that one's): due now, oldest first
    /// (claims take equal due times in id order), each with a fresh retry window. Enabling a
    /// webhook calls it; so does every delivery worker's heartbeat, which catches a delivery
    /// held by a worker that had not yet seen the webhook enabled. Returns how many.
    pub async fn release_held(&self, webhook: Option<WebhookId>, now: Millis) -> sqlx::Result<u64> {
        self.release_held_in_chunks(webhook, now, RELEASE_CHUNK)
            .await
    }

    /// [`Store::release_held`], `chunk` deliveries a transaction.
    pub async fn release_held_in_chunks(
        &self,
        webhook: Option<WebhookId>,
        now: Millis,
        chunk: u64,
    ) -> sqlx::Result<u64> {
        const RELEASABLE: &str = "status = 'held'
             AND webhook_id IN (SELECT id FROM webhooks WHERE enabled = 1)";
        if webhook.is_none() {
            // The heartbeat's look, mostly finding nothing, takes no turn at SQLite's writer.
            let found: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT 1 FROM deliveries WHERE {RELEASABLE} LIMIT 1"
            ))
            .fetch_optional(&self.pool)
            .await?;
            if found.is_none() {
                return Ok(0);
            }
        }
        let only = if webhook.is_some() {
            "AND webhook_id = $2"
        } else {
            ""
        };
        // A chunk a transaction, oldest first: a webhook that held a million requests does
        // not keep SQLite's one writer for the whole of them. The outer condition again: a
        // release running at the same time (the API's beside a heartbeat's) may have released
        // a chosen row, which may even have been sent since; PostgreSQL re-checks only the
        // outer WHERE of a row another transaction changed.
        let chunk = chunk.max(1);
        let sql = format!(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $1,
                 window_started_at = NULL, updated_at = $1
             WHERE {RELEASABLE} {only}
               AND id IN (SELECT id FROM deliveries WHERE {RELEASABLE} {only}
                          ORDER BY id LIMIT {chunk})"
        );
        let mut released = 0;
        loop {
            let mut query = sqlx::query(&sql).bind(now);
            if let Some(webhook) = webhook {
                query = query.bind(webhook);
            }
            let mut transaction = self.begin_write().await?;
            let this_chunk = query.execute(&mut *transaction).await?.rows_affected();
            transaction.commit().await?;
            released += this_chunk;
            if this_chunk < chunk {
                return Ok(released);
            }
        }
    }

    /// Logs the attempts and moves their deliveries on, all in one transaction with a few
    /// multi-row statements. A delivery whose claim `claimant` no longer holds (its lease was
    /// taken over, or it was cancelled meanwhile) keeps its state; its attempt is still logged,
    /// since the request was sent.
    pub async fn record_attempts(
        &self,
        claimant: Claimant,
        records: &[AttemptRecord],
        now: Millis,
    ) -> sqlx::Result<()> {
        let mut transaction = self.begin_write().await?;
        record_attempts(&mut transaction, self.backend, claimant, records, now).await?;
        transaction.commit().await
    }
}

/// [`Store::record_attempts`]'s statements, on the connection of a transaction.
async fn record_attempts(
    connection: &mut AnyConnection,
    backend: Backend,
    claimant: Claimant,
    records: &[AttemptRecord],
    now: Millis,
) -> sqlx::Result<()> {
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
        &mut *connection,
        backend,
        "delivery_attempts (delivery_id, attempted_at, latency_ms, status_code, error,
                            response_body, missing_placeholders, outcome)",
        attempts,
    )
    .await?;
    super::webhook_hours::count_attempts(&mut *connection, backend, records).await?;
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
            let mut params = Params::new(backend);
            let settled = params.list(6);
            let holder = params.one();
            let sql = format!(
                "UPDATE deliveries SET attempts = attempts + 1, claimed_by = NULL,
                     (status, next_attempt_at, window_started_at, last_status_code, last_error,
                      updated_at) = ({settled})
                 WHERE claimed_by = {holder} AND id IN ({})",
                params.list(chunk.len())
            );
            let mut query = state.bind(sqlx::query(&sql)).bind(now).bind(claimant.0);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *connection).await?;
        }
    }
    for chunk in singles.chunks(ROWS_PER_STATEMENT) {
        let mut params = Params::new(backend);
        let values = params.rows(chunk.len(), 6);
        let updated_at = params.one();
        let holder = params.one();
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
                 updated_at = {updated_at},
                 claimed_by = NULL
             FROM settled
             WHERE deliveries.id = settled.id AND deliveries.claimed_by = {holder}"
        );
        let mut query = sqlx::query(&sql);
        for (id, state) in chunk {
            query = state.bind(query.bind(*id));
        }
        query = query.bind(now).bind(claimant.0);
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Deliveries that will never be sent, because what they belong to is gone.
#[derive(Debug, Clone, Copy)]
pub enum Cancelled<'a> {
    /// The pending deliveries of a deleted journey.
    OfJourney(JourneyId),
    /// The pending and held deliveries of a deleted webhook.
    OfWebhook(WebhookId),
    /// Deliveries this claimant holds whose journey or webhook turned out to be gone.
    Claimed(Claimant, &'a [DeliveryId]),
}

impl Cancelled<'_> {
    /// Marks the deliveries `cancelled` with `reason` as their last error: kept in the log,
    /// never sent, not resent. Returns how many.
    pub(super) async fn apply(
        self,
        connection: &mut sqlx::AnyConnection,
        backend: super::Backend,
        reason: &str,
        now: Millis,
    ) -> sqlx::Result<u64> {
        let mut params = Params::new(backend);
        let (at, why) = (params.one(), params.one());
        let which = match self {
            Self::OfJourney(_) => format!("journey_id = {}", params.one()),
            Self::OfWebhook(_) => format!("webhook_id = {}", params.one()),
            Self::Claimed(_, ids) => format!(
                "claimed_by = {} AND id IN ({})",
                params.one(),
                params.list(ids.len())
            ),
        };
        let sql = format!(
            "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL,
                 claimed_by = NULL, updated_at = {at}, last_error = {why}
             WHERE status IN ('pending', 'held') AND {which}"
        );
        let query = sqlx::query(&sql).bind(now).bind(reason);
        let query = match self {
            Self::OfJourney(journey) => query.bind(journey),
            Self::OfWebhook(webhook) => query.bind(webhook),
            Self::Claimed(claimant, ids) => {
                let mut query = query.bind(claimant.0);
                for id in ids {
                    query = query.bind(*id);
                }
                query
            }
        };
        Ok(query.execute(connection).await?.rows_affected())
    }
}

impl Store {
    /// See [`Cancelled`].
    pub async fn cancel_deliveries(
        &self,
        which: Cancelled<'_>,
        reason: &str,
        now: Millis,
    ) -> sqlx::Result<u64> {
        let mut transaction = self.begin_write().await?;
        let cancelled = which
            .apply(&mut transaction, self.backend, reason, now)
            .await?;
        transaction.commit().await?;
        Ok(cancelled)
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
    /// The contact's attributes (JSON), to name them in the log.
    pub contact_attributes: String,
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
    pub version: Option<i64>,
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
                    c.external_id AS contact, c.attributes AS contact_attributes, d.status,
                    d.attempts, d.next_attempt_at,
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
               AND ($9 IS NULL OR d.version = $9)
             ORDER BY d.id DESC
             LIMIT $10",
        )
        .bind(query.id)
        .bind(query.webhook)
        .bind(query.journey)
        .bind(query.node)
        .bind(query.status)
        .bind(query.contact)
        .bind(query.since)
        .bind(query.until)
        .bind(query.version)
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
    /// `scope` that were accepted or failed (a cancelled one is never sent); the `webhook-id` stays the same. Returns how many.
    pub async fn resend_deliveries(
        &self,
        scope: ResendScope<'_>,
        now: Millis,
    ) -> sqlx::Result<u64> {
        let (delivery, journey_node, version, only_failed) = match scope {
            ResendScope::Delivery(id) => (Some(id), None, None, false),
            ResendScope::FailedOfNode {
                journey,
                node,
                version,
            } => (None, Some((journey, node)), version, true),
        };
        let resent = self
            .write_one(
                sqlx::query(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = $1,
                 window_started_at = NULL, attempts = 0, updated_at = $1, resent_at = $1
             WHERE status IN ('accepted', 'failed')
               AND ($2 IS NULL OR id = $2)
               AND ($3 IS NULL OR journey_id = $3)
               AND ($4 IS NULL OR node_id = $4)
               AND ($5 = 0 OR status = 'failed')
               AND ($6 IS NULL OR version = $6)",
                )
                .bind(now)
                .bind(delivery)
                .bind(journey_node.map(|(journey, _)| journey))
                .bind(journey_node.map(|(_, node)| node))
                .bind(i64::from(only_failed))
                .bind(version),
            )
            .await?;
        Ok(resent.rows_affected())
    }
}

/// What the last attempt of a failed (or still retrying) delivery left.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct LastFailure {
    pub delivery_id: DeliveryId,
    /// The contact's external id.
    pub contact: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub answer: Option<String>,
    /// When the last attempt was made.
    pub at: Millis,
}

/// Deliveries (`d`) as [`LastFailure`]s, with what their last attempt left.
const LAST_FAILURES: &str = "SELECT d.id AS delivery_id, c.external_id AS contact,
        d.last_status_code AS status_code, d.last_error AS error,
        (SELECT a.response_body FROM delivery_attempts a
         WHERE a.delivery_id = d.id ORDER BY a.id DESC LIMIT 1) AS answer,
        COALESCE(d.updated_at, d.created_at) AS at
 FROM deliveries d JOIN contacts c ON c.id = d.contact_id";

impl Store {
    /// The latest `limit` deliveries of a webhook node in `status` (failed, or pending after at
    /// least one attempt), with what their last attempt left; `version` narrows them to one
    /// version.
    pub async fn last_failures(
        &self,
        journey: JourneyId,
        node: &NodeId,
        status: DeliveryStatus,
        version: Option<i64>,
        limit: i64,
    ) -> sqlx::Result<Vec<LastFailure>> {
        sqlx::query_as(&format!(
            "{LAST_FAILURES}
             WHERE d.journey_id = $1 AND d.node_id = $2 AND d.status = $3 AND d.attempts > 0
               AND ($4 IS NULL OR d.version = $4)
             ORDER BY d.id DESC LIMIT $5"
        ))
        .bind(journey)
        .bind(node)
        .bind(status.as_str())
        .bind(version)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// The latest `limit` failed deliveries of a webhook, with what their last attempt left.
    pub async fn webhook_failures(
        &self,
        webhook: WebhookId,
        limit: i64,
    ) -> sqlx::Result<Vec<LastFailure>> {
        sqlx::query_as(&format!(
            "{LAST_FAILURES}
             WHERE d.webhook_id = $1 AND d.status = 'failed'
             ORDER BY d.id DESC LIMIT $2"
        ))
        .bind(webhook)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Resends these deliveries, those of them that failed: a new attempt cycle, due now.
    /// Returns how many.
    pub async fn resend_failed(&self, ids: &[DeliveryId], now: Millis) -> sqlx::Result<u64> {
        let mut transaction = self.begin_write().await?;
        let mut resent = 0;
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            // SQLite's `?` takes the next value each time it appears: one per use.
            let mut params = Params::new(self.backend);
            let (due_at, updated_at, resent_at) = (params.one(), params.one(), params.one());
            let sql = format!(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = {due_at},
                     window_started_at = NULL, attempts = 0, updated_at = {updated_at},
                     resent_at = {resent_at}
                 WHERE status = 'failed' AND id IN ({})",
                params.list(chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(now).bind(now).bind(now);
            for id in chunk {
                query = query.bind(*id);
            }
            resent += query.execute(&mut *transaction).await?.rows_affected();
        }
        transaction.commit().await?;
        Ok(resent)
    }
}

/// Where the deliveries of one resend are: each counted once, by its state now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResendProgress {
    pub accepted: i64,
    /// Pending, or held by a disabled webhook.
    pub pending: i64,
    pub failed: i64,
}

impl Store {
    /// The deliveries of a webhook node resent at `resent_at`, by state.
    pub async fn resend_progress(
        &self,
        journey: JourneyId,
        node: &NodeId,
        resent_at: Millis,
    ) -> sqlx::Result<ResendProgress> {
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, COUNT(*) FROM deliveries
             WHERE journey_id = $1 AND node_id = $2 AND resent_at = $3
             GROUP BY status",
        )
        .bind(journey)
        .bind(node)
        .bind(resent_at)
        .fetch_all(&self.pool)
        .await?;
        let mut progress = ResendProgress::default();
        for (status, count) in counts {
            match status.as_str() {
                "accepted" => progress.accepted += count,
                "failed" => progress.failed += count,
                // A cancelled one (its webhook deleted) is no longer on its way.
                "cancelled" => {}
                _ => progress.pending += count,
            }
        }
        Ok(progress)
    }
}

/// Which deliveries a resend takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendScope<'a> {
    /// This one, if it is not pending.
    Delivery(DeliveryId),
    /// Every failed delivery of a journey's webhook node, of one version or of all.
    FailedOfNode {
        journey: JourneyId,
        node: &'a NodeId,
        version: Option<i64>,
    },
}

impl Batch {
    /// Queues the deliveries, due now, or claimed by `claim` when given; returns their ids.
    pub(super) async fn insert_deliveries(
        &mut self,
        deliveries: &[NewDelivery<'_>],
        now: Millis,
        claim: Option<BornClaimed>,
    ) -> sqlx::Result<Vec<DeliveryId>> {
        let (next_attempt_at, claimed_by) = match claim {
            Some(claim) => (claim.lease_until, Some(claim.claimant.0)),
            None => (now, None),
        };
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
                Param::Int(next_attempt_at),
                Param::Int(now),
                Param::OptInt(claimed_by),
            ]
        });
        insert_rows_returning_ids(
            &mut self.transaction,
            self.backend,
            "deliveries (enrollment_id, journey_id, version, node_id, contact_id, webhook_id,
                         custom_data, created_at, next_attempt_at, updated_at, claimed_by)",
            rows,
        )
        .await
    }

    /// [`Store::record_attempts`], in the batch's transaction.
    pub async fn record_attempts(
        &mut self,
        claimant: Claimant,
        records: &[AttemptRecord],
        now: Millis,
    ) -> sqlx::Result<()> {
        record_attempts(&mut self.transaction, self.backend, claimant, records, now).await
    }

    /// The deliveries with what their requests need, as a claim returns them.
    pub async fn due_deliveries(&mut self, ids: &[DeliveryId]) -> sqlx::Result<Vec<DueDelivery>> {
        due_deliveries(&mut self.transaction, self.backend, ids).await
    }
}

/// How many held deliveries one transaction releases.
const RELEASE_CHUNK: u64 = 5_000;

impl Store {
    /// What the delivery's request is made of, as a claim would return it; `None` when there is
    /// no such delivery.
    pub async fn delivery_subject(&self, id: DeliveryId) -> sqlx::Result<Option<DueDelivery>> {
        let mut connection = self.pool.acquire().await?;
        Ok(due_deliveries(&mut connection, self.backend, &[id])
            .await?
            .into_iter()
            .next())
    }
}

async fn due_deliveries(
    connection: &mut AnyConnection,
    backend: Backend,
    ids: &[DeliveryId],
) -> sqlx::Result<Vec<DueDelivery>> {
    let mut due = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IN_LIST_CHUNK) {
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
            Params::new(backend).list(chunk.len())
        );
        let mut query = sqlx::query_as::<_, DueDelivery>(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        due.extend(query.fetch_all(&mut *connection).await?);
    }
    Ok(due)
}
