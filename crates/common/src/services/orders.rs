//! The orders service: checkout (the caller's cart becomes a `PENDING` order with its prices
//! frozen, and the checkout workflow starts), the caller's orders and their history, cancel,
//! and the admin's shipment updates. Every change is one unit of work with its outbox record;
//! a cancel and the workflow's steps serialise on the order's row, so a cancel never leaves
//! stock held for a cancelled order, nor a confirmed order without its stock.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::json;

use crate::{
    error::{Error, FieldIssue},
    models::{
        Money,
        order::{
            Order, OrderEvent, OrderItem, OrderStatus, OrderSummary, Shipment, ShipmentStatus,
        },
        page::{Page, PageRequest},
        principal::Principal,
    },
    repositories::{
        order_events_dynamo::OrderEventLog,
        orders_pg::{NewOrder, OrderStore},
    },
    services::{
        cart::CartService,
        checkout_saga::{OrderLedger, Unwind},
        outbox_relay::PLACED,
        users::UserService,
    },
};

/// The longest shipping address accepted.
pub const MAX_ADDRESS: usize = 1000;

/// The largest total an order holds (`orders.total` is `NUMERIC(12,2)`).
pub const MAX_TOTAL: Decimal = Decimal::from_parts(3_567_587_327, 232, 0, false, 2);

pub struct OrderService {
    ledger: Arc<OrderLedger>,
    orders: Arc<dyn OrderStore>,
    events: Arc<dyn OrderEventLog>,
    cart: Arc<CartService>,
    users: Arc<UserService>,
}

impl OrderService {
    pub fn new(
        ledger: Arc<OrderLedger>,
        orders: Arc<dyn OrderStore>,
        events: Arc<dyn OrderEventLog>,
        cart: Arc<CartService>,
        users: Arc<UserService>,
    ) -> Self {
        Self {
            ledger,
            orders,
            events,
            cart,
            users,
        }
    }

    fn not_found(order_id: i64) -> Error {
        Error::NotFound(format!("order {order_id} does not exist"))
    }

    /// The caller's order; another user's is not found.
    async fn own(&self, principal: &Principal, order_id: i64) -> Result<(i64, Order), Error> {
        let user_id = self.users.me(principal).await?.user_id;
        match self.orders.get(order_id).await? {
            Some(order) if order.user_id == user_id => Ok((user_id, order)),
            _ => Err(Self::not_found(order_id)),
        }
    }

    /// Checks out the caller's cart: an order `PENDING` with the prices of now, and the
    /// checkout workflow started. An empty cart, or a line that cannot be bought now, is
    /// refused before anything starts. The checkout's key is kept with the order: a retry
    /// with the same key answers the order it created, whatever became of the first answer.
    #[tracing::instrument(skip(self, principal, shipping_address, key))]
    pub async fn checkout(
        &self,
        principal: &Principal,
        shipping_address: Option<String>,
        correlation_id: Option<String>,
        key: Option<String>,
    ) -> Result<Order, Error> {
        let user = self.users.me(principal).await?;
        if let Some(key) = &key
            && let Some(order_id) = self.orders.by_checkout_key(user.user_id, key).await?
        {
            return self.ledger.get(order_id).await;
        }
        let cart = self.cart.stored(user.user_id).await?;
        if cart.lines.is_empty() {
            return Err(Error::validation("cart", "the cart is empty"));
        }
        let mut uow = self.ledger.begin().await?;
        let ids: Vec<i64> = cart.lines.iter().map(|l| l.product_id).collect();
        let sellable = self.ledger.inventory().sellable(&mut uow, &ids).await?;
        let mut short = Vec::new();
        let mut items = Vec::with_capacity(cart.lines.len());
        for line in &cart.lines {
            match sellable.iter().find(|p| p.product_id == line.product_id) {
                None => short.push(FieldIssue::new(
                    format!("product_id:{}", line.product_id),
                    "no longer sold",
                )),
                Some(p) if p.available < i64::from(line.quantity) => short.push(FieldIssue::new(
                    format!("product_id:{}", line.product_id),
                    format!("{} wanted, {} available", line.quantity, p.available.max(0)),
                )),
                Some(p) => items.push(OrderItem {
                    product_id: p.product_id,
                    sku: p.sku.clone(),
                    name: p.name.clone(),
                    quantity: line.quantity,
                    unit_price: p.price,
                    line_total: p.price.times(line.quantity),
                }),
            }
        }
        if !short.is_empty() {
            return Err(Error::InsufficientStock(short));
        }
        let total = items
            .iter()
            .fold(Money::ZERO, |sum, item| sum + item.line_total);
        if total.amount() > MAX_TOTAL {
            return Err(Error::validation(
                "cart",
                format!("the total {total} exceeds the largest order total, {MAX_TOTAL}"),
            ));
        }
        let created = self
            .orders
            .create(
                &mut uow,
                &NewOrder {
                    user_id: user.user_id,
                    shipping_address: shipping_address.or(user.address),
                    items,
                    total,
                    correlation_id: correlation_id.clone(),
                    checkout_key: key.clone(),
                },
            )
            .await?;
        let Some(order_id) = created else {
            // A concurrent checkout with the same key committed first.
            drop(uow);
            let order_id = match &key {
                Some(key) => self.orders.by_checkout_key(user.user_id, key).await?,
                None => None,
            };
            return match order_id {
                Some(order_id) => self.ledger.get(order_id).await,
                None => Err(Error::internal("a checkout key's order vanished")),
            };
        };
        let entry = self
            .ledger
            .record(
                &mut uow,
                order_id,
                PLACED,
                json!({"order_id": order_id, "total": total, "correlation_id": correlation_id}),
            )
            .await?;
        self.ledger.commit(uow, entry).await?;
        tracing::info!(order_id, %total, "order placed");
        self.ledger.get(order_id).await
    }

    #[tracing::instrument(skip(self, principal))]
    pub async fn list(
        &self,
        principal: &Principal,
        page: PageRequest<i64>,
    ) -> Result<Page<OrderSummary>, Error> {
        let user_id = self.users.me(principal).await?.user_id;
        let rows = self
            .orders
            .list(user_id, page.after, page.limit + 1)
            .await?;
        Ok(Page::from_overfetch(
            rows,
            page.limit,
            |o: &OrderSummary| o.order_id,
        ))
    }

    #[tracing::instrument(skip(self, principal))]
    pub async fn get(&self, principal: &Principal, order_id: i64) -> Result<Order, Error> {
        Ok(self.own(principal, order_id).await?.1)
    }

    #[tracing::instrument(skip(self, principal))]
    pub async fn events(
        &self,
        principal: &Principal,
        order_id: i64,
    ) -> Result<Vec<OrderEvent>, Error> {
        self.own(principal, order_id).await?;
        Ok(self.events.list(order_id).await?)
    }

    /// Cancels a `PENDING` or `CONFIRMED` order: its status and stock change and the void or
    /// refund is recorded as due in one commit; then the provider is called (keyed, so a
    /// retried cancel never refunds twice). If the request dies after the commit, the
    /// reconciler makes that call. A running checkout sees the cancel at its next step.
    #[tracing::instrument(skip(self, principal))]
    pub async fn cancel(&self, principal: &Principal, order_id: i64) -> Result<Order, Error> {
        let (user_id, _) = self.own(principal, order_id).await?;
        let outcome = self
            .ledger
            .unwind(order_id, |order| {
                if order.user_id != user_id {
                    return Err(Self::not_found(order_id));
                }
                if !order.status.can_cancel() {
                    return Err(Error::Conflict(format!(
                        "order {order_id} is {}; only PENDING or CONFIRMED orders can be cancelled",
                        order.status
                    )));
                }
                Ok(Unwind::End(OrderStatus::Cancelled, None))
            })
            .await;
        match outcome {
            Ok((order, _)) => {
                tracing::info!(order_id, payment = %order.payment_state, "order cancelled");
                Ok(order)
            }
            // The cancel is committed; only its refund or void is left, and it is recorded as
            // due: the reconciler finishes it.
            Err(err) if err.is_retryable() => {
                let order = self.ledger.get(order_id).await?;
                if order.status != OrderStatus::Cancelled {
                    return Err(err);
                }
                tracing::warn!(order_id, error = %err, "order cancelled; its refund is left to the reconciler");
                Ok(order)
            }
            Err(err) => Err(err),
        }
    }

    /// Moves a shipment on (`PENDING → SHIPPED → DELIVERED`); the order's status follows.
    #[tracing::instrument(skip(self))]
    pub async fn update_shipment(
        &self,
        order_id: i64,
        shipment_id: i64,
        status: ShipmentStatus,
        carrier: Option<String>,
        tracking_number: Option<String>,
    ) -> Result<Shipment, Error> {
        let (mut uow, order) = self.ledger.locked(order_id).await?;
        let shipment = order
            .shipments
            .iter()
            .find(|s| s.shipment_id == shipment_id)
            .ok_or_else(|| {
                Error::NotFound(format!("order {order_id} has no shipment {shipment_id}"))
            })?;
        if !matches!(order.status, OrderStatus::Confirmed | OrderStatus::Shipped) {
            return Err(Error::Conflict(format!(
                "order {order_id} is {}: its shipment cannot move",
                order.status
            )));
        }
        if !shipment.status.can_become(status) {
            return Err(Error::Conflict(format!(
                "shipment {shipment_id} is {}; it cannot become {status}",
                shipment.status
            )));
        }
        self.orders
            .update_shipment(
                &mut uow,
                shipment_id,
                status,
                carrier.as_deref(),
                tracking_number.as_deref(),
            )
            .await?;
        self.orders
            .set_status(&mut uow, order_id, status.order_status(), None)
            .await?;
        let event = match status {
            ShipmentStatus::Delivered => "shipment.delivered",
            _ => "shipment.shipped",
        };
        self.ledger
            .finish(
                uow,
                order_id,
                event,
                json!({"shipment_id": shipment_id, "carrier": carrier, "tracking_number": tracking_number}),
            )
            .await?;
        self.orders
            .get(order_id)
            .await?
            .and_then(|o| {
                o.shipments
                    .into_iter()
                    .find(|s| s.shipment_id == shipment_id)
            })
            .ok_or_else(|| Self::not_found(order_id))
    }
}
