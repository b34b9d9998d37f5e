//! Business rules and workflows. Services know repository traits and domain types; they know no
//! HTTP, no SQL and no SDK types.

pub mod cart;
pub mod catalog;
pub mod checkout_saga;
pub mod fulfillment;
pub mod health;
pub mod idempotency;
pub mod images;
pub mod orders;
pub mod outbox_relay;
pub mod products;
pub mod queue;
pub mod uploads;
pub mod users;

/// How long a request waits on a projection (DynamoDB) before it answers without it: a read
/// falls back to Postgres, a write's projection is left to the outbox relay. Bounds a request's
/// latency when DynamoDB hangs; the SDK's own timeouts are longer.
pub const PROJECTION_BUDGET: std::time::Duration = std::time::Duration::from_millis(1000);

/// `work`, or a timeout error once [`PROJECTION_BUDGET`] has passed.
pub async fn within_budget<T, E>(
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, crate::error::BoxError>
where
    E: Into<crate::error::BoxError>,
{
    match tokio::time::timeout(PROJECTION_BUDGET, work).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err("the projection did not answer within its budget".into()),
    }
}
