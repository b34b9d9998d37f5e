//! `Idempotency-Key` for `POST` routes, after the IETF httpapi draft and Stripe's API.
//!
//! The first request with a key (scoped to the caller) runs and its status and body are stored
//! for 24 hours; a retry with the same key and the same request (method, route, canonical JSON
//! body) gets the stored response and `idempotent-replayed: true` without running the handler;
//! the same key with another request is `422 IDEMPOTENCY_KEY_REUSED`; a retry while the first
//! runs is `409 IDEMPOTENCY_IN_PROGRESS`. A 5xx is not stored, and the key is not given up: the
//! handler may have committed before failing, so a retry of the same request runs it again
//! (and the handler finds its own work: checkout answers the order its key created), while
//! another request with the key is still refused.
//!
//! It is a route layer: it sees the matched route, and acts only on the routes it was given.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    auth::Authenticator,
    http::error::ApiError,
    models::idempotency::StoredResponse,
    services::idempotency::{Decision, IdempotencyService},
};

pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Whether a route demands the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRule {
    Optional,
    Required,
}

/// The `POST` routes (matched-path patterns) a router guards, declared by that router.
pub type IdempotentRoutes = &'static [(&'static str, KeyRule)];

/// The layer's state: the service, the authenticator (keys are scoped to the caller) and the
/// routes it guards.
#[derive(Clone)]
pub struct Idempotency {
    service: Arc<IdempotencyService>,
    auth: Arc<Authenticator>,
    routes: IdempotentRoutes,
    body_limit: usize,
}

impl Idempotency {
    pub fn new(
        service: Arc<IdempotencyService>,
        auth: Arc<Authenticator>,
        routes: IdempotentRoutes,
        body_limit: usize,
    ) -> Self {
        Self {
            service,
            auth,
            routes,
            body_limit,
        }
    }

    fn rule(&self, route: &str) -> Option<KeyRule> {
        self.routes
            .iter()
            .find(|(pattern, _)| *pattern == route)
            .map(|(_, rule)| *rule)
    }
}

fn parse_key(value: &HeaderValue) -> Result<String, ApiError> {
    let key = value.to_str().ok().filter(|k| {
        (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    });
    key.map(str::to_owned).ok_or_else(|| {
        ApiError::BadRequest("Idempotency-Key must be 1 to 255 printable ASCII characters".into())
    })
}

/// JSON with object keys sorted, so `{"a":1,"b":2}` and `{ "b": 2, "a": 1 }` are one request.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn fingerprint(method: &Method, route: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("{method} {route} {path}\n"));
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => {
            let mut text = String::new();
            canonical(&value, &mut text);
            hasher.update(text.as_bytes());
        }
        Err(_) => hasher.update(body),
    }
    hex::encode(hasher.finalize())
}

fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = axum::http::StatusCode::from_u16(stored.status).unwrap_or_default();
    let headers = response.headers_mut();
    if let Some(ct) = stored
        .content_type
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    if let Some(loc) = stored.location.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(header::LOCATION, loc);
    }
    headers.insert(
        IDEMPOTENT_REPLAYED.clone(),
        HeaderValue::from_static("true"),
    );
    response
}

/// The route layer.
pub async fn layer(State(idem): State<Idempotency>, req: Request, next: Next) -> Response {
    match guard(&idem, req, next).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn guard(idem: &Idempotency, req: Request, next: Next) -> Result<Response, ApiError> {
    if req.method() != Method::POST {
        return Ok(next.run(req).await);
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let rule = match route.as_deref().and_then(|r| idem.rule(r)) {
        Some(rule) => rule,
        _ => return Ok(next.run(req).await),
    };
    let header_value = req.headers().get(&IDEMPOTENCY_KEY).cloned();
    if header_value.is_none() && rule == KeyRule::Optional {
        return Ok(next.run(req).await);
    }
    let (mut parts, body) = req.into_parts();
    // Who asks comes first: keys are scoped to the caller, and an anonymous request is a 401
    // whatever its key looks like.
    let principal = idem.auth.authenticate(&parts).await?;
    parts.extensions.insert(principal.clone());
    let key = match header_value {
        Some(value) => parse_key(&value)?,
        None => {
            return Err(ApiError::BadRequest(
                "the Idempotency-Key header is required".into(),
            ));
        }
    };
    let bytes = axum::body::to_bytes(body, idem.body_limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge("the request body is too large".into()))?;
    let print = fingerprint(
        &parts.method,
        route.as_deref().unwrap_or_default(),
        parts.uri.path(),
        &bytes,
    );
    let subject = principal.subject.clone();
    match idem.service.begin(&subject, &key, &print).await? {
        Decision::Run => {}
        Decision::Replay(stored) => return Ok(replay(stored)),
    }
    // The handler and the recording of its outcome run as a task of their own: a client that
    // disconnects mid-request (its future dropped) must not leave a committed write with its
    // key "in progress", to be run again by a retry once the lease ends.
    let service = idem.service.clone();
    let request = Request::from_parts(parts, Body::from(bytes));
    let work = crate::http::request_id::carry(async move {
        run_and_record(&service, &subject, &key, next, request).await
    });
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(err) => Err(crate::error::Error::internal(err).into()),
    }
}

async fn run_and_record(
    service: &IdempotencyService,
    subject: &str,
    key: &str,
    next: Next,
    request: Request,
) -> Result<Response, ApiError> {
    let response = next.run(request).await;
    if response.status().is_server_error() {
        service.reopen(subject, key).await;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(err) => return Err(crate::error::Error::internal(err).into()),
    };
    let header_text = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        content_type: header_text(header::CONTENT_TYPE),
        location: header_text(header::LOCATION),
        body: body.to_vec(),
    };
    service.complete(subject, key, &stored).await;
    Ok(Response::from_parts(parts, Body::from(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_json_in_another_order_or_spacing_has_the_same_fingerprint() {
        let of = |path: &str, body: &[u8]| fingerprint(&Method::POST, path, path, body);
        let a = of("/v1/products", br#"{"a":1,"b":{"y":2,"x":[1,2]}}"#);
        let b = of("/v1/products", br#"{ "b": {"x": [1, 2], "y": 2}, "a": 1 }"#);
        let c = of("/v1/products", br#"{"a":2,"b":{"y":2,"x":[1,2]}}"#);
        let d = of("/v1/orders", br#"{"a":1,"b":{"y":2,"x":[1,2]}}"#);
        assert_eq!(a, b);
        assert_ne!(a, c, "a different body must differ");
        assert_ne!(a, d, "another route must differ");
    }

    #[test]
    fn keys_are_one_to_255_printable_characters() {
        assert!(parse_key(&HeaderValue::from_static("order-123")).is_ok());
        assert!(parse_key(&HeaderValue::from_static("")).is_err());
        assert!(parse_key(&HeaderValue::from_str(&"k".repeat(256)).unwrap()).is_err());
        assert!(parse_key(&HeaderValue::from_str(&"k".repeat(255)).unwrap()).is_ok());
    }
}
