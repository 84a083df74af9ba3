//! Helpers for tests that run the `wayfarer` binary as a separate process.

use std::{
    net::TcpListener,
    time::{Duration, Instant},
};

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
