//! The transactional outbox in Postgres: rows written with the change they announce, claimed
//! here with `FOR UPDATE SKIP LOCKED` and a lease (so concurrent relays never apply one row at
//! the same time), then marked processed or rescheduled with exponential backoff.

use std::future::Future;

use sqlx::PgPool;

use super::{RepoError, database::UnitOfWork, pg};
use crate::error::{BoxError, error_chain};

/// How long a claimed entry is reserved for the relay that claimed it.
const LEASE_SECS: f64 = 30.0;

/// The longest a failed entry waits before its next attempt: after an outage the projection
/// catches up within this of the dependency's return (it was 5 minutes, and the soak saw the
/// catalogue lag 48 s behind a 15 s DynamoDB outage).
pub const MAX_BACKOFF_SECS: i64 = 30;

#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub outbox_id: i64,
    pub aggregate_type: String,
    pub aggregate_id: i64,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayOutcome {
    pub applied: usize,
    pub failed: usize,
}

#[derive(Clone)]
pub struct PgOutbox {
    pool: PgPool,
}

impl PgOutbox {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Appends "`aggregate_type` `aggregate_id` changed" inside the caller's unit of work, so the
    /// record exists exactly when the change it announces was committed. Returns the entry as
    /// stored, for the writer to apply once it has committed.
    pub async fn append(
        &self,
        uow: &mut UnitOfWork,
        aggregate_type: &str,
        aggregate_id: i64,
        event_type: &str,
        payload: &serde_json::Value,
    ) -> Result<OutboxEntry, RepoError> {
        sqlx::query_as!(
            OutboxEntry,
            "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) \
             VALUES ($1, $2, $3, $4) \
             RETURNING outbox_id, aggregate_type, aggregate_id, event_type, payload, attempts, created_at",
            aggregate_type,
            aggregate_id,
            event_type,
            payload,
        )
        .fetch_one(uow.conn())
        .await
        .map_err(pg)
    }

    /// Marks one entry applied (by the writer that applied it at once).
    pub async fn mark_processed(&self, outbox_id: i64) -> Result<(), RepoError> {
        sqlx::query!(
            "UPDATE outbox SET processed_at = now(), attempts = attempts + 1, last_error = NULL \
             WHERE outbox_id = $1 AND processed_at IS NULL",
            outbox_id,
        )
        .execute(&self.pool)
        .await
        .map_err(pg)?;
        Ok(())
    }

    /// Applies up to `limit` due entries of `aggregate_type` with `apply`.
    ///
    /// Entries are claimed by moving their due time a lease into the future (in one short
    /// statement), so no transaction or connection is held while `apply` talks to other
    /// services; a relay that dies mid-way leaves its entries to be retried when the lease ends.
    #[tracing::instrument(skip(self, apply))]
    pub async fn process_due<F, Fut>(
        &self,
        aggregate_type: &str,
        limit: i64,
        apply: F,
    ) -> Result<RelayOutcome, RepoError>
    where
        F: Fn(OutboxEntry) -> Fut,
        Fut: Future<Output = Result<(), BoxError>>,
    {
        let entries = sqlx::query_as!(
            OutboxEntry,
            "UPDATE outbox SET available_at = now() + make_interval(secs => $3) \
             WHERE outbox_id IN ( \
                 SELECT outbox_id FROM outbox \
                 WHERE processed_at IS NULL AND available_at <= now() AND aggregate_type = $1 \
                 ORDER BY outbox_id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING outbox_id, aggregate_type, aggregate_id, event_type, payload, attempts, created_at",
            aggregate_type,
            limit,
            LEASE_SECS,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(pg)?;
        let mut entries = entries;
        entries.sort_by_key(|e| e.outbox_id);
        let mut outcome = RelayOutcome::default();
        for entry in entries {
            let id = entry.outbox_id;
            let attempts = entry.attempts;
            match apply(entry).await {
                Ok(()) => {
                    sqlx::query!(
                        "UPDATE outbox SET processed_at = now(), attempts = attempts + 1, last_error = NULL \
                         WHERE outbox_id = $1",
                        id,
                    )
                    .execute(&self.pool)
                    .await
                    .map_err(pg)?;
                    outcome.applied += 1;
                }
                Err(err) => {
                    let message = error_chain(err.as_ref());
                    tracing::warn!(outbox_id = id, attempts = attempts + 1, error = %message, "outbox entry failed; will retry");
                    // 1 s, 2 s, 4 s … capped at MAX_BACKOFF_SECS.
                    let backoff_secs = 2_i64
                        .saturating_pow(attempts.clamp(0, 20) as u32)
                        .min(MAX_BACKOFF_SECS);
                    sqlx::query!(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = left($2, 1000), \
                         available_at = now() + make_interval(secs => $3) WHERE outbox_id = $1",
                        id,
                        message,
                        backoff_secs as f64,
                    )
                    .execute(&self.pool)
                    .await
                    .map_err(pg)?;
                    outcome.failed += 1;
                }
            }
        }
        Ok(outcome)
    }

    /// Records a failed attempt at one entry: due again after a backoff of 1 s, 2 s, 4 s …
    /// capped at [`MAX_BACKOFF_SECS`].
    pub async fn mark_failed(&self, outbox_id: i64, message: &str) -> Result<(), RepoError> {
        sqlx::query!(
            "UPDATE outbox SET attempts = attempts + 1, last_error = left($2, 1000), \
             available_at = now() + make_interval(secs => LEAST($3, power(2, LEAST(attempts, 20)))) \
             WHERE outbox_id = $1 AND processed_at IS NULL",
            outbox_id,
            message,
            MAX_BACKOFF_SECS as f64,
        )
        .execute(&self.pool)
        .await
        .map_err(pg)?;
        Ok(())
    }

    /// Entries not yet applied (any due time).
    pub async fn pending(&self, aggregate_type: &str) -> Result<i64, RepoError> {
        sqlx::query_scalar!(
            "SELECT count(*) AS \"count!\" FROM outbox \
             WHERE processed_at IS NULL AND aggregate_type = $1",
            aggregate_type,
        )
        .fetch_one(&self.pool)
        .await
        .map_err(pg)
    }

    /// Makes every pending entry due now (operators and tests: "retry now").
    pub async fn make_all_due(&self) -> Result<(), RepoError> {
        sqlx::query!("UPDATE outbox SET available_at = now() WHERE processed_at IS NULL")
            .execute(&self.pool)
            .await
            .map_err(pg)?;
        Ok(())
    }
}
