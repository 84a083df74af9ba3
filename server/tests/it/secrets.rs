//! Webhook secrets at rest: sealed in the database under the key of `--secret-key-file`,
//! rows from before sealed at start, the key rotated by a command, a wrong key refused at start
//! (also before any secret is stored: a second process on the database with a key file of its
//! own would seal secrets and sign links the first cannot open).

use serde_json::{Value, json};
use server::{Config, Server};
use sqlx::Row;

use crate::support::{Answer, Backend, Receiver, SmtpReceiver, TestDatabase, TestServer};

backend_tests!(
    webhook_secrets_are_sealed_in_the_database,
    secrets_stored_in_plain_text_are_sealed_at_start,
    the_secret_key_is_rotated_by_a_command,
    credentials_in_headers_and_the_url_are_masked_and_kept,
    a_process_with_another_key_file_refuses_to_start,
);

/// Not per backend: it installs this test process's log subscriber (nextest runs every test in
/// a process of its own).
#[tokio::test]
async fn nothing_the_server_writes_holds_a_secret() {
    everything_written_is_free_of_secrets(Backend::Sqlite).await;
}

const PASSWORD: &str = "hunter2-password-in-clear";
const HEADER_TOKEN: &str = "header-token-in-clear";

/// Every text column of every webhook row, as stored.
async fn stored_webhook_text(server: &TestServer) -> String {
    use sqlx::Executor as _;
    let mut connection = server.database_connection().await;
    let rows = connection
        .fetch_all(
            "SELECT name, url, headers, auth_name, auth_secret, signing_secret,
                    previous_signing_secret FROM webhooks",
        )
        .await
        .expect("the webhooks");
    rows.iter()
        .flat_map(|row| (0..7).map(move |column| row.try_get::<Option<String>, _>(column)))
        .map(|value| value.expect("text").unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The webhook's signing secret, through its endpoint.
/// The webhook's row as the server reads it (secrets opened).
async fn stored_webhook(server: &TestServer, webhook: &Value) -> server::store::WebhookRow {
    server
        .store()
        .await
        .webhook(serde_json::from_value(webhook["id"].clone()).expect("an id"))
        .await
        .expect("query")
        .expect("a row")
}

async fn signing_secret(server: &TestServer, webhook: &Value) -> String {
    let answer: Value = server
        .expect(
            server
                .get(&format!(
                    "/api/v1/webhooks/{}/signing-secret",
                    webhook["id"]
                ))
                .await,
            reqwest::StatusCode::OK,
        )
        .await;
    answer["secret"].as_str().expect("the secret").to_owned()
}

async fn create_webhook_with_secrets(server: &TestServer) -> Value {
    let webhook = server
        .create_webhook(&json!({
            "name": "CRM", "url": "https://crm.example/hook",
            "auth": {"type": "basic", "username": "wayfarer", "password": PASSWORD},
            "headers": [{"key": "X-Token", "value": HEADER_TOKEN}],
        }))
        .await;
    serde_json::to_value(webhook).expect("JSON")
}

async fn webhook_secrets_are_sealed_in_the_database(backend: Backend) {
    let server = TestServer::start(backend).await;
    let webhook = create_webhook_with_secrets(&server).await;
    let secret = signing_secret(&server, &webhook).await;
    let signing_secret = secret;

    let stored = stored_webhook_text(&server).await;
    for secret in [PASSWORD, HEADER_TOKEN, signing_secret.as_str()] {
        assert!(
            !stored.contains(secret),
            "{secret} is stored in clear: {stored}"
        );
    }
    assert!(stored.contains("wfenc1:"), "{stored}");
    // The server reads them: the preview sends the header, and the row opens with the key.
    let row = stored_webhook(&server, &webhook).await;
    assert_eq!(row.auth_secret.as_deref(), Some(PASSWORD));
    assert_eq!(row.signing_secret, signing_secret);
    assert!(row.headers.contains(HEADER_TOKEN));
}

async fn secrets_stored_in_plain_text_are_sealed_at_start(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let first = TestServer::start_on(database.alias()).await;
    let webhook = create_webhook_with_secrets(&first).await;
    first.stop().await.expect("stopped");
    // As an older version stored it: the secrets in clear.
    {
        use sqlx::{Connection as _, Executor as _};
        let mut connection = sqlx::AnyConnection::connect(database.url())
            .await
            .expect("connect");
        connection
            .execute(
                sqlx::query(
                    "UPDATE webhooks SET auth_secret = $1, headers = $2, signing_secret = $3",
                )
                .bind(PASSWORD)
                .bind(format!(r#"[{{"key":"X-Token","value":"{HEADER_TOKEN}"}}]"#))
                .bind("whsec_c2VjcmV0LWZyb20tYmVmb3Jl"),
            )
            .await
            .expect("write plain text");
    }
    let server = TestServer::start_on(database).await;
    let stored = stored_webhook_text(&server).await;
    assert!(
        !stored.contains(PASSWORD) && !stored.contains(HEADER_TOKEN),
        "{stored}"
    );
    assert!(
        !stored.contains("whsec_c2VjcmV0LWZyb20tYmVmb3Jl"),
        "{stored}"
    );
    let secret = signing_secret(&server, &webhook).await;
    assert_eq!(secret, "whsec_c2VjcmV0LWZyb20tYmVmb3Jl");
}

async fn the_secret_key_is_rotated_by_a_command(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let first = TestServer::start_on(database.alias()).await;
    let webhook = create_webhook_with_secrets(&first).await;
    first.stop().await.expect("stopped");
    let old_key = std::fs::read_to_string(database.secret_key_file()).expect("the key file");

    let rotated = std::process::Command::new(env!("CARGO_BIN_EXE_wayfarer"))
        .args([
            "admin",
            "rotate-secret-key",
            "--database-url",
            database.url(),
        ])
        .arg("--secret-key-file")
        .arg(database.secret_key_file())
        .output()
        .expect("run wayfarer");
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("re-sealed the secrets of 1"));
    let new_key = std::fs::read_to_string(database.secret_key_file()).expect("the key file");
    assert_ne!(new_key, old_key);
    assert_eq!(new_key.lines().count(), 1, "the old key is dropped");

    // The old key alone no longer opens them: the server refuses to start, saying why.
    let folder = tempfile::tempdir().expect("a folder");
    let old_file = folder.path().join("old.key");
    std::fs::write(&old_file, &old_key).expect("write the old key");
    let mut config = Config::for_tests(database.url());
    config.secret_key_file = Some(old_file);
    let refused = Server::start(&config).await.err().expect("refused");
    assert!(refused.to_string().contains("does not hold"), "{refused}");

    let server = TestServer::start_on(database).await;
    let row = stored_webhook(&server, &webhook).await;
    assert_eq!(row.auth_secret.as_deref(), Some(PASSWORD));
}

async fn credentials_in_headers_and_the_url_are_masked_and_kept(backend: Backend) {
    let server = TestServer::start(backend).await;
    let url = "https://crm.example/hook?access_token=query-token-in-clear&region=eu";
    let created = server
        .create_webhook(&json!({
            "name": "CRM", "url": url,
            "headers": [{"key": "X-Api-Key", "value": HEADER_TOKEN}, {"key": "X-Tenant", "value": "acme"},
                        {"key": "X-Customer", "value": "marked-secret-in-clear", "secret": true}],
        }))
        .await;
    let shown = serde_json::to_string(&created).expect("JSON");
    assert!(
        !shown.contains(HEADER_TOKEN) && !shown.contains("query-token-in-clear"),
        "{shown}"
    );
    assert_eq!(
        created.url,
        "https://crm.example/hook?access_token=********&region=eu"
    );
    assert_eq!(created.headers[1].value, "acme");

    // A form saves what it was shown: the masked values keep the stored ones.
    let path = format!("/api/v1/webhooks/{}", created.id);
    let saved = server
        .patch_json(
            &path,
            &json!({"name": "CRM (EU)", "url": created.url, "headers": created.headers}),
        )
        .await;
    assert_eq!(saved.status(), reqwest::StatusCode::OK);
    let row = server
        .store()
        .await
        .webhook(created.id)
        .await
        .expect("query")
        .expect("a row");
    assert_eq!(row.url, url);
    assert!(row.headers.contains(HEADER_TOKEN), "{}", row.headers);
    assert!(
        row.headers.contains("marked-secret-in-clear"),
        "{}",
        row.headers
    );

    let preview = server
        .post_json(&format!("{path}/preview"), &json!({}))
        .await
        .text()
        .await
        .expect("text");
    assert!(
        !preview.contains(HEADER_TOKEN) && !preview.contains("query-token-in-clear"),
        "{preview}"
    );
    assert!(preview.contains("acme"), "{preview}");
}

/// Every log line, captured.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("the log").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A webhook with a password, a token in a custom header and one in its URL fails for good
/// (the receiver answers 410, which also sends the alert email), another one cannot connect;
/// then every answer the API gives about them, every log line (at debug level) and every email
/// is searched for the secrets.
async fn everything_written_is_free_of_secrets(backend: Backend) {
    use tracing_subscriber::{layer::SubscriberExt as _, util::SubscriberInitExt as _};

    const QUERY_TOKEN: &str = "query-token-in-clear";
    let log = CapturedLog::default();
    let writer = log.clone();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone()),
        )
        .with(tracing_subscriber::filter::LevelFilter::DEBUG)
        .init();

    let smtp = SmtpReceiver::start().await;
    let smtp_url = smtp.url();
    let server = TestServer::start_with(backend, |config| config.smtp_url = Some(smtp_url)).await;
    let receiver = Receiver::start().await;
    receiver.always(Answer::Status(410));
    let gone = server
        .create_webhook(&json!({
            "name": "Gone", "url": format!("{}?access_token={QUERY_TOKEN}", receiver.url("/hook")),
            "auth": {"type": "basic", "username": "wayfarer", "password": PASSWORD},
            "headers": [{"key": "X-Api-Key", "value": HEADER_TOKEN}],
            "alert_emails": ["ops@example.com"],
        }))
        .await;
    let unreachable = server
        .create_webhook(&json!({
            "name": "Unreachable", "url": format!("http://127.0.0.1:1/hook?token={QUERY_TOKEN}"),
            "auth": {"type": "bearer", "token": PASSWORD},
        }))
        .await;
    let draft = app::journey::fixtures::chain(
        "signup",
        vec![
            ("gone", app::journey::fixtures::webhook_with(gone.id, &[])),
            (
                "unreachable",
                app::journey::fixtures::webhook_with(unreachable.id, &[]),
            ),
        ],
    );
    let journey = server.publish_journey(app::api::Reentry::Once, draft).await;
    let contact = server
        .put_json(
            "/api/v1/contacts/ana",
            &json!({"attributes": {"email": "ana@example.com"}}),
        )
        .await;
    assert!(contact.status().is_success());
    let event = server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "ana", "event": "signup"}),
        )
        .await;
    assert_eq!(event.status(), 202);

    // Both webhooks tried: one failed for good (and alerted), the other waiting for a retry.
    let mut deliveries = Value::Null;
    for _ in 0..500 {
        deliveries = server
            .expect(
                server.get("/api/v1/deliveries").await,
                reqwest::StatusCode::OK,
            )
            .await;
        let tried = deliveries
            .as_array()
            .is_some_and(|all| all.len() == 2 && all.iter().all(|one| one["attempts"] != 0));
        if tried && !smtp.messages().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let emails = smtp.messages();
    assert_eq!(
        emails.len(),
        1,
        "the alert for the webhook that is gone: {deliveries}"
    );

    let mut answers = vec![deliveries.to_string()];
    let read = |path: String| {
        let server = &server;
        async move { server.get(&path).await.text().await.expect("text") }
    };
    for path in [
        "/api/v1/webhooks".to_owned(),
        format!("/api/v1/webhooks/{}", gone.id),
        format!("/api/v1/journeys/{journey}"),
        format!("/api/v1/journeys/{journey}/stats"),
        "/api/v1/audit".to_owned(),
    ] {
        answers.push(read(path).await);
    }
    for delivery in deliveries.as_array().expect("deliveries") {
        answers.push(read(format!("/api/v1/deliveries/{}", delivery["id"])).await);
    }
    for webhook in [gone.id, unreachable.id] {
        for action in ["preview", "test"] {
            let answer = server
                .post_json(&format!("/api/v1/webhooks/{webhook}/{action}"), &json!({}))
                .await;
            answers.push(answer.text().await.expect("text"));
        }
    }
    // The signing secret's own endpoint shows it, by design, to editors; nothing else does.
    let signing_secret = signing_secret(&server, &serde_json::to_value(&gone).expect("JSON")).await;
    // Every action above is in the audit log; read it again after them.
    answers.push(read("/api/v1/audit".to_owned()).await);
    let logged = String::from_utf8_lossy(&log.0.lock().expect("the log")).into_owned();
    assert!(
        logged.contains("DEBUG"),
        "the log was captured at debug level"
    );

    for (what, text) in [
        ("API answers", answers.join("\n")),
        ("log", logged),
        ("emails", emails.join("\n")),
    ] {
        for secret in [PASSWORD, HEADER_TOKEN, QUERY_TOKEN, signing_secret.as_str()] {
            assert!(!text.contains(secret), "{what} contain {secret}:\n{text}");
        }
    }
    assert!(!receiver.received().is_empty(), "the receiver was reached");
}

async fn a_process_with_another_key_file_refuses_to_start(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let first = TestServer::start_on(database.alias()).await;
    let folder = tempfile::tempdir().expect("a folder");

    // No key file where this process looks: it does not make one of its own.
    let missing = folder.path().join("worker.key");
    let mut config = Config::for_tests(database.url());
    config.secret_key_file = Some(missing.clone());
    let refused = Server::start(&config).await.err().expect("refused");
    assert!(refused.to_string().contains("does not exist"), "{refused}");
    assert!(!missing.exists(), "no key file was made");

    // A key file with another key.
    let other = folder.path().join("other.key");
    std::fs::write(&other, server::secret_key::new_key_line().expect("a key")).expect("write");
    config.secret_key_file = Some(other);
    let refused = Server::start(&config).await.err().expect("refused");
    assert!(refused.to_string().contains("does not hold"), "{refused}");

    // The same key file as the first: a second process starts.
    config.secret_key_file = Some(database.secret_key_file().to_owned());
    let second = Server::start(&config)
        .await
        .expect("the same key file is taken");
    drop(second);
    first.stop().await.expect("stopped");
}
