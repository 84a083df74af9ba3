//! The engine loop's rhythm: work while there is work; when a round found nothing, wait for
//! work handed over, the next timer known to come due, the poll interval or the stop signal.

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

    /// Call after each round with what it returned (how much it handled) and, after a round
    /// that found nothing, how soon the next timer known comes due. Returns once the next
    /// round should start: at once after work, after a pause otherwise, which `work`
    /// completing (work handed over in memory) also ends. The pause is the poll interval, or
    /// less when a timer comes due sooner: the poll remains for what this process cannot know
    /// (timers other processes set). A failed round is logged and retried after the pause.
    pub async fn after<E: Display>(
        &mut self,
        round: Result<usize, E>,
        what: &str,
        work: impl Future<Output = ()>,
        next_timer_in: Option<Duration>,
    ) {
        match round {
            Ok(handled) if handled > 0 => return,
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "{what} failed; retrying"),
        }
        let pause =
            next_timer_in.map_or(self.poll_interval, |due_in| due_in.min(self.poll_interval));
        tokio::select! {
            _ = self.stop.changed() => {}
            () = work => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// How long from `now` until a timer due at `due_at` (the earliest of those not due yet)
/// fires; `None` without one. A timer due already is someone else's (another process is
/// stepping it, or its journey is paused): the poll interval covers it.
pub fn due_in(due_at: Option<i64>, now: i64) -> Option<Duration> {
    let wait = due_at?.checked_sub(now)?;
    u64::try_from(wait)
        .ok()
        .filter(|wait| *wait > 0)
        .map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_to_come_is_waited_for_to_the_millisecond() {
        assert_eq!(due_in(Some(1_250), 1_000), Some(Duration::from_millis(250)));
    }

    #[test]
    fn no_timer_or_one_due_already_leaves_the_poll_interval() {
        assert_eq!(due_in(None, 1_000), None);
        assert_eq!(due_in(Some(1_000), 1_000), None);
        assert_eq!(due_in(Some(400), 1_000), None);
    }
}
