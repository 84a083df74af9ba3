//! Contacts: upserts merge attributes inside the database, so concurrent updates of one
//! contact never lose each other's attributes.

use std::collections::HashMap;

use app::ids::ContactId;
use sqlx::{AnyConnection, FromRow};

use super::{
    Backend, Batch, Store,
    sql::{IN_LIST_CHUNK, Params},
};
use crate::clock::Millis;

#[derive(Debug, Clone, FromRow)]
pub struct ContactRow {
    pub id: ContactId,
    pub external_id: String,
    /// JSON object.
    pub attributes: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Creates the contact or merges `attributes` (a JSON object) into it, the same way on both
/// backends: each given attribute replaces the one of that name as a whole (a nested object
/// is replaced, not merged into), others stay, and `null` values are dropped at every level, so
/// a top-level `null` removes the attribute.
///
/// SQLite's `json_patch` merges nested objects (RFC 7396) where PostgreSQL's `||` replaces
/// them, so SQLite first patches the given names away, then patches the values in (which
/// drops their nested nulls, as `jsonb_strip_nulls` does on PostgreSQL).
const UPSERT_SQLITE: &str = "
    INSERT INTO contacts (external_id, attributes, created_at, updated_at)
    VALUES ($1, json_patch('{}', $2), $3, $3)
    ON CONFLICT (external_id) DO UPDATE SET
        attributes = json_patch(
            json_patch(contacts.attributes,
                       (SELECT json_group_object(key, NULL) FROM json_each($2))),
            $2),
        updated_at = $3
    RETURNING id, external_id, attributes, created_at, updated_at";

const UPSERT_POSTGRES: &str = "
    INSERT INTO contacts (external_id, attributes, created_at, updated_at)
    VALUES ($1, jsonb_strip_nulls($2::jsonb)::text, $3, $3)
    ON CONFLICT (external_id) DO UPDATE SET
        attributes = jsonb_strip_nulls(contacts.attributes::jsonb || $2::jsonb)::text,
        updated_at = $3
    RETURNING id, external_id, attributes, created_at, updated_at";

impl Store {
    fn upsert_contact_sql(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => UPSERT_SQLITE,
            Backend::Postgres => UPSERT_POSTGRES,
        }
    }

    pub async fn upsert_contact(
        &self,
        external_id: &str,
        attributes: &str,
        now: Millis,
    ) -> sqlx::Result<ContactRow> {
        let mut transaction = self.begin_write().await?;
        let contact = sqlx::query_as(self.upsert_contact_sql())
            .bind(external_id)
            .bind(attributes)
            .bind(now)
            .fetch_one(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(contact)
    }

    /// Upserts every contact in one transaction: all or none.
    pub async fn upsert_contacts(
        &self,
        contacts: &[(&str, String)],
        now: Millis,
    ) -> sqlx::Result<usize> {
        let mut transaction = self.begin_write().await?;
        for (external_id, attributes) in contacts {
            sqlx::query(self.upsert_contact_sql())
                .bind(*external_id)
                .bind(attributes.as_str())
                .bind(now)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(contacts.len())
    }

    pub async fn contact(&self, external_id: &str) -> sqlx::Result<Option<ContactRow>> {
        sqlx::query_as(
            "SELECT id, external_id, attributes, created_at, updated_at
             FROM contacts WHERE external_id = $1",
        )
        .bind(external_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Contacts whose external id or `email` attribute starts with `search` (ignoring case),
    /// most recently updated first.
    pub async fn search_contacts(&self, search: &str, limit: i64) -> sqlx::Result<Vec<ContactRow>> {
        let email = match self.backend {
            Backend::Sqlite => "json_extract(attributes, '$.email')",
            Backend::Postgres => "(attributes::jsonb ->> 'email')",
        };
        sqlx::query_as(&format!(
            "SELECT id, external_id, attributes, created_at, updated_at FROM contacts
             WHERE LOWER(external_id) LIKE $1 ESCAPE '\\' OR LOWER({email}) LIKE $1 ESCAPE '\\'
             ORDER BY updated_at DESC, id DESC LIMIT $2"
        ))
        .bind(format!("{}%", like_escaped(&search.to_lowercase())))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// The internal ids of the contacts with these external ids; unknown ones are absent.
    pub async fn contact_ids(
        &self,
        external_ids: &[&str],
    ) -> sqlx::Result<HashMap<String, ContactId>> {
        let mut connection = self.pool.acquire().await?;
        contact_ids(&mut connection, self.backend, external_ids).await
    }
}

impl Batch {
    /// The contacts with these external ids (unknown ones are absent), attributes and all, read
    /// in the batch's transaction: a round resolves its events' contacts and reads what their
    /// trigger filters and steps need in one statement.
    pub async fn contacts_named(&mut self, external_ids: &[&str]) -> sqlx::Result<Vec<ContactRow>> {
        let mut found = Vec::with_capacity(external_ids.len());
        for chunk in external_ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT id, external_id, attributes, created_at, updated_at FROM contacts
                 WHERE external_id IN ({})",
                Params::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, ContactRow>(&sql);
            for external_id in chunk {
                query = query.bind(*external_id);
            }
            found.extend(query.fetch_all(&mut *self.transaction).await?);
        }
        Ok(found)
    }

    /// The attributes (JSON text) of these contacts.
    pub async fn contact_attributes(
        &mut self,
        contact_ids: &[ContactId],
    ) -> sqlx::Result<HashMap<ContactId, String>> {
        let mut found = HashMap::with_capacity(contact_ids.len());
        for chunk in contact_ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT id, attributes FROM contacts WHERE id IN ({})",
                Params::new(self.backend).list(chunk.len())
            );
            let mut query = sqlx::query_as::<_, (ContactId, String)>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            found.extend(query.fetch_all(&mut *self.transaction).await?);
        }
        Ok(found)
    }
}

/// `text` for a `LIKE` pattern, its wildcards taken literally.
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

async fn contact_ids(
    connection: &mut AnyConnection,
    backend: Backend,
    external_ids: &[&str],
) -> sqlx::Result<HashMap<String, ContactId>> {
    let mut found = HashMap::with_capacity(external_ids.len());
    for chunk in external_ids.chunks(IN_LIST_CHUNK) {
        let sql = format!(
            "SELECT external_id, id FROM contacts WHERE external_id IN ({})",
            Params::new(backend).list(chunk.len())
        );
        let mut query = sqlx::query_as::<_, (String, ContactId)>(&sql);
        for external_id in chunk {
            query = query.bind(*external_id);
        }
        found.extend(query.fetch_all(&mut *connection).await?);
    }
    Ok(found)
}
