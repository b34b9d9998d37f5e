//! Health of the backing services, as `GET /v1/<service>/health` reports it. Postgres and
//! DynamoDB are required; Redis is optional and reported `degraded` when down.

use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;

use crate::repositories::cache::Cache;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `ok`, or `unavailable` when a required dependency is down.
    pub status: &'static str,
    pub checks: HealthChecks,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthChecks {
    pub postgres: &'static str,
    pub dynamodb: &'static str,
    /// `ok`, `degraded` (down: reads skip the cache) or `disabled`.
    pub redis: &'static str,
}

impl HealthReport {
    pub fn healthy(&self) -> bool {
        self.status == "ok"
    }
}

pub struct HealthService {
    pool: PgPool,
    dynamodb: aws_sdk_dynamodb::Client,
    probe_table: String,
    cache: Cache,
}

const TIMEOUT: Duration = Duration::from_secs(2);

impl HealthService {
    pub fn new(
        pool: PgPool,
        dynamodb: aws_sdk_dynamodb::Client,
        probe_table: String,
        cache: Cache,
    ) -> Self {
        Self {
            pool,
            dynamodb,
            probe_table,
            cache,
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn check(&self) -> HealthReport {
        let postgres = async {
            tokio::time::timeout(TIMEOUT, sqlx::query("SELECT 1").execute(&self.pool))
                .await
                .is_ok_and(|r| r.is_ok())
        };
        let dynamodb = async {
            tokio::time::timeout(
                TIMEOUT,
                self.dynamodb
                    .describe_table()
                    .table_name(&self.probe_table)
                    .send(),
            )
            .await
            .is_ok_and(|r| r.is_ok())
        };
        let redis = async {
            if !self.cache.is_enabled() {
                return "disabled";
            }
            match tokio::time::timeout(TIMEOUT, self.cache.ping()).await {
                Ok(Ok(())) => "ok",
                _ => "degraded",
            }
        };
        let (postgres, dynamodb, redis) = tokio::join!(postgres, dynamodb, redis);
        let word = |ok: bool| if ok { "ok" } else { "unavailable" };
        HealthReport {
            status: word(postgres && dynamodb),
            checks: HealthChecks {
                postgres: word(postgres),
                dynamodb: word(dynamodb),
                redis,
            },
        }
    }
}
