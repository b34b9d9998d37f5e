//! The OpenAPI document is generated from the code and lists every route the router serves.

use reqwest::Method;
use serde_json::Value;
use testkit::TestApp;

/// Every route of docs/api.md. `served` = this build implements it.
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

/// The files the Swagger UI page loads, each served under `/v1/docs/`.
const SWAGGER_UI_FILES: &[&str] = &[
    "index.css",
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-initializer.js",
];

#[tokio::test]
async fn the_docs_page_is_swagger_ui_over_the_served_document() {
    let app = TestApp::spawn().await;

    let page = app.get("/v1/docs", None).await;

    assert_eq!(page.status(), 200);
    assert_eq!(
        page.url().path(),
        "/v1/docs/index.html",
        "/v1/docs redirects to the page"
    );
    let html = page.text().await.unwrap();
    for file in SWAGGER_UI_FILES {
        assert!(
            html.contains(&format!("./{file}\"")) || html.contains(&format!("\"{file}\"")),
            "the page loads {file}"
        );
        let served = app.get(&format!("/v1/docs/{file}"), None).await;
        assert_eq!(served.status(), 200, "/v1/docs/{file}");
        assert!(served.bytes().await.unwrap().len() > 100, "{file} is empty");
    }
    let initializer = app
        .get("/v1/docs/swagger-initializer.js", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains(r#""url": "/v1/openapi.json""#),
        "Swagger UI loads the served document: {initializer}"
    );
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "the page calls no outside validator: {initializer}"
    );
}

#[tokio::test]
async fn an_unknown_docs_file_is_the_envelopes_404() {
    let app = TestApp::spawn().await;

    let response = app.get("/v1/docs/no-such-file.js", None).await;

    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RESOURCE_NOT_FOUND", "{body}");
}
