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
/// Also selects aws-lc-rs as the process's TLS crypto provider (one provider for every client).
pub fn init_tracing() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    init_tracing_with(std::io::stdout);
}

/// The same logging, written to `writer` (tests read what would be logged).
pub fn init_tracing_with<W>(writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer);
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

/// The image processor's Lambda handler: one SQS batch in, the ids of the messages to retry out
/// (`batchItemFailures`). A record without a message id cannot be reported alone, so the whole
/// batch is failed and retried instead (never an empty id).
pub async fn handle_image_batch(
    images: &crate::services::images::ImageService,
    event: aws_lambda_events::event::sqs::SqsEvent,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, BoxError> {
    let mut messages = Vec::with_capacity(event.records.len());
    for record in event.records {
        let id = record
            .message_id
            .ok_or("an SQS record without a messageId")?;
        messages.push((id, record.body.unwrap_or_default()));
    }
    let failed = images.handle_batch(messages).await;
    let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    for id in failed {
        let mut failure = aws_lambda_events::event::sqs::BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// `main` of the image processor: `lambda_runtime` with SQS events under Lambda; elsewhere it
/// long-polls `IMAGE_QUEUE_URL` and feeds the same handler.
pub async fn serve_image_processor() -> Result<(), BoxError> {
    init_tracing();
    let config = Config::from_env()?;
    let state = crate::state::AppState::new(crate::state::Deps::from_config(config.clone()).await?);
    if is_lambda() {
        let images = state.images.clone();
        return lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| {
                let images = images.clone();
                async move { handle_image_batch(&images, event.payload).await }
            },
        ))
        .await;
    }
    let queue_url = config
        .image_queue_url
        .clone()
        .ok_or("IMAGE_QUEUE_URL is required")?;
    let poller = spawn_image_poller(state, queue_url, std::time::Duration::from_secs(5));
    shutdown_signal().await;
    poller.abort();
    Ok(())
}

/// Long-polls the image queue and hands each batch to the image service, like the Lambda
/// event source mapping: handled messages are deleted; failed ones become visible again after
/// `retry_after` and reach the DLQ after the queue's `maxReceiveCount`.
pub fn spawn_image_poller(
    state: crate::state::AppState,
    queue_url: String,
    retry_after: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let sqs = state.sqs.clone();
        loop {
            let received = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(2)
                .send()
                .await;
            let messages = match received {
                Ok(out) => out.messages.unwrap_or_default(),
                Err(err) => {
                    tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&err), "receiving from the image queue failed");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                continue;
            }
            let batch: Vec<(String, String)> = messages
                .iter()
                .filter_map(|m| Some((m.message_id.clone()?, m.body.clone().unwrap_or_default())))
                .collect();
            let failed = state.images.handle_batch(batch).await;
            for message in &messages {
                let (Some(id), Some(receipt)) = (&message.message_id, &message.receipt_handle)
                else {
                    continue;
                };
                let result = if failed.contains(id) {
                    sqs.change_message_visibility()
                        .queue_url(&queue_url)
                        .receipt_handle(receipt)
                        .visibility_timeout(retry_after.as_secs() as i32)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
                } else {
                    sqs.delete_message()
                        .queue_url(&queue_url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
                };
                if let Err(err) = result {
                    tracing::warn!(message_id = %id, error = %err, "could not settle an image message");
                }
            }
        }
    })
}
