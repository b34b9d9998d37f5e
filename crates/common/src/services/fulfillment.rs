//! Fulfillment: the consumer of the fulfillment queue (`order.confirmed`, fanned out from the
//! order-events topic). It records `fulfillment.requested` once per order in the order's
//! history, for orders still `CONFIRMED` (publishing can come late, after a cancel).

use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use crate::{
    error::Error,
    models::order::{OrderConfirmed, OrderEvent, OrderStatus},
    repositories::{order_events_dynamo::OrderEventLog, orders_pg::OrderStore},
    services::queue::MessageHandler,
};

pub struct Fulfillment {
    orders: Arc<dyn OrderStore>,
    events: Arc<dyn OrderEventLog>,
}

impl Fulfillment {
    pub fn new(orders: Arc<dyn OrderStore>, events: Arc<dyn OrderEventLog>) -> Self {
        Self { orders, events }
    }
}

#[async_trait::async_trait]
impl MessageHandler for Fulfillment {
    type Message = OrderConfirmed;

    #[tracing::instrument(skip_all)]
    async fn handle(&self, event: OrderConfirmed) -> Result<(), Error> {
        let order_id = event.order_id;
        let Some(order) = self.orders.get(order_id).await? else {
            tracing::error!(order_id, "fulfillment message for an unknown order dropped");
            return Ok(());
        };
        if order.status != OrderStatus::Confirmed {
            tracing::info!(order_id, status = %order.status, "fulfillment skipped: the order is no longer CONFIRMED");
            return Ok(());
        }
        let recorded = self
            .events
            .append_once(
                order_id,
                "fulfillment#requested",
                &OrderEvent {
                    event_type: "fulfillment.requested".into(),
                    at: Utc::now(),
                    payload: json!({"correlation_id": event.correlation_id}),
                },
            )
            .await?;
        tracing::info!(
            order_id,
            first_time = recorded,
            correlation_id = event.correlation_id.as_deref().unwrap_or_default(),
            "fulfillment requested"
        );
        Ok(())
    }
}
