//! How hard to push one webhook's receiver, from how it answers. Two parts:
//!
//! - A congestion window on the requests in flight, like TCP's (AIMD): a full window of
//!   answers that are not overload signals widens it by one, up to `--delivery-concurrency`;
//!   an overload signal halves it, down to one. This process's own.
//! - A pause: an overload signal stops the webhook's requests for as long as the receiver asked
//!   (`Retry-After`, between [`MIN_PAUSE`] and [`MAX_PAUSE`]) or [`PAUSE`] without it, but no
//!   longer than the refused request itself waits for its retry (so the pause never delays a
//!   retry past its schedule), and not at all once that request has failed for good (a resend
//!   goes at once). Kept on the webhook's row too (`Store::pause_webhook`), so every process
//!   backs off; by the server's clock, so tests drive it.
//!
//! Overload signals: `429 Too Many Requests`, `503 Service Unavailable` and no answer within
//! the timeout. Other failures (a 500, a refused connection) say the receiver is broken, not
//! busy: they change nothing here, the retry schedule spaces their deliveries out.

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::sync::Notify;

use super::send::Attempt;
use crate::clock::Millis;

/// The pause after an overload signal without `Retry-After`: the first step of the retry
/// schedule, so the delivery that met it is not held back further.
pub const PAUSE: Duration = Duration::from_secs(5);
/// The shortest pause `Retry-After` gets (`Retry-After: 0` is no licence to hammer).
pub const MIN_PAUSE: Duration = Duration::from_secs(1);
/// The longest: a receiver asking for a day still has its other requests tried within minutes.
pub const MAX_PAUSE: Duration = Duration::from_secs(10 * 60);

/// What an answer says about the receiver's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// It answered (accepted or not) without asking for less.
    Coping,
    /// It asked for less, or did not answer in time: pause for this long.
    Overloaded { pause: Duration },
}

impl Load {
    pub fn of(attempt: &Attempt) -> Self {
        match attempt.status {
            Some(429 | 503) => Self::Overloaded {
                pause: attempt
                    .retry_after
                    .map_or(PAUSE, |asked| asked.clamp(MIN_PAUSE, MAX_PAUSE)),
            },
            None if attempt.timed_out => Self::Overloaded { pause: PAUSE },
            _ => Self::Coping,
        }
    }
}

/// One webhook's window and pause, shared by the batches this process sends.
#[derive(Debug)]
pub struct Congestion {
    max: usize,
    state: Mutex<State>,
    /// Signalled when a slot frees or the window widens: one waiter per slot, not all of them
    /// (a batch of 512 for one webhook would wake 500 tasks for each answer).
    changed: Notify,
}

#[derive(Debug)]
struct State {
    /// Requests allowed in flight now, 1..=max.
    window: usize,
    in_flight: usize,
    /// Answers without an overload signal since the window last changed.
    coping: usize,
    /// No request starts before this (server clock).
    paused_until: Millis,
}

impl Congestion {
    /// A window of `max` (a receiver is assumed to cope until it says otherwise).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            max,
            state: Mutex::new(State {
                window: max,
                in_flight: 0,
                coping: 0,
                paused_until: Millis::MIN,
            }),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The requests it may have in flight now.
    pub fn window(&self) -> usize {
        self.state().window
    }

    /// When the pause ends, if one runs at `now`.
    pub fn paused_at(&self, now: Millis) -> Option<Millis> {
        let until = self.state().paused_until;
        (until > now).then_some(until)
    }

    /// Pauses until `until` (a later pause already set stays).
    pub fn pause_until(&self, until: Millis) {
        let mut state = self.state();
        state.paused_until = state.paused_until.max(until);
    }

    /// Waits for a free slot in the window.
    pub async fn slot(self: &Arc<Self>) -> Slot {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so a slot freed in between is not missed.
            changed.as_mut().enable();
            {
                let mut state = self.state();
                if state.in_flight < state.window {
                    state.in_flight += 1;
                    return Slot {
                        congestion: self.clone(),
                    };
                }
            }
            changed.await;
        }
    }

    /// What an answer does to the window.
    fn answered(&self, load: Load) {
        let mut state = self.state();
        match load {
            Load::Coping => {
                state.coping += 1;
                if state.coping >= state.window && state.window < self.max {
                    state.window += 1;
                    state.coping = 0;
                    drop(state);
                    self.changed.notify_one();
                }
            }
            Load::Overloaded { .. } => {
                state.window = (state.window / 2).max(1);
                state.coping = 0;
            }
        }
    }
}

/// A request's place in its webhook's window, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    congestion: Arc<Congestion>,
}

impl Slot {
    /// Reports the answer the slot's request got, and gives the slot back.
    pub fn answered(self, load: Load) {
        self.congestion.answered(load);
    }
}

impl Load {
    /// Until when an answer of this load at `now` pauses the webhook, given when the refused
    /// request is tried again (`None`: never, it failed for good).
    pub fn pause_until(self, now: Millis, retried_at: Option<Millis>) -> Option<Millis> {
        let Self::Overloaded { pause } = self else {
            return None;
        };
        let asked = now.saturating_add(Millis::try_from(pause.as_millis()).unwrap_or(Millis::MAX));
        retried_at.map(|retried_at| asked.min(retried_at))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.congestion.state().in_flight -= 1;
        self.congestion.changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: Option<u16>, retry_after: Option<u64>, timed_out: bool) -> Attempt {
        Attempt {
            status,
            retry_after: retry_after.map(Duration::from_secs),
            timed_out,
            ..Attempt::refused(String::new())
        }
    }

    #[test]
    fn busy_answers_and_timeouts_are_overload_signals_other_failures_are_not() {
        let overloaded = |seconds| Load::Overloaded {
            pause: Duration::from_secs(seconds),
        };
        assert_eq!(Load::of(&answer(Some(200), None, false)), Load::Coping);
        assert_eq!(Load::of(&answer(Some(500), Some(60), false)), Load::Coping);
        assert_eq!(Load::of(&answer(None, None, false)), Load::Coping);
        assert_eq!(Load::of(&answer(Some(429), None, false)), overloaded(5));
        assert_eq!(
            Load::of(&answer(Some(503), Some(30), false)),
            overloaded(30)
        );
        assert_eq!(Load::of(&answer(Some(429), Some(0), false)), overloaded(1));
        assert_eq!(
            Load::of(&answer(Some(429), Some(86_400), false)),
            overloaded(600)
        );
        assert_eq!(Load::of(&answer(None, None, true)), overloaded(5));
    }

    #[tokio::test]
    async fn overloads_halve_the_window_and_a_full_window_of_answers_widens_it_by_one() {
        let congestion = Arc::new(Congestion::new(16));
        let overloaded = Load::Overloaded {
            pause: Duration::from_secs(5),
        };
        let mut windows = Vec::new();
        for _ in 0..5 {
            congestion.slot().await.answered(overloaded);
            windows.push(congestion.window());
        }
        assert_eq!(windows, [8, 4, 2, 1, 1]);
        // One answer widens a window of one; then two, three… answers each.
        let mut answers = 0;
        while congestion.window() < 4 {
            congestion.slot().await.answered(Load::Coping);
            answers += 1;
        }
        assert_eq!(answers, 1 + 2 + 3);
    }

    #[test]
    fn a_pause_lasts_as_asked_but_never_past_the_refused_requests_retry() {
        let overloaded = Load::Overloaded {
            pause: Duration::from_secs(30),
        };
        assert_eq!(overloaded.pause_until(1_000, Some(65_000)), Some(31_000));
        assert_eq!(overloaded.pause_until(1_000, Some(6_000)), Some(6_000));
        // Failed for good: nothing waits for a retry, and a resend goes at once.
        assert_eq!(overloaded.pause_until(1_000, None), None);
        assert_eq!(Load::Coping.pause_until(1_000, Some(6_000)), None);
    }

    #[test]
    fn a_shorter_pause_does_not_cut_a_longer_one_short() {
        let congestion = Congestion::new(4);
        assert_eq!(congestion.paused_at(0), None);
        congestion.pause_until(31_000);
        congestion.pause_until(3_000);
        assert_eq!(congestion.paused_at(2_000), Some(31_000));
        assert_eq!(congestion.paused_at(31_000), None);
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_requests_than_the_window_are_in_flight() {
        let congestion = Arc::new(Congestion::new(2));
        let first = congestion.slot().await;
        let _second = congestion.slot().await;
        let third = tokio::spawn({
            let congestion = congestion.clone();
            async move { congestion.slot().await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(
            !third.is_finished(),
            "a third request started in a window of two"
        );
        drop(first);
        let _third = tokio::time::timeout(Duration::from_secs(1), third)
            .await
            .expect("the freed slot goes to the waiting request")
            .expect("the task");
    }
}
