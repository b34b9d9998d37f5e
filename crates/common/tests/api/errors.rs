//! Bad input of every kind gets docs/api.md's envelope with the right status and code.

use reqwest::Method;
use serde_json::json;
use testkit::TestApp;

#[tokio::test]
async fn bad_requests_get_the_documented_error_envelope() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = admin.access_token.as_str();
    let valid = TestApp::product_body("Thing", "1.00", 1);
    let huge = json!({"sku": "BIG", "name": "x", "price": "1.00", "stock": 1, "description": "d".repeat(70 * 1024)});

    // (case, method, path, content type, body, status, code)
    let cases: Vec<(&str, Method, &str, &str, String, u16, &str)> = vec![
        (
            "malformed JSON",
            Method::POST,
            "/v1/products",
            "application/json",
            "{\"sku\": ".into(),
            400,
            "BAD_REQUEST",
        ),
        (
            "trailing garbage",
            Method::POST,
            "/v1/products",
            "application/json",
            format!("{valid} x"),
            400,
            "BAD_REQUEST",
        ),
        (
            "empty body",
            Method::POST,
            "/v1/products",
            "application/json",
            String::new(),
            400,
            "BAD_REQUEST",
        ),
        (
            "price as a number",
            Method::POST,
            "/v1/products",
            "application/json",
            json!({"sku": "A", "name": "n", "price": 1.5, "stock": 1}).to_string(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "stock as a string",
            Method::POST,
            "/v1/products",
            "application/json",
            json!({"sku": "A", "name": "n", "price": "1.00", "stock": "1"}).to_string(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "missing sku",
            Method::POST,
            "/v1/products",
            "application/json",
            json!({"name": "n", "price": "1.00", "stock": 1}).to_string(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "unknown field",
            Method::POST,
            "/v1/products",
            "application/json",
            json!({"sku": "A", "name": "n", "price": "1.00", "stock": 1, "colour": "red"})
                .to_string(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "zero price",
            Method::POST,
            "/v1/products",
            "application/json",
            json!({"sku": "A", "name": "n", "price": "0.00", "stock": 1}).to_string(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "three decimals",
            Method::POST,
            "/v1/products",
            "application/json",
            json!({"sku": "A", "name": "n", "price": "1.005", "stock": 1}).to_string(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "negative stock",
            Method::POST,
            "/v1/products",
            "application/json",
            json!({"sku": "A", "name": "n", "price": "1.00", "stock": -1}).to_string(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "bad sku characters",
            Method::POST,
            "/v1/products",
            "application/json",
            json!({"sku": "A B/C", "name": "n", "price": "1.00", "stock": 1}).to_string(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "empty name",
            Method::POST,
            "/v1/products",
            "application/json",
            json!({"sku": "A", "name": "  ", "price": "1.00", "stock": 1}).to_string(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "too many tags",
            Method::POST,
            "/v1/products",
            "application/json",
            json!({"sku": "A", "name": "n", "price": "1.00", "stock": 1, "tags": vec!["t"; 21]})
                .to_string(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "a JSON array",
            Method::POST,
            "/v1/products",
            "application/json",
            "[]".into(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "text/plain",
            Method::POST,
            "/v1/products",
            "text/plain",
            valid.to_string(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "form encoded",
            Method::POST,
            "/v1/products",
            "application/x-www-form-urlencoded",
            "sku=A".into(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "oversized body",
            Method::POST,
            "/v1/products",
            "application/json",
            huge.to_string(),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "empty patch",
            Method::PATCH,
            "/v1/products/1",
            "application/json",
            "{}".into(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "non-numeric id",
            Method::GET,
            "/v1/products/abc",
            "",
            String::new(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "missing product",
            Method::GET,
            "/v1/products/987654",
            "",
            String::new(),
            404,
            "RESOURCE_NOT_FOUND",
        ),
        (
            "bad cursor",
            Method::GET,
            "/v1/products?cursor=not-a-cursor",
            "",
            String::new(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "limit zero",
            Method::GET,
            "/v1/products?limit=0",
            "",
            String::new(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "limit too big",
            Method::GET,
            "/v1/products?limit=101",
            "",
            String::new(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "limit not a number",
            Method::GET,
            "/v1/products?limit=ten",
            "",
            String::new(),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "unknown route",
            Method::GET,
            "/v1/nothing/here",
            "",
            String::new(),
            404,
            "RESOURCE_NOT_FOUND",
        ),
        (
            "route without /v1",
            Method::GET,
            "/products",
            "",
            String::new(),
            404,
            "RESOURCE_NOT_FOUND",
        ),
        (
            "wrong method",
            Method::PUT,
            "/v1/products",
            "application/json",
            "{}".into(),
            405,
            "METHOD_NOT_ALLOWED",
        ),
        (
            "wrong method on an item",
            Method::POST,
            "/v1/products/1",
            "application/json",
            "{}".into(),
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ];
    app.create_product(&admin, TestApp::product_body("One", "1.00", 1))
        .await; // product 1 exists

    for (case, method, path, content_type, body, status, code) in cases {
        let mut request = app.request(method, path, Some(token));
        if !content_type.is_empty() {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let error = crate::assert_error(response, status, code, case).await;
        if code == "VALIDATION_FAILED"
            && !case.contains("limit")
            && !case.contains("cursor")
            && !case.contains("id")
        {
            assert!(
                error["error"]["details"]
                    .as_array()
                    .is_some_and(|d| !d.is_empty()),
                "{case}: details name the field: {error}"
            );
        }
    }
}

#[tokio::test]
async fn validation_errors_name_every_bad_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let response = app
        .send_json(
            Method::POST,
            "/v1/products",
            Some(&admin.access_token),
            &json!({"sku": "", "name": "", "price": "-2", "stock": -5}),
        )
        .await;
    let error = crate::assert_error(response, 400, "VALIDATION_FAILED", "several bad fields").await;
    let fields: Vec<&str> = error["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["sku", "name", "price", "stock"]);
    let wrong_type = app
        .send_json(
            Method::POST,
            "/v1/products",
            Some(&admin.access_token),
            &json!({"sku": "A", "name": "n", "price": 3, "stock": 1}),
        )
        .await;
    let error = crate::assert_error(wrong_type, 400, "VALIDATION_FAILED", "price as number").await;
    assert_eq!(error["error"]["details"][0]["field"], "price");
}

#[tokio::test]
async fn request_ids_are_echoed_generated_or_refused_when_invalid() {
    let app = TestApp::spawn().await;
    let mine = app
        .request(Method::GET, "/v1/products/31337", None)
        .header("x-request-id", "my-trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "my-trace-123");
    let body = crate::assert_error(mine, 404, "RESOURCE_NOT_FOUND", "client id").await;
    assert_eq!(body["error"]["request_id"], "my-trace-123");

    let generated = app.get("/v1/products", None).await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "a generated id is a UUID: {id}"
    );

    let too_long = "x".repeat(129);
    for bad in [too_long.as_str(), "has space", ""] {
        let response = app
            .request(Method::GET, "/v1/products", None)
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        crate::assert_error(
            response,
            400,
            "BAD_REQUEST",
            &format!("x-request-id {bad:?}"),
        )
        .await;
    }
}
