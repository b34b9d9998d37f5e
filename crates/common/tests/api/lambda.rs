//! The Lambda front door: real API Gateway HTTP API v2.0 events (with JWT-authorizer claims)
//! through `lambda_http` into the products service's router.

use common::app::Function;
use serde_json::{Value, json};
use testkit::{
    TestApp,
    lambda::{apigw_v2_event, claims_of, invoke},
};

#[tokio::test]
async fn api_gateway_events_reach_the_products_router_with_the_authorizers_claims() {
    let app = TestApp::builder().api_gateway_mode().spawn().await;
    let products = app.function_router(Function::Products).await;
    let router = || products.clone();
    let admin = app.admin().await;
    let customer = app.customer().await;
    let body = TestApp::product_body("Lambda lamp", "21.00", 4);

    let created = invoke(
        router(),
        apigw_v2_event(
            "POST",
            "/v1/products",
            Some(&body),
            Some(&claims_of(&admin.access_token)),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "admin create: {}", created.body);
    assert_eq!(
        created.headers["location"],
        format!("/v1/products/{}", created.body["product_id"])
    );
    let id = created.body["product_id"].as_i64().unwrap();

    let event = apigw_v2_event("GET", &format!("/v1/products/{id}"), None, None);
    let gateway_request_id = event["requestContext"]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = invoke(router(), event).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["name"], "Lambda lamp");
    assert_eq!(
        read.headers["x-request-id"],
        gateway_request_id.as_str(),
        "the API Gateway request id is the request id"
    );

    let listed = invoke(
        router(),
        apigw_v2_event("GET", "/v1/products?limit=1", None, None),
    )
    .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    let forbidden = invoke(
        router(),
        apigw_v2_event(
            "POST",
            "/v1/products",
            Some(&body),
            Some(&claims_of(&customer.access_token)),
        ),
    )
    .await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.body["error"]["code"], "FORBIDDEN");

    // Without the authorizer's context nothing is trusted, not even a valid bearer token.
    let mut no_context = apigw_v2_event(
        "PATCH",
        &format!("/v1/products/{id}"),
        Some(&json!({"name": "x"})),
        None,
    );
    no_context["headers"]["authorization"] = json!(format!("Bearer {}", admin.access_token));
    let refused = invoke(router(), no_context).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body["error"]["code"], "UNAUTHENTICATED");

    // An ID token passes API Gateway's audience check; the service still refuses it.
    let id_token = invoke(
        router(),
        apigw_v2_event(
            "DELETE",
            &format!("/v1/products/{id}"),
            None,
            Some(&claims_of(&admin.id_token)),
        ),
    )
    .await;
    assert_eq!(id_token.status, 401, "an ID token is not an access token");

    let deleted = invoke(
        router(),
        apigw_v2_event(
            "DELETE",
            &format!("/v1/products/{id}"),
            None,
            Some(&claims_of(&admin.access_token)),
        ),
    )
    .await;
    assert_eq!(deleted.status, 204);

    let missing = invoke(
        router(),
        apigw_v2_event("GET", "/v1/products/abc", None, None),
    )
    .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body["error"]["code"], "VALIDATION_FAILED");
    let other_service = invoke(router(), apigw_v2_event("GET", "/v1/users/me", None, None)).await;
    assert_eq!(
        other_service.status, 404,
        "a function serves only its own routes"
    );
    let health = invoke(
        router(),
        apigw_v2_event("GET", "/v1/products/health", None, None),
    )
    .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], Value::from("ok"));
}

#[tokio::test]
async fn sign_in_hands_cognito_the_callers_address_from_the_api_gateway_request_context() {
    use axum::extract::FromRequestParts;
    use common::{http::extract::CallerContext, repositories::identity_cognito::context_data};
    let mut event = testkit::lambda::apigw_v2_event(
        "POST",
        "/v1/users/login",
        Some(&serde_json::json!({"email": "a@example.com", "password": "x"})),
        None,
    );
    event["headers"]["authorization"] = serde_json::json!("Bearer secret");
    event["headers"]["x-user-context-data"] = serde_json::json!("device-fingerprint");
    let request =
        lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event");
    let (mut parts, _) = request.into_parts();
    let CallerContext(client) = CallerContext::from_request_parts(&mut parts, &())
        .await
        .unwrap_or_else(|_| panic!("the context"));
    assert_eq!(
        client.ip_address.as_deref(),
        Some("203.0.113.9"),
        "API Gateway's sourceIp"
    );
    assert_eq!(client.server_path, "/v1/users/login");
    assert_eq!(client.encoded_data.as_deref(), Some("device-fingerprint"));
    assert!(
        client
            .headers
            .iter()
            .all(|(name, _)| name != "authorization" && name != "x-user-context-data"),
        "no credentials among the headers: {:?}",
        client.headers
    );
    let data = context_data(&client).expect("context data for Cognito");
    assert_eq!(data.ip_address(), "203.0.113.9");
    assert_eq!(data.encoded_data(), Some("device-fingerprint"));
    assert!(!data.http_headers().is_empty());
    // Where the caller is unknown, no context is made up.
    let mut unknown = client.clone();
    unknown.ip_address = None;
    assert!(context_data(&unknown).is_none());
}

#[tokio::test]
async fn the_products_function_serves_the_docs_page_and_its_files_to_api_gateway() {
    let app = TestApp::builder().api_gateway_mode().spawn().await;
    let products = app.function_router(Function::Products).await;

    let redirect = invoke(
        products.clone(),
        apigw_v2_event("GET", "/v1/docs", None, None),
    )
    .await;
    let bundle = invoke(
        products,
        apigw_v2_event("GET", "/v1/docs/swagger-ui-bundle.js", None, None),
    )
    .await;

    assert_eq!(redirect.status, 303);
    assert_eq!(redirect.headers["location"], "docs/index.html");
    assert_eq!(bundle.status, 200);
    assert_eq!(bundle.headers["content-type"], "text/javascript");
    let text = bundle.body.as_str().expect("the bundle is a text body");
    assert!(
        text.len() > 1_000_000 && text.contains("SwaggerUIBundle"),
        "Swagger UI's bundle, whole ({} bytes)",
        text.len()
    );
}
