//! The composition root: the only module that knows every layer. Each function (Lambda) reads
//! the config sections it needs at start, builds only the adapters its routes use, and hands
//! its router or handler to the runtime; the all-in-one local server composes all of them on
//! one [`Resources`]. Binaries call [`main`] and nothing else.

pub mod jobs;
pub mod resources;

use std::{sync::Arc, time::Duration};

use utoipa_axum::router::OpenApiRouter;

pub use crate::error::BoxError;
pub use resources::Resources;

use crate::{
    config::{CheckoutConfig, CognitoConfig, Env, ImagesConfig},
    repositories::{
        cart_dynamo::DynamoCartStore,
        idempotency_dynamo::DynamoIdempotencyStore,
        identity_cognito::CognitoIdentity,
        images_dynamo::DynamoImageMeta,
        images_pg::PgImageStore,
        inventory_pg::PgInventory,
        order_events_dynamo::DynamoOrderEvents,
        orders_pg::PgOrderStore,
        outbox::PgOutbox,
        probes::{CacheProbe, DynamoProbe, PostgresProbe, Probe},
        products_pg::PgProductStore,
        users_pg::PgUserStore,
        workflow_sfn::{StepFunctions, Workflow},
    },
    routers, runtime,
    services::{
        cart::CartService,
        catalog::CatalogReader,
        checkout_saga::{CheckoutWorker, OrderLedger},
        fulfillment::Fulfillment,
        health::HealthService,
        idempotency::IdempotencyService,
        images::ImageProcessor,
        orders::OrderService,
        outbox_relay::{
            CatalogProjection, OrderPublication, OrderRelay, OutboxRelay, ProductRelay,
        },
        products::ProductService,
        uploads::UploadService,
        users::UserService,
    },
    state::{Cart, Orders, Products, ServiceState, Shared, Users},
};

/// The deployable functions (one binary each) and the all-in-one local server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Users,
    Products,
    Cart,
    Orders,
    ImageProcessor,
    Local,
}

impl Function {
    /// The `Service` dimension of this function's metrics.
    pub fn metric_name(self) -> &'static str {
        match self {
            Function::Users => "users",
            Function::Products => "products",
            Function::Cart => "cart",
            Function::Orders => "orders",
            Function::ImageProcessor => "image_processor",
            Function::Local => "local",
        }
    }
}

/// The whole `main` of every binary: `<binary> [command]`, run by its function's entry point
/// (`common::app::main(Function::Products, common::app::run_products)`).
///
/// - HTTP services: `serve` (default).
/// - products: also `relay` (one pass of the products' and orders' outbox relays and of the
///   reconciler of unsettled orders per
///   invocation: the scheduled job) and `migrate` (applies the migrations: the deploy step).
/// - orders: also `worker` (the checkout workflow's task queue and the fulfillment queue).
/// - image_processor: the image queue's consumer.
/// - local: `serve` (default; every router on one port plus the queue pollers), `migrate`,
///   `relay`, or `openapi` (prints the OpenAPI document).
///
/// Each function has an entry point of its own (`run_users` …) that names only the code it
/// runs, so its binary links only that: a function's executable, and the code pages it keeps
/// in memory, hold its own routes and clients rather than every function's.
///
/// The functions' binaries run this on tokio's current-thread runtime: Lambda hands an
/// execution environment one event at a time, so worker threads would have nothing to run side
/// by side, and each one costs memory (its stack, and an allocator heap with pages of its own:
/// `cart`'s peak with 64 requests in flight fell by about 2 MiB with one thread instead of two,
/// docs/benchmarks/memory.md). Image resizing still runs on tokio's blocking threads. `local`,
/// which serves every route of the platform on one port, keeps the multi-thread runtime.
pub async fn main<F, Fut>(function: Function, run: F) -> Result<(), BoxError>
where
    F: FnOnce(String, Arc<Resources>) -> Fut,
    Fut: std::future::Future<Output = Result<(), BoxError>>,
{
    runtime::init_tracing();
    let outcome = async {
        let command = command(std::env::args().nth(1), std::env::var("_HANDLER").ok());
        let resources = Resources::new(Env::process()).await?;
        crate::metrics::init(function.metric_name(), &resources.base.app_env);
        if runtime::is_lambda() {
            let resources = resources.clone();
            runtime::on_lambda_shutdown(move || async move { resources.close().await }).await;
        }
        run(command, resources).await
    }
    .await;
    if let Err(err) = &outcome {
        tracing::error!(error = %err, "exiting");
    }
    // Lines still queued for stdout go out before the process does.
    runtime::stdout::flush(Duration::from_secs(2));
    outcome
}

/// The command a binary runs: its first argument (a local run, `cargo run -- worker`), else
/// `_HANDLER`. The Lambda base image's entrypoint (`/lambda-entrypoint.sh`) takes the image's
/// command (Terraform's `image_config.command`, or the Dockerfile's `CMD ["bootstrap"]`) as
/// the handler name: it exports it as `_HANDLER` and starts the bootstrap with no argument.
/// `bootstrap` (the default command) and nothing at all mean `serve`.
pub fn command(argument: Option<String>, handler: Option<String>) -> String {
    argument
        .or(handler)
        .filter(|c| !c.is_empty() && c != "bootstrap")
        .unwrap_or_else(|| "serve".into())
}

fn no_such_command(function: Function, command: &str) -> BoxError {
    format!("{function:?} has no command `{command}` (try `serve`)").into()
}

/// An HTTP function's router, served by `lambda_http` or `axum::serve`.
async fn serve_http(
    router: OpenApiRouter,
    resources: &Resources,
    serves_docs: bool,
) -> Result<(), BoxError> {
    runtime::run(
        routers::finish(router, &resources.base, serves_docs),
        &resources.base,
    )
    .await
}

/// `users`: the users routes.
pub async fn run_users(command: String, resources: Arc<Resources>) -> Result<(), BoxError> {
    match command.as_str() {
        "serve" => serve_http(routers::users(users(&resources).await?), &resources, false).await,
        other => Err(no_such_command(Function::Users, other)),
    }
}

/// `products`: the products routes (and the API's documentation), `relay` and `migrate`.
pub async fn run_products(command: String, resources: Arc<Resources>) -> Result<(), BoxError> {
    match command.as_str() {
        "migrate" => jobs::migrate(&resources).await,
        "relay" => Box::pin(jobs::relay(&resources)).await,
        "serve" => {
            let router = routers::products(products(&resources).await?);
            if !runtime::is_lambda() {
                projector(&resources).await?.spawn(Duration::from_secs(1));
            }
            serve_http(router, &resources, true).await
        }
        other => Err(no_such_command(Function::Products, other)),
    }
}

/// `cart`: the cart routes.
pub async fn run_cart(command: String, resources: Arc<Resources>) -> Result<(), BoxError> {
    match command.as_str() {
        "serve" => serve_http(routers::cart(cart(&resources).await?), &resources, false).await,
        other => Err(no_such_command(Function::Cart, other)),
    }
}

/// `orders`: the orders routes, and `worker`.
pub async fn run_orders(command: String, resources: Arc<Resources>) -> Result<(), BoxError> {
    match command.as_str() {
        "worker" => Box::pin(serve_checkout_worker(&resources)).await,
        "serve" => {
            serve_http(
                routers::orders(orders(&resources).await?),
                &resources,
                false,
            )
            .await
        }
        other => Err(no_such_command(Function::Orders, other)),
    }
}

/// `image_processor`: the image queue's consumer.
pub async fn run_image_processor(
    command: String,
    resources: Arc<Resources>,
) -> Result<(), BoxError> {
    match command.as_str() {
        "serve" => serve_image_processor(&resources).await,
        other => Err(no_such_command(Function::ImageProcessor, other)),
    }
}

/// `local`: everything on one port, `migrate`, `relay` and `openapi`.
pub async fn run_local(command: String, resources: Arc<Resources>) -> Result<(), BoxError> {
    match command.as_str() {
        "migrate" => jobs::migrate(&resources).await,
        "openapi" => {
            // The document, for validators and client generators (no backing service needed).
            let text = serde_json::to_string_pretty(&routers::openapi())?;
            std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())?;
            Ok(())
        }
        "relay" => Box::pin(jobs::relay(&resources)).await,
        "serve" => serve_local(&resources).await,
        other => Err(no_such_command(Function::Local, other)),
    }
}

/// The router of one HTTP function, with its state.
pub async fn service_router(
    function: Function,
    resources: &Resources,
) -> Result<OpenApiRouter, BoxError> {
    Ok(match function {
        Function::Users => routers::users(users(resources).await?),
        Function::Products => routers::products(products(resources).await?),
        Function::Cart => routers::cart(cart(resources).await?),
        Function::Orders => routers::orders(orders(resources).await?),
        Function::ImageProcessor | Function::Local => {
            return Err(format!("{function:?} serves no HTTP routes of its own").into());
        }
    })
}

/// The health check of a service: Postgres, its own DynamoDB table, and the cache (reported,
/// never required).
async fn health(resources: &Resources, table: &str) -> Result<Arc<HealthService>, BoxError> {
    let cache = resources.cache().await?;
    let cache = cache
        .is_enabled()
        .then(|| Arc::new(CacheProbe(cache)) as Arc<dyn Probe>);
    Ok(Arc::new(HealthService::new(
        Arc::new(PostgresProbe(resources.pool().await?)),
        Arc::new(DynamoProbe {
            client: resources.dynamodb(),
            table: resources.table(table),
            breaker: resources.dynamodb_breaker(),
        }),
        cache,
    )))
}

fn idempotency(resources: &Resources) -> Arc<IdempotencyService> {
    Arc::new(IdempotencyService::new(Arc::new(
        DynamoIdempotencyStore::new(resources.dynamodb(), resources.table("Idempotency")),
    )))
}

async fn shared<S>(
    resources: &Resources,
    health: Arc<HealthService>,
    idempotency: Option<Arc<IdempotencyService>>,
    service: S,
) -> Result<ServiceState<S>, BoxError> {
    Ok(ServiceState::new(Shared {
        auth: resources.authenticator().await?,
        health,
        idempotency,
        body_limit: resources.base.body_limit_bytes,
        service,
    }))
}

/// The outbox relay of the catalogue projection (one per process).
pub async fn projector(resources: &Resources) -> Result<Arc<ProductRelay>, BoxError> {
    let pool = resources.pool().await?;
    Ok(Arc::new(OutboxRelay::new(
        PgOutbox::new(pool.clone()),
        CatalogProjection::new(
            Arc::new(PgProductStore::new(pool)),
            resources.catalog(),
            resources.cache().await?,
        ),
    )))
}

fn image_meta(resources: &Resources) -> Arc<DynamoImageMeta> {
    Arc::new(DynamoImageMeta::new(
        resources.dynamodb(),
        resources.table("ProductImagesMeta"),
    ))
}

/// Presigned uploads of images (and the public side of processed ones).
pub async fn uploads(resources: &Resources) -> Result<Arc<UploadService>, BoxError> {
    let config = ImagesConfig::from_env(&resources.env)?;
    let pool = resources.pool().await?;
    Ok(Arc::new(UploadService::new(
        Arc::new(PgImageStore::new(pool.clone())),
        image_meta(resources),
        resources.objects(&config.bucket),
        Arc::new(PgProductStore::new(pool)),
    )))
}

/// The processing of uploaded images into thumbnails.
pub async fn image_processor(resources: &Resources) -> Result<Arc<ImageProcessor>, BoxError> {
    let config = ImagesConfig::from_env(&resources.env)?;
    let pool = resources.pool().await?;
    Ok(Arc::new(ImageProcessor::new(
        resources.database().await?,
        PgOutbox::new(pool.clone()),
        Arc::new(PgImageStore::new(pool)),
        image_meta(resources),
        resources.objects(&config.bucket),
        projector(resources).await?,
        config.public_base_url,
    )))
}

pub async fn users(resources: &Resources) -> Result<ServiceState<Users>, BoxError> {
    let service = Users {
        users: user_service(resources).await?,
        uploads: uploads(resources).await?,
    };
    let health = health(resources, "ProductImagesMeta").await?;
    shared(resources, health, None, service).await
}

pub async fn products(resources: &Resources) -> Result<ServiceState<Products>, BoxError> {
    let pool = resources.pool().await?;
    let cache_config = resources.cache_config()?;
    let service = Products {
        products: Arc::new(ProductService {
            reader: catalog_reader(resources).await?,
            db: resources.database().await?,
            outbox: PgOutbox::new(pool.clone()),
            store: Arc::new(PgProductStore::new(pool)),
            inventory: Arc::new(PgInventory),
            catalog: resources.catalog(),
            images: image_meta(resources),
            cache: resources.cache().await?,
            cache_ttl: cache_config.ttl,
            projector: projector(resources).await?,
        }),
        uploads: uploads(resources).await?,
    };
    let health = health(resources, "ProductCatalog").await?;
    shared(resources, health, Some(idempotency(resources)), service).await
}

pub async fn cart(resources: &Resources) -> Result<ServiceState<Cart>, BoxError> {
    let service = Cart {
        cart: cart_service(resources).await?,
    };
    let health = health(resources, "UserCart").await?;
    shared(resources, health, None, service).await
}

/// The catalogue's read path (cache → projection → Postgres).
pub async fn catalog_reader(resources: &Resources) -> Result<Arc<CatalogReader>, BoxError> {
    Ok(Arc::new(CatalogReader::new(
        Arc::new(PgProductStore::new(resources.pool().await?)),
        resources.catalog(),
        resources.cache().await?,
        resources.cache_config()?.ttl,
    )))
}

/// Accounts: the caller's `users` row, made on first use from Cognito's record.
pub async fn user_service(resources: &Resources) -> Result<Arc<UserService>, BoxError> {
    let cognito = CognitoConfig::from_env(&resources.env)?;
    Ok(Arc::new(UserService::new(
        Arc::new(CognitoIdentity::new(
            resources.cognito(),
            cognito.user_pool_id.clone(),
            cognito.client_id.clone(),
        )),
        Arc::new(PgUserStore::new(resources.pool().await?)),
        cognito.auto_confirm,
    )))
}

/// The cart's use cases (also used by checkout).
pub async fn cart_service(resources: &Resources) -> Result<Arc<CartService>, BoxError> {
    Ok(Arc::new(CartService::new(
        Arc::new(DynamoCartStore::new(
            resources.dynamodb(),
            resources.table("UserCart"),
        )),
        catalog_reader(resources).await?,
        user_service(resources).await?,
    )))
}

fn order_events(resources: &Resources) -> Arc<DynamoOrderEvents> {
    Arc::new(DynamoOrderEvents::new(
        resources.dynamodb(),
        resources.table("OrderEvents"),
    ))
}

/// The Step Functions client of the checkout workflow (or a test's replacement).
pub fn workflow(resources: &Resources) -> Result<Arc<dyn Workflow>, BoxError> {
    if let Some(workflow) = resources.workflow_override() {
        return Ok(workflow);
    }
    let checkout = CheckoutConfig::from_env(&resources.env)?;
    Ok(Arc::new(StepFunctions::new(
        resources.sfn(),
        checkout.state_machine_arn,
    )))
}

/// The outbox relay of orders (history and workflow starts).
pub async fn order_relay(resources: &Resources) -> Result<Arc<OrderRelay>, BoxError> {
    Ok(Arc::new(OutboxRelay::new(
        PgOutbox::new(resources.pool().await?),
        OrderPublication::new(order_events(resources), workflow(resources)?),
    )))
}

/// The order's ledger: its records, stock moves and payment calls (one per process).
pub(crate) async fn order_ledger(resources: &Resources) -> Result<Arc<OrderLedger>, BoxError> {
    let pool = resources.pool().await?;
    Ok(Arc::new(OrderLedger::new(
        resources.database().await?,
        PgOutbox::new(pool.clone()),
        Arc::new(PgOrderStore::new(pool)),
        Arc::new(PgInventory),
        order_relay(resources).await?,
        resources.payments().await?,
    )))
}

pub async fn orders(resources: &Resources) -> Result<ServiceState<Orders>, BoxError> {
    let pool = resources.pool().await?;
    let service = Orders {
        orders: Arc::new(OrderService::new(
            order_ledger(resources).await?,
            Arc::new(PgOrderStore::new(pool)),
            order_events(resources),
            cart_service(resources).await?,
            user_service(resources).await?,
        )),
    };
    let health = health(resources, "OrderEvents").await?;
    shared(resources, health, Some(idempotency(resources)), service).await
}

/// The checkout workflow's worker (the saga's steps, from the task queue).
pub async fn checkout_worker(resources: &Resources) -> Result<Arc<CheckoutWorker>, BoxError> {
    Ok(Arc::new(CheckoutWorker::new(
        order_ledger(resources).await?,
        cart_service(resources).await?,
        workflow(resources)?,
    )))
}

/// The fulfillment queue's consumer (`order.confirmed`).
pub async fn fulfillment(resources: &Resources) -> Result<Arc<Fulfillment>, BoxError> {
    Ok(Arc::new(Fulfillment::new(
        Arc::new(PgOrderStore::new(resources.pool().await?)),
        order_events(resources),
    )))
}

/// The `orders worker` function's queues: the task queue's records go to the saga's steps,
/// every other queue's (the fulfillment queue) to fulfillment.
async fn worker_routes(resources: &Resources) -> Result<runtime::queue::Routes, BoxError> {
    let checkout = CheckoutConfig::from_env(&resources.env)?;
    let task_queue = runtime::queue::queue_name(&checkout.task_queue_url);
    Ok(
        runtime::queue::Routes::one(runtime::queue::consumer(fulfillment(resources).await?)).with(
            Some(task_queue),
            runtime::queue::consumer(checkout_worker(resources).await?),
        ),
    )
}

/// Long-polls the checkout task queue and the fulfillment queue.
pub async fn spawn_checkout_pollers(
    resources: &Resources,
    retry_after: Duration,
) -> Result<Vec<tokio::task::JoinHandle<()>>, BoxError> {
    let checkout = CheckoutConfig::from_env(&resources.env)?;
    let mut tasks = vec![runtime::queue::spawn_poller(
        resources.sqs(),
        checkout.task_queue_url,
        runtime::queue::consumer(checkout_worker(resources).await?),
        retry_after,
    )];
    match checkout.fulfillment_queue_url {
        Some(queue) => tasks.push(runtime::queue::spawn_poller(
            resources.sqs(),
            queue,
            runtime::queue::consumer(fulfillment(resources).await?),
            retry_after,
        )),
        None => tracing::warn!("FULFILLMENT_QUEUE_URL is not set: order.confirmed is not consumed"),
    }
    Ok(tasks)
}

/// `orders worker`: the task and fulfillment queues' consumer under Lambda, or their
/// long-poll loops.
async fn serve_checkout_worker(resources: &Resources) -> Result<(), BoxError> {
    if runtime::is_lambda() {
        return runtime::queue::run_lambda(worker_routes(resources).await?).await;
    }
    let pollers = spawn_checkout_pollers(resources, Duration::from_secs(5)).await?;
    runtime::shutdown_signal().await;
    for poller in pollers {
        poller.abort();
    }
    Ok(())
}

/// The image processor: the image queue's consumer under Lambda, or its long-poll loop.
async fn serve_image_processor(resources: &Resources) -> Result<(), BoxError> {
    let images = runtime::queue::consumer(image_processor(resources).await?);
    if runtime::is_lambda() {
        return runtime::queue::run_lambda(runtime::queue::Routes::one(images)).await;
    }
    let queue_url = ImagesConfig::from_env(&resources.env)?
        .queue_url
        .ok_or("IMAGE_QUEUE_URL is required outside Lambda")?;
    let poller =
        runtime::queue::spawn_poller(resources.sqs(), queue_url, images, IMAGE_RETRY_AFTER);
    runtime::shutdown_signal().await;
    poller.abort();
    Ok(())
}

/// Every service on one port, as API Gateway routes them, plus `/v1/openapi.json`.
pub async fn local_router(resources: &Resources) -> Result<crate::http::App, BoxError> {
    let mut router = OpenApiRouter::new();
    for function in [
        Function::Users,
        Function::Products,
        Function::Cart,
        Function::Orders,
    ] {
        router = router.merge(service_router(function, resources).await?);
    }
    let cdn = routers::cdn::router(uploads(resources).await?);
    Ok(routers::finish_local(router, cdn, &resources.base))
}

/// The first wait of a failed image message before its next receive (then 20 s, 40 s):
/// processing needs PostgreSQL and S3, and three quick receives would spend a message on an
/// outage of a few seconds. (Under Lambda the queue's visibility timeout decides.)
const IMAGE_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Background work of a long-lived local process: the outbox relay and the queue pollers.
pub struct Background {
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts the relay and, when their queues are configured, the queue pollers.
pub async fn spawn_background(
    resources: &Resources,
    retry_after: Duration,
) -> Result<Background, BoxError> {
    let mut tasks = vec![projector(resources).await?.spawn(Duration::from_secs(1))];
    match CheckoutConfig::from_env(&resources.env) {
        Ok(_) => {
            tasks.push(order_relay(resources).await?.spawn(Duration::from_secs(1)));
            tasks.extend(spawn_checkout_pollers(resources, retry_after).await?);
            tasks.push(jobs::spawn_reconciler(resources, Duration::from_secs(60)).await?);
        }
        Err(err) => tracing::warn!(error = %err, "checkout is not configured: orders stay PENDING"),
    }
    match ImagesConfig::from_env(&resources.env)?.queue_url {
        Some(queue) => tasks.push(runtime::queue::spawn_poller(
            resources.sqs(),
            queue,
            runtime::queue::consumer(image_processor(resources).await?),
            retry_after.max(IMAGE_RETRY_AFTER),
        )),
        None => tracing::warn!("IMAGE_QUEUE_URL is not set: uploaded images are not processed"),
    }
    Ok(Background { tasks })
}

async fn serve_local(resources: &Resources) -> Result<(), BoxError> {
    if resources.base.is_local() {
        crate::MIGRATOR.run(&resources.pool().await?).await?;
    }
    let router = local_router(resources).await?;
    let _background = spawn_background(resources, Duration::from_secs(5)).await?;
    runtime::run(router, &resources.base).await
}

#[cfg(test)]
mod tests {
    use super::command;

    #[test]
    fn the_command_comes_from_the_argument_else_from_the_lambda_images_handler() {
        let some = |s: &str| Some(s.to_owned());
        // As the base image's entrypoint starts it: `image_config.command` → `_HANDLER`.
        assert_eq!(command(None, some("worker")), "worker");
        assert_eq!(command(None, some("migrate")), "migrate");
        // The Dockerfile's default `CMD ["bootstrap"]`, or nothing: the HTTP server.
        assert_eq!(command(None, some("bootstrap")), "serve");
        assert_eq!(command(None, None), "serve");
        assert_eq!(command(None, some("")), "serve");
        // A local run names its command as an argument.
        assert_eq!(command(some("relay"), some("bootstrap")), "relay");
    }
}
