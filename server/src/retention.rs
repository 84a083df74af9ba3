//! Keeps the attempt log to its retention period: once an hour (by the server's clock), the
//! attempts older than the period are deleted in batches, each in a short transaction of its
//! own so the engine and the workers keep their turns at the database meanwhile. Sessions past
//! their lifetime or idle limit go at the same time (they no longer sign anyone in, but their
//! rows stayed for ever).

use std::time::Duration;

use tokio::sync::watch;

use crate::{
    clock::{Millis, SharedClock},
    store::{HOUR_MS, Store},
};

/// Attempts deleted per transaction.
const BATCH: i64 = 1_000;

#[derive(Debug, Clone, Copy)]
pub struct RetentionSettings {
    /// How long attempts are kept; `None`: for ever.
    pub keep: Option<Millis>,
    /// How often the clock is looked at to see whether a pruning is due.
    pub poll_interval: Duration,
}

pub struct Pruner {
    store: Store,
    clock: SharedClock,
    settings: RetentionSettings,
}

impl Pruner {
    pub fn new(store: Store, clock: SharedClock, settings: RetentionSettings) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }

    /// Prunes at start and then every hour, until told to stop (between batches).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut next_at = self.clock.now();
        while !*stop.borrow() {
            if self.clock.now() >= next_at {
                next_at = self.clock.now() + HOUR_MS;
                if let Some(keep) = self.settings.keep {
                    self.prune(keep, &stop).await;
                }
                self.forget_ended_sessions().await;
            }
            tokio::select! {
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn forget_ended_sessions(&self) {
        let now = self.clock.now();
        match self.store.delete_expired_sessions(now).await {
            Ok(0) => {}
            Ok(sessions) => tracing::debug!(sessions, "forgot ended sessions"),
            Err(error) => {
                tracing::warn!(%error, "cannot forget ended sessions; trying again in an hour");
            }
        }
    }

    async fn prune(&self, keep: Millis, stop: &watch::Receiver<bool>) {
        let before = self.clock.now() - keep;
        let (mut attempts, mut message_attempts) = (0, 0);
        while !*stop.borrow() {
            match self.store.prune_attempts(before, BATCH).await {
                Ok(pruned) => {
                    attempts += pruned.attempts;
                    message_attempts += pruned.message_attempts;
                    if pruned.attempts.max(pruned.message_attempts) < BATCH as u64 {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot prune the attempt log; trying again in an hour");
                    break;
                }
            }
            // Other writers first: a long backlog goes out a batch at a time.
            tokio::task::yield_now().await;
        }
        if attempts + message_attempts > 0 {
            tracing::info!(
                attempts,
                message_attempts,
                "pruned webhook and message attempts older than the retention period"
            );
        }
    }
}
