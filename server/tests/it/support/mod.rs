//! Test fixtures: throwaway databases on both backends and a running server.

mod database;
mod postgres;
mod process;
mod receiver;
mod server;
mod session;
mod signature;
mod smtp;

pub use database::{Backend, TestDatabase, insert_contact};
pub use postgres::PostgresCluster;
pub use process::{WayfarerProcess, free_port, wait_until_healthy};
pub use receiver::{Answer, Received, Receiver, resetting_port};
pub use server::TestServer;
pub use session::{PASSWORD, Session, set_cookie, sign_in};
pub use signature::verify_signature;
pub use smtp::SmtpReceiver;

/// An HTTP client for tests. reqwest is built without a default TLS provider (the server
/// installs ring's), so one is installed here too for tests that run no server in-process.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build an HTTP client")
}

/// A client that sends `key` as `Authorization: Bearer` with every request.
pub fn http_client_with_key(key: &str) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}").parse().expect("a header value"),
    );
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("build an HTTP client")
}

/// Stores a new API key with these scopes in the database at `database_url`; the key.
pub async fn create_api_key(database_url: &str, scopes: &[app::api::Scope]) -> String {
    let store = ::server::store::Store::connect(database_url)
        .await
        .expect("connect to the test database");
    store.migrate().await.expect("migrate the test database");
    let request = ::server::auth::KeyRequest {
        name: "tests",
        scopes,
        created_by: None,
        expires_at: None,
    };
    let (key, _) = ::server::auth::issue_api_key(&store, &request, 0)
        .await
        .expect("store the key");
    store.close().await;
    key
}

/// Declares each listed `async fn name(backend: Backend)` as two tests, `sqlite::name` and
/// `postgres::name`, so one test list covers both backends.
macro_rules! backend_tests {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::support::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::support::Backend::Postgres).await;
                }
            )+
        }
    };
}

/// A Prometheus scrape's value of `series` (its whole name with its labels), if it has one.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
}
