//! The product family: `Product` (what is stored and served), `NewProduct` and `ProductChanges`
//! (validated inputs), `ProductFilter` (listing), `Inventory`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Money;
use crate::error::FieldIssue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price: Money,
    pub currency: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub stock_available: i64,
    pub thumbnail_url: Option<String>,
    pub image_urls: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every write; orders projection updates so an old one never overwrites a newer.
    pub version: i64,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price: Money,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub stock: i32,
}

/// A partial update; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Money>,
    pub category: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
}

impl ProductChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProductFilter {
    pub category: Option<String>,
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inventory {
    pub product_id: i64,
    pub stock: i64,
    pub reserved: i64,
}

impl Inventory {
    pub fn available(&self) -> i64 {
        self.stock - self.reserved
    }
}

pub const MAX_STOCK: i64 = 1_000_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_SKU: usize = 64;
pub const MAX_CATEGORY: usize = 64;
pub const MAX_TAG: usize = 32;

/// The characters `str::trim` removes (Unicode `White_Space`), spelled out for the OpenAPI
/// patterns, so they mean what the server checks whatever a client's regex engine takes `\s`
/// to be.
#[macro_export]
macro_rules! whitespace_class {
    () => {
        r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// The OpenAPI pattern of any text the server stores or searches: no NUL character
/// (PostgreSQL's text cannot hold one).
pub const TEXT_PATTERN: &str = r"^[^\u0000]*$";

/// The OpenAPI pattern of a text that must not be blank: no NUL, and at least one character
/// that `str::trim` keeps.
pub const NOT_BLANK_PATTERN: &str =
    concat!(r"^[^\u0000]*[^\u0000", whitespace_class!(), r"][^\u0000]*$");

/// The OpenAPI pattern of a text without leading or trailing whitespace (and no NUL), at
/// least two characters long (`?q`: its length is bounded separately).
pub const TRIMMED_PATTERN: &str = concat!(
    r"^[^\u0000",
    whitespace_class!(),
    r"][^\u0000]*[^\u0000",
    whitespace_class!(),
    r"]$"
);

/// The OpenAPI pattern of a SKU, as [`Issues::sku`] checks it.
pub const SKU_PATTERN: &str = r"^[A-Za-z0-9._-]{1,64}$";

/// Collects every problem of an input, so a client learns them all at once.
#[derive(Default)]
pub struct Issues(pub Vec<FieldIssue>);

impl Issues {
    pub fn add(&mut self, field: &str, issue: impl Into<String>) {
        self.0.push(FieldIssue::new(field, issue));
    }

    pub fn into_result<T>(self, value: T) -> Result<T, Vec<FieldIssue>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }

    /// A text of at most `max` characters as sent, not blank when `min > 0` (`min` is 0 or
    /// 1); stored trimmed. The length counts the characters sent, so the document's
    /// `maxLength` is the whole rule.
    pub fn text(&mut self, field: &str, raw: &str, min: usize, max: usize) -> String {
        let value = raw.trim().to_owned();
        if raw.contains('\0') {
            self.add(field, "must not contain NUL characters");
        } else if min > 0 && value.is_empty() {
            self.add(field, "must not be blank");
        } else if raw.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        }
        value
    }

    /// 1 to 64 ASCII letters, digits, `-`, `_` or `.`, exactly as sent ([`SKU_PATTERN`]).
    pub fn sku(&mut self, raw: &str) -> String {
        let sku = raw.to_owned();
        let ok = (1..=MAX_SKU).contains(&sku.len())
            && sku
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok {
            self.add("sku", "must be 1 to 64 letters, digits, '-', '_' or '.'");
        }
        sku
    }

    pub fn price(&mut self, raw: &str) -> Money {
        Money::parse_price(raw).unwrap_or_else(|issue| {
            self.add("price", issue);
            Money::ZERO
        })
    }

    /// A category: at most 64 characters as sent, stored trimmed and lower-cased; blank
    /// means none.
    pub fn category(&mut self, raw: Option<&str>) -> Option<String> {
        let raw = raw?;
        if raw.chars().count() > MAX_CATEGORY || raw.contains('\0') {
            self.add(
                "category",
                format!("must be at most {MAX_CATEGORY} characters, without NUL"),
            );
        }
        Some(raw.trim().to_lowercase()).filter(|c| !c.is_empty())
    }

    pub fn tags(&mut self, raw: &[String]) -> Vec<String> {
        if raw.len() > MAX_TAGS {
            self.add("tags", format!("at most {MAX_TAGS} tags"));
        }
        let mut tags: Vec<String> = Vec::with_capacity(raw.len());
        for tag in raw {
            if tag.chars().count() > MAX_TAG || tag.trim().is_empty() || tag.contains('\0') {
                self.add(
                    "tags",
                    format!("each tag must be at most {MAX_TAG} characters and not blank"),
                );
                break;
            }
            let tag = tag.trim().to_lowercase();
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        tags
    }

    pub fn stock(&mut self, raw: i64) -> i32 {
        if !(0..=MAX_STOCK).contains(&raw) {
            self.add("stock", format!("must be from 0 to {MAX_STOCK}"));
            return 0;
        }
        raw as i32
    }
}
