//! Health of the backing services, as `GET /v1/<service>/health` reports it. Postgres and
//! DynamoDB are required; Redis is optional and reported `degraded` when down.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::repositories::probes::Probe;

/// How long a report is answered again without probing: the health routes are anonymous, and
/// a flood of them costs the dependencies one probe each per interval, not one per request.
pub const REPORT_TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `ok`, or `unavailable` when a required dependency is down.
    pub status: &'static str,
    pub checks: HealthChecks,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// The last report and when it was made; one probe at a time (others wait for it).
    last: tokio::sync::Mutex<Option<(Instant, HealthReport)>>,
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
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// The dependencies' health, probed at most once per [`REPORT_TTL`].
    pub async fn check(&self) -> HealthReport {
        let mut last = self.last.lock().await;
        if let Some((at, report)) = last.as_ref()
            && at.elapsed() < REPORT_TTL
        {
            return report.clone();
        }
        let report = self.probe().await;
        *last = Some((Instant::now(), report.clone()));
        report
    }

    #[tracing::instrument(skip_all)]
    async fn probe(&self) -> HealthReport {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;

    struct Counted(AtomicUsize);

    #[async_trait]
    impl Probe for Counted {
        async fn ok(&self) -> bool {
            self.0.fetch_add(1, Ordering::SeqCst);
            true
        }
    }

    #[tokio::test]
    async fn a_flood_of_health_checks_probes_each_dependency_once_per_interval() {
        let postgres = Arc::new(Counted(AtomicUsize::new(0)));
        let dynamodb = Arc::new(Counted(AtomicUsize::new(0)));
        let health = Arc::new(HealthService::new(postgres.clone(), dynamodb.clone(), None));
        let checks: Vec<_> = (0..50)
            .map(|_| {
                let health = health.clone();
                tokio::spawn(async move { health.check().await })
            })
            .collect();
        for check in checks {
            assert!(check.await.unwrap().healthy());
        }
        assert_eq!(postgres.0.load(Ordering::SeqCst), 1);
        assert_eq!(dynamodb.0.load(Ordering::SeqCst), 1);
        // Once the interval has passed, the next check probes again.
        *health.last.lock().await = None;
        health.check().await;
        assert_eq!(postgres.0.load(Ordering::SeqCst), 2);
    }
}
