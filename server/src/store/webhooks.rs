//! Webhook assets.

use app::{
    api::{AlertDigest, AuthKind, BodyFormat, HttpMethod},
    ids::WebhookId,
};
use sqlx::FromRow;

use super::{Cancelled, Store};
use crate::clock::Millis;

/// A webhook as stored. Lists (contact fields, custom data, headers) are JSON text.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct WebhookRow {
    pub id: WebhookId,
    pub name: String,
    pub url: String,
    pub method: HttpMethod,
    pub body_format: BodyFormat,
    pub contact_fields: String,
    pub custom_data: String,
    pub headers: String,
    pub auth_type: AuthKind,
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
    /// 1 or 0: sqlx's `Any` driver cannot read a SQLite boolean.
    pub enabled: i64,
    pub disabled_reason: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The webhook disables itself once every request has failed for this long; 0: never.
    pub disable_after_failing_hours: i64,
    /// Since when every request has failed; `None` while the receiver accepts. Kept by the
    /// delivery worker; enabling the webhook clears it.
    pub failing_since: Option<Millis>,
    /// At most this many requests a second, from all processes together; 0: no limit.
    pub max_requests_per_second: i64,
    /// Since when the webhook is disabled; `None` while enabled. Kept by the store from
    /// `enabled`'s changes.
    pub disabled_at: Option<Millis>,
    /// At most one alert email every this many minutes.
    pub alert_every_minutes: i64,
    pub alert_digest: AlertDigest,
    /// No request goes out before this: the receiver said it is overloaded.
    pub paused_until: Option<Millis>,
    /// How deliveries go together, as JSON; `None`: one request each.
    pub batch: Option<String>,
    /// 1: alert emails go out; 0: off (the addresses are kept).
    pub alerts_enabled: i64,
}

impl WebhookRow {
    pub fn is_enabled(&self) -> bool {
        self.enabled != 0
    }

    /// The secrets that sign now: the current one, and the previous one during its overlap.
    pub fn signing_secrets(&self, now: Millis) -> Vec<&str> {
        let mut secrets = vec![self.signing_secret.as_str()];
        if let (Some(previous), Some(expires)) = (
            &self.previous_signing_secret,
            self.previous_secret_expires_at,
        ) && expires > now
        {
            secrets.push(previous);
        }
        secrets
    }
}

/// Every column, in [`WebhookRow`]'s order.
macro_rules! columns {
    () => {
        "id, name, url, method, body_format, contact_fields, custom_data, headers, auth_type,
         auth_name, auth_secret, signing_secret, previous_signing_secret,
         previous_secret_expires_at, retry_window_hours, alert_emails, alerted_at, enabled,
         disabled_reason, created_at, updated_at, disable_after_failing_hours, failing_since,
         max_requests_per_second, disabled_at, alert_every_minutes, paused_until, alert_digest,
         batch, alerts_enabled"
    };
}

const SELECT: &str = concat!("SELECT ", columns!(), " FROM webhooks");

const INSERT: &str = concat!(
    "INSERT INTO webhooks (name, url, method, body_format, contact_fields, custom_data,
         headers, auth_type, auth_name, auth_secret, signing_secret, previous_signing_secret,
         previous_secret_expires_at, retry_window_hours, alert_emails, enabled,
         disabled_reason, updated_at, disable_after_failing_hours, max_requests_per_second,
         alert_every_minutes, alert_digest, batch, alerts_enabled, created_at, disabled_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
             $19, $20, $21, $22, $23, $24, $25, CASE WHEN $16 = 0 THEN $18 END)
     RETURNING ",
    columns!()
);

const UPDATE: &str = concat!(
    "UPDATE webhooks SET name = $1, url = $2, method = $3, body_format = $4,
         contact_fields = $5, custom_data = $6, headers = $7, auth_type = $8, auth_name = $9,
         auth_secret = $10, signing_secret = $11, previous_signing_secret = $12,
         previous_secret_expires_at = $13, retry_window_hours = $14, alert_emails = $15,
         failing_since = CASE WHEN enabled = 0 AND $16 = 1 THEN NULL ELSE failing_since END,
         disabled_at = CASE WHEN $16 = 1 THEN NULL WHEN enabled = 1 THEN $18 ELSE disabled_at END,
         enabled = $16, disabled_reason = $17, updated_at = $18, disable_after_failing_hours = $19,
         max_requests_per_second = $20, alert_every_minutes = $21, alert_digest = $22,
         batch = $23, alerts_enabled = $24,
         disable_untold = CASE WHEN $16 = 1 THEN 0 ELSE disable_untold END,
         rate_next_at = CASE WHEN max_requests_per_second = $20 THEN rate_next_at END
     WHERE id = $25
     RETURNING ",
    columns!()
);

type RowQuery<'q> = sqlx::query::QueryAs<'q, sqlx::Any, WebhookRow, sqlx::any::AnyArguments<'q>>;

impl Store {
    /// Inserts the row (its `id` is ignored) and returns it as stored.
    pub async fn create_webhook(&self, row: &WebhookRow) -> sqlx::Result<WebhookRow> {
        let sealed = self.sealed(row)?;
        let mut transaction = self.begin_write().await?;
        let stored = bind_settings(sqlx::query_as(INSERT), &sealed)
            .bind(row.created_at)
            .fetch_one(&mut *transaction)
            .await?;
        transaction.commit().await?;
        self.opened(stored)
    }

    /// Writes every field of the row; `None` if there is no webhook with its id.
    pub async fn save_webhook(&self, row: &WebhookRow) -> sqlx::Result<Option<WebhookRow>> {
        let sealed = self.sealed(row)?;
        let mut transaction = self.begin_write().await?;
        let stored = bind_settings(sqlx::query_as(UPDATE), &sealed)
            .bind(row.id)
            .fetch_optional(&mut *transaction)
            .await?;
        transaction.commit().await?;
        stored.map(|row| self.opened(row)).transpose()
    }

    pub async fn webhook(&self, id: WebhookId) -> sqlx::Result<Option<WebhookRow>> {
        let stored: Option<WebhookRow> = sqlx::query_as(&format!("{SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        stored.map(|row| self.opened(row)).transpose()
    }

    pub async fn webhooks(&self) -> sqlx::Result<Vec<WebhookRow>> {
        let stored: Vec<WebhookRow> = sqlx::query_as(&format!("{SELECT} ORDER BY name, id"))
            .fetch_all(&self.pool)
            .await?;
        stored.into_iter().map(|row| self.opened(row)).collect()
    }

    /// Seals every webhook secret and channel's settings that is stored in plain text
    /// (written before sealing existed) or with another key than the current one (after a
    /// rotation); how many rows changed. One transaction: a crash leaves every row as it was or all re-sealed.
    pub async fn reseal_webhook_secrets(&self) -> sqlx::Result<u64> {
        let Some(keys) = &self.secrets else {
            return Ok(0);
        };
        let mut write = self.begin_write().await?;
        let stored: Vec<WebhookRow> = sqlx::query_as(SELECT).fetch_all(&mut *write).await?;
        let mut changed = 0;
        for row in stored {
            let current = [
                Some(row.headers.as_str()),
                row.auth_secret.as_deref(),
                Some(row.signing_secret.as_str()),
                row.previous_signing_secret.as_deref(),
            ]
            .into_iter()
            .flatten()
            .all(|value| keys.is_sealed_with_current(value));
            if current {
                continue;
            }
            let sealed = self.sealed(&self.opened(row)?)?;
            sqlx::query(
                "UPDATE webhooks SET headers = $1, auth_secret = $2, signing_secret = $3,
                     previous_signing_secret = $4
                 WHERE id = $5",
            )
            .bind(&sealed.headers)
            .bind(&sealed.auth_secret)
            .bind(&sealed.signing_secret)
            .bind(&sealed.previous_signing_secret)
            .bind(sealed.id)
            .execute(&mut *write)
            .await?;
            changed += 1;
        }
        changed += self.reseal_channels(&mut write).await?;
        write.commit().await?;
        Ok(changed)
    }

    /// The row as stored: its secrets (and custom headers, which may carry tokens) sealed.
    fn sealed(&self, row: &WebhookRow) -> sqlx::Result<WebhookRow> {
        let Some(keys) = &self.secrets else {
            return Ok(row.clone());
        };
        let seal = |field: &str, value: &str| {
            keys.seal(field, value)
                .map_err(|error| sqlx::Error::Encode(Box::new(error)))
        };
        Ok(WebhookRow {
            headers: seal("headers", &row.headers)?,
            auth_secret: row
                .auth_secret
                .as_deref()
                .map(|secret| seal("auth_secret", secret))
                .transpose()?,
            signing_secret: seal("signing_secret", &row.signing_secret)?,
            previous_signing_secret: row
                .previous_signing_secret
                .as_deref()
                .map(|secret| seal("previous_signing_secret", secret))
                .transpose()?,
            ..row.clone()
        })
    }

    /// The row as the server uses it: its sealed columns opened.
    fn opened(&self, row: WebhookRow) -> sqlx::Result<WebhookRow> {
        let open = |field: &str, value: &str| match &self.secrets {
            Some(keys) => keys
                .open(field, value)
                .map_err(|error| sqlx::Error::Decode(Box::new(error))),
            None => Ok(value.to_owned()),
        };
        Ok(WebhookRow {
            headers: open("headers", &row.headers)?,
            auth_secret: row
                .auth_secret
                .as_deref()
                .map(|secret| open("auth_secret", secret))
                .transpose()?,
            signing_secret: open("signing_secret", &row.signing_secret)?,
            previous_signing_secret: row
                .previous_signing_secret
                .as_deref()
                .map(|secret| open("previous_signing_secret", secret))
                .transpose()?,
            ..row
        })
    }

    /// The ids of every webhook, for checking the journeys that name them.
    pub async fn webhook_ids(&self) -> sqlx::Result<Vec<WebhookId>> {
        sqlx::query_scalar("SELECT id FROM webhooks")
            .fetch_all(&self.pool)
            .await
    }

    /// Deletes the webhook and cancels its requests not sent yet. `false` if there was no
    /// such webhook.
    pub async fn delete_webhook(&self, id: WebhookId, now: Millis) -> sqlx::Result<bool> {
        let mut transaction = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        if deleted > 0 {
            Cancelled::OfWebhook(id)
                .apply(
                    &mut transaction,
                    self.backend,
                    "cancelled: its webhook was deleted",
                    now,
                )
                .await?;
        }
        transaction.commit().await?;
        Ok(deleted > 0)
    }

    /// Stops sending to a webhook, e.g. after its receiver answered 410 Gone.
    pub async fn disable_webhook(
        &self,
        id: WebhookId,
        reason: &str,
        now: Millis,
    ) -> sqlx::Result<bool> {
        let disabled = self
            .write_one(
                sqlx::query(
                    "UPDATE webhooks SET enabled = 0, disabled_reason = $2, updated_at = $3,
                         disabled_at = $3, disable_untold = 1
                     WHERE id = $1 AND enabled = 1",
                )
                .bind(id)
                .bind(reason)
                .bind(now),
            )
            .await?;
        Ok(disabled.rows_affected() > 0)
    }

    /// Notes that every request to the webhook in a batch failed: starts its failing period if
    /// none runs, and disables the webhook (with `reason`) once the period has lasted its
    /// `disable_after_failing_hours`. Returns whether this call disabled it.
    pub async fn note_webhook_failing(
        &self,
        id: WebhookId,
        reason: &str,
        now: Millis,
    ) -> sqlx::Result<bool> {
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "UPDATE webhooks SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        let disabled = sqlx::query(
            "UPDATE webhooks SET enabled = 0, disabled_reason = $3, updated_at = $2,
                 disabled_at = $2, disable_untold = 1
             WHERE id = $1 AND enabled = 1 AND disable_after_failing_hours > 0
               AND failing_since <= $2 - disable_after_failing_hours * 3600000",
        )
        .bind(id)
        .bind(now)
        .bind(reason)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        transaction.commit().await?;
        Ok(disabled > 0)
    }

    /// Notes that the webhook's receiver accepted a request: its failing period, if one ran,
    /// is over.
    pub async fn note_webhook_accepting(&self, id: WebhookId) -> sqlx::Result<()> {
        self.write_one(sqlx::query(
            "UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
        )
        .bind(id))
        .await?;
        Ok(())
    }

    /// Pauses the webhook until `until` (a later pause already set stays): no process sends
    /// it a request before then.
    pub async fn pause_webhook(&self, id: WebhookId, until: Millis) -> sqlx::Result<()> {
        self.write_one(
            sqlx::query(
                "UPDATE webhooks SET paused_until = $2
                 WHERE id = $1 AND (paused_until IS NULL OR paused_until < $2)",
            )
            .bind(id)
            .bind(until),
        )
        .await?;
        Ok(())
    }

    /// Reserves the webhook's next `span` of send time, none of it before `now`: returns where
    /// it starts. Every process reserves from the same row, so together they keep the
    /// webhook's rate.
    pub async fn reserve_send_time(
        &self,
        id: WebhookId,
        span: Millis,
        now: Millis,
    ) -> sqlx::Result<Millis> {
        let mut transaction = self.begin_write().await?;
        let reserved_until: Option<Millis> = sqlx::query_scalar(
            "UPDATE webhooks
             SET rate_next_at = CASE WHEN rate_next_at > $2 THEN rate_next_at ELSE $2 END + $3
             WHERE id = $1
             RETURNING rate_next_at",
        )
        .bind(id)
        .bind(now)
        .bind(span)
        .fetch_optional(&mut *transaction)
        .await?;
        transaction.commit().await?;
        // A webhook deleted meanwhile: its requests are cancelled by the next batch.
        Ok(reserved_until.map_or(now, |until| until - span))
    }
}

/// Binds `$1`…`$24` of [`INSERT`] and [`UPDATE`]: the settings both write, in their order.
fn bind_settings<'q>(query: RowQuery<'q>, row: &'q WebhookRow) -> RowQuery<'q> {
    query
        .bind(&row.name)
        .bind(&row.url)
        .bind(row.method)
        .bind(row.body_format)
        .bind(&row.contact_fields)
        .bind(&row.custom_data)
        .bind(&row.headers)
        .bind(row.auth_type)
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
        .bind(row.disable_after_failing_hours)
        .bind(row.max_requests_per_second)
        .bind(row.alert_every_minutes)
        .bind(row.alert_digest)
        .bind(&row.batch)
        .bind(row.alerts_enabled)
}
