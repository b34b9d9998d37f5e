//! The outbox relay of the products service: applies "product changed" entries to the
//! `ProductCatalog` projection and invalidates the cache. It re-reads the product from Postgres,
//! so it always projects the latest state, and the projection's version check makes replays and
//! out-of-order runs harmless. Failed entries are retried with backoff until they succeed.

use std::{sync::Arc, time::Duration};

use crate::{
    error::{BoxError, Error},
    repositories::{
        cache::Cache,
        catalog_dynamo::CatalogProjection,
        outbox::{PgOutbox, RelayOutcome},
        products_pg::ProductStore,
    },
    services::products::keys,
};

pub struct ProductProjector {
    outbox: PgOutbox,
    store: Arc<dyn ProductStore>,
    catalog: Arc<dyn CatalogProjection>,
    cache: Cache,
}

const BATCH: i64 = 100;
/// The longest one relay step may take before it counts as failed.
const RELAY_BUDGET: Duration = Duration::from_secs(10);

impl ProductProjector {
    pub fn new(
        outbox: PgOutbox,
        store: Arc<dyn ProductStore>,
        catalog: Arc<dyn CatalogProjection>,
        cache: Cache,
    ) -> Self {
        Self {
            outbox,
            store,
            catalog,
            cache,
        }
    }

    /// Applies every due entry (in batches); returns what happened.
    #[tracing::instrument(skip_all)]
    pub async fn drain(&self) -> Result<RelayOutcome, Error> {
        let mut total = RelayOutcome::default();
        loop {
            let outcome = self
                .outbox
                .process_due("product", BATCH, |entry| {
                    let lag = (chrono::Utc::now() - entry.created_at).num_milliseconds();
                    crate::metrics::add(
                        "ProjectionLag",
                        crate::metrics::Unit::Milliseconds,
                        lag.max(0) as f64,
                    );
                    // A hung projection fails the entry (retried later) instead of stalling
                    // the relay.
                    async move {
                        match tokio::time::timeout(RELAY_BUDGET, self.apply(entry.aggregate_id))
                            .await
                        {
                            Ok(result) => result,
                            Err(_) => Err("the projection did not answer in time".into()),
                        }
                    }
                })
                .await?;
            total.applied += outcome.applied;
            total.failed += outcome.failed;
            if outcome.applied + outcome.failed < BATCH as usize {
                return Ok(total);
            }
        }
    }

    /// Applies one product's change right after its write committed (read-your-writes for the
    /// writer), whoever else may be relaying it: the projection's version check makes a second
    /// application harmless. On failure the entry stays for the relay.
    pub async fn project_now(&self, outbox_id: i64, product_id: i64) -> Result<(), Error> {
        match self.apply(product_id).await {
            Ok(()) => Ok(self.outbox.mark_processed(outbox_id).await?),
            Err(err) => {
                let message = crate::error::error_chain(err.as_ref());
                self.outbox.mark_failed(outbox_id, &message).await?;
                Err(Error::unavailable("dynamodb", err))
            }
        }
    }

    /// Entries still waiting to reach the projection.
    pub async fn pending(&self) -> Result<i64, Error> {
        Ok(self.outbox.pending("product").await?)
    }

    /// Makes failed entries due at once (rather than after their backoff).
    pub async fn retry_now(&self) -> Result<(), Error> {
        Ok(self.outbox.make_all_due().await?)
    }

    async fn apply(&self, product_id: i64) -> Result<(), BoxError> {
        match self.store.get(product_id, true).await? {
            Some(product) if !product.deleted => self.catalog.put(&product).await?,
            Some(product) => self.catalog.remove(product_id, product.version).await?,
            None => self.catalog.remove(product_id, i64::MAX).await?,
        }
        // After the projection, so a reader that misses the cache finds the new state.
        if let Err(err) = self
            .cache
            .delete(&[keys::item(product_id), keys::missing(product_id)])
            .await
        {
            tracing::warn!(product_id, error = %err, "cache invalidation failed; the entry expires by TTL");
        }
        if let Err(err) = self.cache.incr(keys::LIST_GENERATION).await {
            tracing::warn!(error = %err, "listing cache invalidation failed; entries expire by TTL");
        }
        Ok(())
    }

    /// Runs the relay every `interval` in the background, so an entry whose first attempt
    /// failed is retried even when no further write comes.
    pub fn spawn(self: Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(err) = self.drain().await {
                    tracing::debug!(error = %err, "outbox relay pass failed");
                }
            }
        })
    }
}
