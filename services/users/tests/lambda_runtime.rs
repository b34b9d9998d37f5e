//! The real `users` binary started the way Lambda starts it (`AWS_LAMBDA_RUNTIME_API` pointing
//! at a Runtime API emulator), fed a real API Gateway HTTP API v2.0 event.

use testkit::{
    lambda::apigw_v2_event,
    runtime_api::{Answer, LambdaProcess},
};

#[tokio::test]
async fn the_binary_answers_api_gateway_events_under_the_lambda_runtime() {
    let function = LambdaProcess::start(env!("CARGO_BIN_EXE_users"), &[], &[]).await;
    let answer = function
        .invoke(apigw_v2_event("GET", "/v1/users/health", None, None))
        .await;
    let Answer::Response(response) = answer else {
        panic!("the function failed: {answer:?}");
    };
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: serde_json::Value =
        serde_json::from_str(response["body"].as_str().expect("a text body")).unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    let unknown = function
        .invoke(apigw_v2_event("GET", "/v1/users/no/such/route", None, None))
        .await;
    let Answer::Response(unknown) = unknown else {
        panic!("the function failed: {unknown:?}");
    };
    assert_eq!(unknown["statusCode"], 404, "{unknown}");
    eprintln!(
        "users: init (exec to first poll) {:?}",
        function.init_time().expect("the runtime polled")
    );
}
