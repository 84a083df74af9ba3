//! Which key seals the database's secrets: one row, the id of the first key of the processes'
//! key file (see `secret_key`).

use super::Store;
use crate::clock::Millis;

impl Store {
    /// The id of the key that seals this database's secrets; `None` before a process with a
    /// key file recorded one.
    pub async fn sealing_key_id(&self) -> sqlx::Result<Option<String>> {
        sqlx::query_scalar("SELECT key_id FROM sealing_key WHERE singleton = 1")
            .fetch_optional(&self.pool)
            .await
    }

    /// Records `current` as the key that seals, unless the database already names a key that
    /// is not in `held` (the ids of the process's key file): a rotation moves it from an old
    /// key to the new one, a process with another key file moves nothing. Returns the key the
    /// database names afterwards.
    pub async fn adopt_sealing_key(
        &self,
        current: &str,
        held: &[String],
        now: Millis,
    ) -> sqlx::Result<String> {
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sealing_key (singleton, key_id, recorded_at) VALUES (1, $1, $2)
             ON CONFLICT (singleton) DO NOTHING",
        )
        .bind(current)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        let recorded: String =
            sqlx::query_scalar("SELECT key_id FROM sealing_key WHERE singleton = 1")
                .fetch_one(&mut *transaction)
                .await?;
        if recorded != current && held.contains(&recorded) {
            sqlx::query("UPDATE sealing_key SET key_id = $1, recorded_at = $2 WHERE singleton = 1")
                .bind(current)
                .bind(now)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            return Ok(current.to_owned());
        }
        transaction.commit().await?;
        Ok(recorded)
    }
}
