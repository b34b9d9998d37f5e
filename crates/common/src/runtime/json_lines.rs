//! The JSON shape of every log line: `timestamp`, `level`, the event's fields (`message`
//! first, as recorded) and `span`, the current span's fields and name (request id, method,
//! path, user id … for a request's lines).
//!
//! The same lines as `tracing-subscriber`'s JSON formatter with `flatten_event` and
//! `with_current_span`, written in one pass: that formatter parses the span's stored JSON back
//! into a `serde_json::Value` for every line it writes, which was a visible part of a cached
//! read's cost. Here the span's fields, kept as JSON text by [`JsonFields`], are spliced in as
//! they are.

use std::fmt::{self, Write as _};

use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, format::Writer},
    registry::LookupSpan,
};

pub use tracing_subscriber::fmt::format::JsonFields;

pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::with_capacity(320);
        line.push_str("{\"timestamp\":\"");
        push_timestamp(&mut line);
        line.push_str("\",\"level\":\"");
        line.push_str(event.metadata().level().as_str());
        line.push('"');
        event.record(&mut Fields { line: &mut line });
        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            let extensions = span.extensions();
            let fields = extensions
                .get::<FormattedFields<N>>()
                .map(|f| f.fields.as_str())
                .unwrap_or("");
            line.push_str(",\"span\":");
            match fields.strip_suffix('}') {
                Some(open) if open.len() > 1 => {
                    line.push_str(open);
                    line.push(',');
                }
                _ => line.push('{'),
            }
            line.push_str("\"name\":");
            push_str(&mut line, span.name());
            line.push('}');
        }
        line.push_str("}\n");
        writer.write_str(&line)
    }
}

/// An event's fields as members of the line's object.
struct Fields<'a> {
    line: &'a mut String,
}

impl Fields<'_> {
    fn key(&mut self, field: &Field) {
        self.line.push(',');
        push_str(self.line, field.name());
        self.line.push(':');
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        push_str(self.line, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        push_str(self.line, &format!("{value:?}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.key(field);
        push_str(self.line, &value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.line.push_str(if value { "true" } else { "false" });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.line, "{value}");
        } else {
            self.line.push_str("null");
        }
    }
}

/// A JSON string literal.
fn push_str(line: &mut String, value: &str) {
    line.push('"');
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
    line.push('"');
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
    use super::*;

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
