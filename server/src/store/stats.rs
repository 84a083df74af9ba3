//! Counts per journey node, straight from the rows the engine writes.

use std::collections::HashMap;

use super::{Backend, Store};

/// Counts of one journey version, keyed by node id.
#[derive(Debug, Clone, Default)]
pub struct VersionCounts {
    pub reached: HashMap<String, i64>,
    /// (node, enrollment state) → contacts.
    pub states: HashMap<(String, String), i64>,
    /// (node, delivery status) → requests.
    pub deliveries: HashMap<(String, String), i64>,
}

impl Store {
    /// All counts from one snapshot, so they agree with each other while the engine works.
    pub async fn version_counts(
        &self,
        journey_id: i64,
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
        let reached: Vec<(String, i64)> = sqlx::query_as(
            "SELECT node_id, COUNT(DISTINCT contact_id) FROM node_visits
             WHERE journey_id = $1 AND version = $2
             GROUP BY node_id",
        )
        .bind(journey_id)
        .bind(version)
        .fetch_all(&mut *snapshot)
        .await?;
        let states: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT node_id, state, COUNT(*) FROM enrollments
             WHERE journey_id = $1 AND version = $2
             GROUP BY node_id, state",
        )
        .bind(journey_id)
        .bind(version)
        .fetch_all(&mut *snapshot)
        .await?;
        let deliveries: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT node_id, status, COUNT(*) FROM deliveries
             WHERE journey_id = $1 AND version = $2
             GROUP BY node_id, status",
        )
        .bind(journey_id)
        .bind(version)
        .fetch_all(&mut *snapshot)
        .await?;
        snapshot.commit().await?;
        Ok(VersionCounts {
            reached: reached.into_iter().collect(),
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
