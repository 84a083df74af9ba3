use std::net::SocketAddr;

use server::{Config, Server};
use tokio::{sync::oneshot, task::JoinHandle};

use super::{Backend, TestDatabase};

/// The real server, started in this process on an ephemeral loopback port.
pub struct TestServer {
    addr: SocketAddr,
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
        let config = Config::for_tests(database.url());
        let server = Server::start(&config)
            .await
            .unwrap_or_else(|error| panic!("start the server on {}: {error}", database.url()));
        let addr = server.local_addr();
        let (shutdown, shutdown_requested) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = shutdown_requested.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("build an HTTP client");
        Self {
            addr,
            client,
            shutdown: Some(shutdown),
            serving: Some(serving),
            database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"))
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
