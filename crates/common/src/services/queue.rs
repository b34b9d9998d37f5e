//! The port of every queue consumer (image processor, checkout worker, fulfillment): handle
//! one message, already decoded. The runtime ([`crate::runtime::queue`]) takes the queue's
//! envelopes off at the edge (SQS record, SNS notification, S3 event:
//! [`crate::runtime::envelope`]), drops what it cannot read, and runs the handler under
//! Lambda's SQS batches (`batchItemFailures`) or a local long-poll loop.

use crate::error::Error;

#[async_trait::async_trait]
pub trait MessageHandler: Send + Sync + 'static {
    /// What a message means to this consumer.
    type Message: Send + 'static;

    /// `Ok`: done with it (including a message that failed for good and was recorded so).
    /// `Err`: deliver it again; after the queue's `maxReceiveCount` it moves to the DLQ.
    async fn handle(&self, message: Self::Message) -> Result<(), Error>;
}
