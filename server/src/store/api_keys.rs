//! API keys: integrations' credentials. Only a key's SHA-256 is stored.

use app::{api::Scope, ids::ApiKeyId, ids::OperatorId};
use sqlx::FromRow;

use super::Store;
use crate::clock::Millis;

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub name: String,
    pub prefix: String,
    /// Space-separated scope words; see [`ApiKeyRow::scopes`].
    pub scopes: String,
    pub created_by: Option<OperatorId>,
    /// The creator's email, while they exist.
    pub creator_email: Option<String>,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

impl ApiKeyRow {
    /// The scopes this server knows; a word it does not (a newer version wrote it) grants
    /// nothing.
    pub fn scopes(&self) -> Vec<Scope> {
        self.scopes
            .split_whitespace()
            .filter_map(|word| word.parse().ok())
            .collect()
    }

    /// Whether the key may be used at `now`.
    pub fn is_usable(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expires| expires > now)
    }
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub scopes: &'a [Scope],
    pub created_by: Option<OperatorId>,
    pub expires_at: Option<Millis>,
}

const SELECT: &str =
    "SELECT k.id, k.name, k.prefix, k.scopes, k.created_by, o.email AS creator_email,
        k.created_at, k.last_used_at, k.expires_at, k.revoked_at
     FROM api_keys k LEFT JOIN operators o ON o.id = k.created_by";

impl Store {
    pub async fn create_api_key(
        &self,
        key: &NewApiKey<'_>,
        now: Millis,
    ) -> sqlx::Result<ApiKeyRow> {
        let scopes = key
            .scopes
            .iter()
            .map(|scope| scope.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let mut transaction = self.begin_write().await?;
        let id: ApiKeyId = sqlx::query_scalar(
            "INSERT INTO api_keys (name, token_hash, prefix, scopes, created_by, created_at,
                 expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(key.name)
        .bind(key.token_hash)
        .bind(key.prefix)
        .bind(scopes)
        .bind(key.created_by)
        .bind(now)
        .bind(key.expires_at)
        .fetch_one(&mut *transaction)
        .await?;
        transaction.commit().await?;
        self.api_key(id).await?.ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn api_key(&self, id: ApiKeyId) -> sqlx::Result<Option<ApiKeyRow>> {
        sqlx::query_as(&format!("{SELECT} WHERE k.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn api_key_by_hash(&self, token_hash: &str) -> sqlx::Result<Option<ApiKeyRow>> {
        sqlx::query_as(&format!("{SELECT} WHERE k.token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
    }

    /// Every key, newest first, revoked ones included.
    pub async fn api_keys(&self) -> sqlx::Result<Vec<ApiKeyRow>> {
        sqlx::query_as(&format!("{SELECT} ORDER BY k.id DESC"))
            .fetch_all(&self.pool)
            .await
    }

    /// Revokes the key (once; a second revocation keeps the first time).
    pub async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        now: Millis,
    ) -> sqlx::Result<Option<ApiKeyRow>> {
        self.write_one(
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id),
        )
        .await?;
        self.api_key(id).await
    }

    pub async fn touch_api_key(&self, id: ApiKeyId, now: Millis) -> sqlx::Result<()> {
        self.write_one(
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id),
        )
        .await
        .map(|_| ())
    }
}
