//! `/v1/products`: the catalogue. Reads are public; writes need the admin role.

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::{
    dto::{UploadRequest, UploadView, double_option, json_int, non_null},
    health::{__path_products_health, products_health},
};
use crate::{
    auth::AdminUser,
    error::Error,
    http::error::{ApiError, ErrorEnvelope},
    http::{
        RenderedJson,
        extract::{ApiJson, ApiPath, ApiQuery},
        idempotency::{IdempotentRoutes, KeyRule},
    },
    models::{
        Money,
        image::{ImageOwner, ImageRecord},
        page::{Page, PageRequest},
        product::{Inventory, Issues, NewProduct, Product, ProductChanges, ProductFilter},
        timestamp,
    },
    services::products::Render,
    state::ProductsState,
};

/// `POST /v1/products` accepts an `Idempotency-Key`.
pub const IDEMPOTENT: IdempotentRoutes = &[("/v1/products", KeyRule::Optional)];

pub fn router(docs: super::Docs) -> OpenApiRouter<ProductsState> {
    OpenApiRouter::new()
        .routes(routes!(docs; list_products, create_product))
        .routes(routes!(docs; get_product, update_product, delete_product))
        .routes(routes!(docs; set_inventory))
        .routes(routes!(docs; list_images, create_image_upload))
        .routes(routes!(docs; products_health))
}

// ---- bodies --------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StockView {
    pub available: i64,
}

/// A product as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub description: String,
    #[schema(value_type = String, example = "19.99")]
    pub price: Money,
    #[schema(example = "USD")]
    pub currency: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub stock: StockView,
    pub thumbnail_url: Option<String>,
    pub image_urls: Vec<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        Self {
            product_id: p.product_id,
            sku: p.sku,
            name: p.name,
            description: p.description,
            price: p.price,
            currency: p.currency,
            category: p.category,
            tags: p.tags,
            stock: StockView {
                available: p.stock_available.max(0),
            },
            thumbnail_url: p.thumbnail_url,
            image_urls: p.image_urls,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// The subset of a product a listing shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductSummary {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    #[schema(value_type = String, example = "19.99")]
    pub price: Money,
    pub currency: String,
    pub category: Option<String>,
    pub thumbnail_url: Option<String>,
    pub stock: StockView,
}

impl From<Product> for ProductSummary {
    fn from(p: Product) -> Self {
        Self {
            product_id: p.product_id,
            sku: p.sku,
            name: p.name,
            price: p.price,
            currency: p.currency,
            category: p.category,
            thumbnail_url: p.thumbnail_url,
            stock: StockView {
                available: p.stock_available.max(0),
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductSummaryPage {
    pub items: Vec<ProductSummary>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListProductsQuery {
    /// 1..=100, default 20.
    #[param(schema_with = super::schema::limit)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(schema_with = super::schema::cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = super::schema::category_filter)]
    pub category: Option<String>,
    #[param(schema_with = super::schema::search_text)]
    pub q: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    #[schema(schema_with = super::schema::sku)]
    pub sku: String,
    #[schema(schema_with = super::schema::product_name)]
    pub name: String,
    #[schema(schema_with = super::schema::description_nullable)]
    pub description: Option<String>,
    #[schema(schema_with = super::schema::price)]
    pub price: String,
    #[schema(schema_with = super::schema::category_nullable)]
    pub category: Option<String>,
    #[schema(schema_with = super::schema::tags_nullable)]
    pub tags: Option<Vec<String>>,
    #[serde(deserialize_with = "json_int")]
    #[schema(schema_with = super::schema::stock)]
    pub stock: i64,
}

impl CreateProductRequest {
    fn validate(self) -> Result<NewProduct, Error> {
        let mut issues = Issues::default();
        let product = NewProduct {
            sku: issues.sku(&self.sku),
            name: issues.text("name", &self.name, 1, 200),
            description: issues.text(
                "description",
                self.description.as_deref().unwrap_or_default(),
                0,
                5000,
            ),
            price: issues.price(&self.price),
            category: issues.category(self.category.as_deref()),
            tags: issues.tags(self.tags.as_deref().unwrap_or_default()),
            stock: issues.stock(self.stock),
        };
        issues.into_result(product).map_err(Error::Validation)
    }
}

/// At least one field; only `category` may be `null` (it removes the category).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateProductRequest {
    #[serde(default, deserialize_with = "non_null")]
    #[schema(schema_with = super::schema::product_name)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(schema_with = super::schema::description)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(schema_with = super::schema::price)]
    pub price: Option<String>,
    /// `null` removes the category.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = super::schema::category_nullable)]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(schema_with = super::schema::tags)]
    pub tags: Option<Vec<String>>,
}

impl UpdateProductRequest {
    fn validate(self) -> Result<ProductChanges, Error> {
        let mut issues = Issues::default();
        let changes = ProductChanges {
            name: self.name.map(|n| issues.text("name", &n, 1, 200)),
            description: self
                .description
                .map(|d| issues.text("description", &d, 0, 5000)),
            price: self.price.map(|p| issues.price(&p)),
            category: self.category.map(|c| issues.category(c.as_deref())),
            tags: self.tags.map(|t| issues.tags(&t)),
        };
        issues.into_result(changes).map_err(Error::Validation)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetInventoryRequest {
    /// Units in stock; at least the units reserved by pending orders.
    #[serde(deserialize_with = "json_int")]
    #[schema(schema_with = super::schema::stock)]
    pub stock: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryView {
    pub product_id: i64,
    pub stock: i64,
    pub reserved: i64,
    pub available: i64,
}

impl From<Inventory> for InventoryView {
    fn from(i: Inventory) -> Self {
        Self {
            product_id: i.product_id,
            stock: i.stock,
            reserved: i.reserved,
            available: i.available(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    #[schema(value_type = String, format = Uuid)]
    pub image_id: String,
    /// `pending`, `processed` or `failed`.
    pub status: String,
    /// The full-size image re-encoded without its metadata (EXIF, GPS); `null` until
    /// processed. The raw upload is never public.
    pub original_url: Option<String>,
    pub thumbnail_url: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<ImageRecord> for ImageView {
    fn from(r: ImageRecord) -> Self {
        Self {
            image_id: r.image_id,
            status: r.status.to_string(),
            original_url: r.original_url,
            thumbnail_url: r.thumbnail_url,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageList {
    pub items: Vec<ImageView>,
}

// ---- handlers ------------------------------------------------------------------------------

#[utoipa::path(get, path = "/v1/products", tag = "products", params(ListProductsQuery),
    responses(
        (status = 200, body = ProductSummaryPage),
        (status = 400, description = "bad limit or cursor", body = ErrorEnvelope),
    ))]
async fn list_products(
    State(state): State<ProductsState>,
    ApiQuery(query): ApiQuery<ListProductsQuery>,
) -> Result<RenderedJson, ApiError> {
    let page = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let mut issues = Issues::default();
    if let Some(q) = query.q.as_deref()
        && (!(3..=100).contains(&q.chars().count()) || q.trim() != q || q.contains('\0'))
    {
        issues.add(
            "q",
            "must be 3 to 100 characters, without leading or trailing whitespace",
        );
    }
    if let Some(category) = query.category.as_deref() {
        issues.category(Some(category));
    }
    issues.into_result(()).map_err(Error::Validation)?;
    let filter = ProductFilter {
        category: query
            .category
            .map(|c| c.trim().to_lowercase())
            .filter(|c| !c.is_empty()),
        q: query
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty()),
    };
    let render: Render<'_, Page<Product>> = Box::new(|page| {
        serde_json::to_vec(&ProductSummaryPage {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        })
    });
    Ok(RenderedJson(
        state.products.list_rendered(filter, page, render).await?,
    ))
}

#[utoipa::path(get, path = "/v1/products/{product_id}", tag = "products",
    params(("product_id" = i64, Path)),
    responses((status = 200, body = ProductView), (status = 404, body = ErrorEnvelope)))]
async fn get_product(
    State(state): State<ProductsState>,
    ApiPath(product_id): ApiPath<i64>,
) -> Result<RenderedJson, ApiError> {
    let render: Render<'_, Product> =
        Box::new(|product| serde_json::to_vec(&ProductView::from(product)));
    Ok(RenderedJson(
        state.products.get_rendered(product_id, render).await?,
    ))
}

#[utoipa::path(post, path = "/v1/products", tag = "products", request_body = CreateProductRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional; 1 to 255 printable ASCII characters. A retry with the same key and body replays the first response (`idempotent-replayed: true`); the same key with another body is `422`.")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = ProductView),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 409, description = "duplicate SKU or key in progress", body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
    ))]
async fn create_product(
    State(state): State<ProductsState>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<CreateProductRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let product = state.products.create(body.validate()?).await?;
    let location = format!("/v1/products/{}", product.product_id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(ProductView::from(product)),
    ))
}

#[utoipa::path(patch, path = "/v1/products/{product_id}", tag = "products", request_body = UpdateProductRequest,
    params(("product_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = ProductView), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn update_product(
    State(state): State<ProductsState>,
    _admin: AdminUser,
    ApiPath(product_id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateProductRequest>,
) -> Result<ApiJson<ProductView>, ApiError> {
    Ok(ApiJson(
        state
            .products
            .update(product_id, body.validate()?)
            .await?
            .into(),
    ))
}

#[utoipa::path(delete, path = "/v1/products/{product_id}", tag = "products",
    params(("product_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
async fn delete_product(
    State(state): State<ProductsState>,
    _admin: AdminUser,
    ApiPath(product_id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state.products.delete(product_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/v1/products/{product_id}/inventory", tag = "products", request_body = SetInventoryRequest,
    params(("product_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = InventoryView), (status = 400, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, description = "below the reserved units", body = ErrorEnvelope)))]
async fn set_inventory(
    State(state): State<ProductsState>,
    _admin: AdminUser,
    ApiPath(product_id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetInventoryRequest>,
) -> Result<ApiJson<InventoryView>, ApiError> {
    let mut issues = Issues::default();
    let stock = issues.stock(body.stock);
    issues.into_result(()).map_err(Error::Validation)?;
    Ok(ApiJson(
        state.products.set_stock(product_id, stock).await?.into(),
    ))
}

#[utoipa::path(get, path = "/v1/products/{product_id}/images", tag = "products",
    params(("product_id" = i64, Path)),
    responses((status = 200, body = ImageList), (status = 404, body = ErrorEnvelope)))]
async fn list_images(
    State(state): State<ProductsState>,
    ApiPath(product_id): ApiPath<i64>,
) -> Result<ApiJson<ImageList>, ApiError> {
    let items = state.products.images(product_id).await?;
    Ok(ApiJson(ImageList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/v1/products/{product_id}/images", tag = "products", request_body = UploadRequest,
    params(("product_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 201, description = "a presigned PUT, valid 15 minutes", body = UploadView),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
async fn create_image_upload(
    State(state): State<ProductsState>,
    _admin: AdminUser,
    ApiPath(product_id): ApiPath<i64>,
    ApiJson(body): ApiJson<UploadRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let upload = state
        .uploads
        .create_upload(
            ImageOwner::Product(product_id),
            &body.content_type,
            body.content_length,
            crate::http::request_id::current(),
        )
        .await?;
    Ok((StatusCode::CREATED, ApiJson(UploadView::from(upload))))
}
