//! A test's own checkout plumbing in the emulator, as scripts/dev/provision.py builds the shared
//! one: the task queue (redrive to a DLQ), the order-events topic fanned out to a fulfillment
//! queue, and the `checkout_workflow` state machine from the repository's ASL file with its
//! placeholders filled in.

use aws_sdk_sqs::types::QueueAttributeName;

use crate::pipeline::sdk;

/// The repository's ASL definition.
pub const ASL: &str = include_str!("../../../statemachines/checkout_workflow.asl.json");

#[derive(Debug, Clone)]
pub struct Checkout {
    pub state_machine_arn: String,
    pub task_queue_url: String,
    pub task_dlq_url: String,
    pub topic_arn: String,
    pub fulfillment_queue_url: String,
    pub sqs: aws_sdk_sqs::Client,
    pub sfn: aws_sdk_sfn::Client,
}

impl Checkout {
    /// The app's variables that point it at this plumbing.
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("CHECKOUT_STATE_MACHINE_ARN", self.state_machine_arn.clone()),
            ("CHECKOUT_TASK_QUEUE_URL", self.task_queue_url.clone()),
            ("FULFILLMENT_QUEUE_URL", self.fulfillment_queue_url.clone()),
            ("ORDER_EVENTS_TOPIC_ARN", self.topic_arn.clone()),
        ]
    }
}

/// The ASL with `${name}` placeholders filled from `values` (as templatefile() does).
pub fn render(values: &[(&str, &str)]) -> String {
    let mut text = ASL.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    assert!(!text.contains("${"), "an unfilled placeholder in the ASL");
    text
}

async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> (String, String) {
    let mut request = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(k.clone(), v);
    }
    let url = request
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default()[&QueueAttributeName::QueueArn]
        .clone();
    (url, arn)
}

pub async fn create(id: &str, table_prefix: &str) -> Checkout {
    let sdk = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let (task_dlq_url, task_dlq_arn) = queue(&sqs, &format!("t{id}-checkout-tasks-dlq"), &[]).await;
    let redrive =
        serde_json::json!({"deadLetterTargetArn": task_dlq_arn, "maxReceiveCount": 5}).to_string();
    let (task_queue_url, _) = queue(
        &sqs,
        &format!("t{id}-checkout-tasks"),
        &[
            (QueueAttributeName::RedrivePolicy, redrive),
            (QueueAttributeName::VisibilityTimeout, "30".into()),
        ],
    )
    .await;
    let topic_arn = sns
        .create_topic()
        .name(format!("t{id}-order-events"))
        .send()
        .await
        .expect("create topic")
        .topic_arn
        .unwrap();
    let (fulfillment_queue_url, fulfillment_arn) =
        queue(&sqs, &format!("t{id}-fulfillment"), &[]).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&fulfillment_arn)
        .send()
        .await
        .expect("subscribe the fulfillment queue");
    let table = format!("{table_prefix}OrderEvents");
    let definition = render(&[
        ("checkout_task_queue_url", &task_queue_url),
        ("order_events_topic_arn", &topic_arn),
        ("OrderEvents_table", &table),
    ]);
    let state_machine_arn = sfn
        .create_state_machine()
        .name(format!("t{id}-checkout_workflow"))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/checkout-workflow")
        .send()
        .await
        .expect("create the state machine")
        .state_machine_arn;
    Checkout {
        state_machine_arn,
        task_queue_url,
        task_dlq_url,
        topic_arn,
        fulfillment_queue_url,
        sqs,
        sfn,
    }
}
