use std::process::ExitCode;

use clap::Parser;
use server::{
    Config, Server,
    config::{Command, LogFormat},
};
use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    if let Err(message) = init_logging(&config) {
        eprintln!("wayfarer: {message}");
        return ExitCode::FAILURE;
    }
    if let Some(Command::Admin { action }) = &config.command {
        return match server::admin::run(&config, action).await {
            Ok(report) => {
                println!("{report}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("wayfarer: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let shutdown = match shutdown_signal() {
        Ok(shutdown) => shutdown,
        Err(message) => {
            eprintln!("wayfarer: {message}");
            return ExitCode::FAILURE;
        }
    };
    let started = match Server::start(&config).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("wayfarer: {error}");
            return ExitCode::FAILURE;
        }
    };
    match started.serve(shutdown).await {
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

/// Listens for Ctrl-C (SIGINT) and SIGTERM, the signals terminals and service managers send.
/// The handlers are installed when this is called, not when the future is first polled: a
/// signal arriving while the server starts must stop it gracefully, not kill it.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};

    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|error| format!("cannot listen for {name}: {error}"))
    };
    let mut interrupt = listen(SignalKind::interrupt(), "SIGINT")?;
    let mut terminate = listen(SignalKind::terminate(), "SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutdown requested; finishing requests in flight");
    })
}
