//! Typed configuration, in sections. Each service reads the sections it needs once, at start
//! (a missing or malformed variable fails the process there, naming it), and passes them down.
//!
//! Every variable is listed (with its default) in `.env.example` and docs/configuration.md. Nothing deep in
//! the library reads the environment: it receives the section it needs.

use std::{env, fmt, sync::Arc, time::Duration};

/// A value that must never be printed: `Debug` and `Display` show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The only way to read the value; grep for it to audit where secrets go.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A configuration variable that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn required(name: &'static str) -> Self {
        Self {
            name,
            problem: "required".into(),
        }
    }
}

/// Where variables come from: the process environment, or a map (tests). Blank values count
/// as unset.
#[derive(Clone)]
pub struct Env(Arc<Lookup>);

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env")
    }
}

impl Env {
    pub fn process() -> Self {
        Self::from_fn(|name| env::var(name).ok())
    }

    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(move |name| {
            lookup(name).filter(|v| !v.trim().is_empty())
        }))
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    fn or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::required(name))
    }

    fn number(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text.trim().parse::<u64>().map_err(|_| ConfigError {
                name,
                problem: "must be a non-negative integer".into(),
            }),
        }
    }

    fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.get(name).as_deref().map(str::trim) {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(_) => Err(ConfigError {
                name,
                problem: "must be true or false".into(),
            }),
        }
    }
}

/// How callers are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The service verifies the bearer token itself (local server, tests).
    VerifyToken,
    /// Behind API Gateway: its JWT authorizer verified the token; the claims are read from the
    /// request context, and a request without that context is refused.
    ApiGatewayClaims,
}

/// What every process needs: where it runs, how it listens, where AWS is.
#[derive(Debug, Clone)]
pub struct BaseConfig {
    pub app_env: String,
    pub host: String,
    pub port: u16,
    pub body_limit_bytes: usize,
    pub auth_mode: AuthMode,
    pub aws_region: String,
    pub aws_endpoint_url: Option<String>,
    pub table_prefix: String,
    /// DynamoDB's own endpoint, when it is not `aws_endpoint_url` (`DYNAMODB_ENDPOINT_URL`).
    pub dynamodb_endpoint_url: Option<String>,
    /// How long one AWS call on a request's path may take in all, retries included
    /// (`AWS_TIMEOUT_MS`).
    pub aws_timeout: Duration,
    /// How long a request may take before it is answered `503` whatever it waits on
    /// (`REQUEST_TIMEOUT_MS`).
    pub request_timeout: Duration,
    /// AWS credentials given in the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`, as Lambda sets them for the life of an execution environment): the
    /// SDK uses them as they are instead of searching its default chain.
    pub aws_credentials: Option<AwsCredentials>,
}

/// Static AWS credentials from the environment.
#[derive(Debug, Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Option<Secret<String>>,
}

impl BaseConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let auth_mode = match env.get("AUTH_MODE").as_deref() {
            Some("verify") => AuthMode::VerifyToken,
            Some("apigateway") => AuthMode::ApiGatewayClaims,
            Some(_) => {
                return Err(ConfigError {
                    name: "AUTH_MODE",
                    problem: "must be `verify` or `apigateway`".into(),
                });
            }
            None if env.get("AWS_LAMBDA_RUNTIME_API").is_some() => AuthMode::ApiGatewayClaims,
            None => AuthMode::VerifyToken,
        };
        let port = env.number("PORT", 8080)?;
        Ok(Self {
            app_env: env.or("APP_ENV", "local"),
            host: env.or("HOST", "127.0.0.1"),
            port: u16::try_from(port).map_err(|_| ConfigError {
                name: "PORT",
                problem: "must be at most 65535".into(),
            })?,
            body_limit_bytes: env.number("BODY_LIMIT_BYTES", 65536)? as usize,
            auth_mode,
            aws_region: env.or("AWS_REGION", "us-east-1"),
            aws_endpoint_url: env.get("AWS_ENDPOINT_URL"),
            table_prefix: env.or("DYNAMODB_TABLE_PREFIX", ""),
            dynamodb_endpoint_url: env.get("DYNAMODB_ENDPOINT_URL"),
            aws_timeout: Duration::from_millis(env.number("AWS_TIMEOUT_MS", 800)?.max(1)),
            request_timeout: Duration::from_millis(env.number("REQUEST_TIMEOUT_MS", 2000)?.max(1)),
            aws_credentials: match (
                env.get("AWS_ACCESS_KEY_ID"),
                env.get("AWS_SECRET_ACCESS_KEY"),
            ) {
                (Some(access_key_id), Some(secret)) => Some(AwsCredentials {
                    access_key_id,
                    secret_access_key: Secret::new(secret),
                    session_token: env.get("AWS_SESSION_TOKEN").map(Secret::new),
                }),
                _ => None,
            },
        })
    }

    /// The physical name of a DynamoDB table from its logical name (`ProductCatalog`).
    pub fn table(&self, logical: &str) -> String {
        format!("{}{logical}", self.table_prefix)
    }

    pub fn is_local(&self) -> bool {
        self.app_env == "local"
    }
}

/// Where the database credentials come from.
#[derive(Debug, Clone)]
pub enum DatabaseSource {
    /// A full connection URL (local runs, tests).
    Url(Secret<String>),
    /// A Secrets Manager secret `{username, password, host, port, dbname}` (RDS Proxy in AWS).
    SecretId(String),
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub source: DatabaseSource,
    pub max_connections: u32,
    /// How long a request waits for a pool connection (`DATABASE_ACQUIRE_TIMEOUT_MS`): when
    /// PostgreSQL hangs, the pool's connections stay busy and requests get 503 after it.
    pub acquire_timeout: Duration,
    /// TLS to the database named by the secret (`DATABASE_SSL_MODE`: `require` by default, as
    /// RDS Proxy requires; `disable` for the local stack's plain PostgreSQL).
    pub ssl_mode: sqlx::postgres::PgSslMode,
    /// How long the secret's credentials are used before they are read again
    /// (`DATABASE_SECRET_TTL_SECONDS`, 300); a rejected password is read again at once.
    pub secret_ttl: Duration,
}

impl DatabaseConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let source = match (env.get("DATABASE_URL"), env.get("DATABASE_SECRET_ID")) {
            (Some(url), _) => DatabaseSource::Url(Secret::new(url)),
            (None, Some(id)) => DatabaseSource::SecretId(id),
            (None, None) => {
                return Err(ConfigError {
                    name: "DATABASE_URL",
                    problem: "set DATABASE_URL or DATABASE_SECRET_ID".into(),
                });
            }
        };
        Ok(Self {
            source,
            max_connections: env.number("DATABASE_MAX_CONNECTIONS", 5)?.clamp(1, 1000) as u32,
            acquire_timeout: Duration::from_millis(
                env.number("DATABASE_ACQUIRE_TIMEOUT_MS", 1000)?.max(1),
            ),
            ssl_mode: match env.get("DATABASE_SSL_MODE") {
                None => sqlx::postgres::PgSslMode::Require,
                Some(mode) => mode.parse().map_err(|_| ConfigError {
                    name: "DATABASE_SSL_MODE",
                    problem: "must be disable, prefer, require, verify-ca or verify-full".into(),
                })?,
            },
            secret_ttl: Duration::from_secs(env.number("DATABASE_SECRET_TTL_SECONDS", 300)?.max(1)),
        })
    }
}

/// Redis. Optional: without `REDIS_URL` the services run uncached.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    pub redis_url: Option<Secret<String>>,
    /// A Secrets Manager secret holding Redis' AUTH token (`{"auth_token": …}` or the bare
    /// token), so the token never sits in the function's environment.
    pub redis_auth_secret_id: Option<String>,
    pub ttl: Duration,
    pub key_prefix: String,
    /// The in-process tier of rendered responses (`CACHE_LOCAL_TTL_MS`, 0: off).
    pub local_ttl: Duration,
}

impl CacheConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            redis_url: env.get("REDIS_URL").map(Secret::new),
            redis_auth_secret_id: env.get("REDIS_AUTH_SECRET_ID"),
            ttl: Duration::from_secs(env.number("CACHE_TTL_SECONDS", 60)?.max(1)),
            key_prefix: env.or("CACHE_KEY_PREFIX", ""),
            local_ttl: Duration::from_millis(env.number("CACHE_LOCAL_TTL_MS", 1000)?),
        })
    }
}

#[derive(Debug, Clone)]
pub struct CognitoConfig {
    pub user_pool_id: String,
    pub client_id: String,
    pub issuer: String,
    pub jwks_url: String,
    pub auto_confirm: bool,
}

impl CognitoConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let region = env.or("AWS_REGION", "us-east-1");
        let user_pool_id = env.required("COGNITO_USER_POOL_ID")?;
        let client_id = env.required("COGNITO_CLIENT_ID")?;
        let issuer = env.get("COGNITO_ISSUER").unwrap_or_else(|| {
            format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}")
        });
        let jwks_url = env
            .get("COGNITO_JWKS_URL")
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
        Ok(Self {
            user_pool_id,
            client_id,
            issuer,
            jwks_url,
            auto_confirm: env.flag("COGNITO_AUTO_CONFIRM")?,
        })
    }
}

/// The image bucket and where its processed images are served from.
#[derive(Debug, Clone)]
pub struct ImagesConfig {
    pub bucket: String,
    pub public_base_url: String,
    /// The image-processing queue, long-polled outside Lambda.
    pub queue_url: Option<String>,
}

impl ImagesConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let region = env.or("AWS_REGION", "us-east-1");
        let bucket = env.or("IMAGES_BUCKET", "shop-images-local");
        let public_base_url = env.get("IMAGES_PUBLIC_BASE_URL").unwrap_or_else(|| {
            match env.get("AWS_ENDPOINT_URL") {
                Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
                None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
            }
        });
        Ok(Self {
            bucket,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            queue_url: env.get("IMAGE_QUEUE_URL"),
        })
    }
}

/// The checkout saga: the state machine, its task queue, the order-events topic.
#[derive(Debug, Clone)]
pub struct CheckoutConfig {
    pub state_machine_arn: String,
    pub task_queue_url: String,
    /// The fulfillment queue (`order.confirmed` fanned out from the order-events topic),
    /// long-polled outside Lambda.
    pub fulfillment_queue_url: Option<String>,
}

impl CheckoutConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            state_machine_arn: env.required("CHECKOUT_STATE_MACHINE_ARN")?,
            task_queue_url: env.required("CHECKOUT_TASK_QUEUE_URL")?,
            fulfillment_queue_url: env.get("FULFILLMENT_QUEUE_URL"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::from_fn(move |k| map.get(k).cloned())
    }

    #[test]
    fn secrets_never_print() {
        let env = env(&[
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("REDIS_URL", "redis://:s3cret@h"),
        ]);
        let printed = format!(
            "{:?} {:?}",
            DatabaseConfig::from_env(&env).unwrap(),
            CacheConfig::from_env(&env).unwrap()
        );
        assert!(
            !printed.contains("hunter2"),
            "database password leaked: {printed}"
        );
        assert!(
            !printed.contains("s3cret"),
            "redis password leaked: {printed}"
        );
    }

    #[test]
    fn issuer_and_jwks_url_are_derived_but_overridable() {
        let base = [
            ("COGNITO_USER_POOL_ID", "us-east-1_pool"),
            ("COGNITO_CLIENT_ID", "client"),
        ];
        let config = CognitoConfig::from_env(&env(&base)).unwrap();
        assert_eq!(
            config.issuer,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
        );
        assert_eq!(
            config.jwks_url,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool/.well-known/jwks.json"
        );
        let mut with_jwks = base.to_vec();
        with_jwks.push((
            "COGNITO_JWKS_URL",
            "http://127.0.0.1:5000/pool/.well-known/jwks.json",
        ));
        let config = CognitoConfig::from_env(&env(&with_jwks)).unwrap();
        assert_eq!(
            config.jwks_url,
            "http://127.0.0.1:5000/pool/.well-known/jwks.json"
        );
        assert_eq!(
            BaseConfig::from_env(&env(&[])).unwrap().auth_mode,
            AuthMode::VerifyToken
        );
    }

    #[test]
    fn lambda_environment_reads_claims_from_api_gateway() {
        let env = env(&[
            ("DATABASE_SECRET_ID", "shop/dev/db"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ]);
        assert_eq!(
            BaseConfig::from_env(&env).unwrap().auth_mode,
            AuthMode::ApiGatewayClaims
        );
        let db = DatabaseConfig::from_env(&env).unwrap();
        assert!(matches!(db.source, DatabaseSource::SecretId(ref id) if id == "shop/dev/db"));
    }

    #[test]
    fn each_section_names_the_variable_it_misses() {
        let empty = env(&[]);
        let cases: [(&str, Result<(), ConfigError>); 4] = [
            ("DATABASE_URL", DatabaseConfig::from_env(&empty).map(drop)),
            (
                "COGNITO_USER_POOL_ID",
                CognitoConfig::from_env(&empty).map(drop),
            ),
            (
                "CHECKOUT_STATE_MACHINE_ARN",
                CheckoutConfig::from_env(&empty).map(drop),
            ),
            (
                "COGNITO_CLIENT_ID",
                CognitoConfig::from_env(&env(&[("COGNITO_USER_POOL_ID", "p")])).map(drop),
            ),
        ];
        for (name, result) in cases {
            assert_eq!(result.expect_err(name).name, name);
        }
        // Sections that need nothing start without any variable.
        assert!(BaseConfig::from_env(&empty).is_ok());
        assert!(CacheConfig::from_env(&empty).is_ok());
        assert!(ImagesConfig::from_env(&empty).is_ok());
    }

    #[test]
    fn malformed_values_are_rejected_with_the_variable_name() {
        for (name, value) in [
            ("PORT", "eighty"),
            ("PORT", "70000"),
            ("BODY_LIMIT_BYTES", "-1"),
            ("AUTH_MODE", "trust"),
        ] {
            let err = BaseConfig::from_env(&env(&[(name, value)])).expect_err(name);
            assert_eq!(err.name, name, "{name}={value}");
        }
        let err = CognitoConfig::from_env(&env(&[
            ("COGNITO_USER_POOL_ID", "p"),
            ("COGNITO_CLIENT_ID", "c"),
            ("COGNITO_AUTO_CONFIRM", "yes please"),
        ]))
        .expect_err("flag");
        assert_eq!(err.name, "COGNITO_AUTO_CONFIRM");
    }
}
