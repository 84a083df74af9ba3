//! The audit log: who did what to which object, when, from where.

use app::{
    api::{AuditAction, AuditQuery},
    ids::AuditEntryId,
};
use sqlx::FromRow;

use super::Store;
use crate::clock::Millis;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AuditRow {
    pub id: AuditEntryId,
    pub at: Millis,
    pub actor: String,
    pub action: AuditAction,
    pub object: Option<String>,
    pub address: Option<String>,
}

/// A line to write.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub actor: &'a str,
    pub action: AuditAction,
    pub object: Option<&'a str>,
    pub address: Option<&'a str>,
}

impl Store {
    pub async fn record_audit(&self, entry: &NewAuditEntry<'_>, now: Millis) -> sqlx::Result<()> {
        self.write_one(sqlx::query(
            "INSERT INTO audit_log (at, actor, action, object, address) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(now)
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.object)
        .bind(entry.address))
        .await
        .map(|_| ())
    }

    /// Newest first, at most `limit`.
    pub async fn audit_log(&self, query: &AuditQuery, limit: i64) -> sqlx::Result<Vec<AuditRow>> {
        let mut sql = String::from(
            "SELECT id, at, actor, action, object, address FROM audit_log WHERE 1 = 1",
        );
        let mut next = 1;
        let mut param = || {
            let text = format!("${next}");
            next += 1;
            text
        };
        if query.actor.is_some() {
            // instr, not LIKE: the text is matched as typed, without wildcards.
            sql += &match self.backend {
                super::Backend::Sqlite => {
                    format!(" AND instr(lower(actor), lower({})) > 0", param())
                }
                super::Backend::Postgres => {
                    format!(" AND strpos(lower(actor), lower({})) > 0", param())
                }
            };
        }
        if query.action.is_some() {
            sql += &format!(" AND action = {}", param());
        }
        if query.before.is_some() {
            sql += &format!(" AND id < {}", param());
        }
        sql += &format!(" ORDER BY id DESC LIMIT {}", param());
        let mut select = sqlx::query_as(&sql);
        if let Some(actor) = &query.actor {
            select = select.bind(actor.clone());
        }
        if let Some(action) = query.action {
            select = select.bind(action);
        }
        if let Some(before) = query.before {
            select = select.bind(before);
        }
        select.bind(limit).fetch_all(&self.pool).await
    }
}
