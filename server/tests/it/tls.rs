//! PostgreSQL over TLS: `sslmode` in `--database-url` is honoured, and a certificate that
//! cannot be checked is one clear start-up error.

use server::store::Store;
use sqlx::{AnyConnection, Connection};

use crate::support::PostgresCluster;

#[tokio::test]
async fn postgres_over_tls_honours_sslmode() {
    let (cluster, ca) = PostgresCluster::start_with_tls();
    let base = cluster.url("postgres");

    for url in [
        format!("{base}?sslmode=require"),
        format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display()),
    ] {
        let store = Store::connect(&url)
            .await
            .unwrap_or_else(|error| panic!("{url}: {error}"));
        store.migrate().await.expect("migrate over TLS");
        store.close().await;
        sqlx::any::install_default_drivers();
        let mut connection = AnyConnection::connect(&url).await.expect("connect");
        let encrypted: i64 = sqlx::query_scalar(
            "SELECT CASE WHEN ssl THEN 1 ELSE 0 END::BIGINT FROM pg_stat_ssl
             WHERE pid = pg_backend_pid()",
        )
        .fetch_one(&mut connection)
        .await
        .expect("the connection's TLS state");
        assert_eq!(encrypted, 1, "{url}: encrypted");
        connection.close().await.ok();
    }

    let unchecked = Store::connect(&format!("{base}?sslmode=verify-full"))
        .await
        .expect_err("the test CA is not trusted");
    let message = unchecked.to_string();
    assert!(message.contains("TLS"), "{message}");
    assert!(message.contains("sslrootcert"), "{message}");
}
