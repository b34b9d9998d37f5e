//! The generic queue consumer: a [`MessageHandler`] behind Lambda's SQS event source (partial
//! batch failures) or a local long-poll loop that settles messages the same way (handled ones
//! deleted, failed ones made visible again after `retry_after`). The message's envelopes come
//! off here ([`super::envelope`]); one that cannot be read is dropped loudly, since no retry
//! can fix it.

use std::{sync::Arc, time::Duration};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::StreamExt;

use super::envelope::Decode;
use crate::{
    error::{BoxError, Error, error_chain},
    services::queue::MessageHandler,
};

/// One delivery of one message, as it came off the queue.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub body: String,
    /// How many times SQS has delivered it (1 on the first delivery).
    pub receive_count: u32,
}

/// A queue's consumer as the runtime runs it: the body decoded, then handled.
#[async_trait::async_trait]
pub trait Consumer: Send + Sync + 'static {
    async fn consume(&self, body: &str) -> Result<(), Error>;
}

struct Decoded<H>(Arc<H>);

#[async_trait::async_trait]
impl<H> Consumer for Decoded<H>
where
    H: MessageHandler,
    H::Message: Decode,
{
    async fn consume(&self, body: &str) -> Result<(), Error> {
        match H::Message::decode(body) {
            Ok(message) => self.0.handle(message).await,
            Err(reason) => {
                tracing::error!(%reason, "unreadable message dropped");
                Ok(())
            }
        }
    }
}

/// `handler` with its messages decoded at the edge.
pub fn consumer<H>(handler: Arc<H>) -> Arc<dyn Consumer>
where
    H: MessageHandler,
    H::Message: Decode,
{
    Arc::new(Decoded(handler))
}

/// Which consumer a Lambda function's record goes to, by the queue it came from (the record's
/// `eventSourceARN`): a function with one consumer takes every record; a function fed by
/// several queues names each, and `None` takes the queues not named.
#[derive(Clone)]
pub struct Routes(Vec<(Option<String>, Arc<dyn Consumer>)>);

impl Routes {
    pub fn one(consumer: Arc<dyn Consumer>) -> Self {
        Self(vec![(None, consumer)])
    }

    /// Adds the consumer of the queue named `queue` (`None`: every other queue).
    pub fn with(mut self, queue: Option<String>, consumer: Arc<dyn Consumer>) -> Self {
        self.0.push((queue, consumer));
        self
    }

    fn route(&self, source_arn: Option<&str>) -> Option<&Arc<dyn Consumer>> {
        let queue = source_arn.and_then(|arn| arn.rsplit(':').next());
        self.0
            .iter()
            .find(|(name, _)| name.is_some() && name.as_deref() == queue)
            .or_else(|| self.0.iter().find(|(name, _)| name.is_none()))
            .map(|(_, consumer)| consumer)
    }
}

/// The queue name of a queue URL (`https://sqs…/123456789012/name` → `name`).
pub fn queue_name(queue_url: &str) -> String {
    queue_url.rsplit('/').next().unwrap_or(queue_url).to_owned()
}

/// How many messages of one batch are handled at once.
pub const CONCURRENCY: usize = 10;

/// Handles `deliveries` concurrently (at most [`CONCURRENCY`] at a time), each with its
/// consumer; returns the ids of the ones to deliver again.
fn handle_deliveries(
    deliveries: Vec<(Delivery, Option<Arc<dyn Consumer>>)>,
) -> futures::future::BoxFuture<'static, Vec<String>> {
    // Boxed as `Send` here: the stream's closures would otherwise leave the spawned poller's
    // future with a `Send` bound the compiler cannot prove for every lifetime.
    Box::pin(futures::stream::iter(deliveries)
        .map(|(delivery, consumer)| async move {
            let Some(consumer) = consumer else {
                tracing::error!(message_id = %delivery.id, "a message from a queue this function does not consume");
                return Some(delivery.id);
            };
            match consumer.consume(&delivery.body).await {
                Ok(()) => None,
                Err(err) => {
                    tracing::warn!(
                        message_id = %delivery.id,
                        receive_count = delivery.receive_count,
                        retryable = err.is_retryable(),
                        error = %error_chain(&err),
                        "message will be delivered again"
                    );
                    Some(delivery.id)
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|failed| async move { failed })
        .collect())
}

/// Handles `deliveries` with `consumer`; returns the ids of the ones to deliver again.
pub async fn handle_messages(
    consumer: Arc<dyn Consumer>,
    deliveries: Vec<Delivery>,
) -> Vec<String> {
    let mut routed = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        routed.push((delivery, Some(consumer.clone())));
    }
    handle_deliveries(routed).await
}

/// A Lambda SQS batch in, the messages to retry out (`batchItemFailures`). A record without a
/// message id cannot be reported alone, so the whole batch is failed instead (never an empty
/// id).
pub async fn handle_sqs_event(
    routes: &Routes,
    event: SqsEvent,
) -> Result<SqsBatchResponse, BoxError> {
    let mut deliveries = Vec::with_capacity(event.records.len());
    for record in event.records {
        let id = record
            .message_id
            .ok_or("an SQS record without a messageId")?;
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let consumer = routes.route(record.event_source_arn.as_deref()).cloned();
        deliveries.push((
            Delivery {
                id,
                body: record.body.unwrap_or_default(),
                receive_count,
            },
            consumer,
        ));
    }
    let mut response = SqsBatchResponse::default();
    for id in handle_deliveries(deliveries).await {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// Serves `routes` as a Lambda function with SQS event sources.
pub async fn run_lambda(routes: Routes) -> Result<(), BoxError> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
            let routes = routes.clone();
            async move { handle_sqs_event(&routes, event.payload).await }
        },
    ))
    .await
}

/// Long-polls `queue_url` and feeds `consumer`, like the Lambda event source mapping: handled
/// messages are deleted; failed ones become visible again after a backoff of `retry_after`,
/// doubled at each further receive (10 s, 20 s, 40 s … at most 15 minutes for the local
/// server), so an outage of half a minute does not spend a message's receives before the
/// dependency is back; they reach the DLQ after the queue's `maxReceiveCount`.
pub fn spawn_poller(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    consumer: Arc<dyn Consumer>,
    retry_after: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let received = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(2)
                .message_system_attribute_names(
                    aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
                )
                .send()
                .await;
            let received = match received {
                Ok(out) => out.messages.unwrap_or_default(),
                Err(err) => {
                    tracing::warn!(queue = %queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(&err), "receiving from a queue failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if received.is_empty() {
                continue;
            }
            let batch: Vec<Delivery> = received
                .iter()
                .filter_map(|m| {
                    Some(Delivery {
                        id: m.message_id.clone()?,
                        body: m.body.clone().unwrap_or_default(),
                        receive_count: m
                            .attributes()
                            .and_then(|a| {
                                a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                            })
                            .and_then(|c| c.parse().ok())
                            .unwrap_or(1),
                    })
                })
                .collect();
            let failed = handle_messages(consumer.clone(), batch).await;
            let settle = received.iter().filter_map(|message| {
                let (id, receipt) = (message.message_id.as_ref()?, message.receipt_handle.as_ref()?);
                let sqs = &sqs;
                let queue_url = &queue_url;
                let retry = failed.contains(id);
                let receives = message
                    .attributes()
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                    })
                    .and_then(|c| c.parse::<u32>().ok())
                    .unwrap_or(1);
                let backoff = retry_backoff(retry_after, receives);
                Some(async move {
                    let result = if retry {
                        sqs.change_message_visibility()
                            .queue_url(queue_url)
                            .receipt_handle(receipt)
                            .visibility_timeout(backoff.as_secs() as i32)
                            .send()
                            .await
                            .map(drop)
                            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
                    } else {
                        sqs.delete_message()
                            .queue_url(queue_url)
                            .receipt_handle(receipt)
                            .send()
                            .await
                            .map(drop)
                            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
                    };
                    if let Err(err) = result {
                        tracing::warn!(message_id = %id, error = %err, "could not settle a message");
                    }
                })
            });
            futures::future::join_all(settle).await;
        }
    })
}

/// How long a failed message stays invisible after its `receives`-th receive.
pub fn retry_backoff(retry_after: Duration, receives: u32) -> Duration {
    let factor = 2_u32.saturating_pow(receives.saturating_sub(1).min(16));
    retry_after
        .saturating_mul(factor)
        .min(Duration::from_secs(15 * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(&'static str, std::sync::Mutex<Vec<&'static str>>);

    #[async_trait::async_trait]
    impl Consumer for Named {
        async fn consume(&self, _body: &str) -> Result<(), Error> {
            self.1.lock().unwrap().push(self.0);
            Ok(())
        }
    }

    #[tokio::test]
    async fn each_record_goes_to_the_consumer_of_its_queue() {
        let tasks = Arc::new(Named("tasks", Default::default()));
        let other = Arc::new(Named("other", Default::default()));
        let routes = Routes::one(other.clone()).with(
            Some(queue_name("https://sqs.local/123/shop-tasks")),
            tasks.clone(),
        );
        let record = |id: &str, queue: Option<&str>| {
            serde_json::json!({"messageId": id, "body": "{}", "eventSource": "aws:sqs",
                               "eventSourceARN": queue.map(|q| format!("arn:aws:sqs:us-east-1:123:{q}"))})
        };
        let event: SqsEvent = serde_json::from_value(serde_json::json!({"Records": [
            record("a", Some("shop-tasks")), record("b", Some("shop-fulfillment")), record("c", None)
        ]}))
        .unwrap();
        let response = handle_sqs_event(&routes, event).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(*tasks.1.lock().unwrap(), ["tasks"]);
        assert_eq!(*other.1.lock().unwrap(), ["other", "other"]);

        // Without a catch-all, a record of a queue the function does not consume is retried.
        let strict = Routes(vec![(
            Some("shop-tasks".into()),
            tasks.clone() as Arc<dyn Consumer>,
        )]);
        let event: SqsEvent = serde_json::from_value(
            serde_json::json!({"Records": [record("d", Some("elsewhere"))]}),
        )
        .unwrap();
        let response = handle_sqs_event(&strict, event).await.unwrap();
        assert_eq!(response.batch_item_failures[0].item_identifier, "d");
    }

    #[test]
    fn a_failed_message_waits_twice_as_long_at_each_receive_up_to_fifteen_minutes() {
        let base = Duration::from_secs(10);
        let waits: Vec<u64> = (1..=8)
            .map(|receives| retry_backoff(base, receives).as_secs())
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 900]);
        assert_eq!(retry_backoff(base, 0), base);
        assert_eq!(retry_backoff(base, u32::MAX).as_secs(), 900);
    }
}
