//! Webhook assets.

use sqlx::{Any, FromRow, any::AnyArguments};

use super::{Store, sql::Params};
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
    /// JSON list of email addresses.
    pub alert_emails: String,
    pub alerted_at: Option<Millis>,
    pub enabled: i64,
    pub disabled_reason: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

const COLUMNS: &str = "id, name, url, method, body_format, contact_fields, custom_data, headers,
    auth_type, auth_name, auth_secret, signing_secret, previous_signing_secret,
    previous_secret_expires_at, retry_window_hours, alert_emails, alerted_at, enabled,
    disabled_reason, created_at, updated_at";

/// The columns creating and saving both write, in the order [`bind_written`] binds them.
const WRITTEN: [&str; 18] = [
    "name",
    "url",
    "method",
    "body_format",
    "contact_fields",
    "custom_data",
    "headers",
    "auth_type",
    "auth_name",
    "auth_secret",
    "signing_secret",
    "previous_signing_secret",
    "previous_secret_expires_at",
    "retry_window_hours",
    "alert_emails",
    "enabled",
    "disabled_reason",
    "updated_at",
];

type RowQuery<'q> = sqlx::query::QueryAs<'q, Any, WebhookRow, AnyArguments<'q>>;

fn bind_written<'q>(query: RowQuery<'q>, row: &'q WebhookRow) -> RowQuery<'q> {
    query
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
        .bind(&row.alert_emails)
        .bind(row.enabled)
        .bind(&row.disabled_reason)
        .bind(row.updated_at)
}

impl Store {
    /// Inserts the row (its `id` is ignored) and returns it as stored.
    pub async fn create_webhook(&self, row: &WebhookRow) -> sqlx::Result<WebhookRow> {
        let sql = format!(
            "INSERT INTO webhooks ({}, created_at) VALUES ({}) RETURNING {COLUMNS}",
            WRITTEN.join(", "),
            Params::new(self.backend).list(WRITTEN.len() + 1)
        );
        bind_written(sqlx::query_as(&sql), row)
            .bind(row.created_at)
            .fetch_one(&self.pool)
            .await
    }

    /// Writes every field of the row; `None` if there is no webhook with its id.
    pub async fn save_webhook(&self, row: &WebhookRow) -> sqlx::Result<Option<WebhookRow>> {
        let mut params = Params::new(self.backend);
        let assignments: Vec<String> = WRITTEN
            .iter()
            .map(|column| format!("{column} = {}", params.one()))
            .collect();
        let sql = format!(
            "UPDATE webhooks SET {} WHERE id = {} RETURNING {COLUMNS}",
            assignments.join(", "),
            params.one()
        );
        bind_written(sqlx::query_as(&sql), row)
            .bind(row.id)
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

    /// The ids of every webhook, for checking the journeys that name them.
    pub async fn webhook_ids(&self) -> sqlx::Result<Vec<i64>> {
        sqlx::query_scalar("SELECT id FROM webhooks")
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

    /// Takes the webhook's alert turn: `true` if it was last alerted at or before `before`
    /// (or never), and marks it alerted `now`. With several processes, one of them wins.
    pub async fn claim_alert(&self, id: i64, now: Millis, before: Millis) -> sqlx::Result<bool> {
        let claimed = sqlx::query(
            "UPDATE webhooks SET alerted_at = $1
             WHERE id = $2 AND (alerted_at IS NULL OR alerted_at <= $3)",
        )
        .bind(now)
        .bind(id)
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }
}
