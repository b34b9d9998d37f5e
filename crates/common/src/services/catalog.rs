//! The catalogue's read path, shared by the products and cart services: Redis → DynamoDB
//! `ProductCatalog` → Postgres. A product missing from the projection may be one whose
//! projection is still on its way, so Postgres decides; what was read is cached, and so is
//! an id found nowhere (briefly).

use std::{collections::HashMap, sync::Arc, time::Duration};

use crate::{
    error::Error,
    metrics::{self, Unit},
    models::product::Product,
    repositories::{cache::Cache, catalog_dynamo::CatalogProjection, products_pg::ProductStore},
};

/// Cache keys of the catalogue (namespaced and versioned): read here, written by the products
/// service, invalidated by the catalogue's projection.
pub mod keys {
    pub const LIST_GENERATION: &str = "products:v1:list_gen";

    pub fn item(product_id: i64) -> String {
        format!("products:v1:item:{product_id}")
    }

    /// "No live product has this id" (a short-lived negative entry).
    pub fn missing(product_id: i64) -> String {
        format!("products:v1:missing:{product_id}")
    }

    pub fn list(generation: i64, digest: &str) -> String {
        format!("products:v1:list:{generation}:{digest}")
    }

    /// A rendered listing in the in-process tier (which no generation number is needed for:
    /// any invalidation drops the whole tier).
    pub fn rendered_list(digest: &str) -> String {
        format!("products:v1:rendered-list:{digest}")
    }
}

/// How long an id found nowhere is answered "not found" from the cache.
pub const MISSING_TTL: Duration = Duration::from_secs(30);

/// A cached item entry or a negative entry (one `MGET` reads both).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum CachedRead {
    Product(Box<Product>),
    Missing(bool),
}

pub struct CatalogReader {
    store: Arc<dyn ProductStore>,
    catalog: Arc<dyn CatalogProjection>,
    cache: Cache,
    ttl: Duration,
}

impl CatalogReader {
    pub fn new(
        store: Arc<dyn ProductStore>,
        catalog: Arc<dyn CatalogProjection>,
        cache: Cache,
        ttl: Duration,
    ) -> Self {
        Self {
            store,
            catalog,
            cache,
            ttl,
        }
    }

    /// A live product, or `NotFound`. An id found nowhere is remembered as missing for
    /// [`MISSING_TTL`] (a create of that id clears it), so repeated reads of unknown ids cost
    /// one cache read, not three stores.
    #[tracing::instrument(skip(self))]
    pub async fn get(&self, product_id: i64) -> Result<Product, Error> {
        let not_found = || Error::NotFound(format!("product {product_id} does not exist"));
        let key = keys::item(product_id);
        let missing = keys::missing(product_id);
        let cached = self
            .cache
            .get_many::<CachedRead>(&[key.clone(), missing.clone()])
            .await;
        match cached.as_slice() {
            [Some(CachedRead::Product(product)), _] => {
                metrics::add("CacheHit", Unit::Count, 1.0);
                return Ok(*product.clone());
            }
            [_, Some(CachedRead::Missing(true))] => {
                metrics::add("CacheHit", Unit::Count, 1.0);
                return Err(not_found());
            }
            _ => metrics::add("CacheMiss", Unit::Count, 1.0),
        }
        let projected = match super::within_budget(self.catalog.get(product_id)).await {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "ProductCatalog read failed; reading Postgres");
                None
            }
        };
        let product = match projected {
            Some(product) => product,
            None => match self.store.get(product_id, false).await? {
                Some(product) => product,
                None => {
                    self.cache.set(&missing, &true, MISSING_TTL).await;
                    return Err(not_found());
                }
            },
        };
        self.cache.set(&key, &product, self.ttl).await;
        Ok(product)
    }

    /// The live products among `ids` (absent ones are deleted or unknown): one cache round
    /// trip, then one batched projection read for the misses, then one Postgres query for
    /// what the projection lacks.
    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    pub async fn get_many(&self, ids: &[i64]) -> Result<HashMap<i64, Product>, Error> {
        let mut found = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(found);
        }
        let keys: Vec<String> = ids.iter().map(|id| keys::item(*id)).collect();
        let cached = self.cache.get_many::<Product>(&keys).await;
        let mut missing = Vec::new();
        for (id, hit) in ids.iter().zip(cached) {
            match hit {
                Some(product) => {
                    found.insert(*id, product);
                }
                None => missing.push(*id),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let mut fresh = match super::within_budget(self.catalog.get_many(&missing)).await {
            Ok(products) => products,
            Err(err) => {
                tracing::warn!(error = %err, "ProductCatalog batch read failed; reading Postgres");
                Vec::new()
            }
        };
        let projected: Vec<i64> = fresh.iter().map(|p| p.product_id).collect();
        let unprojected: Vec<i64> = missing
            .iter()
            .copied()
            .filter(|id| !projected.contains(id))
            .collect();
        if !unprojected.is_empty() {
            fresh.extend(self.store.get_many(&unprojected).await?);
        }
        for product in fresh {
            self.cache
                .set(&keys::item(product.product_id), &product, self.ttl)
                .await;
            found.insert(product.product_id, product);
        }
        Ok(found)
    }
}
