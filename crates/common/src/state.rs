//! Wiring: the dependencies a process needs (built once from [`Config`]) and the state every
//! router shares. Tests build the same [`Deps`] and may swap an adapter (fault injection).

use std::{sync::Arc, time::Duration};

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::{
    auth::{Authenticator, JwksPolicy},
    clients::{self, AwsClients},
    config::Config,
    error::Error,
    http::idempotency::Idempotency,
    repositories::{
        cache::Cache,
        catalog_dynamo::{CatalogProjection, DynamoCatalog},
        idempotency_dynamo::{DynamoIdempotencyStore, IdempotencyStore},
        identity_cognito::{CognitoIdentity, IdentityProvider},
        images_dynamo::{DynamoImageMeta, ImageMetaReader, ImageMetaWriter},
        images_pg::{ImageStore, PgImageStore},
        objects_s3::{ObjectStore, S3Objects},
        outbox::PgOutbox,
        probes::{CacheProbe, DynamoProbe, PostgresProbe, Probe},
        products_pg::{PgProductStore, ProductStore},
        users_pg::{PgUserStore, UserStore},
    },
    services::{
        health::HealthService, images::ImageService, products::ProductService,
        projection::ProductProjector, users::UserService,
    },
};

/// The adapters behind every port. Build with [`Deps::from_config`], then replace any field.
pub struct Deps {
    pub config: Config,
    pub pool: PgPool,
    pub aws: AwsClients,
    pub cache: Cache,
    pub jwks_policy: JwksPolicy,
    pub product_store: Arc<dyn ProductStore>,
    pub catalog: Arc<dyn CatalogProjection>,
    pub images: Arc<dyn ImageMetaReader>,
    pub image_meta: Arc<dyn ImageMetaWriter>,
    pub image_store: Arc<dyn ImageStore>,
    pub objects: Arc<dyn ObjectStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub identity: Arc<dyn IdentityProvider>,
    pub users: Arc<dyn UserStore>,
}

impl Deps {
    pub async fn from_config(config: Config) -> Result<Self, Error> {
        let sdk = clients::sdk_config(&config).await;
        let aws = AwsClients::new(&sdk, &config);
        let pool = clients::postgres(&config, &aws).await?;
        let cache = Cache::new(
            clients::redis(&config, &aws)
                .await
                .map_err(|e| Error::unavailable("secrets manager", e))?,
            config.cache_key_prefix.clone(),
        );
        let image_meta = Arc::new(DynamoImageMeta::new(
            aws.dynamodb.clone(),
            config.table("ProductImagesMeta"),
        ));
        Ok(Self {
            product_store: Arc::new(PgProductStore::new(pool.clone())),
            catalog: Arc::new(DynamoCatalog::new(
                aws.dynamodb.clone(),
                config.table("ProductCatalog"),
            )),
            images: image_meta.clone(),
            image_meta,
            image_store: Arc::new(PgImageStore::new(pool.clone())),
            objects: Arc::new(S3Objects::new(aws.s3.clone(), config.images_bucket.clone())),
            idempotency: Arc::new(DynamoIdempotencyStore::new(
                aws.dynamodb.clone(),
                config.table("Idempotency"),
            )),
            identity: Arc::new(CognitoIdentity::new(
                aws.cognito.clone(),
                config.cognito.user_pool_id.clone(),
                config.cognito.client_id.clone(),
            )),
            users: Arc::new(PgUserStore::new(pool.clone())),
            jwks_policy: JwksPolicy::default(),
            cache,
            pool,
            aws,
            config,
        })
    }
}

/// What every router shares: one reference count to clone per request (axum clones the state
/// for every request; a struct of many `Arc`s would cost an atomic operation each).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    pub auth: Arc<Authenticator>,
    pub idempotency: Arc<Idempotency>,
    pub products: Arc<ProductService>,
    pub users: Arc<UserService>,
    pub images: Arc<ImageService>,
    pub health: Arc<HealthService>,
    /// For the local queue pollers.
    pub sqs: aws_sdk_sqs::Client,
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl AppState {
    pub fn new(deps: Deps) -> Self {
        let config = Arc::new(deps.config);
        let auth = Arc::new(Authenticator::new(
            config.auth_mode,
            &config.cognito,
            deps.jwks_policy,
        ));
        let projector = Arc::new(ProductProjector::new(
            PgOutbox::new(deps.pool.clone()),
            deps.product_store.clone(),
            deps.catalog.clone(),
            deps.cache.clone(),
        ));
        let images = Arc::new(ImageService::new(
            deps.image_store,
            deps.image_meta,
            deps.objects,
            deps.product_store.clone(),
            projector.clone(),
            config.images_public_base_url.clone(),
        ));
        Self(Arc::new(Shared {
            images,
            sqs: deps.aws.sqs.clone(),
            idempotency: Arc::new(Idempotency::new(
                deps.idempotency,
                auth.clone(),
                config.body_limit_bytes,
            )),
            products: Arc::new(ProductService::new(
                deps.product_store,
                deps.catalog,
                deps.images,
                deps.cache.clone(),
                config.cache_ttl,
                projector,
            )),
            users: Arc::new(UserService::new(
                deps.identity,
                deps.users,
                config.cognito.auto_confirm,
            )),
            health: Arc::new(HealthService::new(
                Arc::new(PostgresProbe(deps.pool)),
                Arc::new(DynamoProbe {
                    client: deps.aws.dynamodb.clone(),
                    table: config.table("ProductCatalog"),
                }),
                deps.cache
                    .is_enabled()
                    .then(|| Arc::new(CacheProbe(deps.cache.clone())) as Arc<dyn Probe>),
            )),
            auth,
            config,
        }))
    }

    /// Starts the background work of a long-lived process: the outbox relay.
    pub fn spawn_background(&self) {
        self.products
            .projector()
            .clone()
            .spawn(Duration::from_secs(1));
    }
}
