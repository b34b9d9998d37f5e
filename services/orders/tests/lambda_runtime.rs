//! The real `orders` binary started the way Lambda starts it (`AWS_LAMBDA_RUNTIME_API` pointing
//! at a Runtime API emulator), fed a real API Gateway HTTP API v2.0 event.

use testkit::{
    lambda::apigw_v2_event,
    runtime_api::{Answer, LambdaProcess},
};

#[tokio::test]
async fn the_binary_answers_api_gateway_events_under_the_lambda_runtime() {
    let function = LambdaProcess::start(env!("CARGO_BIN_EXE_orders"), &[], &[]).await;
    let answer = function
        .invoke(apigw_v2_event("GET", "/v1/orders/health", None, None))
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
            "/v1/orders/no/such/route",
            None,
            None,
        ))
        .await;
    let Answer::Response(unknown) = unknown else {
        panic!("the function failed: {unknown:?}");
    };
    assert_eq!(unknown["statusCode"], 404, "{unknown}");
    eprintln!(
        "orders: init (exec to first poll) {:?}",
        function.init_time().expect("the runtime polled")
    );
}

#[tokio::test]
async fn the_worker_command_answers_sqs_batches_with_partial_failures() {
    let function = LambdaProcess::start(env!("CARGO_BIN_EXE_orders"), &["worker"], &[]).await;
    let order_id = 900_000_000 + i64::from(std::process::id() % 1000);
    let event = serde_json::json!({"Records": [
        {"messageId": "fulfil-1", "receiptHandle": "r1", "eventSource": "aws:sqs",
         "attributes": {"ApproximateReceiveCount": "1"},
         "body": serde_json::json!({"Type": "Notification",
             "Message": serde_json::json!({"event_type": "order.confirmed", "order_id": order_id}).to_string()}).to_string()},
        {"messageId": "garbage", "receiptHandle": "r2", "eventSource": "aws:sqs", "body": "not json"}
    ]});
    let answer = function.invoke(event).await;
    let Answer::Response(response) = answer else {
        panic!("the worker failed: {answer:?}");
    };
    assert_eq!(
        response,
        serde_json::json!({"batchItemFailures": []}),
        "both handled: one recorded, one unreadable and dropped"
    );
    eprintln!("orders worker: init {:?}", function.init_time().unwrap());
}
