//! Command-line and environment configuration, parsed once at start and passed on as a value.

use std::{net::SocketAddr, path::PathBuf};

use app::api::{Role, Scope};
use clap::{Parser, Subcommand, ValueEnum};

use crate::delivery::guard::Network;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "wayfarer",
    version,
    about = "Journey orchestration engine with a visual editor"
)]
pub struct Config {
    /// Database to use: `sqlite://path/to/file.db?mode=rwc` (created if missing) or
    /// `postgres://user:password@host:port/database`.
    #[arg(
        long,
        global = true,
        env = "WAYFARER_DATABASE_URL",
        default_value = "sqlite://wayfarer.db?mode=rwc"
    )]
    pub database_url: String,

    /// The key webhook secrets are sealed with at rest (one base64 key per line; the first
    /// seals). Created, readable by its owner alone, if missing. With SQLite it defaults to
    /// `wayfarer-secret.key` beside the database file; with PostgreSQL give it, the same file to
    /// every process. Back it up apart from the database: without it the secrets are lost.
    #[arg(long, global = true, env = "WAYFARER_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// What this process does: `all` (the default); `web`, the HTTP API and pages, storing
    /// events for the workers to match; `worker`, the engine, webhook and message delivery,
    /// alerts and pruning, answering HTTP with health and metrics only. Web and worker
    /// processes share one PostgreSQL database and scale apart.
    #[arg(long, env = "WAYFARER_ROLE", value_enum, default_value_t = ProcessRole::All)]
    pub role: ProcessRole,

    /// Address and port the HTTP server listens on.
    #[arg(long, env = "WAYFARER_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// The address people and browsers reach this server by, e.g.
    /// `https://journeys.example.com`: requests naming another host than this one or a loopback
    /// name are refused (421), as are writes a page of another site sends (403). Without it,
    /// only loopback names are answered.
    #[arg(long, env = "WAYFARER_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,

    /// A second address that serves `GET /metrics` to anyone who reaches it, for a Prometheus
    /// inside the network (e.g. `10.0.0.5:9464`). Without it the metrics are at
    /// `/api/v1/metrics`, for a key with the `metrics:read` scope.
    #[arg(long, env = "WAYFARER_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Folder with the compiled browser bundle (`pkg/wayfarer.js`, `.wasm`, `.css`) that
    /// `cargo leptos build` writes.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// How often the engine looks for due work when idle, in milliseconds (new events wake it
    /// at once, and it sleeps no longer than until the next timer it knows of).
    #[arg(long, env = "WAYFARER_ENGINE_POLL_MS", default_value_t = 250)]
    pub engine_poll_ms: u64,

    /// How many events or contacts the engine handles in one transaction.
    #[arg(long, env = "WAYFARER_ENGINE_BATCH", default_value_t = 500,
          value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub engine_batch: i64,

    /// Lets webhooks reach loopback, private, link-local and other reserved addresses. Off by
    /// default so that a webhook URL cannot be used to probe the server's own network.
    #[arg(long, env = "WAYFARER_ALLOW_PRIVATE_TARGETS")]
    pub allow_private_targets: bool,

    /// A private or reserved network webhooks may reach all the same, in CIDR notation
    /// (`10.20.0.0/16`, `fd00::/8`, or one address); repeat the flag or separate with commas.
    #[arg(
        long = "allow-target-network",
        env = "WAYFARER_ALLOW_TARGET_NETWORKS",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub allowed_target_networks: Vec<Network>,

    /// Where emails go out (action nodes' messages and webhook alerts): `smtp://host:25`
    /// (plain), `smtp://user:password@host:587?tls=required` (STARTTLS) or `smtps://host:465`.
    /// Without it, email action nodes record their messages as skipped and alerts are not sent.
    #[arg(long, env = "WAYFARER_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// The contact attribute that holds a contact's email address.
    #[arg(long, env = "WAYFARER_EMAIL_ATTRIBUTE", default_value = "email")]
    pub email_attribute: String,

    /// The sender of alert emails.
    #[arg(
        long,
        env = "WAYFARER_ALERT_FROM",
        default_value = "Wayfarer <wayfarer@localhost>"
    )]
    pub alert_from: String,

    /// Seconds a webhook receiver has to connect and answer.
    #[arg(long, env = "WAYFARER_DELIVERY_TIMEOUT_SECS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub delivery_timeout_secs: u64,

    /// Webhook requests one delivery batch takes at most.
    #[arg(long, env = "WAYFARER_DELIVERY_BATCH", default_value_t = 512,
          value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub delivery_batch: i64,

    /// Messages (email, SMS, push…) one round of the message worker takes at most.
    #[arg(long, env = "WAYFARER_MESSAGE_BATCH", default_value_t = 500,
          value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub message_batch: i64,

    /// Requests in flight to one webhook at most.
    #[arg(long, env = "WAYFARER_DELIVERY_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub delivery_concurrency: u32,

    /// HTTP connections open at once, at most; further clients wait until one closes.
    #[arg(long, env = "WAYFARER_MAX_CONNECTIONS", default_value_t = 1_024,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections: u32,

    /// Seconds a client has to send a request's headers (slow clients are disconnected).
    #[arg(long, env = "WAYFARER_HEADER_READ_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout_secs: u64,

    /// Seconds a client has to send a request's body, whole (slow clients get 408).
    #[arg(long, env = "WAYFARER_BODY_READ_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub body_read_timeout_secs: u64,

    /// Seconds that webhook requests in flight get to finish after SIGTERM or SIGINT; those
    /// still unanswered then are given back, to be sent at once by the next process.
    #[arg(long, env = "WAYFARER_SHUTDOWN_GRACE_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=300))]
    pub shutdown_grace_secs: u64,

    /// Days each webhook request attempt (with the receiver's answer) stays in the delivery
    /// log; older ones are deleted, a batch at a time, once an hour. 0 keeps them for ever.
    /// The deliveries themselves, their states and the canvas counts stay.
    #[arg(long, env = "WAYFARER_ATTEMPT_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub attempt_retention_days: u32,

    /// Lets anyone who reaches the server in as an admin, without signing in: for a demo on
    /// this machine only. Refused unless --listen is a loopback address; the UI shows a banner.
    #[arg(long, env = "WAYFARER_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,

    /// Events per second one API key may send, sustained (0: no limit); more is refused with
    /// 429 and `Retry-After`. Each process counts its own.
    #[arg(long, env = "WAYFARER_INGEST_RATE_PER_KEY", default_value_t = 10_000)]
    pub ingest_rate_per_key: u32,

    /// Events one API key may send at once after being idle (at least the largest batch).
    #[arg(long, env = "WAYFARER_INGEST_BURST_PER_KEY", default_value_t = 20_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub ingest_burst_per_key: u32,

    /// Minutes a signed-in session may go unused before it ends.
    #[arg(long, env = "WAYFARER_SESSION_IDLE_MINUTES", default_value_t = 720,
          value_parser = clap::value_parser!(u64).range(1..=43_200))]
    pub session_idle_minutes: u64,

    /// Hours after sign-in that a session ends, used or not.
    #[arg(long, env = "WAYFARER_SESSION_LIFETIME_HOURS", default_value_t = 168,
          value_parser = clap::value_parser!(u64).range(1..=8_760))]
    pub session_lifetime_hours: u64,

    /// Which log lines to print, as `level` or `target=level` pairs (e.g. `info,sqlx=warn`).
    #[arg(long, env = "WAYFARER_LOG", default_value = "info,sqlx=warn")]
    pub log: String,

    /// Log line format: human-readable text or one JSON object per line.
    #[arg(long, env = "WAYFARER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Without a command, the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Administration on the database named by --database-url (the server may be running).
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Creates an operator who can sign in. Prints a one-time password, to be changed at the
    /// first sign-in, unless --password-stdin reads one.
    CreateOperator {
        #[arg(long)]
        email: String,
        /// admin, editor or viewer.
        #[arg(long, default_value = "admin", value_parser = parse_word::<Role>)]
        role: Role,
        /// Reads the password from the first line of standard input instead.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Seals every webhook secret under a new key: the key file gets a new first line, every
    /// secret is re-sealed in one transaction, then the old keys are dropped from the file.
    /// Stop the servers first (they hold the old key); start them with the same file after.
    RotateSecretKey,
    /// Creates an API key and prints it (it is shown once; only its hash is kept).
    CreateApiKey {
        #[arg(long)]
        name: String,
        /// A scope (events:write, contacts:read, contacts:write, journeys:read,
        /// journeys:write, webhooks:read, webhooks:write, templates:read, templates:write,
        /// deliveries:read, deliveries:write, metrics:read, admin); repeat the flag or
        /// separate with commas.
        #[arg(long = "scope", required = true, value_delimiter = ',', value_parser = parse_word::<Scope>)]
        scopes: Vec<Scope>,
        /// Days until the key stops working; never without it.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=36_500))]
        expires_in_days: Option<u64>,
    },
}

fn parse_word<T: std::str::FromStr<Err = app::text_enum::UnknownWord>>(
    text: &str,
) -> Result<T, String> {
    text.parse()
        .map_err(|error: app::text_enum::UnknownWord| error.to_string())
}

fn parse_public_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|error| format!("not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(
            "write it like https://journeys.example.com (http or https, with a host)".into(),
        );
    }
    if url.path() != "/" || url.query().is_some() {
        return Err("give the scheme, host and port only; Wayfarer is served at the root".into());
    }
    Ok(url)
}

/// What a server process runs (`--role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProcessRole {
    /// HTTP, the engine and every worker.
    All,
    /// HTTP: the API and the pages; events are stored for the workers to match.
    Web,
    /// The engine and every worker; HTTP answers health and metrics only.
    Worker,
}

impl ProcessRole {
    pub fn serves_api(self) -> bool {
        self != Self::Worker
    }

    pub fn works(self) -> bool {
        self != Self::Web
    }
}

impl std::fmt::Display for ProcessRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::All => "all",
            Self::Web => "web",
            Self::Worker => "worker",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// The configuration tests start from: an ephemeral loopback port and the given database.
    pub fn for_tests(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            role: ProcessRole::All,
            site_root: PathBuf::from("target/site"),
            public_url: None,
            metrics_listen: None,
            engine_poll_ms: 10,
            engine_batch: 500,
            // Tests send to receivers on 127.0.0.1.
            allow_private_targets: true,
            allowed_target_networks: Vec::new(),
            smtp_url: None,
            email_attribute: "email".to_owned(),
            alert_from: "Wayfarer <wayfarer@localhost>".to_owned(),
            delivery_timeout_secs: 15,
            delivery_batch: 512,
            message_batch: 500,
            delivery_concurrency: 16,
            shutdown_grace_secs: 10,
            attempt_retention_days: 30,
            max_connections: 1_024,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            log: "warn".to_owned(),
            log_format: LogFormat::Text,
            insecure_no_auth: false,
            secret_key_file: None,
            ingest_rate_per_key: 10_000,
            ingest_burst_per_key: 20_000,
            session_idle_minutes: 720,
            session_lifetime_hours: 168,
            command: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_locally_from_a_sqlite_file() {
        let config = Config::try_parse_from(["wayfarer"]).expect("defaults parse");
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 3000)));
        assert_eq!(config.database_url, "sqlite://wayfarer.db?mode=rwc");
    }

    #[test]
    fn an_invalid_listen_address_is_rejected_with_the_flag_name() {
        let error = Config::try_parse_from(["wayfarer", "--listen", "localhost"])
            .expect_err("a host without a port is not a socket address");
        assert!(error.to_string().contains("--listen"), "{error}");
    }
}
