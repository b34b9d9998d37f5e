//! Who is calling: bearer-token verification (local server) or API Gateway JWT-authorizer claims
//! (Lambda), with the same claim rules on both paths, and the `CurrentUser` / `AdminUser`
//! extractors that routes use.
//!
//! Rules (docs/api.md): an RS256 *access* token (`token_use = access`) from the configured issuer and
//! app client (`client_id`), not expired, not used before `nbf`, signed by a key of the pool's
//! JWKS. The JWKS is fetched from a URL configured apart from the issuer (moto serves it
//! elsewhere), cached for a bounded time, and refetched at most once per
//! `min_refetch_interval` when a token names an unknown `kid`, so a flood of forged kids cannot
//! hammer the identity provider. Tokens never reach a log line.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header, request::Parts},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::{
    config::{AuthMode, CognitoConfig},
    error::Error,
    http::error::ApiError,
};

pub use crate::models::principal::Principal;

/// The claims we read from a Cognito access token.
#[derive(Debug, Deserialize)]
struct AccessClaims {
    sub: String,
    token_use: Option<String>,
    client_id: Option<String>,
    username: Option<String>,
    #[serde(rename = "cognito:groups", default)]
    groups: Vec<String>,
}

/// Tunables of the JWKS cache.
#[derive(Debug, Clone, Copy)]
pub struct JwksPolicy {
    /// How long fetched keys are trusted before they are fetched again.
    pub ttl: Duration,
    /// The least time between two refetches caused by unknown `kid`s (the first one is
    /// always allowed: it is how a rotated key is found).
    pub min_refetch_interval: Duration,
    /// Timeout of one JWKS request.
    pub fetch_timeout: Duration,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            min_refetch_interval: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(3),
        }
    }
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, Arc<DecodingKey>>,
    fetched_at: Option<Instant>,
    /// When an unknown `kid` last caused a refetch (the rate-limited kind of fetch).
    last_refetch: Option<Instant>,
}

/// Verifies Cognito access tokens against the pool's JWKS.
pub struct JwtVerifier {
    issuer: String,
    client_id: String,
    jwks_url: String,
    policy: JwksPolicy,
    /// Built on the first fetch: building it loads the platform's trust store (about 10 ms of
    /// CPU on this machine's `/etc/ssl/certs`), which a function behind API Gateway's JWT
    /// authorizer never needs and a cold start should not pay before its first token.
    http: std::sync::OnceLock<reqwest::Client>,
    cache: RwLock<KeyCache>,
    fetch_lock: Mutex<()>,
}

impl JwtVerifier {
    pub fn new(cognito: &CognitoConfig, policy: JwksPolicy) -> Self {
        Self {
            issuer: cognito.issuer.clone(),
            client_id: cognito.client_id.clone(),
            jwks_url: cognito.jwks_url.clone(),
            policy,
            http: std::sync::OnceLock::new(),
            cache: RwLock::new(KeyCache::default()),
            fetch_lock: Mutex::new(()),
        }
    }

    /// Verifies `token` and returns its caller.
    pub async fn verify(&self, token: &str) -> Result<Principal, Error> {
        let header = decode_header(token).map_err(|_| unauthenticated("the token is malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(unauthenticated("the token must be signed with RS256"));
        }
        let kid = header
            .kid
            .ok_or_else(|| unauthenticated("the token names no signing key"))?;
        let key = self.key_for(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_aud = false; // access tokens carry `client_id`, checked below
        validation.validate_nbf = true;
        validation.leeway = 5;
        let data = decode::<AccessClaims>(token, &key, &validation).map_err(|err| {
            use jsonwebtoken::errors::ErrorKind;
            match err.kind() {
                ErrorKind::ExpiredSignature => unauthenticated("the token has expired"),
                ErrorKind::ImmatureSignature => unauthenticated("the token is not valid yet"),
                ErrorKind::InvalidIssuer => unauthenticated("the token is from another issuer"),
                _ => unauthenticated("the token is invalid"),
            }
        })?;
        check_claims(data.claims, &self.client_id)
    }

    /// The key for `kid`: from the cache while it is fresh, else (re)fetched.
    async fn key_for(&self, kid: &str) -> Result<Arc<DecodingKey>, Error> {
        {
            let cache = self.cache.read().await;
            if self.is_fresh(&cache) {
                if let Some(key) = cache.keys.get(kid) {
                    return Ok(key.clone());
                }
                if !self.may_refetch(&cache) {
                    return Err(unauthenticated("the token is signed by an unknown key"));
                }
            }
        }
        // One fetch at a time; whoever waited re-checks what the winner fetched.
        let _guard = self.fetch_lock.lock().await;
        let refetch_for_unknown_kid = {
            let cache = self.cache.read().await;
            if self.is_fresh(&cache) {
                if let Some(key) = cache.keys.get(kid) {
                    return Ok(key.clone());
                }
                if !self.may_refetch(&cache) {
                    return Err(unauthenticated("the token is signed by an unknown key"));
                }
                true
            } else {
                false
            }
        };
        let fetched = self.fetch().await;
        let mut cache = self.cache.write().await;
        if refetch_for_unknown_kid {
            cache.last_refetch = Some(Instant::now());
        }
        match fetched {
            Ok(keys) => {
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
            }
            Err(err) => {
                if !self.is_fresh(&cache) {
                    // Past their lifetime, old keys are not trusted: fail closed, as a 503.
                    cache.keys.clear();
                    return Err(err);
                }
                tracing::warn!(error = %err, "JWKS refetch failed; keeping the cached keys");
            }
        }
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| unauthenticated("the token is signed by an unknown key"))
    }

    fn is_fresh(&self, cache: &KeyCache) -> bool {
        cache
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.policy.ttl)
    }

    fn may_refetch(&self, cache: &KeyCache) -> bool {
        cache
            .last_refetch
            .is_none_or(|at| at.elapsed() >= self.policy.min_refetch_interval)
    }

    #[tracing::instrument(skip_all, fields(url = %self.jwks_url))]
    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, Error> {
        let unavailable = |e: reqwest::Error| Error::unavailable("identity provider", e);
        let http = self.http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(self.policy.fetch_timeout)
                .build()
                .unwrap_or_default()
        });
        let set: JwkSet = http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid, Arc::new(key));
                }
                Err(err) => tracing::warn!(%kid, error = %err, "skipping an unusable JWK"),
            }
        }
        tracing::info!(keys = keys.len(), "fetched the JWKS");
        Ok(keys)
    }
}

fn unauthenticated(message: &str) -> Error {
    Error::Unauthenticated(message.to_owned())
}

fn check_claims(claims: AccessClaims, client_id: &str) -> Result<Principal, Error> {
    if claims.token_use.as_deref() != Some("access") {
        return Err(unauthenticated("an access token is required"));
    }
    if claims.client_id.as_deref() != Some(client_id) {
        return Err(unauthenticated("the token was issued to another client"));
    }
    if claims.sub.is_empty() {
        return Err(unauthenticated("the token names no subject"));
    }
    Ok(Principal {
        subject: claims.sub,
        username: claims.username,
        groups: claims.groups,
    })
}

/// API Gateway renders array claims as `[a b]` or `[a, b]` strings; JSON arrays also occur.
fn parse_groups(raw: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(raw) {
        return list;
    }
    raw.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split([',', ' '])
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads the claims of API Gateway's JWT authorizer from the Lambda request context.
fn claims_from_api_gateway(
    parts: &Parts,
    issuer: &str,
    client_id: &str,
) -> Result<Principal, Error> {
    let claims = match parts
        .extensions
        .get::<lambda_http::request::RequestContext>()
    {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims),
        _ => None,
    }
    .ok_or_else(|| unauthenticated("authentication is required"))?;
    // The authorizer checked signature, expiry, issuer and audience; the token type and the
    // client are checked here too, since an ID token passes an audience check.
    if claims.get("iss").map(String::as_str) != Some(issuer) {
        return Err(unauthenticated("the token is from another issuer"));
    }
    check_claims(
        AccessClaims {
            sub: claims.get("sub").cloned().unwrap_or_default(),
            token_use: claims.get("token_use").cloned(),
            client_id: claims.get("client_id").cloned(),
            username: claims.get("username").cloned(),
            groups: claims
                .get("cognito:groups")
                .map(|g| parse_groups(g))
                .unwrap_or_default(),
        },
        client_id,
    )
}

/// Authenticates requests the way the deployment needs.
pub struct Authenticator {
    mode: AuthMode,
    issuer: String,
    client_id: String,
    verifier: JwtVerifier,
}

impl Authenticator {
    pub fn new(mode: AuthMode, cognito: &CognitoConfig, policy: JwksPolicy) -> Self {
        Self {
            mode,
            issuer: cognito.issuer.clone(),
            client_id: cognito.client_id.clone(),
            verifier: JwtVerifier::new(cognito, policy),
        }
    }

    /// The caller of this request, or 401 (503 when the JWKS cannot be had).
    pub async fn authenticate(&self, parts: &Parts) -> Result<Principal, Error> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let principal = match self.mode {
            AuthMode::ApiGatewayClaims => {
                claims_from_api_gateway(parts, &self.issuer, &self.client_id)?
            }
            AuthMode::VerifyToken => {
                let value = parts
                    .headers
                    .get(header::AUTHORIZATION)
                    .ok_or_else(|| unauthenticated("authentication is required"))?;
                let token = value
                    .to_str()
                    .ok()
                    .and_then(|v| {
                        v.strip_prefix("Bearer ")
                            .or_else(|| v.strip_prefix("bearer "))
                    })
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        unauthenticated("the Authorization header must be `Bearer <access token>`")
                    })?;
                self.verifier.verify(token).await?
            }
        };
        crate::log_context::set_user(&principal.subject);
        Ok(principal)
    }
}

/// A signed-in caller (any role).
pub struct CurrentUser(pub Principal);

/// A signed-in member of the `admin` group; others get 403.
pub struct AdminUser(pub Principal);

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<Authenticator>::from_ref(state);
        let principal = auth.authenticate(parts).await?;
        parts.extensions.insert(principal.clone());
        Ok(CurrentUser(principal))
    }
}

impl<S> FromRequestParts<S> for AdminUser
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(principal) = CurrentUser::from_request_parts(parts, state).await?;
        if !principal.is_admin() {
            return Err(Error::Forbidden("this action requires the admin role".into()).into());
        }
        Ok(AdminUser(principal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_parse_in_every_shape_api_gateway_sends() {
        assert_eq!(parse_groups("[admin]"), vec!["admin"]);
        assert_eq!(parse_groups("[admin staff]"), vec!["admin", "staff"]);
        assert_eq!(parse_groups("[admin, staff]"), vec!["admin", "staff"]);
        assert_eq!(
            parse_groups("[\"admin\",\"staff\"]"),
            vec!["admin", "staff"]
        );
        assert!(parse_groups("[]").is_empty());
    }

    #[test]
    fn id_tokens_and_foreign_clients_are_refused() {
        let claims = |token_use: &str, client: &str| AccessClaims {
            sub: "abc".into(),
            token_use: Some(token_use.into()),
            client_id: Some(client.into()),
            username: None,
            groups: vec![],
        };
        assert!(check_claims(claims("access", "c1"), "c1").is_ok());
        assert!(check_claims(claims("id", "c1"), "c1").is_err());
        assert!(check_claims(claims("access", "c2"), "c1").is_err());
    }
}
