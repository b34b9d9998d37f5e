//! A test's own image pipeline in the emulator: bucket → (raw/ notification) → SNS topic →
//! SQS queue (redrive to a DLQ after 3 receives), as scripts/dev/provision.py builds the shared one.

use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    S3KeyFilter, TopicConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::var;

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub bucket: String,
    pub topic_arn: String,
    pub queue_url: String,
    pub dlq_url: String,
    pub public_base_url: String,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
}

impl Pipeline {
    /// The app's variables that point it at this pipeline.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            ("IMAGES_BUCKET", self.bucket.clone()),
            ("IMAGE_QUEUE_URL", self.queue_url.clone()),
        ]
    }
}

pub const MAX_RECEIVE_COUNT: i32 = 3;

pub(crate) async fn sdk() -> aws_config::SdkConfig {
    let endpoint = var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(
            var("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    attributes[&QueueAttributeName::QueueArn].clone()
}

pub async fn create(id: &str) -> Pipeline {
    let sdk = sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bucket = format!("t{id}-images");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    let topic_arn = sns
        .create_topic()
        .name(format!("t{id}-image-uploads"))
        .send()
        .await
        .expect("topic")
        .topic_arn
        .unwrap();

    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("t{id}-image-dlq"))
        .send()
        .await
        .expect("dlq")
        .queue_url
        .unwrap();
    let dlq_arn = queue_arn(&sqs, &dlq_url).await;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT.to_string()}).to_string();
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("t{id}-image-processing"))
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await
        .expect("queue")
        .queue_url
        .unwrap();
    let queue_arn = queue_arn(&sqs, &queue_url).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .expect("subscribe");
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value("raw/")
                        .build(),
                )
                .build(),
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .topic_configurations(
                    TopicConfiguration::builder()
                        .topic_arn(&topic_arn)
                        .events(Event::from("s3:ObjectCreated:*"))
                        .filter(filter)
                        .build()
                        .expect("topic configuration"),
                )
                .build(),
        )
        .send()
        .await
        .expect("bucket notification");
    let endpoint = var("AWS_ENDPOINT_URL").unwrap();
    Pipeline {
        public_base_url: format!("{}/{bucket}", endpoint.trim_end_matches('/')),
        bucket,
        topic_arn,
        queue_url,
        dlq_url,
        s3,
        sqs,
    }
}

impl Pipeline {
    /// The object's bytes, if it exists.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let out = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(out.body.collect().await.ok()?.to_vec())
    }

    /// Messages now visible in the DLQ.
    pub async fn dlq_depth(&self) -> usize {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.dlq_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        out.attributes
            .and_then(|a| {
                a.get(&QueueAttributeName::ApproximateNumberOfMessages)
                    .cloned()
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}
