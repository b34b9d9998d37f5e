//! Typed configuration, read once from environment variables in `main` and passed down.
//!
//! Every variable is listed (with its default) in `.env.example` and the README. Nothing deep in
//! the library reads the environment: it receives the pieces of [`Config`] it needs.

use std::{env, fmt, time::Duration};

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

/// Where the database credentials come from.
#[derive(Debug, Clone)]
pub enum DatabaseSource {
    /// A full connection URL (local runs, tests).
    Url(Secret<String>),
    /// A Secrets Manager secret `{username, password, host, port, dbname}` (RDS Proxy in AWS).
    SecretId(String),
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

#[derive(Debug, Clone)]
pub struct CognitoConfig {
    pub user_pool_id: String,
    pub client_id: String,
    pub issuer: String,
    pub jwks_url: String,
    pub auto_confirm: bool,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub app_env: String,
    pub host: String,
    pub port: u16,
    pub body_limit_bytes: usize,
    pub auth_mode: AuthMode,
    pub database: DatabaseSource,
    pub database_max_connections: u32,
    pub redis_url: Option<Secret<String>>,
    /// A Secrets Manager secret holding Redis' AUTH token (`{"auth_token": …}` or the bare
    /// token), so the token never sits in the function's environment.
    pub redis_auth_secret_id: Option<String>,
    pub cache_ttl: Duration,
    pub cache_key_prefix: String,
    pub aws_region: String,
    pub aws_endpoint_url: Option<String>,
    pub table_prefix: String,
    pub images_bucket: String,
    pub images_public_base_url: String,
    pub image_queue_url: Option<String>,
    pub order_events_topic_arn: Option<String>,
    pub checkout_state_machine_arn: Option<String>,
    pub checkout_task_queue_url: Option<String>,
    pub cognito: CognitoConfig,
}

/// A configuration variable that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads configuration through `lookup` (the environment in production; a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name);
        let or =
            |name: &'static str, default: &str| get(name).unwrap_or_else(|| default.to_owned());
        let parse = |name: &'static str, default: &str| -> Result<u64, ConfigError> {
            or(name, default)
                .trim()
                .parse::<u64>()
                .map_err(|_| ConfigError {
                    name,
                    problem: "must be a non-negative integer".into(),
                })
        };

        let database = match (get("DATABASE_URL"), get("DATABASE_SECRET_ID")) {
            (Some(url), _) => DatabaseSource::Url(Secret::new(url)),
            (None, Some(id)) => DatabaseSource::SecretId(id),
            (None, None) => {
                return Err(ConfigError {
                    name: "DATABASE_URL",
                    problem: "set DATABASE_URL or DATABASE_SECRET_ID".into(),
                });
            }
        };
        let aws_region = or("AWS_REGION", "us-east-1");
        let user_pool_id = get("COGNITO_USER_POOL_ID").ok_or(ConfigError {
            name: "COGNITO_USER_POOL_ID",
            problem: "required".into(),
        })?;
        let client_id = get("COGNITO_CLIENT_ID").ok_or(ConfigError {
            name: "COGNITO_CLIENT_ID",
            problem: "required".into(),
        })?;
        let issuer = get("COGNITO_ISSUER").unwrap_or_else(|| {
            format!("https://cognito-idp.{aws_region}.amazonaws.com/{user_pool_id}")
        });
        let jwks_url = get("COGNITO_JWKS_URL")
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
        let images_bucket = or("IMAGES_BUCKET", "shop-images-local");
        let aws_endpoint_url = get("AWS_ENDPOINT_URL");
        let images_public_base_url =
            get("IMAGES_PUBLIC_BASE_URL").unwrap_or_else(|| match &aws_endpoint_url {
                Some(endpoint) => format!("{}/{images_bucket}", endpoint.trim_end_matches('/')),
                None => format!("https://{images_bucket}.s3.{aws_region}.amazonaws.com"),
            });
        let auth_mode = match get("AUTH_MODE").as_deref() {
            Some("verify") => AuthMode::VerifyToken,
            Some("apigateway") => AuthMode::ApiGatewayClaims,
            Some(_) => {
                return Err(ConfigError {
                    name: "AUTH_MODE",
                    problem: "must be `verify` or `apigateway`".into(),
                });
            }
            None if get("AWS_LAMBDA_RUNTIME_API").is_some() => AuthMode::ApiGatewayClaims,
            None => AuthMode::VerifyToken,
        };
        let port = parse("PORT", "8080")?;
        Ok(Self {
            app_env: or("APP_ENV", "local"),
            host: or("HOST", "127.0.0.1"),
            port: u16::try_from(port).map_err(|_| ConfigError {
                name: "PORT",
                problem: "must be at most 65535".into(),
            })?,
            body_limit_bytes: parse("BODY_LIMIT_BYTES", "65536")? as usize,
            auth_mode,
            database,
            database_max_connections: parse("DATABASE_MAX_CONNECTIONS", "5")?.max(1) as u32,
            redis_url: get("REDIS_URL").map(Secret::new),
            redis_auth_secret_id: get("REDIS_AUTH_SECRET_ID"),
            cache_ttl: Duration::from_secs(parse("CACHE_TTL_SECONDS", "60")?.max(1)),
            cache_key_prefix: or("CACHE_KEY_PREFIX", ""),
            aws_region,
            aws_endpoint_url,
            table_prefix: or("DYNAMODB_TABLE_PREFIX", ""),
            images_bucket,
            images_public_base_url,
            image_queue_url: get("IMAGE_QUEUE_URL"),
            order_events_topic_arn: get("ORDER_EVENTS_TOPIC_ARN"),
            checkout_state_machine_arn: get("CHECKOUT_STATE_MACHINE_ARN"),
            checkout_task_queue_url: get("CHECKOUT_TASK_QUEUE_URL"),
            cognito: CognitoConfig {
                user_pool_id,
                client_id,
                issuer,
                jwks_url,
                auto_confirm: matches!(or("COGNITO_AUTO_CONFIRM", "false").as_str(), "true" | "1"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn secrets_never_print() {
        let config = Config::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://u:hunter2@h/db"),
            ("REDIS_URL", "redis://:s3cret@h"),
            ("COGNITO_USER_POOL_ID", "us-east-1_abc"),
            ("COGNITO_CLIENT_ID", "client"),
        ]))
        .expect("valid config");
        let printed = format!("{config:?}");
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
            ("DATABASE_URL", "postgres://x"),
            ("COGNITO_USER_POOL_ID", "us-east-1_pool"),
            ("COGNITO_CLIENT_ID", "client"),
        ];
        let config = Config::from_lookup(lookup(&base)).unwrap();
        assert_eq!(
            config.cognito.issuer,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
        );
        assert_eq!(
            config.cognito.jwks_url,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool/.well-known/jwks.json"
        );
        let mut with_jwks = base.to_vec();
        with_jwks.push((
            "COGNITO_JWKS_URL",
            "http://127.0.0.1:5000/pool/.well-known/jwks.json",
        ));
        let config = Config::from_lookup(lookup(&with_jwks)).unwrap();
        assert_eq!(
            config.cognito.jwks_url,
            "http://127.0.0.1:5000/pool/.well-known/jwks.json"
        );
        assert_eq!(config.auth_mode, AuthMode::VerifyToken);
    }

    #[test]
    fn lambda_environment_reads_claims_from_api_gateway() {
        let config = Config::from_lookup(lookup(&[
            ("DATABASE_SECRET_ID", "shop/dev/db"),
            ("COGNITO_USER_POOL_ID", "p"),
            ("COGNITO_CLIENT_ID", "c"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ]))
        .unwrap();
        assert_eq!(config.auth_mode, AuthMode::ApiGatewayClaims);
        assert!(matches!(config.database, DatabaseSource::SecretId(ref id) if id == "shop/dev/db"));
    }

    #[test]
    fn malformed_values_are_rejected_with_the_variable_name() {
        for (name, value) in [
            ("PORT", "eighty"),
            ("PORT", "70000"),
            ("BODY_LIMIT_BYTES", "-1"),
            ("AUTH_MODE", "trust"),
        ] {
            let err = Config::from_lookup(lookup(&[
                ("DATABASE_URL", "postgres://x"),
                ("COGNITO_USER_POOL_ID", "p"),
                ("COGNITO_CLIENT_ID", "c"),
                (name, value),
            ]))
            .expect_err(name);
            assert_eq!(err.name, name, "{name}={value}");
        }
    }
}
