//! Business and request metrics in CloudWatch's Embedded Metric Format (EMF), Powertools
//! style: code calls [`add`] (`metrics::add("CheckoutsConfirmed", Unit::Count, 1.0)`); inside a
//! request (or any [`scope`]) values are summed and written as **one** JSON line when it ends;
//! outside a scope each call writes its own line. CloudWatch turns those stdout lines into
//! metrics in the `Shop` namespace with the dimensions `Service` and `Environment`, and, for a
//! scope with dimensions of its own (`RouteClass`, `Reason`), also with those. No API call,
//! no latency, nothing to grant in IAM.

use std::{
    cell::RefCell,
    sync::{Arc, OnceLock},
};

use serde::{
    Serialize, Serializer,
    ser::{SerializeMap, SerializeSeq},
};
use serde_json::Value;

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
    dimensions: Vec<(&'static str, String)>,
    metrics: Vec<(&'static str, Unit, f64)>,
}

impl MetricSet {
    pub fn with_dimension(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.dimensions.push((name, value.into()));
        self
    }

    /// Adds `value` to the metric (the same name sums up within the scope).
    pub fn add(&mut self, name: &'static str, unit: Unit, value: f64) {
        let count = self.metrics.len();
        match self
            .metrics
            .iter_mut()
            .find(|(n, u, _)| *n == name && *u == unit)
        {
            Some((_, _, total)) => *total += value,
            None if count < MAX_METRICS => self.metrics.push((name, unit, value)),
            None => tracing::warn!(name, "metric dropped: a document holds at most 100"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// The EMF document (`None` when nothing was recorded).
    pub fn document(&self, service: &str, environment: &str, timestamp_ms: i64) -> Option<Value> {
        let line = self.render(service, environment, timestamp_ms)?;
        serde_json::from_str(&line).ok()
    }

    /// The EMF document as one JSON line (no newline), serialized straight from the set.
    pub fn render(&self, service: &str, environment: &str, timestamp_ms: i64) -> Option<String> {
        if self.metrics.is_empty() {
            return None;
        }
        serde_json::to_string(&Emf {
            set: self,
            service,
            environment,
            timestamp_ms,
        })
        .ok()
    }
}

/// One EMF document: `_aws` (namespace, dimension sets, metric definitions), then the
/// dimension values and the metric values as top-level members.
struct Emf<'a> {
    set: &'a MetricSet,
    service: &'a str,
    environment: &'a str,
    timestamp_ms: i64,
}

struct Dimensions<'a>(&'a MetricSet);
struct Definitions<'a>(&'a MetricSet);

impl Serialize for Emf<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut root = serializer.serialize_map(None)?;
        root.serialize_entry(
            "_aws",
            &json_aws(
                self.timestamp_ms,
                &Dimensions(self.set),
                &Definitions(self.set),
            ),
        )?;
        root.serialize_entry("Service", self.service)?;
        root.serialize_entry("Environment", self.environment)?;
        for (name, value) in &self.set.dimensions {
            root.serialize_entry(name, value)?;
        }
        for (name, _, value) in &self.set.metrics {
            root.serialize_entry(name, value)?;
        }
        root.end()
    }
}

fn json_aws<'a>(
    timestamp_ms: i64,
    dimensions: &'a Dimensions<'a>,
    definitions: &'a Definitions<'a>,
) -> impl Serialize + 'a {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Directive<'a> {
        namespace: &'static str,
        dimensions: &'a Dimensions<'a>,
        metrics: &'a Definitions<'a>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Aws<'a> {
        timestamp: i64,
        cloud_watch_metrics: [Directive<'a>; 1],
    }
    Aws {
        timestamp: timestamp_ms,
        cloud_watch_metrics: [Directive {
            namespace: NAMESPACE,
            dimensions,
            metrics: definitions,
        }],
    }
}

/// Published per scope dimension (e.g. per route class) and rolled up per service, so alarms
/// can address a service's totals exactly.
impl Serialize for Dimensions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const BASE: [&str; 2] = ["Service", "Environment"];
        let extra = &self.0.dimensions;
        let mut sets = serializer.serialize_seq(None)?;
        if !extra.is_empty() {
            let all: Vec<&str> = BASE
                .iter()
                .copied()
                .chain(extra.iter().map(|(k, _)| *k))
                .collect();
            sets.serialize_element(&all)?;
        }
        sets.serialize_element(&BASE)?;
        sets.end()
    }
}

impl Serialize for Definitions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Definition<'a> {
            #[serde(rename = "Name")]
            name: &'a str,
            #[serde(rename = "Unit")]
            unit: &'static str,
        }
        let mut list = serializer.serialize_seq(Some(self.0.metrics.len()))?;
        for (name, unit, _) in &self.0.metrics {
            list.serialize_element(&Definition {
                name,
                unit: unit.as_str(),
            })?;
        }
        list.end()
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
            let mut bytes = Vec::with_capacity(line.len() + 1);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            crate::runtime::stdout::write_line(bytes);
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
    if let Some(line) = set.render(&context.service, &context.environment, now) {
        (context.sink)(&line);
    }
}

tokio::task_local! {
    static CURRENT: RefCell<MetricSet>;
}

/// Records a value: into the current scope, or as its own document outside one.
pub fn add(name: &'static str, unit: Unit, value: f64) {
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
pub fn add_with(dimensions: &[(&'static str, &str)], name: &'static str, unit: Unit, value: f64) {
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
