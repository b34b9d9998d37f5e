//! `x-request-id` in and out: taken from the client when valid, else the API Gateway request id,
//! else a new UUID; put on the response, on the request's tracing span (so on every log line)
//! and in error bodies.

use std::time::Instant;

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use lambda_http::RequestExt;
use tracing::Instrument;

use crate::http::error::ApiError;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served by the current task, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// `work` with the current request's id and tracing span, for a task spawned on its behalf
/// (task-locals and spans do not cross `tokio::spawn` by themselves).
pub fn carry<F: std::future::Future>(work: F) -> impl std::future::Future<Output = F::Output> {
    let id = current().unwrap_or_default();
    let span = tracing::Span::current();
    REQUEST_ID.scope(id, work.instrument(span))
}

/// 1 to 128 visible ASCII characters, as API.md allows.
fn is_valid(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

pub async fn middleware(req: Request, next: Next) -> Response {
    let client_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .map(|v| v.as_bytes().to_vec());
    let gateway_id = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    let lambda_request_id = req.lambda_context_ref().map(|c| c.request_id.clone());
    let (id, invalid) = match client_id {
        Some(raw) if is_valid(&raw) => (String::from_utf8_lossy(&raw).into_owned(), false),
        Some(_) => (uuid::Uuid::new_v4().to_string(), true),
        None => (
            gateway_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            false,
        ),
    };
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        lambda_request_id = lambda_request_id.as_deref().unwrap_or(""),
        method = %req.method(),
        path = %req.uri().path(),
        user_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let scoped_id = id.clone();
    let mut response = REQUEST_ID
        .scope(
            scoped_id,
            async move {
                if invalid {
                    return ApiError::BadRequest(
                        "x-request-id must be 1 to 128 visible ASCII characters".into(),
                    )
                    .into_response();
                }
                let response = next.run(req).await;
                tracing::info!(
                    status = response.status().as_u16(),
                    latency_us = started.elapsed().as_micros() as u64,
                    "request completed"
                );
                response
            }
            .instrument(span),
        )
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}
