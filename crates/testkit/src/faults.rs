//! Fault injection: adapters that wrap a real one and fail on demand, as if the backing
//! service were down.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use common::{
    models::product::{Product, ProductFilter},
    repositories::{
        RepoError,
        catalog_dynamo::{CatalogPage, CatalogProjection},
        objects_s3::{Fetched, ObjectStore, PresignedPut},
    },
};

/// A shared switch: healthy, failing at once, or hung (calls never answer).
#[derive(Clone, Default)]
pub struct FaultSwitch(Arc<AtomicBool>, Arc<AtomicBool>);

impl FaultSwitch {
    pub fn fail(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Calls wait until [`FaultSwitch::heal`], like a dependency in a brownout.
    pub fn hang(&self) {
        self.1.store(true, Ordering::SeqCst);
    }

    pub fn heal(&self) {
        self.0.store(false, Ordering::SeqCst);
        self.1.store(false, Ordering::SeqCst);
    }

    async fn check(&self) -> Result<(), RepoError> {
        // Hung until healed, like a dependency in a brownout that comes back.
        while self.1.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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

/// How many reads reached the `ProductCatalog` adapter.
#[derive(Default, Debug)]
pub struct CatalogCalls {
    pub get: std::sync::atomic::AtomicUsize,
    pub get_many: std::sync::atomic::AtomicUsize,
}

impl CatalogCalls {
    pub fn reads(&self) -> (usize, usize) {
        (
            self.get.load(Ordering::SeqCst),
            self.get_many.load(Ordering::SeqCst),
        )
    }
}

/// `ProductCatalog` that fails while its switch is on, and counts the reads it sees.
pub struct FlakyCatalog {
    inner: Arc<dyn CatalogProjection>,
    switch: FaultSwitch,
    pub calls: Arc<CatalogCalls>,
}

impl FlakyCatalog {
    pub fn new(inner: Arc<dyn CatalogProjection>, switch: FaultSwitch) -> Self {
        Self {
            inner,
            switch,
            calls: Arc::default(),
        }
    }
}

#[async_trait]
impl CatalogProjection for FlakyCatalog {
    async fn get(&self, product_id: i64) -> Result<Option<Product>, RepoError> {
        self.calls.get.fetch_add(1, Ordering::SeqCst);
        self.switch.check().await?;
        self.inner.get(product_id).await
    }

    async fn get_many(&self, ids: &[i64]) -> Result<Vec<Product>, RepoError> {
        self.calls.get_many.fetch_add(1, Ordering::SeqCst);
        self.switch.check().await?;
        self.inner.get_many(ids).await
    }

    async fn list(
        &self,
        filter: &ProductFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<CatalogPage, RepoError> {
        self.switch.check().await?;
        self.inner.list(filter, after, limit).await
    }

    async fn put(&self, product: &Product) -> Result<(), RepoError> {
        self.switch.check().await?;
        self.inner.put(product).await
    }

    async fn remove(&self, product_id: i64, version: i64) -> Result<(), RepoError> {
        self.switch.check().await?;
        self.inner.remove(product_id, version).await
    }
}

/// The images bucket, failing while the switch is on or for the keys named poison.
pub struct FlakyObjects {
    inner: Arc<dyn ObjectStore>,
    switch: FaultSwitch,
    poison: Arc<std::sync::Mutex<Vec<String>>>,
}

impl FlakyObjects {
    pub fn new(
        inner: Arc<dyn ObjectStore>,
        switch: FaultSwitch,
        poison: Arc<std::sync::Mutex<Vec<String>>>,
    ) -> Self {
        Self {
            inner,
            switch,
            poison,
        }
    }

    async fn check(&self, key: &str) -> Result<(), RepoError> {
        let poisoned = self
            .poison
            .lock()
            .map(|keys| keys.iter().any(|k| k == key))
            .unwrap_or(false);
        if poisoned {
            return Err(RepoError::Unavailable {
                dependency: "s3",
                source: "injected fault (poison key)".into(),
            });
        }
        self.switch
            .check()
            .await
            .map_err(|_| RepoError::Unavailable {
                dependency: "s3",
                source: "injected fault".into(),
            })
    }
}

#[async_trait]
impl ObjectStore for FlakyObjects {
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: i64,
        expires_in: Duration,
    ) -> Result<PresignedPut, RepoError> {
        self.inner
            .presign_put(key, content_type, content_length, expires_in)
            .await
    }

    async fn get(&self, key: &str, max_bytes: usize) -> Result<Fetched, RepoError> {
        self.check(key).await?;
        self.inner.get(key, max_bytes).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), RepoError> {
        self.check(key).await?;
        self.inner.put(key, bytes, content_type).await
    }
}

/// A payment provider that never answers a charge (a worker stuck, then killed, mid-step);
/// `started` is notified when a charge begins.
#[derive(Default)]
pub struct StallingPayments {
    pub started: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl common::repositories::payments::PaymentProvider for StallingPayments {
    async fn charge(
        &self,
        _idempotency_key: &str,
        _amount: common::models::Money,
    ) -> Result<common::repositories::payments::Charge, RepoError> {
        self.started.notify_one();
        std::future::pending().await
    }

    async fn refund(
        &self,
        _reference: &str,
        _amount: common::models::Money,
    ) -> Result<(), RepoError> {
        Ok(())
    }
}

/// An endpoint that accepts connections and reads requests but never answers: a dependency
/// that hangs with its port open (a brownout), for the real SDK clients. It counts the
/// requests that reached it.
pub struct BlackHole {
    pub url: String,
    requests: Arc<std::sync::atomic::AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl BlackHole {
    pub async fn start() -> Self {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a black hole");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = requests.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    // Held open, never answered, until the client hangs up.
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if buf[..n].starts_with(b"POST ") || buf[..n].starts_with(b"GET ") {
                            counted.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        Self {
            url,
            requests,
            accept,
        }
    }

    /// How many requests reached the endpoint so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
