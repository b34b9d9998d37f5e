//! Domain types. Values are validated where they enter (`parse`/`TryFrom`), so code past the
//! boundary cannot hold an invalid price, SKU or stock level.

pub mod cart;
pub mod idempotency;
pub mod image;
pub mod money;
pub mod order;
pub mod page;
pub mod principal;
pub mod product;
pub mod user;

pub use money::Money;

/// RFC 3339 UTC timestamps with millisecond precision (`2026-11-28T10:15:00.123Z`).
pub mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(at))
    }

    pub fn format(at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}
