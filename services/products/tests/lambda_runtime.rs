//! The real `products` binary started the way Lambda starts it (`AWS_LAMBDA_RUNTIME_API` pointing
//! at a Runtime API emulator), fed a real API Gateway HTTP API v2.0 event.

use testkit::runtime_api::{Answer, LambdaProcess, assert_http_function};

#[tokio::test]
async fn the_binary_answers_api_gateway_events_under_the_lambda_runtime() {
    assert_http_function(env!("CARGO_BIN_EXE_products"), "products").await;
}

#[tokio::test]
async fn the_relay_command_runs_one_pass_per_scheduler_event() {
    let function =
        LambdaProcess::start_as_image(env!("CARGO_BIN_EXE_products"), "outbox_relay_lambda", &[])
            .await;
    // What EventBridge Scheduler sends (the input Terraform configures).
    let answer = function
        .invoke(serde_json::json!({"source": "shop.scheduler", "task": "outbox-relay"}))
        .await;
    let Answer::Response(response) = answer else {
        panic!("the relay failed: {answer:?}");
    };
    assert!(response["products"]["applied"].is_number(), "{response}");
    assert!(response["orders"]["failed"].is_number(), "{response}");
    assert!(
        response["reconciled"]["examined"].is_number(),
        "the reconciler runs in the same job: {response}"
    );
}

#[tokio::test]
async fn the_migrate_command_applies_the_migrations_per_deploy_event() {
    let function =
        LambdaProcess::start_as_image(env!("CARGO_BIN_EXE_products"), "db_migrate_lambda", &[])
            .await;
    let answer = function
        .invoke(serde_json::json!({"source": "deploy", "task": "migrate"}))
        .await;
    let Answer::Response(response) = answer else {
        panic!("migrate failed: {answer:?}");
    };
    assert!(response["migrations"].as_u64().unwrap() >= 2, "{response}");
}
