//! The process's backing resources, built on first use and then shared: a Lambda function
//! builds only the clients its routes use; the all-in-one server builds each once for every
//! service. Tests may replace an adapter before the services are built (fault injection).

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use sqlx::PgPool;
use tokio::sync::OnceCell;

use crate::{
    auth::{Authenticator, JwksPolicy},
    clients::{self, Deferred, breaker::Breaker, credentials::PgCredentials},
    config::{BaseConfig, CacheConfig, CognitoConfig, ConfigError, DatabaseConfig, Env},
    error::{BoxError, Error},
    repositories::{
        cache::Cache,
        catalog_dynamo::{CatalogProjection, DynamoCatalog},
        database::Database,
        objects_s3::{ObjectStore, S3Objects},
        payments::{PaymentProvider, SimulatedPayments},
        workflow_sfn::Workflow,
    },
};

/// Adapters a test may swap before services are built.
#[derive(Default)]
struct Overrides {
    catalog: Option<Arc<dyn CatalogProjection>>,
    objects: Option<Arc<dyn ObjectStore>>,
    payments: Option<Arc<dyn PaymentProvider>>,
    workflow: Option<Arc<dyn Workflow>>,
}

pub struct Resources {
    pub env: Env,
    pub base: BaseConfig,
    sdk: SdkConfig,
    jwks_policy: Mutex<JwksPolicy>,
    pool: OnceCell<(PgPool, Option<Arc<PgCredentials>>)>,
    cache: OnceCell<Cache>,
    auth: OnceCell<Arc<Authenticator>>,
    dynamodb: Deferred<aws_sdk_dynamodb::Client>,
    dynamodb_breaker: Arc<Breaker>,
    s3: Deferred<aws_sdk_s3::Client>,
    sqs: Deferred<aws_sdk_sqs::Client>,
    sfn: Deferred<aws_sdk_sfn::Client>,
    secrets: Deferred<aws_sdk_secretsmanager::Client>,
    cognito: Deferred<aws_sdk_cognitoidentityprovider::Client>,
    overrides: Mutex<Overrides>,
}

impl Resources {
    /// Reads the base section and the AWS SDK's settings; builds nothing else yet.
    pub async fn new(env: Env) -> Result<Arc<Self>, ConfigError> {
        let base = BaseConfig::from_env(&env)?;
        let sdk = clients::sdk_config(&base).await;
        let dynamodb_breaker = Breaker::new("dynamodb");
        // Each client is built on its first call ([`Deferred`]).
        let dynamodb = {
            let (sdk, base, breaker) = (sdk.clone(), base.clone(), dynamodb_breaker.clone());
            Deferred::new(move || clients::dynamodb(&sdk, &base, &breaker))
        };
        let s3 = {
            let (sdk, base) = (sdk.clone(), base.clone());
            Deferred::new(move || clients::s3(&sdk, &base))
        };
        let sqs = {
            let sdk = sdk.clone();
            Deferred::new(move || clients::sqs(&sdk))
        };
        let sfn = {
            let sdk = sdk.clone();
            // Saga callbacks and heartbeats (a start on a request's path has its own budget).
            Deferred::new(move || {
                aws_sdk_sfn::Client::from_conf(
                    aws_sdk_sfn::config::Builder::from(&sdk)
                        .timeout_config(clients::background())
                        .build(),
                )
            })
        };
        let secrets = {
            let sdk = sdk.clone();
            Deferred::new(move || aws_sdk_secretsmanager::Client::new(&sdk))
        };
        let cognito = {
            let sdk = sdk.clone();
            Deferred::new(move || aws_sdk_cognitoidentityprovider::Client::new(&sdk))
        };
        Ok(Arc::new(Self {
            env,
            base,
            sdk,
            jwks_policy: Mutex::new(JwksPolicy::default()),
            pool: OnceCell::new(),
            cache: OnceCell::new(),
            auth: OnceCell::new(),
            dynamodb,
            dynamodb_breaker,
            s3,
            sqs,
            sfn,
            secrets,
            cognito,
            overrides: Mutex::new(Overrides::default()),
        }))
    }

    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    pub fn table(&self, logical: &str) -> String {
        self.base.table(logical)
    }

    /// The Postgres pool (connections are made lazily: a cold start does not wait for them).
    pub async fn pool(&self) -> Result<PgPool, BoxError> {
        let pool = self
            .pool
            .get_or_try_init(|| async {
                let config = DatabaseConfig::from_env(&self.env)?;
                clients::postgres(&config, &self.secrets())
                    .await
                    .map_err(BoxError::from)
            })
            .await?;
        Ok(pool.0.clone())
    }

    /// Closes the database connections this process opened (Lambda's shutdown phase: the
    /// server sees a clean goodbye rather than a dropped socket).
    pub async fn close(&self) {
        if let Some((pool, _)) = self.pool.get() {
            // Within Lambda's 500 ms: a connection still in use is not waited for long.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(200), pool.close()).await;
        }
    }

    pub async fn database(&self) -> Result<Database, BoxError> {
        let pool = self.pool().await?;
        let credentials = self.pool.get().and_then(|(_, c)| c.clone());
        Ok(Database::new(pool).with_credentials(credentials))
    }

    /// The cache (disabled without `REDIS_URL`).
    pub async fn cache(&self) -> Result<Cache, BoxError> {
        let cache = self
            .cache
            .get_or_try_init(|| async {
                let config = CacheConfig::from_env(&self.env)?;
                let conn = clients::redis(&config, &self.secrets())
                    .await
                    .map_err(|e| Error::unavailable("secrets manager", e))?;
                let cache = Cache::new(conn, config.key_prefix.clone(), config.local_ttl);
                if config.redis_auth_secret_id.is_none() {
                    return Ok::<_, BoxError>(cache);
                }
                // A token from a secret rotates: when Redis refuses it, read it again.
                let secrets = self.secrets();
                let reconnect: crate::repositories::cache::Reconnect = Arc::new(move || {
                    let (config, secrets) = (config.clone(), secrets.clone());
                    Box::pin(async move {
                        clients::redis(&config, &secrets)
                            .await?
                            .ok_or_else(|| BoxError::from("REDIS_URL is not set"))
                    })
                });
                Ok(cache.with_reconnect(reconnect))
            })
            .await?;
        Ok(cache.clone())
    }

    pub fn cache_config(&self) -> Result<CacheConfig, ConfigError> {
        CacheConfig::from_env(&self.env)
    }

    /// The bearer-token authenticator (one JWKS cache per process).
    pub async fn authenticator(&self) -> Result<Arc<Authenticator>, ConfigError> {
        let auth = self
            .auth
            .get_or_try_init(|| async {
                let cognito = CognitoConfig::from_env(&self.env)?;
                let policy = *self.jwks_policy.lock().expect("jwks policy");
                Ok::<_, ConfigError>(Arc::new(Authenticator::new(
                    self.base.auth_mode,
                    &cognito,
                    policy,
                )))
            })
            .await?;
        Ok(auth.clone())
    }

    /// Tests: how the JWKS is cached and refetched (before the first authenticator is built).
    pub fn set_jwks_policy(&self, policy: JwksPolicy) {
        *self.jwks_policy.lock().expect("jwks policy") = policy;
    }

    pub fn dynamodb(&self) -> Deferred<aws_sdk_dynamodb::Client> {
        self.dynamodb.clone()
    }

    /// The DynamoDB client's circuit breaker (the health routes report it).
    pub fn dynamodb_breaker(&self) -> Arc<Breaker> {
        self.dynamodb_breaker.clone()
    }

    pub fn s3(&self) -> Deferred<aws_sdk_s3::Client> {
        self.s3.clone()
    }

    /// The SQS client (the local queue pollers: built when they start).
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        (*self.sqs).clone()
    }

    pub fn sfn(&self) -> Deferred<aws_sdk_sfn::Client> {
        self.sfn.clone()
    }

    pub fn secrets(&self) -> Deferred<aws_sdk_secretsmanager::Client> {
        self.secrets.clone()
    }

    pub fn cognito(&self) -> Deferred<aws_sdk_cognitoidentityprovider::Client> {
        self.cognito.clone()
    }

    /// The `ProductCatalog` projection (or a test's replacement).
    pub fn catalog(&self) -> Arc<dyn CatalogProjection> {
        let mut overrides = self.overrides.lock().expect("overrides");
        overrides
            .catalog
            .get_or_insert_with(|| {
                Arc::new(DynamoCatalog::new(
                    self.dynamodb(),
                    self.table("ProductCatalog"),
                ))
            })
            .clone()
    }

    pub fn set_catalog(&self, catalog: Arc<dyn CatalogProjection>) {
        self.overrides.lock().expect("overrides").catalog = Some(catalog);
    }

    /// The image bucket (or a test's replacement).
    pub fn objects(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        let mut overrides = self.overrides.lock().expect("overrides");
        overrides
            .objects
            .get_or_insert_with(|| Arc::new(S3Objects::new(self.s3(), bucket.to_owned())))
            .clone()
    }

    pub fn set_objects(&self, objects: Arc<dyn ObjectStore>) {
        self.overrides.lock().expect("overrides").objects = Some(objects);
    }
}

impl Resources {
    /// The payment provider (the simulated one, with its ledger in this database, or a
    /// test's replacement).
    pub async fn payments(&self) -> Result<Arc<dyn PaymentProvider>, BoxError> {
        if let Some(payments) = &self.overrides.lock().expect("overrides").payments {
            return Ok(payments.clone());
        }
        let simulated: Arc<dyn PaymentProvider> =
            Arc::new(SimulatedPayments::new(self.pool().await?));
        Ok(self
            .overrides
            .lock()
            .expect("overrides")
            .payments
            .get_or_insert(simulated)
            .clone())
    }

    pub fn set_payments(&self, payments: Arc<dyn PaymentProvider>) {
        self.overrides.lock().expect("overrides").payments = Some(payments);
    }

    /// A test's replacement of the Step Functions client (fault injection).
    pub fn workflow_override(&self) -> Option<Arc<dyn Workflow>> {
        self.overrides.lock().expect("overrides").workflow.clone()
    }

    pub fn set_workflow(&self, workflow: Arc<dyn Workflow>) {
        self.overrides.lock().expect("overrides").workflow = Some(workflow);
    }
}
