//! What was written is never lost from reads: the DynamoDB projection catches up after a
//! failure, and reads stay correct with Redis gone.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{TestApp, redis_server::PrivateRedis};

#[tokio::test]
async fn the_projection_catches_up_after_dynamodb_failed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;

    app.faults.catalog.fail();
    let product = app
        .create_product(&admin, TestApp::product_body("Resilient", "8.00", 2))
        .await;
    let id = product["product_id"].as_i64().unwrap();
    let path = format!("/v1/products/{id}");
    assert!(
        app.catalog_item(id).await.is_none(),
        "DynamoDB did not get the product"
    );
    let pending = app.projector.pending().await.unwrap();
    assert!(pending >= 1, "the change waits in the outbox ({pending})");

    // Reads fall back to Postgres meanwhile: nothing written is missing.
    let read = app.get(&path, None).await;
    assert_eq!(read.status(), 200);
    let listed: Value = app.get("/v1/products", None).await.json().await.unwrap();
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["product_id"] == id)
    );
    let patched = app
        .send_json(
            Method::PATCH,
            &path,
            Some(&admin.access_token),
            &json!({"name": "Resilient v2"}),
        )
        .await;
    assert_eq!(patched.status(), 200, "writes keep working");

    app.faults.catalog.heal();
    app.projector.retry_now().await.unwrap();
    app.eventually("the relay projects the product", || async {
        app.catalog_item(id).await.is_some_and(|item| {
            item.get("name")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|n| n == "Resilient v2")
        })
    })
    .await;
    app.eventually("the outbox is drained", || async {
        app.projector.pending().await.unwrap() == 0
    })
    .await;
    let item = app.catalog_item(id).await.unwrap();
    assert_eq!(
        item["version"].as_n().unwrap(),
        "2",
        "the latest version is projected"
    );
    let (attempts,): (i32,) = sqlx::query_as("SELECT max(attempts) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(attempts >= 2, "the first attempt failed and was retried");
}

#[tokio::test]
async fn the_projection_ignores_an_older_version() {
    let app = TestApp::builder().without_background().spawn().await;
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Versioned", "8.00", 2))
        .await;
    let id = product["product_id"].as_i64().unwrap();
    app.send_json(
        Method::PATCH,
        &format!("/v1/products/{id}"),
        Some(&admin.access_token),
        &json!({"name": "Newer"}),
    )
    .await;
    let item = app.catalog_item(id).await.expect("projected");
    assert_eq!(item["version"].as_n().unwrap(), "2");
    // Under a loaded suite an inline projection can outlast its budget after DynamoDB took the
    // write, leaving its entry for the relay: settle those first, so only the replay is counted.
    app.projector.drain().await.unwrap();
    assert_eq!(app.projector.pending().await.unwrap(), 0);

    // Replaying the first outbox entry (as a slow relay might) re-reads Postgres and keeps v2.
    sqlx::query("UPDATE outbox SET processed_at = NULL, available_at = now() WHERE outbox_id = (SELECT min(outbox_id) FROM outbox)")
        .execute(&app.pool)
        .await
        .unwrap();
    let outcome = app.projector.drain().await.unwrap();
    assert_eq!(outcome.applied, 1);
    let item = app.catalog_item(id).await.unwrap();
    assert_eq!(item["name"].as_s().unwrap(), "Newer");
}

#[tokio::test]
async fn reads_stay_correct_when_redis_stops_mid_test() {
    let mut redis = PrivateRedis::start().await;
    let app = TestApp::builder()
        .env("REDIS_URL", redis.url())
        .spawn()
        .await;
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Cached", "5.00", 9))
        .await;
    let path = format!("/v1/products/{}", product["product_id"]);

    let first: Value = app.get(&path, None).await.json().await.unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let key = format!(
        "{}products:v1:item:{}",
        app.isolation.cache_prefix, product["product_id"]
    );
    // A read fills the cache (the cache connects lazily with a short timeout: on a loaded
    // machine the very first read may miss it, and a later one fills it).
    app.eventually("a read filled the cache", || async {
        let _ = app.get(&path, None).await;
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let cached: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        cached.is_some()
    })
    .await;
    let health: Value = app
        .get("/v1/products/health", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(health["checks"]["redis"], "ok");

    redis.stop();

    let again = app.get(&path, None).await;
    assert_eq!(again.status(), 200, "a read without Redis");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(
        app.get("/v1/products?limit=5", None).await.status(),
        200,
        "a listing without Redis"
    );
    let patched = app
        .send_json(
            Method::PATCH,
            &path,
            Some(&admin.access_token),
            &json!({"price": "6.00"}),
        )
        .await;
    assert_eq!(patched.status(), 200, "a write without Redis");
    let after: Value = app.get(&path, None).await.json().await.unwrap();
    assert_eq!(after["price"], "6.00", "reads see the write");
    // The health report is kept for up to a second (`health::REPORT_TTL`): the one made while
    // Redis still answered may be served until then.
    // Redis is optional: it never makes the report fail. A 503 here can only name a required
    // dependency that did not answer in time under the parallel suite (moto is shared); that
    // report is asked again.
    app.eventually("health reports Redis degraded", || async {
        let response = app.get("/v1/products/health", None).await;
        let status = response.status();
        let health: Value = response.json().await.unwrap();
        let checks = &health["checks"];
        if status != 200 {
            assert_eq!(status, 503, "{health}");
            assert!(
                checks["postgres"] == "unavailable" || checks["dynamodb"] == "unavailable",
                "Redis is optional: a failed report names a required dependency: {health}"
            );
            return false;
        }
        checks["redis"] == "degraded"
    })
    .await;
}

#[tokio::test]
async fn redis_auth_comes_from_secrets_manager() {
    let redis = PrivateRedis::start_with_password("s3cret-token").await;
    let probe = TestApp::spawn().await;
    let secret = probe
        .create_secret(r#"{"auth_token": "s3cret-token"}"#)
        .await;
    drop(probe);

    let without = TestApp::builder()
        .env("REDIS_URL", redis.url())
        .spawn()
        .await;
    let health: Value = without
        .get("/v1/products/health", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(health["checks"]["redis"], "degraded", "no token, no cache");
    drop(without);

    let app = TestApp::builder()
        .env("REDIS_URL", redis.url())
        .env("REDIS_AUTH_SECRET_ID", secret)
        .spawn()
        .await;
    let health: Value = app
        .get("/v1/products/health", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        health["checks"]["redis"], "ok",
        "authenticated with the secret's token"
    );
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Secret", "5.00", 1))
        .await;
    app.get(&format!("/v1/products/{}", product["product_id"]), None)
        .await;
    let client =
        redis::Client::open(format!("redis://:s3cret-token@127.0.0.1:{}", redis.port)).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let cached: Option<String> = redis::cmd("GET")
        .arg(format!(
            "{}products:v1:item:{}",
            app.isolation.cache_prefix, product["product_id"]
        ))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        cached.is_some(),
        "reads were cached through the authenticated connection"
    );
}

/// With DynamoDB hung (calls never answer), reads fall back to Postgres and writes are
/// acknowledged once Postgres committed, within the projection's budget; the projection
/// catches up when DynamoDB answers again. (The outer timeout only detects a hang.)
#[tokio::test]
async fn a_hung_dynamodb_never_holds_a_request() {
    let app = TestApp::builder().env("REDIS_URL", "").spawn().await;
    let admin = app.admin().await;
    app.faults.catalog.hang();
    let guard = std::time::Duration::from_secs(8);
    let created = tokio::time::timeout(
        guard,
        app.send_json(
            Method::POST,
            "/v1/products",
            Some(&admin.access_token),
            &TestApp::product_body("Brownout", "5.00", 3),
        ),
    )
    .await
    .expect("the write answers although DynamoDB hangs");
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["product_id"]
        .as_i64()
        .unwrap();
    let read = tokio::time::timeout(guard, app.get(&format!("/v1/products/{id}"), None))
        .await
        .expect("the read answers from Postgres");
    assert_eq!(read.status(), 200);
    let listed = tokio::time::timeout(guard, app.get("/v1/products?limit=5", None))
        .await
        .expect("the listing answers from Postgres");
    assert_eq!(listed.status(), 200);
    assert!(app.catalog_item(id).await.is_none(), "not projected yet");

    app.faults.catalog.heal();
    app.projector.retry_now().await.unwrap();
    app.eventually("the projection catches up", || async {
        app.catalog_item(id).await.is_some()
    })
    .await;
}

/// A DynamoDB that stops answering (its port open, nothing coming back: the real SDK client
/// against a black hole) is cut off by the client's circuit breaker: after the first
/// [`Breaker::THRESHOLD`] reads waited out their timeout (and answered from Postgres), reads
/// answer from Postgres without calling DynamoDB at all, and health says so. Once DynamoDB
/// answers again, a probe call closes the circuit.
#[tokio::test]
async fn a_dynamodb_that_stops_answering_is_cut_off_by_the_circuit_breaker() {
    use common::clients::breaker::Breaker;
    use testkit::faults::BlackHole;

    let hole = BlackHole::start().await;
    let app = TestApp::builder()
        .without_background()
        .env("REDIS_URL", "")
        .env("CACHE_LOCAL_TTL_MS", "0")
        .env("AWS_TIMEOUT_MS", "800")
        .env("DYNAMODB_ENDPOINT_URL", hole.url.clone())
        .spawn()
        .await;
    // Acknowledged once Postgres committed (no Idempotency-Key: its claim is a DynamoDB write).
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Circuit", "3.00", 4))
        .await;
    let path = format!("/v1/products/{}", product["product_id"]);
    let threshold = Breaker::THRESHOLD as usize;
    for _ in 0..threshold {
        let read = app.get(&path, None).await;
        assert_eq!(read.status(), 200, "answered from Postgres");
        assert_eq!(read.json::<Value>().await.unwrap()["name"], "Circuit");
    }
    let reached = hole.requests();
    assert!(
        reached >= threshold,
        "each read tried DynamoDB first ({reached})"
    );

    let health = app.get("/v1/products/health", None).await;
    assert_eq!(health.status(), 503);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["checks"]["dynamodb"], "unavailable");
    assert_eq!(health["checks"]["dynamodb_circuit"], "open");
    let reached = hole.requests();
    for _ in 0..20 {
        let read = app.get(&path, None).await;
        assert_eq!(read.status(), 200);
    }
    // Without the breaker each of the 20 reads would call DynamoDB; with it, only a probe
    // per cooldown does.
    let probes = hole.requests() - reached;
    assert!(
        probes <= 2,
        "{probes} calls went to the hung DynamoDB while its circuit was open"
    );
}
