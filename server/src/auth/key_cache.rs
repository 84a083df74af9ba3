//! API keys recently looked up, so that an integration posting thousands of events a second
//! costs the database one read a second instead of one per request.
//!
//! Only keys that exist are kept (a flood of made-up keys cannot fill it), each for
//! [`FRESH_FOR`]. Revoking a key through this process forgets it at once; another process on
//! the same PostgreSQL database stops accepting it within [`FRESH_FOR`].

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{clock::Millis, store::ApiKeyRow};

pub const FRESH_FOR: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct KeyCache {
    /// By the key's fingerprint.
    keys: Mutex<HashMap<String, (ApiKeyRow, Instant)>>,
}

impl KeyCache {
    /// The key's row if it was read less than [`FRESH_FOR`] ago.
    pub fn get(&self, fingerprint: &str) -> Option<ApiKeyRow> {
        let keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.get(fingerprint)
            .filter(|(_, read_at)| read_at.elapsed() < FRESH_FOR)
            .map(|(row, _)| row.clone())
    }

    pub fn put(&self, fingerprint: String, row: ApiKeyRow) {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Stale entries go when the map has grown past the keys in use.
        if keys.len() >= 1_024 {
            keys.retain(|_, (_, read_at)| read_at.elapsed() < FRESH_FOR);
        }
        keys.insert(fingerprint, (row, Instant::now()));
    }

    /// Notes that the key was used at `at`, as the database now says.
    pub fn touched(&self, fingerprint: &str, at: Millis) {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((row, _)) = keys.get_mut(fingerprint) {
            row.last_used_at = Some(at);
        }
    }

    /// Forgets every key (one was revoked).
    pub fn clear(&self) {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> ApiKeyRow {
        ApiKeyRow {
            id: app::ids::ApiKeyId(id),
            name: "k".to_owned(),
            prefix: "wf_abc".to_owned(),
            scopes: "events:write".to_owned(),
            created_by: None,
            creator_email: None,
            created_at: 0,
            last_used_at: None,
            expires_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn a_key_is_served_from_memory_until_it_is_stale_or_forgotten() {
        let cache = KeyCache::default();
        assert!(cache.get("f").is_none());
        cache.put("f".to_owned(), row(1));
        assert_eq!(
            cache.get("f").map(|row| row.id),
            Some(app::ids::ApiKeyId(1))
        );
        cache.touched("f", 42);
        assert_eq!(cache.get("f").and_then(|row| row.last_used_at), Some(42));
        cache.clear();
        assert!(cache.get("f").is_none());

        cache.put("g".to_owned(), row(2));
        cache.keys.lock().expect("keys").get_mut("g").expect("g").1 -= FRESH_FOR;
        assert!(cache.get("g").is_none(), "a stale entry is read again");
    }
}
