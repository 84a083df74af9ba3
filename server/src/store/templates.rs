//! Message template assets: what action nodes send.

use app::{ids::TemplateId, journey::Channel};
use sqlx::FromRow;

use super::{
    Store,
    sql::{IN_LIST_CHUNK, Params},
};
use crate::clock::Millis;

/// A template as stored; `content` is the channel's fields as JSON.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TemplateRow {
    pub id: TemplateId,
    pub name: String,
    pub channel: Channel,
    pub content: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

const COLUMNS: &str = "id, name, channel, content, created_at, updated_at";

impl Store {
    /// Inserts the template (its `id` and `updated_at` are ignored) and returns it as stored.
    pub async fn create_template(&self, row: &TemplateRow) -> sqlx::Result<TemplateRow> {
        let mut transaction = self.begin_write().await?;
        let stored = sqlx::query_as(&format!(
            "INSERT INTO templates (name, channel, content, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
        ))
        .bind(&row.name)
        .bind(row.channel)
        .bind(&row.content)
        .bind(row.created_at)
        .fetch_one(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(stored)
    }

    /// Replaces the template's name and content; `None` if there is no template with its id.
    pub async fn save_template(&self, row: &TemplateRow) -> sqlx::Result<Option<TemplateRow>> {
        let mut transaction = self.begin_write().await?;
        let stored = sqlx::query_as(&format!(
            "UPDATE templates SET name = $1, channel = $2, content = $3, updated_at = $4
             WHERE id = $5 RETURNING {COLUMNS}"
        ))
        .bind(&row.name)
        .bind(row.channel)
        .bind(&row.content)
        .bind(row.updated_at)
        .bind(row.id)
        .fetch_optional(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(stored)
    }

    pub async fn template(&self, id: TemplateId) -> sqlx::Result<Option<TemplateRow>> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM templates WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Every template, by name.
    pub async fn templates(&self) -> sqlx::Result<Vec<TemplateRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM templates ORDER BY name, id"
        ))
        .fetch_all(&self.pool)
        .await
    }

    /// The templates with these ids that exist.
    pub async fn templates_by_id(&self, ids: &[TemplateId]) -> sqlx::Result<Vec<TemplateRow>> {
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT {COLUMNS} FROM templates WHERE id IN ({})",
                Params::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_as(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            rows.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(rows)
    }

    /// Every template's channel, without the content: what publishing checks.
    pub async fn template_channels(&self) -> sqlx::Result<Vec<(TemplateId, Channel)>> {
        sqlx::query_as("SELECT id, channel FROM templates")
            .fetch_all(&self.pool)
            .await
    }

    /// Deletes the template; messages queued from it are then skipped when their turn comes.
    pub async fn delete_template(&self, id: TemplateId) -> sqlx::Result<bool> {
        let done = self
            .write_one(sqlx::query("DELETE FROM templates WHERE id = $1").bind(id))
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
