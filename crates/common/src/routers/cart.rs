//! `/v1/cart`: the caller's cart. Every route needs a signed-in customer and acts on the
//! caller's own cart only (there is no way to name another user's).

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{
    dto::json_int,
    health::{__path_cart_health, cart_health},
};
use crate::{
    auth::CurrentUser,
    error::Error,
    http::{
        error::{ApiError, ErrorEnvelope},
        extract::{ApiJson, ApiPath},
        idempotency::IdempotentRoutes,
    },
    models::{
        Money,
        cart::{MAX_QUANTITY, PricedCart, PricedLine},
        timestamp,
    },
    state::CartState,
};

/// No cart route takes an `Idempotency-Key`: every edit states the result it wants, except
/// add, which a client retries by reading the cart first.
pub const IDEMPOTENT: IdempotentRoutes = &[];

pub fn router(docs: super::Docs) -> OpenApiRouter<CartState> {
    OpenApiRouter::new()
        .routes(routes!(docs; get_cart, clear_cart))
        .routes(routes!(docs; add_item))
        .routes(routes!(docs; set_item, remove_item))
        .routes(routes!(docs; cart_health))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartItemView {
    pub product_id: i64,
    /// The product's current name (the name it was added with, if it is gone).
    pub name: String,
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: u32,
    #[schema(value_type = String, example = "19.99")]
    pub unit_price: Money,
    #[schema(value_type = String, example = "39.98")]
    pub line_total: Money,
    /// Units of the product available now, like a product's `stock.available` (0 for a
    /// sold-out or deleted product). A line asking for more does not count in the subtotal.
    #[schema(minimum = 0)]
    pub available: i64,
}

impl From<PricedLine> for CartItemView {
    fn from(l: PricedLine) -> Self {
        Self {
            product_id: l.product_id,
            name: l.name,
            quantity: l.quantity,
            unit_price: l.unit_price,
            line_total: l.line_total,
            available: l.available,
        }
    }
}

/// The cart priced with the catalogue's current prices.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartView {
    pub items: Vec<CartItemView>,
    /// The sum of the available lines.
    #[schema(value_type = String, example = "39.98")]
    pub subtotal: Money,
    #[schema(example = "USD")]
    pub currency: String,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<PricedCart> for CartView {
    fn from(c: PricedCart) -> Self {
        Self {
            items: c.items.into_iter().map(Into::into).collect(),
            subtotal: c.subtotal,
            currency: c.currency,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    #[serde(deserialize_with = "json_int")]
    #[schema(minimum = 1, maximum = 9223372036854775807_i64, example = 42)]
    pub product_id: i64,
    /// Added to the line's quantity; the line may hold 1 to 99 (more after adding up is
    /// `400 VALIDATION_FAILED`, as is a 51st line).
    #[serde(deserialize_with = "json_int")]
    #[schema(minimum = 1, maximum = 99, example = 2)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetItemRequest {
    /// The line's new quantity; 0 removes the line.
    #[serde(deserialize_with = "json_int")]
    #[schema(minimum = 0, maximum = 99, example = 3)]
    pub quantity: i64,
}

fn quantity(raw: i64, min: i64) -> Result<u32, Error> {
    if raw < min || raw > i64::from(MAX_QUANTITY) {
        return Err(Error::validation(
            "quantity",
            format!("must be from {min} to {MAX_QUANTITY}"),
        ));
    }
    Ok(raw as u32)
}

fn product_id(raw: i64) -> Result<i64, Error> {
    if raw < 1 {
        return Err(Error::validation(
            "product_id",
            "must be a positive integer",
        ));
    }
    Ok(raw)
}

#[utoipa::path(get, path = "/v1/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 200, description = "the caller's cart", body = CartView),
        (status = 401, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn get_cart(
    State(state): State<CartState>,
    CurrentUser(me): CurrentUser,
) -> Result<ApiJson<CartView>, ApiError> {
    Ok(ApiJson(state.cart.get(&me).await?.into()))
}

#[utoipa::path(post, path = "/v1/cart/items", tag = "cart", request_body = AddItemRequest,
    security(("bearer" = [])),
    responses((status = 200, description = "the cart after the add", body = CartView),
        (status = 400, description = "bad body; quantity outside 1..=99 after adding up; more than 50 lines", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "unknown or deleted product", body = ErrorEnvelope),
        (status = 409, description = "`INSUFFICIENT_STOCK` (details name the product) or `CONFLICT` (concurrent edits)", body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn add_item(
    State(state): State<CartState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<AddItemRequest>,
) -> Result<ApiJson<CartView>, ApiError> {
    let product_id = product_id(body.product_id)?;
    let quantity = quantity(body.quantity, 1)?;
    Ok(ApiJson(
        state.cart.add(&me, product_id, quantity).await?.into(),
    ))
}

#[utoipa::path(put, path = "/v1/cart/items/{product_id}", tag = "cart", request_body = SetItemRequest,
    params(("product_id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, description = "the cart after the change", body = CartView),
        (status = 400, description = "bad body or id; quantity outside 0..=99; more than 50 lines", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope),
        (status = 404, description = "unknown or deleted product", body = ErrorEnvelope),
        (status = 409, description = "`INSUFFICIENT_STOCK` or `CONFLICT`", body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn set_item(
    State(state): State<CartState>,
    CurrentUser(me): CurrentUser,
    ApiPath(product_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetItemRequest>,
) -> Result<ApiJson<CartView>, ApiError> {
    let product_id = self::product_id(product_id)?;
    let quantity = quantity(body.quantity, 0)?;
    Ok(ApiJson(
        state.cart.set(&me, product_id, quantity).await?.into(),
    ))
}

#[utoipa::path(delete, path = "/v1/cart/items/{product_id}", tag = "cart",
    params(("product_id" = i64, Path, minimum = 1)), security(("bearer" = [])),
    responses((status = 200, description = "the cart without the line (unchanged if it was not there)", body = CartView),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT` (concurrent edits)", body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn remove_item(
    State(state): State<CartState>,
    CurrentUser(me): CurrentUser,
    ApiPath(product_id): ApiPath<i64>,
) -> Result<ApiJson<CartView>, ApiError> {
    let product_id = self::product_id(product_id)?;
    Ok(ApiJson(state.cart.remove(&me, product_id).await?.into()))
}

#[utoipa::path(delete, path = "/v1/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 204, description = "the cart is empty"),
        (status = 401, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)))]
async fn clear_cart(
    State(state): State<CartState>,
    CurrentUser(me): CurrentUser,
) -> Result<StatusCode, ApiError> {
    state.cart.clear(&me).await?;
    Ok(StatusCode::NO_CONTENT)
}
