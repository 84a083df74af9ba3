//! The real `wayfarer` binary (release) as the benches that measure it from outside run it.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use app::api::Scope;
use serde_json::Value;
use server::{auth, store::Store};

use super::BenchResult;

/// The server process, killed when dropped.
pub struct Wayfarer {
    child: Child,
    base: String,
    pub client: reqwest::Client,
}

impl Drop for Wayfarer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Wayfarer {
    /// Migrates the database, issues an admin key for [`Self::client`], starts the server on
    /// a free port with `log` as its `--log` filter and waits until it is healthy.
    pub async fn start(database_url: &str, key_file: &Path, log: &str) -> BenchResult<Self> {
        let store = Store::connect(database_url).await?;
        store.migrate().await?;
        let request = auth::KeyRequest {
            name: "bench",
            scopes: &[Scope::Admin],
            created_by: None,
            expires_at: None,
        };
        let (key, _) = auth::issue_api_key(&store, &request, 0).await?;
        store.close().await;
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.local_addr()?.port()
        };
        let child = Command::new(env!("CARGO_BIN_EXE_wayfarer"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database_url])
            .arg("--secret-key-file")
            .arg(key_file)
            .args(["--allow-private-targets", "--log", log])
            .stdin(Stdio::null())
            .spawn()?;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {key}").parse()?,
        );
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .build()?;
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client,
        };
        for _ in 0..1_500 {
            if let Ok(answer) = server.client.get(server.url("/api/v1/health")).send().await
                && answer.status().is_success()
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err("the server did not become healthy".into())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs `body` to `path`; the answer's JSON, or an error naming the status.
    pub async fn call(&self, path: &str, body: &Value) -> BenchResult<Value> {
        let answer = self.client.post(self.url(path)).json(body).send().await?;
        let status = answer.status();
        let text = answer.text().await?;
        if !status.is_success() {
            return Err(format!("{path}: {status} {text}").into());
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Kilobytes of memory the server holds now (VmRSS).
    pub fn rss_kb(&self) -> u64 {
        self.status_kb("VmRSS:")
    }

    /// The most kilobytes of memory the server has held (VmHWM).
    pub fn peak_rss_kb(&self) -> u64 {
        self.status_kb("VmHWM:")
    }

    fn status_kb(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|status| {
                status.lines().find_map(|line| {
                    line.strip_prefix(field)
                        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                })
            })
            .unwrap_or(0)
    }
}

/// A database a bench runs on, with the file of the server's secret key.
pub struct BenchDatabase {
    /// "SQLite" or "PostgreSQL".
    pub backend: &'static str,
    pub url: String,
    pub key_file: PathBuf,
}

/// Where a bench runs: a fresh SQLite file in `folder`; under `.ci/postgres` (which sets
/// `WAYFARER_TEST_POSTGRES_URL` to a throwaway cluster) a new PostgreSQL database as well.
pub async fn bench_databases(folder: &Path, bench: &str) -> BenchResult<Vec<BenchDatabase>> {
    let mut databases = vec![BenchDatabase {
        backend: "SQLite",
        url: format!("sqlite://{}?mode=rwc", folder.join("bench.db").display()),
        key_file: folder.join("sqlite.key"),
    }];
    if let Ok(cluster) = std::env::var("WAYFARER_TEST_POSTGRES_URL") {
        databases.push(BenchDatabase {
            backend: "PostgreSQL",
            url: new_postgres_database(&cluster, bench).await?,
            key_file: folder.join("postgres.key"),
        });
    }
    Ok(databases)
}

/// A new, empty database on the cluster at `cluster_url` (a superuser's URL); its URL.
async fn new_postgres_database(cluster_url: &str, bench: &str) -> BenchResult<String> {
    use sqlx::{Connection as _, Executor as _};
    sqlx::any::install_default_drivers();
    let name = format!("wayfarer_{bench}_{}", std::process::id());
    let mut admin = sqlx::AnyConnection::connect(cluster_url).await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    admin.close().await?;
    let (base, _) = cluster_url
        .rsplit_once('/')
        .ok_or("a PostgreSQL URL ends with /database")?;
    Ok(format!("{base}/{name}"))
}
