//! The outbox relay of orders: every order change recorded in Postgres reaches the order's
//! history in `OrderEvents` (keyed by the outbox entry, so a replay rewrites the same item),
//! and an `order.placed` starts the checkout workflow (an execution named after the order, so
//! a replayed start never runs a second saga). The writer applies its own entry at once; the
//! relay catches up with whatever failed.

use std::{sync::Arc, time::Duration};

use chrono::SecondsFormat;

use crate::{
    error::{BoxError, Error, error_chain},
    models::order::OrderEvent,
    repositories::{
        order_events_dynamo::OrderEventLog,
        outbox::{OutboxEntry, PgOutbox, RelayOutcome},
        workflow_sfn::Workflow,
    },
};

pub const PLACED: &str = "order.placed";
const BATCH: i64 = 100;

pub struct OrderRelay {
    outbox: PgOutbox,
    events: Arc<dyn OrderEventLog>,
    workflow: Arc<dyn Workflow>,
}

/// The name of an order's checkout execution.
pub fn execution_name(order_id: i64) -> String {
    format!("order-{order_id}")
}

impl OrderRelay {
    pub fn new(
        outbox: PgOutbox,
        events: Arc<dyn OrderEventLog>,
        workflow: Arc<dyn Workflow>,
    ) -> Self {
        Self {
            outbox,
            events,
            workflow,
        }
    }

    async fn apply(&self, entry: &OutboxEntry) -> Result<(), BoxError> {
        let key = format!(
            "{}#{:012}",
            entry
                .created_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            entry.outbox_id
        );
        let event = OrderEvent {
            event_type: entry.event_type.clone(),
            at: entry.created_at,
            payload: entry.payload.clone(),
        };
        self.events.append(entry.aggregate_id, &key, &event).await?;
        if entry.event_type == PLACED {
            let input = serde_json::json!({
                "order_id": entry.aggregate_id,
                "correlation_id": entry.payload.get("correlation_id").cloned().unwrap_or_default(),
            });
            self.workflow
                .start(&execution_name(entry.aggregate_id), &input.to_string())
                .await?;
        }
        Ok(())
    }

    /// Applies one entry right after its writer committed it; on failure it stays for the
    /// relay (with a recorded attempt and backoff).
    pub async fn project_now(&self, outbox_id: i64) -> Result<(), Error> {
        let Some(entry) = self.outbox.entry(outbox_id).await? else {
            return Ok(());
        };
        match self.apply(&entry).await {
            Ok(()) => Ok(self.outbox.mark_processed(outbox_id).await?),
            Err(err) => {
                let message = error_chain(err.as_ref());
                self.outbox.mark_failed(outbox_id, &message).await?;
                Err(Error::unavailable("order events", err))
            }
        }
    }

    /// Applies every due order entry.
    #[tracing::instrument(skip_all)]
    pub async fn drain(&self) -> Result<RelayOutcome, Error> {
        let mut total = RelayOutcome::default();
        loop {
            let outcome = self
                .outbox
                .process_due(
                    "order",
                    BATCH,
                    |entry| async move { self.apply(&entry).await },
                )
                .await?;
            total.applied += outcome.applied;
            total.failed += outcome.failed;
            if outcome.applied + outcome.failed < BATCH as usize {
                return Ok(total);
            }
        }
    }

    pub fn spawn(self: Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(err) = self.drain().await {
                    tracing::debug!(error = %err, "order relay pass failed");
                }
            }
        })
    }
}
