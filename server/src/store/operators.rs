//! Operators (people who sign in) and their sessions.

use app::{api::Role, ids::OperatorId};
use sqlx::FromRow;

use super::Store;
use crate::clock::Millis;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OperatorRow {
    pub id: OperatorId,
    /// Lowercased.
    pub email: String,
    /// argon2id, in the PHC string format.
    pub password_hash: String,
    pub role: Role,
    /// 1 or 0.
    pub active: i64,
    /// 1 or 0.
    pub must_change_password: i64,
    pub created_at: Millis,
    pub last_sign_in_at: Option<Millis>,
}

impl OperatorRow {
    pub fn is_active(&self) -> bool {
        self.active != 0
    }

    pub fn must_change_password(&self) -> bool {
        self.must_change_password != 0
    }
}

/// An operator to create.
#[derive(Debug, Clone)]
pub struct NewOperator<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub must_change_password: bool,
}

/// A signed-in session, with its operator.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub operator_id: OperatorId,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub expires_at: Millis,
}

const OPERATOR_COLUMNS: &str = "id, email, password_hash, role, active, must_change_password, \
                                created_at, last_sign_in_at";

impl Store {
    pub async fn operator_count(&self) -> sqlx::Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM operators")
            .fetch_one(&self.pool)
            .await
    }

    /// Creates the operator; a taken email is a unique violation.
    pub async fn create_operator(
        &self,
        operator: &NewOperator<'_>,
        now: Millis,
    ) -> sqlx::Result<OperatorRow> {
        let mut write = self.begin_write().await?;
        let row = insert_operator(&mut *write, operator, now).await?;
        write.commit().await?;
        Ok(row)
    }

    /// Creates the first operator, only while there is none: two set-up requests at once
    /// create one operator, not two admins.
    pub async fn create_first_operator(
        &self,
        operator: &NewOperator<'_>,
        now: Millis,
    ) -> sqlx::Result<Option<OperatorRow>> {
        let mut write = self.begin_write().await?;
        if self.backend == super::Backend::Postgres {
            sqlx::query("LOCK TABLE operators IN EXCLUSIVE MODE")
                .execute(&mut *write)
                .await?;
        }
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operators")
            .fetch_one(&mut *write)
            .await?;
        if existing > 0 {
            return Ok(None);
        }
        let row = insert_operator(&mut *write, operator, now).await?;
        write.commit().await?;
        Ok(Some(row))
    }

    pub async fn operator(&self, id: OperatorId) -> sqlx::Result<Option<OperatorRow>> {
        sqlx::query_as(&format!(
            "SELECT {OPERATOR_COLUMNS} FROM operators WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn operator_by_email(&self, email: &str) -> sqlx::Result<Option<OperatorRow>> {
        sqlx::query_as(&format!(
            "SELECT {OPERATOR_COLUMNS} FROM operators WHERE email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await
    }

    /// Every operator, oldest first.
    pub async fn operators(&self) -> sqlx::Result<Vec<OperatorRow>> {
        sqlx::query_as(&format!(
            "SELECT {OPERATOR_COLUMNS} FROM operators ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
    }

    /// Changes role and active flag; a deactivated operator's sessions end with it.
    pub async fn update_operator(
        &self,
        id: OperatorId,
        role: Role,
        active: bool,
    ) -> sqlx::Result<Option<OperatorRow>> {
        let mut write = self.begin_write().await?;
        let row: Option<OperatorRow> = sqlx::query_as(&format!(
            "UPDATE operators SET role = $1, active = $2 WHERE id = $3
             RETURNING {OPERATOR_COLUMNS}"
        ))
        .bind(role)
        .bind(i64::from(active))
        .bind(id)
        .fetch_optional(&mut *write)
        .await?;
        if !active {
            sqlx::query("DELETE FROM sessions WHERE operator_id = $1")
                .bind(id)
                .execute(&mut *write)
                .await?;
        }
        write.commit().await?;
        Ok(row)
    }

    /// Sets a new password and ends every session of the operator but `keep` (the session
    /// that changed it, if any).
    pub async fn set_password(
        &self,
        id: OperatorId,
        password_hash: &str,
        must_change_password: bool,
        keep: Option<i64>,
    ) -> sqlx::Result<Option<OperatorRow>> {
        let mut write = self.begin_write().await?;
        let row: Option<OperatorRow> = sqlx::query_as(&format!(
            "UPDATE operators SET password_hash = $1, must_change_password = $2 WHERE id = $3
             RETURNING {OPERATOR_COLUMNS}"
        ))
        .bind(password_hash)
        .bind(i64::from(must_change_password))
        .bind(id)
        .fetch_optional(&mut *write)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE operator_id = $1 AND id <> $2")
            .bind(id)
            .bind(keep.unwrap_or(-1))
            .execute(&mut *write)
            .await?;
        write.commit().await?;
        Ok(row)
    }

    /// Starts a session for the operator.
    pub async fn create_session(
        &self,
        operator: OperatorId,
        token_hash: &str,
        now: Millis,
        expires_at: Millis,
        idle_ms: Millis,
    ) -> sqlx::Result<SessionRow> {
        let mut write = self.begin_write().await?;
        sqlx::query("UPDATE operators SET last_sign_in_at = $1 WHERE id = $2")
            .bind(now)
            .bind(operator)
            .execute(&mut *write)
            .await?;
        let row = sqlx::query_as(
            "INSERT INTO sessions (token_hash, operator_id, created_at, last_seen_at, expires_at,
                                   idle_ms)
             VALUES ($1, $2, $3, $3, $4, $5)
             RETURNING id, operator_id, created_at, last_seen_at, expires_at",
        )
        .bind(token_hash)
        .bind(operator)
        .bind(now)
        .bind(expires_at)
        .bind(idle_ms)
        .fetch_one(&mut *write)
        .await?;
        write.commit().await?;
        Ok(row)
    }

    /// The session with this token hash and its operator, whatever their state.
    pub async fn session(
        &self,
        token_hash: &str,
    ) -> sqlx::Result<Option<(SessionRow, OperatorRow)>> {
        let Some(session): Option<SessionRow> = sqlx::query_as(
            "SELECT id, operator_id, created_at, last_seen_at, expires_at
             FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        Ok(self
            .operator(session.operator_id)
            .await?
            .map(|operator| (session, operator)))
    }

    pub async fn touch_session(&self, id: i64, now: Millis) -> sqlx::Result<()> {
        self.write_one(
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id),
        )
        .await
        .map(|_| ())
    }

    pub async fn end_session(&self, id: i64) -> sqlx::Result<()> {
        self.write_one(sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id))
            .await
            .map(|_| ())
    }

    /// Forgets sessions past their absolute expiry, or idle for longer than the limit they
    /// were started with.
    pub async fn delete_expired_sessions(&self, now: Millis) -> sqlx::Result<u64> {
        self.write_one(
            sqlx::query(
                "DELETE FROM sessions
                 WHERE expires_at <= $1 OR (idle_ms IS NOT NULL AND last_seen_at < $1 - idle_ms)",
            )
            .bind(now),
        )
        .await
        .map(|done| done.rows_affected())
    }
}

async fn insert_operator<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    operator: &NewOperator<'_>,
    now: Millis,
) -> sqlx::Result<OperatorRow> {
    sqlx::query_as(&format!(
        "INSERT INTO operators (email, password_hash, role, must_change_password, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING {OPERATOR_COLUMNS}"
    ))
    .bind(operator.email)
    .bind(operator.password_hash)
    .bind(operator.role)
    .bind(i64::from(operator.must_change_password))
    .bind(now)
    .fetch_one(executor)
    .await
}
