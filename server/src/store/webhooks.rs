//! Webhook assets.

use sqlx::FromRow;

use super::Store;
use crate::clock::Millis;

/// A webhook as stored. Lists (contact fields, custom data, headers) are JSON text.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct WebhookRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub method: String,
    pub body_format: String,
    pub contact_fields: String,
    pub custom_data: String,
    pub headers: String,
    pub auth_type: String,
    /// Basic: the user name; API key: the header name.
    pub auth_name: Option<String>,
    /// Basic: the password; bearer: the token; API key: the key.
    pub auth_secret: Option<String>,
    pub signing_secret: String,
    pub previous_signing_secret: Option<String>,
    pub previous_secret_expires_at: Option<Millis>,
    pub retry_window_hours: i64,
    pub enabled: i64,
    pub disabled_reason: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

const COLUMNS: &str = "id, name, url, method, body_format, contact_fields, custom_data, headers,
    auth_type, auth_name, auth_secret, signing_secret, previous_signing_secret,
    previous_secret_expires_at, retry_window_hours, enabled, disabled_reason, created_at,
    updated_at";

impl Store {
    /// Inserts the row (its `id` is ignored) and returns it as stored.
    pub async fn create_webhook(&self, row: &WebhookRow) -> sqlx::Result<WebhookRow> {
        sqlx::query_as(&format!(
            "INSERT INTO webhooks (name, url, method, body_format, contact_fields, custom_data,
                 headers, auth_type, auth_name, auth_secret, signing_secret,
                 previous_signing_secret, previous_secret_expires_at, retry_window_hours,
                 enabled, disabled_reason, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                     $18)
             RETURNING {COLUMNS}"
        ))
        .bind(&row.name)
        .bind(&row.url)
        .bind(&row.method)
        .bind(&row.body_format)
        .bind(&row.contact_fields)
        .bind(&row.custom_data)
        .bind(&row.headers)
        .bind(&row.auth_type)
        .bind(&row.auth_name)
        .bind(&row.auth_secret)
        .bind(&row.signing_secret)
        .bind(&row.previous_signing_secret)
        .bind(row.previous_secret_expires_at)
        .bind(row.retry_window_hours)
        .bind(row.enabled)
        .bind(&row.disabled_reason)
        .bind(row.created_at)
        .bind(row.updated_at)
        .fetch_one(&self.pool)
        .await
    }

    /// Writes every field of the row; `None` if there is no webhook with its id.
    pub async fn save_webhook(&self, row: &WebhookRow) -> sqlx::Result<Option<WebhookRow>> {
        sqlx::query_as(&format!(
            "UPDATE webhooks SET name = $2, url = $3, method = $4, body_format = $5,
                 contact_fields = $6, custom_data = $7, headers = $8, auth_type = $9,
                 auth_name = $10, auth_secret = $11, signing_secret = $12,
                 previous_signing_secret = $13, previous_secret_expires_at = $14,
                 retry_window_hours = $15, enabled = $16, disabled_reason = $17,
                 updated_at = $18
             WHERE id = $1
             RETURNING {COLUMNS}"
        ))
        .bind(row.id)
        .bind(&row.name)
        .bind(&row.url)
        .bind(&row.method)
        .bind(&row.body_format)
        .bind(&row.contact_fields)
        .bind(&row.custom_data)
        .bind(&row.headers)
        .bind(&row.auth_type)
        .bind(&row.auth_name)
        .bind(&row.auth_secret)
        .bind(&row.signing_secret)
        .bind(&row.previous_signing_secret)
        .bind(row.previous_secret_expires_at)
        .bind(row.retry_window_hours)
        .bind(row.enabled)
        .bind(&row.disabled_reason)
        .bind(row.updated_at)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn webhook(&self, id: i64) -> sqlx::Result<Option<WebhookRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn webhooks(&self) -> sqlx::Result<Vec<WebhookRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhooks ORDER BY name, id"))
            .fetch_all(&self.pool)
            .await
    }

    pub async fn delete_webhook(&self, id: i64) -> sqlx::Result<bool> {
        let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }
}
