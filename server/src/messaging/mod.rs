//! Messages action nodes send: templates rendered for each contact ([`compose`]), emails out
//! through SMTP ([`email`]), links that report opens, clicks and unsubscribes ([`tracking`]),
//! and the worker that sends what the engine queues ([`worker`]).

pub mod compose;
pub mod email;
pub mod tracking;
pub mod worker;

pub use self::worker::{MessageWorker, MessagingSettings};
