//! Orders in Postgres, the source of truth: the order, its frozen lines, its shipments, and
//! where its stock and payment stand (the units themselves move in [`super::inventory_pg`]).
//! Every change that must happen together takes the service's [`UnitOfWork`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};

use super::{RepoError, database::UnitOfWork, pg};
use crate::models::{
    Money,
    order::{
        Order, OrderItem, OrderStatus, OrderSummary, PaymentOp, PaymentState, Shipment,
        ShipmentStatus, StockState,
    },
};

/// A new order: its owner, address and lines (prices frozen by the caller).
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub user_id: i64,
    pub shipping_address: Option<String>,
    pub items: Vec<OrderItem>,
    pub total: Money,
    pub correlation_id: Option<String>,
    /// The checkout's `Idempotency-Key` (unique per customer).
    pub checkout_key: Option<String>,
}

#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Creates the order; `None` when the customer already has an order of this checkout key.
    async fn create(
        &self,
        uow: &mut UnitOfWork,
        order: &NewOrder,
    ) -> Result<Option<i64>, RepoError>;
    /// The customer's order created by the checkout with this key.
    async fn by_checkout_key(&self, user_id: i64, key: &str) -> Result<Option<i64>, RepoError>;
    /// Orders the reconciler must look at: `PENDING` since before `pending_before`, or ended
    /// (`FAILED`/`CANCELLED`, last changed before `ended_before`) while still holding stock, a
    /// live payment or a provider call in flight.
    async fn unsettled(
        &self,
        pending_before: DateTime<Utc>,
        ended_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<i64>, RepoError>;
    async fn get(&self, order_id: i64) -> Result<Option<Order>, RepoError>;
    /// The order, its row locked until `uow` ends (every saga step and a cancel serialise here).
    async fn lock(&self, uow: &mut UnitOfWork, order_id: i64) -> Result<Option<Order>, RepoError>;
    /// A user's orders, newest first, with ids below `before`.
    async fn list(
        &self,
        user_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<OrderSummary>, RepoError>;
    async fn set_status(
        &self,
        uow: &mut UnitOfWork,
        order_id: i64,
        status: OrderStatus,
        failure_reason: Option<&str>,
    ) -> Result<(), RepoError>;
    async fn set_stock_state(
        &self,
        uow: &mut UnitOfWork,
        order_id: i64,
        state: StockState,
    ) -> Result<(), RepoError>;
    /// Records where the payment stands (and clears the call in flight).
    async fn set_payment(
        &self,
        uow: &mut UnitOfWork,
        order_id: i64,
        state: PaymentState,
        reference: Option<&str>,
    ) -> Result<(), RepoError>;
    /// Records the intent of a provider call, before it is made.
    async fn set_payment_pending(
        &self,
        uow: &mut UnitOfWork,
        order_id: i64,
        op: PaymentOp,
    ) -> Result<(), RepoError>;
    async fn create_shipment(&self, uow: &mut UnitOfWork, order_id: i64) -> Result<i64, RepoError>;
    async fn update_shipment(
        &self,
        uow: &mut UnitOfWork,
        shipment_id: i64,
        status: ShipmentStatus,
        carrier: Option<&str>,
        tracking_number: Option<&str>,
    ) -> Result<(), RepoError>;
}

pub struct PgOrderStore {
    pool: PgPool,
}

impl PgOrderStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

struct OrderRow {
    order_id: i64,
    user_id: i64,
    status: String,
    total: Decimal,
    currency: String,
    shipping_address: Option<String>,
    failure_reason: Option<String>,
    stock_state: String,
    payment_state: String,
    payment_pending: Option<String>,
    payment_reference: Option<String>,
    correlation_id: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

struct ItemRow {
    product_id: i64,
    sku: String,
    name: String,
    quantity: i32,
    unit_price: Decimal,
    line_total: Decimal,
}

struct ShipmentRow {
    shipment_id: i64,
    status: String,
    carrier: Option<String>,
    tracking_number: Option<String>,
    shipped_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// `sqlx::query_as!` of an [`OrderRow`]: the order's columns, then `$rest` (a string literal)
/// and the order's id. One column list for both order reads, checked with each.
macro_rules! select_order {
    ($rest:literal, $order_id:expr) => {
        sqlx::query_as!(
            OrderRow,
            "SELECT order_id, user_id, status, total, currency, shipping_address, failure_reason, \
             stock_state, payment_state, payment_pending, payment_reference, correlation_id, \
             created_at, updated_at FROM orders "
                + $rest,
            $order_id
        )
    };
}

fn corrupt(what: &str, value: &str) -> RepoError {
    RepoError::Other(format!("unknown {what} `{value}` in the database").into())
}

/// The order of `row`, with its lines and shipments, read on `conn`.
async fn assemble(conn: &mut PgConnection, row: OrderRow) -> Result<Order, RepoError> {
    let items = sqlx::query_as!(
        ItemRow,
        "SELECT product_id, sku, name, quantity, unit_price, line_total FROM order_items \
         WHERE order_id = $1 ORDER BY product_id",
        row.order_id,
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(pg)?;
    let shipments = sqlx::query_as!(
        ShipmentRow,
        "SELECT shipment_id, status, carrier, tracking_number, shipped_at, delivered_at, \
         created_at, updated_at FROM shipments WHERE order_id = $1 ORDER BY shipment_id",
        row.order_id,
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(pg)?;
    Ok(Order {
        order_id: row.order_id,
        user_id: row.user_id,
        status: OrderStatus::parse(&row.status).ok_or_else(|| corrupt("status", &row.status))?,
        items: items
            .into_iter()
            .map(|i| OrderItem {
                product_id: i.product_id,
                sku: i.sku,
                name: i.name,
                quantity: i.quantity.max(0) as u32,
                unit_price: Money::from_decimal(i.unit_price),
                line_total: Money::from_decimal(i.line_total),
            })
            .collect(),
        total: Money::from_decimal(row.total),
        currency: row.currency,
        shipping_address: row.shipping_address,
        shipments: shipments
            .into_iter()
            .map(|s| {
                Ok(Shipment {
                    shipment_id: s.shipment_id,
                    status: ShipmentStatus::parse(&s.status)
                        .ok_or_else(|| corrupt("shipment status", &s.status))?,
                    carrier: s.carrier,
                    tracking_number: s.tracking_number,
                    shipped_at: s.shipped_at,
                    delivered_at: s.delivered_at,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                })
            })
            .collect::<Result<_, RepoError>>()?,
        failure_reason: row.failure_reason,
        stock_state: StockState::parse(&row.stock_state)
            .ok_or_else(|| corrupt("stock state", &row.stock_state))?,
        payment_state: PaymentState::parse(&row.payment_state)
            .ok_or_else(|| corrupt("payment state", &row.payment_state))?,
        payment_pending: match row.payment_pending.as_deref() {
            Some(op) => Some(PaymentOp::parse(op).ok_or_else(|| corrupt("payment call", op))?),
            None => None,
        },
        payment_reference: row.payment_reference,
        correlation_id: row.correlation_id,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

#[async_trait]
impl OrderStore for PgOrderStore {
    #[tracing::instrument(skip_all, fields(user_id = order.user_id))]
    async fn create(
        &self,
        uow: &mut UnitOfWork,
        order: &NewOrder,
    ) -> Result<Option<i64>, RepoError> {
        let conn = uow.conn();
        let created = sqlx::query_scalar!(
            "INSERT INTO orders (user_id, total, shipping_address, correlation_id, checkout_key) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, checkout_key) WHERE checkout_key IS NOT NULL DO NOTHING \
             RETURNING order_id",
            order.user_id,
            order.total.amount(),
            order.shipping_address,
            order.correlation_id,
            order.checkout_key,
        )
        .fetch_optional(&mut *conn)
        .await
        .map_err(pg)?;
        let Some(order_id) = created else {
            return Ok(None);
        };
        for item in &order.items {
            sqlx::query!(
                "INSERT INTO order_items (order_id, product_id, sku, name, quantity, unit_price, line_total) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                order_id,
                item.product_id,
                item.sku,
                item.name,
                item.quantity as i32,
                item.unit_price.amount(),
                item.line_total.amount(),
            )
            .execute(&mut *conn)
            .await
            .map_err(pg)?;
        }
        Ok(Some(order_id))
    }

    #[tracing::instrument(skip(self, key))]
    async fn by_checkout_key(&self, user_id: i64, key: &str) -> Result<Option<i64>, RepoError> {
        sqlx::query_scalar!(
            "SELECT order_id FROM orders WHERE user_id = $1 AND checkout_key = $2",
            user_id,
            key,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(pg)
    }

    #[tracing::instrument(skip(self))]
    async fn unsettled(
        &self,
        pending_before: DateTime<Utc>,
        ended_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<i64>, RepoError> {
        sqlx::query_scalar!(
            "SELECT order_id FROM orders \
             WHERE (status = 'PENDING' AND created_at < $1) \
                OR (status IN ('FAILED', 'CANCELLED') AND updated_at < $2 \
                    AND (payment_pending IS NOT NULL \
                         OR payment_state IN ('authorized', 'captured') \
                         OR stock_state IN ('reserved', 'committed'))) \
             ORDER BY created_at LIMIT $3",
            pending_before,
            ended_before,
            limit,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(pg)
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, order_id: i64) -> Result<Option<Order>, RepoError> {
        let mut conn = self.pool.acquire().await.map_err(pg)?;
        let row = select_order!("WHERE order_id = $1", order_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(pg)?;
        match row {
            Some(row) => Ok(Some(assemble(&mut conn, row).await?)),
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip(self, uow))]
    async fn lock(&self, uow: &mut UnitOfWork, order_id: i64) -> Result<Option<Order>, RepoError> {
        let conn = uow.conn();
        let row = select_order!("WHERE order_id = $1 FOR UPDATE", order_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(pg)?;
        match row {
            Some(row) => Ok(Some(assemble(conn, row).await?)),
            None => Ok(None),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn list(
        &self,
        user_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<OrderSummary>, RepoError> {
        let rows = sqlx::query!(
            "SELECT o.order_id, o.status, o.total, o.currency, \
                    (SELECT count(*) FROM order_items i WHERE i.order_id = o.order_id) AS \"item_count!\", \
                    o.created_at, o.updated_at \
                 FROM orders o WHERE o.user_id = $1 AND ($2::BIGINT IS NULL OR o.order_id < $2) \
                 ORDER BY o.order_id DESC LIMIT $3",
            user_id,
            before,
            i64::from(limit),
        )
        .fetch_all(&self.pool)
        .await
        .map_err(pg)?;
        rows.into_iter()
            .map(|r| {
                Ok(OrderSummary {
                    order_id: r.order_id,
                    status: OrderStatus::parse(&r.status)
                        .ok_or_else(|| corrupt("status", &r.status))?,
                    total: Money::from_decimal(r.total),
                    currency: r.currency,
                    item_count: r.item_count,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                })
            })
            .collect()
    }

    async fn set_status(
        &self,
        uow: &mut UnitOfWork,
        order_id: i64,
        status: OrderStatus,
        failure_reason: Option<&str>,
    ) -> Result<(), RepoError> {
        sqlx::query!(
            "UPDATE orders SET status = $2, failure_reason = COALESCE($3, failure_reason), \
             updated_at = now() WHERE order_id = $1",
            order_id,
            status.as_str(),
            failure_reason,
        )
        .execute(uow.conn())
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn set_stock_state(
        &self,
        uow: &mut UnitOfWork,
        order_id: i64,
        state: StockState,
    ) -> Result<(), RepoError> {
        sqlx::query!(
            "UPDATE orders SET stock_state = $2, updated_at = now() WHERE order_id = $1",
            order_id,
            state.as_str(),
        )
        .execute(uow.conn())
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn set_payment(
        &self,
        uow: &mut UnitOfWork,
        order_id: i64,
        state: PaymentState,
        reference: Option<&str>,
    ) -> Result<(), RepoError> {
        sqlx::query!(
            "UPDATE orders SET payment_state = $2, payment_reference = COALESCE($3, payment_reference), \
             payment_pending = NULL, updated_at = now() WHERE order_id = $1",
            order_id,
            state.as_str(),
            reference,
        )
        .execute(uow.conn())
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn set_payment_pending(
        &self,
        uow: &mut UnitOfWork,
        order_id: i64,
        op: PaymentOp,
    ) -> Result<(), RepoError> {
        sqlx::query!(
            "UPDATE orders SET payment_pending = $2, updated_at = now() WHERE order_id = $1",
            order_id,
            op.as_str(),
        )
        .execute(uow.conn())
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn create_shipment(&self, uow: &mut UnitOfWork, order_id: i64) -> Result<i64, RepoError> {
        sqlx::query_scalar!(
            "INSERT INTO shipments (order_id) VALUES ($1) RETURNING shipment_id",
            order_id,
        )
        .fetch_one(uow.conn())
        .await
        .map_err(pg)
    }

    async fn update_shipment(
        &self,
        uow: &mut UnitOfWork,
        shipment_id: i64,
        status: ShipmentStatus,
        carrier: Option<&str>,
        tracking_number: Option<&str>,
    ) -> Result<(), RepoError> {
        sqlx::query!(
            "UPDATE shipments SET status = $2, carrier = COALESCE($3, carrier), \
             tracking_number = COALESCE($4, tracking_number), \
             shipped_at = CASE WHEN $2 = 'SHIPPED' THEN now() ELSE shipped_at END, \
             delivered_at = CASE WHEN $2 = 'DELIVERED' THEN now() ELSE delivered_at END, \
             updated_at = now() WHERE shipment_id = $1",
            shipment_id,
            status.as_str(),
            carrier,
            tracking_number,
        )
        .execute(uow.conn())
        .await
        .map_err(pg)?;
        Ok(())
    }
}
