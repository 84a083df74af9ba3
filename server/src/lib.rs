//! The Wayfarer server: configuration, storage and HTTP, assembled by [`Server`].

pub mod clock;
pub mod config;
pub mod engine;
pub mod error;
pub mod http;
pub mod intake;
pub mod store;

use std::{future::Future, net::SocketAddr, sync::Arc};

use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;

use crate::{
    clock::{SharedClock, SystemClock},
    http::AppState,
    intake::EventIntake,
    store::Store,
};
pub use crate::{
    config::Config,
    error::{Error, Result},
};

/// A server whose database is open and migrated and whose port is bound, ready to serve.
/// Splitting start-up from serving lets callers learn the bound address (tests listen on
/// port 0) and report configuration errors before anything runs.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: axum::Router,
    store: Store,
}

impl Server {
    pub async fn start(config: &Config) -> Result<Self> {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Starts with the given clock; tests pass a [`clock::ManualClock`] to move time.
    pub async fn start_with_clock(config: &Config, clock: SharedClock) -> Result<Self> {
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|error| Error::listen(config.listen, error))?;
        let local_addr = listener
            .local_addr()
            .map_err(|error| Error::listen(config.listen, error))?;
        warn_if_bundle_missing(config);
        let state = AppState {
            store: store.clone(),
            clock,
            intake: EventIntake::start(store.clone()),
            leptos: leptos_options(config, local_addr),
        };
        Ok(Self {
            listener,
            local_addr,
            router: http::router(state),
            store,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish and closes the
    /// database pool.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        tracing::info!(
            address = %self.local_addr,
            database = self.store.backend().name(),
            "listening on http://{}",
            self.local_addr
        );
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(Error::Serve);
        self.store.close().await;
        tracing::info!("stopped");
        served
    }
}

/// The API works without the browser bundle, but pages would render without styles or
/// interactivity; say so instead of leaving the operator to find 404s in the browser.
fn warn_if_bundle_missing(config: &Config) {
    let script = config.site_root.join("pkg").join("wayfarer.js");
    if !script.is_file() {
        tracing::warn!(
            missing = %script.display(),
            "browser bundle not found: build it with `cargo leptos build` or point --site-root \
             at the folder it wrote"
        );
    }
}

fn leptos_options(config: &Config, local_addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        // Must equal `name` in the workspace's [[workspace.metadata.leptos]]: it names the
        // bundle files under pkg/.
        .output_name(Arc::<str>::from("wayfarer"))
        .site_root(Arc::<str>::from(
            config.site_root.to_string_lossy().as_ref(),
        ))
        .site_pkg_dir(Arc::<str>::from("pkg"))
        .site_addr(local_addr)
        .build()
}
