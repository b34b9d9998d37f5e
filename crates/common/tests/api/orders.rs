//! `/v1/orders` and the `checkout_workflow` saga (docs/api.md, Orders) through the real router and
//! the emulator's Step Functions executing the repository's ASL file, with the orders worker
//! answering its task tokens from the test's own task queue.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{TestApp, TestUser};

pub(crate) async fn product(app: &TestApp, admin: &TestUser, price: &str, stock: i64) -> i64 {
    app.create_product(admin, TestApp::product_body("Widget", price, stock))
        .await["product_id"]
        .as_i64()
        .unwrap()
}

pub(crate) async fn add(app: &TestApp, user: &TestUser, product_id: i64, quantity: i64) {
    let response = app
        .send_json(
            Method::POST,
            "/v1/cart/items",
            Some(&user.access_token),
            &json!({"product_id": product_id, "quantity": quantity}),
        )
        .await;
    assert_eq!(response.status(), 200, "add to cart");
}

pub(crate) async fn checkout(app: &TestApp, user: &TestUser, key: &str) -> reqwest::Response {
    app.request(Method::POST, "/v1/orders", Some(&user.access_token))
        .header("idempotency-key", key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn place(app: &TestApp, user: &TestUser) -> Value {
    let response = checkout(app, user, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(response.status(), 202, "checkout");
    response.json().await.unwrap()
}

pub(crate) async fn order(app: &TestApp, user: &TestUser, id: i64) -> Value {
    app.get(&format!("/v1/orders/{id}"), Some(&user.access_token))
        .await
        .json()
        .await
        .unwrap()
}

/// Waits (bounded by `seconds`) until the order reaches a final status; returns it.
pub(crate) async fn settled(app: &TestApp, user: &TestUser, id: i64, seconds: u64) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let current = order(app, user, id).await;
        if matches!(
            current["status"].as_str(),
            Some("CONFIRMED" | "FAILED" | "CANCELLED")
        ) {
            return current;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "order {id} did not settle: {current}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn inventory(app: &TestApp, product_id: i64) -> (i32, i32) {
    sqlx::query_as("SELECT stock, reserved FROM product_inventory WHERE product_id = $1")
        .bind(product_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

pub(crate) async fn event_types(app: &TestApp, user: &TestUser, id: i64) -> Vec<String> {
    let body: Value = app
        .get(&format!("/v1/orders/{id}/events"), Some(&user.access_token))
        .await
        .json()
        .await
        .unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect()
}

/// The order's history once it holds every one of `expected`. It is read from the events'
/// DynamoDB projection, which an event whose inline projection outlasted its budget (a loaded
/// suite) reaches later through the relay, possibly after events that followed it.
pub(crate) async fn history_with(
    app: &TestApp,
    user: &TestUser,
    id: i64,
    expected: &[&str],
) -> Vec<String> {
    app.eventually(&format!("{expected:?} in the order's history"), || async {
        let events = event_types(app, user, id).await;
        expected.iter().all(|e| events.iter().any(|have| have == e))
    })
    .await;
    event_types(app, user, id).await
}

#[tokio::test]
async fn a_checkout_runs_the_saga_to_confirmed() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let id = product(&app, &admin, "12.50", 5).await;
    add(&app, &customer, id, 2).await;

    let placed = place(&app, &customer).await;
    assert_eq!(placed["status"], "PENDING");
    assert_eq!(placed["total"], "25.00");
    assert_eq!(placed["currency"], "USD");
    assert_eq!(
        placed["items"],
        json!([{"product_id": id, "sku": placed["items"][0]["sku"], "name": "Widget",
                "quantity": 2, "unit_price": "12.50", "line_total": "25.00"}])
    );
    let order_id = placed["order_id"].as_i64().unwrap();

    // Prices are frozen: a later repricing does not change the order.
    app.send_json(
        Method::PATCH,
        &format!("/v1/products/{id}"),
        Some(&admin.access_token),
        &json!({"price": "99.00"}),
    )
    .await;

    let done = settled(&app, &customer, order_id, 30).await;
    assert_eq!(done["status"], "CONFIRMED", "{done}");
    assert_eq!(done["total"], "25.00");
    assert_eq!(done["failure_reason"], Value::Null);
    assert_eq!(done["shipments"].as_array().unwrap().len(), 1);
    assert_eq!(done["shipments"][0]["status"], "PENDING");
    assert_eq!(
        inventory(&app, id).await,
        (3, 0),
        "stock reduced, nothing held"
    );

    app.eventually("the cart is emptied", || async {
        let cart: Value = app
            .get("/v1/cart", Some(&customer.access_token))
            .await
            .json()
            .await
            .unwrap();
        cart["items"] == json!([])
    })
    .await;
    let events = history_with(
        &app,
        &customer,
        order_id,
        &[
            "order.placed",
            "stock.reserved",
            "payment.authorized",
            "payment.captured",
            "order.confirmed",
            "cart.emptied",
            "order.published",
            "fulfillment.requested",
        ],
    )
    .await;
    let position = |name: &str| {
        events
            .iter()
            .position(|e| e == name)
            .unwrap_or_else(|| panic!("{name} missing from {events:?}"))
    };
    assert!(
        position("order.placed") < position("stock.reserved")
            && position("stock.reserved") < position("payment.authorized")
            && position("payment.authorized") < position("payment.captured")
            && position("payment.captured") < position("order.confirmed")
            && position("order.confirmed") < position("order.published")
            && position("order.published") < position("fulfillment.requested"),
        "events in order: {events:?}"
    );
    position("cart.emptied");

    let listed: Value = app
        .get("/v1/orders", Some(&customer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["order_id"], order_id);
    assert_eq!(listed["items"][0]["status"], "CONFIRMED");
    assert_eq!(listed["items"][0]["item_count"], 1);
    assert_eq!(listed["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_declined_payment_fails_the_order_and_gives_the_stock_back() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    // The simulated provider declines amounts with 13 cents.
    let id = product(&app, &admin, "10.13", 4).await;
    add(&app, &customer, id, 1).await;
    let placed = place(&app, &customer).await;
    let order_id = placed["order_id"].as_i64().unwrap();

    let done = settled(&app, &customer, order_id, 30).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["failure_reason"], "payment_declined");
    assert_eq!(done["shipments"], json!([]));
    app.eventually("the reservation is released", || async {
        inventory(&app, id).await == (4, 0)
    })
    .await;
    app.eventually("the public product shows all units again", || async {
        let p: Value = app
            .get(&format!("/v1/products/{id}"), None)
            .await
            .json()
            .await
            .unwrap();
        p["stock"]["available"] == 4
    })
    .await;
    history_with(
        &app,
        &customer,
        order_id,
        &[
            "order.placed",
            "stock.reserved",
            "payment.declined",
            "order.failed",
        ],
    )
    .await;
    let cart: Value = app
        .get("/v1/cart", Some(&customer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        cart["items"][0]["quantity"], 1,
        "a failed checkout keeps the cart"
    );
}

#[tokio::test]
async fn twelve_customers_racing_for_five_units_confirm_exactly_five() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let mut customers = Vec::new();
    for _ in 0..12 {
        customers.push(app.customer().await);
    }
    let rounds: usize = std::env::var("CHECKOUT_RACE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    for round in 0..rounds {
        let id = product(&app, &admin, "3.00", 5).await;
        for customer in &customers {
            add(&app, customer, id, 1).await;
        }
        let placed = futures::future::join_all(customers.iter().map(|c| place(&app, c))).await;
        let mut confirmed = 0;
        for (customer, placed) in customers.iter().zip(&placed) {
            let done = settled(&app, customer, placed["order_id"].as_i64().unwrap(), 60).await;
            match done["status"].as_str() {
                Some("CONFIRMED") => confirmed += 1,
                Some("FAILED") => assert_eq!(
                    done["failure_reason"], "insufficient_stock",
                    "round {round}: {done}"
                ),
                other => panic!("round {round}: unexpected {other:?}"),
            }
            let (stock, reserved) = inventory(&app, id).await;
            assert!(
                stock >= 0 && reserved >= 0 && reserved <= stock,
                "round {round}"
            );
        }
        assert_eq!(confirmed, 5, "round {round}: exactly the stock is sold");
        app.eventually("every reservation is settled", || async {
            inventory(&app, id).await == (0, 0)
        })
        .await;
        // Money too: five captures, no charge for a lost race, nothing left in flight.
        for placed in &placed {
            super::money::quiet(&app, placed["order_id"].as_i64().unwrap()).await;
        }
        super::money::assert_invariants(&app, &[(id, 5)], &format!("race round {round}")).await;
        // Carts of the customers who lost keep their line: clear them for the next round.
        for customer in &customers {
            app.request(Method::DELETE, "/v1/cart", Some(&customer.access_token))
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn retries_with_one_key_make_one_order_and_keys_are_per_customer() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let alice = app.customer().await;
    let bob = app.customer().await;
    let id = product(&app, &admin, "7.00", 50).await;
    add(&app, &alice, id, 1).await;
    add(&app, &bob, id, 1).await;
    let key = uuid::Uuid::new_v4().to_string();

    let responses = futures::future::join_all((0..8).map(|_| checkout(&app, &alice, &key))).await;
    let mut orders = Vec::new();
    for response in responses {
        match response.status().as_u16() {
            202 => orders.push(response.json::<Value>().await.unwrap()["order_id"].clone()),
            409 => {
                crate::assert_error(response, 409, "IDEMPOTENCY_IN_PROGRESS", "retry").await;
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    assert!(!orders.is_empty());
    assert!(
        orders.iter().all(|o| *o == orders[0]),
        "one order: {orders:?}"
    );
    let replay = checkout(&app, &alice, &key).await;
    assert_eq!(replay.status(), 202);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap()["order_id"], orders[0]);

    let bobs = checkout(&app, &bob, &key).await;
    assert_eq!(
        bobs.status(),
        202,
        "the same key from another customer is another request"
    );
    let bobs: Value = bobs.json().await.unwrap();
    assert_ne!(bobs["order_id"], orders[0]);
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM orders")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 2, "two orders in all");
}

#[tokio::test]
async fn checkout_refuses_what_cannot_be_bought_before_anything_starts() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let key = || uuid::Uuid::new_v4().to_string();

    let empty = checkout(&app, &customer, &key()).await;
    let body = crate::assert_error(empty, 400, "VALIDATION_FAILED", "empty cart").await;
    assert_eq!(body["error"]["details"][0]["field"], "cart");

    let id = product(&app, &admin, "5.00", 3).await;
    add(&app, &customer, id, 3).await;
    app.send_json(
        Method::PUT,
        &format!("/v1/products/{id}/inventory"),
        Some(&admin.access_token),
        &json!({"stock": 1}),
    )
    .await;
    let short = checkout(&app, &customer, &key()).await;
    let body = crate::assert_error(short, 409, "INSUFFICIENT_STOCK", "stock went down").await;
    assert_eq!(
        body["error"]["details"][0]["field"],
        format!("product_id:{id}")
    );

    let no_key = app
        .request(Method::POST, "/v1/orders", Some(&customer.access_token))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    crate::assert_error(no_key, 400, "BAD_REQUEST", "no Idempotency-Key").await;
    let anonymous = app
        .request(Method::POST, "/v1/orders", None)
        .header("idempotency-key", "k")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    crate::assert_error(anonymous, 401, "UNAUTHENTICATED", "anonymous with a key").await;
    let anonymous_bad_key = app
        .request(Method::POST, "/v1/orders", None)
        .header("idempotency-key", "")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    crate::assert_error(
        anonymous_bad_key,
        401,
        "UNAUTHENTICATED",
        "anonymous, bad key",
    )
    .await;
    let long_address = app
        .request(Method::POST, "/v1/orders", Some(&customer.access_token))
        .header("idempotency-key", key())
        .json(&json!({"shipping_address": "x".repeat(1001)}))
        .send()
        .await
        .unwrap();
    crate::assert_error(long_address, 400, "VALIDATION_FAILED", "address too long").await;

    let (orders,): (i64,) = sqlx::query_as("SELECT count(*) FROM orders")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(orders, 0, "no order, so no workflow, was started");
    let executions = app
        .checkout
        .as_ref()
        .unwrap()
        .sfn
        .list_executions()
        .state_machine_arn(&app.checkout.as_ref().unwrap().state_machine_arn)
        .send()
        .await
        .unwrap();
    assert!(executions.executions().is_empty(), "no execution started");
}

#[tokio::test]
async fn cancel_gives_everything_back_and_only_while_pending_or_confirmed() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let other = app.customer().await;
    let id = product(&app, &admin, "20.00", 6).await;
    add(&app, &customer, id, 2).await;
    let order_id = place(&app, &customer).await["order_id"].as_i64().unwrap();
    assert_eq!(
        settled(&app, &customer, order_id, 30).await["status"],
        "CONFIRMED"
    );
    assert_eq!(inventory(&app, id).await, (4, 0));

    let foreign = app
        .request(
            Method::POST,
            &format!("/v1/orders/{order_id}/cancel"),
            Some(&other.access_token),
        )
        .send()
        .await
        .unwrap();
    crate::assert_error(
        foreign,
        404,
        "RESOURCE_NOT_FOUND",
        "another customer's cancel",
    )
    .await;

    let cancelled = app
        .request(
            Method::POST,
            &format!("/v1/orders/{order_id}/cancel"),
            Some(&customer.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    assert_eq!(
        cancelled.json::<Value>().await.unwrap()["status"],
        "CANCELLED"
    );
    assert_eq!(
        inventory(&app, id).await,
        (6, 0),
        "a confirmed order's units go back"
    );
    let again = app
        .request(
            Method::POST,
            &format!("/v1/orders/{order_id}/cancel"),
            Some(&customer.access_token),
        )
        .send()
        .await
        .unwrap();
    crate::assert_error(again, 409, "CONFLICT", "cancelling twice").await;

    // A shipped order cannot be cancelled.
    add(&app, &customer, id, 1).await;
    let shipped_id = place(&app, &customer).await["order_id"].as_i64().unwrap();
    let done = settled(&app, &customer, shipped_id, 30).await;
    let shipment = done["shipments"][0]["shipment_id"].as_i64().unwrap();
    let shipped = app
        .send_json(
            Method::POST,
            &format!("/v1/orders/{shipped_id}/shipments/{shipment}/status"),
            Some(&admin.access_token),
            &json!({"status": "SHIPPED", "carrier": "UPS", "tracking_number": "1Z999"}),
        )
        .await;
    assert_eq!(shipped.status(), 200);
    let refused = app
        .request(
            Method::POST,
            &format!("/v1/orders/{shipped_id}/cancel"),
            Some(&customer.access_token),
        )
        .send()
        .await
        .unwrap();
    crate::assert_error(refused, 409, "CONFLICT", "cancelling a shipped order").await;
}

#[tokio::test]
async fn a_cancel_racing_the_workflow_never_strands_stock() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    for round in 0..5 {
        let id = product(&app, &admin, "4.00", 3).await;
        add(&app, &customer, id, 2).await;
        let order_id = place(&app, &customer).await["order_id"].as_i64().unwrap();
        // Cancel at once, while the saga runs (or just after it confirmed).
        let cancel = app
            .request(
                Method::POST,
                &format!("/v1/orders/{order_id}/cancel"),
                Some(&customer.access_token),
            )
            .send()
            .await
            .unwrap();
        assert!(
            matches!(cancel.status().as_u16(), 200 | 409),
            "round {round}"
        );
        let done = settled(&app, &customer, order_id, 30).await;
        // Let the saga finish whatever step it was in.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let done_later = order(&app, &customer, order_id).await;
        assert_eq!(
            done["status"], done_later["status"],
            "round {round}: status is final"
        );
        match done_later["status"].as_str() {
            Some("CANCELLED") => assert_eq!(
                inventory(&app, id).await,
                (3, 0),
                "round {round}: a cancelled order holds nothing"
            ),
            Some("CONFIRMED") => assert_eq!(
                inventory(&app, id).await,
                (1, 0),
                "round {round}: a confirmed order has its stock"
            ),
            other => panic!("round {round}: {other:?}"),
        }
        // The cancel's void or refund, or the capture of a confirmed order: the money matches.
        super::money::quiet(&app, order_id).await;
        super::money::assert_invariants(&app, &[(id, 3)], &format!("cancel race {round}")).await;
        app.request(Method::DELETE, "/v1/cart", Some(&customer.access_token))
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn orders_are_private_to_their_customer() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let alice = app.customer().await;
    let bob = app.customer().await;
    let id = product(&app, &admin, "2.00", 5).await;
    add(&app, &alice, id, 1).await;
    let order_id = place(&app, &alice).await["order_id"].as_i64().unwrap();
    for path in [
        format!("/v1/orders/{order_id}"),
        format!("/v1/orders/{order_id}/events"),
    ] {
        let response = app.get(&path, Some(&bob.access_token)).await;
        crate::assert_error(response, 404, "RESOURCE_NOT_FOUND", &path).await;
    }
    let listed: Value = app
        .get("/v1/orders", Some(&bob.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));
    for (path, status, code) in [
        ("/v1/orders/abc", 400, "VALIDATION_FAILED"),
        ("/v1/orders?limit=0", 400, "VALIDATION_FAILED"),
        ("/v1/orders?cursor=%%%", 400, "VALIDATION_FAILED"),
        ("/v1/orders/999999999", 404, "RESOURCE_NOT_FOUND"),
    ] {
        let response = app.get(path, Some(&alice.access_token)).await;
        crate::assert_error(response, status, code, path).await;
    }
    let anonymous = app.get("/v1/orders", None).await;
    crate::assert_error(anonymous, 401, "UNAUTHENTICATED", "anonymous list").await;
}

#[tokio::test]
async fn an_admin_moves_a_shipment_on_and_the_order_follows() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let id = product(&app, &admin, "15.00", 5).await;
    add(&app, &customer, id, 1).await;
    let order_id = place(&app, &customer).await["order_id"].as_i64().unwrap();
    let done = settled(&app, &customer, order_id, 30).await;
    let shipment = done["shipments"][0]["shipment_id"].as_i64().unwrap();
    let path = format!("/v1/orders/{order_id}/shipments/{shipment}/status");

    let as_customer = app
        .send_json(
            Method::POST,
            &path,
            Some(&customer.access_token),
            &json!({"status": "SHIPPED"}),
        )
        .await;
    crate::assert_error(as_customer, 403, "FORBIDDEN", "a customer ships").await;
    for (body, status, code) in [
        (json!({"status": "LOST"}), 400, "VALIDATION_FAILED"),
        (json!({"status": "PENDING"}), 400, "VALIDATION_FAILED"),
        (json!({"status": "DELIVERED"}), 409, "CONFLICT"),
        (
            json!({"status": "SHIPPED", "carrier": "x".repeat(101)}),
            400,
            "VALIDATION_FAILED",
        ),
    ] {
        let response = app
            .send_json(Method::POST, &path, Some(&admin.access_token), &body)
            .await;
        crate::assert_error(response, status, code, &body.to_string()).await;
    }
    let missing = app
        .send_json(
            Method::POST,
            &format!("/v1/orders/{order_id}/shipments/999999/status"),
            Some(&admin.access_token),
            &json!({"status": "SHIPPED"}),
        )
        .await;
    crate::assert_error(missing, 404, "RESOURCE_NOT_FOUND", "unknown shipment").await;

    let shipped = app
        .send_json(
            Method::POST,
            &path,
            Some(&admin.access_token),
            &json!({"status": "SHIPPED", "carrier": "UPS", "tracking_number": "1Z999AA1"}),
        )
        .await;
    assert_eq!(shipped.status(), 200);
    let shipped: Value = shipped.json().await.unwrap();
    assert_eq!(shipped["status"], "SHIPPED");
    assert_eq!(shipped["carrier"], "UPS");
    assert!(shipped["shipped_at"].is_string());
    assert_eq!(shipped["delivered_at"], Value::Null);
    assert_eq!(order(&app, &customer, order_id).await["status"], "SHIPPED");

    let delivered = app
        .send_json(
            Method::POST,
            &path,
            Some(&admin.access_token),
            &json!({"status": "DELIVERED"}),
        )
        .await;
    assert_eq!(delivered.status(), 200);
    let delivered: Value = delivered.json().await.unwrap();
    assert_eq!(delivered["status"], "DELIVERED");
    assert_eq!(delivered["tracking_number"], "1Z999AA1");
    assert!(delivered["delivered_at"].is_string());
    assert_eq!(
        order(&app, &customer, order_id).await["status"],
        "DELIVERED"
    );
    history_with(
        &app,
        &customer,
        order_id,
        &["shipment.shipped", "shipment.delivered"],
    )
    .await;
}

#[test]
fn every_task_of_the_asl_has_a_worker_step_and_the_file_renders() {
    let asl: Value = serde_json::from_str(testkit::checkout::ASL).expect("the ASL is JSON");
    let mut tasks = Vec::new();
    for (name, state) in asl["States"].as_object().unwrap() {
        if state["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken" {
            let body = &state["Parameters"]["MessageBody"];
            assert!(
                body["task_token.$"] == "$$.Task.Token",
                "{name} passes its token"
            );
            assert!(
                state["HeartbeatSeconds"].as_u64().unwrap()
                    > common::services::checkout_saga::HEARTBEAT.as_secs() * 2,
                "{name}: the worker's heartbeats come well within HeartbeatSeconds"
            );
            tasks.push(body["task"].as_str().unwrap().to_owned());
        }
        if let Some(next) = state["Next"].as_str() {
            assert!(asl["States"].get(next).is_some(), "{name} → {next} exists");
        }
    }
    tasks.sort();
    let mut handled: Vec<String> = common::services::checkout_saga::TASKS
        .iter()
        .map(|t| t.to_string())
        .collect();
    handled.sort();
    assert_eq!(
        tasks, handled,
        "every task state has a worker step and no step is unused"
    );
    let rendered = testkit::checkout::render(&[
        ("checkout_task_queue_url", "https://sqs.example/q"),
        ("order_events_topic_arn", "arn:aws:sns:us-east-1:1:t"),
        ("OrderEvents_table", "shop-dev-OrderEvents"),
    ]);
    serde_json::from_str::<Value>(&rendered).expect("the rendered ASL is JSON");
}

#[tokio::test]
async fn the_catalogue_shows_what_checkout_sold_and_what_a_cancel_gave_back() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let id = product(&app, &admin, "8.00", 2).await;
    let available = || async {
        let p: Value = app
            .get(&format!("/v1/products/{id}"), None)
            .await
            .json()
            .await
            .unwrap();
        p["stock"]["available"].as_i64().unwrap()
    };
    assert_eq!(available().await, 2);
    add(&app, &customer, id, 2).await;
    let order_id = place(&app, &customer).await["order_id"].as_i64().unwrap();
    assert_eq!(
        settled(&app, &customer, order_id, 30).await["status"],
        "CONFIRMED"
    );
    app.eventually("the sold-out product reads 0 available", || async {
        available().await == 0
    })
    .await;
    let more = app
        .send_json(
            Method::POST,
            "/v1/cart/items",
            Some(&customer.access_token),
            &json!({"product_id": id, "quantity": 1}),
        )
        .await;
    crate::assert_error(more, 409, "INSUFFICIENT_STOCK", "adding a sold-out product").await;

    let cancelled = app
        .request(
            Method::POST,
            &format!("/v1/orders/{order_id}/cancel"),
            Some(&customer.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    app.eventually("the cancelled units are available again", || async {
        available().await == 2
    })
    .await;
}
