//! Ingestion rate per API key: a token bucket per key, refilled at `rate` events per second up
//! to `burst`. An event costs one token (a batch costs its size); a request the bucket cannot
//! pay is refused whole, with the seconds until it could be paid. In this process's memory:
//! with several processes each holds its own buckets.

use std::{collections::HashMap, sync::Mutex};

use app::ids::ApiKeyId;

use crate::clock::Millis;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Events per second a key may sustain; 0 turns the limit off.
    pub per_second: u32,
    /// Events a key may send at once after being idle.
    pub burst: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: Millis,
}

#[derive(Debug)]
pub struct IngestLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<ApiKeyId, Bucket>>,
}

/// A request over the key's rate: it may be sent again after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverRate {
    pub retry_after_secs: u64,
}

impl IngestLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `events` tokens from the key's bucket, or none if it holds fewer.
    pub fn take(&self, key: ApiKeyId, events: u32, now: Millis) -> Result<(), OverRate> {
        if self.limit.per_second == 0 {
            return Ok(());
        }
        let rate = f64::from(self.limit.per_second) / 1000.0;
        let burst = f64::from(self.limit.burst.max(1));
        let wanted = f64::from(events);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            refilled_at: now,
        });
        #[expect(
            clippy::cast_precision_loss,
            reason = "milliseconds since the last request"
        )]
        let elapsed = (now - bucket.refilled_at).max(0) as f64;
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.refilled_at = now;
        if bucket.tokens >= wanted {
            bucket.tokens -= wanted;
            return Ok(());
        }
        // A request larger than the burst waits for a full bucket; it is never paid in part.
        let deficit = wanted.min(burst) - bucket.tokens;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a positive number of seconds, rounded up"
        )]
        let retry_after_secs = (deficit / rate / 1000.0).ceil().max(1.0) as u64;
        Err(OverRate { retry_after_secs })
    }

    /// Whether a request of `events` can ever be paid (it is not larger than the burst).
    pub fn fits(&self, events: u32) -> bool {
        self.limit.per_second == 0 || events <= self.limit.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_sends_its_burst_then_its_rate() {
        let limiter = IngestLimiter::new(RateLimit {
            per_second: 100,
            burst: 200,
        });
        let key = ApiKeyId(1);
        assert_eq!(limiter.take(key, 200, 0), Ok(()));
        assert_eq!(
            limiter.take(key, 1, 0),
            Err(OverRate {
                retry_after_secs: 1
            })
        );
        // Another key has its own bucket.
        assert_eq!(limiter.take(ApiKeyId(2), 200, 0), Ok(()));
        // 100 events/s: after 500 ms, 50 tokens.
        assert_eq!(limiter.take(key, 50, 500), Ok(()));
        assert_eq!(
            limiter.take(key, 1, 500),
            Err(OverRate {
                retry_after_secs: 1
            })
        );
        assert_eq!(
            limiter.take(key, 150, 500),
            Err(OverRate {
                retry_after_secs: 2
            })
        );
        assert!(!limiter.fits(201));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = IngestLimiter::new(RateLimit {
            per_second: 0,
            burst: 0,
        });
        assert_eq!(limiter.take(ApiKeyId(1), 1_000_000, 0), Ok(()));
        assert!(limiter.fits(u32::MAX));
    }
}
