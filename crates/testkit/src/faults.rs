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
    models::{
        Money,
        order::PaymentOp,
        product::{Product, ProductFilter},
    },
    repositories::{
        RepoError,
        catalog_dynamo::{CatalogPage, CatalogProjection},
        objects_s3::{Fetched, ObjectStore, PresignedPut},
        payments::{PaymentOutcome, PaymentProvider},
        workflow_sfn::{TaskAnswer, Workflow},
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

/// Where an armed fault stops a call, as if the process died there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPoint {
    /// Before the call reaches the provider.
    Before,
    /// After the provider did what was asked, before the caller learns it.
    After,
}

/// The real simulated provider (its ledger in the app's database), with one crash point armed
/// on demand: the next call of the armed operation hangs forever, before or after the provider
/// made it, as a worker killed there would (the test then kills the worker, and the step runs
/// again on another). `outage` fails every call as a provider that cannot be reached.
#[derive(Default)]
pub struct PaymentFaults {
    inner: std::sync::OnceLock<Arc<dyn PaymentProvider>>,
    armed: std::sync::Mutex<Option<(PaymentOp, CallPoint)>>,
    outage: AtomicBool,
    /// Notified when an armed call reaches its point.
    pub reached: Arc<tokio::sync::Notify>,
}

impl PaymentFaults {
    /// The provider the faults wrap (the test kit sets the app's own).
    pub fn wrap(&self, inner: Arc<dyn PaymentProvider>) {
        let _ = self.inner.set(inner);
    }

    pub fn arm(&self, op: PaymentOp, point: CallPoint) {
        *self.armed.lock().unwrap() = Some((op, point));
    }

    pub fn outage(&self, on: bool) {
        self.outage.store(on, Ordering::SeqCst);
    }

    async fn around<F>(&self, op: PaymentOp, call: F) -> Result<PaymentOutcome, RepoError>
    where
        F: std::future::Future<Output = Result<PaymentOutcome, RepoError>>,
    {
        if self.outage.load(Ordering::SeqCst) {
            return Err(RepoError::Unavailable {
                dependency: "payments",
                source: "injected outage".into(),
            });
        }
        let point = {
            let mut armed = self.armed.lock().unwrap();
            match *armed {
                Some((armed_op, point)) if armed_op == op => {
                    *armed = None;
                    Some(point)
                }
                _ => None,
            }
        };
        match point {
            None => call.await,
            Some(CallPoint::Before) => {
                self.reached.notify_one();
                std::future::pending().await
            }
            Some(CallPoint::After) => {
                let _ = call.await;
                self.reached.notify_one();
                std::future::pending().await
            }
        }
    }

    fn inner(&self) -> &dyn PaymentProvider {
        self.inner
            .get()
            .expect("PaymentFaults used before the test kit wrapped the provider")
            .as_ref()
    }
}

#[async_trait]
impl PaymentProvider for PaymentFaults {
    async fn authorize(&self, key: &str, amount: Money) -> Result<PaymentOutcome, RepoError> {
        self.around(PaymentOp::Authorize, self.inner().authorize(key, amount))
            .await
    }

    async fn capture(
        &self,
        key: &str,
        reference: &str,
        amount: Money,
    ) -> Result<PaymentOutcome, RepoError> {
        self.around(
            PaymentOp::Capture,
            self.inner().capture(key, reference, amount),
        )
        .await
    }

    async fn void(&self, key: &str, reference: &str) -> Result<PaymentOutcome, RepoError> {
        self.around(PaymentOp::Void, self.inner().void(key, reference))
            .await
    }

    async fn refund(
        &self,
        key: &str,
        reference: &str,
        amount: Money,
    ) -> Result<PaymentOutcome, RepoError> {
        self.around(
            PaymentOp::Refund,
            self.inner().refund(key, reference, amount),
        )
        .await
    }
}

/// What an armed [`WorkflowFaults`] does to the next `SendTaskSuccess`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerFault {
    /// Hangs forever: the worker dies after its commit, before Step Functions hears of it.
    Hang,
    /// Fails once, as Step Functions being unreachable.
    Fail,
    /// Answers `SendTaskFailure` instead (the step's success lost, its failure path taken).
    Refuse,
}

/// The app's real Step Functions client, with a fault armed on demand for the next
/// `SendTaskSuccess` of a given step (told by its output's shape).
#[derive(Default)]
pub struct WorkflowFaults {
    inner: std::sync::OnceLock<Arc<dyn Workflow>>,
    armed: std::sync::Mutex<Vec<(AnswerFault, &'static str)>>,
    pub reached: Arc<tokio::sync::Notify>,
}

impl WorkflowFaults {
    pub fn wrap(&self, inner: Arc<dyn Workflow>) {
        let _ = self.inner.set(inner);
    }

    /// Arms `fault` for the next `SendTaskSuccess` whose output contains `output_contains`
    /// (each step answers its own shape: `"reserved"`, `"authorized"`, `"shipment_id"` …).
    /// Several faults may be armed at once; each fires once.
    pub fn arm(&self, fault: AnswerFault, output_contains: &'static str) {
        self.armed.lock().unwrap().push((fault, output_contains));
    }

    fn inner(&self) -> &dyn Workflow {
        self.inner
            .get()
            .expect("WorkflowFaults used before the test kit wrapped the client")
            .as_ref()
    }
}

#[async_trait]
impl Workflow for WorkflowFaults {
    async fn start(&self, name: &str, input: &str) -> Result<(), RepoError> {
        self.inner().start(name, input).await
    }

    async fn succeed(&self, token: &str, output: &str) -> Result<TaskAnswer, RepoError> {
        let fault = {
            let mut armed = self.armed.lock().unwrap();
            armed
                .iter()
                .position(|(_, shape)| output.contains(shape))
                .map(|at| armed.remove(at).0)
        };
        match fault {
            None => self.inner().succeed(token, output).await,
            Some(AnswerFault::Hang) => {
                self.reached.notify_one();
                std::future::pending().await
            }
            Some(AnswerFault::Fail) => {
                self.reached.notify_one();
                Err(RepoError::Unavailable {
                    dependency: "stepfunctions",
                    source: "injected SendTaskSuccess failure".into(),
                })
            }
            // Not a crash point: nothing to notify.
            Some(AnswerFault::Refuse) => {
                self.inner()
                    .fail(token, "InjectedFailure", "the step's success was replaced")
                    .await
            }
        }
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<TaskAnswer, RepoError> {
        self.inner().fail(token, error, cause).await
    }

    async fn heartbeat(&self, token: &str) -> Result<TaskAnswer, RepoError> {
        self.inner().heartbeat(token).await
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
