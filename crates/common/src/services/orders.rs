//! The orders service: checkout (the caller's cart becomes a `PENDING` order with its prices
//! frozen, and the checkout workflow starts), the caller's orders and their history, cancel,
//! and the admin's shipment updates. Every change is one unit of work with its outbox record;
//! a cancel and the workflow's steps serialise on the order's row, so a cancel never leaves
//! stock held for a cancelled order, nor a confirmed order without its stock.

use std::sync::Arc;

use serde_json::json;

use crate::{
    error::{Error, FieldIssue},
    models::{
        Money,
        order::{
            Order, OrderEvent, OrderItem, OrderStatus, OrderSummary, PaymentState, Shipment,
            ShipmentStatus, StockState,
        },
        page::{Page, PageRequest},
        principal::Principal,
    },
    repositories::{
        database::{Database, UnitOfWork},
        order_events_dynamo::OrderEventLog,
        orders_pg::{NewOrder, OrderStore},
        outbox::PgOutbox,
        payments::PaymentProvider,
    },
    services::{
        cart::CartService,
        order_relay::{OrderRelay, PLACED},
        users::UserService,
    },
};

/// The longest shipping address accepted.
pub const MAX_ADDRESS: usize = 1000;

pub struct OrderService {
    db: Database,
    outbox: PgOutbox,
    orders: Arc<dyn OrderStore>,
    events: Arc<dyn OrderEventLog>,
    relay: Arc<OrderRelay>,
    cart: Arc<CartService>,
    users: Arc<UserService>,
    payments: Arc<dyn PaymentProvider>,
}

/// Records an order event inside `uow` (its outbox entry); returns the entry's id.
pub async fn record(
    outbox: &PgOutbox,
    uow: &mut UnitOfWork,
    order_id: i64,
    event_type: &str,
    payload: serde_json::Value,
) -> Result<i64, Error> {
    Ok(outbox
        .append(uow, "order", order_id, event_type, &payload)
        .await?)
}

/// Announces a stock move of every line to the catalogue (a product outbox record each, in
/// the same unit of work), so the projection and the cache show the new availability once the
/// relay applies them.
pub async fn announce_stock(
    outbox: &PgOutbox,
    uow: &mut UnitOfWork,
    items: &[OrderItem],
) -> Result<(), Error> {
    for item in items {
        outbox
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

/// Gives back whatever stock the order holds and refunds what it paid; returns what it did.
pub async fn unwind(
    orders: &dyn OrderStore,
    payments: &dyn PaymentProvider,
    outbox: &PgOutbox,
    uow: &mut UnitOfWork,
    order: &Order,
) -> Result<serde_json::Value, Error> {
    let stock = match order.stock_state {
        StockState::Reserved => {
            orders.release(uow, &order.items).await?;
            true
        }
        StockState::Committed => {
            orders.restock(uow, &order.items).await?;
            true
        }
        StockState::None | StockState::Released => false,
    };
    if stock {
        orders
            .set_stock_state(uow, order.order_id, StockState::Released)
            .await?;
        announce_stock(outbox, uow, &order.items).await?;
    }
    let refunded = match (order.payment_state, &order.payment_reference) {
        (PaymentState::Captured, Some(reference)) => {
            payments.refund(reference, order.total).await?;
            orders
                .set_payment(uow, order.order_id, PaymentState::Refunded, None)
                .await?;
            true
        }
        _ => false,
    };
    Ok(json!({"stock_released": stock, "refunded": refunded}))
}

impl OrderService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Database,
        outbox: PgOutbox,
        orders: Arc<dyn OrderStore>,
        events: Arc<dyn OrderEventLog>,
        relay: Arc<OrderRelay>,
        cart: Arc<CartService>,
        users: Arc<UserService>,
        payments: Arc<dyn PaymentProvider>,
    ) -> Self {
        Self {
            db,
            outbox,
            orders,
            events,
            relay,
            cart,
            users,
            payments,
        }
    }

    fn not_found(order_id: i64) -> Error {
        Error::NotFound(format!("order {order_id} does not exist"))
    }

    /// Commits `uow` and applies its outbox entry at once (history, workflow start); what
    /// fails there is left to the relay.
    async fn commit(&self, uow: UnitOfWork, outbox_id: i64) -> Result<(), Error> {
        uow.commit().await?;
        if let Err(err) = crate::services::within_budget(self.relay.project_now(outbox_id)).await {
            tracing::warn!(outbox_id, error = %err, "order event deferred to the relay");
        }
        Ok(())
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
    /// refused before anything starts.
    #[tracing::instrument(skip(self, principal, shipping_address))]
    pub async fn checkout(
        &self,
        principal: &Principal,
        shipping_address: Option<String>,
        correlation_id: Option<String>,
    ) -> Result<Order, Error> {
        let user = self.users.me(principal).await?;
        let cart = self.cart.stored(user.user_id).await?;
        if cart.lines.is_empty() {
            return Err(Error::validation("cart", "the cart is empty"));
        }
        let mut uow = self.db.begin().await?;
        let ids: Vec<i64> = cart.lines.iter().map(|l| l.product_id).collect();
        let sellable = self.orders.sellable(&mut uow, &ids).await?;
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
        let order_id = self
            .orders
            .create(
                &mut uow,
                &NewOrder {
                    user_id: user.user_id,
                    shipping_address: shipping_address.or(user.address),
                    items,
                    total,
                    correlation_id: correlation_id.clone(),
                },
            )
            .await?;
        let outbox_id = record(
            &self.outbox,
            &mut uow,
            order_id,
            PLACED,
            json!({"order_id": order_id, "total": total, "correlation_id": correlation_id}),
        )
        .await?;
        self.commit(uow, outbox_id).await?;
        tracing::info!(order_id, %total, "order placed");
        self.orders
            .get(order_id)
            .await?
            .ok_or_else(|| Error::internal("a committed order vanished"))
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

    /// Cancels a `PENDING` or `CONFIRMED` order: its stock goes back and its payment is
    /// refunded. A running checkout sees the cancel at its next step and stops.
    #[tracing::instrument(skip(self, principal))]
    pub async fn cancel(&self, principal: &Principal, order_id: i64) -> Result<Order, Error> {
        let (user_id, _) = self.own(principal, order_id).await?;
        let mut uow = self.db.begin().await?;
        let order = match self.orders.lock(&mut uow, order_id).await? {
            Some(order) if order.user_id == user_id => order,
            _ => return Err(Self::not_found(order_id)),
        };
        if !order.status.can_cancel() {
            return Err(Error::Conflict(format!(
                "order {order_id} is {}; only PENDING or CONFIRMED orders can be cancelled",
                order.status
            )));
        }
        let undone = unwind(
            self.orders.as_ref(),
            self.payments.as_ref(),
            &self.outbox,
            &mut uow,
            &order,
        )
        .await?;
        self.orders
            .set_status(&mut uow, order_id, OrderStatus::Cancelled, None)
            .await?;
        let outbox_id = record(&self.outbox, &mut uow, order_id, "order.cancelled", undone).await?;
        self.commit(uow, outbox_id).await?;
        tracing::info!(order_id, "order cancelled");
        self.orders
            .get(order_id)
            .await?
            .ok_or_else(|| Self::not_found(order_id))
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
        let mut uow = self.db.begin().await?;
        let order = self
            .orders
            .lock(&mut uow, order_id)
            .await?
            .ok_or_else(|| Self::not_found(order_id))?;
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
        let outbox_id = record(
            &self.outbox,
            &mut uow,
            order_id,
            event,
            json!({"shipment_id": shipment_id, "carrier": carrier, "tracking_number": tracking_number}),
        )
        .await?;
        self.commit(uow, outbox_id).await?;
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
