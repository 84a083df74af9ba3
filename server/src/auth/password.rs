//! Operators' passwords: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane: the
//! `argon2` crate's defaults), in the PHC string format so parameters can change later
//! without invalidating stored hashes.

use std::sync::OnceLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::CryptoRngCore},
};

/// Shortest password accepted: long passphrases beat composition rules (NIST SP 800-63B).
pub const MIN_LENGTH: usize = 12;
/// Longest: hashing is cheap in length, but nobody types more and a bound keeps it so.
pub const MAX_LENGTH: usize = 1024;

/// Why a password cannot be used; the message says what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefused {
    #[error("the password must be at least {MIN_LENGTH} characters long; a few words make one")]
    TooShort,
    #[error("the password must be at most {MAX_LENGTH} characters long")]
    TooLong,
}

pub fn check_policy(password: &str) -> Result<(), PasswordRefused> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        Err(PasswordRefused::TooShort)
    } else if length > MAX_LENGTH {
        Err(PasswordRefused::TooLong)
    } else {
        Ok(())
    }
}

/// The PHC string of `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRandom);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
}

/// Whether `password` matches the PHC string `stored`; a malformed `stored` matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Spends the time of a verification when there is no account to verify against, so that a
/// sign-in with an unknown email takes as long as one with a wrong password (no account
/// enumeration by timing).
pub fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not anyone's password").unwrap_or_default());
    let _ = verify(password, dummy);
}

/// A password to hand over once (printed by the CLI, shown after a reset): 20 characters from
/// an alphabet without look-alikes, about 100 bits.
pub fn one_time() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    super::token::random_text(20, ALPHABET)
}

/// The operating system's random numbers, for argon2's salt (getrandom is already here; the
/// crate's own `rand` feature would bring a second copy of it).
struct OsRandom;

impl argon2::password_hash::rand_core::RngCore for OsRandom {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, destination: &mut [u8]) {
        #[expect(
            clippy::expect_used,
            reason = "a machine without randomness cannot run this"
        )]
        getrandom::fill(destination).expect("the operating system's random number generator");
    }

    fn try_fill_bytes(
        &mut self,
        destination: &mut [u8],
    ) -> Result<(), argon2::password_hash::rand_core::Error> {
        self.fill_bytes(destination);
        Ok(())
    }
}

impl argon2::password_hash::rand_core::CryptoRng for OsRandom {}

const _: fn() = || {
    fn is_crypto<T: CryptoRngCore>() {}
    is_crypto::<OsRandom>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").expect("a hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterY", &stored));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_ne!(
            stored,
            hash("correct horse battery").expect("a hash"),
            "salted"
        );
    }

    #[test]
    fn the_policy_counts_characters() {
        assert_eq!(check_policy("short"), Err(PasswordRefused::TooShort));
        assert_eq!(check_policy("ééééééééééé"), Err(PasswordRefused::TooShort));
        assert_eq!(check_policy("éééééééééééé"), Ok(()));
        assert_eq!(
            check_policy(&"x".repeat(1025)),
            Err(PasswordRefused::TooLong)
        );
        let generated = one_time().expect("random");
        assert_eq!(generated.len(), 20);
        assert_eq!(check_policy(&generated), Ok(()));
    }
}
