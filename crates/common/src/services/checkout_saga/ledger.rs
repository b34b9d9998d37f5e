//! The order's ledger: every change to an order's stock and payment, made so that a crash at
//! any instruction, a redelivered message or a second caller (a cancel, the reconciler) racing
//! the saga can neither lose nor repeat an effect.
//!
//! - **Records** go with the change they describe: an order event is an outbox entry in the
//!   same unit of work ([`OrderLedger::record`]); [`OrderLedger::commit`] commits and then
//!   applies the entry at once (history, workflow start), leaving what fails to the relay.
//! - **Stock** moves inside the order's unit of work, with the order row locked.
//! - **Payments** are external effects, so they cannot share a transaction with the order.
//!   [`OrderLedger::pay`] commits the intent first (`payment_pending`), then calls the provider
//!   with the operation's idempotency key, then records the outcome under the row lock.
//!   Whoever finds a call in flight — the step run again, a cancel, the reconciler — makes
//!   the same call again ([`OrderLedger::finish_pending`]): the provider answers with the first
//!   outcome, and the first to record it wins.
//! - **Unwinding** ([`OrderLedger::unwind`]) ends an order and gives back everything it holds:
//!   the status, the stock and the payment's next call are committed together, then the call
//!   is made. An order that was confirmed is never unwound by the saga.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::{
    error::Error,
    models::order::{Order, OrderItem, OrderStatus, PaymentOp, PaymentState, StockState},
    repositories::{
        database::{Database, UnitOfWork},
        inventory_pg::InventoryStore,
        orders_pg::OrderStore,
        outbox::{OutboxEntry, PgOutbox},
        payments::{PaymentOutcome, PaymentProvider, perform},
    },
    services::outbox_relay::OrderRelay,
};

pub struct OrderLedger {
    db: Database,
    outbox: PgOutbox,
    orders: Arc<dyn OrderStore>,
    inventory: Arc<dyn InventoryStore>,
    relay: Arc<OrderRelay>,
    payments: Arc<dyn PaymentProvider>,
}

/// What [`OrderLedger::unwind`] is asked to do with the order it finds (under its lock).
pub enum Unwind {
    /// End it with this status (`FAILED` with a reason, or `CANCELLED`) and give back what it
    /// holds.
    End(OrderStatus, Option<String>),
    /// Leave its status; give back what it still holds (a `FAILED` or `CANCELLED` order whose
    /// unwinding was interrupted).
    Remainder,
    /// Touch nothing (an order that has moved on).
    Keep,
}

impl OrderLedger {
    pub fn new(
        db: Database,
        outbox: PgOutbox,
        orders: Arc<dyn OrderStore>,
        inventory: Arc<dyn InventoryStore>,
        relay: Arc<OrderRelay>,
        payments: Arc<dyn PaymentProvider>,
    ) -> Self {
        Self {
            db,
            outbox,
            orders,
            inventory,
            relay,
            payments,
        }
    }

    pub fn orders(&self) -> &dyn OrderStore {
        self.orders.as_ref()
    }

    pub fn inventory(&self) -> &dyn InventoryStore {
        self.inventory.as_ref()
    }

    pub async fn begin(&self) -> Result<UnitOfWork, Error> {
        Ok(self.db.begin().await?)
    }

    fn not_found(order_id: i64) -> Error {
        Error::NotFound(format!("order {order_id} does not exist"))
    }

    /// The order, its row locked until the unit of work ends.
    pub async fn locked(&self, order_id: i64) -> Result<(UnitOfWork, Order), Error> {
        let mut uow = self.db.begin().await?;
        let order = self
            .orders
            .lock(&mut uow, order_id)
            .await?
            .ok_or_else(|| Self::not_found(order_id))?;
        Ok((uow, order))
    }

    pub async fn get(&self, order_id: i64) -> Result<Order, Error> {
        self.orders
            .get(order_id)
            .await?
            .ok_or_else(|| Self::not_found(order_id))
    }

    /// Records an order event inside `uow` (its outbox entry); returns the entry.
    pub async fn record(
        &self,
        uow: &mut UnitOfWork,
        order_id: i64,
        event_type: &str,
        payload: Value,
    ) -> Result<OutboxEntry, Error> {
        Ok(self
            .outbox
            .append(uow, "order", order_id, event_type, &payload)
            .await?)
    }

    /// Announces a stock move of every line to the catalogue (a product outbox record each, in
    /// the same unit of work), so the projection and the cache show the new availability once
    /// the relay applies them.
    pub async fn announce_stock(
        &self,
        uow: &mut UnitOfWork,
        items: &[OrderItem],
    ) -> Result<(), Error> {
        for item in items {
            self.outbox
                .append(
                    uow,
                    "product",
                    item.product_id,
                    "product.stock_changed",
                    &json!({}),
                )
                .await?;
        }
        Ok(())
    }

    /// Commits `uow` and applies its outbox entry at once; what fails there is left to the relay.
    pub async fn commit(&self, uow: UnitOfWork, entry: OutboxEntry) -> Result<(), Error> {
        uow.commit().await?;
        if let Err(err) = crate::services::within_budget(self.relay.apply_now(&entry)).await {
            let outbox_id = entry.outbox_id;
            tracing::warn!(outbox_id, error = %err, "order event deferred to the relay");
        }
        Ok(())
    }

    /// Records `event_type` in `uow`, commits and applies it.
    pub async fn finish(
        &self,
        mut uow: UnitOfWork,
        order_id: i64,
        event_type: &str,
        payload: Value,
    ) -> Result<(), Error> {
        let entry = self.record(&mut uow, order_id, event_type, payload).await?;
        self.commit(uow, entry).await
    }

    /// Gives back the stock the order holds (inside `uow`); whether it held any.
    async fn release_stock(&self, uow: &mut UnitOfWork, order: &Order) -> Result<bool, Error> {
        match order.stock_state {
            StockState::Reserved => self.inventory.release(uow, &order.items).await?,
            StockState::Committed => self.inventory.restock(uow, &order.items).await?,
            StockState::None | StockState::Released => return Ok(false),
        }
        self.orders
            .set_stock_state(uow, order.order_id, StockState::Released)
            .await?;
        self.announce_stock(uow, &order.items).await?;
        Ok(true)
    }

    /// The call that gives the order's money back, if it holds any and none is in flight.
    fn undo_call(order: &Order) -> Option<PaymentOp> {
        match (order.payment_pending, order.payment_state) {
            (Some(_), _) => None,
            (None, PaymentState::Authorized) => Some(PaymentOp::Void),
            (None, PaymentState::Captured) => Some(PaymentOp::Refund),
            _ => None,
        }
    }

    /// Makes `op` for the order: the intent is committed, the provider called, the outcome
    /// recorded. Authorize and capture go ahead only while the order is `PENDING` and its
    /// payment is where the call starts (none / authorized); a call already in flight is
    /// finished first. Returns the order as it is afterwards.
    pub async fn pay(&self, order_id: i64, op: PaymentOp) -> Result<Order, Error> {
        let order = self.finish_pending(order_id).await?;
        let from = match op {
            PaymentOp::Authorize => PaymentState::None,
            PaymentOp::Capture | PaymentOp::Void => PaymentState::Authorized,
            PaymentOp::Refund => PaymentState::Captured,
        };
        let forward = matches!(op, PaymentOp::Authorize | PaymentOp::Capture);
        if order.payment_state != from || (forward && order.status != OrderStatus::Pending) {
            return Ok(order);
        }
        let (mut uow, order) = self.locked(order_id).await?;
        if order.payment_pending.is_some()
            || order.payment_state != from
            || (forward && order.status != OrderStatus::Pending)
        {
            drop(uow);
            return self.finish_pending(order_id).await;
        }
        self.orders
            .set_payment_pending(&mut uow, order_id, op)
            .await?;
        uow.commit().await?;
        self.finish_pending(order_id).await
    }

    /// Finishes the provider call in flight for the order, if any: makes it again under its
    /// key and records the outcome (unless someone recorded it meanwhile).
    pub async fn finish_pending(&self, order_id: i64) -> Result<Order, Error> {
        let order = self.get(order_id).await?;
        let Some(op) = order.payment_pending else {
            return Ok(order);
        };
        let outcome = perform(
            self.payments.as_ref(),
            op,
            order_id,
            order.payment_reference.as_deref(),
            order.total,
        )
        .await?;
        let (mut uow, order) = self.locked(order_id).await?;
        if order.payment_pending != Some(op) {
            drop(uow);
            return self.get(order_id).await;
        }
        let (state, reference, event) = match (&outcome, op) {
            (PaymentOutcome::Succeeded { reference }, _) => {
                let state = match op {
                    PaymentOp::Authorize => PaymentState::Authorized,
                    PaymentOp::Capture => PaymentState::Captured,
                    PaymentOp::Void => PaymentState::Voided,
                    PaymentOp::Refund => PaymentState::Refunded,
                };
                let event = match op {
                    PaymentOp::Authorize => "payment.authorized",
                    PaymentOp::Capture => "payment.captured",
                    PaymentOp::Void => "payment.voided",
                    PaymentOp::Refund => "payment.refunded",
                };
                (state, Some(reference.clone()), event)
            }
            (PaymentOutcome::Refused { .. }, PaymentOp::Authorize) => {
                (PaymentState::Declined, None, "payment.declined")
            }
            // The provider says the authorization was captured after all: refund it instead.
            (PaymentOutcome::Refused { reason }, PaymentOp::Void)
                if reason == "already_captured" =>
            {
                (PaymentState::Captured, None, "payment.refused")
            }
            (PaymentOutcome::Refused { .. }, _) => (order.payment_state, None, "payment.refused"),
        };
        self.orders
            .set_payment(&mut uow, order_id, state, reference.as_deref())
            .await?;
        let mut payload = json!({"operation": op.as_str(), "amount": order.total});
        match &outcome {
            PaymentOutcome::Succeeded { reference } => payload["reference"] = json!(reference),
            PaymentOutcome::Refused { reason } => payload["reason"] = json!(reason),
        }
        if event == "payment.refused" {
            tracing::error!(order_id, operation = %op, %payload, "the payment provider refused a call");
        }
        self.finish(uow, order_id, event, payload).await?;
        self.get(order_id).await
    }

    /// Gives back the order's money: finishes the call in flight, then voids an authorization
    /// or refunds a capture. Returns the order as it is afterwards.
    pub async fn undo_payment(&self, order_id: i64) -> Result<Order, Error> {
        let mut order = self.finish_pending(order_id).await?;
        // At most: void refused as captured → refund.
        for _ in 0..3 {
            let op = match order.payment_state {
                PaymentState::Authorized => PaymentOp::Void,
                PaymentState::Captured => PaymentOp::Refund,
                _ => return Ok(order),
            };
            let before = order.payment_state;
            order = self.pay(order_id, op).await?;
            if order.payment_state == before {
                break;
            }
        }
        Ok(order)
    }

    /// Ends an order and gives back everything it holds, as `decide` says for the order found
    /// under the lock: the status, the released stock, the event and the intent of the payment
    /// call are committed together; then the call is made ([`OrderLedger::undo_payment`]).
    /// Returns the order afterwards and what was undone in this call.
    pub async fn unwind(
        &self,
        order_id: i64,
        decide: impl FnOnce(&Order) -> Result<Unwind, Error>,
    ) -> Result<(Order, Value), Error> {
        let (mut uow, order) = self.locked(order_id).await?;
        let end = decide(&order)?;
        let event = match &end {
            Unwind::Keep => {
                drop(uow);
                return Ok((order, json!({"stock_released": false})));
            }
            Unwind::End(status, reason) => {
                self.orders
                    .set_status(&mut uow, order_id, *status, reason.as_deref())
                    .await?;
                match status {
                    OrderStatus::Cancelled => "order.cancelled",
                    _ => "order.failed",
                }
            }
            Unwind::Remainder => "stock.released",
        };
        let released = self.release_stock(&mut uow, &order).await?;
        let undo = Self::undo_call(&order);
        if let Some(op) = undo {
            self.orders
                .set_payment_pending(&mut uow, order_id, op)
                .await?;
        }
        let mut undone = json!({"stock_released": released});
        if let Some(op) = undo {
            undone["payment"] = json!(op.as_str());
        }
        if let Unwind::End(_, Some(reason)) = &end {
            undone["reason"] = json!(reason);
        }
        if matches!(end, Unwind::End(..)) || released || undo.is_some() {
            self.finish(uow, order_id, event, undone.clone()).await?;
        } else {
            drop(uow);
        }
        let order = self.undo_payment(order_id).await?;
        Ok((order, undone))
    }
}
