//! `Idempotency-Key` on `POST /v1/products`.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::TestApp;

async fn count_products(app: &TestApp, sku: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM products WHERE sku = $1")
        .bind(sku)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn ten_concurrent_creates_with_one_key_make_one_product() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let body = TestApp::product_body("Concurrent", "9.99", 5);
    let key = uuid::Uuid::new_v4().to_string();

    let requests = (0..10).map(|_| {
        app.request(Method::POST, "/v1/products", Some(&admin.access_token))
            .header("idempotency-key", &key)
            .json(&body)
            .send()
    });
    let responses = futures::future::join_all(requests).await;
    let mut created = Vec::new();
    for response in responses {
        let response = response.unwrap();
        match response.status().as_u16() {
            201 => created.push(
                response.json::<Value>().await.unwrap()["product_id"]
                    .as_i64()
                    .unwrap(),
            ),
            409 => {
                crate::assert_error(response, 409, "IDEMPOTENCY_IN_PROGRESS", "concurrent retry")
                    .await;
            }
            other => panic!(
                "unexpected status {other}: {}",
                response.text().await.unwrap()
            ),
        }
    }
    assert!(!created.is_empty(), "at least the first request succeeded");
    assert!(
        created.iter().all(|id| *id == created[0]),
        "every 201 names the same product: {created:?}"
    );
    assert_eq!(
        count_products(&app, body["sku"].as_str().unwrap()).await,
        1,
        "exactly one product exists"
    );
}

#[tokio::test]
async fn a_retry_replays_the_first_response_and_a_changed_body_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let body = TestApp::product_body("Replay", "3.00", 1);
    let send = |body: Value, key: &'static str| {
        app.request(Method::POST, "/v1/products", Some(&admin.access_token))
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };

    let first = send(body.clone(), "replay-key").await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers()["location"].clone();
    let first_body: Value = first.json().await.unwrap();

    // The same JSON with other spacing and key order is the same request.
    let mut reordered = serde_json::Map::new();
    for key in ["stock", "price", "name", "sku"] {
        reordered.insert(key.into(), body[key].clone());
    }
    let retry = send(Value::Object(reordered), "replay-key").await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.headers()["location"], location);
    assert_eq!(
        retry.json::<Value>().await.unwrap(),
        first_body,
        "the stored body is replayed"
    );
    assert_eq!(
        count_products(&app, body["sku"].as_str().unwrap()).await,
        1,
        "the handler ran once"
    );

    let mut changed = body.clone();
    changed["price"] = json!("4.00");
    let reused = send(changed, "replay-key").await.unwrap();
    crate::assert_error(reused, 422, "IDEMPOTENCY_KEY_REUSED", "changed body").await;

    // Errors that are the client's are replayed too: a duplicate SKU under a new key is a 409,
    // and its retry is the same 409.
    let conflict = send(body.clone(), "second-key").await.unwrap();
    let first_error =
        crate::assert_error(conflict, 409, "CONFLICT", "duplicate under a new key").await;
    let conflict_again = send(body.clone(), "second-key").await.unwrap();
    assert_eq!(conflict_again.status(), 409);
    assert_eq!(conflict_again.headers()["idempotent-replayed"], "true");
    let replayed: Value = conflict_again.json().await.unwrap();
    assert_eq!(
        replayed, first_error,
        "the stored error, request id included, is replayed as it was"
    );
}

#[tokio::test]
async fn keys_belong_to_their_caller_and_must_be_well_formed() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.admin().await, app.admin().await);
    let send = |token: &str, key: &str, body: &Value| {
        app.request(Method::POST, "/v1/products", Some(token))
            .header("idempotency-key", key)
            .json(body)
            .send()
    };
    let a = send(
        &alice.access_token,
        "shared",
        &TestApp::product_body("A", "1.00", 1),
    )
    .await
    .unwrap();
    assert_eq!(a.status(), 201);
    let b = send(
        &bob.access_token,
        "shared",
        &TestApp::product_body("B", "1.00", 1),
    )
    .await
    .unwrap();
    assert_eq!(b.status(), 201, "another caller's key does not collide");
    assert!(b.headers().get("idempotent-replayed").is_none());

    for bad in ["", &"k".repeat(256)] {
        let response = send(
            &alice.access_token,
            bad,
            &TestApp::product_body("C", "1.00", 1),
        )
        .await
        .unwrap();
        crate::assert_error(
            response,
            400,
            "BAD_REQUEST",
            &format!("key of {} chars", bad.len()),
        )
        .await;
    }
    let anonymous = app
        .request(Method::POST, "/v1/products", None)
        .header("idempotency-key", "k")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    crate::assert_error(anonymous, 401, "UNAUTHENTICATED", "anonymous with a key").await;
}

/// A client that gives up mid-request (its connection closed after the write committed) does
/// not leave the key "in progress": the request finishes, its answer is kept, and the retry
/// gets it — never a second run.
#[tokio::test]
async fn a_client_that_hangs_up_mid_write_gets_the_answer_on_retry() {
    let app = TestApp::builder().env("REDIS_URL", "").spawn().await;
    let admin = app.admin().await;
    let body = TestApp::product_body("Abandoned", "3.00", 1);
    let key = uuid::Uuid::new_v4().to_string();
    // The projection hangs, so the write is slow after its commit (bounded by its budget).
    app.faults.catalog.hang();
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let gave_up = impatient
        .post(app.url("/v1/products"))
        .bearer_auth(&admin.access_token)
        .header("idempotency-key", &key)
        .json(&body)
        .send()
        .await;
    assert!(gave_up.is_err(), "the client hung up before the answer");
    app.faults.catalog.heal();

    app.eventually("the abandoned request's answer is kept", || async {
        let retry = app
            .request(Method::POST, "/v1/products", Some(&admin.access_token))
            .header("idempotency-key", &key)
            .json(&body)
            .send()
            .await
            .unwrap();
        retry.status() == 201 && retry.headers().contains_key("idempotent-replayed")
    })
    .await;
    let retry = app
        .request(Method::POST, "/v1/products", Some(&admin.access_token))
        .header("idempotency-key", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert!(retry.json::<Value>().await.unwrap()["product_id"].is_i64());
    assert_eq!(
        count_products(&app, body["sku"].as_str().unwrap()).await,
        1,
        "one product"
    );
}

#[tokio::test]
async fn a_key_whose_request_failed_with_a_5xx_stays_bound_to_that_request() {
    use common::{
        error::Error,
        repositories::idempotency_dynamo::DynamoIdempotencyStore,
        services::idempotency::{Decision, IdempotencyService},
    };
    let app = TestApp::spawn().await;
    let service = IdempotencyService::new(std::sync::Arc::new(DynamoIdempotencyStore::new(
        app.dynamodb.clone(),
        app.table("Idempotency"),
    )));
    let key = uuid::Uuid::new_v4().to_string();
    assert!(matches!(
        service.begin("customer", &key, "body-1").await,
        Ok(Decision::Run)
    ));
    // The handler answered 5xx, possibly after committing: the key is reopened, not released.
    service.reopen("customer", &key).await;
    assert!(
        matches!(
            service.begin("customer", &key, "body-2").await,
            Err(Error::IdempotencyKeyReused)
        ),
        "another request with the key is still refused"
    );
    assert!(
        matches!(
            service.begin("customer", &key, "body-1").await,
            Ok(Decision::Run)
        ),
        "the same request runs again"
    );
    assert!(
        matches!(
            service.begin("customer", &key, "body-1").await,
            Err(Error::IdempotencyInProgress)
        ),
        "and holds the key while it runs"
    );
}
