//! `/v1/orders`: checkout, the caller's orders and their history, cancel; the admin's
//! shipment updates. A customer sees only their own orders: another user's is a 404.

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::health::{__path_orders_health, orders_health};
use crate::{
    auth::{AdminUser, CurrentUser},
    error::Error,
    http::{
        error::{ApiError, ErrorEnvelope},
        extract::{ApiJson, ApiPath, ApiQuery},
        idempotency::{IdempotentRoutes, KeyRule},
    },
    models::{
        Money,
        order::{Order, OrderEvent, OrderItem, OrderSummary, Shipment, ShipmentStatus},
        page::PageRequest,
        timestamp,
    },
    services::orders::MAX_ADDRESS,
    state::OrdersState,
};

/// `POST /v1/orders` requires an `Idempotency-Key`.
pub const IDEMPOTENT: IdempotentRoutes = &[("/v1/orders", KeyRule::Required)];

pub fn router(docs: super::Docs) -> OpenApiRouter<OrdersState> {
    OpenApiRouter::new()
        .routes(routes!(docs; list_orders, checkout))
        .routes(routes!(docs; get_order))
        .routes(routes!(docs; order_events))
        .routes(routes!(docs; cancel_order))
        .routes(routes!(docs; update_shipment))
        .routes(routes!(docs; orders_health))
}

fn ts<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    timestamp::serialize(at, s)
}

fn opt_ts<S: serde::Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => timestamp::serialize(at, s),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemView {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    /// The price at checkout.
    #[schema(value_type = String, example = "19.99")]
    pub unit_price: Money,
    #[schema(value_type = String, example = "39.98")]
    pub line_total: Money,
}

impl From<OrderItem> for OrderItemView {
    fn from(i: OrderItem) -> Self {
        Self {
            product_id: i.product_id,
            sku: i.sku,
            name: i.name,
            quantity: i.quantity,
            unit_price: i.unit_price,
            line_total: i.line_total,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentView {
    pub shipment_id: i64,
    /// `PENDING`, `SHIPPED` or `DELIVERED`.
    #[schema(example = "PENDING")]
    pub status: &'static str,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    #[serde(serialize_with = "opt_ts")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub shipped_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "opt_ts")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<Shipment> for ShipmentView {
    fn from(s: Shipment) -> Self {
        Self {
            shipment_id: s.shipment_id,
            status: s.status.as_str(),
            carrier: s.carrier,
            tracking_number: s.tracking_number,
            shipped_at: s.shipped_at,
            delivered_at: s.delivered_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub order_id: i64,
    /// `PENDING`, `CONFIRMED`, `SHIPPED`, `DELIVERED`, `FAILED` or `CANCELLED`.
    #[schema(example = "PENDING")]
    pub status: &'static str,
    pub items: Vec<OrderItemView>,
    #[schema(value_type = String, example = "39.98")]
    pub total: Money,
    #[schema(example = "USD")]
    pub currency: String,
    pub shipping_address: Option<String>,
    pub shipments: Vec<ShipmentView>,
    /// Why a `FAILED` order failed (`insufficient_stock`, `payment_declined`,
    /// `step_timed_out`, …); `null` otherwise.
    pub failure_reason: Option<String>,
    #[serde(serialize_with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        Self {
            order_id: o.order_id,
            status: o.status.as_str(),
            items: o.items.into_iter().map(Into::into).collect(),
            total: o.total,
            currency: o.currency,
            shipping_address: o.shipping_address,
            shipments: o.shipments.into_iter().map(Into::into).collect(),
            failure_reason: o.failure_reason,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummaryView {
    pub order_id: i64,
    #[schema(example = "CONFIRMED")]
    pub status: &'static str,
    #[schema(value_type = String, example = "39.98")]
    pub total: Money,
    pub currency: String,
    pub item_count: i64,
    #[serde(serialize_with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<OrderSummary> for OrderSummaryView {
    fn from(o: OrderSummary) -> Self {
        Self {
            order_id: o.order_id,
            status: o.status.as_str(),
            total: o.total,
            currency: o.currency,
            item_count: o.item_count,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<OrderSummaryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderEventView {
    /// `order.placed`, `stock.reserved`, `payment.captured`, `payment.declined`,
    /// `order.confirmed`, `order.published`, `cart.emptied`, `fulfillment.requested`,
    /// `order.failed`, `order.cancelled`, `stock.released`, `shipment.shipped`,
    /// `shipment.delivered`.
    pub event_type: String,
    #[serde(serialize_with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<OrderEvent> for OrderEventView {
    fn from(e: OrderEvent) -> Self {
        Self {
            event_type: e.event_type,
            at: e.at,
            payload: e.payload,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderEventList {
    pub items: Vec<OrderEventView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    #[param(schema_with = super::schema::limit)]
    pub limit: Option<String>,
    #[param(schema_with = super::schema::cursor)]
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// Where to ship; the caller's profile address when absent, `null` or blank.
    #[schema(schema_with = super::schema::address_nullable)]
    pub shipping_address: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentUpdateRequest {
    /// `SHIPPED` (from `PENDING`) or `DELIVERED` (from `SHIPPED`).
    #[schema(example = "SHIPPED", pattern = "^(SHIPPED|DELIVERED)$")]
    pub status: String,
    /// At most 100 characters; stored trimmed; blank or `null` means none.
    #[schema(max_length = 100, pattern = "^[^\\u0000]*$", example = "UPS")]
    pub carrier: Option<String>,
    /// At most 100 characters; stored trimmed; blank or `null` means none.
    #[schema(
        max_length = 100,
        pattern = "^[^\\u0000]*$",
        example = "1Z999AA10123456784"
    )]
    pub tracking_number: Option<String>,
}

/// An optional text of at most `max` characters as sent (no NUL), stored trimmed; blank is
/// none.
fn bounded(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, Error> {
    match value {
        Some(v) if v.chars().count() > max || v.contains('\0') => Err(Error::validation(
            field,
            format!("at most {max} characters, without NUL"),
        )),
        Some(v) => Ok(Some(v.trim().to_owned()).filter(|v| !v.is_empty())),
        None => Ok(None),
    }
}

#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, description = "Required; 1 to 255 printable ASCII characters. A retry with the same key and body replays the first response (`idempotent-replayed: true`).")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "the order, `PENDING`; the checkout workflow runs", body = OrderView),
        (status = 400, description = "missing or malformed Idempotency-Key, bad body, an empty cart, or a cart whose total exceeds 9999999999.99, the most an order holds (`VALIDATION_FAILED`, field `cart`)", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 409, description = "`INSUFFICIENT_STOCK` (details name the lines) or `IDEMPOTENCY_IN_PROGRESS`", body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
        (status = 422, description = "the key was used with another body", body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope),
    ))]
async fn checkout(
    State(state): State<OrdersState>,
    CurrentUser(me): CurrentUser,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<CheckoutRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let address = bounded("shipping_address", body.shipping_address, MAX_ADDRESS)?;
    // The idempotency layer has checked the key's shape already.
    let key = headers
        .get(&crate::http::idempotency::IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let order = state
        .orders
        .checkout(&me, address, crate::http::request_id::current(), key)
        .await?;
    let location = format!("/v1/orders/{}", order.order_id);
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, location)],
        ApiJson(OrderView::from(order)),
    ))
}

#[utoipa::path(get, path = "/v1/orders", tag = "orders", params(ListOrdersQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "the caller's orders, newest first", body = OrderPage),
        (status = 400, description = "bad limit or cursor", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn list_orders(
    State(state): State<OrdersState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(query): ApiQuery<ListOrdersQuery>,
) -> Result<ApiJson<OrderPage>, ApiError> {
    let page = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let page = state.orders.list(&me, page).await?;
    Ok(ApiJson(OrderPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/v1/orders/{order_id}", tag = "orders",
    params(("order_id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, body = OrderView), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "no such order, or another user's", body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope)))]
async fn get_order(
    State(state): State<OrdersState>,
    CurrentUser(me): CurrentUser,
    ApiPath(order_id): ApiPath<i64>,
) -> Result<ApiJson<OrderView>, ApiError> {
    Ok(ApiJson(state.orders.get(&me, order_id).await?.into()))
}

#[utoipa::path(get, path = "/v1/orders/{order_id}/events", tag = "orders",
    params(("order_id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, description = "the order's history, oldest first", body = OrderEventList),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 404, description = "no such order, or another user's", body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope)))]
async fn order_events(
    State(state): State<OrdersState>,
    CurrentUser(me): CurrentUser,
    ApiPath(order_id): ApiPath<i64>,
) -> Result<ApiJson<OrderEventList>, ApiError> {
    let events = state.orders.events(&me, order_id).await?;
    Ok(ApiJson(OrderEventList {
        items: events.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/v1/orders/{order_id}/cancel", tag = "orders",
    params(("order_id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, description = "the order, `CANCELLED`; its stock released and payment refunded", body = OrderView),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 404, description = "no such order, or another user's", body = ErrorEnvelope),
        (status = 409, description = "the order is neither `PENDING` nor `CONFIRMED`", body = ErrorEnvelope),
        (status = 503, body = ErrorEnvelope)))]
async fn cancel_order(
    State(state): State<OrdersState>,
    CurrentUser(me): CurrentUser,
    ApiPath(order_id): ApiPath<i64>,
) -> Result<ApiJson<OrderView>, ApiError> {
    Ok(ApiJson(state.orders.cancel(&me, order_id).await?.into()))
}

#[utoipa::path(post, path = "/v1/orders/{order_id}/shipments/{shipment_id}/status", tag = "orders",
    request_body = ShipmentUpdateRequest,
    params(("order_id" = i64, Path, minimum = 1), ("shipment_id" = i64, Path, minimum = 1)),
    security(("bearer" = [])),
    responses((status = 200, description = "the shipment; the order's status follows it", body = ShipmentView),
        (status = 400, description = "unknown status, too long carrier or tracking number", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, description = "not an admin", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "not the next status, or the order is not shippable", body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn update_shipment(
    State(state): State<OrdersState>,
    _admin: AdminUser,
    ApiPath((order_id, shipment_id)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<ShipmentUpdateRequest>,
) -> Result<ApiJson<ShipmentView>, ApiError> {
    let status = match ShipmentStatus::parse(&body.status) {
        Some(status @ (ShipmentStatus::Shipped | ShipmentStatus::Delivered)) => status,
        _ => {
            return Err(Error::validation("status", "must be SHIPPED or DELIVERED").into());
        }
    };
    let carrier = bounded("carrier", body.carrier, 100)?;
    let tracking = bounded("tracking_number", body.tracking_number, 100)?;
    Ok(ApiJson(
        state
            .orders
            .update_shipment(order_id, shipment_id, status, carrier, tracking)
            .await?
            .into(),
    ))
}
