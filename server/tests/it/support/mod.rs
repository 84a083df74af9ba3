//! Test fixtures: throwaway databases on both backends and a running server.

mod database;
mod postgres;
mod process;
mod receiver;
mod server;
mod signature;
mod smtp;

pub use database::{Backend, TestDatabase};
pub use postgres::PostgresCluster;
pub use process::{WayfarerProcess, free_port, wait_until_healthy};
pub use receiver::{Answer, Receiver, resetting_port};
pub use server::TestServer;
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
