//! Persistence through one sqlx `Any` pool, so the same SQL runs on SQLite (the embedded
//! default) and PostgreSQL. Where the backends need different SQL, both variants stay side by
//! side behind one function in the module of that domain.

mod alerts;
mod api_keys;
mod audit;
mod backlog;
mod channels;
mod contacts;
mod deliveries;
mod enrollments;
mod events;
mod journeys;
pub mod listen;
mod messages;
mod operators;
mod retention;
mod sealing_key;
mod sql;
mod stats;
mod steps;
mod templates;
mod url;
mod webhook_hours;
mod webhooks;

use std::{
    future::Future,
    ops::{Deref, DerefMut},
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use sqlx::{
    Any, AnyConnection, AnyPool, Connection, Executor, Transaction,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use self::{
    alerts::{AlertEmailOutcome, AlertTrouble, AlertTurn, NewAlertEmail, QueuedAlertEmail},
    api_keys::{ApiKeyRow, NewApiKey},
    audit::{AuditRow, NewAuditEntry},
    backlog::Backlog,
    channels::ChannelRow,
    contacts::ContactRow,
    deliveries::{
        AttemptRecord, AttemptRow, BornClaimed, Cancelled, Claimant, DeliveryQuery, DeliveryRow,
        DueDelivery, LastFailure, NewDelivery, ResendProgress, ResendScope,
    },
    enrollments::{
        ContactRunRow, EnrollmentRow, Hearing, NewEnrollment, NextState, RunKey, Settled,
        Unfinished,
    },
    events::{ContactEventRow, EventRow, NewEvent},
    journeys::{JourneyChanges, JourneyRow, LiveJourney, PublishedJourney},
    messages::{
        DueMessage, MessageLogRow, MessageOutcome, MessageQuery, MessageReference, MessageRow,
        NewMessage, TrackedMessage,
    },
    operators::{NewOperator, OperatorRow, SessionRow},
    retention::Pruned,
    stats::{VersionCounts, Visit},
    steps::StepRecords,
    templates::TemplateRow,
    url::redact_url,
    webhook_hours::{HOUR_MS, Unsent, WebhookHealthRows, WebhookHour, hour_of},
    webhooks::WebhookRow,
};
use crate::error::{Error, Result, describe_io_error};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// A JSON object column (contact attributes, event properties). This server writes them;
/// anything else reads as empty.
pub fn json_object(text: &str) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

/// How long opening the first connection may take before start-up gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a PostgreSQL statement waits for a connection. While the server is down the pool
/// keeps trying to connect for this long: a request then answers 503 within a few seconds
/// rather than after the ten start-up may take, and the engine and the workers find out as
/// soon and retry on their own rhythm.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// WAL lets readers proceed while the single writer commits; `synchronous = FULL` keeps every
/// acknowledged commit across a power cut (durable speed comes from batching, not from
/// weakening this); the busy timeout makes concurrent writers queue instead of failing.
const SQLITE_CONNECTION_PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA busy_timeout = 5000;
PRAGMA foreign_keys = ON;";

const URL_HINT: &str = "Use sqlite://path/to/file.db?mode=rwc (created if missing) or \
                        postgres://user:password@host:port/database";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            _ => Err(Error::DatabaseUrl {
                url: redact_url(url),
                reason: format!("unsupported scheme `{scheme}`"),
                hint: URL_HINT,
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// What a claim's subquery ends with: PostgreSQL skips rows another process has locked,
    /// so several processes take disjoint batches; SQLite has one writer and needs nothing.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// The handle every part of the server shares; cloning it shares the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: whose turn it is to write (see [`Write`]).
    write_turn: Option<Arc<Mutex<()>>>,
    /// Seals webhook secrets on write and opens them on read; without it (benches, tests that
    /// write rows themselves) they are stored as they are.
    secrets: Option<Arc<crate::secret_key::KeyRing>>,
}

/// A transaction that writes. On SQLite it also holds this process's write turn, so writers
/// queue in order and the next one starts the moment the last commits: left to SQLite, a
/// writer that finds the database locked sleeps 1, 2, 5, 10… ms between retries (measured:
/// the delivery worker's claims took 3 to 15 ms instead of 2.6).
pub(crate) struct Write {
    transaction: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Write {
    pub(crate) async fn commit(self) -> sqlx::Result<()> {
        self.transaction.commit().await
    }
}

impl Deref for Write {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.transaction
    }
}

impl DerefMut for Write {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.transaction
    }
}

/// The engine's transaction: one batch claims work (events to match, enrollments that are
/// due) and records every step's outcome, so a step and its records commit together or not at
/// all. Its statements live with their tables (`events`, `enrollments`, `messages`,
/// `deliveries`, `stats`, `journeys`, `contacts`; what steps write, in `steps`).
///
/// Claims are written first: on SQLite the transaction then holds the write lock from its
/// first statement (a read-first transaction could not upgrade while another connection
/// commits); on PostgreSQL `FOR UPDATE SKIP LOCKED` lets several engine processes take
/// disjoint batches.
pub struct Batch {
    transaction: Write,
    backend: Backend,
}

impl Batch {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.transaction.commit().await
    }
}

/// Whether the error says the database cannot be reached now — down, restarting, the network
/// gone, no connection free within the pool's wait, SQLite's write lock not had within its wait —
/// rather than that a statement is wrong: the same work later may well succeed.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            // PostgreSQL: class 08 (connection exception) but a protocol violation, which is a
            // fault; 57P (shutdown, cannot connect now); too many connections.
            (code.starts_with("08") && code != "08P01")
                || code.starts_with("57P")
                || code == "53300"
                // SQLite: busy, and its extended codes busy_recovery, busy_snapshot,
                // busy_timeout.
                || matches!(code.as_ref(), "5" | "261" | "517" | "773")
        }),
        _ => false,
    }
}

impl Store {
    pub async fn begin_batch(&self) -> sqlx::Result<Batch> {
        Ok(Batch {
            transaction: self.begin_write().await?,
            backend: self.backend,
        })
    }

    /// Opens the database and checks that it is usable, turning the usual mistakes (bad URL,
    /// unwritable SQLite path, PostgreSQL down) into an [`Error`] that says how to fix them.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let options: AnyConnectOptions =
            url.parse()
                .map_err(|error: sqlx::Error| Error::DatabaseUrl {
                    url: redact_url(url),
                    reason: error.to_string(),
                    hint: URL_HINT,
                })?;

        if backend == Backend::Sqlite
            && let Some(file) = new_sqlite_file(url)
        {
            create_private(&file).map_err(|error| Error::DatabaseOpen {
                url: redact_url(url),
                reason: describe_io_error(&error),
                hint: "Check that the folder exists and that this user may write to it",
            })?;
        }
        // One direct connection first: the pool retries a refused connection until its acquire
        // timeout and then reports only "timed out", hiding the cause.
        probe(backend, &options)
            .await
            .map_err(|error| open_error(backend, url, error))?;

        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                // Writes serialise on SQLite's single writer; more connections only add contention.
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            })
            .acquire_timeout(match backend {
                Backend::Sqlite => CONNECT_TIMEOUT,
                Backend::Postgres => POSTGRES_ACQUIRE_TIMEOUT,
            })
            // A SQLite connection is a file handle in this process: pinging it before each use
            // (sqlx's default) finds nothing wrong and costs a round trip to its thread.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |connection, _| prepare_connection(backend, connection))
            .connect_with(options)
            .await
            .map_err(|error| open_error(backend, url, error))?;
        let write_turn = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self {
            pool,
            backend,
            write_turn,
            secrets: None,
        })
    }

    /// The same store, sealing and opening webhook secrets with `keys`.
    #[must_use]
    pub fn with_secret_key(mut self, keys: Arc<crate::secret_key::KeyRing>) -> Self {
        self.secrets = Some(keys);
        self
    }

    /// Begins a transaction that writes, after the writers ahead of it on SQLite. There it
    /// takes SQLite's write lock at once (`BEGIN IMMEDIATE`), waiting its turn behind another
    /// process's writer: a deferred transaction that reads first cannot take the lock later
    /// if another process committed meanwhile, and fails instead (an engine round reads the
    /// events' contacts before it stores the events).
    pub(crate) async fn begin_write(&self) -> sqlx::Result<Write> {
        let turn = match &self.write_turn {
            Some(turn) => Some(turn.clone().lock_owned().await),
            None => None,
        };
        let transaction = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Write {
            transaction,
            _turn: turn,
        })
    }

    /// Runs one writing statement in a transaction of its own, in turn with the other
    /// writers. Straight on the pool, a SQLite write waits for the write lock inside SQLite's
    /// busy handler, holding a pool connection all the while: a burst of them (each API key's
    /// first request touches the key) took all four while an engine round held the lock.
    pub(crate) async fn write_one<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::Result<sqlx::any::AnyQueryResult> {
        let mut transaction = self.begin_write().await?;
        let done = query.execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(done)
    }

    /// Brings the schema up to date. On PostgreSQL, sqlx holds an advisory lock meanwhile, so
    /// several server processes starting together apply each migration once.
    ///
    /// On SQLite they run with foreign keys off, as SQLite's procedure for changing a table
    /// requires (a migration rebuilds a table by copying it; dropping the old one must not
    /// delete the rows that refer to it by cascade), and the keys are checked afterwards.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = self.backend.migrator();
        if self.backend == Backend::Postgres {
            return migrator.run(&self.pool).await.map_err(Error::Migration);
        }
        let mut connection = self.pool.acquire().await.map_err(migration_error)?;
        connection
            .execute("PRAGMA foreign_keys = OFF")
            .await
            .map_err(migration_error)?;
        let migrated = migrator.run(&mut *connection).await;
        let dangling: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(&mut *connection)
                .await
                .map_err(migration_error)?;
        connection
            .execute("PRAGMA foreign_keys = ON")
            .await
            .map_err(migration_error)?;
        migrated.map_err(Error::Migration)?;
        match dangling.first() {
            None => Ok(()),
            Some((table,)) => Err(migration_error(sqlx::Error::Protocol(format!(
                "{} rows of table {table} refer to rows that do not exist after migrating",
                dangling.len()
            )))),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The newest migration this binary knows; the schema matches it after [`Store::migrate`].
    pub fn expected_schema_version(&self) -> i64 {
        self.backend
            .migrator()
            .iter()
            .map(|migration| migration.version)
            .max()
            .unwrap_or(0)
    }

    /// The newest migration applied to the database: a round trip that proves it answers.
    pub async fn schema_version(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file of a `sqlite://path?…` URL; `None` for PostgreSQL and in-memory databases.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, _) = rest.split_once('?').unwrap_or((rest, ""));
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// The file a `sqlite://…?mode=rwc` URL asks to create, when it does not exist yet.
fn new_sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let creates = url
        .split_once('?')
        .is_some_and(|(_, query)| query.split('&').any(|pair| pair == "mode=rwc"));
    sqlite_file(url).filter(|path| creates && !path.exists())
}

/// Creates the (empty) database file readable and writable by this user alone: it holds
/// contacts' data and webhook secrets. SQLite gives the `-wal` and `-shm` files it adds beside
/// it the same permissions.
fn create_private(file: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        // Created meanwhile (another process starting): SQLite opens it as it is.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

fn migration_error(error: sqlx::Error) -> Error {
    Error::Migration(sqlx::migrate::MigrateError::Execute(error))
}

async fn probe(backend: Backend, options: &AnyConnectOptions) -> Result<(), sqlx::Error> {
    let attempt = async {
        let mut connection = AnyConnection::connect_with(options).await?;
        prepare_connection(backend, &mut connection).await?;
        connection.close().await
    };
    tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
}

/// Boxed with an explicit lifetime: as an `async fn` (or with `sqlx::raw_sql`), its future
/// does not satisfy the higher-ranked bound of `after_connect`.
fn prepare_connection<'c>(
    backend: Backend,
    connection: &'c mut AnyConnection,
) -> Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'c>> {
    Box::pin(async move {
        if backend == Backend::Sqlite {
            connection.execute(SQLITE_CONNECTION_PRAGMAS).await?;
        }
        Ok(())
    })
}

const TLS_HINT: &str = "Give the server's certificate authority with \
                        sslrootcert=/path/to/ca.crt in --database-url (or sslmode=require to \
                        encrypt without checking the certificate)";

fn open_error(backend: Backend, url: &str, error: sqlx::Error) -> Error {
    let url = redact_url(url);
    let (reason, hint) = match (&error, backend) {
        (sqlx::Error::Configuration(reason), _) => {
            return Error::DatabaseUrl {
                url,
                reason: reason.to_string(),
                hint: URL_HINT,
            };
        }
        (sqlx::Error::Database(db), Backend::Sqlite) => (
            db.message().to_owned(),
            "Check that the folder exists and that this user may write to it and to the file \
             (add ?mode=rwc to the URL to create a missing file)",
        ),
        (sqlx::Error::Database(db), Backend::Postgres) => {
            let hint = match db.code().as_deref() {
                Some("3D000") => {
                    "Create the database first (createdb NAME) or fix its name in --database-url"
                }
                Some("28000" | "28P01") => "Check the user name and password in --database-url",
                _ => "Check --database-url and the PostgreSQL server's log",
            };
            (db.message().to_owned(), hint)
        }
        (sqlx::Error::Tls(tls), _) => (format!("TLS: {tls}"), TLS_HINT),
        // A certificate rustls refused arrives as an I/O error around the rustls error.
        (sqlx::Error::Io(io), Backend::Postgres)
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            (format!("TLS: {io}"), TLS_HINT)
        }
        (sqlx::Error::Io(io), Backend::Postgres) => (
            describe_io_error(io),
            "Check that PostgreSQL is running and reachable at the host and port in \
             --database-url",
        ),
        (sqlx::Error::PoolTimedOut, _) => (
            format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            "Check that the database server is running and reachable",
        ),
        _ => (error.to_string(), "Check --database-url"),
    };
    Error::DatabaseOpen { url, reason, hint }
}
