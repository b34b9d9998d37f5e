//! The image pipeline end to end against the emulator: presign → HTTP PUT of real bytes →
//! S3 notification → SNS → SQS → processor → thumbnails → `processed`, plus its failure modes.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{TestApp, TestUser, images};

async fn upload(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    content_type: &str,
    bytes: &[u8],
) -> Value {
    let response = app
        .send_json(
            Method::POST,
            path,
            Some(&user.access_token),
            &json!({"content_type": content_type, "content_length": bytes.len()}),
        )
        .await;
    assert_eq!(response.status(), 201, "presign {path}");
    let upload: Value = response.json().await.unwrap();
    let put = app
        .client
        .put(upload["url"].as_str().unwrap())
        .header(
            "content-type",
            upload["headers"]["content-type"].as_str().unwrap(),
        )
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert!(
        put.status().is_success(),
        "PUT to the presigned URL: {}",
        put.status()
    );
    upload
}

async fn image_status(app: &TestApp, product_id: i64, image_id: &str) -> Option<Value> {
    let list: Value = app
        .get(&format!("/v1/products/{product_id}/images"), None)
        .await
        .json()
        .await
        .ok()?;
    list["items"]
        .as_array()?
        .iter()
        .find(|i| i["image_id"] == image_id)
        .cloned()
}

async fn failure_reason(app: &TestApp, image_id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT failure_reason FROM product_images WHERE image_id = $1::UUID")
        .bind(image_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn uploaded_product_images_become_thumbnails_of_the_right_size() {
    let app = TestApp::builder().with_image_pipeline().spawn().await;
    let pipeline = app.pipeline.clone().unwrap();
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Photo frame", "19.00", 3))
        .await;
    let id = product["product_id"].as_i64().unwrap();
    let path = format!("/v1/products/{id}/images");

    // A phone photo: an APP1 EXIF segment (with a GPS IFD pointer) right after SOI.
    let with_exif = {
        let plain = images::jpeg(1600, 1200);
        let mut tiff = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x25\x88\x04\0\x01\0\0\0\x1a\0\0\0\0\0\0\0GPS 52.5200N 13.4050E".to_vec();
        tiff.resize(64, 0);
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&[0xff, 0xe1]);
        out.extend_from_slice(&((tiff.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&tiff);
        out.extend_from_slice(&plain[2..]);
        assert!(out.windows(4).any(|w| w == b"Exif"));
        out
    };
    // (type, bytes, expected 1024 box, expected 256 box)
    let cases = [
        ("image/jpeg", with_exif, (1024, 768), (256, 192)),
        ("image/png", images::png(900, 1400), (658, 1024), (165, 256)),
        ("image/webp", images::webp(500, 300), (500, 300), (256, 154)),
    ];
    let mut last_large = String::new();
    for (content_type, bytes, large, small) in cases {
        let upload = upload(&app, &admin, &path, content_type, &bytes).await;
        let image_id = upload["image_id"].as_str().unwrap().to_owned();
        assert_eq!(upload["method"], "PUT");
        let pending = image_status(&app, id, &image_id)
            .await
            .expect("listed at once");
        assert!(
            matches!(pending["status"].as_str(), Some("pending" | "processed")),
            "{pending}"
        );

        app.eventually(
            &format!("the {content_type} image is processed"),
            || async {
                image_status(&app, id, &image_id)
                    .await
                    .is_some_and(|i| i["status"] == "processed")
            },
        )
        .await;
        let listed = image_status(&app, id, &image_id).await.unwrap();
        let thumb_url = listed["thumbnail_url"].as_str().unwrap();
        assert!(
            thumb_url.ends_with(&format!("thumbnails/products/{id}/{image_id}_256.jpg")),
            "{thumb_url}"
        );
        let original_url = listed["original_url"].as_str().unwrap();
        assert!(
            original_url.ends_with(&format!("originals/products/{id}/{image_id}.jpg")),
            "the original is the re-encoded copy, never the raw upload: {original_url}"
        );
        // Anyone can fetch what the API returns; the copy is a JPEG with no metadata left.
        for url in [thumb_url, original_url] {
            let served = reqwest::get(url).await.unwrap();
            assert_eq!(served.status(), 200, "{url}");
            assert_eq!(served.headers()["content-type"], "image/jpeg", "{url}");
            let bytes = served.bytes().await.unwrap();
            assert_eq!(&bytes[..2], &[0xff, 0xd8], "{url}");
            assert!(
                !bytes.windows(4).any(|w| w == b"Exif"),
                "{url}: no EXIF survives"
            );
        }
        for (edge, expected) in [(1024, large), (256, small)] {
            let key = format!("thumbnails/products/{id}/{image_id}_{edge}.jpg");
            let thumb = pipeline
                .object(&key)
                .await
                .unwrap_or_else(|| panic!("{key} exists"));
            assert_eq!(
                images::dimensions(&thumb),
                expected,
                "{content_type} at {edge}"
            );
            assert_eq!(&thumb[..2], &[0xff, 0xd8], "thumbnails are JPEG");
        }
        last_large = format!(
            "{}/thumbnails/products/{id}/{image_id}_1024.jpg",
            app.url("/images")
        );
    }

    app.eventually("the product shows its images", || async {
        let p: Value = app
            .get(&format!("/v1/products/{id}"), None)
            .await
            .json()
            .await
            .unwrap();
        p["image_urls"].as_array().is_some_and(|u| u.len() == 3) && p["thumbnail_url"].is_string()
    })
    .await;
    let p: Value = app
        .get(&format!("/v1/products/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["image_urls"][2], last_large.as_str());
    let item = app.catalog_item(id).await.unwrap();
    assert_eq!(
        item["image_urls"].as_l().unwrap().len(),
        3,
        "ProductCatalog has them too"
    );
    assert_eq!(pipeline.dlq_depth().await, 0);
}

#[tokio::test]
async fn an_avatar_upload_sets_the_users_avatar_url() {
    let app = TestApp::builder().with_image_pipeline().spawn().await;
    let customer = app.customer().await;
    let upload = upload(
        &app,
        &customer,
        "/v1/users/me/avatar",
        "image/jpeg",
        &images::jpeg(640, 640),
    )
    .await;
    let image_id = upload["image_id"].as_str().unwrap().to_owned();
    assert!(upload["url"].as_str().unwrap().contains("/raw/users/"));
    app.eventually("the avatar is set", || async {
        let me: Value = app
            .get("/v1/users/me", Some(&customer.access_token))
            .await
            .json()
            .await
            .unwrap();
        me["avatar_url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("{image_id}_256.jpg")))
    })
    .await;
    let me: Value = app
        .get("/v1/users/me", Some(&customer.access_token))
        .await
        .json()
        .await
        .unwrap();
    let served = reqwest::get(me["avatar_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        served.status(),
        200,
        "an anonymous client fetches the avatar"
    );

    // Only processed images are served: never a raw upload, nothing outside the prefixes.
    let raw = upload["url"].as_str().unwrap();
    let raw_key = &raw[raw.find("/raw/").unwrap() + 1..raw.find('?').unwrap_or(raw.len())];
    for path in [
        format!("/images/{raw_key}"),
        "/images/thumbnails/../raw/x.jpg".into(),
        "/images/originals/users/1/missing.jpg".into(),
        "/images/secrets.txt".into(),
    ] {
        let response = app.get(&path, None).await;
        crate::assert_error(response, 404, "RESOURCE_NOT_FOUND", &path).await;
    }
}

#[tokio::test]
async fn uploads_refuse_bad_types_sizes_and_callers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Bowl", "9.00", 1))
        .await;
    let path = format!("/v1/products/{}/images", product["product_id"]);
    let cases = [
        (
            "a GIF",
            json!({"content_type": "image/gif", "content_length": 10}),
            "content_type",
        ),
        (
            "empty",
            json!({"content_type": "image/png", "content_length": 0}),
            "content_length",
        ),
        (
            "over 10 MiB",
            json!({"content_type": "image/png", "content_length": 10 * 1024 * 1024 + 1}),
            "content_length",
        ),
        ("no length", json!({"content_type": "image/png"}), "body"),
    ];
    for (case, body, field) in cases {
        let response = app
            .send_json(Method::POST, &path, Some(&admin.access_token), &body)
            .await;
        let error = crate::assert_error(response, 400, "VALIDATION_FAILED", case).await;
        assert_eq!(error["error"]["details"][0]["field"], field, "{case}");
        let avatar = app
            .send_json(
                Method::POST,
                "/v1/users/me/avatar",
                Some(&customer.access_token),
                &body,
            )
            .await;
        crate::assert_error(avatar, 400, "VALIDATION_FAILED", &format!("avatar {case}")).await;
    }
    let ok = json!({"content_type": "image/png", "content_length": 100});
    crate::assert_error(
        app.send_json(Method::POST, &path, Some(&customer.access_token), &ok)
            .await,
        403,
        "FORBIDDEN",
        "customer",
    )
    .await;
    crate::assert_error(
        app.send_json(Method::POST, &path, None, &ok).await,
        401,
        "UNAUTHENTICATED",
        "anonymous",
    )
    .await;
    crate::assert_error(
        app.send_json(Method::POST, "/v1/users/me/avatar", None, &ok)
            .await,
        401,
        "UNAUTHENTICATED",
        "anonymous avatar",
    )
    .await;
    let missing = app
        .send_json(
            Method::POST,
            "/v1/products/777777/images",
            Some(&admin.access_token),
            &ok,
        )
        .await;
    crate::assert_error(missing, 404, "RESOURCE_NOT_FOUND", "unknown product").await;
}

#[tokio::test]
async fn the_presigned_url_signs_the_type_the_length_and_fifteen_minutes() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Signed", "9.00", 1))
        .await;
    let id = product["product_id"].as_i64().unwrap();
    let before = chrono::Utc::now();
    let response = app
        .send_json(
            Method::POST,
            &format!("/v1/products/{id}/images"),
            Some(&admin.access_token),
            &json!({"content_type": "image/webp", "content_length": 4321}),
        )
        .await;
    let upload: Value = response.json().await.unwrap();
    let url = reqwest::Url::parse(upload["url"].as_str().unwrap()).unwrap();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
    assert_eq!(query["X-Amz-Expires"], "900", "valid 15 minutes");
    let signed: Vec<&str> = query["X-Amz-SignedHeaders"].split(';').collect();
    for header in ["content-length", "content-type", "host"] {
        assert!(signed.contains(&header), "{header} is signed: {signed:?}");
    }
    assert!(query.contains_key("X-Amz-Signature") && query.contains_key("X-Amz-Credential"));
    assert!(
        url.path().ends_with(&format!(
            "/raw/products/{id}/{}",
            upload["image_id"].as_str().unwrap()
        )),
        "{url}"
    );
    assert_eq!(upload["headers"], json!({"content-type": "image/webp"}));
    let expires =
        chrono::DateTime::parse_from_rfc3339(upload["expires_at"].as_str().unwrap()).unwrap();
    let minutes = (expires.with_timezone(&chrono::Utc) - before).num_seconds();
    assert!(
        (895..=905).contains(&minutes),
        "expires_at is 15 minutes ahead ({minutes} s)"
    );
}

#[tokio::test]
async fn corrupt_files_mismatched_types_and_bombs_end_failed_with_a_reason() {
    let app = TestApp::builder().with_image_pipeline().spawn().await;
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Broken", "9.00", 1))
        .await;
    let id = product["product_id"].as_i64().unwrap();
    let path = format!("/v1/products/{id}/images");
    let mut truncated = images::jpeg(800, 600);
    truncated.truncate(truncated.len() / 3);
    let cases = [
        ("garbage", "image/jpeg", b"definitely not an image".to_vec()),
        ("truncated JPEG", "image/jpeg", truncated),
        ("PNG declared as JPEG", "image/jpeg", images::png(50, 50)),
        (
            "decompression bomb",
            "image/png",
            images::png_bomb(100_000, 100_000),
        ),
    ];
    for (case, content_type, bytes) in cases {
        let upload = upload(&app, &admin, &path, content_type, &bytes).await;
        let image_id = upload["image_id"].as_str().unwrap().to_owned();
        app.eventually(&format!("{case} ends failed"), || async {
            image_status(&app, id, &image_id)
                .await
                .is_some_and(|i| i["status"] == "failed")
        })
        .await;
        let reason = failure_reason(&app, &image_id).await;
        assert!(
            reason.as_deref().is_some_and(|r| !r.is_empty()),
            "{case}: a reason is recorded"
        );
        if case == "decompression bomb" {
            assert_eq!(reason.as_deref(), Some("too_large"), "{case}");
        }
    }
    let p: Value = app
        .get(&format!("/v1/products/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        p["thumbnail_url"].is_null(),
        "failed images leave the product alone"
    );
    assert_eq!(
        app.pipeline.as_ref().unwrap().dlq_depth().await,
        0,
        "a bad image is not a retryable error"
    );
}

fn sqs_event(records: &[(&str, String)]) -> aws_lambda_events::event::sqs::SqsEvent {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795862100000", "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "1795862100001"},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:image-processing", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({"Records": records})).expect("a valid SQS event")
}

fn s3_notification(bucket: &str, key: &str) -> String {
    let encoded = key.replace('/', "%2F");
    // As S3 writes the event and SNS wraps it for an SQS subscriber (no raw delivery).
    let event = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-12-06T08:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "r", "x-amz-id-2": "i"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "raw-uploads",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "AIDAEXAMPLE"},
                          "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": encoded, "size": 10, "eTag": "e", "sequencer": "0"}}
    }]});
    json!({"Type": "Notification", "MessageId": "m",
           "TopicArn": "arn:aws:sns:us-east-1:123456789012:image-uploads",
           "Message": event.to_string(), "Timestamp": "2026-12-06T08:00:00.000Z",
           "SignatureVersion": "1", "Signature": "c2ln",
           "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
           "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"})
    .to_string()
}

/// The image processor function's one consumer.
fn image_routes(app: &TestApp) -> common::runtime::queue::Routes {
    common::runtime::queue::Routes::one(common::runtime::queue::consumer(app.images.clone()))
}

async fn presign_and_put(
    app: &TestApp,
    admin: &TestUser,
    product_id: i64,
    bytes: &[u8],
) -> (String, String) {
    let upload = upload(
        app,
        admin,
        &format!("/v1/products/{product_id}/images"),
        "image/jpeg",
        bytes,
    )
    .await;
    let image_id = upload["image_id"].as_str().unwrap().to_owned();
    (
        image_id.clone(),
        format!("raw/products/{product_id}/{image_id}"),
    )
}

#[tokio::test]
async fn a_mixed_batch_reports_exactly_the_poison_message_and_redelivery_is_harmless() {
    let app = TestApp::builder()
        .with_image_pipeline()
        .without_poller()
        .spawn()
        .await;
    let bucket = app.pipeline.as_ref().unwrap().bucket.clone();
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Batch", "9.00", 1))
        .await;
    let id = product["product_id"].as_i64().unwrap();
    let (good_id, good_key) = presign_and_put(&app, &admin, id, &images::jpeg(300, 200)).await;
    let (_, poison_key) = presign_and_put(&app, &admin, id, &images::jpeg(300, 200)).await;
    app.faults
        .poison_keys
        .lock()
        .unwrap()
        .push(poison_key.clone());

    let compact = json!({"bucket": bucket, "key": good_key, "entityType": "product", "entityId": id.to_string(), "correlationId": "c-1"}).to_string();
    let test_event =
        json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": bucket}).to_string();
    let event = sqs_event(&[
        ("good", s3_notification(&bucket, &good_key)),
        ("poison", s3_notification(&bucket, &poison_key)),
        ("test-event", test_event),
        ("compact-duplicate", compact),
    ]);
    let response = common::runtime::queue::handle_sqs_event(&image_routes(&app), event)
        .await
        .unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["poison"], "only the poison message is retried");
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(
        wire,
        json!({"batchItemFailures": [{"itemIdentifier": "poison"}]}),
        "the Lambda response shape"
    );
    assert_eq!(
        image_status(&app, id, &good_id).await.unwrap()["status"],
        "processed"
    );

    // SQS delivers at least once: the same message again changes nothing.
    let again = common::runtime::queue::handle_sqs_event(
        &image_routes(&app),
        sqs_event(&[("good", s3_notification(&bucket, &good_key))]),
    )
    .await
    .unwrap();
    assert!(again.batch_item_failures.is_empty());
    let urls: Vec<Vec<String>> =
        sqlx::query_scalar("SELECT image_urls FROM products WHERE product_id = $1")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(urls[0].len(), 1, "one image, listed once");

    let missing_id =
        serde_json::from_value(json!({"Records": [{"body": "{}", "eventSource": "aws:sqs"}]}))
            .unwrap();
    assert!(
        common::runtime::queue::handle_sqs_event(&image_routes(&app), missing_id)
            .await
            .is_err(),
        "no message id: the whole batch is retried"
    );
}

#[tokio::test]
async fn a_message_that_keeps_failing_lands_in_the_dlq_after_max_receives() {
    let app = TestApp::builder().with_image_pipeline().spawn().await;
    let pipeline = app.pipeline.clone().unwrap();
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Doomed", "9.00", 1))
        .await;
    let id = product["product_id"].as_i64().unwrap();
    app.faults.objects.fail(); // S3 reads fail: a transient error, retried by SQS
    let (image_id, _) = presign_and_put(&app, &admin, id, &images::jpeg(200, 200)).await;
    app.eventually("the message reaches the DLQ", || async {
        pipeline.dlq_depth().await == 1
    })
    .await;
    assert_eq!(
        image_status(&app, id, &image_id).await.unwrap()["status"],
        "pending",
        "a transient failure is not a verdict"
    );
}
