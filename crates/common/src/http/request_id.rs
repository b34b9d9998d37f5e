//! `x-request-id` in and out: taken from the client when valid, else the API Gateway request id,
//! else a new UUID; put on the response, on every log line of the request (the task's
//! [`log_context`]) and in error bodies. Also the envelope for axum's own `405`.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use lambda_http::RequestExt;

use crate::{
    http::error::ApiError,
    log_context::{self, RequestContext},
};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served by the current task, if any.
pub fn current() -> Option<String> {
    log_context::current_request_id()
}

/// `work` with the current request's id and tracing span, for a task spawned on its behalf.
pub fn carry<F: std::future::Future>(work: F) -> impl std::future::Future<Output = F::Output> {
    log_context::carry(work)
}

/// 1 to 128 visible ASCII characters, as docs/api.md allows.
fn is_valid(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

/// The outermost part of every application ([`super::App`]): the request id, the request's log
/// line, and the envelope for axum's `405`, around the router.
pub async fn middleware(req: Request, mut router: axum::Router) -> Response {
    let started = Instant::now();
    let client_id = req.headers().get(&X_REQUEST_ID).cloned();
    let (header_value, invalid) = match client_id {
        Some(value) if is_valid(value.as_bytes()) => (Some(value), false),
        Some(_) => (None, true),
        None => (None, false),
    };
    let id = match &header_value {
        // Visible ASCII only (checked above).
        Some(value) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
        None if invalid => uuid::Uuid::new_v4().to_string(),
        None => match req.request_context_ref() {
            Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
            _ => None,
        }
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    let context = Arc::new(RequestContext::new(
        id,
        req.lambda_context_ref().map(|c| c.request_id.clone()),
        req.method().clone(),
        req.uri().clone(),
    ));
    let header_value = header_value.or_else(|| HeaderValue::from_str(&context.request_id).ok());
    let mut response = log_context::scope(context, async move {
        if invalid {
            return ApiError::BadRequest(
                "x-request-id must be 1 to 128 visible ASCII characters".into(),
            )
            .into_response();
        }
        let response = match tower::Service::call(&mut router, req).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let response = method_not_allowed_envelope(response);
        tracing::info!(
            status = response.status().as_u16(),
            latency_us = started.elapsed().as_micros() as u64,
            "request completed"
        );
        response
    })
    .await;
    if let Some(value) = header_value {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

/// axum answers a known path with an unknown method by an empty 405; give it the envelope,
/// keeping the `allow` header.
fn method_not_allowed_envelope(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().get(header::CONTENT_TYPE).is_some()
    {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut replaced = ApiError::MethodNotAllowed.into_response();
    if let Some(allow) = allow {
        replaced.headers_mut().insert(header::ALLOW, allow);
    }
    replaced
}
