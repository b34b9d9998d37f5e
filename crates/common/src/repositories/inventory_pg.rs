//! Stock in Postgres (`product_inventory`): every statement that reads what can be sold or
//! moves units lives here (a structure test keeps it so). A product's units are `stock`, of
//! which `reserved` are held by `PENDING` orders; moves are conditional updates inside the
//! caller's [`UnitOfWork`], so stock never goes negative and a reservation is all or nothing,
//! under any concurrency. Lines are always taken in product order, so concurrent transactions
//! lock inventory rows in one order and never deadlock.

use async_trait::async_trait;
use sqlx::PgConnection;

use super::{RepoError, database::UnitOfWork, pg};
use crate::models::{Money, order::OrderItem, product::Inventory};

/// A product as checkout prices it, read inside the checkout's transaction.
#[derive(Debug, Clone)]
pub struct Sellable {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub price: Money,
    pub available: i64,
}

#[async_trait]
pub trait InventoryStore: Send + Sync {
    /// The live products among `ids`, with their price and available units now.
    async fn sellable(&self, uow: &mut UnitOfWork, ids: &[i64])
    -> Result<Vec<Sellable>, RepoError>;
    /// The stock row of a product being created.
    async fn open(
        &self,
        uow: &mut UnitOfWork,
        product_id: i64,
        stock: i32,
    ) -> Result<(), RepoError>;
    /// Sets a live product's stock (an admin's count); `None` when there is no live product.
    /// Violates `product_inventory_reserved_le_stock` below the reserved units.
    async fn set(
        &self,
        uow: &mut UnitOfWork,
        product_id: i64,
        stock: i32,
    ) -> Result<Option<Inventory>, RepoError>;
    /// Holds back every line's units, all or nothing: the ids of the lines that are short
    /// (the caller rolls the unit of work back).
    async fn reserve(
        &self,
        uow: &mut UnitOfWork,
        items: &[OrderItem],
    ) -> Result<Vec<i64>, RepoError>;
    /// Gives reserved units back.
    async fn release(&self, uow: &mut UnitOfWork, items: &[OrderItem]) -> Result<(), RepoError>;
    /// Takes reserved units out of stock (confirmation).
    async fn commit(&self, uow: &mut UnitOfWork, items: &[OrderItem]) -> Result<(), RepoError>;
    /// Puts committed units back into stock (a confirmed order cancelled).
    async fn restock(&self, uow: &mut UnitOfWork, items: &[OrderItem]) -> Result<(), RepoError>;
}

/// Stateless: every call works inside the caller's unit of work.
#[derive(Debug, Default, Clone, Copy)]
pub struct PgInventory;

fn by_product(items: &[OrderItem]) -> Vec<&OrderItem> {
    let mut sorted: Vec<&OrderItem> = items.iter().collect();
    sorted.sort_by_key(|i| i.product_id);
    sorted
}

/// A move of units every line of an order must make.
#[derive(Debug, Clone, Copy)]
enum Move {
    /// Gives reserved units back.
    Release,
    /// Takes reserved units out of stock.
    Commit,
    /// Puts committed units back into stock.
    Restock,
}

/// Makes `kind` for every line; each must change exactly one row.
async fn move_each(
    conn: &mut PgConnection,
    kind: Move,
    items: &[OrderItem],
) -> Result<(), RepoError> {
    for item in by_product(items) {
        let (product_id, units) = (item.product_id, item.quantity as i32);
        let query = match kind {
            Move::Release => sqlx::query!(
                "UPDATE product_inventory SET reserved = reserved - $2, updated_at = now() \
                 WHERE product_id = $1 AND reserved >= $2",
                product_id,
                units,
            ),
            Move::Commit => sqlx::query!(
                "UPDATE product_inventory SET stock = stock - $2, reserved = reserved - $2, \
                 updated_at = now() WHERE product_id = $1 AND reserved >= $2 AND stock >= $2",
                product_id,
                units,
            ),
            Move::Restock => sqlx::query!(
                "UPDATE product_inventory SET stock = stock + $2, updated_at = now() WHERE product_id = $1",
                product_id,
                units,
            ),
        };
        let updated = query.execute(&mut *conn).await.map_err(pg)?;
        if updated.rows_affected() != 1 {
            return Err(RepoError::Other(
                format!(
                    "inventory of product {} did not match the order",
                    item.product_id
                )
                .into(),
            ));
        }
    }
    Ok(())
}

#[async_trait]
impl InventoryStore for PgInventory {
    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    async fn sellable(
        &self,
        uow: &mut UnitOfWork,
        ids: &[i64],
    ) -> Result<Vec<Sellable>, RepoError> {
        let rows = sqlx::query!(
            "SELECT p.product_id, p.sku, p.name, p.price, \
                    (i.stock - i.reserved)::BIGINT AS \"available!\" \
             FROM products p JOIN product_inventory i USING (product_id) \
             WHERE p.product_id = ANY($1) AND p.deleted_at IS NULL",
            ids,
        )
        .fetch_all(uow.conn())
        .await
        .map_err(pg)?;
        Ok(rows
            .into_iter()
            .map(|r| Sellable {
                product_id: r.product_id,
                sku: r.sku,
                name: r.name,
                price: Money::from_decimal(r.price),
                available: r.available,
            })
            .collect())
    }

    async fn open(
        &self,
        uow: &mut UnitOfWork,
        product_id: i64,
        stock: i32,
    ) -> Result<(), RepoError> {
        sqlx::query!(
            "INSERT INTO product_inventory (product_id, stock) VALUES ($1, $2)",
            product_id,
            stock,
        )
        .execute(uow.conn())
        .await
        .map_err(pg)?;
        Ok(())
    }

    #[tracing::instrument(skip(self, uow))]
    async fn set(
        &self,
        uow: &mut UnitOfWork,
        product_id: i64,
        stock: i32,
    ) -> Result<Option<Inventory>, RepoError> {
        let row = sqlx::query!(
            "UPDATE product_inventory i SET stock = $2, updated_at = now() \
             FROM products p \
             WHERE i.product_id = $1 AND p.product_id = i.product_id AND p.deleted_at IS NULL \
             RETURNING i.stock, i.reserved",
            product_id,
            stock,
        )
        .fetch_optional(uow.conn())
        .await
        .map_err(pg)?;
        Ok(row.map(|r| Inventory {
            product_id,
            stock: r.stock.into(),
            reserved: r.reserved.into(),
        }))
    }

    #[tracing::instrument(skip_all, fields(lines = items.len()))]
    async fn reserve(
        &self,
        uow: &mut UnitOfWork,
        items: &[OrderItem],
    ) -> Result<Vec<i64>, RepoError> {
        let conn = uow.conn();
        let mut short = Vec::new();
        for item in by_product(items) {
            // The condition and the CHECK (reserved <= stock) make over-reserving impossible.
            let updated = sqlx::query!(
                "UPDATE product_inventory SET reserved = reserved + $2, updated_at = now() \
                 WHERE product_id = $1 AND stock - reserved >= $2",
                item.product_id,
                item.quantity as i32,
            )
            .execute(&mut *conn)
            .await
            .map_err(pg)?;
            if updated.rows_affected() == 0 {
                short.push(item.product_id);
            }
        }
        Ok(short)
    }

    async fn release(&self, uow: &mut UnitOfWork, items: &[OrderItem]) -> Result<(), RepoError> {
        move_each(uow.conn(), Move::Release, items).await
    }

    async fn commit(&self, uow: &mut UnitOfWork, items: &[OrderItem]) -> Result<(), RepoError> {
        move_each(uow.conn(), Move::Commit, items).await
    }

    async fn restock(&self, uow: &mut UnitOfWork, items: &[OrderItem]) -> Result<(), RepoError> {
        move_each(uow.conn(), Move::Restock, items).await
    }
}
