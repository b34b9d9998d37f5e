//! Cursor pagination: `?limit=1..=100&cursor=<opaque>` in, `{items, next_cursor}` out.
//!
//! A cursor names the last key served, in one canonical spelling ([`CURSOR_PATTERN`]: the
//! document states it, so a client generated from the document sends nothing else); clients
//! must treat it as opaque. Anything else is `400 VALIDATION_FAILED`, never a 500.

use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldIssue};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// The OpenAPI pattern of a cursor: the canonical decimal of a key, at most 18 digits.
pub const CURSOR_PATTERN: &str = "^(0|[1-9][0-9]{0,17})$";

/// A validated page request: how many items, and after which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<K> {
    pub limit: u32,
    pub after: Option<K>,
}

impl PageRequest<i64> {
    /// Validates the raw query values; reports every bad field at once.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Error> {
        let mut issues = Vec::new();
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => match parse_canonical(raw) {
                Some(n) if (1..=i64::from(MAX_LIMIT)).contains(&n) => n as u32,
                _ => {
                    issues.push(FieldIssue::new(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIMIT}"),
                    ));
                    DEFAULT_LIMIT
                }
            },
        };
        let after = match cursor {
            None => None,
            Some(raw) => match decode_cursor(raw) {
                Some(key) => Some(key),
                None => {
                    issues.push(FieldIssue::new("cursor", "is malformed"));
                    None
                }
            },
        };
        if issues.is_empty() {
            Ok(Self { limit, after })
        } else {
            Err(Error::Validation(issues))
        }
    }
}

pub fn encode_cursor(after: &i64) -> String {
    after.to_string()
}

fn decode_cursor(raw: &str) -> Option<i64> {
    parse_canonical(raw).filter(|_| raw.len() <= 18)
}

/// A non-negative integer in its one canonical spelling: digits only, no sign, spaces or
/// leading zeros (`0|[1-9][0-9]*`), so the document's `integer` and pattern are the rule.
fn parse_canonical(raw: &str) -> Option<i64> {
    let canonical = !raw.is_empty()
        && raw.bytes().all(|b| b.is_ascii_digit())
        && (raw == "0" || !raw.starts_with('0'));
    canonical.then(|| raw.parse().ok()).flatten()
}

/// One page of a listing, as every list route returns it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched items: the extra one only says "there is more".
    pub fn from_overfetch(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> i64) -> Self {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more {
            items.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Self { items, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_garbage_is_a_validation_error() {
        let cursor = encode_cursor(&42_i64);
        let page = PageRequest::<i64>::parse(Some("5"), Some(&cursor)).unwrap();
        assert_eq!(
            page,
            PageRequest {
                limit: 5,
                after: Some(42)
            }
        );
        for bad in [
            "%%%",
            "bm90IGpzb24",
            "",
            "-1",
            "+1",
            "01",
            " 1",
            "1234567890123456789",
        ] {
            let err = PageRequest::<i64>::parse(None, Some(bad)).expect_err(bad);
            assert!(
                matches!(err, Error::Validation(ref d) if d[0].field == "cursor"),
                "cursor {bad:?}"
            );
        }
    }

    #[test]
    fn limit_must_be_between_one_and_a_hundred() {
        for bad in ["0", "101", "-1", "abc", "1.5", "+5", "05", " 5", ""] {
            assert!(
                PageRequest::<i64>::parse(Some(bad), None).is_err(),
                "limit {bad}"
            );
        }
        assert_eq!(PageRequest::<i64>::parse(None, None).unwrap().limit, 20);
        assert_eq!(
            PageRequest::<i64>::parse(Some("100"), None).unwrap().limit,
            100
        );
    }

    #[test]
    fn overfetch_sets_the_cursor_only_when_there_is_more() {
        let page = Page::from_overfetch(vec![1_i64, 2, 3], 2, |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(encode_cursor(&2_i64)));
        let last = Page::from_overfetch(vec![1_i64, 2], 2, |n| *n);
        assert_eq!(last.next_cursor, None);
    }
}
