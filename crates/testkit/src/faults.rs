//! Fault injection: adapters that wrap a real one and fail on demand, as if the backing
//! service were down.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_trait::async_trait;
use common::{
    models::product::{Product, ProductFilter},
    repositories::{
        RepoError,
        catalog_dynamo::{CatalogPage, CatalogProjection},
    },
};

/// A shared on/off switch.
#[derive(Clone, Default)]
pub struct FaultSwitch(Arc<AtomicBool>);

impl FaultSwitch {
    pub fn fail(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn heal(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), RepoError> {
        if self.0.load(Ordering::SeqCst) {
            Err(RepoError::Unavailable {
                dependency: "dynamodb",
                source: "injected fault".into(),
            })
        } else {
            Ok(())
        }
    }
}

/// `ProductCatalog` that fails while its switch is on.
pub struct FlakyCatalog {
    inner: Arc<dyn CatalogProjection>,
    switch: FaultSwitch,
}

impl FlakyCatalog {
    pub fn new(inner: Arc<dyn CatalogProjection>, switch: FaultSwitch) -> Self {
        Self { inner, switch }
    }
}

#[async_trait]
impl CatalogProjection for FlakyCatalog {
    async fn get(&self, product_id: i64) -> Result<Option<Product>, RepoError> {
        self.switch.check()?;
        self.inner.get(product_id).await
    }

    async fn list(
        &self,
        filter: &ProductFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<CatalogPage, RepoError> {
        self.switch.check()?;
        self.inner.list(filter, after, limit).await
    }

    async fn put(&self, product: &Product) -> Result<(), RepoError> {
        self.switch.check()?;
        self.inner.put(product).await
    }

    async fn remove(&self, product_id: i64, version: i64) -> Result<(), RepoError> {
        self.switch.check()?;
        self.inner.remove(product_id, version).await
    }
}
