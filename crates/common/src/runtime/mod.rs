//! One binary, two front doors: under Lambda (`AWS_LAMBDA_RUNTIME_API` set) the router is
//! served by `lambda_http` (API Gateway HTTP API, payload v2.0); otherwise by `axum::serve` on
//! `HOST:PORT`, with graceful shutdown on SIGTERM / Ctrl-C. Queue consumers: [`queue`].

pub mod envelope;
pub mod json_lines;
pub mod queue;
pub mod stdout;

use tracing_subscriber::{filter::Targets, prelude::*};

use crate::{config::BaseConfig, error::BoxError};

pub fn is_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// JSON log lines (one per event, with the request's context and the current spans' fields:
/// request id, user id …: [`json_lines`]) on stdout, queued for a writer thread outside Lambda
/// ([`stdout`]). Also selects aws-lc-rs as the process's TLS crypto provider (one provider for
/// every client).
pub fn init_tracing() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    stdout::init(if is_lambda() {
        stdout::Mode::Direct
    } else {
        stdout::Mode::Background
    });
    init_tracing_to(|line| stdout::write_line(&[&line]));
}

/// The same logging, each line written whole to what `writer` makes (tests read what would be
/// logged).
pub fn init_tracing_with<W, M>(writer: M)
where
    W: std::io::Write,
    M: Fn() -> W + Send + Sync + 'static,
{
    init_tracing_to(move |line: Vec<u8>| {
        let _ = writer().write_all(&line);
    });
}

fn init_tracing_to(sink: impl Fn(Vec<u8>) + Send + Sync + 'static) {
    // `RUST_LOG` as a level or `target=level` list (`warn`, `info,common::http=debug`):
    // `Targets`, not `EnvFilter`, whose span and field matching (regexes built at start) cost
    // a cold start about 0.15 ms for directives no deployment sets.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|directives| !directives.trim().is_empty())
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(json_lines::JsonLines::new(sink))
        .try_init();
}

pub async fn run(app: crate::http::App, config: &BaseConfig) -> Result<(), BoxError> {
    if is_lambda() {
        return lambda_http::run(app).await;
    }
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port)).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Lambda's shutdown phase: Lambda sends the runtime SIGTERM (and gives it 500 ms before
/// SIGKILL) only when an extension is registered, so this registers a no-op internal extension
/// (no events: its `GET /event/next` waits for good) — what `lambda_runtime`'s
/// `spawn_graceful_shutdown_handler` does, except that a Runtime API without the Extensions API
/// costs a warning here, not a panic — and, on SIGTERM (or SIGINT), runs `hook`, flushes what
/// is still queued for stdout, and exits with status 0. Called once, before the runtime's first
/// `GET /next` (an extension registers during init). Without it the process is killed
/// outright, and a line not yet written (a queued log line, an EMF document) is lost with it.
pub async fn on_lambda_shutdown<F, Fut>(hook: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let registered = lambda_extension::Extension::new()
        .with_events(&[])
        .with_extension_name("_shop-graceful-shutdown")
        .register()
        .await;
    let extension = match registered {
        Ok(extension) => extension,
        Err(err) => {
            tracing::warn!(error = %err, "no extension registered: SIGTERM will not come");
            return;
        }
    };
    let (Ok(mut sigterm), Ok(mut sigint)) = (
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()),
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot listen for SIGTERM: shutting down without a flush");
        return;
    };
    tokio::spawn(async move {
        let _ = extension.run().await;
    });
    tokio::spawn(async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
        tracing::info!("shutting down");
        hook().await;
        stdout::flush(std::time::Duration::from_millis(300));
        std::process::exit(0);
    });
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

/// Runs `handler` once per invocation under Lambda (a scheduled job, a deploy step); elsewhere
/// runs it once with `Value::Null` and prints its result.
pub async fn run_job<F, Fut>(handler: F) -> Result<(), BoxError>
where
    F: Fn(serde_json::Value) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, BoxError>> + Send,
{
    if is_lambda() {
        let handler = std::sync::Arc::new(handler);
        return lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
                let handler = handler.clone();
                async move { handler(event.payload).await }
            },
        ))
        .await;
    }
    let result = handler(serde_json::Value::Null).await?;
    tracing::info!(%result, "done");
    Ok(())
}
