//! The saga's steps, as the checkout worker does them: one task message (a step of one order,
//! with the token Step Functions waits on) in, the step done through the [`OrderLedger`], the
//! answer sent (`SendTaskSuccess` / `SendTaskFailure`, [`RETRYABLE`] for a failure worth
//! retrying), heartbeats while it works.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};

use super::{HEARTBEAT, MOVED_ON, OrderLedger, RETRYABLE, Unwind};
use crate::{
    error::{Error, error_chain},
    metrics::{self, Unit},
    models::order::{CheckoutTask, Order, OrderStatus, PaymentOp, PaymentState, StockState},
    repositories::workflow_sfn::{TaskAnswer, Workflow},
    services::{cart::CartService, queue::MessageHandler},
};

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

pub struct CheckoutWorker {
    ledger: Arc<OrderLedger>,
    cart: Arc<CartService>,
    workflow: Arc<dyn Workflow>,
}

impl CheckoutWorker {
    pub fn new(
        ledger: Arc<OrderLedger>,
        cart: Arc<CartService>,
        workflow: Arc<dyn Workflow>,
    ) -> Self {
        Self {
            ledger,
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

    async fn step(&self, task: &CheckoutTask) -> Result<Value, StepError> {
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
    async fn run_task(&self, task: CheckoutTask) -> Result<(), Error> {
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
}

#[async_trait::async_trait]
impl MessageHandler for CheckoutWorker {
    type Message = CheckoutTask;

    async fn handle(&self, task: CheckoutTask) -> Result<(), Error> {
        self.run_task(task).await
    }
}
