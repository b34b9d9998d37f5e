//! Baseline for `scripts/bench/http.sh`: a bare axum 0.8 server with one `GET /` handler that
//! returns a small, fixed JSON body about the size of a product, on a multi-threaded tokio
//! runtime, with no middleware, no logging, no state. Whatever the real `local serve` costs on
//! top of this is the price of the middleware stack, the service code and the cache round trip.
//!
//! Usage: `cargo run --release -p local --example bare_axum -- [PORT]` (default 18081;
//! `HOST` defaults to 127.0.0.1).

use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

async fn product() -> Json<Value> {
    // Same shape and roughly the same size (~400 bytes) as a product from GET /v1/products/{id}.
    Json(json!({
        "product_id": 1,
        "sku": "BENCH-0000000000",
        "name": "Benchmark product",
        "description": "",
        "price": "12.50",
        "currency": "EUR",
        "category": null,
        "tags": [],
        "stock_available": 10,
        "thumbnail_url": null,
        "image_urls": [],
        "created_at": "2025-01-01T00:00:00.000000Z",
        "updated_at": "2025-01-01T00:00:00.000000Z",
        "version": 1
    }))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PORT").ok())
        .and_then(|p| p.parse().ok())
        .unwrap_or(18081);
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    let app = Router::new().route("/", get(product));
    axum::serve(listener, app).await
}
