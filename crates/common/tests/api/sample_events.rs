//! The repository's sample Lambda events (`events/<function>/<name>.json`, the ones
//! `cargo lambda invoke --data-file` sends; docs/cargo-lambda.md) fed, unchanged but for the
//! parts a test must make its own, through each function's Lambda entry point: API Gateway HTTP
//! API v2.0 events through `lambda_http` into the function's router (as lambda.rs does), SQS
//! events through the queue runtime's batch handler into the function's consumer. Each asserts
//! the outcome events/README.md documents.
//!
//! What a test makes its own: the caller's identity in `requestContext.authorizer.jwt.claims`
//! (`sub`, `username`, `cognito:groups`, and `iss`/`client_id` of the pool the tests use:
//! the sample carries a placeholder user), the uploaded object's key (the image id is the
//! server's) and the bucket. Everything else — the route, the envelope, the record
//! attributes, the SNS wrapping — is the file's.

use std::{
    collections::BTreeSet,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use common::{
    app::{self, Function},
    config::CheckoutConfig,
    repositories::{
        RepoError,
        workflow_sfn::{TaskAnswer, Workflow},
    },
};
use serde_json::{Value, json};
use testkit::{
    TestApp, images,
    lambda::{LambdaAnswer, apigw_v2_event, claims_of, invoke},
};

/// Every sample and the test that checks it (a new file needs a test here).
const CHECKED: [&str; 8] = [
    "cart/get.json",
    "cart/health.json",
    "image_processor/object_created.json",
    "orders/health.json",
    "orders/list.json",
    "orders/worker_task.json",
    "products/list.json",
    "users/login.json",
];

fn events_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events"))
}

/// `events/<path>`, parsed.
fn sample(path: &str) -> Value {
    let file = events_dir().join(path);
    let text =
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

#[test]
fn every_sample_event_is_checked_by_a_test_here() {
    let mut found = BTreeSet::new();
    for function in std::fs::read_dir(events_dir()).expect("events/") {
        let function = function.unwrap().path();
        if !function.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&function).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "json") {
                found.insert(format!(
                    "{}/{}",
                    function.file_name().unwrap().to_str().unwrap(),
                    file.file_name().unwrap().to_str().unwrap()
                ));
            }
        }
    }
    let checked: BTreeSet<String> = CHECKED.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        found, checked,
        "events/**/*.json and the samples this module checks differ"
    );
    for function in ["users", "products", "cart", "orders", "image_processor"] {
        assert!(
            found.iter().any(|f| f.starts_with(&format!("{function}/"))),
            "no sample event for {function}"
        );
    }
}

/// Asserts what every answer to an API Gateway sample shares: the status, a JSON body, and
/// the gateway's `requestContext.requestId` as the request id (the context was read).
fn assert_answer(name: &str, event: &Value, answer: &LambdaAnswer, status: u16) {
    assert_eq!(
        answer.status, status,
        "{name}: status; body {}",
        answer.body
    );
    assert_eq!(
        answer.headers["x-request-id"], event["requestContext"]["requestId"],
        "{name}: API Gateway's request id is the request id"
    );
}

/// The sample's claims with the identity of `token`'s user (API Gateway's JWT authorizer
/// passes every claim as a string, as [`claims_of`] renders them).
fn with_caller(mut event: Value, token: &str) -> Value {
    let claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
        .as_object_mut()
        .expect("the sample carries the JWT authorizer's claims");
    for required in ["sub", "username", "iss", "client_id", "token_use"] {
        assert!(claims.contains_key(required), "claim {required} missing");
    }
    assert_eq!(claims["token_use"], "access", "an access token's claims");
    for (key, value) in claims_of(token) {
        if ["sub", "username", "iss", "client_id", "cognito:groups"].contains(&key.as_str()) {
            claims.insert(key, Value::String(value));
        }
    }
    event
}

/// Creates a product through the products function, as an admin behind API Gateway.
async fn create_product(app: &TestApp, name: &str) -> i64 {
    let admin = app.admin().await;
    let created = invoke(
        app.function_router(Function::Products).await,
        apigw_v2_event(
            "POST",
            "/v1/products",
            Some(&TestApp::product_body(name, "21.00", 4)),
            Some(&claims_of(&admin.access_token)),
        ),
    )
    .await;
    assert_eq!(created.status, 201, "create: {}", created.body);
    created.body["product_id"].as_i64().unwrap()
}

#[tokio::test]
async fn products_list_lists_the_catalogue_anonymously() {
    let app = TestApp::builder().api_gateway_mode().spawn().await;
    let id = create_product(&app, "Sample lamp").await;
    let event = sample("products/list.json");

    let answer = invoke(app.function_router(Function::Products).await, event.clone()).await;

    assert_answer("products/list", &event, &answer, 200);
    let items = answer.body["items"].as_array().expect("a page of items");
    assert_eq!(items.len(), 1, "{}", answer.body);
    assert_eq!(items[0]["product_id"], id);
    assert_eq!(items[0]["name"], "Sample lamp");
}

#[tokio::test]
async fn users_login_signs_the_dev_admin_in() {
    let app = TestApp::builder().api_gateway_mode().spawn().await;
    let event = sample("users/login.json");

    let answer = invoke(app.function_router(Function::Users).await, event.clone()).await;

    assert_answer("users/login", &event, &answer, 200);
    assert_eq!(answer.body["token_type"], "Bearer");
    let token = answer.body["access_token"]
        .as_str()
        .expect("an access token");
    let claims = claims_of(token);
    assert_eq!(claims["token_use"], "access");
    assert_eq!(claims["iss"], app.cognito.issuer);
    assert!(
        claims["cognito:groups"].contains("admin"),
        "the dev admin's token: {claims:?}"
    );
}

#[tokio::test]
async fn cart_get_reads_the_callers_cart() {
    let app = TestApp::builder().api_gateway_mode().spawn().await;
    let id = create_product(&app, "Sample mug").await;
    let customer = app.customer().await;
    let cart = || async { app.function_router(Function::Cart).await };
    let added = invoke(
        cart().await,
        apigw_v2_event(
            "POST",
            "/v1/cart/items",
            Some(&json!({"product_id": id, "quantity": 2})),
            Some(&claims_of(&customer.access_token)),
        ),
    )
    .await;
    assert!(added.status < 300, "add: {} {}", added.status, added.body);
    let event = with_caller(sample("cart/get.json"), &customer.access_token);

    let answer = invoke(cart().await, event.clone()).await;

    assert_answer("cart/get", &event, &answer, 200);
    assert_eq!(answer.body["items"][0]["product_id"], id, "{}", answer.body);
    assert_eq!(answer.body["items"][0]["quantity"], 2);
    assert_eq!(answer.body["subtotal"], "42.00");
}

#[tokio::test]
async fn orders_list_lists_the_callers_orders() {
    let app = TestApp::builder().api_gateway_mode().spawn().await;
    let customer = app.customer().await;
    let event = with_caller(sample("orders/list.json"), &customer.access_token);

    let answer = invoke(app.function_router(Function::Orders).await, event.clone()).await;

    assert_answer("orders/list", &event, &answer, 200);
    assert_eq!(
        answer.body["items"],
        json!([]),
        "a new customer has no orders"
    );
}

#[tokio::test]
async fn cart_and_orders_health_answer_anonymously() {
    let app = TestApp::builder().api_gateway_mode().spawn().await;
    for (function, path) in [
        (Function::Cart, "cart/health.json"),
        (Function::Orders, "orders/health.json"),
    ] {
        let event = sample(path);
        let answer = invoke(app.function_router(function).await, event.clone()).await;
        assert_answer(path, &event, &answer, 200);
        assert_eq!(answer.body["status"], "ok", "{path}: {}", answer.body);
        assert!(answer.body["checks"].is_object(), "{path}: {}", answer.body);
    }
}

/// An SQS sample as the Lambda event source hands it over.
fn sqs_event(event: Value) -> aws_lambda_events::event::sqs::SqsEvent {
    serde_json::from_value(event).expect("a valid SQS event")
}

#[tokio::test]
async fn image_processor_object_created_makes_the_uploads_thumbnails() {
    let app = TestApp::builder()
        .with_image_pipeline()
        .without_poller()
        .spawn()
        .await;
    let bucket = app.pipeline.as_ref().unwrap().bucket.clone();
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Sample frame", "19.00", 3))
        .await;
    let id = product["product_id"].as_i64().unwrap();
    let bytes = images::jpeg(400, 300);
    let upload: Value = app
        .send_json(
            reqwest::Method::POST,
            &format!("/v1/products/{id}/images"),
            Some(&admin.access_token),
            &json!({"content_type": "image/jpeg", "content_length": bytes.len()}),
        )
        .await
        .json()
        .await
        .unwrap();
    let put = app
        .client
        .put(upload["url"].as_str().expect("a presigned URL"))
        .header("content-type", "image/jpeg")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "PUT: {}", put.status());
    let image_id = upload["image_id"].as_str().unwrap();

    // The sample's S3 → SNS → SQS envelope, naming this test's upload.
    let mut event = sample("image_processor/object_created.json");
    let record = &mut event["Records"][0];
    let mut sns: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
    assert_eq!(sns["Type"], "Notification", "an SNS envelope");
    let mut s3: Value = serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
    let sample_key = s3["Records"][0]["s3"]["object"]["key"].as_str().unwrap();
    assert!(
        sample_key.starts_with("raw/products/"),
        "an upload's key: {sample_key}"
    );
    s3["Records"][0]["s3"]["object"]["key"] = json!(format!("raw/products/{id}/{image_id}"));
    s3["Records"][0]["s3"]["bucket"]["name"] = json!(bucket);
    sns["Message"] = json!(s3.to_string());
    record["body"] = json!(sns.to_string());
    let message_id = record["messageId"].clone();

    let routes = common::runtime::queue::Routes::one(common::runtime::queue::consumer(
        app::image_processor(&app.resources).await.unwrap(),
    ));
    let response = common::runtime::queue::handle_sqs_event(&routes, sqs_event(event))
        .await
        .expect("the batch is handled");

    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": []}),
        "message {message_id} handled"
    );
    let list: Value = app
        .get(&format!("/v1/products/{id}/images"), None)
        .await
        .json()
        .await
        .unwrap();
    let image = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["image_id"] == image_id)
        .unwrap_or_else(|| panic!("the image in {list}"));
    assert_eq!(image["status"], "processed", "{image}");
    assert!(image["thumbnail_url"].is_string(), "{image}");
}

/// The checkout workflow's side of a task token: records each answer instead of calling
/// Step Functions.
#[derive(Default)]
struct AnswerLog(Mutex<Vec<(&'static str, String, String)>>);

#[async_trait]
impl Workflow for AnswerLog {
    async fn start(&self, _name: &str, _input: &str) -> Result<(), RepoError> {
        Ok(())
    }
    async fn succeed(&self, token: &str, output: &str) -> Result<TaskAnswer, RepoError> {
        let entry = ("succeed", token.to_owned(), output.to_owned());
        self.0.lock().unwrap().push(entry);
        Ok(TaskAnswer::Accepted)
    }
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<TaskAnswer, RepoError> {
        let entry = ("fail", token.to_owned(), format!("{error}: {cause}"));
        self.0.lock().unwrap().push(entry);
        Ok(TaskAnswer::Accepted)
    }
    async fn heartbeat(&self, _token: &str) -> Result<TaskAnswer, RepoError> {
        Ok(TaskAnswer::Accepted)
    }
}

#[tokio::test]
async fn orders_worker_task_answers_the_steps_task_token() {
    let app = TestApp::builder().spawn().await;
    let answers = Arc::new(AnswerLog::default());
    app.resources.set_workflow(answers.clone());
    let event = sample("orders/worker_task.json");
    let body: Value = serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
    let token = body["task_token"]
        .as_str()
        .expect("a task token")
        .to_owned();
    assert_eq!(body["task"], "reserve");

    // The orders `worker` function's queues, as it routes them: the task queue's records (by
    // the record's eventSourceARN) to the saga's steps, every other queue's to fulfillment.
    let checkout = CheckoutConfig::from_env(&app.resources.env).expect("checkout settings");
    let task_queue = common::runtime::queue::queue_name(&checkout.task_queue_url);
    let routes = common::runtime::queue::Routes::one(common::runtime::queue::consumer(
        app::fulfillment(&app.resources).await.unwrap(),
    ))
    .with(
        Some(task_queue),
        common::runtime::queue::consumer(app::checkout_worker(&app.resources).await.unwrap()),
    );
    let response = common::runtime::queue::handle_sqs_event(&routes, sqs_event(event))
        .await
        .expect("the batch is handled");

    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": []})
    );
    let answers = answers.0.lock().unwrap().clone();
    assert_eq!(answers.len(), 1, "one answer to the step: {answers:?}");
    let (kind, answered, detail) = &answers[0];
    assert_eq!(answered, &token, "the sample's task token is answered");
    // Order 1 does not exist in the test's fresh database: the step fails for good (not
    // `StepRetryable`), and the saga would take its failure path.
    assert_eq!(*kind, "fail", "{detail}");
    assert!(!detail.starts_with("StepRetryable"), "{detail}");
}
