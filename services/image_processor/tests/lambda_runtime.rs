//! The real `image_processor` binary under a Lambda Runtime API emulator, fed SQS events.

use testkit::runtime_api::{Answer, LambdaProcess};

#[tokio::test]
async fn the_binary_answers_sqs_events_under_the_lambda_runtime() {
    let function = LambdaProcess::start_as_image(
        env!("CARGO_BIN_EXE_image_processor"),
        "image_processing_lambda",
        &[],
    )
    .await;
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
    let event = serde_json::json!({"Records": [
        {"messageId": "m-1", "receiptHandle": "r", "eventSource": "aws:sqs", "body": test_event}
    ]});
    let Answer::Response(response) = function.invoke(event).await else {
        panic!("the function failed");
    };
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}));
    let no_id = serde_json::json!({"Records": [{"eventSource": "aws:sqs", "body": test_event}]});
    assert!(
        matches!(function.invoke(no_id).await, Answer::Error(_)),
        "a record without a message id fails the whole batch"
    );
    eprintln!("image_processor: init {:?}", function.init_time().unwrap());
}
