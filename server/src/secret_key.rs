//! Secrets at rest: webhook credentials and signing secrets are stored sealed with
//! XChaCha20-Poly1305 (the RustCrypto implementation) under a key kept outside the database,
//! in `--secret-key-file`. A copy of the database alone reveals none of them.
//!
//! The key file holds one key per line (32 bytes, base64); the first seals, all of them open,
//! so a rotation can re-seal every row before the old key is dropped. A sealed value is
//! `wfenc1:<key id>:<base64 of nonce and ciphertext>`, its column name bound in as associated
//! data (a sealed password cannot be moved into the signing secret's column). A value without
//! that prefix was stored before sealing existed and reads as it is; the server seals such
//! values at start.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use sha2::{Digest, Sha256};

const PREFIX: &str = "wfenc1:";
const KEY_LENGTH: usize = 32;
const NONCE_LENGTH: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error(
        "cannot read the secret key file {path}: {reason}. It holds the key webhook secrets are \
         sealed with; point --secret-key-file at it (without it they cannot be read)"
    )]
    Read { path: PathBuf, reason: String },
    #[error("cannot create the secret key file {path}: {reason}")]
    Create { path: PathBuf, reason: String },
    #[error(
        "the secret key file {path} has no valid key on line {line}: each line must be 32 random \
         bytes in base64 (e.g. `openssl rand -base64 32`)"
    )]
    Malformed { path: PathBuf, line: usize },
    #[error(
        "a stored secret was sealed with key {key_id}, which the secret key file does not hold: \
         start the server with the key file it was sealed with"
    )]
    UnknownKey { key_id: String },
    #[error("a stored secret cannot be opened: it is damaged, or was sealed for another field")]
    Damaged,
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
}

struct Key {
    /// The first 8 hex digits of the key's SHA-256: names it in sealed values.
    id: String,
    cipher: XChaCha20Poly1305,
    /// A key of its own for signing links (tracking, unsubscribe), derived so that no MAC is
    /// ever made with the sealing key itself.
    link_key: [u8; 32],
}

/// The keys of a secret key file; the first seals.
pub struct KeyRing {
    keys: Vec<Key>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|key| key.id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

impl KeyRing {
    /// The keys written in a key file's text.
    pub fn parse(path: &Path, text: &str) -> Result<Self, SecretKeyError> {
        let mut keys = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let malformed = || SecretKeyError::Malformed {
                path: path.to_owned(),
                line: number + 1,
            };
            let bytes = STANDARD.decode(line).map_err(|_| malformed())?;
            let bytes: [u8; KEY_LENGTH] = bytes.try_into().map_err(|_| malformed())?;
            keys.push(Key::new(&bytes));
        }
        if keys.is_empty() {
            return Err(SecretKeyError::Malformed {
                path: path.to_owned(),
                line: 1,
            });
        }
        Ok(Self { keys })
    }

    /// Reads the key file, creating it (readable by its owner alone) with a new key if it does
    /// not exist.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), SecretKeyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::parse(path, &text)?, false)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let text = new_key_line()?;
                write_new_file(path, &text)?;
                // Another process may have created it first: whatever is there now wins.
                let text = std::fs::read_to_string(path).map_err(|error| SecretKeyError::Read {
                    path: path.to_owned(),
                    reason: error.to_string(),
                })?;
                Ok((Self::parse(path, &text)?, true))
            }
            Err(error) => Err(SecretKeyError::Read {
                path: path.to_owned(),
                reason: error.to_string(),
            }),
        }
    }

    /// A ring with one new random key, for a database that lives in memory only.
    pub fn ephemeral() -> Result<Self, SecretKeyError> {
        let mut bytes = [0u8; KEY_LENGTH];
        getrandom::fill(&mut bytes).map_err(|error| SecretKeyError::Random(error.to_string()))?;
        Ok(Self {
            keys: vec![Key::new(&bytes)],
        })
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// The ids of every key of the ring, the one that seals first.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|key| key.id.clone()).collect()
    }

    /// `plain` sealed for the column `field`.
    pub fn seal(&self, field: &str, plain: &str) -> Result<String, SecretKeyError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LENGTH];
        getrandom::fill(&mut nonce).map_err(|error| SecretKeyError::Random(error.to_string()))?;
        let sealed = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: field.as_bytes(),
                },
            )
            .map_err(|_| SecretKeyError::Damaged)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}:{}",
            key.id,
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// The plain text of a stored value of the column `field`; a value stored before sealing
    /// (no prefix) is returned as it is.
    pub fn open(&self, field: &str, stored: &str) -> Result<String, SecretKeyError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let (key_id, sealed) = rest.split_once(':').ok_or(SecretKeyError::Damaged)?;
        let key = self
            .keys
            .iter()
            .find(|key| key.id == key_id)
            .ok_or_else(|| SecretKeyError::UnknownKey {
                key_id: key_id.to_owned(),
            })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SecretKeyError::Damaged)?;
        if bytes.len() < NONCE_LENGTH {
            return Err(SecretKeyError::Damaged);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LENGTH);
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: field.as_bytes(),
                },
            )
            .map_err(|_| SecretKeyError::Damaged)?;
        String::from_utf8(plain).map_err(|_| SecretKeyError::Damaged)
    }

    /// The keys links are signed with: the first signs, every one verifies (so links sent
    /// before a key rotation keep working while the old key stays in the file).
    pub fn link_keys(&self) -> Vec<[u8; 32]> {
        self.keys.iter().map(|key| key.link_key).collect()
    }

    /// Whether `stored` is sealed with the key that seals now (so it needs no re-sealing).
    pub fn is_sealed_with_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(key_id, _)| key_id == self.current_id())
    }
}

impl Key {
    fn new(bytes: &[u8; KEY_LENGTH]) -> Self {
        let digest = Sha256::digest(bytes);
        Self {
            id: digest[..4]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect(),
            cipher: XChaCha20Poly1305::new(bytes.into()),
            link_key: Sha256::new()
                .chain_update(b"wayfarer link signing key\0")
                .chain_update(bytes)
                .finalize()
                .into(),
        }
    }
}

/// A new key as a key file line.
pub fn new_key_line() -> Result<String, SecretKeyError> {
    let mut bytes = [0u8; KEY_LENGTH];
    getrandom::fill(&mut bytes).map_err(|error| SecretKeyError::Random(error.to_string()))?;
    Ok(format!("{}\n", STANDARD.encode(bytes)))
}

/// Writes a key file that must not exist yet, readable and writable by its owner alone.
fn write_new_file(path: &Path, text: &str) -> Result<(), SecretKeyError> {
    use std::os::unix::fs::OpenOptionsExt as _;

    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let mut file = match created {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(error) => {
            return Err(SecretKeyError::Create {
                path: path.to_owned(),
                reason: error.to_string(),
            });
        }
    };
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| SecretKeyError::Create {
            path: path.to_owned(),
            reason: error.to_string(),
        })
}

/// Replaces the key file's content at once (a new file renamed over it), owner-only.
pub fn replace_file(path: &Path, text: &str) -> Result<(), SecretKeyError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let _ = std::fs::remove_file(&temporary);
    write_new_file(&temporary, text)?;
    std::fs::rename(&temporary, path).map_err(|error| SecretKeyError::Create {
        path: path.to_owned(),
        reason: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(lines: &str) -> KeyRing {
        KeyRing::parse(Path::new("test.key"), lines).expect("a key ring")
    }

    #[test]
    fn a_sealed_value_opens_for_its_field_only() {
        let keys = ring(&new_key_line().expect("random"));
        let sealed = keys.seal("auth_secret", "hunter2").expect("sealed");
        assert!(sealed.starts_with("wfenc1:"), "{sealed}");
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            keys.seal("auth_secret", "hunter2").expect("sealed"),
            "a fresh nonce"
        );
        assert_eq!(
            keys.open("auth_secret", &sealed).expect("opened"),
            "hunter2"
        );
        assert!(matches!(
            keys.open("signing_secret", &sealed),
            Err(SecretKeyError::Damaged)
        ));
        assert_eq!(
            keys.open("auth_secret", "plain from before")
                .expect("as is"),
            "plain from before"
        );
        // A different last character (one run in 64 ended in 'A' already and "tampered"
        // with nothing).
        let mut tampered = sealed.clone();
        let last = tampered.pop();
        tampered.push(if last == Some('A') { 'B' } else { 'A' });
        assert!(keys.open("auth_secret", &tampered).is_err());
    }

    #[test]
    fn every_key_of_the_file_opens_and_the_first_seals() {
        let old_line = new_key_line().expect("random");
        let old = ring(&old_line);
        let sealed_before = old.seal("f", "secret").expect("sealed");
        let rotated = ring(&format!("{}{old_line}", new_key_line().expect("random")));
        assert_eq!(rotated.open("f", &sealed_before).expect("opened"), "secret");
        assert!(!rotated.is_sealed_with_current(&sealed_before));
        let sealed_after = rotated.seal("f", "secret").expect("sealed");
        assert!(rotated.is_sealed_with_current(&sealed_after));
        assert!(matches!(
            old.open("f", &sealed_after),
            Err(SecretKeyError::UnknownKey { .. })
        ));
    }

    #[test]
    fn a_malformed_file_names_its_line() {
        let error = KeyRing::parse(Path::new("k"), "# comment\nnot base64\n").expect_err("refused");
        assert!(error.to_string().contains("line 2"), "{error}");
        assert!(KeyRing::parse(Path::new("k"), "\n").is_err());
    }

    #[test]
    fn a_missing_file_is_created_for_its_owner_alone() {
        use std::os::unix::fs::PermissionsExt as _;

        let folder = tempfile::tempdir().expect("a folder");
        let path = folder.path().join("secret.key");
        let (created, new) = KeyRing::load_or_create(&path).expect("created");
        assert!(new);
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (loaded, new) = KeyRing::load_or_create(&path).expect("loaded");
        assert!(!new);
        assert_eq!(created.current_id(), loaded.current_id());
    }
}
