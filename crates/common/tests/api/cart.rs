//! `/v1/cart` (docs/api.md, Cart) through the real router, against the DynamoDB emulator's
//! `UserCart` and the real catalogue read path.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{
    TestApp, TestUser,
    lambda::{apigw_v2_event, claims_of, invoke},
};

async fn cart(app: &TestApp, user: &TestUser) -> Value {
    let response = app.get("/v1/cart", Some(&user.access_token)).await;
    assert_eq!(response.status(), 200, "GET /v1/cart");
    response.json().await.unwrap()
}

async fn add(app: &TestApp, user: &TestUser, product_id: i64, quantity: i64) -> reqwest::Response {
    app.send_json(
        Method::POST,
        "/v1/cart/items",
        Some(&user.access_token),
        &json!({"product_id": product_id, "quantity": quantity}),
    )
    .await
}

async fn product(app: &TestApp, admin: &TestUser, name: &str, price: &str, stock: i64) -> i64 {
    app.create_product(admin, TestApp::product_body(name, price, stock))
        .await["product_id"]
        .as_i64()
        .unwrap()
}

/// Products written straight into Postgres (the catalogue's source of truth; not projected).
async fn seed_products(app: &TestApp, count: usize, stock: i32) -> Vec<i64> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO products (sku, name, price) VALUES ($1, $2, 2.50) RETURNING product_id",
        )
        .bind(format!("SEED-{}-{i}", uuid::Uuid::new_v4().simple()))
        .bind(format!("Seeded {i}"))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO product_inventory (product_id, stock) VALUES ($1, $2)")
            .bind(id)
            .bind(stock)
            .execute(&app.pool)
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn a_customer_builds_changes_and_clears_their_cart() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let mug = product(&app, &admin, "Mug", "12.50", 10).await;
    let pen = product(&app, &admin, "Pen", "1.99", 10).await;

    let empty = cart(&app, &customer).await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["subtotal"], "0.00");
    assert_eq!(empty["currency"], "USD");
    assert!(empty["updated_at"].as_str().unwrap().ends_with('Z'));

    assert_eq!(add(&app, &customer, mug, 2).await.status(), 200);
    let response = add(&app, &customer, mug, 1).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["items"],
        json!([{"product_id": mug, "name": "Mug", "quantity": 3, "unit_price": "12.50",
                "line_total": "37.50", "available": 10}]),
        "quantities add up"
    );
    assert_eq!(body["subtotal"], "37.50");

    add(&app, &customer, pen, 1).await;
    let set = app
        .send_json(
            Method::PUT,
            &format!("/v1/cart/items/{pen}"),
            Some(&customer.access_token),
            &json!({"quantity": 4}),
        )
        .await;
    assert_eq!(set.status(), 200);
    let body: Value = set.json().await.unwrap();
    assert_eq!(body["items"][1]["quantity"], 4, "set replaces the quantity");
    assert_eq!(body["items"][1]["line_total"], "7.96");
    assert_eq!(body["subtotal"], "45.46");

    let zero = app
        .send_json(
            Method::PUT,
            &format!("/v1/cart/items/{pen}"),
            Some(&customer.access_token),
            &json!({"quantity": 0}),
        )
        .await;
    let body: Value = zero.json().await.unwrap();
    assert_eq!(
        body["items"].as_array().unwrap().len(),
        1,
        "0 removes the line"
    );

    let removed = app
        .request(
            Method::DELETE,
            &format!("/v1/cart/items/{mug}"),
            Some(&customer.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    let body: Value = removed.json().await.unwrap();
    assert_eq!(body["items"], json!([]));

    add(&app, &customer, mug, 1).await;
    let cleared = app
        .request(Method::DELETE, "/v1/cart", Some(&customer.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(cart(&app, &customer).await["items"], json!([]));
}

#[tokio::test]
async fn bad_cart_requests_get_the_documented_errors() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let scarce = product(&app, &admin, "Scarce", "5.00", 3).await;
    let gone = product(&app, &admin, "Gone", "5.00", 3).await;
    app.request(
        Method::DELETE,
        &format!("/v1/products/{gone}"),
        Some(&admin.access_token),
    )
    .send()
    .await
    .unwrap();
    add(&app, &customer, scarce, 2).await;
    let token = Some(customer.access_token.as_str());

    type Case<'a> = (&'a str, Method, String, Option<Value>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "quantity 0",
            Method::POST,
            "/v1/cart/items".into(),
            Some(json!({"product_id": scarce, "quantity": 0})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "quantity 100",
            Method::POST,
            "/v1/cart/items".into(),
            Some(json!({"product_id": scarce, "quantity": 100})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "negative quantity",
            Method::POST,
            "/v1/cart/items".into(),
            Some(json!({"product_id": scarce, "quantity": -1})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "quantity as text",
            Method::POST,
            "/v1/cart/items".into(),
            Some(json!({"product_id": scarce, "quantity": "2"})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "missing product",
            Method::POST,
            "/v1/cart/items".into(),
            Some(json!({"quantity": 1})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "product id 0",
            Method::POST,
            "/v1/cart/items".into(),
            Some(json!({"product_id": 0, "quantity": 1})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "unknown field",
            Method::POST,
            "/v1/cart/items".into(),
            Some(json!({"product_id": scarce, "quantity": 1, "price": "0.01"})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "unknown product",
            Method::POST,
            "/v1/cart/items".into(),
            Some(json!({"product_id": 987654321, "quantity": 1})),
            404,
            "RESOURCE_NOT_FOUND",
        ),
        (
            "deleted product",
            Method::POST,
            "/v1/cart/items".into(),
            Some(json!({"product_id": gone, "quantity": 1})),
            404,
            "RESOURCE_NOT_FOUND",
        ),
        (
            "more than in stock after adding up",
            Method::POST,
            "/v1/cart/items".into(),
            Some(json!({"product_id": scarce, "quantity": 2})),
            409,
            "INSUFFICIENT_STOCK",
        ),
        (
            "set above 99",
            Method::PUT,
            format!("/v1/cart/items/{scarce}"),
            Some(json!({"quantity": 100})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "set above stock",
            Method::PUT,
            format!("/v1/cart/items/{scarce}"),
            Some(json!({"quantity": 4})),
            409,
            "INSUFFICIENT_STOCK",
        ),
        (
            "set a deleted product",
            Method::PUT,
            format!("/v1/cart/items/{gone}"),
            Some(json!({"quantity": 1})),
            404,
            "RESOURCE_NOT_FOUND",
        ),
        (
            "malformed path id",
            Method::PUT,
            "/v1/cart/items/abc".into(),
            Some(json!({"quantity": 1})),
            400,
            "VALIDATION_FAILED",
        ),
        (
            "malformed id on delete",
            Method::DELETE,
            "/v1/cart/items/1.5".into(),
            None,
            400,
            "VALIDATION_FAILED",
        ),
        (
            "method not allowed",
            Method::PATCH,
            "/v1/cart".into(),
            None,
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ];
    for (case, method, path, body, status, code) in cases {
        let request = app.request(method, &path, token);
        let request = match &body {
            Some(body) => request.json(body),
            None => request,
        };
        let response = request.send().await.unwrap();
        let error = crate::assert_error(response, status, code, case).await;
        if code == "INSUFFICIENT_STOCK" {
            assert_eq!(
                error["error"]["details"][0]["field"],
                format!("product_id:{scarce}"),
                "{case}: details name the product"
            );
        }
    }

    let not_json = app
        .request(Method::POST, "/v1/cart/items", token)
        .header("content-type", "text/plain")
        .body("product_id=1")
        .send()
        .await
        .unwrap();
    crate::assert_error(not_json, 415, "UNSUPPORTED_MEDIA_TYPE", "text body").await;
    let broken = app
        .request(Method::POST, "/v1/cart/items", token)
        .header("content-type", "application/json")
        .body("{\"product_id\": ")
        .send()
        .await
        .unwrap();
    crate::assert_error(broken, 400, "BAD_REQUEST", "malformed JSON").await;
    for (method, path) in [
        (Method::GET, "/v1/cart"),
        (Method::DELETE, "/v1/cart"),
        (Method::POST, "/v1/cart/items"),
    ] {
        let anonymous = app
            .request(method.clone(), path, None)
            .json(&json!({"product_id": scarce, "quantity": 1}))
            .send()
            .await
            .unwrap();
        crate::assert_error(
            anonymous,
            401,
            "UNAUTHENTICATED",
            &format!("anonymous {method} {path}"),
        )
        .await;
    }
    assert_eq!(
        cart(&app, &customer).await["items"][0]["quantity"],
        2,
        "no rejected request changed the cart"
    );
}

#[tokio::test]
async fn a_cart_holds_at_most_50_lines_and_prices_them_with_one_batched_catalogue_read() {
    let app = TestApp::builder().env("REDIS_URL", "").spawn().await;
    let customer = app.customer().await;
    let ids = seed_products(&app, 51, 5).await;
    for id in &ids[..50] {
        assert_eq!(
            add(&app, &customer, *id, 1).await.status(),
            200,
            "line {id}"
        );
    }
    let over = add(&app, &customer, ids[50], 1).await;
    let error = crate::assert_error(over, 400, "VALIDATION_FAILED", "51st line").await;
    assert!(
        error["error"]["details"][0]["issue"]
            .as_str()
            .unwrap()
            .contains("50")
    );

    let (gets_before, batches_before) = app.faults.catalog_calls.reads();
    let body = cart(&app, &customer).await;
    let (gets_after, batches_after) = app.faults.catalog_calls.reads();
    assert_eq!(body["items"].as_array().unwrap().len(), 50);
    assert_eq!(body["subtotal"], "125.00");
    assert_eq!(
        batches_after - batches_before,
        1,
        "one batched read for 50 lines"
    );
    assert_eq!(gets_after - gets_before, 0, "no read per line");
}

#[tokio::test]
async fn no_customer_can_see_or_change_another_customers_cart() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let alice = app.customer().await;
    let bob = app.customer().await;
    let lamp = product(&app, &admin, "Lamp", "30.00", 5).await;
    add(&app, &alice, lamp, 2).await;

    assert_eq!(
        cart(&app, &bob).await["items"],
        json!([]),
        "bob sees only his own cart"
    );
    let removed = app
        .request(
            Method::DELETE,
            &format!("/v1/cart/items/{lamp}"),
            Some(&bob.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    app.request(Method::DELETE, "/v1/cart", Some(&bob.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(
        cart(&app, &alice).await["items"][0]["quantity"],
        2,
        "bob's edits never reach alice's cart"
    );
}

#[tokio::test]
async fn twenty_concurrent_adds_of_one_unit_end_at_exactly_twenty() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let id = product(&app, &admin, "Popular", "1.00", 500).await;
    for round in 0..10 {
        app.request(Method::DELETE, "/v1/cart", Some(&customer.access_token))
            .send()
            .await
            .unwrap();
        let adds = (0..20).map(|_| add(&app, &customer, id, 1));
        let statuses: Vec<u16> = futures::future::join_all(adds)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        assert!(
            statuses.iter().all(|s| *s == 200),
            "round {round}: {statuses:?}"
        );
        let body = cart(&app, &customer).await;
        assert_eq!(
            body["items"][0]["quantity"], 20,
            "round {round}: no add was lost"
        );
    }
}

#[tokio::test]
async fn a_repriced_or_deleted_product_shows_the_truth_without_changing_the_cart() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let kept = product(&app, &admin, "Kettle", "40.00", 5).await;
    let dropped = product(&app, &admin, "Toaster", "25.00", 5).await;
    add(&app, &customer, kept, 1).await;
    add(&app, &customer, dropped, 2).await;
    let stored_version = || async {
        app.dynamodb
            .get_item()
            .table_name(app.table("UserCart"))
            .key(
                "user_id",
                aws_sdk_dynamodb::types::AttributeValue::N(
                    user_id(&app, &customer).await.to_string(),
                ),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap()["version"]
            .as_n()
            .unwrap()
            .clone()
    };
    let version_before = stored_version().await;

    let repriced = app
        .send_json(
            Method::PATCH,
            &format!("/v1/products/{kept}"),
            Some(&admin.access_token),
            &json!({"price": "35.00", "name": "Kettle v2"}),
        )
        .await;
    assert_eq!(repriced.status(), 200);
    let deleted = app
        .request(
            Method::DELETE,
            &format!("/v1/products/{dropped}"),
            Some(&admin.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let body = cart(&app, &customer).await;
    assert_eq!(
        body["items"],
        json!([
            {"product_id": kept, "name": "Kettle v2", "quantity": 1, "unit_price": "35.00", "line_total": "35.00", "available": 5},
            {"product_id": dropped, "name": "Toaster", "quantity": 2, "unit_price": "25.00", "line_total": "50.00", "available": 0},
        ])
    );
    assert_eq!(body["subtotal"], "35.00", "only what can be bought counts");
    assert_eq!(
        stored_version().await,
        version_before,
        "a read never changes the cart"
    );

    // Too little stock left: the count says so, and the line leaves the subtotal.
    app.send_json(
        Method::PUT,
        &format!("/v1/products/{kept}/inventory"),
        Some(&admin.access_token),
        &json!({"stock": 0}),
    )
    .await;
    let body = cart(&app, &customer).await;
    assert_eq!(body["items"][0]["available"], 0);
    assert_eq!(body["subtotal"], "0.00");
}

async fn user_id(app: &TestApp, user: &TestUser) -> i64 {
    let me: Value = app
        .get("/v1/users/me", Some(&user.access_token))
        .await
        .json()
        .await
        .unwrap();
    me["user_id"].as_i64().unwrap()
}

#[tokio::test]
async fn api_gateway_events_reach_the_cart_router_with_the_callers_claims() {
    let app = TestApp::builder().api_gateway_mode().spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let carts = app.function_router(common::app::Function::Cart).await;
    let products = app.function_router(common::app::Function::Products).await;
    let created = invoke(
        products,
        apigw_v2_event(
            "POST",
            "/v1/products",
            Some(&TestApp::product_body("Lambda mug", "9.00", 4)),
            Some(&claims_of(&admin.access_token)),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["product_id"].as_i64().unwrap();

    let added = invoke(
        carts.clone(),
        apigw_v2_event(
            "POST",
            "/v1/cart/items",
            Some(&json!({"product_id": id, "quantity": 2})),
            Some(&claims_of(&customer.access_token)),
        ),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["subtotal"], "18.00");
    let read = invoke(
        carts.clone(),
        apigw_v2_event(
            "GET",
            "/v1/cart",
            None,
            Some(&claims_of(&customer.access_token)),
        ),
    )
    .await;
    assert_eq!(read.body["items"][0]["quantity"], 2);
    let anonymous = invoke(carts, apigw_v2_event("GET", "/v1/cart", None, None)).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.body["error"]["code"], "UNAUTHENTICATED");
}
