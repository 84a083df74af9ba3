//! Brute force: after a few failed sign-ins for one account, or many from one address, sign-in
//! is refused for a while with a message saying so. Counted in this process's memory: with
//! several processes on one PostgreSQL each counts its own, so the limit is per process.

use std::{collections::HashMap, net::IpAddr, sync::Mutex};

use crate::clock::Millis;

/// Failed sign-ins for one account within [`WINDOW`] before it is locked.
pub const ACCOUNT_FAILURES: u32 = 5;
/// Failed sign-ins from one address (any accounts) within [`WINDOW`] before it is locked.
pub const ADDRESS_FAILURES: u32 = 20;
/// The window failures are counted in, and how long a lock lasts.
pub const WINDOW: Millis = 15 * 60 * 1000;
/// Entries kept before the expired ones are swept out.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    Account { retry_after_secs: u64 },
    Address { retry_after_secs: u64 },
}

impl Locked {
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Self::Account { retry_after_secs } | Self::Address { retry_after_secs } => {
                retry_after_secs
            }
        }
    }

    /// What the person signing in reads.
    pub fn message(self) -> String {
        let minutes = self.retry_after_secs().div_ceil(60);
        match self {
            Self::Account { .. } => format!(
                "too many failed sign-ins for this account: try again in {minutes} minute(s), \
                 or ask an admin to reset the password"
            ),
            Self::Address { .. } => format!(
                "too many failed sign-ins from this address: try again in {minutes} minute(s)"
            ),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Millis,
}

#[derive(Debug, Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<Subject, Failures>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Account(String),
    Address(IpAddr),
}

impl SignInThrottle {
    /// Whether a sign-in for `email` from `address` may be tried now.
    pub fn check(&self, email: &str, address: Option<IpAddr>, now: Millis) -> Result<(), Locked> {
        let failures = self.lock();
        let locked_for = |subject: &Subject, limit: u32| {
            failures.get(subject).and_then(|failed| {
                let ends = failed.since + WINDOW;
                (failed.count >= limit && ends > now)
                    .then(|| u64::try_from(ends - now).unwrap_or(0).div_ceil(1000))
            })
        };
        if let Some(retry_after_secs) =
            locked_for(&Subject::Account(email.to_owned()), ACCOUNT_FAILURES)
        {
            return Err(Locked::Account { retry_after_secs });
        }
        if let Some(address) = address
            && let Some(retry_after_secs) = locked_for(&Subject::Address(address), ADDRESS_FAILURES)
        {
            return Err(Locked::Address { retry_after_secs });
        }
        Ok(())
    }

    pub fn failed(&self, email: &str, address: Option<IpAddr>, now: Millis) {
        let mut failures = self.lock();
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, failed| failed.since + WINDOW > now);
        }
        let subjects = std::iter::once(Subject::Account(email.to_owned()))
            .chain(address.map(Subject::Address));
        for subject in subjects {
            let entry = failures.entry(subject).or_insert(Failures {
                count: 0,
                since: now,
            });
            if entry.since + WINDOW <= now {
                *entry = Failures {
                    count: 0,
                    since: now,
                };
            }
            entry.count += 1;
        }
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn succeeded(&self, email: &str) {
        self.lock().remove(&Subject::Account(email.to_owned()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Subject, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_locks_after_its_failures_and_unlocks_after_the_window() {
        let throttle = SignInThrottle::default();
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..ACCOUNT_FAILURES {
            assert_eq!(throttle.check("ana@example.com", address, 0), Ok(()));
            throttle.failed("ana@example.com", address, 0);
        }
        let locked = throttle
            .check("ana@example.com", address, 60_000)
            .expect_err("locked");
        assert_eq!(
            locked,
            Locked::Account {
                retry_after_secs: 840
            }
        );
        assert!(
            locked.message().contains("14 minute(s)"),
            "{}",
            locked.message()
        );
        assert_eq!(throttle.check("bo@example.com", address, 60_000), Ok(()));
        assert_eq!(throttle.check("ana@example.com", address, WINDOW), Ok(()));
    }

    #[test]
    fn an_address_locks_after_failures_on_many_accounts() {
        let throttle = SignInThrottle::default();
        let address = Some(IpAddr::from([10, 0, 0, 2]));
        for n in 0..ADDRESS_FAILURES {
            throttle.failed(&format!("user{n}@example.com"), address, 0);
        }
        assert!(matches!(
            throttle.check("new@example.com", address, 1),
            Err(Locked::Address { .. })
        ));
        assert_eq!(
            throttle.check("new@example.com", Some(IpAddr::from([10, 0, 0, 3])), 1),
            Ok(())
        );
    }

    #[test]
    fn success_clears_the_account() {
        let throttle = SignInThrottle::default();
        for _ in 0..ACCOUNT_FAILURES - 1 {
            throttle.failed("ana@example.com", None, 0);
        }
        throttle.succeeded("ana@example.com");
        throttle.failed("ana@example.com", None, 0);
        assert_eq!(throttle.check("ana@example.com", None, 0), Ok(()));
    }
}
