//! Errors that stop the server from starting or running. Each message names what is wrong and
//! what to do about it, because it is the one line an operator sees before the process exits.

use std::{io, net::SocketAddr, path::PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid --database-url {url}: {reason}. {hint}")]
    DatabaseUrl {
        url: String,
        reason: String,
        hint: &'static str,
    },

    #[error("cannot open database {url}: {reason}. {hint}")]
    DatabaseOpen {
        url: String,
        reason: String,
        hint: &'static str,
    },

    #[error("cannot bring the database schema up to date: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),

    #[error("cannot take over the deliveries of the previous process: {0}")]
    TakeOver(#[source] sqlx::Error),

    #[error("cannot listen on {addr}: {reason}. {hint}")]
    Listen {
        addr: SocketAddr,
        reason: String,
        hint: &'static str,
    },

    #[error("cannot set up the HTTP client for webhooks: {0}")]
    Http(#[source] reqwest::Error),

    #[error(
        "cannot set up alert emails: the SMTP URL cannot be used ({0}); write it like \
         smtp://user:password@host:587?tls=required"
    )]
    SmtpUrl(String),

    #[error(
        "cannot set up alert emails: the sender {0:?} is not an address; write it like \
         \"Wayfarer <ops@example.com>\""
    )]
    AlertFrom(String),

    #[error(
        "--insecure-no-auth lets anyone in as an admin, so it works on a loopback address only \
         (--listen {0}); sign in with an operator instead (wayfarer admin create-operator)"
    )]
    InsecureBeyondLoopback(std::net::SocketAddr),

    #[error(
        "--role {0} splits the work between processes on one PostgreSQL database; a SQLite file \
         has one process, which does everything: leave --role out (all)"
    )]
    RoleNeedsPostgres(crate::config::ProcessRole),

    #[error("{0}")]
    Admin(String),

    #[error("{0}")]
    SecretKey(#[from] crate::secret_key::SecretKeyError),

    #[error(
        "with PostgreSQL, give --secret-key-file (WAYFARER_SECRET_KEY_FILE): the key webhook \
         secrets are sealed with, the same file for every process on the database (created if \
         missing)"
    )]
    SecretKeyFileRequired,

    #[error("cannot seal the stored webhook secrets: {0}")]
    Reseal(#[source] sqlx::Error),

    #[error(
        "the secret key file {path} does not exist, and this database's secrets are sealed with \
         key {key_id}: copy there the key file the other processes on this database use (a new \
         key could open none of them)"
    )]
    SecretKeyFileMissing { path: PathBuf, key_id: String },

    #[error(
        "this database's secrets are sealed with key {key_id}, which the secret key file {path} \
         does not hold: give this process the key file the other processes on this database use"
    )]
    SecretKeyNotHeld { path: PathBuf, key_id: String },

    #[error("HTTP server stopped: {0}")]
    Serve(#[source] io::Error),
}

impl Error {
    pub(crate) fn listen(addr: SocketAddr, error: io::Error) -> Self {
        let hint = match error.kind() {
            io::ErrorKind::AddrInUse => {
                "Another process uses this port: stop it, or pass another address with --listen \
                 (or WAYFARER_LISTEN)"
            }
            io::ErrorKind::PermissionDenied => {
                "Ports below 1024 need extra privileges: pick a port above 1024 with --listen"
            }
            io::ErrorKind::AddrNotAvailable => {
                "This machine has no such address: use 127.0.0.1 or 0.0.0.0 in --listen"
            }
            _ => "Check the --listen address",
        };
        Self::Listen {
            addr,
            reason: describe_io_error(&error),
            hint,
        }
    }
}

/// `io::Error`'s Display adds "(os error 98)"; the kind's own words read better in one line.
pub(crate) fn describe_io_error(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::AddrInUse => "address already in use".to_owned(),
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}
