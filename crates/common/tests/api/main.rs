//! Integration tests of the HTTP contract (docs/api.md) through the real router, against
//! the real Postgres, Redis and AWS emulator of the local stack (`scripts/dev/stack.sh up`).
//! One test binary; every test boots its own app on a fresh database (see `testkit`).

mod auth;
mod cart;
mod errors;
mod health;
mod idempotency;
mod images;
mod lambda;
mod money;
mod openapi;
mod orders;
mod products;
mod resilience;
mod sample_events;
mod schema;
mod users;

use serde_json::Value;

/// Asserts the error envelope: status, code, and the request id matching the header.
pub async fn assert_error(
    response: reqwest::Response,
    status: u16,
    code: &str,
    case: &str,
) -> Value {
    assert_eq!(response.status(), status, "{case}: status");
    let header_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{case}: no x-request-id header"));
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|e| panic!("{case}: body is not JSON: {e}"));
    assert_eq!(body["error"]["code"], code, "{case}: code in {body}");
    assert_eq!(
        body["error"]["request_id"],
        header_id.as_str(),
        "{case}: request id in the body"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{case}: message"
    );
    body
}
