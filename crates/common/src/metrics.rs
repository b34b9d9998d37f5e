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

use serde_json::Value;

use crate::runtime::json_lines::push_str;

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

    /// The EMF document as one JSON line (no newline), written straight from the set:
    /// `_aws` (the timestamp, the namespace, the dimension sets and the metric definitions),
    /// then the dimension values and the metric values as top-level members.
    pub fn render(&self, service: &str, environment: &str, timestamp_ms: i64) -> Option<String> {
        if self.metrics.is_empty() {
            return None;
        }
        let mut line = String::with_capacity(256 + 48 * self.metrics.len());
        line.push_str("{\"_aws\":{\"Timestamp\":");
        line.push_str(itoa::Buffer::new().format(timestamp_ms));
        line.push_str(",\"CloudWatchMetrics\":[{\"Namespace\":\"");
        line.push_str(NAMESPACE);
        line.push_str("\",\"Dimensions\":[");
        // Published per scope dimension (e.g. per route class) and rolled up per service, so
        // alarms can address a service's totals exactly.
        if !self.dimensions.is_empty() {
            line.push_str("[\"Service\",\"Environment\"");
            for (name, _) in &self.dimensions {
                line.push(',');
                push_name(&mut line, name);
            }
            line.push_str("],");
        }
        line.push_str("[\"Service\",\"Environment\"]],\"Metrics\":[");
        for (i, (name, unit, _)) in self.metrics.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str("{\"Name\":");
            push_name(&mut line, name);
            line.push_str(",\"Unit\":\"");
            line.push_str(unit.as_str());
            line.push_str("\"}");
        }
        line.push_str("]}]},\"Service\":");
        push_str(&mut line, service);
        line.push_str(",\"Environment\":");
        push_str(&mut line, environment);
        for (name, value) in &self.dimensions {
            line.push(',');
            push_name(&mut line, name);
            line.push(':');
            push_str(&mut line, value);
        }
        for (name, _, value) in &self.metrics {
            line.push(',');
            push_name(&mut line, name);
            line.push(':');
            if value.is_finite() {
                line.push_str(ryu::Buffer::new().format_finite(*value));
            } else {
                line.push_str("null");
            }
        }
        line.push('}');
        Some(line)
    }
}

/// A metric or dimension name: a constant of the code (letters, digits and `_` / `-` / `.`
/// only), so written as it is.
fn push_name(line: &mut String, name: &'static str) {
    debug_assert!(
        name.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')),
        "metric and dimension names are plain: {name}"
    );
    line.push('"');
    line.push_str(name);
    line.push('"');
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
        sink: Arc::new(|line: &str| crate::runtime::stdout::write_line(&[line.as_bytes(), b"\n"])),
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
