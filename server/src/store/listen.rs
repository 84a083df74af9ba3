//! Work handed between processes on PostgreSQL at once, instead of at the next poll: a commit
//! that stores events for the engines to match notifies [`EVENTS_STORED`], and each engine
//! listens. The poll stays as the fallback (a notification lost while the listening connection
//! reconnects is found by it).

use std::{convert::Infallible, sync::Arc, time::Duration};

use sqlx::postgres::PgListener;
use tokio::sync::{Notify, watch};

/// The channel a commit of unmatched events notifies.
pub const EVENTS_STORED: &str = "wayfarer_events_stored";

/// How long to wait before listening again after the listener failed.
const RETRY: Duration = Duration::from_secs(5);

/// Wakes `wake` at each notification; returns only with an error.
async fn listen(database_url: &str, wake: &Notify) -> sqlx::Result<Infallible> {
    let mut listener = PgListener::connect(database_url).await?;
    listener.listen(EVENTS_STORED).await?;
    loop {
        // `None`: the connection was lost; the next call reconnects. Events committed meanwhile
        // went unannounced: look for them now.
        if listener.try_recv().await?.is_none() {
            tracing::debug!("event notifications: reconnecting");
        }
        wake.notify_one();
    }
}

/// Wakes `wake` whenever any process commits events for the engines, until `stop` turns true.
/// `database_url` is a PostgreSQL URL (the listener holds a connection of its own).
pub async fn wake_on_events_stored(
    database_url: String,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            Err(error) = listen(&database_url, &wake) => {
                tracing::warn!(%error, "cannot listen for stored events; the engine polls for them meanwhile");
            }
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}
