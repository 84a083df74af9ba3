//! HTTP: the versioned REST API under `/api/v1` and the server-rendered Leptos UI.

mod access;
mod api_keys;
mod audit;
mod browser;
mod channels;
mod contacts;
mod deliveries;
mod error;
mod events;
mod extract;
mod health;
mod journeys;
mod messages;
pub(crate) mod metrics;
mod openapi;
mod operators;
mod receipts;
pub(crate) mod serve;
mod session;
mod templates;
mod tracking;
mod webhooks;

use axum::{Router, extract::FromRef, response::Redirect, routing::get};
use leptos::prelude::LeptosOptions;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use self::{browser::Site, error::ApiError};

/// Body limits: the batches and journey documents get axum's 2 MB; a single contact or event
/// gets less, and a webhook's settings much less, so a client cannot make the server buffer
/// megabytes where kilobytes do.
mod body_limit {
    /// One contact's attributes or one event's properties.
    pub const ONE_RECORD: usize = 256 * 1024;
    /// A webhook's settings, a preview's sample data, a secret rotation.
    pub const SETTINGS: usize = 64 * 1024;
}
use crate::{
    auth::Auth, clock::SharedClock, delivery::send::Sender, intake::EventIntake, store::Store,
};

/// What every handler can reach. Cloning is cheap: the store shares its pool.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: SharedClock,
    pub intake: EventIntake,
    /// The HTTP client for webhook requests (the test button uses it too).
    pub sender: Sender,
    /// Checks the tokens of the links in sent emails.
    pub tracker: crate::messaging::tracking::Tracker,
    pub messaging: crate::messaging::MessagingSetup,
    /// The names and origins this server answers to.
    pub site: Site,
    /// Who is calling: sessions, API keys, sign-in.
    pub auth: std::sync::Arc<Auth>,
    /// Events per second each API key may send.
    pub ingest_limiter: std::sync::Arc<crate::auth::rate::IngestLimiter>,
    /// This process's counters, for the metrics scrape.
    pub metrics: crate::metrics::SharedMetrics,
    pub leptos: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let render_shell = {
        let options = state.leptos.clone();
        move || app::shell(options.clone())
    };
    Router::new()
        // The journeys list is the home page; redirecting here keeps one URL per page.
        .route("/", get(|| async { Redirect::temporary("/journeys") }))
        .nest("/api/v1", api_v1(&state))
        .merge(tracking::router())
        .leptos_routes(&state, routes, render_shell)
        .fallback(file_and_error_handler::<AppState, _>(app::shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::page_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.site.clone(),
            browser::guard,
        ))
        .with_state(state)
        .layer(
            // Each request's span names its method and path for whatever it logs; responses
            // are logged at debug level only, and server faults once, by `ApiError`.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::DEBUG))
                .on_failure(()),
        )
}

/// What a `--role worker` process answers: its health and its metrics (for a key with
/// `metrics:read`); the API and the pages are the web processes'.
pub fn worker_router(state: AppState) -> Router {
    const ELSEWHERE: &str = "this process is a worker (--role worker): it answers \
                             /api/v1/health and /api/v1/metrics only; the API and the pages are \
                             served by the web processes";
    let api = Router::new()
        .merge(health::router())
        .merge(metrics::router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        .fallback(|| async { ApiError::not_found(ELSEWHERE) });
    Router::new()
        .nest("/api/v1", api)
        .fallback(|| async { ApiError::not_found(ELSEWHERE) })
        .with_state(state)
        .layer(TraceLayer::new_for_http().make_span_with(DefaultMakeSpan::new().level(Level::INFO)))
}

fn api_v1(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(api_keys::router())
        .merge(audit::router())
        .merge(channels::router())
        .merge(contacts::router())
        .merge(deliveries::router())
        .merge(events::router())
        .merge(health::router())
        .merge(journeys::router())
        .merge(messages::router())
        .merge(metrics::router())
        .merge(openapi::router())
        .merge(operators::router())
        .merge(receipts::router())
        .merge(session::router())
        .merge(templates::router())
        .merge(webhooks::router())
        // After routing, so that the guard knows the route and unknown paths stay 404s.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        .fallback(|| async { ApiError::not_found("no API endpoint at this path and method") })
}
