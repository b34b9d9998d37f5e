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
const MAX_TAGS: usize = 20;

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

    /// A trimmed text of `min..=max` characters.
    pub fn text(&mut self, field: &str, raw: &str, min: usize, max: usize) -> String {
        let value = raw.trim().to_owned();
        let len = value.chars().count();
        if len < min || len > max {
            if min > 0 && len == 0 {
                self.add(field, "must not be empty");
            } else {
                self.add(field, format!("must be {min} to {max} characters"));
            }
        }
        value
    }

    pub fn sku(&mut self, raw: &str) -> String {
        let sku = raw.trim().to_owned();
        let ok = (1..=64).contains(&sku.len())
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

    /// A category: lower-cased, 1..=64 characters; empty means none.
    pub fn category(&mut self, raw: Option<&str>) -> Option<String> {
        let value = raw
            .map(|c| c.trim().to_lowercase())
            .filter(|c| !c.is_empty())?;
        if value.chars().count() > 64 {
            self.add("category", "must be at most 64 characters");
        }
        Some(value)
    }

    pub fn tags(&mut self, raw: &[String]) -> Vec<String> {
        if raw.len() > MAX_TAGS {
            self.add("tags", format!("at most {MAX_TAGS} tags"));
        }
        let mut tags: Vec<String> = Vec::with_capacity(raw.len());
        for tag in raw {
            let tag = tag.trim().to_lowercase();
            if tag.is_empty() || tag.chars().count() > 32 {
                self.add("tags", "each tag must be 1 to 32 characters");
                break;
            }
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
