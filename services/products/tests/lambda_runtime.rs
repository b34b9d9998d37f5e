//! The real `products` binary started the way Lambda starts it (`AWS_LAMBDA_RUNTIME_API` pointing
//! at a Runtime API emulator), fed a real API Gateway HTTP API v2.0 event.

use testkit::{
    lambda::apigw_v2_event,
    runtime_api::{Answer, LambdaProcess},
};

#[tokio::test]
async fn the_binary_answers_api_gateway_events_under_the_lambda_runtime() {
    let function = LambdaProcess::start(env!("CARGO_BIN_EXE_products"), &[], &[]).await;
    let answer = function
        .invoke(apigw_v2_event("GET", "/v1/products/health", None, None))
        .await;
    let Answer::Response(response) = answer else {
        panic!("the function failed: {answer:?}");
    };
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: serde_json::Value =
        serde_json::from_str(response["body"].as_str().expect("a text body")).unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    let unknown = function
        .invoke(apigw_v2_event(
            "GET",
            "/v1/products/no/such/route",
            None,
            None,
        ))
        .await;
    let Answer::Response(unknown) = unknown else {
        panic!("the function failed: {unknown:?}");
    };
    assert_eq!(unknown["statusCode"], 404, "{unknown}");
    eprintln!(
        "products: init (exec to first poll) {:?}",
        function.init_time().expect("the runtime polled")
    );
}

#[tokio::test]
async fn the_relay_command_runs_one_pass_per_scheduler_event() {
    let function = LambdaProcess::start(env!("CARGO_BIN_EXE_products"), &["relay"], &[]).await;
    // What EventBridge Scheduler sends (the input Terraform configures).
    let answer = function
        .invoke(serde_json::json!({"source": "shop.scheduler", "task": "outbox-relay"}))
        .await;
    let Answer::Response(response) = answer else {
        panic!("the relay failed: {answer:?}");
    };
    assert!(response["products"]["applied"].is_number(), "{response}");
    assert!(response["orders"]["failed"].is_number(), "{response}");
}

#[tokio::test]
async fn the_migrate_command_applies_the_migrations_per_deploy_event() {
    let function = LambdaProcess::start(env!("CARGO_BIN_EXE_products"), &["migrate"], &[]).await;
    let answer = function
        .invoke(serde_json::json!({"source": "deploy", "task": "migrate"}))
        .await;
    let Answer::Response(response) = answer else {
        panic!("migrate failed: {answer:?}");
    };
    assert!(response["migrations"].as_u64().unwrap() >= 2, "{response}");
}
