//! The checkout workflow's worker: the steps of `statemachines/checkout_workflow.asl.json` that
//! need Postgres arrive on the checkout task queue with a task token; the worker does the step
//! and answers Step Functions (`SendTaskSuccess` / `SendTaskFailure`), sending heartbeats while
//! it works. The same handler consumes the fulfillment queue (`order.confirmed` from the
//! order-events topic) and records `fulfillment.requested` for orders still `CONFIRMED`.
//!
//! Delivery is at least once and the worker may die at any instruction, so every step can run
//! again to completion from what is recorded (the order's stock and payment states, the
//! payment call in flight: [`OrderLedger`]), and a step that meets an order that has moved on
//! changes nothing. Retries belong to the workflow: a step that fails for a reason worth
//! retrying answers `SendTaskFailure` with [`RETRYABLE`], which the ASL's `Retry` handles with
//! backoff, as it does a heartbeat timeout (a worker that died). SQS redelivery only recovers
//! a message whose answer could not be sent; what it redelivers is harmless.
//!
//! [`Reconciler`] is the sweeper behind the workflow: orders left `PENDING`
//! past a bound, or ended while still holding stock or money, are unwound through the same
//! idempotent steps.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    error::{Error, error_chain},
    metrics::{self, Unit},
    models::order::{Order, OrderEvent, OrderStatus, PaymentOp, PaymentState, StockState},
    repositories::{
        order_events_dynamo::OrderEventLog,
        workflow_sfn::{TaskAnswer, Workflow},
    },
    services::{
        cart::CartService,
        order_ledger::{OrderLedger, Unwind},
        queue::{Message, MessageHandler},
    },
};

/// The task names the state machine sends; a test checks the ASL names no other.
pub const TASKS: [&str; 5] = ["reserve", "charge", "confirm", "empty_cart", "compensate"];

/// How often a busy worker tells Step Functions it is alive (the ASL's `HeartbeatSeconds`
/// must be at least three of these: a test reads both).
pub const HEARTBEAT: Duration = Duration::from_secs(3);

/// The error name of a step failure worth retrying; the ASL retries it with backoff.
pub const RETRYABLE: &str = "StepRetryable";

/// The error name of a step that met an order that has moved on (cancelled, failed …).
pub const MOVED_ON: &str = "OrderMovedOn";

/// How long an order may stay `PENDING` before the reconciler unwinds it: longer than the
/// longest run of the workflow (every step's attempts timing out, a test computes it from the
/// ASL), so it never races a live saga.
pub const RECONCILE_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Deserialize)]
struct TaskMessage {
    task: String,
    order_id: i64,
    task_token: String,
    #[serde(default)]
    correlation_id: Option<Value>,
    /// The caught error (`{Error, Cause}`), for `compensate`.
    #[serde(default)]
    error: Option<Value>,
}

/// How a step ended.
#[derive(Debug)]
enum StepError {
    /// Final: the saga must take its failure path (`SendTaskFailure`).
    Fail { error: &'static str, cause: String },
    /// Worth retrying: the workflow retries the step ([`RETRYABLE`]).
    Retry(Error),
}

impl From<Error> for StepError {
    fn from(err: Error) -> Self {
        if err.is_retryable() {
            StepError::Retry(err)
        } else {
            StepError::Fail {
                error: "StepFailed",
                cause: error_chain(&err),
            }
        }
    }
}

impl From<crate::repositories::RepoError> for StepError {
    fn from(err: crate::repositories::RepoError) -> Self {
        Error::from(err).into()
    }
}

fn fail(error: &'static str, cause: impl Into<String>) -> StepError {
    StepError::Fail {
        error,
        cause: cause.into(),
    }
}

/// The step's answer for an order that is no longer `PENDING`.
fn moved_on(order: &Order) -> StepError {
    fail(
        MOVED_ON,
        format!("order {} is {}", order.order_id, order.status),
    )
}

/// The failure reason an order records for the error that stopped its checkout.
pub fn failure_reason(error: &str) -> String {
    match error {
        "InsufficientStock" => "insufficient_stock".into(),
        "PaymentDeclined" => "payment_declined".into(),
        "States.Timeout" | "States.HeartbeatTimeout" => "step_timed_out".into(),
        other => format!("checkout_failed: {other}"),
    }
}

/// What `confirm` answers (and `compensate`, for an order it found confirmed): the workflow
/// publishes it as `order.confirmed`.
fn confirmation(order: &Order) -> Value {
    json!({"order_id": order.order_id, "user_id": order.user_id, "total": order.total,
           "currency": order.currency,
           "shipment_id": order.shipments.first().map(|s| s.shipment_id)})
}

/// How long an ended order's leftovers (stock, a live payment, a call in flight) wait before
/// the reconciler finishes them.
pub const ENDED_GRACE: Duration = Duration::from_secs(60);

/// What a reconciler pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    pub examined: usize,
    pub unwound: usize,
    pub failed: usize,
}

/// The sweeper behind the workflow: unwinds what a workflow left unsettled, through the same
/// idempotent ledger operations as the saga. Needs only Postgres, the payment provider and the
/// order relay, so the scheduled relay job runs it too.
pub struct Reconciler {
    ledger: Arc<OrderLedger>,
}

impl Reconciler {
    pub fn new(ledger: Arc<OrderLedger>) -> Self {
        Self { ledger }
    }

    /// One pass of the reconciler: every order `PENDING` for longer than `after`, or ended
    /// while still holding stock, a live payment or a call in flight, is unwound (a pending
    /// one fails with `abandoned`). Runs the same idempotent steps as the saga, so it is safe
    /// beside a live workflow and safe to run twice.
    #[tracing::instrument(skip(self))]
    pub async fn reconcile(&self, after: Duration) -> Result<Reconciled, Error> {
        let ago = |d: Duration| Utc::now() - chrono::Duration::from_std(d).unwrap_or_default();
        // An ended order's leftovers need no long wait: every step on them is idempotent. The
        // minute lets a cancel or a compensation in flight finish its own call first.
        let ids = self
            .ledger
            .orders()
            .unsettled(ago(after), ago(after.min(ENDED_GRACE)), 500)
            .await?;
        let mut report = Reconciled {
            examined: ids.len(),
            ..Reconciled::default()
        };
        for order_id in ids {
            let outcome = self
                .ledger
                .unwind(order_id, |order| {
                    Ok(match order.status {
                        OrderStatus::Pending => {
                            Unwind::End(OrderStatus::Failed, Some("abandoned".into()))
                        }
                        OrderStatus::Failed | OrderStatus::Cancelled => Unwind::Remainder,
                        _ => Unwind::Keep,
                    })
                })
                .await;
            match outcome {
                Ok((order, undone)) => {
                    report.unwound += 1;
                    tracing::warn!(order_id, status = %order.status, %undone, "reconciled an unsettled order");
                }
                Err(err) => {
                    report.failed += 1;
                    tracing::error!(order_id, error = %err, "could not reconcile an order; next pass tries again");
                }
            }
        }
        if report.unwound > 0 {
            metrics::add("OrdersReconciled", Unit::Count, report.unwound as f64);
        }
        Ok(report)
    }
}

pub struct CheckoutWorker {
    ledger: Arc<OrderLedger>,
    events: Arc<dyn OrderEventLog>,
    cart: Arc<CartService>,
    workflow: Arc<dyn Workflow>,
}

impl CheckoutWorker {
    pub fn new(
        ledger: Arc<OrderLedger>,
        events: Arc<dyn OrderEventLog>,
        cart: Arc<CartService>,
        workflow: Arc<dyn Workflow>,
    ) -> Self {
        Self {
            ledger,
            events,
            cart,
            workflow,
        }
    }

    async fn reserve(&self, order_id: i64) -> Result<Value, StepError> {
        let (mut uow, order) = self.ledger.locked(order_id).await?;
        match (order.status, order.stock_state) {
            (OrderStatus::Pending, StockState::Reserved) => return Ok(json!({"reserved": true})),
            (OrderStatus::Pending, StockState::None) => {}
            _ => return Err(moved_on(&order)),
        }
        let short = self
            .ledger
            .inventory()
            .reserve(&mut uow, &order.items)
            .await?;
        if !short.is_empty() {
            // Dropping the unit of work rolls back the lines already reserved.
            return Err(fail(
                "InsufficientStock",
                format!("not enough stock of products {short:?}"),
            ));
        }
        self.ledger
            .orders()
            .set_stock_state(&mut uow, order_id, StockState::Reserved)
            .await?;
        self.ledger.announce_stock(&mut uow, &order.items).await?;
        let lines: Vec<Value> = order
            .items
            .iter()
            .map(|i| json!({"product_id": i.product_id, "quantity": i.quantity}))
            .collect();
        self.ledger
            .finish(uow, order_id, "stock.reserved", json!({"lines": lines}))
            .await?;
        Ok(json!({"reserved": true}))
    }

    /// Authorizes the order's total (the provider holds it on the card).
    async fn charge(&self, order_id: i64) -> Result<Value, StepError> {
        let order = self.ledger.get(order_id).await?;
        if order.status != OrderStatus::Pending {
            return Err(moved_on(&order));
        }
        if order.stock_state != StockState::Reserved {
            return Err(fail(
                "StockNotReserved",
                format!("order {order_id} holds stock {}", order.stock_state),
            ));
        }
        let order = self.ledger.pay(order_id, PaymentOp::Authorize).await?;
        if order.status != OrderStatus::Pending {
            // A cancel (or the reconciler) got there first; it voids what was authorized.
            return Err(moved_on(&order));
        }
        match order.payment_state {
            PaymentState::Authorized | PaymentState::Captured => Ok(json!({"authorized": true})),
            PaymentState::Declined => Err(fail("PaymentDeclined", "card_declined")),
            other => Err(fail("PaymentNotAuthorized", format!("payment is {other}"))),
        }
    }

    /// Captures the authorized amount, then confirms the order: its stock taken, its shipment
    /// created.
    async fn confirm(&self, order_id: i64) -> Result<Value, StepError> {
        let order = self.ledger.get(order_id).await?;
        if matches!(
            order.status,
            OrderStatus::Confirmed | OrderStatus::Shipped | OrderStatus::Delivered
        ) {
            return Ok(confirmation(&order));
        }
        if order.status != OrderStatus::Pending {
            return Err(moved_on(&order));
        }
        self.ledger.pay(order_id, PaymentOp::Capture).await?;
        let (mut uow, order) = self.ledger.locked(order_id).await?;
        if order.status != OrderStatus::Pending {
            return Err(moved_on(&order));
        }
        if order.payment_state != PaymentState::Captured
            || order.stock_state != StockState::Reserved
        {
            return Err(fail(
                "OrderNotConfirmable",
                format!(
                    "payment {} and stock {}",
                    order.payment_state, order.stock_state
                ),
            ));
        }
        let orders = self.ledger.orders();
        self.ledger
            .inventory()
            .commit(&mut uow, &order.items)
            .await?;
        self.ledger.announce_stock(&mut uow, &order.items).await?;
        orders
            .set_stock_state(&mut uow, order_id, StockState::Committed)
            .await?;
        orders
            .set_status(&mut uow, order_id, OrderStatus::Confirmed, None)
            .await?;
        let shipment_id = orders.create_shipment(&mut uow, order_id).await?;
        self.ledger
            .finish(
                uow,
                order_id,
                "order.confirmed",
                json!({"shipment_id": shipment_id, "total": order.total}),
            )
            .await?;
        tracing::info!(order_id, "order confirmed");
        metrics::add("CheckoutsConfirmed", Unit::Count, 1.0);
        let waited = (Utc::now() - order.created_at).num_milliseconds().max(0);
        metrics::add("TimeToConfirm", Unit::Milliseconds, waited as f64);
        Ok(confirmation(&self.ledger.get(order_id).await?))
    }

    /// Takes what the order bought out of the cart, once per order (lines added since stay).
    async fn empty_cart(&self, order_id: i64) -> Result<Value, StepError> {
        let order = self.ledger.get(order_id).await?;
        let bought: Vec<(i64, u32)> = order
            .items
            .iter()
            .map(|i| (i.product_id, i.quantity))
            .collect();
        let applied = self
            .cart
            .remove_bought(order.user_id, order_id, &bought)
            .await?;
        if applied {
            let lines: Vec<Value> = bought
                .iter()
                .map(|(id, q)| json!({"product_id": id, "quantity": q}))
                .collect();
            let uow = self.ledger.begin().await?;
            self.ledger
                .finish(uow, order_id, "cart.emptied", json!({"lines": lines}))
                .await?;
        }
        Ok(json!({"emptied": true}))
    }

    /// Undoes whatever the saga did and fails the order, unless it was confirmed (then it
    /// changes nothing and says so: the workflow goes on to publish it) or has ended already
    /// (then it gives back whatever that ending left).
    async fn compensate(&self, order_id: i64, error: Option<&Value>) -> Result<Value, StepError> {
        let error_name = error
            .and_then(|e| e.get("Error"))
            .and_then(Value::as_str)
            .unwrap_or("Unknown");
        let reason = failure_reason(error_name);
        let mut failed_now = false;
        let (order, _) = self
            .ledger
            .unwind(order_id, |order| {
                Ok(match order.status {
                    OrderStatus::Pending => {
                        failed_now = true;
                        Unwind::End(OrderStatus::Failed, Some(reason.clone()))
                    }
                    OrderStatus::Failed | OrderStatus::Cancelled => Unwind::Remainder,
                    _ => Unwind::Keep,
                })
            })
            .await?;
        if matches!(
            order.status,
            OrderStatus::Confirmed | OrderStatus::Shipped | OrderStatus::Delivered
        ) {
            tracing::warn!(
                order_id,
                error_name,
                "compensation met a confirmed order: nothing undone"
            );
            return Ok(json!({"confirmed": true, "confirmation": confirmation(&order)}));
        }
        if failed_now {
            tracing::warn!(order_id, %reason, "checkout failed");
            // A bounded set of reasons: each dimension value is a metric of its own.
            let bounded = reason.split(':').next().unwrap_or("checkout_failed");
            metrics::add_with(&[("Reason", bounded)], "CheckoutsFailed", Unit::Count, 1.0);
        }
        if order.payment_pending.is_some()
            || matches!(
                order.payment_state,
                PaymentState::Authorized | PaymentState::Captured
            )
        {
            return Err(StepError::Retry(Error::unavailable(
                "payments",
                format!("order {order_id}: payment still {}", order.payment_state),
            )));
        }
        Ok(json!({"confirmed": false, "status": order.status, "reason": reason}))
    }

    async fn step(&self, task: &TaskMessage) -> Result<Value, StepError> {
        match task.task.as_str() {
            "reserve" => self.reserve(task.order_id).await,
            "charge" => self.charge(task.order_id).await,
            "confirm" => self.confirm(task.order_id).await,
            "empty_cart" => self.empty_cart(task.order_id).await,
            "compensate" => self.compensate(task.order_id, task.error.as_ref()).await,
            other => Err(fail("UnknownTask", format!("no step `{other}`"))),
        }
    }

    #[tracing::instrument(skip_all, fields(task = %task.task, order_id = task.order_id, correlation_id = ?task.correlation_id))]
    async fn run_task(&self, task: TaskMessage) -> Result<(), Error> {
        // Stops with the step: a worker that dies mid-step stops heartbeating with it.
        struct AbortOnDrop(tokio::task::JoinHandle<()>);
        impl Drop for AbortOnDrop {
            fn drop(&mut self) {
                self.0.abort();
            }
        }
        let heartbeat = {
            let workflow = self.workflow.clone();
            let token = task.task_token.clone();
            AbortOnDrop(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(HEARTBEAT).await;
                    match workflow.heartbeat(&token).await {
                        Ok(TaskAnswer::Accepted) => {}
                        Ok(TaskAnswer::Stale) => return,
                        Err(err) => tracing::warn!(error = %err, "heartbeat failed"),
                    }
                }
            }))
        };
        tracing::info!("checkout step started");
        let outcome = self.step(&task).await;
        drop(heartbeat);
        let answer = match outcome {
            Ok(output) => {
                self.workflow
                    .succeed(&task.task_token, &output.to_string())
                    .await?
            }
            Err(StepError::Fail { error, cause }) => {
                tracing::info!(error, %cause, "step failed");
                self.workflow.fail(&task.task_token, error, &cause).await?
            }
            Err(StepError::Retry(err)) => {
                tracing::warn!(error = %err, "step failed; the workflow retries it");
                self.workflow
                    .fail(&task.task_token, RETRYABLE, &error_chain(&err))
                    .await?
            }
        };
        if answer == TaskAnswer::Stale {
            tracing::warn!("the workflow no longer waits for this step (timed out or ended)");
        } else {
            tracing::info!("checkout step answered");
        }
        Ok(())
    }

    /// `order.confirmed` from the fulfillment queue: the SNS envelope, or the bare event.
    async fn fulfillment(&self, body: &Value) -> Result<(), Error> {
        let event = match body.get("Message").and_then(Value::as_str) {
            Some(inner) => serde_json::from_str::<Value>(inner).unwrap_or(Value::Null),
            None => body.clone(),
        };
        let (Some("order.confirmed"), Some(order_id)) = (
            event.get("event_type").and_then(Value::as_str),
            event.get("order_id").and_then(Value::as_i64),
        ) else {
            tracing::error!(%body, "unreadable fulfillment message dropped");
            return Ok(());
        };
        // Publishing can come late (retries) and a cancel may have come first: only a live
        // order goes to fulfillment.
        let order = match self.ledger.get(order_id).await {
            Ok(order) => order,
            Err(Error::NotFound(_)) => {
                tracing::error!(order_id, "fulfillment message for an unknown order dropped");
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        if order.status != OrderStatus::Confirmed {
            tracing::info!(order_id, status = %order.status, "fulfillment skipped: the order is no longer CONFIRMED");
            return Ok(());
        }
        let recorded = self
            .events
            .append_once(
                order_id,
                "fulfillment#requested",
                &OrderEvent {
                    event_type: "fulfillment.requested".into(),
                    at: Utc::now(),
                    payload: json!({"correlation_id": event.get("correlation_id")}),
                },
            )
            .await?;
        let correlation_id = event
            .get("correlation_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        tracing::info!(
            order_id,
            first_time = recorded,
            correlation_id,
            "fulfillment requested"
        );
        Ok(())
    }
}

#[async_trait::async_trait]
impl MessageHandler for CheckoutWorker {
    async fn handle(&self, message: &Message) -> Result<(), Error> {
        let body: Value = match serde_json::from_str(&message.body) {
            Ok(body) => body,
            Err(err) => {
                tracing::error!(error = %err, "unreadable message dropped");
                return Ok(());
            }
        };
        if body.get("task_token").is_some() {
            match serde_json::from_value::<TaskMessage>(body) {
                Ok(task) => self.run_task(task).await,
                Err(err) => {
                    tracing::error!(error = %err, "malformed task message dropped");
                    Ok(())
                }
            }
        } else {
            self.fulfillment(&body).await
        }
    }
}
