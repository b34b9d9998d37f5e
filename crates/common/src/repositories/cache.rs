//! The optional Redis cache: namespaced, versioned keys (`products:v1:item:42`) with explicit
//! TTLs. Every failure is logged and treated as a miss: the cache may make reads faster, never
//! make them fail.
//!
//! In front of it, an in-process tier ([`LocalTier`]) keeps rendered responses (ready bytes)
//! for a short TTL. Every invalidation made through this cache (a [`Cache::delete`], a
//! [`Cache::incr`] of a listing generation) drops the whole tier at once, so within a process
//! a write is never hidden; another process (another Lambda instance) may serve what it
//! rendered up to the tier's TTL after the write reached Redis.
//!
//! A key missing from the tier is filled by one caller at a time in a process
//! ([`Cache::rendered_or_fill`]): the callers that miss it meanwhile wait for that fill and
//! take what it kept. Without that, a hot key that expired from Redis sent every request in
//! flight (64 in the benchmark) to DynamoDB at once, and the slowest of them set the p99.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use redis::{AsyncCommands, aio::ConnectionManager};
use serde::{Serialize, de::DeserializeOwned};

/// Where [`Cache::rendered_or_fill`]'s answer came from.
#[derive(Debug, PartialEq)]
pub enum Rendering {
    /// Kept in process (possibly by the fill this caller waited for).
    Kept(Bytes),
    /// Read by this caller.
    Read(Bytes),
}

#[derive(Clone)]
pub struct Cache {
    conn: Option<Arc<Connection>>,
    prefix: String,
    local: Arc<LocalTier>,
}

/// Makes the Redis connection again, with the AUTH token read anew (from its secret).
pub type Reconnect = Arc<
    dyn Fn() -> std::pin::Pin<
            Box<
                dyn std::future::Future<Output = Result<ConnectionManager, crate::error::BoxError>>
                    + Send,
            >,
        > + Send
        + Sync,
>;

/// The connection manager in use, and how to replace it when Redis refuses its AUTH token
/// (`WRONGPASS`/`NOAUTH`: the token rotated). The manager reconnects by itself after a dropped
/// connection, but with the token it was built with; a rotation would leave the cache missing
/// every read until the process is replaced. With [`Cache::with_reconnect`] it costs one failed
/// cache command: the next ones use a manager made with the new token.
struct Connection {
    current: RwLock<ConnectionManager>,
    reconnect: Option<Reconnect>,
    /// Bumped by every replacement; one replacement per rejection seen.
    generation: AtomicU64,
    replacing: tokio::sync::Mutex<()>,
}

/// Whether Redis refused the connection's credentials.
fn auth_rejected(err: &redis::RedisError) -> bool {
    err.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(err.code(), Some("WRONGPASS" | "NOAUTH"))
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
    /// The fills under way, by key (an entry lives while a caller holds its [`Fill`]).
    fills: Mutex<HashMap<String, Arc<Fill>>>,
}

/// One key's fill: its callers take the lock in turn. `failed` tells the waiters that a turn
/// before theirs left nothing ([`Turn`]), so they read on their own, side by side, rather than
/// one after another behind a failing or hung store.
#[derive(Default)]
struct Fill {
    lock: tokio::sync::Mutex<()>,
    failed: AtomicBool,
}

/// The turn of the caller that fills a key. When it ends without having left an entry in the
/// tier — the fill failed, its read was not kept, or its request was dropped mid-way (a
/// deadline) — the callers still waiting read side by side instead of taking turns.
struct Turn<'a> {
    tier: &'a LocalTier,
    key: &'a str,
    fill: &'a Fill,
    _lock: tokio::sync::MutexGuard<'a, ()>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if self.tier.get(self.key).is_none() {
            self.fill.failed.store(true, Ordering::Release);
        }
    }
}

/// A caller's hold on a key's [`Fill`]; the last one to let go removes it from the map (also
/// when its request is dropped mid-way).
struct FillHold<'a> {
    tier: &'a LocalTier,
    key: &'a str,
    fill: Arc<Fill>,
}

impl Drop for FillHold<'_> {
    fn drop(&mut self) {
        let mut fills = self.tier.fills.lock().unwrap_or_else(|e| e.into_inner());
        // The map's reference and this one: nobody else waits on this fill.
        if Arc::strong_count(&self.fill) == 2 {
            fills.remove(self.key);
        }
    }
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
            fills: Mutex::new(HashMap::new()),
        }
    }

    fn hold<'a>(&'a self, key: &'a str) -> FillHold<'a> {
        let mut fills = self.fills.lock().unwrap_or_else(|e| e.into_inner());
        let fill = fills.entry(key.to_owned()).or_default().clone();
        FillHold {
            tier: self,
            key,
            fill,
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
            conn: conn.map(|manager| {
                Arc::new(Connection {
                    current: RwLock::new(manager),
                    reconnect: None,
                    generation: AtomicU64::new(0),
                    replacing: tokio::sync::Mutex::new(()),
                })
            }),
            prefix: prefix.into(),
            local: Arc::new(LocalTier::new(local_ttl)),
        }
    }

    /// How to make the connection again when Redis refuses its AUTH token.
    pub fn with_reconnect(mut self, reconnect: Reconnect) -> Self {
        if let Some(conn) = self.conn.take() {
            let manager = conn
                .current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            self.conn = Some(Arc::new(Connection {
                current: RwLock::new(manager),
                reconnect: Some(reconnect),
                generation: AtomicU64::new(0),
                replacing: tokio::sync::Mutex::new(()),
            }));
        }
        self
    }

    /// The connection manager in use, and its generation.
    fn manager(&self) -> Option<(ConnectionManager, u64)> {
        let conn = self.conn.as_ref()?;
        let generation = conn.generation.load(Ordering::Acquire);
        let manager = conn
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Some((manager, generation))
    }

    /// After a failed command: when Redis refused the token, make the connection again (once
    /// per rejection: whoever saw the same generation waits for that one replacement).
    async fn failed(&self, err: &redis::RedisError, seen: u64) {
        let Some(conn) = &self.conn else { return };
        let Some(reconnect) = &conn.reconnect else {
            return;
        };
        if !auth_rejected(err) {
            return;
        }
        let _turn = conn.replacing.lock().await;
        if conn.generation.load(Ordering::Acquire) != seen {
            return;
        }
        match reconnect().await {
            Ok(manager) => {
                *conn.current.write().unwrap_or_else(|e| e.into_inner()) = manager;
                conn.generation.fetch_add(1, Ordering::AcqRel);
                tracing::info!(
                    "Redis refused its AUTH token: connected again with the token read anew"
                );
            }
            Err(error) => tracing::warn!(%error, "could not connect to Redis again"),
        }
    }

    pub fn disabled() -> Self {
        Self::new(None, String::new(), Duration::ZERO)
    }

    /// A rendered response: the one kept in process while still good, else what `fill` reads,
    /// kept unless something was invalidated since the read started. One caller per key fills
    /// at a time; a caller that misses meanwhile waits for that fill and takes what it kept
    /// (the answer says `Kept` then), or reads on its own if that fill failed or was not kept.
    /// With the tier off, every caller reads.
    pub async fn rendered_or_fill<E>(
        &self,
        key: &str,
        fill: impl std::future::Future<Output = Result<Bytes, E>>,
    ) -> Result<Rendering, E> {
        let tier = &*self.local;
        if let Some(body) = tier.get(key) {
            return Ok(Rendering::Kept(body));
        }
        if tier.ttl.is_zero() {
            return fill.await.map(Rendering::Read);
        }
        let hold = tier.hold(key);
        let lock = hold.fill.lock.lock().await;
        if let Some(body) = tier.get(key) {
            return Ok(Rendering::Kept(body));
        }
        let turn = if hold.fill.failed.load(Ordering::Acquire) {
            drop(lock);
            None
        } else {
            Some(Turn {
                tier,
                key,
                fill: &hold.fill,
                _lock: lock,
            })
        };
        let read_in = tier.epoch.load(Ordering::Acquire);
        let body = fill.await?;
        tier.put(key, body.clone(), read_in);
        drop(turn);
        Ok(Rendering::Read(body))
    }

    pub fn is_enabled(&self) -> bool {
        self.conn.is_some()
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let (mut conn, seen) = self.manager()?;
        match conn.get::<_, Option<Vec<u8>>>(self.key(key)).await {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).ok(),
            Ok(None) => None,
            Err(err) => {
                tracing::debug!(error = %err, "cache read failed");
                self.failed(&err, seen).await;
                None
            }
        }
    }

    /// Many keys in one round trip (`MGET`); a miss or an error is `None`.
    #[tracing::instrument(skip_all, level = "debug")]
    pub async fn get_many<T: DeserializeOwned>(&self, keys: &[String]) -> Vec<Option<T>> {
        let misses = || keys.iter().map(|_| None).collect();
        let Some((mut conn, seen)) = self.manager() else {
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
                self.failed(&err, seen).await;
                misses()
            }
        }
    }

    #[tracing::instrument(skip(self, value), level = "debug")]
    pub async fn set<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) {
        let Some((mut conn, seen)) = self.manager() else {
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
            self.failed(&err, seen).await;
        }
    }

    /// Deletes keys; an error means they may still be there (callers decide what that costs).
    /// The in-process tier is dropped whatever Redis answers.
    pub async fn delete(&self, keys: &[String]) -> Result<(), redis::RedisError> {
        let Some((mut conn, seen)) = self.manager() else {
            self.local.invalidate();
            return Ok(());
        };
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let deleted = conn.del::<_, ()>(keys).await;
        self.local.invalidate();
        if let Err(err) = &deleted {
            self.failed(err, seen).await;
        }
        deleted
    }

    /// Increments a counter (used as a generation number of cached listings).
    /// The in-process tier is dropped whatever Redis answers.
    pub async fn incr(&self, key: &str) -> Result<i64, redis::RedisError> {
        let Some((mut conn, seen)) = self.manager() else {
            self.local.invalidate();
            return Ok(0);
        };
        let counted = conn.incr(self.key(key), 1).await;
        self.local.invalidate();
        if let Err(err) = &counted {
            self.failed(err, seen).await;
        }
        counted
    }

    /// A counter's value, 0 if unset, `None` when Redis cannot be read.
    pub async fn counter(&self, key: &str) -> Option<i64> {
        let (mut conn, seen) = self.manager()?;
        match conn.get::<_, Option<i64>>(self.key(key)).await {
            Ok(value) => Some(value.unwrap_or_default()),
            Err(err) => {
                self.failed(&err, seen).await;
                None
            }
        }
    }

    pub async fn ping(&self) -> Result<(), redis::RedisError> {
        let Some((mut conn, seen)) = self.manager() else {
            return Ok(());
        };
        let pinged = redis::cmd("PING").query_async::<String>(&mut conn).await;
        if let Err(err) = &pinged {
            self.failed(err, seen).await;
        }
        pinged.map(drop)
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

    /// `callers` concurrent `rendered_or_fill`s of one key whose fill takes a while and answers
    /// `outcome`; returns their answers, how many fills ran, and the most that ran at once.
    async fn racing_fills(
        cache: &Cache,
        callers: usize,
        outcome: Result<&'static str, &'static str>,
    ) -> (Vec<Result<Rendering, &'static str>>, usize, usize) {
        use std::sync::atomic::AtomicUsize;
        let fills = Arc::new(AtomicUsize::new(0));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let (cache, fills, running, most) =
                    (cache.clone(), fills.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    let fill = async {
                        fills.fetch_add(1, Ordering::SeqCst);
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                        outcome.map(body)
                    };
                    cache.rendered_or_fill("item:1", fill).await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        (
            answers,
            fills.load(Ordering::SeqCst),
            most.load(Ordering::SeqCst),
        )
    }

    #[tokio::test]
    async fn callers_that_miss_a_key_together_share_one_fill() {
        let cache = Cache::new(None, "test", Duration::from_secs(60));
        let (answers, fills, _) = racing_fills(&cache, 16, Ok("one")).await;
        assert_eq!(fills, 1, "one fill for 16 callers");
        let read = answers
            .iter()
            .filter(|a| **a == Ok(Rendering::Read(body("one"))))
            .count();
        let kept = answers
            .iter()
            .filter(|a| **a == Ok(Rendering::Kept(body("one"))))
            .count();
        assert_eq!((read, kept), (1, 15));
        assert!(cache.local.fills.lock().unwrap().is_empty(), "no fill left");
    }

    #[tokio::test]
    async fn after_a_failed_fill_the_waiters_read_side_by_side() {
        let cache = Cache::new(None, "test", Duration::from_secs(60));
        let (answers, fills, most) = racing_fills(&cache, 8, Err("down")).await;
        assert!(answers.iter().all(|a| *a == Err("down")));
        assert_eq!(fills, 8, "every caller tried");
        assert!(most > 1, "the waiters did not queue behind each other");
        assert!(cache.local.fills.lock().unwrap().is_empty(), "no fill left");
        // The next miss starts afresh: one fill again.
        let (_, fills, _) = racing_fills(&cache, 8, Ok("back")).await;
        assert_eq!(fills, 1);
    }

    #[tokio::test]
    async fn when_the_filling_request_is_dropped_the_waiters_read_side_by_side() {
        let cache = Cache::new(None, "test", Duration::from_secs(60));
        // The first caller's fill hangs; its request is dropped at its deadline.
        let hung = {
            let cache = cache.clone();
            tokio::spawn(async move {
                let fill = std::future::pending::<Result<Bytes, &'static str>>();
                tokio::time::timeout(
                    Duration::from_millis(50),
                    cache.rendered_or_fill("item:1", fill),
                )
                .await
            })
        };
        let (answers, fills, most) = racing_fills(&cache, 4, Ok("one")).await;
        assert!(hung.await.unwrap().is_err(), "the hung fill was dropped");
        assert_eq!(fills, 4, "each waiter read on its own");
        assert!(most > 1, "the waiters did not queue behind each other");
        assert!(
            answers
                .iter()
                .all(|a| *a == Ok(Rendering::Read(body("one"))))
        );
        assert!(cache.local.fills.lock().unwrap().is_empty(), "no fill left");
    }

    #[tokio::test]
    async fn with_the_tier_off_every_caller_reads() {
        let cache = Cache::new(None, "test", Duration::ZERO);
        let (answers, fills, _) = racing_fills(&cache, 4, Ok("one")).await;
        assert_eq!(fills, 4);
        assert!(
            answers
                .iter()
                .all(|a| *a == Ok(Rendering::Read(body("one"))))
        );
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
