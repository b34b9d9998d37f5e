//! The optional Redis cache: namespaced, versioned keys (`products:v1:item:42`) with explicit
//! TTLs. Every failure is logged and treated as a miss: the cache may make reads faster, never
//! make them fail.
//!
//! In front of it, an in-process tier ([`LocalTier`]) keeps rendered responses (ready bytes)
//! for a short TTL. Every invalidation made through this cache (a [`Cache::delete`], a
//! [`Cache::incr`] of a listing generation) drops the whole tier at once, so within a process
//! a write is never hidden; another process (another Lambda instance) may serve what it
//! rendered up to the tier's TTL after the write reached Redis.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use redis::{AsyncCommands, aio::ConnectionManager};
use serde::{Serialize, de::DeserializeOwned};

#[derive(Clone)]
pub struct Cache {
    conn: Option<ConnectionManager>,
    prefix: String,
    local: Arc<LocalTier>,
}

/// What the in-process tier may hold at most, in rendered bytes (about 400 bytes a product,
/// 10 KiB a page of 20); past it, expired entries go first, then everything.
pub const LOCAL_TIER_MAX_BYTES: usize = 4 * 1024 * 1024;

/// Rendered responses kept in process memory for `ttl` (0: off).
pub struct LocalTier {
    ttl: Duration,
    /// Bumped by every invalidation; an entry is good only for the epoch it was read in.
    epoch: AtomicU64,
    entries: RwLock<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Rendered>,
    bytes: usize,
}

struct Rendered {
    body: Bytes,
    expires: Instant,
    epoch: u64,
}

impl LocalTier {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            epoch: AtomicU64::new(0),
            entries: RwLock::new(Entries::default()),
        }
    }

    fn get(&self, key: &str) -> Option<Bytes> {
        if self.ttl.is_zero() {
            return None;
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .map
            .get(key)
            .filter(|r| r.epoch == epoch && r.expires > Instant::now())
            .map(|r| r.body.clone())
    }

    fn put(&self, key: &str, body: Bytes, read_in: u64) {
        if self.ttl.is_zero() || body.len() > LOCAL_TIER_MAX_BYTES / 16 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock that `invalidate` takes too: what was read before an
        // invalidation is never kept after it.
        let epoch = self.epoch.load(Ordering::Acquire);
        if epoch != read_in {
            return;
        }
        if entries.bytes + body.len() > LOCAL_TIER_MAX_BYTES {
            let now = Instant::now();
            entries
                .map
                .retain(|_, r| r.epoch == epoch && r.expires > now);
            entries.bytes = entries.map.values().map(|r| r.body.len()).sum();
            if entries.bytes + body.len() > LOCAL_TIER_MAX_BYTES {
                entries.map.clear();
                entries.bytes = 0;
            }
        }
        entries.bytes += body.len();
        let previous = entries.map.insert(
            key.to_owned(),
            Rendered {
                body,
                expires: Instant::now() + self.ttl,
                epoch,
            },
        );
        if let Some(previous) = previous {
            entries.bytes -= previous.body.len();
        }
    }

    fn invalidate(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.map.clear();
        entries.bytes = 0;
    }
}

impl Cache {
    /// `prefix` isolates deployments (and test runs) sharing one Redis; `local_ttl` is the
    /// in-process tier's (0: off).
    pub fn new(
        conn: Option<ConnectionManager>,
        prefix: impl Into<String>,
        local_ttl: Duration,
    ) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
            local: Arc::new(LocalTier::new(local_ttl)),
        }
    }

    pub fn disabled() -> Self {
        Self::new(None, String::new(), Duration::ZERO)
    }

    /// Where a read that may end in [`Cache::keep_rendered`] starts: the tier's current epoch.
    pub fn local_epoch(&self) -> u64 {
        self.local.epoch.load(Ordering::Acquire)
    }

    /// A rendered response kept in process, if still good.
    pub fn rendered(&self, key: &str) -> Option<Bytes> {
        self.local.get(key)
    }

    /// Keeps a rendered response in process, unless something was invalidated since the read
    /// that produced it started (`read_in`, from [`Cache::local_epoch`]).
    pub fn keep_rendered(&self, key: &str, body: Bytes, read_in: u64) {
        self.local.put(key, body, read_in);
    }

    pub fn is_enabled(&self) -> bool {
        self.conn.is_some()
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let mut conn = self.conn.clone()?;
        match conn.get::<_, Option<Vec<u8>>>(self.key(key)).await {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).ok(),
            Ok(None) => None,
            Err(err) => {
                tracing::debug!(error = %err, "cache read failed");
                None
            }
        }
    }

    /// Many keys in one round trip (`MGET`); a miss or an error is `None`.
    #[tracing::instrument(skip_all, level = "debug")]
    pub async fn get_many<T: DeserializeOwned>(&self, keys: &[String]) -> Vec<Option<T>> {
        let misses = || keys.iter().map(|_| None).collect();
        let Some(mut conn) = self.conn.clone() else {
            return misses();
        };
        if keys.is_empty() {
            return Vec::new();
        }
        let full: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        match conn.mget::<_, Vec<Option<Vec<u8>>>>(full).await {
            Ok(values) => values
                .into_iter()
                .map(|v| v.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
                .collect(),
            Err(err) => {
                tracing::debug!(error = %err, "cache read failed");
                misses()
            }
        }
    }

    #[tracing::instrument(skip(self, value), level = "debug")]
    pub async fn set<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) {
        let Some(mut conn) = self.conn.clone() else {
            return;
        };
        let Ok(bytes) = serde_json::to_vec(value) else {
            return;
        };
        if let Err(err) = conn
            .set_ex::<_, _, ()>(self.key(key), bytes, ttl.as_secs().max(1))
            .await
        {
            tracing::debug!(error = %err, "cache write failed");
        }
    }

    /// Deletes keys; an error means they may still be there (callers decide what that costs).
    /// The in-process tier is dropped whatever Redis answers.
    pub async fn delete(&self, keys: &[String]) -> Result<(), redis::RedisError> {
        let Some(mut conn) = self.conn.clone() else {
            self.local.invalidate();
            return Ok(());
        };
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let deleted = conn.del::<_, ()>(keys).await;
        self.local.invalidate();
        deleted
    }

    /// Increments a counter (used as a generation number of cached listings).
    /// The in-process tier is dropped whatever Redis answers.
    pub async fn incr(&self, key: &str) -> Result<i64, redis::RedisError> {
        let Some(mut conn) = self.conn.clone() else {
            self.local.invalidate();
            return Ok(0);
        };
        let counted = conn.incr(self.key(key), 1).await;
        self.local.invalidate();
        counted
    }

    /// A counter's value, 0 if unset, `None` when Redis cannot be read.
    pub async fn counter(&self, key: &str) -> Option<i64> {
        let mut conn = self.conn.clone()?;
        conn.get::<_, Option<i64>>(self.key(key))
            .await
            .ok()
            .map(Option::unwrap_or_default)
    }

    pub async fn ping(&self) -> Result<(), redis::RedisError> {
        let Some(mut conn) = self.conn.clone() else {
            return Ok(());
        };
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    #[test]
    fn a_rendered_response_is_served_until_its_ttl() {
        let tier = LocalTier::new(Duration::from_millis(50));
        tier.put("item:1", body("one"), 0);
        assert_eq!(tier.get("item:1"), Some(body("one")));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(tier.get("item:1"), None);
    }

    #[test]
    fn an_invalidation_drops_everything_and_refuses_what_was_read_before_it() {
        let tier = LocalTier::new(Duration::from_secs(60));
        let read_in = tier.epoch.load(Ordering::Acquire);
        tier.put("item:1", body("one"), read_in);
        tier.invalidate();
        assert_eq!(tier.get("item:1"), None);
        // A read that started before the invalidation finishes after it: not kept.
        tier.put("item:2", body("stale"), read_in);
        assert_eq!(tier.get("item:2"), None);
        let now = tier.epoch.load(Ordering::Acquire);
        tier.put("item:2", body("fresh"), now);
        assert_eq!(tier.get("item:2"), Some(body("fresh")));
    }

    #[test]
    fn the_tier_stays_within_its_byte_budget_and_can_be_off() {
        let tier = LocalTier::new(Duration::from_secs(60));
        let page = Bytes::from(vec![b'x'; LOCAL_TIER_MAX_BYTES / 20]);
        for n in 0..100 {
            tier.put(&format!("list:{n}"), page.clone(), 0);
            let entries = tier.entries.read().unwrap();
            assert!(
                entries.bytes <= LOCAL_TIER_MAX_BYTES,
                "{} bytes",
                entries.bytes
            );
            assert_eq!(
                entries.bytes,
                entries.map.values().map(|r| r.body.len()).sum::<usize>()
            );
        }
        assert!(tier.get("list:99").is_some());
        let off = LocalTier::new(Duration::ZERO);
        off.put("item:1", body("one"), 0);
        assert_eq!(off.get("item:1"), None);
    }
}
