//! Database credentials that rotate: read from Secrets Manager, kept for a TTL, and read again
//! when PostgreSQL rejects them, so a rotation costs a pool at most one retried connection
//! instead of failing every new connection until the process is replaced.
//!
//! PostgreSQL keeps a session that authenticated with the old password; only new connections
//! meet the new one. sqlx's pool reads its connect options afresh for every connection it
//! opens, so [`PgCredentials::renew`] hands it new options ([`PgPool::set_connect_options`])
//! and every connection after that uses them. Nothing here knows a query or a table.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Deserialize;
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgSslMode},
};

use crate::error::Error;

/// The database secret as RDS and Secrets Manager's rotation functions write it.
#[derive(Deserialize)]
struct DbSecret {
    username: String,
    password: String,
    host: String,
    port: Option<u16>,
    dbname: Option<String>,
}

/// Whether PostgreSQL refused this connection's credentials: SQLSTATE 28P01
/// (`invalid_password`) or 28000 (`invalid_authorization_specification`, e.g. no such role).
pub fn rejected(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db)
        if matches!(db.code().as_deref(), Some("28P01" | "28000")))
}

/// Where a pool's credentials come from, and when they were last read.
pub struct PgCredentials {
    secrets: super::Deferred<aws_sdk_secretsmanager::Client>,
    secret_id: String,
    ssl_mode: PgSslMode,
    ttl: Duration,
    read_at: Mutex<Instant>,
    /// Bumped by every renewal: a caller that saw a rejection under generation `n` renews only
    /// if nobody has since.
    generation: AtomicU64,
    /// One renewal at a time; whoever waited sees the generation moved and goes on.
    renewing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for PgCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCredentials")
            .field("secret_id", &self.secret_id)
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl PgCredentials {
    pub fn new(
        secrets: impl Into<super::Deferred<aws_sdk_secretsmanager::Client>>,
        secret_id: String,
        ssl_mode: PgSslMode,
        ttl: Duration,
    ) -> Self {
        Self {
            secrets: secrets.into(),
            secret_id,
            ssl_mode,
            ttl,
            read_at: Mutex::new(Instant::now()),
            generation: AtomicU64::new(0),
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads the secret: the options of the pool's next connections.
    pub async fn read(&self) -> Result<PgConnectOptions, Error> {
        let secret = self
            .secrets
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| Error::unavailable("secrets manager", e))?;
        let doc: DbSecret = serde_json::from_str(secret.secret_string().unwrap_or_default())
            .map_err(|e| Error::internal(format!("the database secret is malformed: {e}")))?;
        *self.read_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Ok(PgConnectOptions::new()
            .host(&doc.host)
            .port(doc.port.unwrap_or(5432))
            .username(&doc.username)
            .password(&doc.password)
            .database(doc.dbname.as_deref().unwrap_or("shop"))
            .ssl_mode(self.ssl_mode))
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Older than the TTL: the next unit of work reads the secret again first.
    pub fn is_stale(&self) -> bool {
        self.read_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
            >= self.ttl
    }

    /// Reads the secret again and gives `pool` the new options, unless someone did since
    /// generation `seen`. A failed read keeps the options the pool has (and is logged).
    pub async fn renew(&self, pool: &PgPool, seen: u64) {
        let _turn = self.renewing.lock().await;
        if self.generation() != seen {
            return;
        }
        self.read_into(pool).await;
    }

    /// Reads the secret and hands the pool the new options. A failed read keeps the options
    /// the pool has, and the TTL's next read waits a TTL again rather than make every unit
    /// of work wait on a failing Secrets Manager.
    async fn read_into(&self, pool: &PgPool) {
        match self.read().await {
            Ok(options) => {
                pool.set_connect_options(options);
                self.generation.fetch_add(1, Ordering::AcqRel);
                tracing::info!(secret = %self.secret_id, "database credentials read again");
            }
            Err(err) => {
                *self.read_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
                tracing::warn!(error = %err, "could not read the database secret again");
            }
        }
    }

    /// The TTL's read, off the request's critical section: skipped when another caller is
    /// already reading (its result serves everyone), so a hung Secrets Manager holds up one
    /// unit of work, not all of them.
    pub async fn renew_stale(&self, pool: &PgPool) {
        let seen = self.generation();
        let Ok(_turn) = self.renewing.try_lock() else {
            return;
        };
        if self.is_stale() && self.generation() == seen {
            self.read_into(pool).await;
        }
    }
}
