//! `Idempotency-Key` for `POST` routes, after the IETF httpapi draft and Stripe's API.
//!
//! The first request with a key (scoped to the caller) runs and its status and body are stored
//! for 24 hours; a retry with the same key and the same request (method, route, canonical JSON
//! body) gets the stored response and `idempotent-replayed: true` without running the handler;
//! the same key with another request is `422 IDEMPOTENCY_KEY_REUSED`; a retry while the first
//! runs is `409 IDEMPOTENCY_IN_PROGRESS`. A 5xx is not stored, so the client may retry it.
//!
//! It is a route layer: it sees the matched route, and acts only on the routes it was given.

use std::{collections::HashMap, sync::Arc, time::Duration};

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
    error::Error,
    repositories::idempotency_dynamo::{Claim, IdempotencyStore, RecordState, StoredResponse},
};

pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Whether a route demands the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRule {
    Optional,
    Required,
}

/// The layer's state: the store and the routes (matched-path patterns) it guards.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    auth: Arc<Authenticator>,
    routes: Arc<HashMap<&'static str, KeyRule>>,
    body_limit: usize,
    /// How long a claim blocks retries before a crashed request's key can be taken over.
    pub lease: Duration,
    /// How long a completed response is replayed.
    pub retention: Duration,
}

impl Idempotency {
    pub fn new(
        store: Arc<dyn IdempotencyStore>,
        auth: Arc<Authenticator>,
        body_limit: usize,
    ) -> Self {
        Self {
            store,
            auth,
            routes: Arc::new(HashMap::from([
                ("/v1/products", KeyRule::Optional),
                ("/v1/orders", KeyRule::Required),
            ])),
            body_limit,
            lease: Duration::from_secs(60),
            retention: Duration::from_secs(24 * 3600),
        }
    }
}

fn parse_key(value: &HeaderValue) -> Result<String, Error> {
    let key = value.to_str().ok().filter(|k| {
        (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    });
    key.map(str::to_owned).ok_or_else(|| {
        Error::BadRequest("Idempotency-Key must be 1 to 255 printable ASCII characters".into())
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
pub async fn layer(State(idem): State<Arc<Idempotency>>, req: Request, next: Next) -> Response {
    match guard(&idem, req, next).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn guard(idem: &Idempotency, req: Request, next: Next) -> Result<Response, Error> {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let rule = match route.as_deref().and_then(|r| idem.routes.get(r)) {
        Some(rule) if req.method() == Method::POST => *rule,
        _ => return Ok(next.run(req).await),
    };
    let key = match req.headers().get(&IDEMPOTENCY_KEY) {
        Some(value) => parse_key(value)?,
        None if rule == KeyRule::Required => {
            return Err(Error::BadRequest(
                "the Idempotency-Key header is required".into(),
            ));
        }
        None => return Ok(next.run(req).await),
    };
    let (mut parts, body) = req.into_parts();
    // Keys are scoped to the caller; an unauthenticated request is left to the handler to refuse.
    let principal = match idem.auth.authenticate(&parts).await {
        Ok(principal) => principal,
        Err(_) => return Ok(next.run(Request::from_parts(parts, body)).await),
    };
    parts.extensions.insert(principal.clone());
    let bytes = axum::body::to_bytes(body, idem.body_limit)
        .await
        .map_err(|_| Error::PayloadTooLarge("the request body is too large".into()))?;
    let print = fingerprint(
        &parts.method,
        route.as_deref().unwrap_or_default(),
        parts.uri.path(),
        &bytes,
    );
    let scoped_key = format!("{}#{key}", principal.subject);

    match idem
        .store
        .claim(&scoped_key, &print, idem.lease, idem.retention)
        .await?
    {
        Claim::Acquired => {}
        Claim::Existing { fingerprint, .. } if fingerprint != print => {
            return Err(Error::IdempotencyKeyReused);
        }
        Claim::Existing {
            state: RecordState::InProgress,
            ..
        } => return Err(Error::IdempotencyInProgress),
        Claim::Existing {
            state: RecordState::Completed(stored),
            ..
        } => return Ok(replay(stored)),
    }

    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if response.status().is_server_error() {
        if let Err(err) = idem.store.release(&scoped_key).await {
            tracing::warn!(error = %err, "could not release an idempotency key after a failure");
        }
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(Error::internal)?;
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
    if let Err(err) = idem
        .store
        .complete(&scoped_key, &stored, idem.retention)
        .await
    {
        // The work is done; a retry after the lease may run it again, which the resource's own
        // uniqueness rules (SKU, cart checkout) then refuse.
        tracing::error!(error = %err, "could not store an idempotent response");
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_json_in_another_order_or_spacing_has_the_same_fingerprint() {
        let a = fingerprint(
            &Method::POST,
            "/v1/products",
            "/v1/products",
            br#"{"a":1,"b":{"y":2,"x":[1,2]}}"#,
        );
        let b = fingerprint(
            &Method::POST,
            "/v1/products",
            "/v1/products",
            br#"{ "b": {"x": [1, 2], "y": 2}, "a": 1 }"#,
        );
        let c = fingerprint(
            &Method::POST,
            "/v1/products",
            "/v1/products",
            br#"{"a":2,"b":{"y":2,"x":[1,2]}}"#,
        );
        let d = fingerprint(
            &Method::POST,
            "/v1/orders",
            "/v1/orders",
            br#"{"a":1,"b":{"y":2,"x":[1,2]}}"#,
        );
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
