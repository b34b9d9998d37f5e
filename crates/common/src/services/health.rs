//! Health of the backing services, as `GET /v1/<service>/health` reports it. Postgres and
//! DynamoDB are required; Redis is optional and reported `degraded` when down.

use std::sync::Arc;

use serde::Serialize;

use crate::repositories::probes::Probe;

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
    /// The DynamoDB client's circuit breaker: `closed`, `open` (DynamoDB is taken as down and
    /// calls fail at once, so reads answer from PostgreSQL without waiting) or `half_open`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub dynamodb_circuit: Option<&'static str>,
}

impl HealthReport {
    pub fn healthy(&self) -> bool {
        self.status == "ok"
    }
}

pub struct HealthService {
    postgres: Arc<dyn Probe>,
    dynamodb: Arc<dyn Probe>,
    /// `None` when no cache is configured.
    cache: Option<Arc<dyn Probe>>,
}

impl HealthService {
    pub fn new(
        postgres: Arc<dyn Probe>,
        dynamodb: Arc<dyn Probe>,
        cache: Option<Arc<dyn Probe>>,
    ) -> Self {
        Self {
            postgres,
            dynamodb,
            cache,
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn check(&self) -> HealthReport {
        let redis = async {
            match &self.cache {
                None => "disabled",
                Some(probe) if probe.ok().await => "ok",
                Some(_) => "degraded",
            }
        };
        let (postgres, dynamodb, redis) =
            tokio::join!(self.postgres.ok(), self.dynamodb.ok(), redis);
        let word = |ok: bool| if ok { "ok" } else { "unavailable" };
        HealthReport {
            status: word(postgres && dynamodb),
            checks: HealthChecks {
                postgres: word(postgres),
                dynamodb: word(dynamodb),
                redis,
                dynamodb_circuit: self.dynamodb.circuit(),
            },
        }
    }
}
