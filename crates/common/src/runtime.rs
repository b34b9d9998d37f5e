//! One binary, two front doors: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) the router is
//! served by `lambda_http` (API Gateway HTTP API, payload v2.0); otherwise by `axum::serve` on
//! `HOST:PORT`, with graceful shutdown on SIGTERM / Ctrl-C.

use axum::Router;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::{config::Config, error::BoxError};

pub fn is_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// JSON log lines (one per event, with the current span's fields: request id, user id …).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(layer)
        .try_init();
}

pub async fn run(router: Router, config: &Config) -> Result<(), BoxError> {
    if is_lambda() {
        return lambda_http::run(router).await;
    }
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port)).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// The whole `main` of an HTTP service binary: config → state → router → runtime.
pub async fn serve(service: crate::routers::Service) -> Result<(), BoxError> {
    init_tracing();
    let config = Config::from_env()?;
    let state = crate::state::AppState::new(crate::state::Deps::from_config(config.clone()).await?);
    if service == crate::routers::Service::Products {
        state.spawn_background();
    }
    run(crate::routers::service_router(service, state), &config).await
}
