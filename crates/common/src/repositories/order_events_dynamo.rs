//! An order's history in the DynamoDB `OrderEvents` table: partition `order_id`, sort
//! `event_key`. Writers choose keys that are the same on every retry of the same event, so an
//! append is idempotent (a redelivered step or relay pass writes the same item again).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use super::{
    RepoError, aws,
    dynamo::{get_s, is_conditional_check_failed, n, s},
};
use crate::clients::Deferred;
use crate::models::order::OrderEvent;

#[async_trait]
pub trait OrderEventLog: Send + Sync {
    /// Writes the event under `event_key` (the same key overwrites the same event).
    async fn append(
        &self,
        order_id: i64,
        event_key: &str,
        event: &OrderEvent,
    ) -> Result<(), RepoError>;
    /// Writes the event only if no event has `event_key` yet; false if one had.
    async fn append_once(
        &self,
        order_id: i64,
        event_key: &str,
        event: &OrderEvent,
    ) -> Result<bool, RepoError>;
    /// Every event of the order, oldest first.
    async fn list(&self, order_id: i64) -> Result<Vec<OrderEvent>, RepoError>;
}

pub struct DynamoOrderEvents {
    client: Deferred<Client>,
    table: String,
}

impl DynamoOrderEvents {
    pub fn new(client: impl Into<Deferred<Client>>, table: String) -> Self {
        Self {
            client: client.into(),
            table,
        }
    }

    fn put(
        &self,
        order_id: i64,
        event_key: &str,
        event: &OrderEvent,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("order_id", n(order_id))
            .item("event_key", s(event_key))
            .item("event_type", s(&event.event_type))
            .item(
                "at",
                s(event
                    .at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            )
            .item("payload", s(event.payload.to_string()))
    }
}

#[async_trait]
impl OrderEventLog for DynamoOrderEvents {
    #[tracing::instrument(skip(self, event), fields(event_type = %event.event_type))]
    async fn append(
        &self,
        order_id: i64,
        event_key: &str,
        event: &OrderEvent,
    ) -> Result<(), RepoError> {
        self.put(order_id, event_key, event)
            .send()
            .await
            .map_err(|e| aws("dynamodb", e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self, event), fields(event_type = %event.event_type))]
    async fn append_once(
        &self,
        order_id: i64,
        event_key: &str,
        event: &OrderEvent,
    ) -> Result<bool, RepoError> {
        match self
            .put(order_id, event_key, event)
            .condition_expression("attribute_not_exists(event_key)")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_check_failed(&e) => Ok(false),
            Err(e) => Err(aws("dynamodb", e)),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn list(&self, order_id: i64) -> Result<Vec<OrderEvent>, RepoError> {
        let mut events = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("order_id = :id")
                .expression_attribute_values(":id", n(order_id))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| aws("dynamodb", e))?;
            for item in out.items() {
                let at = get_s(item, "at")
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc));
                if let (Some(event_type), Some(at)) = (get_s(item, "event_type"), at) {
                    events.push((
                        at,
                        get_s(item, "event_key").unwrap_or_default().to_owned(),
                        OrderEvent {
                            event_type: event_type.to_owned(),
                            at,
                            payload: get_s(item, "payload")
                                .and_then(|p| serde_json::from_str(p).ok())
                                .unwrap_or(serde_json::Value::Null),
                        },
                    ));
                }
            }
            start = out.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
            if start.is_none() {
                break;
            }
        }
        // Writers differ (the service, the workflow itself): order by time, then key.
        events.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        Ok(events.into_iter().map(|(_, _, e)| e).collect())
    }
}
