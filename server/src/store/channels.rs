//! Channel settings: one row per channel that was set up, its settings JSON sealed (they hold
//! the provider's credentials and receipt secret).

use app::journey::Channel;
use sqlx::FromRow;

use super::{Store, Write};
use crate::clock::Millis;

/// A channel's settings as stored; `settings` is JSON, opened.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ChannelRow {
    pub channel: Channel,
    pub settings: String,
    pub updated_at: Millis,
}

/// What the seal of a channel's settings is bound to.
const SEALED_FIELD: &str = "channel_settings";

impl Store {
    /// Every channel that was set up.
    pub async fn channel_rows(&self) -> sqlx::Result<Vec<ChannelRow>> {
        let rows: Vec<ChannelRow> =
            sqlx::query_as("SELECT channel, settings, updated_at FROM channels ORDER BY channel")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|row| self.opened_channel(row))
            .collect()
    }

    pub async fn channel_row(&self, channel: Channel) -> sqlx::Result<Option<ChannelRow>> {
        let row: Option<ChannelRow> =
            sqlx::query_as("SELECT channel, settings, updated_at FROM channels WHERE channel = $1")
                .bind(channel)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| self.opened_channel(row)).transpose()
    }

    /// Stores the channel's settings, replacing what was there.
    pub async fn save_channel(&self, row: &ChannelRow) -> sqlx::Result<()> {
        let sealed = self.seal_channel(&row.settings)?;
        self.write_one(
            sqlx::query(
                "INSERT INTO channels (channel, settings, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (channel) DO UPDATE
                 SET settings = excluded.settings, updated_at = excluded.updated_at",
            )
            .bind(row.channel)
            .bind(sealed)
            .bind(row.updated_at),
        )
        .await?;
        Ok(())
    }

    /// Forgets the channel's settings (it is back to its defaults); whether there were any.
    pub async fn delete_channel(&self, channel: Channel) -> sqlx::Result<bool> {
        let done = self
            .write_one(sqlx::query("DELETE FROM channels WHERE channel = $1").bind(channel))
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Re-seals with the current key the channel settings sealed with another (or stored in
    /// plain text), inside the caller's transaction; how many.
    pub(super) async fn reseal_channels(&self, write: &mut Write) -> sqlx::Result<u64> {
        let Some(keys) = &self.secrets else {
            return Ok(0);
        };
        let stored: Vec<ChannelRow> =
            sqlx::query_as("SELECT channel, settings, updated_at FROM channels")
                .fetch_all(&mut **write)
                .await?;
        let mut changed = 0;
        for row in stored {
            if keys.is_sealed_with_current(&row.settings) {
                continue;
            }
            let opened = self.opened_channel(row)?;
            sqlx::query("UPDATE channels SET settings = $1 WHERE channel = $2")
                .bind(self.seal_channel(&opened.settings)?)
                .bind(opened.channel)
                .execute(&mut **write)
                .await?;
            changed += 1;
        }
        Ok(changed)
    }

    fn seal_channel(&self, settings: &str) -> sqlx::Result<String> {
        match &self.secrets {
            Some(keys) => keys
                .seal(SEALED_FIELD, settings)
                .map_err(|error| sqlx::Error::Encode(Box::new(error))),
            None => Ok(settings.to_owned()),
        }
    }

    fn opened_channel(&self, row: ChannelRow) -> sqlx::Result<ChannelRow> {
        let settings = match &self.secrets {
            Some(keys) => keys
                .open(SEALED_FIELD, &row.settings)
                .map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
            None => row.settings,
        };
        Ok(ChannelRow { settings, ..row })
    }
}
