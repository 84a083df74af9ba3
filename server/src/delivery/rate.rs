//! At most N requests a second to one webhook: each request takes the next free slot, slots
//! 1/N s apart, and waits for it. Strict spacing rather than a bucket with a burst: a receiver
//! that allows N a second never sees a burst above it after a pause.
//!
//! Across processes, each batch first reserves its share of the webhook's send time in the
//! database ([`SendTimes`]); each request waits for its reserved time, then for this process's
//! next [`Spacing`] slot, which keeps them 1/N s apart however late they start.

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

use crate::clock::Millis;

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

/// A batch's reserved send times for one webhook: `count` times 1/rate s apart from `first`
/// (server clock, milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendTimes {
    first: Millis,
    interval_ms: f64,
    taken: u32,
}

impl SendTimes {
    /// How much send time `count` requests at `rate` a second take, whole milliseconds
    /// rounded up (a reservation never packs requests closer than the rate).
    pub fn span(count: usize, rate: u32) -> Millis {
        let millis = (count as f64 * 1_000.0 / f64::from(rate.max(1))).ceil();
        millis as Millis
    }

    pub fn starting(first: Millis, rate: u32) -> Self {
        Self {
            first,
            interval_ms: 1_000.0 / f64::from(rate.max(1)),
            taken: 0,
        }
    }

    /// The next request's reserved time, as an instant of this process (`now` is the server
    /// clock's reading at the same moment).
    pub fn next(&mut self, now: Millis) -> Instant {
        let at = self.first as f64 + f64::from(self.taken) * self.interval_ms;
        self.taken += 1;
        let ahead = (at - now as f64).max(0.0);
        Instant::now() + Duration::from_secs_f64(ahead / 1_000.0)
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
    fn a_reservation_covers_its_requests_at_the_rate() {
        assert_eq!(SendTimes::span(10, 10), 1_000);
        // 3 at 7 a second: 428.57 ms, rounded up.
        assert_eq!(SendTimes::span(3, 7), 429);
        assert_eq!(SendTimes::span(5, 10_000), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn reserved_times_are_one_interval_apart_from_the_first() {
        let mut times = SendTimes::starting(10_400, 5);
        let now = Instant::now();
        // The server clock reads 10 s: the first time is 400 ms ahead, the next 200 ms later.
        let ahead: Vec<u128> = (0..3)
            .map(|_| times.next(10_000).duration_since(now).as_millis())
            .collect();
        assert_eq!(ahead, [400, 600, 800]);
        // Times already past go at once.
        let mut late = SendTimes::starting(1_000, 5);
        assert_eq!(late.next(10_000), Instant::now());
    }

    #[test]
    fn zero_means_no_limit() {
        assert!(Spacing::per_second(0).is_none());
    }
}
