use std::{net::SocketAddr, sync::Arc};

use app::{
    api::{JourneyIn, JourneyOut, Reentry, WebhookOut},
    ids::JourneyId,
};
use reqwest::StatusCode;
use serde::{Serialize, de::DeserializeOwned};
use server::{
    Config, Server,
    clock::{ManualClock, SharedClock, SystemClock},
    store::Store,
};
use tokio::{sync::oneshot, task::JoinHandle};

use super::{Backend, TestDatabase};

/// 2026-01-01T00:00:00Z: tests start from a fixed time and move it themselves.
const START_OF_TESTS: i64 = 1_767_225_600_000;

/// The real server, started in this process on an ephemeral loopback port.
pub struct TestServer {
    addr: SocketAddr,
    /// `--metrics-listen`'s address, when the test set it.
    metrics_addr: Option<SocketAddr>,
    /// `None` for a server on the wall clock.
    clock: Option<ManualClock>,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<server::Result<()>>>,
    // Dropped last: the server must stop before its database goes.
    database: TestDatabase,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_on(TestDatabase::create(backend).await).await
    }

    pub async fn start_on(database: TestDatabase) -> Self {
        Self::start_configured(database, |_| {}).await
    }

    /// Starts with the test configuration changed by `adjust`.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_configured(TestDatabase::create(backend).await, adjust).await
    }

    /// Starts on `database` with the test configuration changed by `adjust`.
    pub async fn start_configured(
        database: TestDatabase,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let clock = ManualClock::starting_at(START_OF_TESTS);
        Self::start_with_clock(database, adjust, Some(clock)).await
    }

    /// Starts on the wall clock, for what depends on time passing by itself (timers firing
    /// while nothing else happens).
    pub async fn start_on_wall_clock(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_clock(TestDatabase::create(backend).await, adjust, None).await
    }

    async fn start_with_clock(
        database: TestDatabase,
        adjust: impl FnOnce(&mut Config),
        clock: Option<ManualClock>,
    ) -> Self {
        let mut config = Config::for_tests(database.url());
        config.secret_key_file = Some(database.secret_key_file().to_owned());
        adjust(&mut config);
        let shared: SharedClock = match &clock {
            Some(clock) => Arc::new(clock.clone()),
            None => Arc::new(SystemClock),
        };
        let server = Server::start_with_clock(&config, shared)
            .await
            .unwrap_or_else(|error| panic!("start the server on {}: {error}", database.url()));
        let addr = server.local_addr();
        let metrics_addr = server.metrics_addr();
        let (shutdown, shutdown_requested) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = shutdown_requested.await;
        }));
        let admin_key = super::create_api_key(database.url(), &[app::api::Scope::Admin]).await;
        let client = super::http_client_with_key(&admin_key);
        Self {
            addr,
            metrics_addr,
            clock,
            client,
            shutdown: Some(shutdown),
            serving: Some(serving),
            database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The URL of `path` on the `--metrics-listen` address (which the test must have set).
    pub fn metrics_url(&self, path: &str) -> String {
        let addr = self.metrics_addr.expect("the test set --metrics-listen");
        format!("http://{addr}{path}")
    }

    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    /// The HTTP client the helpers use, for requests they do not cover: it sends an admin
    /// API key.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The server's clock, which moves only when the test moves it.
    pub fn clock(&self) -> &ManualClock {
        self.clock
            .as_ref()
            .expect("this test server runs on the wall clock")
    }

    /// A second connection to the server's database, to look at what the API does not show.
    pub async fn store(&self) -> Store {
        let (keys, _) =
            server::secret_key::KeyRing::load_or_create(self.database.secret_key_file())
                .expect("the server's secret key");
        Store::connect(self.database.url())
            .await
            .expect("connect to the test database")
            .with_secret_key(Arc::new(keys))
    }

    /// A plain connection to the server's database, for SQL a test writes itself.
    pub async fn database_connection(&self) -> sqlx::AnyConnection {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(self.database.url())
            .await
            .expect("connect to the test database")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(self.client.get(self.url(path))).await
    }

    /// Creates a journey with this draft (a `JourneyDocument` or its JSON, which must be
    /// valid) and publishes it; its id.
    pub async fn publish_journey(&self, reentry: Reentry, draft: impl Serialize) -> JourneyId {
        let draft = serde_json::to_value(draft).expect("a draft");
        let input = JourneyIn {
            name: "test".to_owned(),
            reentry,
            draft: serde_json::from_value(draft).expect("a document"),
        };
        let journey: JourneyOut = self
            .expect(
                self.post_json("/api/v1/journeys", &input).await,
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(
            journey.validation_errors,
            vec![],
            "the test journey is valid"
        );
        let path = format!("/api/v1/journeys/{}/publish", journey.id);
        let _: serde_json::Value = self
            .expect(self.post(&path).await, StatusCode::CREATED)
            .await;
        journey.id
    }

    /// Stores the contact with these attributes and posts its `signup` (the journeys of the
    /// tests start on it).
    pub async fn signs_up(&self, external_id: &str, attributes: serde_json::Value) {
        let contact = self
            .put_json(
                &format!("/api/v1/contacts/{external_id}"),
                &serde_json::json!({ "attributes": attributes }),
            )
            .await;
        assert_eq!(contact.status(), 200);
        let event = self
            .post_json(
                "/api/v1/events",
                &serde_json::json!({"contact": external_id, "event": "signup"}),
            )
            .await;
        assert_eq!(event.status(), 202);
    }

    /// The journey's statistics (its version in force).
    pub async fn journey_stats(&self, journey: JourneyId) -> app::api::JourneyStatsOut {
        self.expect(
            self.get(&format!("/api/v1/journeys/{journey}/stats")).await,
            StatusCode::OK,
        )
        .await
    }

    /// The webhook as the API shows it now.
    /// The message log, `GET /api/v1/messages?{query}`.
    pub async fn message_log(&self, query: &str) -> Vec<app::api::MessageOut> {
        self.expect(
            self.get(&format!("/api/v1/messages?{query}")).await,
            reqwest::StatusCode::OK,
        )
        .await
    }

    pub async fn webhook(&self, id: app::ids::WebhookId) -> WebhookOut {
        self.expect(
            self.get(&format!("/api/v1/webhooks/{id}")).await,
            StatusCode::OK,
        )
        .await
    }

    /// Creates a webhook asset with these settings (which must be valid).
    pub async fn create_webhook(&self, settings: &serde_json::Value) -> WebhookOut {
        self.expect(
            self.post_json("/api/v1/webhooks", settings).await,
            StatusCode::CREATED,
        )
        .await
    }

    /// The answer's body, after checking that it has the expected status.
    pub async fn expect<T: DeserializeOwned>(
        &self,
        response: reqwest::Response,
        status: StatusCode,
    ) -> T {
        let url = response.url().clone();
        let actual = response.status();
        let body = response.text().await.expect("a body");
        assert_eq!(actual, status, "{url}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|error| panic!("{url}: {error}: {body}"))
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.send(self.client.post(self.url(path))).await
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.send(self.client.delete(self.url(path))).await
    }

    pub async fn post_json(&self, path: &str, body: &impl Serialize) -> reqwest::Response {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn put_json(&self, path: &str, body: &impl Serialize) -> reqwest::Response {
        self.send(self.client.put(self.url(path)).json(body)).await
    }

    pub async fn patch_json(&self, path: &str, body: &impl Serialize) -> reqwest::Response {
        self.send(self.client.patch(self.url(path)).json(body))
            .await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> reqwest::Response {
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body.to_owned());
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let description = format!("{request:?}");
        request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{description}: {error}"))
    }

    /// Asks the server to stop, waits until it has, and returns what `serve` returned.
    pub async fn stop(mut self) -> server::Result<()> {
        self.request_shutdown();
        let serving = self.serving.take().expect("the server is running");
        serving.await.expect("the server task does not panic")
    }

    fn request_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.request_shutdown();
    }
}
