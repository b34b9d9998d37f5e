//! Users in Postgres, linked to Cognito by `cognito_sub`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    PgPool, Postgres,
    postgres::{PgArguments, PgRow},
    query::Map,
};

use super::{RepoError, pg};
use crate::models::user::User;

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn insert(
        &self,
        cognito_sub: &str,
        email: &str,
        name: &str,
        address: Option<&str>,
    ) -> Result<User, RepoError>;
    async fn get(&self, user_id: i64) -> Result<Option<User>, RepoError>;
    async fn by_sub(&self, cognito_sub: &str) -> Result<Option<User>, RepoError>;
    /// Links the row with this e-mail to a (new) Cognito `sub`, e.g. after the pool was rebuilt.
    async fn relink(&self, email: &str, cognito_sub: &str) -> Result<Option<User>, RepoError>;
    async fn update(
        &self,
        user_id: i64,
        name: Option<&str>,
        address: Option<Option<&str>>,
    ) -> Result<Option<User>, RepoError>;
}

pub struct PgUserStore {
    pool: PgPool,
}

impl PgUserStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// `sqlx::query_as!` of a [`UserRow`]: `$head`, the row's columns, then `$tail` (string
/// literals) and the arguments. One column list for every user query, checked with each.
macro_rules! user_row {
    ($head:literal, $tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            UserRow,
            $head
                + " user_id, cognito_sub::TEXT AS \"cognito_sub!\", email, name, address, \
                   avatar_url, created_at, updated_at "
                + $tail
            $(, $arg)*
        )
    };
}

/// The per-request lookup of the signed-in user. `cognito_sub` is compared as a UUID, so the
/// unique index answers (a `::TEXT` cast of the column would scan the table on every
/// signed-in request).
fn by_sub_query(
    sub: uuid::Uuid,
) -> Map<'static, Postgres, impl FnMut(PgRow) -> Result<UserRow, sqlx::Error> + Send, PgArguments> {
    user_row!("SELECT", "FROM users WHERE cognito_sub = $1", sub)
}

/// The text of the per-request lookup (a test checks its plan uses the index).
pub fn by_sub_sql() -> String {
    sqlx::Execute::sql(by_sub_query(uuid::Uuid::nil()))
        .as_str()
        .to_owned()
}

struct UserRow {
    user_id: i64,
    cognito_sub: String,
    email: String,
    name: String,
    address: Option<String>,
    avatar_url: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            user_id: r.user_id,
            cognito_sub: r.cognito_sub,
            email: r.email,
            name: r.name,
            address: r.address,
            avatar_url: r.avatar_url,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[async_trait]
impl UserStore for PgUserStore {
    #[tracing::instrument(skip_all)]
    async fn insert(
        &self,
        cognito_sub: &str,
        email: &str,
        name: &str,
        address: Option<&str>,
    ) -> Result<User, RepoError> {
        let row = user_row!(
            "INSERT INTO users (cognito_sub, email, name, address) \
             VALUES ($1::TEXT::UUID, $2, $3, $4) RETURNING",
            "",
            cognito_sub,
            email,
            name,
            address,
        )
        .fetch_one(&self.pool)
        .await
        .map_err(pg)?;
        Ok(row.into())
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, user_id: i64) -> Result<Option<User>, RepoError> {
        let row = user_row!("SELECT", "FROM users WHERE user_id = $1", user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(pg)?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip_all)]
    async fn by_sub(&self, cognito_sub: &str) -> Result<Option<User>, RepoError> {
        // Not a UUID: nobody.
        let Ok(sub) = uuid::Uuid::parse_str(cognito_sub) else {
            return Ok(None);
        };
        let row = by_sub_query(sub)
            .fetch_optional(&self.pool)
            .await
            .map_err(pg)?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip_all)]
    async fn relink(&self, email: &str, cognito_sub: &str) -> Result<Option<User>, RepoError> {
        let row = user_row!(
            "UPDATE users SET cognito_sub = $2::TEXT::UUID, updated_at = now() \
             WHERE lower(email) = lower($1) RETURNING",
            "",
            email,
            cognito_sub,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(pg)?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip_all)]
    async fn update(
        &self,
        user_id: i64,
        name: Option<&str>,
        address: Option<Option<&str>>,
    ) -> Result<Option<User>, RepoError> {
        let row = user_row!(
            "UPDATE users SET name = COALESCE($2, name), \
             address = CASE WHEN $3 THEN $4 ELSE address END, updated_at = now() \
             WHERE user_id = $1 RETURNING",
            "",
            user_id,
            name,
            address.is_some(),
            address.flatten(),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(pg)?;
        Ok(row.map(Into::into))
    }
}
