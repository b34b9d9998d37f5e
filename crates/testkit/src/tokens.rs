//! Tokens the emulator would never issue: signed by a test key that a test JWKS server vouches
//! for (to control every claim), or forged (another key, `alg: none`, HS256 with the public key
//! as the secret, a tampered payload).

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use axum::{Router, http::StatusCode, response::IntoResponse, routing::get};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

pub const TRUSTED_KID: &str = "trusted-1";
pub const TEST_ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool";
pub const TEST_CLIENT: &str = "test-client-id";

const TRUSTED_PEM: &[u8] = include_bytes!("../fixtures/trusted.pem");
const TRUSTED_PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/trusted.pub.pem");
const ATTACKER_PEM: &[u8] = include_bytes!("../fixtures/attacker.pem");
const JWKS: &str = include_str!("../fixtures/jwks.json");
const JWKS_ROTATED: &str = include_str!("../fixtures/jwks_rotated.json");
pub const ROTATED_KID: &str = "rotated-2";

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims of a valid access token for the test issuer and client.
pub fn access_claims(sub: &str, groups: &[&str]) -> Value {
    json!({
        "sub": sub,
        "iss": TEST_ISSUER,
        "client_id": TEST_CLIENT,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "username": sub,
        "cognito:groups": groups,
        "iat": now() - 10,
        "auth_time": now() - 10,
        "exp": now() + 3600,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

fn sign(pem: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(pem).expect("test key"),
    )
    .expect("sign")
}

/// Signed by the trusted test key (the test JWKS vouches for it).
pub fn trusted(claims: &Value) -> String {
    sign(TRUSTED_PEM, Some(TRUSTED_KID), claims)
}

/// Signed by another key, naming `kid`.
pub fn attacker(kid: Option<&str>, claims: &Value) -> String {
    sign(ATTACKER_PEM, kid, claims)
}

/// `alg: none`, no signature.
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD
        .encode(json!({"alg": "none", "typ": "JWT", "kid": TRUSTED_KID}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// HS256 with the RSA public key as the HMAC secret (the classic key-confusion attack).
pub fn hs256_with_public_key(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(TRUSTED_KID.to_owned());
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(TRUSTED_PUBLIC_PEM),
    )
    .expect("sign")
}

/// A genuine token whose payload was swapped after signing.
pub fn tampered(token: &str, claims: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    parts.join(".")
}

/// A JWKS endpoint for the trusted key that counts its hits and can be taken down.
#[derive(Clone)]
pub struct JwksServer {
    pub url: String,
    hits: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
    rotated: Arc<AtomicBool>,
}

impl JwksServer {
    pub async fn start() -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let down = Arc::new(AtomicBool::new(false));
        let rotated = Arc::new(AtomicBool::new(false));
        let (h, d, r) = (hits.clone(), down.clone(), rotated.clone());
        let router = Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                let (h, d, r) = (h.clone(), d.clone(), r.clone());
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    if d.load(Ordering::SeqCst) {
                        StatusCode::SERVICE_UNAVAILABLE.into_response()
                    } else if r.load(Ordering::SeqCst) {
                        ([("content-type", "application/json")], JWKS_ROTATED).into_response()
                    } else {
                        ([("content-type", "application/json")], JWKS).into_response()
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            url,
            hits,
            down,
            rotated,
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// From now on the set also holds `rotated-2` (signed with the `attacker` key).
    pub fn rotate(&self) {
        self.rotated.store(true, Ordering::SeqCst);
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}
