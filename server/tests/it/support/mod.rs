//! Test fixtures: throwaway databases on both backends and a running server.

mod database;
mod postgres;
mod process;
mod receiver;
mod server;

pub use database::{Backend, TestDatabase};
pub use postgres::PostgresCluster;
pub use process::{free_port, wait_until_healthy};
pub use receiver::{Answer, Receiver, resetting_port};
pub use server::TestServer;

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
