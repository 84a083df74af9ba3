//! Bearer secrets: session tokens (in a cookie) and API keys (`wf_…`). Both are random and
//! long, so a fast hash (SHA-256) is what the database keeps; a stolen database yields no
//! usable token.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

/// What an API key starts with, so that secret scanners and people recognise it.
pub const API_KEY_PREFIX: &str = "wf_";
const KEY_RANDOM_LENGTH: usize = 30;
const CHECKSUM_LENGTH: usize = 6;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `length` characters drawn uniformly from `alphabet` (at most 256 characters).
pub fn random_text(length: usize, alphabet: &[u8]) -> Result<String, getrandom::Error> {
    // Rejection sampling: bytes past the largest multiple of the alphabet's size would favour
    // its first characters.
    let limit = 256 - 256 % alphabet.len();
    let mut text = String::with_capacity(length);
    let mut bytes = [0u8; 64];
    while text.len() < length {
        getrandom::fill(&mut bytes)?;
        for &byte in &bytes {
            if usize::from(byte) < limit && text.len() < length {
                text.push(char::from(alphabet[usize::from(byte) % alphabet.len()]));
            }
        }
    }
    Ok(text)
}

/// What the database keeps of a token: its SHA-256, in hex.
pub fn fingerprint(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A new session token: 32 random bytes, URL-safe base64.
pub fn new_session_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The CSRF token of a session: derived from its token, so it needs no storage, changes with
/// every session, and cannot be computed without the `HttpOnly` cookie a page cannot read.
pub fn csrf_token(session_token: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"wayfarer csrf\0");
    digest.update(session_token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.finalize())
}

/// A new API key: `wf_`, 30 random base-62 characters (178 bits) and a 6-character CRC-32
/// checksum of them, so that a mistyped or truncated key is told apart from a revoked one
/// without a database lookup.
pub fn new_api_key() -> Result<String, getrandom::Error> {
    let random = random_text(KEY_RANDOM_LENGTH, BASE62)?;
    Ok(format!("{API_KEY_PREFIX}{random}{}", checksum(&random)))
}

/// Whether `text` has an API key's shape and a checksum that matches.
pub fn is_well_formed_api_key(text: &str) -> bool {
    let Some(rest) = text.strip_prefix(API_KEY_PREFIX) else {
        return false;
    };
    if rest.len() != KEY_RANDOM_LENGTH + CHECKSUM_LENGTH
        || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return false;
    }
    let (random, check) = rest.split_at(KEY_RANDOM_LENGTH);
    checksum(random) == check
}

/// The part of a key shown in lists to tell keys apart.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(API_KEY_PREFIX.len() + 6).collect()
}

/// CRC-32 (IEEE) of `text` in base 62, zero-padded to 6 characters.
fn checksum(text: &str) -> String {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in text.bytes() {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    let mut value = !crc;
    let mut digits = [b'0'; CHECKSUM_LENGTH];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_carry_a_checksum() {
        let key = new_api_key().expect("random");
        assert_eq!(key.len(), 3 + 30 + 6);
        assert!(is_well_formed_api_key(&key), "{key}");
        let mut mistyped = key.clone().into_bytes();
        mistyped[10] = if mistyped[10] == b'a' { b'b' } else { b'a' };
        assert!(!is_well_formed_api_key(
            &String::from_utf8(mistyped).expect("ASCII")
        ));
        assert!(!is_well_formed_api_key(&key[..key.len() - 1]));
        assert!(!is_well_formed_api_key("wf_"));
        assert_ne!(key, new_api_key().expect("random"));
        assert_eq!(display_prefix(&key), key[..9]);
    }

    #[test]
    fn the_checksum_is_crc32() {
        // CRC-32's check value: "123456789" gives 0xCBF43926, "3jZRME" in base 62.
        assert_eq!(checksum("123456789"), "3jZRME");
    }

    #[test]
    fn csrf_tokens_follow_their_session() {
        let session = new_session_token().expect("random");
        assert_eq!(session.len(), 43);
        assert_eq!(csrf_token(&session), csrf_token(&session));
        assert_ne!(csrf_token(&session), csrf_token("another"));
        assert_eq!(fingerprint("abc").len(), 64);
    }
}
