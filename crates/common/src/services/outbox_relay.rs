//! The outbox relay, one mechanism for every outbox: a writer records its change and an outbox
//! entry in one unit of work, commits, and applies the entry at once ([`OutboxRelay::apply_now`],
//! read-your-writes for the writer); the relay ([`OutboxRelay::drain`], run in the background
//! locally and by the scheduled `relay` job in AWS) applies whatever is still due, with
//! backoff. An [`Applier`] says what an entry of its aggregate means:
//!
//! - `product` ([`CatalogProjection`]): re-reads the product from Postgres and puts it in (or
//!   takes it out of) the `ProductCatalog` projection, then invalidates the cache. It always
//!   projects the latest state, and the projection's version check makes replays and
//!   out-of-order runs harmless.
//! - `order` ([`OrderPublication`]): the entry reaches the order's history in `OrderEvents`
//!   (keyed by the entry, so a replay rewrites the same item), and an `order.placed` starts the
//!   checkout workflow (an execution named after the order, so a replayed start never runs a
//!   second saga).
//!
//! Both appliers are idempotent, so an entry applied twice (by its writer and the relay, or
//! after a crash between applying and marking) is harmless.

use std::{sync::Arc, time::Duration};

use chrono::SecondsFormat;

use crate::{
    error::{BoxError, Error, error_chain},
    metrics::{self, Unit},
    models::order::OrderEvent,
    repositories::{
        cache::Cache,
        catalog_dynamo::CatalogProjection as CatalogTable,
        order_events_dynamo::OrderEventLog,
        outbox::{OutboxEntry, PgOutbox, RelayOutcome},
        products_pg::ProductStore,
        workflow_sfn::Workflow,
    },
    services::catalog::keys,
};

/// What the entries of one aggregate type mean downstream.
#[async_trait::async_trait]
pub trait Applier: Send + Sync + 'static {
    /// The outbox's `aggregate_type` this applier consumes.
    const AGGREGATE: &'static str;
    /// The dependency named when applying fails (the error's `dependency`).
    const DEPENDENCY: &'static str;
    /// Called when the relay (not the writer) takes the entry up: how late it is.
    fn claimed(&self, _entry: &OutboxEntry) {}

    async fn apply(&self, entry: &OutboxEntry) -> Result<(), BoxError>;
}

pub struct OutboxRelay<A> {
    outbox: PgOutbox,
    applier: A,
}

/// Entries claimed per round trip.
const BATCH: i64 = 100;
/// The longest one entry may take before it counts as failed: a hung dependency fails the
/// entry (retried later) instead of stalling the relay.
const APPLY_BUDGET: Duration = Duration::from_secs(10);

impl<A: Applier> OutboxRelay<A> {
    pub fn new(outbox: PgOutbox, applier: A) -> Self {
        Self { outbox, applier }
    }

    async fn apply(&self, entry: &OutboxEntry) -> Result<(), BoxError> {
        match tokio::time::timeout(APPLY_BUDGET, self.applier.apply(entry)).await {
            Ok(result) => result,
            Err(_) => Err(format!("{} did not answer in time", A::DEPENDENCY).into()),
        }
    }

    /// Applies one entry right after its writer committed it; on failure the entry stays for
    /// the relay (with a recorded attempt and its backoff).
    pub async fn apply_now(&self, entry: &OutboxEntry) -> Result<(), Error> {
        let outbox_id = entry.outbox_id;
        match self.apply(entry).await {
            Ok(()) => Ok(self.outbox.mark_processed(outbox_id).await?),
            Err(err) => {
                self.outbox
                    .mark_failed(outbox_id, &error_chain(err.as_ref()))
                    .await?;
                Err(Error::unavailable(A::DEPENDENCY, err))
            }
        }
    }

    /// Applies every due entry (in batches); returns what happened.
    #[tracing::instrument(skip_all, fields(aggregate = A::AGGREGATE))]
    pub async fn drain(&self) -> Result<RelayOutcome, Error> {
        let mut total = RelayOutcome::default();
        loop {
            let outcome = self
                .outbox
                .process_due(A::AGGREGATE, BATCH, |entry| async move {
                    self.applier.claimed(&entry);
                    self.apply(&entry).await
                })
                .await?;
            total.applied += outcome.applied;
            total.failed += outcome.failed;
            if outcome.applied + outcome.failed < BATCH as usize {
                return Ok(total);
            }
        }
    }

    /// Entries still waiting to be applied.
    pub async fn pending(&self) -> Result<i64, Error> {
        Ok(self.outbox.pending(A::AGGREGATE).await?)
    }

    /// Makes failed entries due at once (rather than after their backoff).
    pub async fn retry_now(&self) -> Result<(), Error> {
        Ok(self.outbox.make_all_due().await?)
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
                    tracing::debug!(aggregate = A::AGGREGATE, error = %err, "outbox relay pass failed");
                }
            }
        })
    }
}

/// `product` entries → the `ProductCatalog` projection and the cache.
pub struct CatalogProjection {
    store: Arc<dyn ProductStore>,
    catalog: Arc<dyn CatalogTable>,
    cache: Cache,
}

impl CatalogProjection {
    pub fn new(store: Arc<dyn ProductStore>, catalog: Arc<dyn CatalogTable>, cache: Cache) -> Self {
        Self {
            store,
            catalog,
            cache,
        }
    }
}

/// The relay of the catalogue.
pub type ProductRelay = OutboxRelay<CatalogProjection>;

#[async_trait::async_trait]
impl Applier for CatalogProjection {
    const AGGREGATE: &'static str = "product";
    const DEPENDENCY: &'static str = "dynamodb";

    /// `ProjectionLag`: how long after the write the relay projects it.
    fn claimed(&self, entry: &OutboxEntry) {
        let lag = (chrono::Utc::now() - entry.created_at).num_milliseconds();
        metrics::add("ProjectionLag", Unit::Milliseconds, lag.max(0) as f64);
    }

    async fn apply(&self, entry: &OutboxEntry) -> Result<(), BoxError> {
        let product_id = entry.aggregate_id;
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
}

/// The event that starts an order's checkout workflow.
pub const PLACED: &str = "order.placed";

/// The name of an order's checkout execution.
pub fn execution_name(order_id: i64) -> String {
    format!("order-{order_id}")
}

/// `order` entries → the order's history, and the checkout workflow's start.
pub struct OrderPublication {
    events: Arc<dyn OrderEventLog>,
    workflow: Arc<dyn Workflow>,
}

impl OrderPublication {
    pub fn new(events: Arc<dyn OrderEventLog>, workflow: Arc<dyn Workflow>) -> Self {
        Self { events, workflow }
    }
}

/// The relay of orders.
pub type OrderRelay = OutboxRelay<OrderPublication>;

#[async_trait::async_trait]
impl Applier for OrderPublication {
    const AGGREGATE: &'static str = "order";
    const DEPENDENCY: &'static str = "order events";

    async fn apply(&self, entry: &OutboxEntry) -> Result<(), BoxError> {
        let key = format!(
            "{}#{:012}",
            entry
                .created_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            entry.outbox_id
        );
        let event = OrderEvent {
            event_type: entry.event_type.clone(),
            at: entry.created_at,
            payload: entry.payload.clone(),
        };
        self.events.append(entry.aggregate_id, &key, &event).await?;
        if entry.event_type == PLACED {
            let input = serde_json::json!({
                "order_id": entry.aggregate_id,
                "correlation_id": entry.payload.get("correlation_id").cloned().unwrap_or_default(),
            });
            self.workflow
                .start(&execution_name(entry.aggregate_id), &input.to_string())
                .await?;
        }
        Ok(())
    }
}
