//! Counts per journey node, straight from the rows the engine writes: node visits (written
//! here), enrollments and deliveries.

use std::collections::HashMap;

use app::{
    api::{DeliveryStatus, EnrollmentState, MessageStatus},
    ids::JourneyId,
    journey::{Activity, Branch, NodeId, Output},
};

use super::{
    Backend, Batch, EnrollmentRow, Store,
    sql::{Param, insert_rows},
};
use crate::{clock::Millis, delivery::timeline::SliceCount};

/// A contact reaching a node in a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit<'a> {
    pub enrollment: &'a EnrollmentRow,
    pub node: &'a NodeId,
    /// The output it came by; `None` where its run started.
    pub arrived_by: Option<&'a Output>,
}

/// Counts of one journey version, keyed by node id.
#[derive(Debug, Clone, Default)]
pub struct VersionCounts {
    pub reached: HashMap<NodeId, i64>,
    /// Distinct contacts that left a node by each of its outputs.
    pub took: HashMap<Output, i64>,
    /// Contacts at each node in each state.
    pub states: HashMap<(NodeId, EnrollmentState), i64>,
    /// Requests of each webhook node in each state.
    pub deliveries: HashMap<(NodeId, DeliveryStatus), i64>,
    /// Messages of each action node in each state.
    pub messages: HashMap<(NodeId, MessageStatus), i64>,
    /// Messages of each action node that had each activity, each counted once.
    pub activities: HashMap<(NodeId, Activity), i64>,
}

impl Batch {
    pub(super) async fn insert_visits(
        &mut self,
        visits: &[Visit<'_>],
        now: Millis,
    ) -> sqlx::Result<()> {
        let rows = visits.iter().map(|visit| {
            [
                visit.enrollment.id.into(),
                visit.enrollment.journey_id.into(),
                Param::Int(visit.enrollment.version),
                Param::Text(visit.node.as_str()),
                Param::OptText(visit.arrived_by.map(|output| output.node.as_str())),
                Param::OptText(visit.arrived_by.map(|output| output.branch.as_str())),
                visit.enrollment.contact_id.into(),
                Param::Int(now),
            ]
        });
        insert_rows(
            &mut self.transaction,
            self.backend,
            "node_visits (enrollment_id, journey_id, version, node_id, from_node, from_branch,
                          contact_id, visited_at)",
            rows,
        )
        .await
    }
}

impl Store {
    /// All counts from one snapshot, so they agree with each other while the engine works.
    pub async fn version_counts(
        &self,
        journey_id: JourneyId,
        version: i64,
    ) -> sqlx::Result<VersionCounts> {
        let mut snapshot = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // The default, READ COMMITTED, would let each query see different commits. SQLite's
            // read transaction is a snapshot by itself.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *snapshot)
                .await?;
        }
        let reached: Vec<(NodeId, i64)> = sqlx::query_as(
            "SELECT node_id, COUNT(DISTINCT contact_id) FROM node_visits
             WHERE journey_id = $1 AND version = $2
             GROUP BY node_id",
        )
        .bind(journey_id)
        .bind(version)
        .fetch_all(&mut *snapshot)
        .await?;
        // Grouped by the visited node too, which the output decides: that is the index's order.
        let took: Vec<(NodeId, Branch, i64)> = sqlx::query_as(
            "SELECT from_node, from_branch, COUNT(DISTINCT contact_id) FROM node_visits
             WHERE journey_id = $1 AND version = $2 AND from_node IS NOT NULL
             GROUP BY node_id, from_node, from_branch",
        )
        .bind(journey_id)
        .bind(version)
        .fetch_all(&mut *snapshot)
        .await?;
        let states: Vec<(NodeId, EnrollmentState, i64)> = sqlx::query_as(
            "SELECT node_id, state, COUNT(*) FROM enrollments
             WHERE journey_id = $1 AND version = $2
             GROUP BY node_id, state",
        )
        .bind(journey_id)
        .bind(version)
        .fetch_all(&mut *snapshot)
        .await?;
        let deliveries: Vec<(NodeId, DeliveryStatus, i64)> = sqlx::query_as(
            "SELECT node_id, status, COUNT(*) FROM deliveries
             WHERE journey_id = $1 AND version = $2
             GROUP BY node_id, status",
        )
        .bind(journey_id)
        .bind(version)
        .fetch_all(&mut *snapshot)
        .await?;
        let messages: Vec<(NodeId, MessageStatus, i64)> = sqlx::query_as(
            "SELECT node_id, status, COUNT(*) FROM messages
             WHERE journey_id = $1 AND version = $2
             GROUP BY node_id, status",
        )
        .bind(journey_id)
        .bind(version)
        .fetch_all(&mut *snapshot)
        .await?;
        let activities: Vec<(NodeId, String, i64)> = sqlx::query_as(
            "SELECT m.node_id, e.name, COUNT(DISTINCT m.id) FROM messages m
             JOIN events e ON e.message_id = m.id
             WHERE m.journey_id = $1 AND m.version = $2
             GROUP BY m.node_id, e.name",
        )
        .bind(journey_id)
        .bind(version)
        .fetch_all(&mut *snapshot)
        .await?;
        snapshot.commit().await?;
        Ok(VersionCounts {
            messages: messages
                .into_iter()
                .map(|(node, status, count)| ((node, status), count))
                .collect(),
            activities: activities
                .into_iter()
                .filter_map(|(node, name, count)| {
                    Some(((node, name.parse::<Activity>().ok()?), count))
                })
                .collect(),
            reached: reached.into_iter().collect(),
            took: took
                .into_iter()
                .map(|(node, branch, count)| (Output { node, branch }, count))
                .collect(),
            states: states
                .into_iter()
                .map(|(node, state, count)| ((node, state), count))
                .collect(),
            deliveries: deliveries
                .into_iter()
                .map(|(node, status, count)| ((node, status), count))
                .collect(),
        })
    }
}

impl Store {
    /// When a webhook node queued its first request (of `version`, or of any).
    pub async fn first_delivery_at(
        &self,
        journey_id: JourneyId,
        node: &NodeId,
        version: Option<i64>,
    ) -> sqlx::Result<Option<Millis>> {
        sqlx::query_scalar(
            "SELECT MIN(created_at) FROM deliveries
             WHERE journey_id = $1 AND node_id = $2 AND ($3 IS NULL OR version = $3)",
        )
        .bind(journey_id)
        .bind(node)
        .bind(version)
        .fetch_one(&self.pool)
        .await
    }

    /// A webhook node's requests (of `version`, or of any) counted per slice of `width`
    /// milliseconds from `origin`, by where they stand now.
    pub async fn delivery_timeline(
        &self,
        journey_id: JourneyId,
        node: &NodeId,
        version: Option<i64>,
        origin: Millis,
        width: i64,
    ) -> sqlx::Result<Vec<SliceCount>> {
        sqlx::query_as(
            "SELECT (created_at - $4) / $5 AS slice, status, COUNT(*) AS count FROM deliveries
             WHERE journey_id = $1 AND node_id = $2 AND ($3 IS NULL OR version = $3)
             GROUP BY 1, 2",
        )
        .bind(journey_id)
        .bind(node)
        .bind(version)
        .bind(origin)
        .bind(width)
        .fetch_all(&self.pool)
        .await
    }
}
