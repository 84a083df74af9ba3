//! When a request that was not accepted is tried again, as data: 5 s, 1 min, 5 min, 30 min,
//! 1 h, 2 h, 4 h, then every 4 h, each with up to 10 % jitter so that retries of many
//! deliveries spread out, until the webhook's retry window (12 h by default) has passed since
//! the first attempt. A receiver's `Retry-After` moves the next attempt within a band: no
//! sooner than the schedule's delay and no later than twice it (as Svix does), so `Retry-After:
//! 0` cannot make a receiver be hit back to back, nor a huge value park a delivery forever.

use std::time::Duration;

use crate::clock::Millis;

pub const BACKOFF: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(2 * 60 * 60),
    Duration::from_secs(4 * 60 * 60),
];

/// What the receiver's answer means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Accepted,
    /// Not accepted, try again (at `retry_after` if the receiver asked for a time).
    Retry { retry_after: Option<Duration> },
    /// 410 Gone: the receiver says this endpoint will never accept; stop and disable it.
    Gone,
}

/// Classifies an attempt: a status code, or none when the request failed (timeout, refused
/// connection, reset, refused by the SSRF guard …).
pub fn verdict(status: Option<u16>, retry_after: Option<Duration>) -> Verdict {
    match status {
        Some(200..=299) => Verdict::Accepted,
        Some(410) => Verdict::Gone,
        // Only these two statuses carry a Retry-After the receiver means for us.
        Some(429 | 503) => Verdict::Retry { retry_after },
        _ => Verdict::Retry { retry_after: None },
    }
}

/// When to try again after `attempts` failed attempts, or `None` when the window is over.
/// `jitter` in [0, 1) picks where in the 10 % band the delay falls.
pub fn next_attempt(
    attempts: u32,
    now: Millis,
    window_started_at: Millis,
    window: Duration,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Option<Millis> {
    let base = BACKOFF[(attempts.saturating_sub(1) as usize).min(BACKOFF.len() - 1)];
    let scheduled = base.mul_f64(1.0 + 0.1 * jitter.clamp(0.0, 1.0));
    let delay = match retry_after {
        Some(asked) => asked.clamp(scheduled, scheduled.saturating_mul(2)),
        None => scheduled,
    };
    // Saturating: a window of any length (a user's number) cannot wrap into the past.
    let at = now.saturating_add(millis(delay));
    let window_ends = window_started_at.saturating_add(millis(window));
    (at <= window_ends).then_some(at)
}

fn millis(duration: Duration) -> Millis {
    Millis::try_from(duration.as_millis()).unwrap_or(Millis::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Millis = 3_600_000;
    const WINDOW: Duration = Duration::from_secs(12 * 60 * 60);

    #[test]
    fn statuses_map_to_verdicts() {
        assert_eq!(verdict(Some(200), None), Verdict::Accepted);
        assert_eq!(verdict(Some(204), None), Verdict::Accepted);
        assert_eq!(verdict(Some(410), None), Verdict::Gone);
        let asked = Some(Duration::from_secs(30));
        assert_eq!(
            verdict(Some(429), asked),
            Verdict::Retry { retry_after: asked }
        );
        assert_eq!(
            verdict(Some(503), asked),
            Verdict::Retry { retry_after: asked }
        );
        assert_eq!(
            verdict(Some(500), asked),
            Verdict::Retry { retry_after: None }
        );
        assert_eq!(
            verdict(Some(301), None),
            Verdict::Retry { retry_after: None }
        );
        assert_eq!(verdict(None, None), Verdict::Retry { retry_after: None });
    }

    #[test]
    fn the_schedule_backs_off_then_repeats_every_four_hours() {
        let delays: Vec<Millis> = (1..=9)
            .map(|attempts| next_attempt(attempts, 0, 0, Duration::MAX, None, 0.0).expect("within"))
            .collect();
        assert_eq!(
            delays,
            vec![
                5_000,
                60_000,
                300_000,
                1_800_000,
                HOUR,
                2 * HOUR,
                4 * HOUR,
                4 * HOUR,
                4 * HOUR
            ]
        );
        let jittered = next_attempt(1, 0, 0, WINDOW, None, 0.999).expect("within");
        assert!((5_000..=5_500).contains(&jittered), "{jittered}");
    }

    #[test]
    fn retry_after_is_honoured_inside_the_window_only() {
        // After the fourth attempt the schedule waits 30 min: 45 min is inside its band.
        let asked = Some(Duration::from_secs(45 * 60));
        assert_eq!(
            next_attempt(4, 1_000, 0, WINDOW, asked, 0.0),
            Some(1_000 + 45 * 60_000)
        );
        let late = 12 * HOUR - 60_000;
        assert_eq!(next_attempt(4, late, 0, WINDOW, asked, 0.0), None);
    }

    #[test]
    fn retry_after_stays_between_the_scheduled_delay_and_twice_it() {
        let asked = |seconds| Some(Duration::from_secs(seconds));
        // Retry-After: 0 waits the schedule's 5 s, not nothing.
        assert_eq!(next_attempt(1, 0, 0, WINDOW, asked(0), 0.0), Some(5_000));
        // An hour asked after the first attempt: twice the schedule's delay.
        assert_eq!(
            next_attempt(1, 0, 0, WINDOW, asked(3_600), 0.0),
            Some(10_000)
        );
        // The largest value a header can carry neither overflows nor parks the delivery.
        assert_eq!(
            next_attempt(1, 0, 0, WINDOW, asked(u64::MAX), 0.0),
            Some(10_000)
        );
        assert_eq!(
            next_attempt(1, 0, 0, WINDOW, Some(Duration::MAX), 0.999),
            Some(10_999)
        );
    }

    #[test]
    fn time_arithmetic_saturates_instead_of_wrapping() {
        let late = Millis::MAX - 1_000;
        assert_eq!(
            next_attempt(1, late, late, Duration::MAX, None, 0.0),
            Some(Millis::MAX)
        );
        assert_eq!(next_attempt(1, late, 0, WINDOW, None, 0.0), None);
    }

    #[test]
    fn the_window_closes_twelve_hours_after_the_first_attempt() {
        // After 1 h, 2 h and two 4 h waits, 11 h 36 min have passed; the next 4 h wait would
        // end past 12 h, so the delivery fails instead.
        let now = 11 * HOUR + 36 * 60_000;
        assert_eq!(next_attempt(9, now, 0, WINDOW, None, 0.0), None);
        assert_eq!(
            next_attempt(1, now, 0, WINDOW, None, 0.0),
            Some(now + 5_000)
        );
    }
}
