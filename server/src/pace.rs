//! The engine loop's rhythm: work while there is work; when a round found nothing, wait for
//! work handed over, the poll interval or the stop signal.

use std::{fmt::Display, future::Future, time::Duration};

use tokio::sync::watch;

pub struct Pace {
    stop: watch::Receiver<bool>,
    poll_interval: Duration,
}

impl Pace {
    pub fn new(stop: watch::Receiver<bool>, poll_interval: Duration) -> Self {
        Self {
            stop,
            poll_interval,
        }
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Call after each round with what it returned (how much it handled). Returns once the
    /// next round should start: at once after work, after a pause otherwise, which `work`
    /// completing (work handed over in memory) also ends. A failed round is logged and
    /// retried after the pause.
    pub async fn after<E: Display>(
        &mut self,
        round: Result<usize, E>,
        what: &str,
        work: impl Future<Output = ()>,
    ) {
        match round {
            Ok(handled) if handled > 0 => return,
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "{what} failed; retrying"),
        }
        tokio::select! {
            _ = self.stop.changed() => {}
            () = work => {}
            () = tokio::time::sleep(self.poll_interval) => {}
        }
    }
}
