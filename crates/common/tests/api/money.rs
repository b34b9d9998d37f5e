//! The money path under what production guarantees: at-least-once delivery, a worker killed at
//! any instruction, a lost answer to Step Functions, a cancel racing the saga, a request that
//! dies mid-cancel, a retried checkout. Each row ends with [`assert_invariants`] over the
//! payment provider's own ledger, the orders, the stock and the carts.

use std::{sync::Arc, time::Duration};

use common::models::order::PaymentOp;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use testkit::{
    TestApp, TestUser,
    faults::{AnswerFault, CallPoint, PaymentFaults, WorkflowFaults},
};

use super::orders::{add, checkout, inventory, order, place, product, settled};

/// How long a row waits for an armed fault to be reached.
const REACH: Duration = Duration::from_secs(60);

/// Every order settled or not, checked against the provider's ledger and the inventory:
/// - money captured minus refunded is the total for a confirmed (shipped, delivered) order and
///   zero for any other; a settled order that is not confirmed holds no live authorization;
/// - a settled order has no provider call in flight and holds no reserved stock;
/// - every product's reserved units are the units of the `PENDING` orders holding them, and
///   the units taken from stock are exactly those of the orders holding committed stock (no
///   unit sold twice, none lost).
pub(crate) async fn assert_invariants(app: &TestApp, initial: &[(i64, i32)], case: &str) {
    let orders: Vec<(i64, String, Decimal, String, String, Option<String>)> = sqlx::query_as(
        "SELECT order_id, status, total, stock_state, payment_state, payment_pending FROM orders",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (order_id, status, total, stock_state, payment_state, pending) in &orders {
        let money: (Decimal, Decimal, Decimal, bool) = sqlx::query_as(
            "SELECT \
               COALESCE(SUM(amount) FILTER (WHERE operation = 'authorize'), 0), \
               COALESCE(SUM(amount) FILTER (WHERE operation = 'capture'), 0), \
               COALESCE(SUM(amount) FILTER (WHERE operation = 'refund'), 0), \
               bool_or(operation = 'void') IS TRUE \
             FROM payment_ledger WHERE idempotency_key LIKE $1 AND outcome = 'succeeded'",
        )
        .bind(format!("order-{order_id}-%"))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        let (authorized, captured, refunded, voided) = money;
        let confirmed = matches!(status.as_str(), "CONFIRMED" | "SHIPPED" | "DELIVERED");
        let expected = if confirmed { *total } else { Decimal::ZERO };
        assert_eq!(
            captured - refunded,
            expected,
            "{case}: order {order_id} ({status}, payment {payment_state}): captured {captured} \
             - refunded {refunded} must be {expected}"
        );
        if status != "PENDING" {
            assert_eq!(
                pending, &None,
                "{case}: settled order {order_id} has a call in flight"
            );
            assert_ne!(
                stock_state, "reserved",
                "{case}: settled order {order_id} holds reserved stock"
            );
            if !confirmed && !authorized.is_zero() {
                assert!(
                    voided || !captured.is_zero(),
                    "{case}: order {order_id} ({status}) left its authorization live"
                );
            }
        }
    }
    for (product_id, initial_stock) in initial {
        let (stock, reserved) = inventory(app, *product_id).await;
        let held: (i64, i64) = sqlx::query_as(
            "SELECT \
               COALESCE(SUM(i.quantity) FILTER (WHERE o.stock_state = 'reserved' AND o.status = 'PENDING'), 0), \
               COALESCE(SUM(i.quantity) FILTER (WHERE o.stock_state = 'committed'), 0) \
             FROM order_items i JOIN orders o USING (order_id) WHERE i.product_id = $1",
        )
        .bind(product_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            i64::from(reserved),
            held.0,
            "{case}: product {product_id}: reserved units are the PENDING orders' units"
        );
        assert_eq!(
            i64::from(initial_stock - stock),
            held.1,
            "{case}: product {product_id}: units taken are the committed orders' units"
        );
        assert!(stock >= 0 && reserved >= 0 && reserved <= stock, "{case}");
    }
}

/// Waits until the order's saga has left nothing running: the reconciler's view (no call in
/// flight, nothing reserved by a settled order).
pub(crate) async fn quiet(app: &TestApp, order_id: i64) {
    app.eventually(
        &format!("order {order_id} has no call in flight"),
        || async {
            let (status, pending): (String, Option<String>) =
                sqlx::query_as("SELECT status, payment_pending FROM orders WHERE order_id = $1")
                    .bind(order_id)
                    .fetch_one(&app.pool)
                    .await
                    .unwrap();
            status != "PENDING" && pending.is_none()
        },
    )
    .await;
}

struct Row {
    app: TestApp,
    payments: Arc<PaymentFaults>,
    workflow: Arc<WorkflowFaults>,
    customer: TestUser,
    product_id: i64,
}

async fn row() -> Row {
    let payments = Arc::new(PaymentFaults::default());
    let workflow = Arc::new(WorkflowFaults::default());
    let app = TestApp::builder()
        .with_checkout()
        .payment_faults(payments.clone())
        .workflow_faults(workflow.clone())
        .spawn()
        .await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let product_id = product(&app, &admin, "20.00", 10).await;
    add(&app, &customer, product_id, 2).await;
    Row {
        app,
        payments,
        workflow,
        customer,
        product_id,
    }
}

async fn reached(notify: &tokio::sync::Notify, case: &str) {
    tokio::time::timeout(REACH, notify.notified())
        .await
        .unwrap_or_else(|_| panic!("{case}: the armed fault was never reached"));
}

/// The worker dies at the armed point; a new one takes over. The workflow's heartbeat timeout
/// and `Retry` run the step again, and the order must still end confirmed, charged once.
async fn crash_and_recover(
    case: &str,
    arm: impl FnOnce(&Row),
    notify: impl Fn(&Row) -> Arc<tokio::sync::Notify>,
) {
    let (row, order_id) = crash_and_settle(case, arm, notify, "CONFIRMED").await;
    let calls: Vec<(String,)> = sqlx::query_as(
        "SELECT operation FROM payment_ledger WHERE idempotency_key LIKE $1 ORDER BY created_at",
    )
    .bind(format!("order-{order_id}-%"))
    .fetch_all(&row.app.pool)
    .await
    .unwrap();
    let calls: Vec<&str> = calls.iter().map(|(op,)| op.as_str()).collect();
    assert_eq!(calls, ["authorize", "capture"], "{case}: one call each");
}

/// Places an order with `arm`'s fault armed, kills the worker once the fault is reached, starts
/// a new one, and waits until the order ends `expected` with nothing in flight and the
/// invariants holding.
async fn crash_and_settle(
    case: &str,
    arm: impl FnOnce(&Row),
    notify: impl Fn(&Row) -> Arc<tokio::sync::Notify>,
    expected: &str,
) -> (Row, i64) {
    let row = row().await;
    arm(&row);
    let order_id = place(&row.app, &row.customer).await["order_id"]
        .as_i64()
        .unwrap();
    reached(&notify(&row), case).await;
    row.app.kill_checkout_worker();
    row.app.spawn_checkout_worker().await;
    let done = settled(&row.app, &row.customer, order_id, 120).await;
    assert_eq!(done["status"], expected, "{case}: {done}");
    quiet(&row.app, order_id).await;
    assert_invariants(&row.app, &[(row.product_id, 10)], case).await;
    (row, order_id)
}

#[tokio::test]
async fn a_worker_killed_before_the_authorization_is_sent_recovers_to_confirmed() {
    crash_and_recover(
        "authorize/before",
        |r| r.payments.arm(PaymentOp::Authorize, CallPoint::Before),
        |r| r.payments.reached.clone(),
    )
    .await;
}

#[tokio::test]
async fn a_worker_killed_after_the_provider_authorized_but_before_the_commit_authorizes_once() {
    crash_and_recover(
        "authorize/after",
        |r| r.payments.arm(PaymentOp::Authorize, CallPoint::After),
        |r| r.payments.reached.clone(),
    )
    .await;
}

#[tokio::test]
async fn a_worker_killed_after_the_charge_step_committed_but_before_answering_recovers() {
    crash_and_recover(
        "charge/answer",
        |r| r.workflow.arm(AnswerFault::Hang, "authorized"),
        |r| r.workflow.reached.clone(),
    )
    .await;
}

#[tokio::test]
async fn a_worker_killed_before_the_capture_is_sent_recovers_to_confirmed() {
    crash_and_recover(
        "capture/before",
        |r| r.payments.arm(PaymentOp::Capture, CallPoint::Before),
        |r| r.payments.reached.clone(),
    )
    .await;
}

#[tokio::test]
async fn a_worker_killed_after_the_provider_captured_but_before_the_commit_captures_once() {
    crash_and_recover(
        "capture/after",
        |r| r.payments.arm(PaymentOp::Capture, CallPoint::After),
        |r| r.payments.reached.clone(),
    )
    .await;
}

#[tokio::test]
async fn a_worker_killed_after_confirming_but_before_answering_keeps_the_order_confirmed() {
    crash_and_recover(
        "confirm/answer",
        |r| r.workflow.arm(AnswerFault::Hang, "shipment_id"),
        |r| r.workflow.reached.clone(),
    )
    .await;
}

#[tokio::test]
async fn a_worker_killed_after_reserving_but_before_answering_reserves_once() {
    crash_and_recover(
        "reserve/answer",
        |r| r.workflow.arm(AnswerFault::Hang, "reserved"),
        |r| r.workflow.reached.clone(),
    )
    .await;
}

/// The charge step's success is lost (the workflow hears a failure), so the saga compensates an
/// authorized order; the worker dies at the armed point of the compensation and a new one takes
/// over. The order must end `FAILED` with its authorization voided once and its stock back.
async fn compensation_crash(
    case: &str,
    arm: impl FnOnce(&Row),
    notify: impl Fn(&Row) -> Arc<tokio::sync::Notify>,
) {
    let refuse_then = |row: &Row| {
        row.workflow.arm(AnswerFault::Refuse, "authorized");
        arm(row);
    };
    let (row, order_id) = crash_and_settle(case, refuse_then, notify, "FAILED").await;
    assert_eq!(inventory(&row.app, row.product_id).await, (10, 0), "{case}");
    let voids: (i64,) = sqlx::query_as(
        "SELECT count(*) FROM payment_ledger WHERE idempotency_key = $1 AND outcome = 'succeeded'",
    )
    .bind(format!("order-{order_id}-void"))
    .fetch_one(&row.app.pool)
    .await
    .unwrap();
    assert_eq!(voids.0, 1, "{case}: voided once");
}

#[tokio::test]
async fn a_worker_killed_before_the_void_is_sent_still_voids_the_failed_order() {
    compensation_crash(
        "void/before",
        |r| r.payments.arm(PaymentOp::Void, CallPoint::Before),
        |r| r.payments.reached.clone(),
    )
    .await;
}

#[tokio::test]
async fn a_worker_killed_after_the_provider_voided_but_before_the_commit_voids_once() {
    compensation_crash(
        "void/after",
        |r| r.payments.arm(PaymentOp::Void, CallPoint::After),
        |r| r.payments.reached.clone(),
    )
    .await;
}

#[tokio::test]
async fn a_worker_killed_after_compensating_but_before_answering_changes_nothing_more() {
    compensation_crash(
        "compensate/answer",
        |r| r.workflow.arm(AnswerFault::Hang, "\"confirmed\":false"),
        |r| r.workflow.reached.clone(),
    )
    .await;
}

#[tokio::test]
async fn a_failed_send_task_success_is_recovered_by_redelivery() {
    let row = row().await;
    row.workflow.arm(AnswerFault::Fail, "shipment_id");
    let order_id = place(&row.app, &row.customer).await["order_id"]
        .as_i64()
        .unwrap();
    reached(&row.workflow.reached, "answer fails").await;
    let done = settled(&row.app, &row.customer, order_id, 120).await;
    assert_eq!(done["status"], "CONFIRMED", "{done}");
    quiet(&row.app, order_id).await;
    assert_invariants(&row.app, &[(row.product_id, 10)], "answer fails").await;
}

#[tokio::test]
async fn a_compensation_that_finds_the_order_confirmed_resumes_the_confirmed_path() {
    let row = row().await;
    // ConfirmOrder commits, but the workflow hears a failure: it compensates.
    row.workflow.arm(AnswerFault::Refuse, "shipment_id");
    let order_id = place(&row.app, &row.customer).await["order_id"]
        .as_i64()
        .unwrap();
    let events = super::orders::history_with(
        &row.app,
        &row.customer,
        order_id,
        &[
            "order.confirmed",
            "cart.emptied",
            "order.published",
            "fulfillment.requested",
        ],
    )
    .await;
    assert!(!events.iter().any(|e| e == "order.failed"), "{events:?}");
    let after = order(&row.app, &row.customer, order_id).await;
    assert_eq!(after["status"], "CONFIRMED", "{after}");
    assert_eq!(after["shipments"].as_array().unwrap().len(), 1);
    assert_invariants(&row.app, &[(row.product_id, 10)], "compensation resumed").await;
}

/// Sends task messages through the AWS endpoint as a redelivery would (a token the workflow no
/// longer waits for) and waits until the worker has taken them all.
async fn redeliver(app: &TestApp, order_id: i64, tasks: &[&str]) {
    let checkout = app.checkout.as_ref().unwrap();
    for task in tasks {
        let body = json!({"task": task, "order_id": order_id, "correlation_id": null,
            "task_token": format!("stale-{task}-{}", uuid::Uuid::new_v4()),
            "error": {"Error": "States.HeartbeatTimeout", "Cause": "redelivered"}});
        checkout
            .sqs
            .send_message()
            .queue_url(&checkout.task_queue_url)
            .message_body(body.to_string())
            .send()
            .await
            .expect("send a task message");
    }
    app.eventually("the redelivered messages are taken", || async {
        let attributes = checkout
            .sqs
            .get_queue_attributes()
            .queue_url(&checkout.task_queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        let count = |name| {
            attributes
                .get(&name)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(1)
        };
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages) == 0
            && count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                == 0
    })
    .await;
}

#[tokio::test]
async fn every_task_delivered_again_after_the_order_is_confirmed_changes_nothing() {
    let row = row().await;
    let order_id = place(&row.app, &row.customer).await["order_id"]
        .as_i64()
        .unwrap();
    let done = settled(&row.app, &row.customer, order_id, 60).await;
    assert_eq!(done["status"], "CONFIRMED", "{done}");
    row.app
        .eventually("the cart is emptied", || async {
            let cart: Value = row
                .app
                .get("/v1/cart", Some(&row.customer.access_token))
                .await
                .json()
                .await
                .unwrap();
            cart["items"] == json!([])
        })
        .await;
    // The customer shops again after checking out.
    add(&row.app, &row.customer, row.product_id, 3).await;

    redeliver(
        &row.app,
        order_id,
        &["reserve", "charge", "confirm", "empty_cart", "compensate"],
    )
    .await;

    let after = order(&row.app, &row.customer, order_id).await;
    assert_eq!(after["status"], "CONFIRMED", "{after}");
    assert_eq!(after["failure_reason"], Value::Null);
    assert_eq!(after["shipments"][0]["status"], "PENDING");
    let cart: Value = row
        .app
        .get("/v1/cart", Some(&row.customer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        cart["items"][0]["quantity"], 3,
        "lines added after checkout stay: {cart}"
    );
    assert_invariants(
        &row.app,
        &[(row.product_id, 10)],
        "redelivered after confirm",
    )
    .await;
}

#[tokio::test]
async fn every_task_delivered_again_while_the_saga_runs_and_after_it_failed_changes_nothing() {
    let row = row().await;
    // A declined amount (13 cents) fails the saga after the reservation.
    let admin = row.app.admin().await;
    let declined = product(&row.app, &admin, "10.13", 5).await;
    row.app
        .request(Method::DELETE, "/v1/cart", Some(&row.customer.access_token))
        .send()
        .await
        .unwrap();
    add(&row.app, &row.customer, declined, 1).await;
    let order_id = place(&row.app, &row.customer).await["order_id"]
        .as_i64()
        .unwrap();
    // A compensate task exists only once the workflow chose to compensate: while the saga
    // runs, only the forward steps can come again.
    redeliver(&row.app, order_id, &["reserve", "charge"]).await;
    let done = settled(&row.app, &row.customer, order_id, 60).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["failure_reason"], "payment_declined");
    quiet(&row.app, order_id).await;
    redeliver(
        &row.app,
        order_id,
        &["reserve", "charge", "confirm", "empty_cart", "compensate"],
    )
    .await;
    let after = order(&row.app, &row.customer, order_id).await;
    assert_eq!(after["status"], "FAILED", "{after}");
    assert_eq!(after["failure_reason"], "payment_declined");
    assert_eq!(inventory(&row.app, declined).await, (5, 0));
    assert_invariants(
        &row.app,
        &[(row.product_id, 10), (declined, 5)],
        "redelivered around a failure",
    )
    .await;
}

/// A cancel while the armed payment call hangs in the worker: the cancel finishes that call
/// (same key) and gives the money back; the saga then finds the order cancelled.
async fn cancel_during(op: PaymentOp, case: &str) {
    let row = row().await;
    row.payments.arm(op, CallPoint::After);
    let order_id = place(&row.app, &row.customer).await["order_id"]
        .as_i64()
        .unwrap();
    reached(&row.payments.reached, case).await;
    let cancelled = row
        .app
        .request(
            Method::POST,
            &format!("/v1/orders/{order_id}/cancel"),
            Some(&row.customer.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200, "{case}");
    let body: Value = cancelled.json().await.unwrap();
    assert_eq!(body["status"], "CANCELLED", "{case}");
    row.app.kill_checkout_worker();
    row.app.spawn_checkout_worker().await;
    quiet(&row.app, order_id).await;
    // The saga's retried step meets the cancelled order and changes nothing.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        order(&row.app, &row.customer, order_id).await["status"],
        "CANCELLED"
    );
    assert_eq!(inventory(&row.app, row.product_id).await, (10, 0), "{case}");
    assert_invariants(&row.app, &[(row.product_id, 10)], case).await;
}

#[tokio::test]
async fn a_cancel_during_the_charge_voids_the_authorization_the_worker_did_not_record() {
    cancel_during(PaymentOp::Authorize, "cancel during charge").await;
}

#[tokio::test]
async fn a_cancel_during_the_confirmation_refunds_the_capture_the_worker_did_not_record() {
    cancel_during(PaymentOp::Capture, "cancel during confirm").await;
}

#[tokio::test]
async fn a_cancel_cut_off_by_its_deadline_after_committing_is_refunded_by_the_reconciler() {
    let row = row().await;
    let order_id = place(&row.app, &row.customer).await["order_id"]
        .as_i64()
        .unwrap();
    let done = settled(&row.app, &row.customer, order_id, 60).await;
    assert_eq!(done["status"], "CONFIRMED", "{done}");
    // The refund reaches the provider and the request dies before recording it.
    row.payments.arm(PaymentOp::Refund, CallPoint::After);
    let cancel = row
        .app
        .request(
            Method::POST,
            &format!("/v1/orders/{order_id}/cancel"),
            Some(&row.customer.access_token),
        )
        .send()
        .await
        .unwrap();
    assert!(
        cancel.status().is_server_error(),
        "the deadline answers: {}",
        cancel.status()
    );
    let after = order(&row.app, &row.customer, order_id).await;
    assert_eq!(
        after["status"], "CANCELLED",
        "the cancel was committed: {after}"
    );
    assert_eq!(
        inventory(&row.app, row.product_id).await,
        (10, 0),
        "the stock is back"
    );
    // A retried cancel finds the order cancelled; the reconciler finishes the refund (once).
    let retried = row
        .app
        .request(
            Method::POST,
            &format!("/v1/orders/{order_id}/cancel"),
            Some(&row.customer.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 409);
    let worker = common::app::jobs::reconciler(&row.app.resources)
        .await
        .unwrap();
    let pass = worker.reconcile(Duration::ZERO).await.unwrap();
    assert!(pass.unwound >= 1, "{pass:?}");
    quiet(&row.app, order_id).await;
    let refunds: (i64,) = sqlx::query_as(
        "SELECT count(*) FROM payment_ledger WHERE operation = 'refund' AND idempotency_key = $1",
    )
    .bind(format!("order-{order_id}-refund"))
    .fetch_one(&row.app.pool)
    .await
    .unwrap();
    assert_eq!(refunds.0, 1, "refunded once");
    assert_invariants(&row.app, &[(row.product_id, 10)], "cancel deadline").await;
}

#[tokio::test]
async fn the_reconciler_unwinds_a_saga_that_died_with_stock_and_an_authorization_held() {
    let row = row().await;
    // The worker dies in the confirmation and nothing takes over: the workflow's retries and
    // its compensation go unanswered (the compensation ends in the DLQ / for attention).
    row.payments.arm(PaymentOp::Capture, CallPoint::Before);
    let order_id = place(&row.app, &row.customer).await["order_id"]
        .as_i64()
        .unwrap();
    reached(&row.payments.reached, "stranded").await;
    row.app.kill_checkout_worker();
    assert_eq!(inventory(&row.app, row.product_id).await, (10, 2));

    let worker = common::app::jobs::reconciler(&row.app.resources)
        .await
        .unwrap();
    // Young orders are left to their workflow.
    let pass = worker.reconcile(Duration::from_secs(3600)).await.unwrap();
    assert_eq!(pass.unwound, 0, "{pass:?}");
    let pass = worker.reconcile(Duration::ZERO).await.unwrap();
    assert_eq!(pass.unwound, 1, "{pass:?}");
    let after = order(&row.app, &row.customer, order_id).await;
    assert_eq!(after["status"], "FAILED", "{after}");
    assert_eq!(after["failure_reason"], "abandoned");
    assert_eq!(inventory(&row.app, row.product_id).await, (10, 0));
    assert_invariants(&row.app, &[(row.product_id, 10)], "stranded").await;
    // A second pass finds nothing to do.
    let pass = worker.reconcile(Duration::ZERO).await.unwrap();
    assert_eq!(pass.examined, 0, "{pass:?}");
}

#[tokio::test]
async fn a_checkout_retried_after_its_key_record_was_lost_answers_the_order_it_created() {
    let row = row().await;
    let key = uuid::Uuid::new_v4().to_string();
    let first = checkout(&row.app, &row.customer, &key).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    // As if the idempotency layer had let the key go (a 5xx after the commit): its record gone.
    let table = row.app.table("Idempotency");
    let scan = row
        .app
        .dynamodb
        .scan()
        .table_name(&table)
        .send()
        .await
        .expect("scan idempotency keys");
    for item in scan.items() {
        row.app
            .dynamodb
            .delete_item()
            .table_name(&table)
            .key("pk", item["pk"].clone())
            .send()
            .await
            .expect("delete the key's record");
    }
    let retried = checkout(&row.app, &row.customer, &key).await;
    assert_eq!(retried.status(), 202);
    let retried: Value = retried.json().await.unwrap();
    assert_eq!(retried["order_id"], first["order_id"], "the same order");
    let count: (i64,) = sqlx::query_as("SELECT count(*) FROM orders")
        .fetch_one(&row.app.pool)
        .await
        .unwrap();
    assert_eq!(count.0, 1, "one order");
    let order_id = first["order_id"].as_i64().unwrap();
    settled(&row.app, &row.customer, order_id, 60).await;
    quiet(&row.app, order_id).await;
    assert_invariants(&row.app, &[(row.product_id, 10)], "retried checkout").await;
}

#[tokio::test]
async fn a_cart_whose_total_exceeds_what_an_order_holds_is_refused() {
    let app = TestApp::builder().with_checkout().spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    for name in ["Big one", "Big two"] {
        let id = app
            .create_product(&admin, TestApp::product_body(name, "99999999.99", 200))
            .await["product_id"]
            .as_i64()
            .unwrap();
        add(&app, &customer, id, 99).await;
    }
    let response = checkout(&app, &customer, "too-much").await;
    let body = super::assert_error(response, 400, "VALIDATION_FAILED", "overflow").await;
    assert_eq!(body["error"]["details"][0]["field"], "cart", "{body}");
    let count: (i64,) = sqlx::query_as("SELECT count(*) FROM orders")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count.0, 0);
}
