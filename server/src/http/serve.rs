//! The HTTP server's accept loop. `axum::serve` sets no header read timeout and no limit on
//! connections, so a few hundred clients sending headers one byte at a time (slow-loris) held
//! a connection each for as long as they liked. Here every connection must send its request
//! headers within a deadline, and at most `max_connections` are open at once (the next ones
//! wait in the listen backlog).

use std::{future::Future, sync::Arc, time::Duration};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
    task::JoinSet,
};
use tower::ServiceExt as _;

/// What one client may take of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once, at most.
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers (also between requests
    /// on a kept-alive connection).
    pub header_read_timeout: Duration,
    /// How long a request's body may take to arrive, whole.
    pub body_read_timeout: Duration,
}

/// How long the request's body may take to arrive (a request extension; the JSON extractor
/// keeps to it).
#[derive(Debug, Clone, Copy)]
pub struct BodyReadTimeout(pub Duration);

/// Serves `router` until `shutdown` completes; then stops accepting, lets the requests in
/// flight finish and closes idle connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // pause rather than spin, and go on.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = stream;
        let _ = stream.set_nodelay(true);
        // Handlers learn the client's address (the audit log, set-up from loopback only).
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
                    .extensions_mut()
                    .insert(BodyReadTimeout(limits.body_read_timeout));
                request
            },
        ));
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let _permit = permit;
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        tracing::debug!(%error, "connection ended");
                    }
                }
                _ = async { stopping.wait_for(|stop| *stop).await.is_ok() } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop.send(true);
    tracing::debug!(open = connections.len(), "closing connections");
    while connections.join_next().await.is_some() {}
    tracing::debug!("connections closed");
}
