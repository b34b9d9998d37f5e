//! The transaction seam: a [`UnitOfWork`] is one Postgres transaction that a service opens,
//! hands to every repository that must act together (a write and its outbox record; checkout's
//! reservation, order, items and outbox), and commits once. Dropping it uncommitted rolls back.
//! Services see only these opaque types, never sqlx.

use std::sync::Arc;

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use super::{RepoError, pg};
use crate::clients::credentials::{self, PgCredentials};

/// The database, as services hold it: something to begin units of work on.
#[derive(Clone, Debug)]
pub struct Database {
    pool: PgPool,
    /// The secret the pool's credentials come from, when they rotate.
    credentials: Option<Arc<PgCredentials>>,
}

impl Database {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            credentials: None,
        }
    }

    pub fn with_credentials(mut self, credentials: Option<Arc<PgCredentials>>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Begins a unit of work. With credentials from a secret: read again first when older than
    /// their TTL, and when PostgreSQL rejects them on a new connection (the password rotated),
    /// read again and tried once more, so a rotation costs the caller one retried connection,
    /// not an error.
    pub async fn begin(&self) -> Result<UnitOfWork, RepoError> {
        let Some(credentials) = &self.credentials else {
            return Ok(UnitOfWork {
                tx: self.pool.begin().await.map_err(pg)?,
            });
        };
        if credentials.is_stale() {
            credentials.renew_stale(&self.pool).await;
        }
        let seen = credentials.generation();
        let tx = match self.pool.begin().await {
            Err(err) if credentials::rejected(&err) => {
                tracing::warn!(error = %err, "PostgreSQL rejected the credentials: reading the secret again");
                credentials.renew(&self.pool, seen).await;
                self.pool.begin().await.map_err(pg)?
            }
            other => other.map_err(pg)?,
        };
        Ok(UnitOfWork { tx })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// One open transaction. Repositories take `&mut UnitOfWork`; only the service commits.
pub struct UnitOfWork {
    tx: Transaction<'static, Postgres>,
}

impl std::fmt::Debug for UnitOfWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnitOfWork")
    }
}

impl UnitOfWork {
    pub async fn commit(self) -> Result<(), RepoError> {
        self.tx.commit().await.map_err(pg)
    }

    /// The transaction's connection, for the repositories.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}
