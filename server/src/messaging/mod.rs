//! Messages action nodes send: templates rendered for each contact ([`compose`]), emails out
//! through SMTP ([`email`]), texts and pushes through HTTP providers set per channel
//! ([`channel`], [`provider`]) whose reports come back as receipts ([`receipt`]), links that report opens, clicks and unsubscribes ([`tracking`]),
//! and the worker that sends what the engine queues ([`worker`]).

pub mod channel;
pub mod compose;
pub mod email;
pub mod json_path;
pub mod pacing;
pub mod presets;
pub mod provider;
pub mod receipt;
pub mod tracking;
pub mod worker;

use crate::{clock::Millis, store::Store};

pub use self::worker::{MessageWorker, MessagingSettings, ROUNDS_UNDER_WAY};

/// What the API says about sending as the server was started.
#[derive(Debug, Clone)]
pub struct MessagingSetup {
    /// `--email-attribute`: the email channel's default address attribute.
    pub email_attribute: String,
    /// Whether `--smtp-url` was given to this process.
    pub smtp: bool,
    /// Whether this process sends (`--role all`): else worker processes do, and whether
    /// they have an SMTP server is read from the database.
    pub sends: bool,
}

impl MessagingSetup {
    /// Whether emails (alerts, and email messages without a relay of their own) go out: this
    /// process's `--smtp-url` when it sends them, else whether a worker with one checked in
    /// within the last few minutes.
    pub async fn smtp_available(&self, store: &Store, now: Millis) -> sqlx::Result<bool> {
        if self.sends {
            return Ok(self.smtp);
        }
        store
            .smtp_sender_seen_since(now - SMTP_SENDER_FRESH_MS)
            .await
    }
}

/// How recently a worker must have checked in (it does every minute) to count as sending.
const SMTP_SENDER_FRESH_MS: Millis = 3 * 60 * 1_000;
