//! The JSON shape of every log line: `timestamp`, `level`, the event's fields (`message`
//! first, as recorded) and `span`: the current request's context (request id, Lambda request
//! id, method, path, user id: [`crate::log_context`]) and the fields of the `tracing` spans the
//! event is in, innermost first (a name already written is not repeated), with the innermost
//! span's `name` (`request` for a request's own lines).
//!
//! A `tracing` layer of its own, written in one pass: `tracing-subscriber`'s JSON formatter
//! builds a `serde_json` map for every span it opens and parses it back for every line it
//! writes, which was a visible part of a cached read's cost (docs/benchmarks/profile.md).

use std::{fmt::Write as _, ops::Range};

use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{Layer, layer::Context, registry::LookupSpan};

use crate::log_context;

/// Writes each line (a complete JSON object and its newline) where `sink` puts it.
pub struct JsonLines<F> {
    sink: F,
}

impl<F: Fn(Vec<u8>) + Send + Sync + 'static> JsonLines<F> {
    pub fn new(sink: F) -> Self {
        Self { sink }
    }
}

/// A span's fields as JSON members (`,"k":v` each), with where each one is.
#[derive(Default)]
struct SpanFields {
    text: String,
    members: Vec<(&'static str, Range<usize>)>,
}

impl<S, F> Layer<S> for JsonLines<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    F: Fn(Vec<u8>) + Send + Sync + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut Members {
            line: &mut fields.text,
            members: Some(&mut fields.members),
        });
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<SpanFields>() {
            values.record(&mut Members {
                line: &mut fields.text,
                members: Some(&mut fields.members),
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = String::with_capacity(320);
        line.push_str("{\"timestamp\":\"");
        push_timestamp(&mut line);
        line.push_str("\",\"level\":\"");
        line.push_str(event.metadata().level().as_str());
        line.push('"');
        event.record(&mut Members {
            line: &mut line,
            members: None,
        });
        // The request's context, then each span's fields, innermost first; a name already
        // written is left out.
        let mut open = false;
        let mut name = "request";
        let mut written: Vec<&'static str> = Vec::new();
        log_context::with_current(|request| {
            open_span(&mut line, &mut open);
            let members = [
                ("request_id", Some(request.request_id.as_str())),
                (
                    "lambda_request_id",
                    Some(request.lambda_request_id.as_deref().unwrap_or("")),
                ),
                ("method", Some(request.method.as_str())),
                ("path", Some(request.uri.path())),
                ("user_id", request.user_id()),
            ];
            for (member, value) in members {
                if let Some(value) = value {
                    push_str(&mut line, member);
                    line.push(':');
                    push_str(&mut line, value);
                    line.push(',');
                    written.push(member);
                }
            }
        });
        if let Some(scope) = ctx.event_scope(event) {
            for (depth, span) in scope.enumerate() {
                open_span(&mut line, &mut open);
                if depth == 0 {
                    name = span.name();
                }
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<SpanFields>() else {
                    continue;
                };
                for (member, range) in &fields.members {
                    if !written.contains(member) {
                        line.push_str(&fields.text[range.clone()]);
                        line.push(',');
                        written.push(member);
                    }
                }
            }
        }
        if open {
            line.push_str("\"name\":");
            push_str(&mut line, name);
            line.push('}');
        }
        line.push_str("}\n");
        (self.sink)(line.into_bytes());
    }
}

fn open_span(line: &mut String, open: &mut bool) {
    if !*open {
        line.push_str(",\"span\":{");
        *open = true;
    }
}

/// Fields as members of a JSON object (`,"k":v` each), written to `line`; for a span, also
/// where each member is (the last value recorded under a name wins).
struct Members<'a> {
    line: &'a mut String,
    members: Option<&'a mut Vec<(&'static str, Range<usize>)>>,
}

impl Members<'_> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut String)) {
        self.line.push(',');
        let start = self.line.len();
        push_str(self.line, field.name());
        self.line.push(':');
        value(self.line);
        if let Some(members) = self.members.as_deref_mut() {
            members.retain(|(name, _)| *name != field.name());
            members.push((field.name(), start..self.line.len()));
        }
    }
}

impl Visit for Members<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |line| push_str(line, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.member(field, |line| {
            line.push('"');
            let _ = write!(Escaped(line), "{value:?}");
            line.push('"');
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.member(field, |line| push_str(line, &value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |line| {
            let _ = write!(line, "{value}");
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |line| {
            let _ = write!(line, "{value}");
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |line| {
            line.push_str(if value { "true" } else { "false" });
        });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.member(field, |line| {
            if value.is_finite() {
                let _ = write!(line, "{value}");
            } else {
                line.push_str("null");
            }
        });
    }
}

/// A JSON string literal.
pub(crate) fn push_str(line: &mut String, value: &str) {
    line.push('"');
    push_escaped(line, value);
    line.push('"');
}

/// Text written into a JSON string literal as it is formatted (no copy in between).
struct Escaped<'a>(&'a mut String);

impl std::fmt::Write for Escaped<'_> {
    fn write_str(&mut self, value: &str) -> std::fmt::Result {
        push_escaped(self.0, value);
        Ok(())
    }
}

/// `value` escaped as the inside of a JSON string literal.
fn push_escaped(line: &mut String, value: &str) {
    let mut start = 0;
    for (i, byte) in value.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        line.push_str(&value[start..i]);
        if escaped.is_empty() {
            let _ = write!(line, "\\u{byte:04x}");
        } else {
            line.push_str(escaped);
        }
        start = i + 1;
    }
    line.push_str(&value[start..]);
}

/// `2026-12-02T00:28:21.046249Z`: the date and time to the second are formatted once a
/// second per thread.
fn push_timestamp(line: &mut String) {
    use std::cell::RefCell;
    thread_local! {
        static SECOND: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
    }
    let now = chrono::Utc::now();
    let second = now.timestamp();
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            cached.1.clear();
            let _ = write!(cached.1, "{}", now.format("%Y-%m-%dT%H:%M:%S"));
            cached.0 = second;
        }
        line.push_str(&cached.1);
    });
    let _ = write!(line, ".{:06}Z", now.timestamp_subsec_micros().min(999_999));
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::prelude::*;

    use super::*;
    use crate::log_context::RequestContext;

    #[tokio::test]
    async fn a_line_carries_its_request_and_every_span_it_is_in_innermost_first() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = written.clone();
        let subscriber = tracing_subscriber::registry().with(JsonLines::new(move |line| {
            sink.lock().unwrap().extend_from_slice(&line)
        }));
        let _default = tracing::subscriber::set_default(subscriber);
        let request = Arc::new(RequestContext::new(
            "req-1".into(),
            None,
            axum::http::Method::GET,
            "/v1/things?q=1".parse().unwrap(),
        ));
        log_context::scope(request, async {
            log_context::set_user("42");
            let outer = tracing::info_span!("checkout", order_id = 7, task = "reserve");
            let _outer = outer.enter();
            let inner = tracing::info_span!("reserve", order_id = 8, sku = tracing::field::Empty);
            inner.record("sku", "A\"B");
            let _inner = inner.enter();
            tracing::warn!(attempt = 2, ok = false, "stock \"low\" at {}", 3);
        })
        .await;
        tracing::info!(done = true, "outside any request");

        let text = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["level"], "WARN");
        assert_eq!(first["message"], "stock \"low\" at 3");
        assert_eq!(
            (first["attempt"].as_u64(), first["ok"].as_bool()),
            (Some(2), Some(false))
        );
        let span = &first["span"];
        assert_eq!(span["request_id"], "req-1");
        assert_eq!(span["lambda_request_id"], "");
        assert_eq!(span["method"], "GET");
        assert_eq!(span["path"], "/v1/things");
        assert_eq!(span["user_id"], "42");
        assert_eq!(span["order_id"], 8, "the innermost span's value wins");
        assert_eq!(span["task"], "reserve");
        assert_eq!(span["sku"], "A\"B");
        assert_eq!(span["name"], "reserve");
        assert_eq!(
            lines[0].matches("\"order_id\"").count(),
            1,
            "no name twice: {}",
            lines[0]
        );
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(
            (second["level"].as_str(), second["done"].as_bool()),
            (Some("INFO"), Some(true))
        );
        assert!(second.get("span").is_none(), "{second}");
    }

    #[test]
    fn strings_are_escaped_as_json_requires() {
        let mut line = String::new();
        push_str(
            &mut line,
            "a \"quoted\" \\ line\nwith\ttabs and \u{1} control é",
        );
        let back: String = serde_json::from_str(&line).unwrap();
        assert_eq!(back, "a \"quoted\" \\ line\nwith\ttabs and \u{1} control é");
    }

    #[test]
    fn the_timestamp_is_rfc3339_in_microseconds() {
        let mut line = String::new();
        push_timestamp(&mut line);
        assert_eq!(line.len(), "2026-12-02T00:28:21.046249Z".len(), "{line}");
        chrono::DateTime::parse_from_rfc3339(&line).unwrap();
    }
}
