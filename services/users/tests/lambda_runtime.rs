//! The real `users` binary started the way Lambda starts it (`AWS_LAMBDA_RUNTIME_API` pointing
//! at a Runtime API emulator), fed a real API Gateway HTTP API v2.0 event.

use testkit::runtime_api::assert_http_function;

#[tokio::test]
async fn the_binary_answers_api_gateway_events_under_the_lambda_runtime() {
    assert_http_function(env!("CARGO_BIN_EXE_users"), "users").await;
}
