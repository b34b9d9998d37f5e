//! Real API Gateway HTTP API (payload v2.0) events, fed through `lambda_http` to a router
//! exactly as the Lambda runtime would.

use std::collections::HashMap;

use lambda_http::{Adapter, LambdaEvent, request::LambdaRequest};
use serde_json::{Value, json};
use tower::ServiceExt;

/// An API Gateway v2.0 event. `claims` is the JWT authorizer's output (None: a route without
/// an authorizer).
pub fn apigw_v2_event(
    method: &str,
    path: &str,
    body: Option<&Value>,
    claims: Option<&HashMap<String, String>>,
) -> Value {
    let (raw_path, raw_query) = path.split_once('?').unwrap_or((path, ""));
    let mut headers = json!({
        "accept": "application/json",
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "x-forwarded-proto": "https",
    });
    if body.is_some() {
        headers["content-type"] = json!("application/json");
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {raw_path}"),
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "test"},
            "requestId": format!("apigw-{}", uuid::Uuid::new_v4().simple()),
            "routeKey": format!("{method} {raw_path}"),
            "stage": "$default",
            "time": "28/Nov/2026:10:15:00 +0000",
            "timeEpoch": 1_795_862_100_000_i64,
        },
        "isBase64Encoded": false,
    });
    if !raw_query.is_empty() {
        let params: HashMap<String, String> = raw_query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        event["queryStringParameters"] = json!(params);
    }
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    if let Some(claims) = claims {
        event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    event
}

/// The Lambda's answer, as API Gateway receives it.
pub struct LambdaAnswer {
    pub status: u16,
    pub headers: Value,
    pub body: Value,
}

/// Deserializes `event` as `lambda_http` does and runs it through `router`.
pub async fn invoke(router: common::http::App, event: Value) -> LambdaAnswer {
    let request: LambdaRequest =
        serde_json::from_value(event).expect("a valid API Gateway v2 event");
    let mut context = lambda_http::Context::default();
    context.request_id = format!("lambda-{}", uuid::Uuid::new_v4().simple());
    let response = Adapter::from(router)
        .oneshot(LambdaEvent::new(request, context))
        .await
        .expect("the adapter answers");
    let json = serde_json::to_value(&response).expect("a serializable response");
    let body = json["body"]
        .as_str()
        .map(|b| serde_json::from_str(b).unwrap_or(Value::String(b.to_owned())))
        .unwrap_or(Value::Null);
    LambdaAnswer {
        status: json["statusCode"].as_u64().unwrap_or(0) as u16,
        headers: json["headers"].clone(),
        body,
    }
}

/// The claims API Gateway's JWT authorizer passes for a token (as strings, as it does).
pub fn claims_of(access_token: &str) -> HashMap<String, String> {
    use base64::Engine;
    let payload = access_token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let claims: serde_json::Map<String, Value> =
        serde_json::from_slice(&bytes).expect("JSON claims");
    claims
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Array(items) => {
                    format!(
                        "[{}]",
                        items
                            .iter()
                            .filter_map(|i| i.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                }
                other => other.to_string(),
            };
            (k, text)
        })
        .collect()
}
