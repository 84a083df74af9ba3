//! Enrollments: where each contact is in each journey run, what it waits for, and when it is
//! due. The engine claims the due ones, enrolls contacts whose events match a trigger, wakes
//! those whose awaited event or activity arrived, and settles each after its step.

use app::{
    api::EnrollmentState,
    ids::{ContactId, EnrollmentId, EventId, JourneyId},
    journey::{Activity, NodeId, Resume},
};
use sqlx::FromRow;

use super::{
    Batch, Store,
    sql::{IN_LIST_CHUNK, Param, Params, ROWS_PER_STATEMENT, insert_rows_returning_ids},
};
use crate::clock::Millis;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct EnrollmentRow {
    pub id: EnrollmentId,
    pub journey_id: JourneyId,
    pub version: i64,
    pub contact_id: ContactId,
    pub node_id: NodeId,
    pub state: EnrollmentState,
    /// How an active enrollment leaves its node; `None` when it enters it.
    pub resumed: Option<Resume>,
    pub entered_at: Millis,
}

/// A contact entering a journey version at its trigger, because of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnrollment<'a> {
    pub journey_id: JourneyId,
    pub version: i64,
    pub contact_id: ContactId,
    pub trigger: &'a NodeId,
    pub event_id: EventId,
    pub event_occurred_at: Millis,
}

/// A contact's runs in a journey, as the re-entry rule asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunKey {
    pub journey_id: JourneyId,
    pub contact_id: ContactId,
}

/// Whether a contact has a run in a journey that has not ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Unfinished {
    pub journey_id: JourneyId,
    pub contact_id: ContactId,
    pub unfinished: bool,
}

/// The first key of the advisory locks taken while enrolling ("wf" in ASCII), so they do not
/// meet other users' locks.
const ENROLLING: i32 = 0x7766;

/// Which waiting enrollments [`Batch::hear_awaited_events`] looks at.
#[derive(Debug, Clone, Copy)]
pub enum Hearing<'a> {
    /// Those of the contacts whose events just arrived.
    Contacts(&'a [ContactId]),
    /// These: just put into a wait, or whose wait's timer fired.
    Enrollments(&'a [EnrollmentId]),
    /// Those of a journey that was just resumed (events kept arriving while it was paused).
    Journey(JourneyId),
}

/// An event `e` that the waiting enrollment (`enrollments`) has heard: see
/// [`Batch::hear_awaited_events`]. Runs from before marks count from `waiting_since`.
const HEARD: &str = "e.contact_id = enrollments.contact_id
    AND e.occurred_at < enrollments.due_at
    AND (e.occurred_at > COALESCE(enrollments.heard_at, enrollments.waiting_since)
         OR (e.occurred_at = COALESCE(enrollments.heard_at, enrollments.waiting_since)
             AND e.id > COALESCE(enrollments.heard_event, 0)))
    AND ((enrollments.awaiting_event IS NOT NULL AND e.name = enrollments.awaiting_event)
         OR (enrollments.awaiting_activity IS NOT NULL AND e.name = enrollments.awaiting_activity
             AND e.message_id IN (SELECT m.id FROM messages m
                                  WHERE m.enrollment_id = enrollments.id
                                    AND m.node_id = enrollments.awaiting_node)))";

/// Where a step leaves an enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextState<'a> {
    Waiting {
        node: &'a NodeId,
        wake_at: Millis,
        awaiting_event: Option<&'a str>,
        awaiting_node: Option<&'a NodeId>,
        awaiting_activity: Option<Activity>,
    },
    Exited {
        node: &'a NodeId,
    },
    Failed {
        error: &'a str,
    },
}

impl NextState<'_> {
    /// Whether the enrollment waits for an event or a message activity (not only a timer).
    pub fn awaits_something(&self) -> bool {
        matches!(
            self,
            Self::Waiting { awaiting_event, awaiting_activity, .. }
                if awaiting_event.is_some() || awaiting_activity.is_some()
        )
    }
}

/// An enrollment's new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled<'a> {
    pub enrollment: EnrollmentId,
    pub next: NextState<'a>,
}

/// A run of a contact through a journey, for the contacts page.
#[derive(Debug, Clone, FromRow)]
pub struct ContactRunRow {
    pub journey_id: JourneyId,
    /// `None` once the journey was deleted.
    pub journey_name: Option<String>,
    pub version: i64,
    pub node_id: NodeId,
    pub state: EnrollmentState,
    pub error: Option<String>,
    pub entered_at: Millis,
    pub updated_at: Millis,
}

impl Store {
    /// Every run of the contact through a journey, newest first, with the node it is at (or
    /// ended at).
    pub async fn contact_runs(&self, contact_id: ContactId) -> sqlx::Result<Vec<ContactRunRow>> {
        sqlx::query_as(
            "SELECT n.journey_id, j.name AS journey_name, n.version, n.node_id, n.state,
                    n.error, n.entered_at, n.updated_at
             FROM enrollments n LEFT JOIN journeys j ON j.id = n.journey_id
             WHERE n.contact_id = $1
             ORDER BY n.entered_at DESC, n.id DESC LIMIT 100",
        )
        .bind(contact_id)
        .fetch_all(&self.pool)
        .await
    }

    /// When the earliest timer of a live journey that is not due at `now` comes due.
    pub async fn next_timer(&self, now: Millis) -> sqlx::Result<Option<Millis>> {
        sqlx::query_scalar(NEXT_TIMER_SQL)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
    }

    /// How many contacts are in each journey now (running or waiting); journeys without any
    /// are absent.
    pub async fn contacts_in_journeys(&self) -> sqlx::Result<Vec<(JourneyId, i64)>> {
        sqlx::query_as(
            "SELECT journey_id, COUNT(DISTINCT contact_id) FROM enrollments
             WHERE state IN ('active', 'waiting') GROUP BY journey_id",
        )
        .fetch_all(&self.pool)
        .await
    }
}

impl Batch {
    /// Claims up to `limit` enrollments of live journeys that are due: entering a node,
    /// resumed by an event, or whose timer has fired.
    ///
    /// The unary `+` keeps SQLite's planner off the `journey_id` index: through it, every
    /// claim read all the enrollments a live journey ever had (finished ones included) and
    /// sorted them, 1 ms a claim after 20,000 contacts; the partial index on `due_at` holds
    /// only the unfinished ones, in claiming order.
    pub async fn claim_due(&mut self, now: Millis, limit: i64) -> sqlx::Result<Vec<EnrollmentRow>> {
        let sql = claim_due_sql(self.backend);
        let mut due: Vec<EnrollmentRow> = sqlx::query_as(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *self.transaction)
            .await?;
        due.sort_by_key(|enrollment| enrollment.id);
        Ok(due)
    }

    /// Makes the other engine processes wait before they enroll these contacts, until this
    /// batch commits. Matching reads a contact's runs and then enrolls it: without the lock two
    /// processes matching two events of one contact both found no run and both enrolled it in
    /// a `once` journey. PostgreSQL only (transaction-scoped advisory locks, taken in id order
    /// so two batches cannot deadlock); SQLite has one writer at a time.
    pub async fn lock_contacts_for_enrolling(
        &mut self,
        contact_ids: &[ContactId],
    ) -> sqlx::Result<()> {
        if self.backend != super::Backend::Postgres || contact_ids.is_empty() {
            return Ok(());
        }
        let mut sorted: Vec<ContactId> = contact_ids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for chunk in sorted.chunks(IN_LIST_CHUNK) {
            // PostgreSQL evaluates a volatile function of the select list after ORDER BY.
            let sql = format!(
                "SELECT pg_advisory_xact_lock({ENROLLING}, (k % 2147483647)::int)
                 FROM (VALUES {}) AS contacts (k) ORDER BY k",
                Params::new(self.backend).rows(chunk.len(), 1)
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *self.transaction).await?;
        }
        Ok(())
    }

    /// Whether each of these contacts has an unfinished (`active`/`waiting`) or only
    /// finished runs in each of these journeys; pairs without any run are absent.
    pub async fn enrollments_of(
        &mut self,
        journey_ids: &[JourneyId],
        contact_ids: &[ContactId],
    ) -> sqlx::Result<Vec<Unfinished>> {
        let mut found = Vec::new();
        if journey_ids.is_empty() {
            return Ok(found);
        }
        for chunk in contact_ids.chunks(IN_LIST_CHUNK) {
            let mut params = Params::new(self.backend);
            let sql = format!(
                "SELECT journey_id, contact_id,
                        MAX(CASE WHEN state IN ('active', 'waiting') THEN 1 ELSE 0 END)
                            AS unfinished
                 FROM enrollments
                 WHERE journey_id IN ({}) AND contact_id IN ({})
                 GROUP BY journey_id, contact_id",
                params.list(journey_ids.len()),
                params.list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, (JourneyId, ContactId, i64)>(&sql);
            for id in journey_ids {
                query = query.bind(*id);
            }
            for id in chunk {
                query = query.bind(*id);
            }
            let rows = query.fetch_all(&mut *self.transaction).await?;
            found.extend(
                rows.into_iter()
                    .map(|(journey_id, contact_id, unfinished)| Unfinished {
                        journey_id,
                        contact_id,
                        unfinished: unfinished == 1,
                    }),
            );
        }
        Ok(found)
    }

    /// Enrolls each contact at its trigger. The first `step_now` are for this batch to step
    /// at once, and returned: they are not due, so no claim picks them up (the step sets
    /// their next due time), which spares the claim's write to each row just inserted. The
    /// others are due now, for the claims of later batches.
    pub async fn enroll(
        &mut self,
        enrollments: &[NewEnrollment<'_>],
        step_now: usize,
        now: Millis,
    ) -> sqlx::Result<Vec<EnrollmentRow>> {
        let rows = enrollments.iter().enumerate().map(|(index, enrollment)| {
            [
                enrollment.journey_id.into(),
                Param::Int(enrollment.version),
                enrollment.contact_id.into(),
                Param::Text(enrollment.trigger.as_str()),
                Param::Text(EnrollmentState::Active.as_str()),
                Param::OptInt((index >= step_now).then_some(now)),
                Param::Int(now),
                Param::Int(now),
                enrollment.event_id.into(),
                Param::Int(enrollment.event_occurred_at),
                enrollment.event_id.into(),
            ]
        });
        let ids: Vec<EnrollmentId> = insert_rows_returning_ids(
            &mut self.transaction,
            self.backend,
            "enrollments (journey_id, version, contact_id, node_id, state, due_at, entered_at,
                          updated_at, trigger_event_id, heard_at, heard_event)",
            rows,
        )
        .await?;
        Ok(enrollments
            .iter()
            .zip(ids)
            .take(step_now)
            .map(|(enrollment, id)| EnrollmentRow {
                id,
                journey_id: enrollment.journey_id,
                version: enrollment.version,
                contact_id: enrollment.contact_id,
                node_id: enrollment.trigger.clone(),
                state: EnrollmentState::Active,
                resumed: None,
                entered_at: now,
            })
            .collect())
    }

    /// Wakes the waiting enrollments in `scope` whose awaited event has been heard: an event
    /// of the awaited name (or the awaited activity of the message the run sent), of the run's
    /// contact, after the run's mark (the last event it took into account, at first its
    /// trigger event) and before the wait times out. The earliest such event becomes the new
    /// mark. Returns the enrollments woken.
    ///
    /// It reads the stored events, so whatever the batching an event counts the same: arrived
    /// in the trigger's batch, during an earlier step, or while the journey was paused.
    pub async fn hear_awaited_events(
        &mut self,
        scope: Hearing<'_>,
        now: Millis,
    ) -> sqlx::Result<Vec<EnrollmentId>> {
        let ids: Vec<i64> = match scope {
            Hearing::Contacts(ids) => ids.iter().map(|id| id.get()).collect(),
            Hearing::Enrollments(ids) => ids.iter().map(|id| id.get()).collect(),
            Hearing::Journey(id) => vec![id.get()],
        };
        let column = match scope {
            Hearing::Contacts(_) => "contact_id",
            Hearing::Enrollments(_) => "id",
            Hearing::Journey(_) => "journey_id",
        };
        let mut woken = Vec::new();
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let sql = hear_awaited_sql(self.backend, column, chunk.len());
            let mut query = sqlx::query_scalar::<_, EnrollmentId>(&sql)
                .bind(now)
                .bind(now);
            for id in chunk {
                query = query.bind(*id);
            }
            woken.extend(query.fetch_all(&mut *self.transaction).await?);
        }
        Ok(woken)
    }

    /// Writes each enrollment's new state with one statement per chunk.
    pub(super) async fn settle(
        &mut self,
        settled: &[Settled<'_>],
        now: Millis,
    ) -> sqlx::Result<()> {
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
            for settled in chunk {
                for param in settled_row(settled, now) {
                    query = param.bind(query);
                }
            }
            query = query.bind(now);
            query.execute(&mut *self.transaction).await?;
        }
        Ok(())
    }
}

/// [`Batch::hear_awaited_events`] for `count` values of `column`. The unary `+` keeps SQLite
/// on the index of `column`: through the `journey_id` index it read every enrollment of the
/// live journeys, 216 ms for 500 timers with a million contacts waiting (1 ms through the
/// primary key).
fn hear_awaited_sql(backend: super::Backend, column: &str, count: usize) -> String {
    let mut params = Params::new(backend);
    let (due_at, updated_at) = (params.one(), params.one());
    format!(
        "UPDATE enrollments SET state = 'active', resumed = 'event', due_at = {due_at},
             updated_at = {updated_at},
             heard_at = (SELECT e.occurred_at FROM events e WHERE {HEARD}
                         ORDER BY e.occurred_at, e.id LIMIT 1),
             heard_event = (SELECT e.id FROM events e WHERE {HEARD}
                            ORDER BY e.occurred_at, e.id LIMIT 1)
         WHERE state = 'waiting' AND {column} IN ({})
           AND +journey_id IN (SELECT id FROM journeys WHERE status = 'live')
           AND EXISTS (SELECT 1 FROM events e WHERE {HEARD})
         RETURNING id",
        params.list(count)
    )
}

/// The unary `+` as in [`claim_due_sql`]: the walk stays on the partial due index.
const NEXT_TIMER_SQL: &str = "SELECT due_at FROM enrollments
     WHERE state IN ('active', 'waiting') AND due_at > $1
       AND +journey_id IN (SELECT id FROM journeys WHERE status = 'live')
     ORDER BY due_at LIMIT 1";

fn claim_due_sql(backend: super::Backend) -> String {
    format!(
        "UPDATE enrollments SET updated_at = $1
         WHERE id IN (SELECT id FROM enrollments
                      WHERE state IN ('active', 'waiting') AND due_at <= $1
                        AND +journey_id IN (SELECT id FROM journeys WHERE status = 'live')
                      ORDER BY due_at, id LIMIT $2 {})
         RETURNING id, journey_id, version, contact_id, node_id, state, resumed, entered_at",
        backend.skip_locked()
    )
}

/// One row of [`Batch::settle`]'s `VALUES`, in the order of its columns.
fn settled_row<'a>(settled: &Settled<'a>, now: Millis) -> [Param<'a>; 9] {
    let id = settled.enrollment.into();
    match &settled.next {
        NextState::Waiting {
            node,
            wake_at,
            awaiting_event,
            awaiting_node,
            awaiting_activity,
        } => [
            id,
            Param::Text(EnrollmentState::Waiting.as_str()),
            Param::OptText(Some(node.as_str())),
            Param::OptInt(Some(*wake_at)),
            Param::OptText(*awaiting_event),
            Param::OptText(awaiting_node.map(NodeId::as_str)),
            Param::OptText(awaiting_activity.map(Activity::as_str)),
            Param::OptInt(Some(now)),
            Param::OptText(None),
        ],
        NextState::Exited { node } => [
            id,
            Param::Text(EnrollmentState::Exited.as_str()),
            Param::OptText(Some(node.as_str())),
            Param::OptInt(None),
            Param::OptText(None),
            Param::OptText(None),
            Param::OptText(None),
            Param::OptInt(None),
            Param::OptText(None),
        ],
        NextState::Failed { error } => [
            id,
            Param::Text(EnrollmentState::Failed.as_str()),
            Param::OptText(None),
            Param::OptInt(None),
            Param::OptText(None),
            Param::OptText(None),
            Param::OptText(None),
            Param::OptInt(None),
            Param::OptText(Some(error)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Backend;

    /// SQLite's plan for `sql` with `binds` integer parameters, one step a line.
    async fn sqlite_plan(sql: &str, binds: i64) -> Vec<String> {
        let folder = tempfile::tempdir().expect("a folder");
        let url = format!(
            "sqlite://{}?mode=rwc",
            folder.path().join("plan.db").display()
        );
        let store = Store::connect(&url).await.expect("the database");
        store.migrate().await.expect("migrated");
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as(&explain);
        for value in 0..binds {
            query = query.bind(value);
        }
        let plan: Vec<(i64, i64, i64, String)> =
            query.fetch_all(&store.pool).await.expect("a plan");
        plan.into_iter().map(|(_, _, _, detail)| detail).collect()
    }

    fn walks_the_due_index_in_order(plan: &[String]) {
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX enrollments_due")),
            "{plan:#?}"
        );
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{plan:#?}"
        );
    }

    /// Through the `journey_id` index a claim read every enrollment a live journey ever had;
    /// the partial `due_at` index holds only the unfinished ones, already in claiming order.
    #[tokio::test]
    async fn claiming_due_contacts_reads_only_unfinished_ones_in_order() {
        walks_the_due_index_in_order(&sqlite_plan(&claim_due_sql(Backend::Sqlite), 2).await);
    }

    /// An idle engine asks for the next timer every time it pauses.
    #[tokio::test]
    async fn the_next_timer_is_found_on_the_due_index() {
        walks_the_due_index_in_order(&sqlite_plan(NEXT_TIMER_SQL, 1).await);
    }

    /// Each timer that fires asks whether its wait heard its event meanwhile: the enrollments
    /// are found by id (or by contact), never among all of a journey's.
    #[tokio::test]
    async fn hearing_events_finds_enrollments_by_their_own_index() {
        for (column, index) in [
            ("id", "USING INTEGER PRIMARY KEY"),
            ("contact_id", "USING INDEX enrollments_contact"),
        ] {
            // A long list of ids is what made the journey's index look cheaper.
            let sql = hear_awaited_sql(Backend::Sqlite, column, IN_LIST_CHUNK);
            let binds = i64::try_from(IN_LIST_CHUNK).unwrap_or(0) + 2;
            let plan = sqlite_plan(&sql, binds).await;
            assert!(
                plan.first().is_some_and(|step| step.contains(index)),
                "{column}: {plan:#?}"
            );
        }
    }
}
