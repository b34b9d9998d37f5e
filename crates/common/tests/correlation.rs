//! One correlation id end to end: the request id of an upload names every log line of its
//! thumbnailing, and the request id of a checkout names every step of its saga and the
//! fulfillment consumer's line. A test binary of its own, since it installs the process's
//! logger.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{TestApp, images, logs::Captured};

#[tokio::test]
async fn one_request_id_finds_an_uploads_thumbnailing_and_a_checkouts_whole_saga() {
    let captured = Captured::install();
    let app = TestApp::builder()
        .with_image_pipeline()
        .with_checkout()
        .spawn()
        .await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Traced", "6.00", 5))
        .await["product_id"]
        .as_i64()
        .unwrap();

    // An upload, then its processing by the queue consumer.
    let bytes = images::jpeg(300, 200);
    let upload: Value = app
        .request(
            Method::POST,
            &format!("/v1/products/{product}/images"),
            Some(&admin.access_token),
        )
        .header("x-request-id", "upload-corr-42")
        .json(&json!({"content_type": "image/jpeg", "content_length": bytes.len()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let put = reqwest::Client::new()
        .put(upload["url"].as_str().unwrap())
        .header("content-type", "image/jpeg")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    app.eventually("the upload's processing logs its request id", || async {
        captured
            .lines_with("upload-corr-42")
            .iter()
            .any(|l| l["message"] == "image processed")
    })
    .await;

    // A checkout, then its saga in the worker and the fulfillment consumer.
    app.send_json(
        Method::POST,
        "/v1/cart/items",
        Some(&customer.access_token),
        &json!({"product_id": product, "quantity": 1}),
    )
    .await;
    let placed = app
        .request(Method::POST, "/v1/orders", Some(&customer.access_token))
        .header("x-request-id", "checkout-corr-7")
        .header("idempotency-key", "k-corr")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 202);
    app.eventually("the saga ran and fulfillment logged it", || async {
        captured
            .lines_with("checkout-corr-7")
            .iter()
            .any(|l| l["message"] == "fulfillment requested")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = captured.lines_with("checkout-corr-7");
    let logged_steps: Vec<String> = lines
        .iter()
        .filter_map(|l| l["span"]["task"].as_str().map(str::to_owned))
        .collect();
    for step in ["reserve", "charge", "confirm"] {
        assert!(
            logged_steps.iter().any(|s| s == step),
            "the {step} step's lines carry the checkout's id: {logged_steps:?}"
        );
    }
}
