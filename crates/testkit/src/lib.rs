//! Test helpers. `TestApp::spawn()` boots the real router on a port of its own, against a fresh,
//! uniquely named Postgres database (migrated, dropped afterwards), its own copies of the
//! DynamoDB tables in the emulator, and its own Redis key prefix, so tests run in parallel
//! without seeing one another. Users are real Cognito users of the emulator, and tokens are
//! the ones its login returns.
//!
//! The local stack must be up (`scripts/dev/stack.sh up`); its settings are read from the process
//! environment, else from `$STACK_DIR/stack.env`.

pub mod checkout;
pub mod emf;
pub mod faults;
pub mod images;
pub mod lambda;
pub mod logs;
pub mod pipeline;
pub mod redis_server;
pub mod runtime_api;
pub mod tables;
pub mod tokens;

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use common::{
    app::{self, Function, Resources},
    auth::JwksPolicy,
    config::{AuthMode, CognitoConfig, Env},
    services::{images::ImageProcessor, outbox_relay::ProductRelay},
};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection, PgPool};

pub use faults::{FaultSwitch, FlakyCatalog, FlakyObjects};

/// The local stack's settings: the process environment over `$STACK_DIR/stack.env`.
pub fn stack_env() -> &'static HashMap<String, String> {
    static ENV: OnceLock<HashMap<String, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = std::env::var("STACK_DIR").unwrap_or_else(|_| "/var/tmp/shop-stack".into());
        let mut vars = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(format!("{dir}/stack.env")) {
            for line in text.lines() {
                let line = line.trim().trim_start_matches("export ").trim();
                if let Some((k, v)) = line.split_once('=') {
                    let v = v.trim().trim_matches('"').trim_matches('\'');
                    vars.insert(k.trim().to_owned(), v.to_owned());
                }
            }
        }
        for (k, v) in std::env::vars() {
            vars.insert(k, v);
        }
        vars
    })
}

pub fn var(name: &str) -> Option<String> {
    stack_env().get(name).cloned().filter(|v| !v.is_empty())
}

fn init_test_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            common::runtime::init_tracing();
        }
    });
}

/// The AWS resource manifest (`scripts/aws_resources.json`).
pub fn manifest() -> Value {
    serde_json::from_str(include_str!("../../../scripts/aws_resources.json"))
        .expect("manifest is JSON")
}

/// Options of a test app.
pub struct TestAppBuilder {
    auth_mode: AuthMode,
    overrides: HashMap<String, String>,
    jwks_policy: JwksPolicy,
    background: bool,
    migrate: bool,
    image_pipeline: bool,
    poller: bool,
    checkout: bool,
    checkout_worker: bool,
    payment_faults: Option<Arc<faults::PaymentFaults>>,
    workflow_faults: Option<Arc<faults::WorkflowFaults>>,
}

impl Default for TestAppBuilder {
    fn default() -> Self {
        Self {
            auth_mode: AuthMode::VerifyToken,
            overrides: HashMap::new(),
            jwks_policy: JwksPolicy::default(),
            background: true,
            migrate: true,
            image_pipeline: false,
            poller: true,
            checkout: false,
            checkout_worker: true,
            payment_faults: None,
            workflow_faults: None,
        }
    }
}

impl TestAppBuilder {
    /// Behind API Gateway: claims from the request context.
    pub fn api_gateway_mode(mut self) -> Self {
        self.auth_mode = AuthMode::ApiGatewayClaims;
        self
    }

    /// Overrides one configuration variable.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.overrides.insert(name.to_owned(), value.into());
        self
    }

    pub fn jwks_policy(mut self, policy: JwksPolicy) -> Self {
        self.jwks_policy = policy;
        self
    }

    /// Without the background outbox relay (tests that drive it by hand).
    pub fn without_background(mut self) -> Self {
        self.background = false;
        self
    }

    /// With an image pipeline of its own: a bucket whose `raw/` uploads notify a topic that
    /// feeds a queue (with a DLQ after 3 receives), consumed by the app's poller.
    pub fn with_image_pipeline(mut self) -> Self {
        self.image_pipeline = true;
        self
    }

    /// With checkout plumbing of its own (task queue, order-events topic → fulfillment queue,
    /// the state machine from the repository's ASL) and its worker polling the queues.
    pub fn with_checkout(mut self) -> Self {
        self.checkout = true;
        self
    }

    /// With the checkout plumbing but no worker (tests start one with
    /// [`TestApp::spawn_checkout_worker`]).
    pub fn without_checkout_worker(mut self) -> Self {
        self.checkout = true;
        self.checkout_worker = false;
        self
    }

    /// With faults to arm on the app's payment provider (the simulated one, real ledger).
    pub fn payment_faults(mut self, faults: Arc<faults::PaymentFaults>) -> Self {
        self.payment_faults = Some(faults);
        self
    }

    /// With faults to arm on the app's Step Functions client.
    pub fn workflow_faults(mut self, faults: Arc<faults::WorkflowFaults>) -> Self {
        self.workflow_faults = Some(faults);
        self
    }

    /// With the pipeline's resources but no queue poller (tests that feed the handler).
    pub fn without_poller(mut self) -> Self {
        self.poller = false;
        self
    }

    /// For apps pointed at an unreachable database.
    pub async fn spawn_without_migrations(mut self) -> TestApp {
        self.migrate = false;
        self.spawn().await
    }

    pub async fn spawn(self) -> TestApp {
        init_test_logging();
        let isolation = Isolation::create().await;
        // Bound first: processed images are served by the app itself at /images/<key>.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        let mut env = isolation.defaults(&address);
        // The test's own variables win over the defaults, not over its plumbing.
        env.extend(self.overrides.clone());
        env.insert(
            "AUTH_MODE".into(),
            match self.auth_mode {
                AuthMode::VerifyToken => "verify".into(),
                AuthMode::ApiGatewayClaims => "apigateway".into(),
            },
        );
        let pipeline = match self.image_pipeline {
            true => Some(pipeline::create(&isolation.id).await),
            false => None,
        };
        let checkout = match self.checkout {
            true => Some(checkout::create(&isolation.id, &isolation.table_prefix).await),
            false => None,
        };
        for (k, v) in pipeline.iter().flat_map(|p| p.env()) {
            env.insert(k.into(), v);
        }
        for (k, v) in checkout.iter().flat_map(|c| c.env()) {
            env.insert(k.into(), v);
        }

        let resources = self.resources(&env).await;
        let pool = resources.pool().await.expect("postgres pool");
        // Provisioned straight at the emulator, not through the app's client (whose endpoint
        // a test may point at a fault).
        let dynamodb = aws_sdk_dynamodb::Client::new(&pipeline::sdk().await);
        tables::create(&dynamodb, &isolation.table_prefix).await;
        let bucket = env
            .get("IMAGES_BUCKET")
            .cloned()
            .or_else(|| var("IMAGES_BUCKET"))
            .unwrap_or_else(|| "shop-images-local".into());
        let faults = Faults::install(&resources, &bucket);
        let cognito = CognitoConfig::from_env(&env_of(&env)).expect("cognito settings");
        let cognito_client = test_cognito_client(&resources);

        let router = app::local_router(&resources).await.expect("router");
        let images = app::image_processor(&resources)
            .await
            .expect("image processor");
        let projector = app::projector(&resources).await.expect("projector");
        let mut background = self
            .background(&resources, pipeline.as_ref(), &images)
            .await;
        let mut checkout_workers = Vec::new();
        if checkout.is_some() && self.checkout_worker {
            checkout_workers =
                app::spawn_checkout_pollers(&resources, std::time::Duration::from_secs(1))
                    .await
                    .expect("checkout worker");
        }
        background.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router.into_make_service()).await;
        }));
        TestApp {
            address,
            client: reqwest::Client::new(),
            resources,
            images,
            projector,
            cognito,
            pool,
            dynamodb,
            cognito_client,
            faults,
            pipeline,
            checkout,
            checkout_workers: std::sync::Mutex::new(checkout_workers),
            background,
            isolation: Isolation { env, ..isolation },
        }
    }

    /// The app's resources on `env`, with the builder's faults and JWKS policy, migrated.
    async fn resources(&self, env: &HashMap<String, String>) -> Arc<Resources> {
        let resources = Resources::new(env_of(env))
            .await
            .expect("test configuration");
        resources.set_jwks_policy(self.jwks_policy);
        if let Some(faults) = self.payment_faults.clone() {
            faults.wrap(resources.payments().await.expect("payments"));
            resources.set_payments(faults);
        }
        if let Some(faults) = self.workflow_faults.clone() {
            faults.wrap(app::workflow(&resources).expect("workflow"));
            resources.set_workflow(faults);
        }
        if self.migrate {
            let pool = resources.pool().await.expect("postgres pool");
            common::MIGRATOR
                .run(&pool)
                .await
                .expect("migrate the test database");
        }
        resources
    }

    /// What a long-lived server runs beside its routes, as asked: the relays and the image
    /// queue's poller.
    async fn background(
        &self,
        resources: &Resources,
        pipeline: Option<&pipeline::Pipeline>,
        images: &Arc<ImageProcessor>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let second = std::time::Duration::from_secs(1);
        let mut tasks = Vec::new();
        if self.background {
            tasks.push(
                app::projector(resources)
                    .await
                    .expect("projector")
                    .spawn(second),
            );
            if self.checkout {
                let relay = app::order_relay(resources).await.expect("order relay");
                tasks.push(relay.spawn(second));
            }
        }
        if let Some(pipeline) = pipeline.filter(|_| self.poller) {
            tasks.push(common::runtime::queue::spawn_poller(
                resources.sqs(),
                pipeline.queue_url.clone(),
                common::runtime::queue::consumer(images.clone()),
                second,
            ));
        }
        tasks
    }
}

/// What keeps one test app apart from the others running at the same time: a database, table
/// and cache prefixes of its own (dropped with the app), and its variables.
pub struct Isolation {
    id: String,
    db_name: String,
    admin_url: String,
    pub database_url: String,
    pub table_prefix: String,
    pub cache_prefix: String,
    /// The app's variables over the local stack's: what a second process of the same app
    /// needs ([`TestApp::spawn_process`]).
    pub env: HashMap<String, String>,
}

impl Isolation {
    async fn create() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        let db_name = format!("test_{id}");
        let admin_url = var("PG_ADMIN_URL")
            .expect("PG_ADMIN_URL: is the local stack up? (scripts/dev/stack.sh up)");
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("connect to the local Postgres");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE \"{db_name}\""
            )))
            .await
            .expect("create the test database");
        let database_url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{db_name}"),
            None => panic!("PG_ADMIN_URL has no database part"),
        };
        Self {
            table_prefix: format!("t{id}_"),
            cache_prefix: format!("t{id}:"),
            id,
            db_name,
            admin_url,
            database_url,
            env: HashMap::new(),
        }
    }

    /// The variables every test app starts from.
    fn defaults(&self, address: &str) -> HashMap<String, String> {
        [
            ("DATABASE_URL", self.database_url.clone()),
            ("DYNAMODB_TABLE_PREFIX", self.table_prefix.clone()),
            ("CACHE_KEY_PREFIX", self.cache_prefix.clone()),
            ("APP_ENV", "test".into()),
            ("IMAGES_PUBLIC_BASE_URL", format!("{address}/images")),
            ("COGNITO_AUTO_CONFIRM", "true".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// The faults a test switches on, installed around the app's adapters.
pub struct Faults {
    /// While on, every `ProductCatalog` call fails as if DynamoDB were down.
    pub catalog: FaultSwitch,
    /// The reads that reached `ProductCatalog` (to count batched calls).
    pub catalog_calls: Arc<faults::CatalogCalls>,
    /// While on, reading and writing images in S3 fails.
    pub objects: FaultSwitch,
    /// Object keys whose reads and writes always fail (poison messages).
    pub poison_keys: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Faults {
    fn install(resources: &Resources, bucket: &str) -> Self {
        let catalog = FaultSwitch::default();
        let flaky = FlakyCatalog::new(resources.catalog(), catalog.clone());
        let catalog_calls = flaky.calls.clone();
        resources.set_catalog(Arc::new(flaky));
        let objects = FaultSwitch::default();
        let poison_keys = Arc::new(std::sync::Mutex::new(Vec::new()));
        resources.set_objects(Arc::new(FlakyObjects::new(
            resources.objects(bucket),
            objects.clone(),
            poison_keys.clone(),
        )));
        Self {
            catalog,
            catalog_calls,
            objects,
            poison_keys,
        }
    }
}

/// The test's own Cognito calls (sign-ups, passwords, groups, lookups) are set-up and checks,
/// not the code under test: they get the background timeouts, so a test that tightens
/// `AWS_TIMEOUT_MS` for the code it exercises does not fail creating its users while the
/// parallel suite keeps moto busy.
fn test_cognito_client(resources: &Resources) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::from_conf(
        resources
            .cognito()
            .config()
            .to_builder()
            .timeout_config(common::clients::background())
            .build(),
    )
}

/// The test's variables over the local stack's.
fn env_of(overrides: &HashMap<String, String>) -> Env {
    let overrides = overrides.clone();
    Env::from_fn(move |name| overrides.get(name).cloned().or_else(|| var(name)))
}

/// A real Cognito user of the emulator's pool, signed in through the API.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub id_token: String,
    pub refresh_token: String,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The app's resources (clients, adapters), shared by every service it runs.
    pub resources: Arc<Resources>,
    /// The image processor (what the image queue's consumer calls).
    pub images: Arc<ImageProcessor>,
    /// The catalogue's outbox relay.
    pub projector: Arc<ProductRelay>,
    pub cognito: CognitoConfig,
    pub pool: PgPool,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The faults a test switches on.
    pub faults: Faults,
    /// The app's own image pipeline, if built `with_image_pipeline`.
    pub pipeline: Option<pipeline::Pipeline>,
    /// The app's own checkout plumbing, if built `with_checkout`.
    pub checkout: Option<checkout::Checkout>,
    /// The running checkout worker's pollers (tests may kill it).
    pub checkout_workers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Its database, prefixes and variables.
    pub isolation: Isolation,
    /// Cognito for the test's own set-up and checks (background timeouts).
    pub cognito_client: aws_sdk_cognitoidentityprovider::Client,
    background: Vec<tokio::task::JoinHandle<()>>,
}

pub const PASSWORD: &str = "Test-Passw0rd!";

impl TestApp {
    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// Starts a checkout worker (pollers of the task and fulfillment queues).
    pub async fn spawn_checkout_worker(&self) {
        let pollers =
            app::spawn_checkout_pollers(&self.resources, std::time::Duration::from_secs(1))
                .await
                .expect("checkout worker");
        self.checkout_workers.lock().unwrap().extend(pollers);
    }

    /// Kills the running checkout worker mid-whatever-it-does (its pollers and the steps they
    /// run stop at once; their messages stay invisible until the visibility timeout).
    pub fn kill_checkout_worker(&self) {
        for poller in self.checkout_workers.lock().unwrap().drain(..) {
            poller.abort();
        }
    }

    /// Starts `binary` (a function's or the all-in-one server's) as a second server process of
    /// this app: the same database, tables, cache prefix and user pool, its own memory (locks,
    /// caches, pools). Returns its base URL; the process is killed with the returned handle.
    pub async fn spawn_process(&self, binary: &str) -> (String, tokio::process::Child) {
        self.spawn_process_with(binary, &[]).await
    }

    /// [`Self::spawn_process`] with some variables of its own (a blank value unsets one).
    pub async fn spawn_process_with(
        &self,
        binary: &str,
        env: &[(&str, &str)],
    ) -> (String, tokio::process::Child) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = tokio::process::Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in stack_env() {
            command.env(k, v);
        }
        for (k, v) in &self.isolation.env {
            command.env(k, v);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        command.env("PORT", port.to_string());
        let child = command.spawn().expect("start the second process");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..300 {
            if self
                .client
                .get(format!("{url}/v1/openapi.json"))
                .send()
                .await
                .is_ok()
            {
                return (url, child);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the second process at {url} did not start");
    }

    /// The router of one Lambda function (its own state, as deployed), on this app's resources.
    pub async fn function_router(&self, function: Function) -> common::http::App {
        common::routers::finish(
            app::service_router(function, &self.resources)
                .await
                .expect("function router"),
            &self.resources.base,
            function == Function::Products,
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn table(&self, logical: &str) -> String {
        format!("{}{logical}", self.isolation.table_prefix)
    }

    /// A request with an optional bearer token.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, token)
            .send()
            .await
            .expect("GET")
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Creates a confirmed Cognito user (optionally in `admin`) and signs it in.
    pub async fn user(&self, admin: bool) -> TestUser {
        // moto's Cognito backend is not thread-safe ("OrderedDict mutated during iteration"
        // under concurrent sign-ups): tests make their users one at a time.
        static COGNITO: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one_at_a_time = COGNITO.lock().await;
        let email = format!("u-{}@example.com", uuid::Uuid::new_v4().simple());
        let pool = &self.cognito.user_pool_id;
        let attr = |n: &str, v: &str| AttributeType::builder().name(n).value(v).build().unwrap();
        self.cognito_client
            .admin_create_user()
            .user_pool_id(pool)
            .username(&email)
            .user_attributes(attr("email", &email))
            .user_attributes(attr("email_verified", "true"))
            .message_action(MessageActionType::Suppress)
            .send()
            .await
            .expect("admin_create_user");
        self.cognito_client
            .admin_set_user_password()
            .user_pool_id(pool)
            .username(&email)
            .password(PASSWORD)
            .permanent(true)
            .send()
            .await
            .expect("admin_set_user_password");
        if admin {
            self.cognito_client
                .admin_add_user_to_group()
                .user_pool_id(pool)
                .username(&email)
                .group_name("admin")
                .send()
                .await
                .expect("admin_add_user_to_group");
        }
        self.login(&email, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> TestUser {
        let response = self
            .send_json(
                reqwest::Method::POST,
                "/v1/users/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 200, "login of {email}");
        let body: Value = response.json().await.unwrap();
        TestUser {
            email: email.to_owned(),
            password: password.to_owned(),
            access_token: body["access_token"].as_str().unwrap().to_owned(),
            id_token: body["id_token"].as_str().unwrap().to_owned(),
            refresh_token: body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    pub async fn admin(&self) -> TestUser {
        self.user(true).await
    }

    pub async fn customer(&self) -> TestUser {
        self.user(false).await
    }

    /// Creates a product through the API and returns its body.
    pub async fn create_product(&self, admin: &TestUser, body: Value) -> Value {
        let response = self
            .send_json(
                reqwest::Method::POST,
                "/v1/products",
                Some(&admin.access_token),
                &body,
            )
            .await;
        assert_eq!(response.status(), 201, "create product {body}");
        response.json().await.unwrap()
    }

    /// A product body with a unique SKU.
    pub fn product_body(name: &str, price: &str, stock: i64) -> Value {
        json!({
            "sku": format!("SKU-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]),
            "name": name,
            "price": price,
            "stock": stock,
        })
    }

    /// The `ProductCatalog` item of a product, read straight from DynamoDB.
    pub async fn catalog_item(
        &self,
        product_id: i64,
    ) -> Option<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(self.table("ProductCatalog"))
            .key(
                "product_id",
                aws_sdk_dynamodb::types::AttributeValue::N(product_id.to_string()),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("get_item")
            .item
    }

    /// Creates a Secrets Manager secret in the emulator; returns its name.
    pub async fn create_secret(&self, value: &str) -> String {
        let sdk = pipeline::sdk().await;
        let name = format!("test/{}", uuid::Uuid::new_v4().simple());
        aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name(&name)
            .secret_string(value)
            .send()
            .await
            .expect("create_secret");
        name
    }

    /// Waits (bounded) until `check` holds; panics with `what` otherwise. For eventual states,
    /// never for timing assertions.
    pub async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..150 {
            if check().await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("timed out waiting until {what}");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for task in &self.background {
            task.abort();
        }
        self.kill_checkout_worker();
        let admin_url = self.isolation.admin_url.clone();
        let db_name = self.isolation.db_name.clone();
        let prefix = self.isolation.table_prefix.clone();
        // Async cleanup needs a runtime of its own: the test's is blocked in this drop. Nothing
        // of the test's runtime is used here (its pooled connections would wait on that blocked
        // runtime's reactor): a new Postgres connection and a new DynamoDB client. The app's
        // pool is not closed; DROP DATABASE … WITH (FORCE) ends its connections.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let dynamodb = aws_sdk_dynamodb::Client::new(&pipeline::sdk().await);
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = admin
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{db_name}\" WITH (FORCE)"
                        )))
                        .await;
                }
                for table in manifest()["dynamodb_tables"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let _ = dynamodb
                        .delete_table()
                        .table_name(format!(
                            "{prefix}{}",
                            table["name"].as_str().unwrap_or_default()
                        ))
                        .send()
                        .await;
                }
            });
        })
        .join();
    }
}
