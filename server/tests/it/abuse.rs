//! The HTTP server under abuse: clients that send their headers a byte at a time (slow-loris)
//! neither stop others from being served nor keep their connections, and the server still
//! stops promptly.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use serde_json::json;

use crate::support::{Backend, TestServer};

const SLOW_CLIENTS: usize = 500;

#[tokio::test]
async fn slow_clients_are_cut_off_and_do_not_stop_others() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.header_read_timeout_secs = 1;
    })
    .await;
    let address = server
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut slow = Vec::with_capacity(SLOW_CLIENTS);
    for _ in 0..SLOW_CLIENTS {
        let mut stream = TcpStream::connect(&address).await.expect("connect");
        stream
            .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .expect("half a request");
        slow.push(stream);
    }

    let asked = Instant::now();
    let health = server.get("/api/v1/health").await;
    assert_eq!(health.status(), 200);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "served beside {SLOW_CLIENTS} slow clients: {:?}",
        asked.elapsed()
    );

    // Past the header deadline, the server has closed them.
    for stream in slow.iter_mut().step_by(25) {
        let mut buffer = [0_u8; 512];
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a slow client's connection is closed");
    }

    let stopping = Instant::now();
    server.stop().await.expect("a clean stop");
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "stops promptly: {:?}",
        stopping.elapsed()
    );
}

/// A body trickled in (or never finished) is answered 408 once its deadline passes, and the
/// connection is closed.
#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused() {
    let server = TestServer::start_with(Backend::Sqlite, |config| {
        config.body_read_timeout_secs = 1;
    })
    .await;
    let key =
        crate::support::create_api_key(server.database().url(), &[app::api::Scope::EventsWrite])
            .await;
    let address = server.url("").trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"contact\""
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("headers and a little body");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "answered and closed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// Where kilobytes do, the server does not buffer megabytes: one contact or event is limited to
/// 256 KB and a webhook's settings to 64 KB; batches keep 2 MB.
#[tokio::test]
async fn small_requests_have_small_body_limits() {
    let server = TestServer::start(Backend::Sqlite).await;
    let text = |bytes: usize| "x".repeat(bytes);
    let put = server
        .put_json(
            "/api/v1/contacts/ana",
            &json!({"attributes": {"note": text(300 * 1024)}}),
        )
        .await;
    assert_eq!(put.status(), 413);
    let put = server
        .put_json(
            "/api/v1/contacts/ana",
            &json!({"attributes": {"note": text(200 * 1024)}}),
        )
        .await;
    assert_eq!(put.status(), 200, "under the limit");

    let event = server
        .post_json(
            "/api/v1/events",
            &json!({"contact": "ana", "event": "note", "properties": {"text": text(300 * 1024)}}),
        )
        .await;
    assert_eq!(event.status(), 413);
    let batch = server
        .post_json(
            "/api/v1/events/batch",
            &json!({"events": [{"contact": "ana", "event": "note",
                                "properties": {"text": text(300 * 1024)}}]}),
        )
        .await;
    assert_eq!(batch.status(), 202, "a batch keeps 2 MB");

    let webhook = server
        .post_json(
            "/api/v1/webhooks",
            &json!({"name": text(100 * 1024), "url": "https://crm.example/hook"}),
        )
        .await;
    assert_eq!(webhook.status(), 413);
    let error: app::api::ErrorOut = webhook.json().await.expect("an error");
    assert_eq!(error.error.code, "payload_too_large");
}
