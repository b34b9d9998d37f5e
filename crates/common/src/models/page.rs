//! Cursor pagination: `?limit=1..=100&cursor=<opaque>` in, `{items, next_cursor}` out.
//!
//! A cursor is base64url of a small JSON document naming the last key served; clients must treat
//! it as opaque. Anything that does not decode is `400 VALIDATION_FAILED`, never a 500.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::{Error, FieldIssue};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// A validated page request: how many items, and after which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<K> {
    pub limit: u32,
    pub after: Option<K>,
}

#[derive(Serialize, Deserialize)]
struct CursorDoc<K> {
    v: u8,
    after: K,
}

impl<K: Serialize + DeserializeOwned> PageRequest<K> {
    /// Validates the raw query values; reports every bad field at once.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Error> {
        let mut issues = Vec::new();
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
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
            Some(raw) => match decode_cursor::<K>(raw) {
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

pub fn encode_cursor<K: Serialize>(after: &K) -> String {
    let doc = serde_json::to_vec(&CursorDoc { v: 1, after }).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(doc)
}

fn decode_cursor<K: DeserializeOwned>(raw: &str) -> Option<K> {
    if raw.is_empty() || raw.len() > 512 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let doc: CursorDoc<K> = serde_json::from_slice(&bytes).ok()?;
    (doc.v == 1).then_some(doc.after)
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
    pub fn from_overfetch<K: Serialize>(
        mut items: Vec<T>,
        limit: u32,
        key: impl Fn(&T) -> K,
    ) -> Self {
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
        for bad in ["%%%", "bm90IGpzb24", "", &encode_cursor(&"str")] {
            let err = PageRequest::<i64>::parse(None, Some(bad)).expect_err(bad);
            assert!(
                matches!(err, Error::Validation(ref d) if d[0].field == "cursor"),
                "cursor {bad:?}"
            );
        }
    }

    #[test]
    fn limit_must_be_between_one_and_a_hundred() {
        for bad in ["0", "101", "-1", "abc", "1.5"] {
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
