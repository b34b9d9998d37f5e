//! The OpenAPI document is generated from the code and lists every route the router serves.

use reqwest::Method;
use serde_json::Value;
use testkit::TestApp;

/// Every route of ../shared/API.md. `served` = this build implements it.
const CONTRACT: &[(&str, &str, bool)] = &[
    ("GET", "/v1/users/health", true),
    ("GET", "/v1/products/health", true),
    ("GET", "/v1/cart/health", true),
    ("GET", "/v1/orders/health", true),
    ("POST", "/v1/users/register", true),
    ("POST", "/v1/users/confirm", true),
    ("POST", "/v1/users/login", true),
    ("POST", "/v1/users/refresh", true),
    ("GET", "/v1/users/me", true),
    ("PATCH", "/v1/users/me", true),
    ("POST", "/v1/users/me/avatar", true),
    ("GET", "/v1/users/{user_id}", true),
    ("GET", "/v1/products", true),
    ("GET", "/v1/products/{product_id}", true),
    ("POST", "/v1/products", true),
    ("PATCH", "/v1/products/{product_id}", true),
    ("DELETE", "/v1/products/{product_id}", true),
    ("PUT", "/v1/products/{product_id}/inventory", true),
    ("POST", "/v1/products/{product_id}/images", true),
    ("GET", "/v1/products/{product_id}/images", true),
    ("GET", "/v1/cart", true),
    ("POST", "/v1/cart/items", true),
    ("PUT", "/v1/cart/items/{product_id}", true),
    ("DELETE", "/v1/cart/items/{product_id}", true),
    ("DELETE", "/v1/cart", true),
    ("POST", "/v1/orders", true),
    ("GET", "/v1/orders", true),
    ("GET", "/v1/orders/{order_id}", true),
    ("GET", "/v1/orders/{order_id}/events", true),
    ("POST", "/v1/orders/{order_id}/cancel", true),
    (
        "POST",
        "/v1/orders/{order_id}/shipments/{shipment_id}/status",
        true,
    ),
];

fn concrete(path: &str) -> String {
    path.replace("{user_id}", "1")
        .replace("{product_id}", "1")
        .replace("{order_id}", "1")
        .replace("{shipment_id}", "1")
}

#[tokio::test]
async fn every_served_route_is_documented_and_every_documented_route_is_served() {
    let app = TestApp::spawn().await;
    let response = app.get("/v1/openapi.json", None).await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");

    for (method, path, served) in CONTRACT {
        let documented = paths
            .get(*path)
            .and_then(|p| p.get(method.to_lowercase()))
            .is_some();
        // A route the router does not know answers the envelope's 404 (unknown path) or 405.
        let probe = app
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &concrete(path),
                None,
            )
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let body: Value = probe.json().await.unwrap_or_default();
        let unknown = body["error"]["code"] == "METHOD_NOT_ALLOWED"
            || body["error"]["message"] == "no such route";
        assert_eq!(
            !unknown, *served,
            "{method} {path}: served by the router? ({body})"
        );
        assert_eq!(
            documented, *served,
            "{method} {path}: in the OpenAPI document?"
        );
    }
    let contract_paths: std::collections::HashSet<&str> =
        CONTRACT.iter().map(|(_, p, _)| *p).collect();
    for path in paths.keys() {
        assert!(
            contract_paths.contains(path.as_str()),
            "{path} is documented but not in the contract"
        );
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "bearer auth is described"
    );
}

#[test]
fn the_document_generates_without_a_server() {
    let doc = serde_json::to_value(common::routers::openapi()).unwrap();
    assert!(doc["paths"]["/v1/products"]["post"]["requestBody"].is_object());
    assert!(doc["components"]["schemas"]["ProductView"].is_object());
}
