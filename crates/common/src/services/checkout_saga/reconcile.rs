//! The reconciler: the sweeper behind the checkout workflow. Orders left `PENDING` past
//! [`super::RECONCILE_AFTER`], or ended while still holding stock, a live payment or a provider
//! call in flight, are unwound through the same idempotent ledger operations as the saga.

use std::{sync::Arc, time::Duration};

use chrono::Utc;

use super::{ENDED_GRACE, OrderLedger, Unwind};
use crate::{
    error::Error,
    metrics::{self, Unit},
    models::order::OrderStatus,
};

/// What a reconciler pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    pub examined: usize,
    pub unwound: usize,
    pub failed: usize,
}

/// The sweeper behind the workflow: unwinds what a workflow left unsettled, through the same
/// idempotent ledger operations as the saga. Needs only Postgres, the payment provider and the
/// order relay, so the scheduled relay job runs it too.
pub struct Reconciler {
    ledger: Arc<OrderLedger>,
}

impl Reconciler {
    pub fn new(ledger: Arc<OrderLedger>) -> Self {
        Self { ledger }
    }

    /// One pass of the reconciler: every order `PENDING` for longer than `after`, or ended
    /// while still holding stock, a live payment or a call in flight, is unwound (a pending
    /// one fails with `abandoned`). Runs the same idempotent steps as the saga, so it is safe
    /// beside a live workflow and safe to run twice.
    #[tracing::instrument(skip(self))]
    pub async fn reconcile(&self, after: Duration) -> Result<Reconciled, Error> {
        let ago = |d: Duration| Utc::now() - chrono::Duration::from_std(d).unwrap_or_default();
        // An ended order's leftovers need no long wait: every step on them is idempotent. The
        // minute lets a cancel or a compensation in flight finish its own call first.
        let ids = self
            .ledger
            .orders()
            .unsettled(ago(after), ago(after.min(ENDED_GRACE)), 500)
            .await?;
        let mut report = Reconciled {
            examined: ids.len(),
            ..Reconciled::default()
        };
        for order_id in ids {
            let outcome = self
                .ledger
                .unwind(order_id, |order| {
                    Ok(match order.status {
                        OrderStatus::Pending => {
                            Unwind::End(OrderStatus::Failed, Some("abandoned".into()))
                        }
                        OrderStatus::Failed | OrderStatus::Cancelled => Unwind::Remainder,
                        _ => Unwind::Keep,
                    })
                })
                .await;
            match outcome {
                Ok((order, undone)) => {
                    report.unwound += 1;
                    tracing::warn!(order_id, status = %order.status, %undone, "reconciled an unsettled order");
                }
                Err(err) => {
                    report.failed += 1;
                    tracing::error!(order_id, error = %err, "could not reconcile an order; next pass tries again");
                }
            }
        }
        if report.unwound > 0 {
            metrics::add("OrdersReconciled", Unit::Count, report.unwound as f64);
        }
        Ok(report)
    }
}
