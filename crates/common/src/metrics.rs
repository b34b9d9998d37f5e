//! Business and request metrics in CloudWatch's Embedded Metric Format (EMF), Powertools
//! style: code calls [`add`] (`metrics::add("CheckoutsConfirmed", Unit::Count, 1.0)`); inside a
//! request (or any [`scope`]) values are summed and written as **one** JSON line when it ends;
//! outside a scope each call writes its own line. CloudWatch turns those stdout lines into
//! metrics in the `Shop` namespace with the dimensions `Service` and `Environment`, and, for a
//! scope with dimensions of its own (`RouteClass`, `Reason`), also with those. No API call,
//! no latency, nothing to grant in IAM.

use std::{
    cell::RefCell,
    io::Write,
    sync::{Arc, OnceLock},
};

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "Shop";
/// EMF allows at most 100 metrics per document.
const MAX_METRICS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// The metrics of one scope.
#[derive(Debug, Default, Clone)]
pub struct MetricSet {
    dimensions: Vec<(String, String)>,
    metrics: Vec<(String, Unit, f64)>,
}

impl MetricSet {
    pub fn with_dimension(mut self, name: &str, value: impl Into<String>) -> Self {
        self.dimensions.push((name.to_owned(), value.into()));
        self
    }

    /// Adds `value` to the metric (the same name sums up within the scope).
    pub fn add(&mut self, name: &str, unit: Unit, value: f64) {
        let count = self.metrics.len();
        match self
            .metrics
            .iter_mut()
            .find(|(n, u, _)| n == name && *u == unit)
        {
            Some((_, _, total)) => *total += value,
            None if count < MAX_METRICS => self.metrics.push((name.to_owned(), unit, value)),
            None => tracing::warn!(name, "metric dropped: a document holds at most 100"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// The EMF document (`None` when nothing was recorded).
    pub fn document(&self, service: &str, environment: &str, timestamp_ms: i64) -> Option<Value> {
        if self.metrics.is_empty() {
            return None;
        }
        let base = vec!["Service".to_owned(), "Environment".to_owned()];
        let mut names = base.clone();
        names.extend(self.dimensions.iter().map(|(k, _)| k.clone()));
        // Published per scope dimension (e.g. per route class) and rolled up per service, so
        // alarms can address a service's totals exactly.
        let sets = if self.dimensions.is_empty() {
            vec![base]
        } else {
            vec![names, base]
        };
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": sets,
                    "Metrics": self.metrics.iter()
                        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
                        .collect::<Vec<_>>(),
                }],
            }),
        );
        root.insert("Service".into(), json!(service));
        root.insert("Environment".into(), json!(environment));
        for (k, v) in &self.dimensions {
            root.insert(k.clone(), json!(v));
        }
        for (name, _, value) in &self.metrics {
            root.insert(name.clone(), json!(value));
        }
        Some(Value::Object(root))
    }
}

type Sink = Arc<dyn Fn(&str) + Send + Sync>;

struct Context {
    service: String,
    environment: String,
    sink: Sink,
}

static CONTEXT: OnceLock<Context> = OnceLock::new();

/// Names this process's metrics (once, in `main`); without it they are not written.
pub fn init(service: &str, environment: &str) {
    let _ = CONTEXT.set(Context {
        service: service.to_owned(),
        environment: environment.to_owned(),
        sink: Arc::new(|line: &str| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }),
    });
}

/// Tests: where the lines go instead of stdout (first caller wins, like [`init`]).
pub fn init_with_sink(service: &str, environment: &str, sink: Sink) {
    let _ = CONTEXT.set(Context {
        service: service.to_owned(),
        environment: environment.to_owned(),
        sink,
    });
}

fn write(set: &MetricSet) {
    let Some(context) = CONTEXT.get() else {
        return;
    };
    let now = chrono::Utc::now().timestamp_millis();
    if let Some(document) = set.document(&context.service, &context.environment, now) {
        (context.sink)(&document.to_string());
    }
}

tokio::task_local! {
    static CURRENT: RefCell<MetricSet>;
}

/// Records a value: into the current scope, or as its own document outside one.
pub fn add(name: &str, unit: Unit, value: f64) {
    if CURRENT
        .try_with(|set| set.borrow_mut().add(name, unit, value))
        .is_err()
    {
        let mut set = MetricSet::default();
        set.add(name, unit, value);
        write(&set);
    }
}

/// Records a value with extra dimensions, as its own document (e.g. a failure by reason).
pub fn add_with(dimensions: &[(&str, &str)], name: &str, unit: Unit, value: f64) {
    let mut set = dimensions.iter().fold(MetricSet::default(), |set, (k, v)| {
        set.with_dimension(k, *v)
    });
    set.add(name, unit, value);
    write(&set);
}

/// Runs `work` with its own metric set, written as one document when it ends.
pub async fn scope<F: std::future::Future>(set: MetricSet, work: F) -> F::Output {
    CURRENT
        .scope(RefCell::new(set), async move {
            let out = work.await;
            CURRENT.with(|set| write(&set.borrow()));
            out
        })
        .await
}
