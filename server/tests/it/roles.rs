//! `--role web` and `--role worker` on one PostgreSQL database: the web process takes events
//! and serves the API without running the engine; the worker matches them, steps the journey
//! and sends the webhook, woken by the web process's commit rather than by its poll, and
//! answers health and metrics only.

use std::time::Duration;

use app::api::{Reentry, Scope};
use reqwest::StatusCode;
use serde_json::json;
use server::config::ProcessRole;

use app::journey::fixtures::{chain, webhook_with};

use crate::support::{
    Backend, Receiver, SmtpReceiver, TestDatabase, TestServer, create_api_key,
    http_client_with_key, metric,
};

#[tokio::test]
async fn a_web_process_takes_events_and_a_worker_process_sends_their_webhooks() {
    let database = TestDatabase::create(Backend::Postgres).await;
    let web = TestServer::start_configured(database.alias(), |config| {
        config.role = ProcessRole::Web;
    })
    .await;
    let receiver = Receiver::start().await;
    let webhook = web
        .create_webhook(&json!({"name": "CRM", "url": receiver.url("/hook")}))
        .await;
    web.publish_journey(
        Reentry::Once,
        chain("signup", vec![("hook", webhook_with(webhook.id, &[]))]),
    )
    .await;
    web.signs_up("ana", json!({})).await;

    // The event is stored, and nothing runs it without a worker.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let unmatched: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE processed_at IS NULL")
            .fetch_one(&mut web.database_connection().await)
            .await
            .expect("the events");
    assert_eq!(unmatched, 1);
    assert!(receiver.received().is_empty());

    // A poll of a minute: only the notification of the web process's commit can wake the
    // worker's engine within the test's seconds.
    let worker = TestServer::start_configured(database.alias(), |config| {
        config.role = ProcessRole::Worker;
        config.engine_poll_ms = 60_000;
    })
    .await;
    for _ in 0..500 {
        if !receiver.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        receiver.received().len(),
        1,
        "the worker sent ana's webhook"
    );

    // Each process's metrics say what it did.
    let key = create_api_key(database.url(), &[Scope::MetricsRead]).await;
    let prometheus = http_client_with_key(&key);
    let scrape = |server: &TestServer| {
        let request = prometheus.get(server.url("/api/v1/metrics")).send();
        async move {
            let answer = request.await.expect("an answer");
            assert_eq!(answer.status(), StatusCode::OK);
            answer.text().await.expect("the metrics")
        }
    };
    let accepted = format!(
        "wayfarer_webhook_requests_total{{webhook=\"{}\",outcome=\"accepted\"}}",
        webhook.id
    );
    let mut worked = String::new();
    for _ in 0..500 {
        worked = scrape(&worker).await;
        if metric(&worked, &accepted) == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metric(&worked, &accepted), Some(1.0), "{worked}");
    assert_eq!(metric(&worked, "wayfarer_engine_steps_total"), Some(1.0));
    let served = scrape(&web).await;
    assert_eq!(metric(&served, "wayfarer_events_stored_total"), Some(1.0));
    assert_eq!(metric(&served, "wayfarer_engine_steps_total"), Some(0.0));
    assert_eq!(
        metric(&served, &accepted),
        None,
        "the web process sends nothing"
    );

    // The worker answers health and metrics, and points elsewhere for the rest.
    let health = worker.get("/api/v1/health").await;
    assert_eq!(health.status(), StatusCode::OK);
    let elsewhere = worker.get("/api/v1/journeys").await;
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    let body = elsewhere.text().await.expect("a body");
    assert!(body.contains("--role worker"), "{body}");
    let page = worker.get("/journeys").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);

    // An event through the web process while the worker idles goes out at once: the commit
    // notifies the worker's engine.
    web.signs_up("bo", json!({})).await;
    for _ in 0..500 {
        if receiver.received().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(receiver.received().len(), 2);
}

/// A web process has no SMTP server of its own; the workers that send do. While one with
/// `--smtp-url` runs, the web process says alerts and emails go out; once it stops, that they
/// do not.
#[tokio::test]
async fn a_web_process_says_emails_go_out_while_a_worker_with_an_smtp_server_runs() {
    async fn emails_go_out(web: &TestServer) -> (bool, Option<String>) {
        let health: app::api::WebhooksHealthOut = web
            .expect(web.get("/api/v1/webhooks/health").await, StatusCode::OK)
            .await;
        let email: app::api::ChannelOut = web
            .expect(web.get("/api/v1/channels/email").await, StatusCode::OK)
            .await;
        (health.alert_emails_sent, email.problem)
    }
    let database = TestDatabase::create(Backend::Postgres).await;
    let web = TestServer::start_configured(database.alias(), |config| {
        config.role = ProcessRole::Web;
    })
    .await;
    let (alerts, problem) = emails_go_out(&web).await;
    assert!(!alerts, "no worker sends");
    assert!(problem.is_some_and(|problem| problem.contains("--smtp-url")));

    let smtp = SmtpReceiver::start().await;
    let url = smtp.url();
    let worker = TestServer::start_configured(database.alias(), |config| {
        config.role = ProcessRole::Worker;
        config.smtp_url = Some(url);
    })
    .await;
    let mut seen = emails_go_out(&web).await;
    for _ in 0..500 {
        if seen.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        seen = emails_go_out(&web).await;
    }
    assert_eq!(seen, (true, None), "the worker's SMTP server counts");

    worker.stop().await.expect("the worker stops");
    let (alerts, problem) = emails_go_out(&web).await;
    assert!(!alerts, "its worker stopped");
    assert!(problem.is_some());
}
