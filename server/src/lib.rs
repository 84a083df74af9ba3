//! The Wayfarer server: configuration, storage and HTTP, assembled by [`Server`].

pub mod admin;
pub(crate) mod alert;
pub mod auth;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod engine;
pub mod error;
pub(crate) mod http;
pub(crate) mod intake;
pub mod messaging;
pub mod metrics;
mod pace;
pub mod retention;
pub mod secret_key;
pub mod store;
pub mod webhook;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use leptos::prelude::LeptosOptions;
use tokio::{net::TcpListener, sync::watch};

use crate::{
    alert::Alerter,
    clock::{SharedClock, SystemClock},
    delivery::{DeliverySettings, DeliveryWorker, guard::TargetGuard, send::Sender},
    engine::{Engine, EngineSettings},
    http::AppState,
    intake::{EventIntake, IntakeQueue},
    messaging::{MessageWorker, MessagingSettings},
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
    /// `--metrics-listen`: `/metrics` without authentication, on an address of its own.
    metrics_listener: Option<(TcpListener, axum::Router)>,
    limits: http::serve::Limits,
    store: Store,
    engine: Engine,
    intake: IntakeQueue,
    deliveries: DeliveryWorker,
    messages: MessageWorker,
    pruner: retention::Pruner,
    alerter: Arc<Alerter>,
    /// How often the alert sweep looks at the clock.
    poll_interval: Duration,
    insecure_no_auth: bool,
    role: config::ProcessRole,
    clock: SharedClock,
    metrics: metrics::SharedMetrics,
    /// Events one transaction stores at most (the engine's batch).
    group_size: usize,
    /// For the connection that listens for other processes' events (PostgreSQL).
    database_url: String,
}

impl Server {
    pub async fn start(config: &Config) -> Result<Self> {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Starts with the given clock; tests pass a [`clock::ManualClock`] to move time.
    pub async fn start_with_clock(config: &Config, clock: SharedClock) -> Result<Self> {
        if config.insecure_no_auth && !config.listen.ip().is_loopback() {
            return Err(Error::InsecureBeyondLoopback(config.listen));
        }
        if config.role != config::ProcessRole::All
            && store::Backend::from_url(&config.database_url)? == store::Backend::Sqlite
        {
            return Err(Error::RoleNeedsPostgres(config.role));
        }
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|error| Error::listen(config.listen, error))?;
        let local_addr = listener
            .local_addr()
            .map_err(|error| Error::listen(config.listen, error))?;
        let metrics_listener = match config.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .map_err(|error| Error::listen(address, error))?,
            ),
            None => None,
        };
        // After the checks that change nothing: a server that cannot listen creates no key file.
        let (store, keys) = with_secret_key(store, config, clock.now()).await?;
        take_over_claims(&store, clock.now()).await?;
        warn_if_bundle_missing(config);
        if !config.listen.ip().is_loopback() && config.public_url.is_none() {
            tracing::warn!(
                listen = %config.listen,
                "listening beyond loopback without --public-url: requests naming any other host \
                 than a loopback address are refused (421); pass --public-url with the address \
                 people use"
            );
        }
        if !config.role.serves_api() && config.smtp_url.is_some() && config.public_url.is_none() {
            tracing::warn!(
                "a worker sending alert emails without --public-url: their links would point at \
                 this worker, which serves no pages; pass --public-url with the address people \
                 use"
            );
        }
        let metrics = metrics::SharedMetrics::default();
        let (intake, intake_queue) = EventIntake::new();
        let engine = Engine::new(
            store.clone(),
            clock.clone(),
            EngineSettings {
                poll_interval: Duration::from_millis(config.engine_poll_ms),
                batch_size: config.engine_batch,
            },
        );
        let sender = Sender::new(
            TargetGuard {
                allow_private: config.allow_private_targets,
                allowed_networks: config.allowed_target_networks.clone().into(),
            },
            Duration::from_secs(config.delivery_timeout_secs),
        )
        .map_err(Error::Http)?;
        if config.smtp_url.is_none() {
            tracing::info!("no --smtp-url: webhook failure alerts are not emailed");
        }
        let alerter = Arc::new(
            Alerter::new(
                config.smtp_url.as_deref(),
                &config.alert_from,
                store.clone(),
                clock.clone(),
                public_base(config, local_addr),
            )?
            .measured_by(metrics.clone()),
        );
        let deliveries = DeliveryWorker::new(
            store.clone(),
            clock.clone(),
            sender.clone(),
            DeliverySettings {
                poll_interval: Duration::from_millis(config.engine_poll_ms),
                batch_size: config.delivery_batch,
                per_webhook_concurrency: config.delivery_concurrency as usize,
                shutdown_grace: Duration::from_secs(config.shutdown_grace_secs),
            },
        )
        .with_alerts(alerter.clone())
        .recording_through(intake.attempt_log())
        .measured_by(metrics.clone());
        let mailer = config
            .smtp_url
            .as_deref()
            .map(messaging::email::Mailer::new)
            .transpose()
            .map_err(Error::SmtpUrl)?;
        let tracker =
            messaging::tracking::Tracker::new(&public_base(config, local_addr), keys.link_keys());
        let messages = MessageWorker::new(
            store.clone(),
            clock.clone(),
            mailer,
            sender.clone(),
            tracker.clone(),
            MessagingSettings {
                poll_interval: Duration::from_millis(config.engine_poll_ms),
                batch_size: config.message_batch,
                concurrency: 16,
                email_attribute: config.email_attribute.clone(),
            },
        )
        .measured_by(metrics.clone());
        let pruner = retention::Pruner::new(
            store.clone(),
            clock.clone(),
            retention::RetentionSettings {
                keep: (config.attempt_retention_days > 0)
                    .then(|| i64::from(config.attempt_retention_days) * 24 * store::HOUR_MS),
                poll_interval: Duration::from_millis(config.engine_poll_ms),
            },
        );
        let engine = engine
            .handing_deliveries_to(deliveries.handoff())
            .waking_message_worker(messages.wake_handle())
            .measured_by(metrics.clone());
        let auth = auth::Auth::new(
            store.clone(),
            clock.clone(),
            auth::SessionPolicy {
                idle: i64::try_from(config.session_idle_minutes * 60_000).unwrap_or(i64::MAX),
                lifetime: i64::try_from(config.session_lifetime_hours * 3_600_000)
                    .unwrap_or(i64::MAX),
                secure_cookies: config
                    .public_url
                    .as_ref()
                    .is_some_and(|url| url.scheme() == "https"),
            },
            config.insecure_no_auth,
        );
        let state = AppState {
            auth,
            ingest_limiter: Arc::new(auth::rate::IngestLimiter::new(auth::rate::RateLimit {
                per_second: config.ingest_rate_per_key,
                burst: config.ingest_burst_per_key,
            })),
            store: store.clone(),
            clock: clock.clone(),
            sender,
            site: http::Site::new(config.public_url.clone()),
            intake,
            tracker,
            messaging: messaging::MessagingSetup {
                email_attribute: config.email_attribute.clone(),
                smtp: config.smtp_url.is_some(),
                sends: config.role.works(),
            },
            metrics: metrics.clone(),
            leptos: leptos_options(config, local_addr),
        };
        let metrics_listener =
            metrics_listener.map(|listener| (listener, http::metrics::open_router(state.clone())));
        Ok(Self {
            listener,
            local_addr,
            router: if config.role.serves_api() {
                http::router(state)
            } else {
                http::worker_router(state)
            },
            metrics_listener,
            limits: http::serve::Limits {
                max_connections: config.max_connections as usize,
                header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
                body_read_timeout: Duration::from_secs(config.body_read_timeout_secs),
            },
            store,
            engine,
            intake: intake_queue,
            deliveries,
            messages,
            pruner,
            alerter,
            poll_interval: Duration::from_millis(config.engine_poll_ms),
            insecure_no_auth: config.insecure_no_auth,
            role: config.role,
            clock,
            metrics,
            group_size: usize::try_from(config.engine_batch).unwrap_or(usize::MAX),
            database_url: config.database_url.clone(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where `--metrics-listen` serves `/metrics`, when it was given.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Serves and runs the engine until `shutdown` completes, then lets requests in flight
    /// and the engine's current batch finish, and closes the database pool.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        if self.role.serves_api() {
            tracing::info!(
                address = %self.local_addr,
                database = self.store.backend().name(),
                role = %self.role,
                "listening; open {} in a browser",
                browser_url(self.local_addr)
            );
            self.say_how_to_sign_in().await;
        } else {
            tracing::info!(
                address = %self.local_addr,
                database = self.store.backend().name(),
                "worker started; it answers /api/v1/health and /api/v1/metrics"
            );
        }
        let (stop_engine, engine_stopping) = watch::channel(false);
        let mut tasks: Vec<(tokio::task::JoinHandle<()>, &str)> = Vec::new();
        if self.role.works() {
            if self.store.backend() == store::Backend::Postgres {
                let listening = store::listen::wake_on_events_stored(
                    self.database_url.clone(),
                    self.engine.events_stored_handle(),
                    engine_stopping.clone(),
                );
                tasks.push((tokio::spawn(listening), "event notifications"));
            }
            tasks.extend([
                (
                    tokio::spawn(self.engine.run(self.intake, engine_stopping.clone())),
                    "engine",
                ),
                (
                    tokio::spawn(self.deliveries.run(engine_stopping.clone())),
                    "delivery worker",
                ),
                (
                    tokio::spawn(self.messages.run(engine_stopping.clone())),
                    "message worker",
                ),
                (
                    tokio::spawn(self.pruner.run(engine_stopping.clone())),
                    "attempt log pruner",
                ),
                (
                    tokio::spawn(
                        self.alerter
                            .sweep(self.poll_interval, engine_stopping.clone()),
                    ),
                    "alert sweep",
                ),
            ]);
        } else {
            let intake = self.intake.store_only(
                self.store.clone(),
                self.clock.clone(),
                self.metrics.clone(),
                self.group_size,
                engine_stopping.clone(),
            );
            tasks.push((tokio::spawn(intake), "event intake"));
        }
        if let Some((listener, router)) = self.metrics_listener {
            tasks.push((
                tokio::spawn(serve_metrics(
                    listener,
                    router,
                    self.limits,
                    engine_stopping,
                )),
                "metrics listener",
            ));
        }
        http::serve::serve(self.listener, self.router, self.limits, shutdown).await;
        let _ = stop_engine.send(true);
        for (task, name) in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "the {name} task ended abnormally");
            }
            tracing::debug!("{name} stopped");
        }
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

impl Server {
    /// Tells the person who just started the server how to get in.
    async fn say_how_to_sign_in(&self) {
        if self.insecure_no_auth {
            tracing::warn!(
                "--insecure-no-auth: ANYONE WHO REACHES THIS SERVER IS AN ADMIN, without signing \
                 in; use it for a demo on this machine only"
            );
            return;
        }
        match self.store.operator_count().await {
            Ok(0) => tracing::info!(
                "no operator yet: open {}/setup in a browser on this machine to create the first \
                 admin, or run `wayfarer admin create-operator --email you@example.com`",
                browser_url(self.local_addr)
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot count operators"),
        }
    }
}

/// Serves `--metrics-listen` until the server stops.
async fn serve_metrics(
    listener: TcpListener,
    router: axum::Router,
    limits: http::serve::Limits,
    mut stop: watch::Receiver<bool>,
) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "serving /metrics without authentication");
    }
    // The same accept loop as the API's: its header deadline and connection limit keep a
    // slow client from holding the scrape port.
    http::serve::serve(listener, router, limits, async move {
        let _ = stop.wait_for(|stop| *stop).await;
    })
    .await;
}

/// Where the secret key file is: `--secret-key-file`, or beside the SQLite file; `None` for
/// an in-memory SQLite database, whose secrets need no key that outlives it.
pub fn secret_key_path(config: &Config) -> Result<Option<std::path::PathBuf>> {
    if let Some(path) = &config.secret_key_file {
        return Ok(Some(path.clone()));
    }
    match store::Backend::from_url(&config.database_url)? {
        store::Backend::Postgres => Err(Error::SecretKeyFileRequired),
        store::Backend::Sqlite => Ok(store::sqlite_file(&config.database_url).map(|file| {
            file.parent()
                .unwrap_or_else(|| std::path::Path::new("."))
                .join("wayfarer-secret.key")
        })),
    }
}

/// The store, sealing webhook secrets with the key of `--secret-key-file` (created if missing
/// on a database that has no key yet), and every secret still stored in plain text sealed now.
/// Refuses a key file that does not hold the key the database's secrets are sealed with.
async fn with_secret_key(
    store: Store,
    config: &Config,
    now: clock::Millis,
) -> Result<(Store, Arc<secret_key::KeyRing>)> {
    let Some(path) = secret_key_path(config)? else {
        let keys = Arc::new(secret_key::KeyRing::ephemeral()?);
        return Ok((store.with_secret_key(keys.clone()), keys));
    };
    let recorded = store.sealing_key_id().await.map_err(Error::Reseal)?;
    if let Some(key_id) = recorded.clone()
        && !path.exists()
    {
        return Err(Error::SecretKeyFileMissing { path, key_id });
    }
    let (keys, created) = secret_key::KeyRing::load_or_create(&path)?;
    if created {
        tracing::info!(
            path = %path.display(),
            "created the secret key file webhook secrets are sealed with; back it up \
             apart from the database: without it they cannot be read"
        );
    }
    check_sealing_key(recorded, &keys, &path)?;
    let keys = Arc::new(keys);
    let store = store.with_secret_key(keys.clone());
    let sealed = store
        .reseal_webhook_secrets()
        .await
        .map_err(Error::Reseal)?;
    if sealed > 0 {
        tracing::info!(webhooks = sealed, "sealed the secrets stored in plain text");
    }
    // Another process may have recorded its own key meanwhile (started at the same time on a
    // new database, with another key file): the first one wins.
    let sealing = store
        .adopt_sealing_key(keys.current_id(), &keys.ids(), now)
        .await
        .map_err(Error::Reseal)?;
    check_sealing_key(Some(sealing), &keys, &path)?;
    Ok((store, keys))
}

/// Refuses a key file that does not hold the key the database says its secrets are sealed
/// with (`recorded`; none: a database no process with a key file has used yet).
pub(crate) fn check_sealing_key(
    recorded: Option<String>,
    keys: &secret_key::KeyRing,
    path: &std::path::Path,
) -> Result<()> {
    match recorded {
        Some(key_id) if !keys.ids().contains(&key_id) => Err(Error::SecretKeyNotHeld {
            path: path.to_owned(),
            key_id,
        }),
        _ => Ok(()),
    }
}

/// A SQLite file has one server process, so the deliveries and messages claimed there when
/// this one starts were claimed by a predecessor that died mid-send: they are due at once
/// rather than when their lease lapses. (On PostgreSQL other live processes may hold claims; theirs lapse
/// within [`delivery::LEASE`] of their death.)
async fn take_over_claims(store: &Store, now: clock::Millis) -> Result<()> {
    if store.backend() != store::Backend::Sqlite {
        return Ok(());
    }
    let taken = store
        .release_claims(None, None, now)
        .await
        .map_err(Error::TakeOver)?;
    let messages = store
        .release_message_claims(None, now)
        .await
        .map_err(Error::TakeOver)?;
    if taken + messages > 0 {
        tracing::info!(
            deliveries = taken,
            messages,
            "took over the deliveries and messages a previous process was sending when it stopped"
        );
    }
    Ok(())
}

/// Where people reach the server from outside, for links in emails: `--public-url`, else the
/// address it listens on.
fn public_base(config: &Config, local_addr: SocketAddr) -> String {
    match &config.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => browser_url(local_addr),
    }
}

/// The address to type into a browser on this machine: a server listening on every address
/// (`0.0.0.0`, `::`) is reached through loopback.
fn browser_url(listening: SocketAddr) -> String {
    let mut address = listening;
    if address.ip().is_unspecified() {
        address.set_ip(match address {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{address}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_url_of_every_address_is_reachable_from_this_machine() {
        let url = |address: &str| browser_url(address.parse().expect("an address"));
        assert_eq!(url("127.0.0.1:3000"), "http://127.0.0.1:3000");
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080");
        assert_eq!(url("192.168.1.4:80"), "http://192.168.1.4:80");
    }
}
