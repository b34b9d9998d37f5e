//! Image records in Postgres (the source of truth of an upload's owner, declared type and
//! outcome), and the product/user columns a processed image fills in.

use async_trait::async_trait;
use sqlx::{PgConnection, PgPool};

use super::{RepoError, database::UnitOfWork, pg};
use crate::models::image::{ImageOwner, ImageRow, ImageStatus};

#[async_trait]
pub trait ImageStore: Send + Sync {
    async fn insert_pending(&self, row: &ImageRow) -> Result<(), RepoError>;
    async fn get(&self, image_id: uuid::Uuid) -> Result<Option<ImageRow>, RepoError>;
    /// Marks the image processed and points its owner at the thumbnails, inside `uow` (the
    /// service adds the outbox record for a product). False when it was processed before.
    async fn mark_processed(
        &self,
        uow: &mut UnitOfWork,
        image_id: uuid::Uuid,
        owner: ImageOwner,
        thumbnail_url: &str,
        large_url: &str,
    ) -> Result<bool, RepoError>;
    async fn mark_failed(&self, image_id: uuid::Uuid, reason: &str) -> Result<(), RepoError>;
}

pub struct PgImageStore {
    pool: PgPool,
}

impl PgImageStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

struct Row {
    image_id: uuid::Uuid,
    product_id: Option<i64>,
    user_id: Option<i64>,
    status: String,
    content_type: String,
    content_length: i64,
    original_key: String,
    thumbnail_url: Option<String>,
    large_url: Option<String>,
    failure_reason: Option<String>,
    correlation_id: Option<String>,
}

async fn touch_owner(
    tx: &mut PgConnection,
    owner: ImageOwner,
    thumbnail_url: &str,
    large_url: &str,
) -> Result<(), RepoError> {
    match owner {
        ImageOwner::Product(product_id) => {
            sqlx::query!(
                "UPDATE products SET thumbnail_url = $2, \
                 image_urls = CASE WHEN $3 = ANY(image_urls) THEN image_urls ELSE array_append(image_urls, $3) END, \
                 version = version + 1, updated_at = now() WHERE product_id = $1",
                product_id,
                thumbnail_url,
                large_url,
            )
            .execute(&mut *tx)
            .await
            .map_err(pg)?;
            Ok(())
        }
        ImageOwner::User(user_id) => {
            sqlx::query!(
                "UPDATE users SET avatar_url = $2, updated_at = now() WHERE user_id = $1",
                user_id,
                thumbnail_url,
            )
            .execute(&mut *tx)
            .await
            .map_err(pg)?;
            Ok(())
        }
    }
}

#[async_trait]
impl ImageStore for PgImageStore {
    #[tracing::instrument(skip_all, fields(image_id = %row.image_id))]
    async fn insert_pending(&self, row: &ImageRow) -> Result<(), RepoError> {
        let (product_id, user_id) = match row.owner {
            ImageOwner::Product(id) => (Some(id), None),
            ImageOwner::User(id) => (None, Some(id)),
        };
        sqlx::query!(
            "INSERT INTO product_images (image_id, product_id, user_id, content_type, content_length, original_key, correlation_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            row.image_id,
            product_id,
            user_id,
            row.content_type,
            row.content_length,
            row.original_key,
            row.correlation_id,
        )
        .execute(&self.pool)
        .await
        .map_err(pg)?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, image_id: uuid::Uuid) -> Result<Option<ImageRow>, RepoError> {
        let row = sqlx::query_as!(
            Row,
            "SELECT image_id, product_id, user_id, status, content_type, content_length, original_key, \
             thumbnail_url, large_url, failure_reason, correlation_id \
             FROM product_images WHERE image_id = $1",
            image_id,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(pg)?;
        Ok(row.and_then(|r| {
            let owner = match (r.product_id, r.user_id) {
                (Some(p), _) => ImageOwner::Product(p),
                (None, Some(u)) => ImageOwner::User(u),
                (None, None) => return None,
            };
            Some(ImageRow {
                image_id: r.image_id,
                owner,
                status: ImageStatus::parse(&r.status)?,
                content_type: r.content_type,
                content_length: r.content_length,
                original_key: r.original_key,
                thumbnail_url: r.thumbnail_url,
                large_url: r.large_url,
                failure_reason: r.failure_reason,
                correlation_id: r.correlation_id,
            })
        }))
    }

    #[tracing::instrument(skip(self, thumbnail_url, large_url))]
    async fn mark_processed(
        &self,
        uow: &mut UnitOfWork,
        image_id: uuid::Uuid,
        owner: ImageOwner,
        thumbnail_url: &str,
        large_url: &str,
    ) -> Result<bool, RepoError> {
        let tx = uow.conn();
        let updated = sqlx::query!(
            "UPDATE product_images SET status = 'processed', thumbnail_url = $2, large_url = $3, \
             failure_reason = NULL, updated_at = now() WHERE image_id = $1 AND status <> 'processed'",
            image_id,
            thumbnail_url,
            large_url,
        )
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
        if updated.rows_affected() == 1 {
            touch_owner(tx, owner, thumbnail_url, large_url).await?;
            return Ok(true);
        }
        Ok(false)
    }

    #[tracing::instrument(skip(self))]
    async fn mark_failed(&self, image_id: uuid::Uuid, reason: &str) -> Result<(), RepoError> {
        sqlx::query!(
            "UPDATE product_images SET status = 'failed', failure_reason = $2, updated_at = now() \
             WHERE image_id = $1 AND status = 'pending'",
            image_id,
            reason,
        )
        .execute(&self.pool)
        .await
        .map_err(pg)?;
        Ok(())
    }
}
