//! The generic queue consumer: one [`MessageHandler`] behind Lambda's SQS event source
//! (partial batch failures) or a local long-poll loop that settles messages the same way
//! (handled ones deleted, failed ones made visible again after `retry_after`).

use std::{sync::Arc, time::Duration};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures::StreamExt;

use crate::{
    error::{BoxError, error_chain},
    services::queue::{Message, MessageHandler},
};

/// How many messages of one batch are handled at once.
pub const CONCURRENCY: usize = 10;

/// Handles `messages` concurrently (at most [`CONCURRENCY`] at a time); returns the ids of the
/// ones to deliver again.
pub async fn handle_messages(handler: &dyn MessageHandler, messages: Vec<Message>) -> Vec<String> {
    futures::stream::iter(messages)
        .map(|message| async move {
            match handler.handle(&message).await {
                Ok(()) => None,
                Err(err) => {
                    tracing::warn!(
                        message_id = %message.id,
                        receive_count = message.receive_count,
                        retryable = err.is_retryable(),
                        error = %error_chain(&err),
                        "message will be delivered again"
                    );
                    Some(message.id)
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|failed| async move { failed })
        .collect()
        .await
}

/// A Lambda SQS batch in, the messages to retry out (`batchItemFailures`). A record without a
/// message id cannot be reported alone, so the whole batch is failed instead (never an empty
/// id).
pub async fn handle_sqs_event(
    handler: &dyn MessageHandler,
    event: SqsEvent,
) -> Result<SqsBatchResponse, BoxError> {
    let mut messages = Vec::with_capacity(event.records.len());
    for record in event.records {
        let id = record
            .message_id
            .ok_or("an SQS record without a messageId")?;
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        messages.push(Message {
            id,
            body: record.body.unwrap_or_default(),
            receive_count,
        });
    }
    let mut response = SqsBatchResponse::default();
    for id in handle_messages(handler, messages).await {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// Serves `handler` as a Lambda function with an SQS event source.
pub async fn run_lambda(handler: Arc<dyn MessageHandler>) -> Result<(), BoxError> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
            let handler = handler.clone();
            async move { handle_sqs_event(handler.as_ref(), event.payload).await }
        },
    ))
    .await
}

/// Long-polls `queue_url` and feeds `handler`, like the Lambda event source mapping: handled
/// messages are deleted; failed ones become visible again after a backoff of `retry_after`,
/// doubled at each further receive (10 s, 20 s, 40 s … at most 15 minutes for the local
/// server), so an outage of half a minute does not spend a message's receives before the
/// dependency is back; they reach the DLQ after the queue's `maxReceiveCount`.
pub fn spawn_poller(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    handler: Arc<dyn MessageHandler>,
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
            let batch: Vec<Message> = received
                .iter()
                .filter_map(|m| {
                    Some(Message {
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
            let failed = handle_messages(handler.as_ref(), batch).await;
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
