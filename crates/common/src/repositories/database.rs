//! The transaction seam: a [`UnitOfWork`] is one Postgres transaction that a service opens,
//! hands to every repository that must act together (a write and its outbox record; checkout's
//! reservation, order, items and outbox), and commits once. Dropping it uncommitted rolls back.
//! Services see only these opaque types, never sqlx.

use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use super::{RepoError, pg};

/// The database, as services hold it: something to begin units of work on.
#[derive(Clone, Debug)]
pub struct Database {
    pool: PgPool,
}

impl Database {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub async fn begin(&self) -> Result<UnitOfWork, RepoError> {
        Ok(UnitOfWork {
            tx: self.pool.begin().await.map_err(pg)?,
        })
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
