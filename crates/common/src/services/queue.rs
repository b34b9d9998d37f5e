//! The port of every queue consumer (image processor, checkout worker, fulfillment consumer):
//! handle one message. The runtime adapts it to Lambda's SQS batches (`batchItemFailures`) and
//! to a local long-poll loop; both process a batch concurrently, bounded.

use crate::error::Error;

/// One delivery of one message.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub body: String,
    /// How many times SQS has delivered it (1 on the first delivery).
    pub receive_count: u32,
}

#[async_trait::async_trait]
pub trait MessageHandler: Send + Sync + 'static {
    /// `Ok`: done with it (including a message that failed for good and was recorded so).
    /// `Err`: deliver it again; after the queue's `maxReceiveCount` it moves to the DLQ.
    async fn handle(&self, message: &Message) -> Result<(), Error>;
}
