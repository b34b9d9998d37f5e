//! Metrics in CloudWatch's Embedded Metric Format: documents that follow the specification,
//! one per request with the request's route class, values summed within it. A test binary of
//! its own: the metric sink is process-wide.

use std::sync::{Arc, Mutex};

use common::metrics::{self, MetricSet, Unit};
use serde_json::{Value, json};
use testkit::{TestApp, emf::assert_valid};

#[test]
fn documents_follow_the_emf_specification_and_sum_within_a_scope() {
    let mut set = MetricSet::default().with_dimension("RouteClass", "GET /v1/cart");
    set.add("Requests", Unit::Count, 1.0);
    set.add("CacheHit", Unit::Count, 1.0);
    set.add("CacheHit", Unit::Count, 2.0);
    set.add("Latency", Unit::Milliseconds, 3.5);
    let doc = set.document("cart", "test", 1_700_000_000_000).unwrap();
    assert_valid(&doc);
    assert_eq!(doc["CacheHit"], 3.0);
    assert_eq!(doc["RouteClass"], "GET /v1/cart");
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([
            ["Service", "Environment", "RouteClass"],
            ["Service", "Environment"]
        ]),
        "per route class, and rolled up per service"
    );
    assert!(MetricSet::default().document("s", "e", 0).is_none());

    let mut big = MetricSet::default();
    for i in 0..150 {
        // Metric names are static text in the code; 150 distinct ones for the test.
        let name: &'static str = Box::leak(format!("M{i}").into_boxed_str());
        big.add(name, Unit::Count, 1.0);
    }
    let doc = big.document("s", "e", 0).unwrap();
    assert_valid(&doc);
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .len(),
        100,
        "at most 100 metrics per document"
    );
}

#[tokio::test]
async fn every_request_writes_one_document_with_its_route_class_and_cache_outcome() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    metrics::init_with_sink(
        "local",
        "test",
        Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
    );
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = app
        .create_product(&admin, TestApp::product_body("Metered", "3.00", 2))
        .await["product_id"]
        .as_i64()
        .unwrap();
    lines.lock().unwrap().clear();
    for _ in 0..2 {
        assert_eq!(
            app.get(&format!("/v1/products/{id}"), None).await.status(),
            200
        );
    }
    let missing = app.get("/v1/products/999999999", None).await;
    assert_eq!(missing.status(), 404);

    let docs: Vec<Value> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON document"))
        .collect();
    for doc in &docs {
        assert_valid(doc);
        assert_eq!(doc["Service"], "local");
        assert_eq!(doc["Environment"], "test");
    }
    let reads: Vec<&Value> = docs
        .iter()
        .filter(|d| d["RouteClass"] == "GET /v1/products/{product_id}")
        .collect();
    assert_eq!(reads.len(), 3, "one document per request: {docs:?}");
    assert!(
        reads
            .iter()
            .all(|d| d["Requests"] == 1.0 && d["Latency"].is_number())
    );
    let hits: f64 = reads.iter().filter_map(|d| d["CacheHit"].as_f64()).sum();
    assert!(hits >= 1.0, "the second read is a cache hit: {reads:?}");
    assert_eq!(
        reads[2]["ClientErrors"], 1.0,
        "a 404 counts as a client error"
    );
}
