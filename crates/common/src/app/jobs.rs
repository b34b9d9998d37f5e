//! The jobs that are not request handlers, each a command of a binary (Terraform's
//! `image_config.command`): `migrate` (the deploy step, `db_migrate_lambda`) and `relay` (the
//! scheduled pass of both outbox relays and the reconciler, `outbox_relay_lambda`). Both run
//! from the products image (one image carries every job; the functions' roles, not the image,
//! decide what they may touch); the local server runs them in process.

use std::{sync::Arc, time::Duration};

use super::{BoxError, Resources, order_ledger, order_relay, projector};
use crate::{runtime, services::checkout_saga::Reconciler};

/// Applies the migrations (the deploy step; the local server also runs it at start).
pub async fn migrate(resources: &Resources) -> Result<(), BoxError> {
    let pool = resources.pool().await?;
    let job = move |_event| {
        let pool = pool.clone();
        async move {
            crate::MIGRATOR.run(&pool).await?;
            let applied = crate::MIGRATOR.iter().count();
            tracing::info!(applied, "migrations applied");
            Ok(serde_json::json!({"migrations": applied}))
        }
    };
    runtime::run_job(job).await
}

/// How long an order may stay `PENDING` before the reconciler unwinds it: `RECONCILE_AFTER_SECONDS`
/// (default [`crate::services::checkout_saga::RECONCILE_AFTER`]).
pub fn reconcile_after(resources: &Resources) -> Result<Duration, BoxError> {
    match resources.env.get("RECONCILE_AFTER_SECONDS") {
        None => Ok(crate::services::checkout_saga::RECONCILE_AFTER),
        Some(text) => text.parse::<u64>().map(Duration::from_secs).map_err(|_| {
            format!("RECONCILE_AFTER_SECONDS must be a number of seconds, not `{text}`").into()
        }),
    }
}

/// The reconciler of unsettled orders.
pub async fn reconciler(resources: &Resources) -> Result<Arc<Reconciler>, BoxError> {
    Ok(Arc::new(Reconciler::new(order_ledger(resources).await?)))
}

/// Runs the reconciler every `interval` in a long-lived local process.
pub async fn spawn_reconciler(
    resources: &Resources,
    interval: Duration,
) -> Result<tokio::task::JoinHandle<()>, BoxError> {
    let reconciler = reconciler(resources).await?;
    let after = reconcile_after(resources)?;
    Ok(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = reconciler.reconcile(after).await {
                tracing::warn!(error = %err, "reconciler pass failed");
            }
        }
    }))
}

/// `relay`: one pass of both outbox relays (the catalogue's, the orders'), then of the
/// reconciler of unsettled orders: the scheduled job (`outbox_relay_lambda`, every minute).
pub async fn relay(resources: &Resources) -> Result<(), BoxError> {
    let projector = projector(resources).await?;
    let orders = order_relay(resources).await?;
    let reconciler = reconciler(resources).await?;
    let after = reconcile_after(resources)?;
    runtime::run_job(move |_event| {
        let (projector, orders, reconciler) =
            (projector.clone(), orders.clone(), reconciler.clone());
        async move {
            let products = projector.drain().await?;
            let orders = orders.drain().await?;
            let reconciled = reconciler.reconcile(after).await?;
            Ok(serde_json::json!({
                "products": {"applied": products.applied, "failed": products.failed},
                "orders": {"applied": orders.applied, "failed": orders.failed},
                "reconciled": {"examined": reconciled.examined, "unwound": reconciled.unwound,
                               "failed": reconciled.failed},
            }))
        }
    })
    .await
}
