//! The checkout workflow's worker: the steps of `statemachines/checkout_workflow.asl.json` that
//! need Postgres arrive on the checkout task queue with a task token; the worker does the step
//! and answers Step Functions (`SendTaskSuccess` / `SendTaskFailure`), sending heartbeats while
//! it works, so a worker that dies mid-step lets the step time out and the saga compensate.
//! The same handler consumes the fulfillment queue (`order.confirmed` from the order-events
//! topic) and records `fulfillment.requested`.
//!
//! Every step is idempotent under redelivery (the order's stock and payment states say what
//! was done) and takes the order's row lock, so it serialises with a cancel. A step that fails
//! for a reason worth retrying (a dependency down) is not answered: SQS delivers it again.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    error::{Error, error_chain},
    metrics::{self, Unit},
    models::order::{Order, OrderEvent, OrderStatus, PaymentState, StockState},
    repositories::{
        database::{Database, UnitOfWork},
        order_events_dynamo::OrderEventLog,
        orders_pg::OrderStore,
        outbox::PgOutbox,
        payments::{Charge, PaymentProvider},
        workflow_sfn::{TaskAnswer, Workflow},
    },
    services::{
        cart::CartService,
        order_relay::OrderRelay,
        orders::{announce_stock, record, unwind},
        queue::{Message, MessageHandler},
    },
};

/// The task names the state machine sends; a test checks the ASL names no other.
pub const TASKS: [&str; 5] = ["reserve", "charge", "confirm", "empty_cart", "compensate"];

/// How often a busy worker tells Step Functions it is alive (the ASL's `HeartbeatSeconds`
/// is larger).
pub const HEARTBEAT: Duration = Duration::from_secs(3);

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
    /// Worth retrying: leave the message to SQS.
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

/// The failure reason an order records for the error that stopped its checkout.
pub fn failure_reason(error: &str) -> String {
    match error {
        "InsufficientStock" => "insufficient_stock".into(),
        "PaymentDeclined" => "payment_declined".into(),
        "States.Timeout" | "States.HeartbeatTimeout" => "step_timed_out".into(),
        other => format!("checkout_failed: {other}"),
    }
}

pub struct CheckoutWorker {
    db: Database,
    outbox: PgOutbox,
    orders: Arc<dyn OrderStore>,
    events: Arc<dyn OrderEventLog>,
    relay: Arc<OrderRelay>,
    cart: Arc<CartService>,
    payments: Arc<dyn PaymentProvider>,
    workflow: Arc<dyn Workflow>,
}

impl CheckoutWorker {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Database,
        outbox: PgOutbox,
        orders: Arc<dyn OrderStore>,
        events: Arc<dyn OrderEventLog>,
        relay: Arc<OrderRelay>,
        cart: Arc<CartService>,
        payments: Arc<dyn PaymentProvider>,
        workflow: Arc<dyn Workflow>,
    ) -> Self {
        Self {
            db,
            outbox,
            orders,
            events,
            relay,
            cart,
            payments,
            workflow,
        }
    }

    /// Locks the order for a step.
    async fn locked(&self, order_id: i64) -> Result<(UnitOfWork, Order), StepError> {
        let mut uow = self.db.begin().await?;
        let order = self
            .orders
            .lock(&mut uow, order_id)
            .await?
            .ok_or_else(|| fail("OrderNotFound", format!("order {order_id} does not exist")))?;
        Ok((uow, order))
    }

    /// Records `event_type`, commits, and applies the record at once.
    async fn finish(
        &self,
        mut uow: UnitOfWork,
        order_id: i64,
        event_type: &str,
        payload: Value,
    ) -> Result<(), StepError> {
        let outbox_id = record(&self.outbox, &mut uow, order_id, event_type, payload).await?;
        uow.commit().await.map_err(Error::from)?;
        if let Err(err) = crate::services::within_budget(self.relay.project_now(outbox_id)).await {
            tracing::warn!(order_id, outbox_id, error = %err, "order event deferred to the relay");
        }
        Ok(())
    }

    async fn reserve(&self, order_id: i64) -> Result<Value, StepError> {
        let (mut uow, order) = self.locked(order_id).await?;
        match (order.status, order.stock_state) {
            (OrderStatus::Cancelled, _) => return Err(fail("OrderCancelled", "cancelled")),
            (_, StockState::Reserved | StockState::Committed) => {
                return Ok(json!({"reserved": true}));
            }
            (OrderStatus::Pending, StockState::None) => {}
            (status, stock) => {
                return Err(fail(
                    "OrderNotReservable",
                    format!("order {order_id} is {status} with stock {stock}"),
                ));
            }
        }
        let short = self.orders.reserve(&mut uow, &order.items).await?;
        if !short.is_empty() {
            // Dropping the unit of work rolls back the lines already reserved.
            return Err(fail(
                "InsufficientStock",
                format!("not enough stock of products {short:?}"),
            ));
        }
        self.orders
            .set_stock_state(&mut uow, order_id, StockState::Reserved)
            .await?;
        announce_stock(&self.outbox, &mut uow, &order.items).await?;
        let lines: Vec<Value> = order
            .items
            .iter()
            .map(|i| json!({"product_id": i.product_id, "quantity": i.quantity}))
            .collect();
        self.finish(uow, order_id, "stock.reserved", json!({"lines": lines}))
            .await?;
        Ok(json!({"reserved": true}))
    }

    async fn charge(&self, order_id: i64) -> Result<Value, StepError> {
        let (mut uow, order) = self.locked(order_id).await?;
        if order.status == OrderStatus::Cancelled {
            return Err(fail("OrderCancelled", "cancelled"));
        }
        match order.payment_state {
            PaymentState::Captured => return Ok(json!({"captured": true})),
            PaymentState::Declined => return Err(fail("PaymentDeclined", "declined before")),
            PaymentState::Refunded => return Err(fail("OrderCancelled", "refunded")),
            PaymentState::None => {}
        }
        if order.stock_state != StockState::Reserved {
            return Err(fail(
                "StockNotReserved",
                format!("order {order_id} holds stock {}", order.stock_state),
            ));
        }
        // The row stays locked while the provider answers: a cancel waits, then refunds.
        match self
            .payments
            .charge(&format!("order-{order_id}"), order.total)
            .await?
        {
            Charge::Captured { reference } => {
                self.orders
                    .set_payment(&mut uow, order_id, PaymentState::Captured, Some(&reference))
                    .await?;
                self.finish(
                    uow,
                    order_id,
                    "payment.captured",
                    json!({"amount": order.total, "reference": reference}),
                )
                .await?;
                Ok(json!({"captured": true}))
            }
            Charge::Declined { reason } => {
                self.orders
                    .set_payment(&mut uow, order_id, PaymentState::Declined, None)
                    .await?;
                self.finish(
                    uow,
                    order_id,
                    "payment.declined",
                    json!({"amount": order.total, "reason": reason}),
                )
                .await?;
                Err(fail("PaymentDeclined", reason))
            }
        }
    }

    async fn confirm(&self, order_id: i64) -> Result<Value, StepError> {
        let (mut uow, order) = self.locked(order_id).await?;
        let summary = |shipment_id: Option<i64>| {
            json!({"order_id": order_id, "user_id": order.user_id, "total": order.total,
                   "currency": order.currency, "shipment_id": shipment_id})
        };
        match order.status {
            OrderStatus::Confirmed | OrderStatus::Shipped | OrderStatus::Delivered => {
                return Ok(summary(order.shipments.first().map(|s| s.shipment_id)));
            }
            OrderStatus::Cancelled => return Err(fail("OrderCancelled", "cancelled")),
            OrderStatus::Failed => return Err(fail("OrderFailed", "failed before")),
            OrderStatus::Pending => {}
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
        self.orders.commit_stock(&mut uow, &order.items).await?;
        announce_stock(&self.outbox, &mut uow, &order.items).await?;
        self.orders
            .set_stock_state(&mut uow, order_id, StockState::Committed)
            .await?;
        self.orders
            .set_status(&mut uow, order_id, OrderStatus::Confirmed, None)
            .await?;
        let shipment_id = self.orders.create_shipment(&mut uow, order_id).await?;
        self.finish(
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
        Ok(summary(Some(shipment_id)))
    }

    async fn empty_cart(&self, order_id: i64) -> Result<Value, StepError> {
        let order = self
            .orders
            .get(order_id)
            .await?
            .ok_or_else(|| fail("OrderNotFound", format!("order {order_id} does not exist")))?;
        let bought: Vec<(i64, u32)> = order
            .items
            .iter()
            .map(|i| (i.product_id, i.quantity))
            .collect();
        self.cart.remove_bought(order.user_id, &bought).await?;
        let uow = self.db.begin().await?;
        let lines: Vec<Value> = bought
            .iter()
            .map(|(id, q)| json!({"product_id": id, "quantity": q}))
            .collect();
        self.finish(uow, order_id, "cart.emptied", json!({"lines": lines}))
            .await?;
        Ok(json!({"emptied": true}))
    }

    /// Undoes whatever the saga did and fails the order (unless a cancel got there first).
    async fn compensate(&self, order_id: i64, error: Option<&Value>) -> Result<Value, StepError> {
        let (mut uow, order) = self.locked(order_id).await?;
        let error_name = error
            .and_then(|e| e.get("Error"))
            .and_then(Value::as_str)
            .unwrap_or("Unknown");
        let undone = unwind(
            self.orders.as_ref(),
            self.payments.as_ref(),
            &self.outbox,
            &mut uow,
            &order,
        )
        .await?;
        let reason = failure_reason(error_name);
        match order.status {
            OrderStatus::Cancelled | OrderStatus::Failed => {
                if undone != json!({"stock_released": false, "refunded": false}) {
                    self.finish(uow, order_id, "stock.released", undone).await?;
                }
            }
            _ => {
                self.orders
                    .set_status(&mut uow, order_id, OrderStatus::Failed, Some(&reason))
                    .await?;
                let mut payload = undone;
                payload["reason"] = json!(reason);
                self.finish(uow, order_id, "order.failed", payload).await?;
                tracing::warn!(order_id, %reason, "checkout failed");
                // A bounded set of reasons: each dimension value is a metric of its own.
                let bounded = reason.split(':').next().unwrap_or("checkout_failed");
                metrics::add_with(&[("Reason", bounded)], "CheckoutsFailed", Unit::Count, 1.0);
            }
        }
        Ok(json!({"compensated": true, "reason": reason}))
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
            Err(StepError::Retry(err)) => return Err(err),
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
