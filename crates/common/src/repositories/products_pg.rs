//! Products in Postgres, the source of truth. Every write also appends an outbox record in the
//! same transaction, so the projections can never miss it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{
    Execute, PgConnection, PgPool, Postgres, SqlStr, error::BoxDynError, postgres::PgArguments,
};

use super::{RepoError, database::UnitOfWork, pg};
use crate::models::{
    Money,
    product::{NewProduct, Product, ProductChanges, ProductFilter},
};

/// The Postgres side of the products service.
#[async_trait]
pub trait ProductStore: Send + Sync {
    /// Creates the product row (its stock row is the inventory's): its id.
    async fn create(&self, uow: &mut UnitOfWork, new: &NewProduct) -> Result<i64, RepoError>;
    /// A product; deleted ones only when `include_deleted` (the projection relay needs them).
    async fn get(
        &self,
        product_id: i64,
        include_deleted: bool,
    ) -> Result<Option<Product>, RepoError>;
    /// The live products among `ids`.
    async fn get_many(&self, ids: &[i64]) -> Result<Vec<Product>, RepoError>;
    /// Live products after `after`, by id, at most `limit`.
    async fn list(
        &self,
        filter: &ProductFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Product>, RepoError>;
    async fn update(
        &self,
        uow: &mut UnitOfWork,
        product_id: i64,
        changes: &ProductChanges,
    ) -> Result<Option<Product>, RepoError>;
    /// Soft-deletes; false when there was no live product.
    async fn delete(&self, uow: &mut UnitOfWork, product_id: i64) -> Result<bool, RepoError>;
    /// Counts a change that is not in the product's own row (its stock) as a new version.
    async fn touch(&self, uow: &mut UnitOfWork, product_id: i64) -> Result<(), RepoError>;
    /// The product as the unit of work sees it.
    async fn get_in(&self, uow: &mut UnitOfWork, product_id: i64) -> Result<Product, RepoError>;
}

pub struct PgProductStore {
    pool: PgPool,
}

impl PgProductStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// `sqlx::query_as!` of [`ProductRow`]s: the product joined with its stock, then `$rest` (a
/// string literal: the conditions) and the arguments. One select list for every product query,
/// checked at compile time with each of them.
macro_rules! select_products {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ProductRow,
            "SELECT p.product_id, p.sku, p.name, p.description, p.price, p.currency, p.category, \
             p.tags, p.thumbnail_url, p.image_urls, p.created_at, p.updated_at, p.version, \
             p.deleted_at IS NOT NULL AS \"deleted!\", (i.stock - i.reserved)::BIGINT AS \"available!\" \
             FROM products p JOIN product_inventory i USING (product_id) "
                + $rest
            $(, $arg)*
        )
    };
}

// `FromRow` too: the listing decodes its rows itself, by name (see `list`), and the database
// names the overridden columns with their suffix.
#[derive(sqlx::FromRow)]
struct ProductRow {
    product_id: i64,
    sku: String,
    name: String,
    description: String,
    price: Decimal,
    currency: String,
    category: Option<String>,
    tags: Vec<String>,
    thumbnail_url: Option<String>,
    image_urls: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    #[sqlx(rename = "deleted!")]
    deleted: bool,
    #[sqlx(rename = "available!")]
    available: i64,
}

impl From<ProductRow> for Product {
    fn from(r: ProductRow) -> Self {
        Product {
            product_id: r.product_id,
            sku: r.sku,
            name: r.name,
            description: r.description,
            price: Money::from_decimal(r.price),
            currency: r.currency,
            category: r.category,
            tags: r.tags,
            stock_available: r.available,
            thumbnail_url: r.thumbnail_url,
            image_urls: r.image_urls,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
            deleted: r.deleted,
        }
    }
}

async fn fetch_in(tx: &mut PgConnection, product_id: i64) -> Result<Product, RepoError> {
    let row = select_products!("WHERE p.product_id = $1", product_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(pg)?;
    Ok(row.into())
}

/// The listing statement for these filters and its arguments: `$1` category, `$2` LIKE
/// pattern, `$3` after, `$4` limit. Each filter is in the text only when given, so every plan
/// can use its index (a search's pattern the trigram index on `lower(name)`: the work per
/// request is bounded by the matches, never the catalogue's size); the four texts are checked
/// at compile time like every other query.
fn list_statement(
    category: Option<&str>,
    pattern: Option<&str>,
    after: Option<i64>,
    limit: i64,
) -> (SqlStr, Result<Option<PgArguments>, BoxDynError>) {
    fn parts<'q>(
        mut query: impl Execute<'q, Postgres>,
    ) -> (SqlStr, Result<Option<PgArguments>, BoxDynError>) {
        let arguments = query.take_arguments();
        (query.sql(), arguments)
    }
    match (category.is_some(), pattern.is_some()) {
        (false, false) => parts(select_products!(
            "WHERE p.deleted_at IS NULL AND $1::TEXT IS NULL AND $2::TEXT IS NULL \
               AND ($3::BIGINT IS NULL OR p.product_id > $3) \
             ORDER BY p.product_id LIMIT $4",
            category,
            pattern,
            after,
            limit,
        )),
        (true, false) => parts(select_products!(
            "WHERE p.deleted_at IS NULL AND p.category = $1 AND $2::TEXT IS NULL \
               AND ($3::BIGINT IS NULL OR p.product_id > $3) \
             ORDER BY p.product_id LIMIT $4",
            category,
            pattern,
            after,
            limit,
        )),
        (false, true) => parts(select_products!(
            "WHERE p.deleted_at IS NULL AND $1::TEXT IS NULL AND lower(p.name) LIKE $2 \
               AND ($3::BIGINT IS NULL OR p.product_id > $3) \
             ORDER BY p.product_id LIMIT $4",
            category,
            pattern,
            after,
            limit,
        )),
        (true, true) => parts(select_products!(
            "WHERE p.deleted_at IS NULL AND p.category = $1 AND lower(p.name) LIKE $2 \
               AND ($3::BIGINT IS NULL OR p.product_id > $3) \
             ORDER BY p.product_id LIMIT $4",
            category,
            pattern,
            after,
            limit,
        )),
    }
}

/// The listing query's text for these filters (a test reads its plan).
pub fn list_sql(category: bool, search: bool) -> String {
    let (sql, _) = list_statement(category.then_some(""), search.then_some(""), None, 0);
    sql.as_str().to_owned()
}

/// `%`, `_` and `\` are literal in a user's search text.
pub fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[async_trait]
impl ProductStore for PgProductStore {
    #[tracing::instrument(skip_all, fields(sku = %new.sku))]
    async fn create(&self, uow: &mut UnitOfWork, new: &NewProduct) -> Result<i64, RepoError> {
        let product_id = sqlx::query_scalar!(
            "INSERT INTO products (sku, name, description, price, category, tags) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING product_id",
            new.sku,
            new.name,
            new.description,
            new.price.amount(),
            new.category,
            new.tags.as_slice(),
        )
        .fetch_one(uow.conn())
        .await
        .map_err(pg)?;
        Ok(product_id)
    }

    #[tracing::instrument(skip(self))]
    async fn get(
        &self,
        product_id: i64,
        include_deleted: bool,
    ) -> Result<Option<Product>, RepoError> {
        let row = select_products!(
            "WHERE p.product_id = $1 AND ($2 OR p.deleted_at IS NULL)",
            product_id,
            include_deleted,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(pg)?;
        Ok(row.map(Into::into))
    }

    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    async fn get_many(&self, ids: &[i64]) -> Result<Vec<Product>, RepoError> {
        let rows = select_products!("WHERE p.product_id = ANY($1) AND p.deleted_at IS NULL", ids,)
            .fetch_all(&self.pool)
            .await
            .map_err(pg)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(skip(self))]
    async fn list(
        &self,
        filter: &ProductFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Product>, RepoError> {
        // Not a named prepared statement: after five executions PostgreSQL may switch a
        // prepared statement to its generic plan, which cannot know that the LIKE pattern is
        // selective and walks the whole live-products index (100,000 rows, 85 ms, instead of
        // the trigram index's 5 ms). Planned with its values every time, it stays on the index.
        // The checked macros always prepare a named statement, so the statement they checked
        // runs here through the unchecked API, which can leave it unnamed, and its rows are
        // decoded by name into the row type the macro checked them against.
        let pattern = filter.q.as_deref().map(like_pattern);
        let (sql, arguments) = list_statement(
            filter.category.as_deref(),
            pattern.as_deref(),
            after,
            i64::from(limit),
        );
        let arguments = arguments.map_err(|e| pg(sqlx::Error::Encode(e)))?;
        let rows: Vec<ProductRow> = sqlx::query_as_with(sql, arguments.unwrap_or_default())
            .persistent(false)
            .fetch_all(&self.pool)
            .await
            .map_err(pg)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(skip(self, changes))]
    async fn update(
        &self,
        uow: &mut UnitOfWork,
        product_id: i64,
        changes: &ProductChanges,
    ) -> Result<Option<Product>, RepoError> {
        let tx = uow.conn();
        let updated = sqlx::query!(
            "UPDATE products SET \
                name = COALESCE($2, name), \
                description = COALESCE($3, description), \
                price = COALESCE($4, price), \
                category = CASE WHEN $5 THEN $6 ELSE category END, \
                tags = COALESCE($7, tags), \
                version = version + 1, updated_at = now() \
             WHERE product_id = $1 AND deleted_at IS NULL",
            product_id,
            changes.name,
            changes.description,
            changes.price.map(Money::amount),
            changes.category.is_some(),
            changes.category.clone().flatten(),
            changes.tags.as_deref(),
        )
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let product = fetch_in(tx, product_id).await?;
        Ok(Some(product))
    }

    #[tracing::instrument(skip(self))]
    async fn delete(&self, uow: &mut UnitOfWork, product_id: i64) -> Result<bool, RepoError> {
        let tx = uow.conn();
        let deleted = sqlx::query!(
            "UPDATE products SET deleted_at = now(), updated_at = now(), version = version + 1 \
             WHERE product_id = $1 AND deleted_at IS NULL",
            product_id,
        )
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        Ok(true)
    }

    async fn touch(&self, uow: &mut UnitOfWork, product_id: i64) -> Result<(), RepoError> {
        sqlx::query!(
            "UPDATE products SET version = version + 1, updated_at = now() WHERE product_id = $1",
            product_id,
        )
        .execute(uow.conn())
        .await
        .map_err(pg)?;
        Ok(())
    }

    async fn get_in(&self, uow: &mut UnitOfWork, product_id: i64) -> Result<Product, RepoError> {
        fetch_in(uow.conn(), product_id).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_in_search_text_are_literal() {
        assert_eq!(super::like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(super::like_pattern("Mug"), "%mug%");
    }
}
