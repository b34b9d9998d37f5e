//! The products service: the catalogue's rules and its read path
//! (Redis → DynamoDB `ProductCatalog` → Postgres) and write path (Postgres + outbox, then the
//! projection and cache invalidation through the [`ProductRelay`]).

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::{
    error::Error,
    metrics::{self, Unit},
    models::image::ImageRecord,
    models::page::{Page, PageRequest, encode_cursor},
    models::product::{Inventory, NewProduct, Product, ProductChanges, ProductFilter},
    repositories::{
        cache::Cache, cache::Rendering, catalog_dynamo::CatalogProjection, database::Database,
        images_dynamo::ImageMetaReader, inventory_pg::InventoryStore, on_constraint,
        outbox::PgOutbox, products_pg::ProductStore,
    },
    services::{
        catalog::{CatalogReader, keys},
        outbox_relay::ProductRelay,
    },
};

/// Turns what was read into the response body (the router's representation).
pub type Render<'a, T> = Box<dyn FnOnce(T) -> Result<Vec<u8>, serde_json::Error> + Send + 'a>;

/// Built by the composition root with a struct literal: every field is a dependency.
pub struct ProductService {
    pub reader: Arc<CatalogReader>,
    pub db: Database,
    pub outbox: PgOutbox,
    pub store: Arc<dyn ProductStore>,
    pub inventory: Arc<dyn InventoryStore>,
    pub catalog: Arc<dyn CatalogProjection>,
    pub images: Arc<dyn ImageMetaReader>,
    pub cache: Cache,
    pub cache_ttl: Duration,
    pub projector: Arc<ProductRelay>,
}

impl ProductService {
    pub fn projector(&self) -> &Arc<ProductRelay> {
        &self.projector
    }

    fn not_found(product_id: i64) -> Error {
        Error::NotFound(format!("product {product_id} does not exist"))
    }

    #[tracing::instrument(skip(self))]
    pub async fn get(&self, product_id: i64) -> Result<Product, Error> {
        self.reader.get(product_id).await
    }

    /// [`Self::get`]'s answer as a response body, rendered by `render`: from the in-process
    /// tier when this process rendered it within `CACHE_LOCAL_TTL_MS` and nothing was
    /// invalidated since, else read and rendered, and kept there.
    pub async fn get_rendered(
        &self,
        product_id: i64,
        render: Render<'_, Product>,
    ) -> Result<Bytes, Error> {
        let key = keys::item(product_id);
        self.rendered(&key, async move {
            let product = self.get(product_id).await?;
            render(product).map_err(|e| Error::Internal(e.into()))
        })
        .await
    }

    /// [`Self::list`]'s answer as a response body, like [`Self::get_rendered`].
    pub async fn list_rendered(
        &self,
        filter: ProductFilter,
        page: PageRequest<i64>,
        render: Render<'_, Page<Product>>,
    ) -> Result<Bytes, Error> {
        let key = keys::rendered_list(&format!("{filter:?}|{:?}|{}", page.after, page.limit));
        self.rendered(&key, async move {
            let found = self.list(filter, page).await?;
            render(found).map_err(|e| Error::Internal(e.into()))
        })
        .await
    }

    async fn rendered(
        &self,
        key: &str,
        read: impl std::future::Future<Output = Result<Vec<u8>, Error>>,
    ) -> Result<Bytes, Error> {
        let fill = async { Ok::<_, Error>(Bytes::from(read.await?)) };
        match self.cache.rendered_or_fill(key, fill).await? {
            Rendering::Kept(body) => {
                metrics::add("CacheHit", Unit::Count, 1.0);
                Ok(body)
            }
            Rendering::Read(body) => Ok(body),
        }
    }

    #[tracing::instrument(skip(self))]
    pub async fn list(
        &self,
        filter: ProductFilter,
        page: PageRequest<i64>,
    ) -> Result<Page<Product>, Error> {
        let cache_key = match self.cache.counter(keys::LIST_GENERATION).await {
            Some(generation) => {
                let digest = Sha256::digest(format!("{filter:?}|{:?}|{}", page.after, page.limit));
                Some(keys::list(generation, &hex::encode(&digest[..12])))
            }
            None => None,
        };
        if let Some(key) = &cache_key
            && let Some(cached) = self.cache.get::<Page<Product>>(key).await
        {
            return Ok(cached);
        }
        let result = if filter.q.is_some() {
            // Search answers from Postgres' trigram index: the first page of matches in one
            // bounded query, in product id order like every listing.
            let rows = self.store.list(&filter, page.after, page.limit + 1).await?;
            Page::from_overfetch(rows, page.limit, |p: &Product| p.product_id)
        } else {
            self.list_projected(&filter, &page).await?
        };
        if let Some(key) = &cache_key {
            self.cache.set(key, &result, self.cache_ttl).await;
        }
        Ok(result)
    }

    /// Unfiltered and category listings: the `ProductCatalog` projection's indexes, Postgres
    /// when DynamoDB fails.
    async fn list_projected(
        &self,
        filter: &ProductFilter,
        page: &PageRequest<i64>,
    ) -> Result<Page<Product>, Error> {
        Ok(
            match super::within_budget(self.catalog.list(filter, page.after, page.limit)).await {
                Ok(found) => Page {
                    next_cursor: if found.more {
                        found.last_examined.map(|id| encode_cursor(&id))
                    } else {
                        None
                    },
                    items: found.items,
                },
                Err(err) => {
                    tracing::warn!(error = %err, "ProductCatalog listing failed; reading Postgres");
                    let rows = self.store.list(filter, page.after, page.limit + 1).await?;
                    Page::from_overfetch(rows, page.limit, |p: &Product| p.product_id)
                }
            },
        )
    }

    #[tracing::instrument(skip_all, fields(sku = %new.sku))]
    pub async fn create(&self, new: NewProduct) -> Result<Product, Error> {
        let sku = new.sku.clone();
        let mut uow = self.db.begin().await?;
        let product_id = self.store.create(&mut uow, &new).await.map_err(|err| {
            on_constraint(err, "products_sku_key", || {
                Error::Conflict(format!("a product with SKU {sku} already exists"))
            })
        })?;
        self.inventory.open(&mut uow, product_id, new.stock).await?;
        let product = self.store.get_in(&mut uow, product_id).await?;
        self.commit_change(uow, product.product_id, "product.created")
            .await?;
        Ok(product)
    }

    #[tracing::instrument(skip(self, changes))]
    pub async fn update(&self, product_id: i64, changes: ProductChanges) -> Result<Product, Error> {
        if changes.is_empty() {
            return Err(Error::validation(
                "body",
                "name, description, price, category or tags must be given",
            ));
        }
        let mut uow = self.db.begin().await?;
        let product = self
            .store
            .update(&mut uow, product_id, &changes)
            .await?
            .ok_or_else(|| Self::not_found(product_id))?;
        self.commit_change(uow, product_id, "product.updated")
            .await?;
        Ok(product)
    }

    #[tracing::instrument(skip(self))]
    pub async fn delete(&self, product_id: i64) -> Result<(), Error> {
        let mut uow = self.db.begin().await?;
        if !self.store.delete(&mut uow, product_id).await? {
            return Err(Self::not_found(product_id));
        }
        self.commit_change(uow, product_id, "product.deleted")
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    pub async fn set_stock(&self, product_id: i64, stock: i32) -> Result<Inventory, Error> {
        let mut uow = self.db.begin().await?;
        let inventory = self
            .inventory
            .set(&mut uow, product_id, stock)
            .await
            .map_err(|err| {
                on_constraint(err, "product_inventory_reserved_le_stock", || {
                    Error::Conflict(
                        "stock cannot be lower than the units reserved by open orders".into(),
                    )
                })
            })?
            .ok_or_else(|| Self::not_found(product_id))?;
        self.store.touch(&mut uow, product_id).await?;
        self.commit_change(uow, product_id, "product.stock_changed")
            .await?;
        Ok(inventory)
    }

    #[tracing::instrument(skip(self))]
    pub async fn images(&self, product_id: i64) -> Result<Vec<ImageRecord>, Error> {
        self.get(product_id).await?;
        Ok(self.images.list(&format!("product#{product_id}")).await?)
    }

    /// Announces the change in the outbox inside the write's unit of work, commits, then
    /// brings the projection up to date.
    async fn commit_change(
        &self,
        mut uow: crate::repositories::database::UnitOfWork,
        product_id: i64,
        event_type: &str,
    ) -> Result<(), Error> {
        let entry = self
            .outbox
            .append(
                &mut uow,
                "product",
                product_id,
                event_type,
                &serde_json::json!({}),
            )
            .await?;
        uow.commit().await?;
        if let Err(err) = super::within_budget(self.projector.apply_now(&entry)).await {
            let outbox_id = entry.outbox_id;
            tracing::warn!(product_id, outbox_id, error = %err, "projection deferred to the relay");
        }
        Ok(())
    }
}
