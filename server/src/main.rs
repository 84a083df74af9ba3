use std::process::ExitCode;

use clap::Parser;
use server::{Config, Server, config::LogFormat};
use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    if let Err(message) = init_logging(&config) {
        eprintln!("wayfarer: {message}");
        return ExitCode::FAILURE;
    }
    let started = match Server::start(&config).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("wayfarer: {error}");
            return ExitCode::FAILURE;
        }
    };
    match started.serve(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wayfarer: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) -> Result<(), String> {
    let filter: Targets = config
        .log
        .parse()
        .map_err(|error| format!("invalid --log filter `{}`: {error}", config.log))?;
    let text = (config.log_format == LogFormat::Text)
        .then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    let json = (config.log_format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .try_init()
        .map_err(|error| format!("cannot install the logger: {error}"))
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM, the signals terminals and service managers send.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}
