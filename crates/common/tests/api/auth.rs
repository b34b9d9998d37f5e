//! Authentication that holds against forged tokens, in both runtime modes.
//!
//! The token-verifying path is tested with tokens signed by a test key that a test JWKS
//! endpoint vouches for (so every claim can be set), and with forgeries; the API Gateway path
//! with authorizer claims in real v2.0 events.

use std::{collections::HashMap, time::Duration};

use common::{app::Function, auth::JwksPolicy};
use reqwest::Method;
use serde_json::{Value, json};
use testkit::{
    TestApp,
    lambda::{apigw_v2_event, invoke},
    tokens::{self, JwksServer, ROTATED_KID, TEST_CLIENT, TEST_ISSUER, access_claims, now},
};

/// An app that trusts the test issuer, client and JWKS.
async fn app_with_test_issuer(jwks: &JwksServer, policy: JwksPolicy) -> TestApp {
    TestApp::builder()
        .env("COGNITO_ISSUER", TEST_ISSUER)
        .env("COGNITO_CLIENT_ID", TEST_CLIENT)
        .env("COGNITO_JWKS_URL", jwks.url.clone())
        .jwks_policy(policy)
        .spawn()
        .await
}

/// An admin-only route that answers 404 to an admin (no such product), 403 to a customer.
const PROBE: &str = "/v1/products/987654";

async fn probe(app: &TestApp, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app.request(Method::DELETE, PROBE, None);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

#[tokio::test]
async fn forged_and_invalid_tokens_are_refused() {
    let jwks = JwksServer::start().await;
    let app = app_with_test_issuer(&jwks, JwksPolicy::default()).await;
    let admin = access_claims(&uuid::Uuid::new_v4().to_string(), &["admin"]);
    let customer = access_claims(&uuid::Uuid::new_v4().to_string(), &[]);

    // Controls: the trusted key's tokens work, with the role they carry.
    let ok = probe(&app, Some(&format!("Bearer {}", tokens::trusted(&admin)))).await;
    crate::assert_error(ok, 404, "RESOURCE_NOT_FOUND", "valid admin token").await;
    let forbidden = probe(
        &app,
        Some(&format!("Bearer {}", tokens::trusted(&customer))),
    )
    .await;
    crate::assert_error(forbidden, 403, "FORBIDDEN", "valid customer token").await;

    let genuine_customer = tokens::trusted(&customer);
    let id_token = with(
        with(
            without(admin.clone(), "client_id"),
            "token_use",
            json!("id"),
        ),
        "aud",
        json!(TEST_CLIENT),
    );
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("Basic scheme", Some("Basic YWRtaW46cGFzcw==".into())),
        ("Bearer without a token", Some("Bearer ".into())),
        ("not a JWT", Some("Bearer not-a-token".into())),
        ("three garbage segments", Some("Bearer a.b.c".into())),
        (
            "two tokens",
            Some(format!(
                "Bearer {} {}",
                tokens::trusted(&admin),
                tokens::trusted(&admin)
            )),
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                tokens::trusted(&with(admin.clone(), "exp", json!(now() - 120)))
            )),
        ),
        (
            "not yet valid",
            Some(format!(
                "Bearer {}",
                tokens::trusted(&with(admin.clone(), "nbf", json!(now() + 600)))
            )),
        ),
        (
            "no expiry",
            Some(format!(
                "Bearer {}",
                tokens::trusted(&without(admin.clone(), "exp"))
            )),
        ),
        (
            "wrong issuer",
            Some(format!(
                "Bearer {}",
                tokens::trusted(&with(
                    admin.clone(),
                    "iss",
                    json!("https://evil.example.com")
                ))
            )),
        ),
        (
            "issuer of another pool",
            Some(format!(
                "Bearer {}",
                tokens::trusted(&with(
                    admin.clone(),
                    "iss",
                    json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other")
                ))
            )),
        ),
        (
            "wrong app client",
            Some(format!(
                "Bearer {}",
                tokens::trusted(&with(admin.clone(), "client_id", json!("another-client")))
            )),
        ),
        (
            "an ID token",
            Some(format!("Bearer {}", tokens::trusted(&id_token))),
        ),
        (
            "no token_use",
            Some(format!(
                "Bearer {}",
                tokens::trusted(&without(admin.clone(), "token_use"))
            )),
        ),
        (
            "no subject",
            Some(format!(
                "Bearer {}",
                tokens::trusted(&without(admin.clone(), "sub"))
            )),
        ),
        (
            "alg none",
            Some(format!("Bearer {}", tokens::unsigned(&admin))),
        ),
        (
            "HS256 keyed with the public key",
            Some(format!("Bearer {}", tokens::hs256_with_public_key(&admin))),
        ),
        (
            "tampered payload (customer made admin)",
            Some(format!(
                "Bearer {}",
                tokens::tampered(
                    &genuine_customer,
                    &with(customer.clone(), "cognito:groups", json!(["admin"]))
                )
            )),
        ),
        (
            "another key under a known kid",
            Some(format!(
                "Bearer {}",
                tokens::attacker(Some(tokens::TRUSTED_KID), &admin)
            )),
        ),
        (
            "an unknown kid",
            Some(format!(
                "Bearer {}",
                tokens::attacker(Some("unknown-kid"), &admin)
            )),
        ),
        (
            "no kid",
            Some(format!("Bearer {}", tokens::attacker(None, &admin))),
        ),
    ];
    for (case, authorization) in cases {
        let response = probe(&app, authorization.as_deref()).await;
        crate::assert_error(response, 401, "UNAUTHENTICATED", case).await;
    }
}

#[tokio::test]
async fn unknown_kids_trigger_one_rate_limited_jwks_refetch() {
    let jwks = JwksServer::start().await;
    let policy = JwksPolicy {
        min_refetch_interval: Duration::from_secs(3600),
        ..JwksPolicy::default()
    };
    let app = app_with_test_issuer(&jwks, policy).await;
    let admin = access_claims("7b0a8e1e-1111-4a4a-9c9c-000000000001", &["admin"]);

    let ok = probe(&app, Some(&format!("Bearer {}", tokens::trusted(&admin)))).await;
    assert_eq!(ok.status(), 404);
    assert_eq!(jwks.hits(), 1, "the first token fetched the JWKS");
    probe(&app, Some(&format!("Bearer {}", tokens::trusted(&admin)))).await;
    assert_eq!(jwks.hits(), 1, "known keys come from the cache");

    let unknown = probe(
        &app,
        Some(&format!(
            "Bearer {}",
            tokens::attacker(Some("kid-a"), &admin)
        )),
    )
    .await;
    assert_eq!(unknown.status(), 401);
    assert_eq!(jwks.hits(), 2, "an unknown kid refetches once");

    // A flood of made-up kids must not hammer the identity provider.
    let flood = (0..30).map(|i| {
        let token = tokens::attacker(Some(&format!("flood-{i}")), &admin);
        let app = &app;
        async move { probe(app, Some(&format!("Bearer {token}"))).await.status() }
    });
    let statuses = futures::future::join_all(flood).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(jwks.hits(), 2, "no refetch inside the rate limit");
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_the_refetch() {
    let jwks = JwksServer::start().await;
    let policy = JwksPolicy {
        min_refetch_interval: Duration::ZERO,
        ..JwksPolicy::default()
    };
    let app = app_with_test_issuer(&jwks, policy).await;
    let admin = access_claims("7b0a8e1e-1111-4a4a-9c9c-000000000002", &["admin"]);
    let rotated_token = tokens::attacker(Some(ROTATED_KID), &admin);

    assert_eq!(
        probe(&app, Some(&format!("Bearer {}", tokens::trusted(&admin))))
            .await
            .status(),
        404
    );
    assert_eq!(
        probe(&app, Some(&format!("Bearer {rotated_token}")))
            .await
            .status(),
        401,
        "not yet in the set"
    );
    jwks.rotate();
    assert_eq!(
        probe(&app, Some(&format!("Bearer {rotated_token}")))
            .await
            .status(),
        404,
        "the refetch found the new key"
    );
}

#[tokio::test]
async fn an_unreachable_jwks_is_503_not_500_and_stale_keys_are_not_trusted() {
    let jwks = JwksServer::start().await;
    jwks.set_down(true);
    let app = app_with_test_issuer(
        &jwks,
        JwksPolicy {
            ttl: Duration::from_millis(300),
            ..JwksPolicy::default()
        },
    )
    .await;
    let admin = access_claims("7b0a8e1e-1111-4a4a-9c9c-000000000003", &["admin"]);
    let bearer = format!("Bearer {}", tokens::trusted(&admin));

    crate::assert_error(
        probe(&app, Some(&bearer)).await,
        503,
        "DEPENDENCY_UNAVAILABLE",
        "JWKS down, nothing cached",
    )
    .await;
    jwks.set_down(false);
    assert_eq!(probe(&app, Some(&bearer)).await.status(), 404, "JWKS back");
    jwks.set_down(true);
    tokio::time::sleep(Duration::from_millis(400)).await; // past the keys' lifetime
    crate::assert_error(
        probe(&app, Some(&bearer)).await,
        503,
        "DEPENDENCY_UNAVAILABLE",
        "JWKS down, cached keys expired",
    )
    .await;

    let nowhere = TestApp::builder()
        .env("COGNITO_JWKS_URL", "http://127.0.0.1:9/jwks.json")
        .spawn()
        .await;
    let response = nowhere
        .request(Method::DELETE, PROBE, None)
        .header("authorization", bearer.as_str())
        .send()
        .await
        .unwrap();
    crate::assert_error(response, 503, "DEPENDENCY_UNAVAILABLE", "JWKS port closed").await;
}

#[tokio::test]
async fn behind_api_gateway_the_authorizers_claims_are_checked_too() {
    let app = TestApp::builder().api_gateway_mode().spawn().await;
    let products = app.function_router(Function::Products).await;
    let router = || products.clone();
    let issuer = app.cognito.issuer.clone();
    let client = app.cognito.client_id.clone();
    let claims = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        let mut map: HashMap<String, String> = [
            ("sub", "0f0e0d0c-1111-4a4a-9c9c-000000000009"),
            ("iss", issuer.as_str()),
            ("client_id", client.as_str()),
            ("token_use", "access"),
            ("cognito:groups", "[admin]"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            if v.is_empty() {
                map.remove(*k);
            } else {
                map.insert(k.to_string(), v.to_string());
            }
        }
        map
    };

    let ok = invoke(
        router(),
        apigw_v2_event("DELETE", PROBE, None, Some(&claims(&[]))),
    )
    .await;
    assert_eq!(ok.status, 404, "valid admin claims: {}", ok.body);
    let customer = invoke(
        router(),
        apigw_v2_event(
            "DELETE",
            PROBE,
            None,
            Some(&claims(&[("cognito:groups", "")])),
        ),
    )
    .await;
    assert_eq!(customer.status, 403);
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("an ID token's claims", &[("token_use", "id")]),
        ("another app client", &[("client_id", "someone-else")]),
        (
            "another issuer",
            &[(
                "iss",
                "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other",
            )],
        ),
        ("no subject", &[("sub", "")]),
        ("no token_use", &[("token_use", "")]),
    ];
    for (case, changes) in cases {
        let answer = invoke(
            router(),
            apigw_v2_event("DELETE", PROBE, None, Some(&claims(changes))),
        )
        .await;
        assert_eq!(answer.status, 401, "{case}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], "UNAUTHENTICATED", "{case}");
    }
    let no_context = invoke(router(), apigw_v2_event("DELETE", PROBE, None, None)).await;
    assert_eq!(no_context.status, 401, "no authorizer context");
}
