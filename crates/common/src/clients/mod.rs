//! Construction of connection pools and AWS SDK clients from their config sections. Nothing here knows a
//! table, a query or a business rule.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::{
    config::{BaseConfig, CacheConfig, DatabaseConfig, DatabaseSource},
    error::{BoxError, Error},
};

pub mod breaker;
pub mod credentials;

/// An AWS SDK client built on its first call rather than where the code that calls it is
/// wired. Building one (its config layers, runtime plugins and endpoint resolver) took a few
/// hundred microseconds of every cold start per client, and most events use few of the clients
/// their function holds: a cached product read uses none, a cart read only DynamoDB's
/// (docs/benchmarks/lambda.md). Dereferences to the client; clones share it.
pub struct Deferred<C>(std::sync::Arc<std::sync::LazyLock<C, Box<dyn FnOnce() -> C + Send>>>);

impl<C> Deferred<C> {
    pub fn new(make: impl FnOnce() -> C + Send + 'static) -> Self {
        Self(std::sync::Arc::new(std::sync::LazyLock::new(Box::new(
            make,
        ))))
    }
}

impl<C> Clone for Deferred<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C> std::ops::Deref for Deferred<C> {
    type Target = C;

    fn deref(&self) -> &C {
        std::sync::LazyLock::force(&self.0)
    }
}

/// A client built already (tests; code that has one at hand).
impl<C: Send + 'static> From<C> for Deferred<C> {
    fn from(client: C) -> Self {
        Self::new(move || client)
    }
}

/// The AWS SDK's settings for calls on a request's path: a 500 ms connect timeout, and
/// `AWS_TIMEOUT_MS` (800 ms by default: under the 1 s budget of the reads that fall back to
/// PostgreSQL, so the circuit breaker sees the timeout) for the whole call, its retry included, so a hung
/// endpoint costs a request at most that. Background clients widen it ([`background`]).
///
/// Built for a cold start (issue 22, docs/benchmarks/lambda.md): nothing here reads a file,
/// loads a trust store or builds a client before the first AWS call.
/// - Credentials: Lambda (and the local stack) put them in the environment, so when
///   `AWS_ACCESS_KEY_ID` is set they are taken from there as they are. The default chain would build
///   its web-identity provider's STS client at load — and with it the TLS connector and the
///   platform's trust store (about 9 ms of this machine's 16 ms init) — and probe the profile
///   files, none of which a function ever uses.
/// - HTTP: [`DeferredHttpClient`] builds the SDK's connector on the first call instead of when
///   each service client is constructed (which the SDK's default client does to validate the
///   config), and without TLS when the endpoint is a plain-HTTP emulator.
pub async fn sdk_config(config: &BaseConfig) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(config.aws_region.clone()))
        .http_client(DeferredHttpClient::new(
            config
                .aws_endpoint_url
                .as_deref()
                .is_none_or(|url| !url.starts_with("http://")),
        ))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_timeout(config.aws_timeout)
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2));
    if let Some(credentials) = &config.aws_credentials {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.expose().clone(),
            credentials
                .session_token
                .as_ref()
                .map(|t| t.expose().clone()),
            None,
            "environment",
        ));
    }
    if let Some(endpoint) = &config.aws_endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// The SDK's HTTP client (hyper 1 with rustls on aws-lc-rs, as the SDK's default one), built on
/// its first connection rather than at start. A client that speaks only to a plain-HTTP
/// endpoint (the local emulator) has no TLS connector at all.
#[derive(Debug, Clone)]
pub struct DeferredHttpClient {
    tls: bool,
    client:
        std::sync::Arc<std::sync::OnceLock<aws_smithy_runtime_api::client::http::SharedHttpClient>>,
}

impl DeferredHttpClient {
    pub fn new(tls: bool) -> Self {
        Self {
            tls,
            client: std::sync::Arc::default(),
        }
    }

    fn client(&self) -> &aws_smithy_runtime_api::client::http::SharedHttpClient {
        self.client.get_or_init(|| {
            let builder = aws_smithy_http_client::Builder::new();
            if self.tls {
                builder
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
                    ))
                    .build_https()
            } else {
                builder.build_http()
            }
        })
    }
}

impl aws_smithy_runtime_api::client::http::HttpClient for DeferredHttpClient {
    fn http_connector(
        &self,
        settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        self.client().http_connector(settings, components)
    }
    // `validate_base_client_config` keeps its default (nothing to check): the SDK's own client
    // builds a connector there, at every service client's construction.
}

/// Timeouts of clients off the request path: queue long polls (up to 20 s of waiting), image
/// transfers (up to 10 MB) and saga callbacks: attempts of at most 25 s, 60 s in all. (Every
/// field is set: a client's timeouts are merged over the shared config's.)
pub fn background() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(25))
        .operation_timeout(Duration::from_secs(60))
        .build()
}

/// The S3 client: path-style against the emulator, virtual-hosted in AWS. Its calls move
/// image bytes (presigning makes no call), so it has the background timeouts.
pub fn s3(sdk: &SdkConfig, config: &BaseConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(config.aws_endpoint_url.is_some())
        .timeout_config(background())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// The SQS client: long polls and task messages, with the background timeouts.
pub fn sqs(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    let sqs = aws_sdk_sqs::config::Builder::from(sdk)
        .timeout_config(background())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
        .build();
    aws_sdk_sqs::Client::from_conf(sqs)
}

/// The DynamoDB client, behind a circuit breaker (see [`breaker`]); `DYNAMODB_ENDPOINT_URL`
/// points it elsewhere than the other services.
pub fn dynamodb(
    sdk: &SdkConfig,
    config: &BaseConfig,
    breaker: &std::sync::Arc<breaker::Breaker>,
) -> aws_sdk_dynamodb::Client {
    let mut dynamodb =
        aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(breaker.interceptor());
    if let Some(endpoint) = &config.dynamodb_endpoint_url {
        dynamodb = dynamodb.endpoint_url(endpoint);
    }
    aws_sdk_dynamodb::Client::from_conf(dynamodb.build())
}

/// A Postgres pool, and where its credentials come from when they rotate (a secret: see
/// [`credentials`]). Connections are made lazily, so a cold start does not wait for the
/// database and a database outage shows as 503 on the requests that need it.
pub async fn postgres(
    config: &DatabaseConfig,
    secrets: &Deferred<aws_sdk_secretsmanager::Client>,
) -> Result<(PgPool, Option<std::sync::Arc<credentials::PgCredentials>>), Error> {
    let (options, credentials) = match &config.source {
        DatabaseSource::Url(url) => (
            url.expose()
                .parse::<PgConnectOptions>()
                .map_err(|e| Error::internal(format!("DATABASE_URL is not a valid URL: {e}")))?,
            None,
        ),
        DatabaseSource::SecretId(id) => {
            let credentials = credentials::PgCredentials::new(
                secrets.clone(),
                id.clone(),
                config.ssl_mode,
                config.secret_ttl,
            );
            (
                credentials.read().await?,
                Some(std::sync::Arc::new(credentials)),
            )
        }
    };
    let pool = pg_pool_options(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect_lazy_with(options);
    Ok((pool, credentials))
}

pub fn pg_pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(1))
        .idle_timeout(Duration::from_secs(300))
}

/// A Redis connection manager that connects lazily and fails fast, so a Redis outage costs a
/// request a few milliseconds, never an error. `rediss://` URLs use TLS (ElastiCache in-transit
/// encryption); the AUTH token comes from `REDIS_AUTH_SECRET_ID` when set.
pub async fn redis(
    config: &CacheConfig,
    secrets: &Deferred<aws_sdk_secretsmanager::Client>,
) -> Result<Option<redis::aio::ConnectionManager>, BoxError> {
    use redis::IntoConnectionInfo;
    let Some(url) = &config.redis_url else {
        return Ok(None);
    };
    let mut info = url.expose().as_str().into_connection_info()?;
    if let Some(secret_id) = &config.redis_auth_secret_id {
        let secret = secrets
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| {
                BoxError::from(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
            })?;
        let raw = secret.secret_string().unwrap_or_default();
        let token = serde_json::from_str::<serde_json::Value>(raw)
            .ok()
            .and_then(|v| {
                v.get("auth_token")
                    .and_then(|t| t.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| raw.to_owned());
        let settings = info.redis_settings().clone().set_password(token);
        info = info.set_redis_settings(settings);
    }
    let client = redis::Client::open(info)?;
    let manager_config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(250)))
        .set_response_timeout(Some(Duration::from_millis(100)))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(100));
    Ok(Some(redis::aio::ConnectionManager::new_lazy_with_config(
        client,
        manager_config,
    )?))
}
