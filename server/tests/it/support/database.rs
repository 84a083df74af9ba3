use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AnyConnection, Connection, Executor};
use tempfile::TempDir;

use super::PostgresCluster;

/// Set to the URL of a running PostgreSQL server (any database on it, as a superuser) to create
/// the test databases there; the test script does this with one throwaway cluster per run.
/// Unset, each PostgreSQL test starts a private cluster.
const POSTGRES_URL_VAR: &str = "WAYFARER_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A fresh, empty database that disappears with the value (the SQLite file's folder, or the
/// private PostgreSQL cluster; databases on a shared cluster go when the cluster does).
pub struct TestDatabase {
    url: String,
    storage: Storage,
    /// The key webhook secrets are sealed with (`--secret-key-file`): beside the SQLite file,
    /// or in a folder of its own for PostgreSQL.
    secret_key_file: std::path::PathBuf,
    _key_folder: Option<TempDir>,
}

/// Where the database lives; dropping it removes what the test created.
enum Storage {
    Folder {
        _folder: TempDir,
    },
    SharedCluster,
    /// Another `TestDatabase` owns it.
    Alias,
    PrivateCluster {
        cluster: PostgresCluster,
    },
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let folder = tempfile::tempdir().expect("create a temporary folder");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    folder.path().join("test.db").display()
                );
                Self {
                    url,
                    secret_key_file: folder.path().join("wayfarer-secret.key"),
                    storage: Storage::Folder { _folder: folder },
                    _key_folder: None,
                }
            }
            Backend::Postgres => match std::env::var(POSTGRES_URL_VAR) {
                Ok(server_url) => Self::postgres(
                    create_postgres_database(&server_url).await,
                    Storage::SharedCluster,
                ),
                Err(_) => Self::on_private_cluster().await,
            },
        }
    }

    /// A PostgreSQL database on a cluster of its own, for tests that stop the server.
    pub async fn on_private_cluster() -> Self {
        let cluster = PostgresCluster::start();
        let url = create_postgres_database(&cluster.url("postgres")).await;
        Self::postgres(url, Storage::PrivateCluster { cluster })
    }

    fn postgres(url: String, storage: Storage) -> Self {
        let folder = tempfile::tempdir().expect("create a temporary folder");
        Self {
            url,
            storage,
            secret_key_file: folder.path().join("wayfarer-secret.key"),
            _key_folder: Some(folder),
        }
    }

    /// The file every server on this database must be given as `--secret-key-file`.
    pub fn secret_key_file(&self) -> &std::path::Path {
        &self.secret_key_file
    }

    /// The cluster this database has to itself, if it has one.
    pub fn private_cluster(&self) -> Option<&PostgresCluster> {
        match &self.storage {
            Storage::PrivateCluster { cluster } => Some(cluster),
            Storage::Folder { .. } | Storage::SharedCluster | Storage::Alias => None,
        }
    }

    /// The same database for a second server; it must not outlive this one.
    pub fn alias(&self) -> Self {
        Self {
            url: self.url.clone(),
            storage: Storage::Alias,
            secret_key_file: self.secret_key_file.clone(),
            _key_folder: None,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database migrated, a store on it and a plain connection for the rows the store
    /// does not write: for tests that drive the store without a server.
    pub async fn migrated(&self) -> (server::store::Store, AnyConnection) {
        let store = server::store::Store::connect(&self.url)
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        sqlx::any::install_default_drivers();
        let connection = AnyConnection::connect(&self.url).await.expect("connect");
        (store, connection)
    }
}

/// Inserts the contact `ana`, with no attributes, for tests that write rows by hand.
pub async fn insert_contact(connection: &mut AnyConnection) -> app::ids::ContactId {
    sqlx::query_scalar(
        "INSERT INTO contacts (external_id, attributes, created_at, updated_at)
         VALUES ('ana', '{}', 0, 0) RETURNING id",
    )
    .fetch_one(connection)
    .await
    .expect("a contact")
}

async fn create_postgres_database(server_url: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    sqlx::any::install_default_drivers();
    // Test processes run in parallel against one server: the process id keeps names apart.
    let name = format!(
        "wayfarer_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = AnyConnection::connect(server_url)
        .await
        .unwrap_or_else(|error| panic!("connect to PostgreSQL at {server_url}: {error}"));
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|error| panic!("create database {name}: {error}"));
    admin.close().await.ok();
    let (base, _) = server_url
        .rsplit_once('/')
        .expect("a PostgreSQL URL ends with /database");
    format!("{base}/{name}")
}
