//! `GET /v1/<service>/health`.

use serde_json::{Value, json};
use testkit::TestApp;

#[tokio::test]
async fn every_service_reports_its_dependencies() {
    let app = TestApp::spawn().await;
    for service in ["users", "products", "cart", "orders"] {
        let response = app.get(&format!("/v1/{service}/health"), None).await;
        assert_eq!(response.status(), 200, "{service}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"status": "ok", "checks": {
                "postgres": "ok", "dynamodb": "ok", "redis": "ok", "dynamodb_circuit": "closed"
            }}),
            "{service}"
        );
    }
}

#[tokio::test]
async fn health_is_503_when_postgres_is_unreachable() {
    let app = TestApp::builder()
        .env("DATABASE_URL", "postgres://shop:shop@127.0.0.1:1/none")
        .spawn_without_migrations()
        .await;
    let response = app.get("/v1/products/health", None).await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["checks"]["postgres"], "unavailable");
    assert_eq!(body["checks"]["dynamodb"], "ok");
    let read = app.get("/v1/products/1", None).await;
    crate::assert_error(
        read,
        503,
        "DEPENDENCY_UNAVAILABLE",
        "read with Postgres down",
    )
    .await;
}
