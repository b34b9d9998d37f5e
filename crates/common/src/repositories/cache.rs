//! The optional Redis cache: namespaced, versioned keys (`products:v1:item:42`) with explicit
//! TTLs. Every failure is logged and treated as a miss: the cache may make reads faster, never
//! make them fail.

use std::time::Duration;

use redis::{AsyncCommands, aio::ConnectionManager};
use serde::{Serialize, de::DeserializeOwned};

#[derive(Clone)]
pub struct Cache {
    conn: Option<ConnectionManager>,
    prefix: String,
}

impl Cache {
    /// `prefix` isolates deployments (and test runs) sharing one Redis.
    pub fn new(conn: Option<ConnectionManager>, prefix: impl Into<String>) -> Self {
        Self {
            conn,
            prefix: prefix.into(),
        }
    }

    pub fn disabled() -> Self {
        Self {
            conn: None,
            prefix: String::new(),
        }
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
    pub async fn delete(&self, keys: &[String]) -> Result<(), redis::RedisError> {
        let Some(mut conn) = self.conn.clone() else {
            return Ok(());
        };
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        conn.del::<_, ()>(keys).await
    }

    /// Increments a counter (used as a generation number of cached listings).
    pub async fn incr(&self, key: &str) -> Result<i64, redis::RedisError> {
        let Some(mut conn) = self.conn.clone() else {
            return Ok(0);
        };
        conn.incr(self.key(key), 1).await
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
