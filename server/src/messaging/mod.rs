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

pub use self::worker::{MessageWorker, MessagingSettings, ROUNDS_UNDER_WAY};

/// What the API says about sending as the server was started.
#[derive(Debug, Clone)]
pub struct MessagingSetup {
    /// `--email-attribute`: the email channel's default address attribute.
    pub email_attribute: String,
    /// Whether `--smtp-url` was given, so emails go out.
    pub smtp: bool,
}
