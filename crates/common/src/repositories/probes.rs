//! Liveness probes of the backing services, for the health routes.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;

use super::cache::Cache;
use crate::clients::breaker::{Breaker, CircuitState};

const TIMEOUT: Duration = Duration::from_secs(1);

/// Answers whether one dependency is reachable now.
#[async_trait]
pub trait Probe: Send + Sync {
    async fn ok(&self) -> bool;

    /// The state of the client's circuit breaker, when it has one: `closed`, `open` (calls
    /// fail at once) or `half_open` (one probe call at a time).
    fn circuit(&self) -> Option<&'static str> {
        None
    }
}

pub struct PostgresProbe(pub PgPool);

#[async_trait]
impl Probe for PostgresProbe {
    async fn ok(&self) -> bool {
        tokio::time::timeout(
            TIMEOUT,
            sqlx::query_scalar!("SELECT 1 AS \"one!\"").fetch_one(&self.0),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }
}

/// DynamoDB answers `DescribeTable` for one of our tables.
pub struct DynamoProbe {
    pub client: crate::clients::Deferred<aws_sdk_dynamodb::Client>,
    pub table: String,
    pub breaker: std::sync::Arc<Breaker>,
}

#[async_trait]
impl Probe for DynamoProbe {
    async fn ok(&self) -> bool {
        tokio::time::timeout(
            TIMEOUT,
            self.client.describe_table().table_name(&self.table).send(),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }

    fn circuit(&self) -> Option<&'static str> {
        Some(match self.breaker.state() {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        })
    }
}

/// Redis answers `PING` (when a cache is configured).
pub struct CacheProbe(pub Cache);

#[async_trait]
impl Probe for CacheProbe {
    async fn ok(&self) -> bool {
        tokio::time::timeout(TIMEOUT, self.0.ping())
            .await
            .is_ok_and(|r| r.is_ok())
    }
}
