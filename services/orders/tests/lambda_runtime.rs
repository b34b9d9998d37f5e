//! The real `orders` binary started the way Lambda starts it (`AWS_LAMBDA_RUNTIME_API` pointing
//! at a Runtime API emulator), fed a real API Gateway HTTP API v2.0 event.

use testkit::runtime_api::{Answer, LambdaProcess, assert_http_function};

#[tokio::test]
async fn the_binary_answers_api_gateway_events_under_the_lambda_runtime() {
    assert_http_function(env!("CARGO_BIN_EXE_orders"), "orders").await;
}

#[tokio::test]
async fn the_worker_command_answers_sqs_batches_with_partial_failures() {
    let function =
        LambdaProcess::start_as_image(env!("CARGO_BIN_EXE_orders"), "checkout_worker_lambda", &[])
            .await;
    let order_id = 900_000_000 + i64::from(std::process::id() % 1000);
    // The function is fed by two queues; each record names the one it came from.
    let task_queue = std::env::var("CHECKOUT_TASK_QUEUE_URL").expect("the local stack's env");
    let task_queue = task_queue.rsplit('/').next().unwrap();
    let arn = |queue: &str| format!("arn:aws:sqs:us-east-1:123456789012:{queue}");
    let notification = serde_json::json!({
        "Type": "Notification", "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:order-events",
        "Message": serde_json::json!({"event_type": "order.confirmed", "order_id": order_id}).to_string(),
        "Timestamp": "2026-12-06T08:00:00.000Z", "SignatureVersion": "1", "Signature": "c2ln",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"});
    let event = serde_json::json!({"Records": [
        {"messageId": "fulfil-1", "receiptHandle": "r1", "eventSource": "aws:sqs",
         "eventSourceARN": arn("fulfillment"), "attributes": {"ApproximateReceiveCount": "1"},
         "body": notification.to_string()},
        {"messageId": "garbage", "receiptHandle": "r2", "eventSource": "aws:sqs",
         "eventSourceARN": arn("fulfillment"), "body": "not json"},
        {"messageId": "task-1", "receiptHandle": "r3", "eventSource": "aws:sqs",
         "eventSourceARN": arn(task_queue), "attributes": {"ApproximateReceiveCount": "1"},
         "body": serde_json::json!({"task": "charge", "order_id": order_id,
             "task_token": "a-token-no-workflow-waits-for"}).to_string()}
    ]});
    let answer = function.invoke(event).await;
    let Answer::Response(response) = answer else {
        panic!("the worker failed: {answer:?}");
    };
    assert_eq!(
        response,
        serde_json::json!({"batchItemFailures": []}),
        "all handled: the task answered (its token stale), one recorded, one unreadable and dropped"
    );
    eprintln!("orders worker: init {:?}", function.init_time().unwrap());
}
