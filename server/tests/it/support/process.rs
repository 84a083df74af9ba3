//! Helpers for tests that run the `wayfarer` binary as a separate process.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use app::{
    api::{JourneyOut, JourneyStatsOut, WebhookOut},
    ids::{JourneyId, WebhookId},
};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::TestDatabase;

/// The `wayfarer` binary running as a process of its own, so a test can kill it with SIGKILL.
pub struct WayfarerProcess {
    child: Child,
    pub base: String,
    /// Sends an admin API key.
    client: reqwest::Client,
}

impl WayfarerProcess {
    /// Starts the binary on `port` and `database` with these extra arguments; returns once it
    /// answers its health check.
    pub async fn start(database: &TestDatabase, port: u16, arguments: &[&str]) -> Self {
        let child = Self::spawn(database, port, arguments);
        Self::once_healthy(child, database, port).await
    }

    /// Starts `count` processes at once (each on a port of its own); returns once every one
    /// answers its health check.
    pub async fn start_many(
        database: &TestDatabase,
        count: usize,
        arguments: &[&str],
    ) -> Vec<Self> {
        let spawned: Vec<(Child, u16)> = (0..count)
            .map(|_| {
                let port = free_port();
                (Self::spawn(database, port, arguments), port)
            })
            .collect();
        let mut running = Vec::with_capacity(count);
        for (child, port) in spawned {
            running.push(Self::once_healthy(child, database, port).await);
        }
        running
    }

    fn spawn(database: &TestDatabase, port: u16, arguments: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_wayfarer"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", database.url()])
            .arg("--secret-key-file")
            .arg(database.secret_key_file())
            .args(["--log", "warn", "--allow-private-targets"])
            .args(arguments)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start wayfarer")
    }

    async fn once_healthy(child: Child, database: &TestDatabase, port: u16) -> Self {
        wait_until_healthy(port).await;
        let key = super::create_api_key(database.url(), &[app::api::Scope::Admin]).await;
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: super::http_client_with_key(&key),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `body` (JSON, if any) to `path`, checks that the answer has `status`, and returns
    /// its JSON body.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        status: u16,
    ) -> T {
        let mut request = self.client.request(method.clone(), self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        assert_eq!(response.status(), status, "{method} {path}");
        response
            .json()
            .await
            .unwrap_or_else(|error| panic!("{method} {path}: the answer's JSON: {error}"))
    }

    /// Creates a webhook, then a journey with `draft`, and publishes it.
    pub async fn publish_with_webhook(
        &self,
        webhook: &Value,
        draft: impl FnOnce(WebhookId) -> Value,
    ) -> (WebhookOut, JourneyOut) {
        let webhook: WebhookOut = self
            .call(Method::POST, "/api/v1/webhooks", Some(webhook), 201)
            .await;
        let journey: JourneyOut = self
            .call(
                Method::POST,
                "/api/v1/journeys",
                Some(&json!({"name": "crash", "draft": draft(webhook.id)})),
                201,
            )
            .await;
        let _: Value = self
            .call(
                Method::POST,
                &format!("/api/v1/journeys/{}/publish", journey.id),
                None,
                201,
            )
            .await;
        (webhook, journey)
    }

    /// Publishes `signup` → a webhook to `url` → exit.
    pub async fn publish_signup_to(&self, url: &str) -> (WebhookOut, JourneyOut) {
        self.publish_with_webhook(&json!({"name": "CRM", "url": url}), |webhook| {
            serde_json::to_value(app::journey::fixtures::chain(
                "signup",
                vec![("hook", app::journey::fixtures::webhook_with(webhook, &[]))],
            ))
            .expect("a draft")
        })
        .await
    }

    /// Creates the contacts and sends each the event `events(id)` gives, a batch at a time.
    pub async fn contacts_with_events(&self, ids: &[String], event: impl Fn(&str) -> Value) {
        for chunk in ids.chunks(1_000) {
            let contacts: Vec<Value> = chunk.iter().map(|id| json!({"external_id": id})).collect();
            let _: Value = self
                .call(
                    Method::POST,
                    "/api/v1/contacts/batch",
                    Some(&json!({ "contacts": contacts })),
                    200,
                )
                .await;
            self.events(chunk.iter().map(|id| event(id)).collect())
                .await;
        }
    }

    /// Sends events, a batch at a time.
    pub async fn events(&self, events: Vec<Value>) {
        for chunk in events.chunks(1_000) {
            let _: Value = self
                .call(
                    Method::POST,
                    "/api/v1/events/batch",
                    Some(&json!({ "events": chunk })),
                    202,
                )
                .await;
        }
    }

    /// SIGKILL: no shutdown, no cleanup, as in a crash.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    pub async fn stats(&self, journey: JourneyId) -> JourneyStatsOut {
        self.client
            .get(self.url(&format!("/api/v1/journeys/{journey}/stats")))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats JSON")
    }
}

impl Drop for WayfarerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago, for a process the test starts.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Waits until the server on `port` answers its health check with 200.
pub async fn wait_until_healthy(port: u16) {
    let health = format!("http://127.0.0.1:{port}/api/v1/health");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = super::http_client().get(&health).send().await
            && response.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "wayfarer answers within 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
