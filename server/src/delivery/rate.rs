//! At most N requests a second to one webhook from this process: each request takes the next
//! free slot, slots 1/N s apart, and waits for it. Strict spacing rather than a bucket with a
//! burst: a receiver that allows N a second never sees a burst above it after a pause.

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

#[derive(Debug)]
pub struct Spacing {
    rate: u32,
    interval: Duration,
    next_slot: Mutex<Instant>,
}

impl Spacing {
    /// `None` for 0: no limit.
    pub fn per_second(rate: u32) -> Option<Self> {
        (rate > 0).then(|| Self {
            rate,
            interval: Duration::from_secs(1) / rate,
            next_slot: Mutex::new(Instant::now()),
        })
    }

    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Waits for the next free slot (at once when the last one is past).
    pub async fn wait(&self) {
        let slot = {
            let mut next = self
                .next_slot
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_go_out_one_interval_apart() {
        let spacing = Arc::new(Spacing::per_second(5).expect("a limit"));
        let started = Instant::now();
        let mut waiting = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let spacing = spacing.clone();
            waiting.spawn(async move {
                spacing.wait().await;
                started.elapsed().as_millis()
            });
        }
        let mut sent_at = waiting.join_all().await;
        sent_at.sort_unstable();
        assert_eq!(sent_at, [0, 200, 400, 600, 800, 1_000]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_gives_no_burst_afterwards() {
        let spacing = Spacing::per_second(10).expect("a limit");
        spacing.wait().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let resumed = Instant::now();
        spacing.wait().await;
        spacing.wait().await;
        assert_eq!(resumed.elapsed(), Duration::from_millis(100));
    }

    #[test]
    fn zero_means_no_limit() {
        assert!(Spacing::per_second(0).is_none());
    }
}
