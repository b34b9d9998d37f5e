//! Image processing: `s3:ObjectCreated` events of uploads (decoded at the edge into
//! [`ObjectRef`]s) become thumbnails and a metadata-free original. One code path serves the
//! Lambda (SQS batches) and the local server's poller; uploads themselves are
//! [`super::uploads`]' work.
//!
//! A message whose failure is transient (S3, Postgres or DynamoDB unavailable) is reported as a
//! batch item failure, so SQS delivers it again and moves it to the DLQ after
//! `maxReceiveCount`; a bad image is a normal outcome (`failed` with a reason), not an error.

use std::sync::Arc;

use crate::{
    error::Error,
    metrics::{self, Unit},
    models::image::{ImageOutcome, ImageOwner, ImageRow, ImageStatus, ObjectRef},
    repositories::{
        database::Database,
        images_dynamo::ImageMetaWriter,
        images_pg::ImageStore,
        objects_s3::{Fetched, ObjectStore},
        outbox::PgOutbox,
    },
    services::{outbox_relay::ProductRelay, queue::MessageHandler, uploads::MAX_UPLOAD_BYTES},
};

/// Longest edges of the thumbnails made for every image.
pub const SIZES: [u32; 2] = [256, 1024];

pub struct ImageProcessor {
    db: Database,
    outbox: PgOutbox,
    images: Arc<dyn ImageStore>,
    meta: Arc<dyn ImageMetaWriter>,
    objects: Arc<dyn ObjectStore>,
    projector: Arc<ProductRelay>,
    public_base_url: String,
}

/// `raw/{products|users}/{id}/{image_id}` → owner and image id.
pub fn parse_raw_key(key: &str) -> Option<(ImageOwner, uuid::Uuid)> {
    let mut parts = key.split('/');
    let (Some("raw"), Some(segment), Some(id), Some(image), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let id: i64 = id.parse().ok()?;
    let owner = match segment {
        "products" => ImageOwner::Product(id),
        "users" => ImageOwner::User(id),
        _ => return None,
    };
    Some((owner, uuid::Uuid::parse_str(image).ok()?))
}

impl ImageProcessor {
    pub fn new(
        db: Database,
        outbox: PgOutbox,
        images: Arc<dyn ImageStore>,
        meta: Arc<dyn ImageMetaWriter>,
        objects: Arc<dyn ObjectStore>,
        projector: Arc<ProductRelay>,
        public_base_url: String,
    ) -> Self {
        Self {
            db,
            outbox,
            images,
            meta,
            objects,
            projector,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
        }
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.public_base_url)
    }

    #[tracing::instrument(skip(self), fields(correlation_id = tracing::field::Empty))]
    async fn process(&self, key: &str) -> Result<(), Error> {
        let Some((owner, image_id)) = parse_raw_key(key) else {
            tracing::warn!(key, "not an upload of ours; ignored");
            return Ok(());
        };
        let Some(row) = self.images.get(image_id).await? else {
            tracing::warn!(key, "no image record for this upload; ignored");
            return Ok(());
        };
        if row.owner != owner || row.original_key != key {
            tracing::warn!(key, "the key does not match the image record; ignored");
            return Ok(());
        }
        // The upload's request id on every line of its processing.
        if let Some(id) = &row.correlation_id {
            tracing::Span::current().record("correlation_id", id.as_str());
        }
        match row.status {
            // A redelivery: make sure the projection has the outcome, then stop.
            ImageStatus::Processed => {
                let outcome = ImageOutcome::Processed {
                    thumbnail_url: row.thumbnail_url.clone().unwrap_or_default(),
                    large_url: row.large_url.clone().unwrap_or_default(),
                    original_url: self.url(&owner.original_key(image_id)),
                };
                self.meta
                    .set_outcome(&owner.entity(), &image_id.to_string(), &outcome)
                    .await?;
                return Ok(());
            }
            ImageStatus::Failed => {
                let outcome = ImageOutcome::Failed {
                    reason: row.failure_reason.clone().unwrap_or_default(),
                };
                self.meta
                    .set_outcome(&owner.entity(), &image_id.to_string(), &outcome)
                    .await?;
                return Ok(());
            }
            ImageStatus::Pending => {}
        }
        let bytes = match self.objects.get(key, MAX_UPLOAD_BYTES as usize).await? {
            Fetched::Bytes(bytes) if !bytes.is_empty() => bytes,
            Fetched::Bytes(_) => return self.fail(&row, "empty").await,
            Fetched::TooLarge => return self.fail(&row, "too_large").await,
            Fetched::Missing => return self.fail(&row, "missing").await,
        };
        let content_type = row.content_type.clone();
        let made = tokio::task::spawn_blocking(move || {
            let limits = imaging::Limits::default();
            // The sizes, then the full size (never upscaled): re-encoded, so no metadata
            // (EXIF, GPS) of the upload survives into what is served.
            let mut sizes = SIZES.to_vec();
            sizes.push(limits.max_edge);
            imaging::make_thumbnails(&bytes, &content_type, &sizes, &limits)
        })
        .await
        .map_err(Error::internal)?;
        let thumbnails = match made {
            Ok(thumbnails) => thumbnails,
            Err(err) => return self.fail(&row, err.reason()).await,
        };
        let mut urls = Vec::with_capacity(thumbnails.len());
        for (index, thumb) in thumbnails.into_iter().enumerate() {
            let key = if index < SIZES.len() {
                format!(
                    "thumbnails/{}/{}/{image_id}_{}.jpg",
                    owner.segment(),
                    owner.id(),
                    thumb.max_edge
                )
            } else {
                owner.original_key(image_id)
            };
            self.objects.put(&key, thumb.jpeg, "image/jpeg").await?;
            urls.push(self.url(&key));
        }
        let (thumbnail_url, large_url, original_url) = (
            urls[0].clone(),
            urls[SIZES.len() - 1].clone(),
            urls[SIZES.len()].clone(),
        );
        let mut uow = self.db.begin().await?;
        let changed = self
            .images
            .mark_processed(&mut uow, image_id, owner, &thumbnail_url, &large_url)
            .await?;
        if let (true, ImageOwner::Product(product_id)) = (changed, owner) {
            self.outbox
                .append(
                    &mut uow,
                    "product",
                    product_id,
                    "product.image_processed",
                    &serde_json::json!({}),
                )
                .await?;
        }
        uow.commit().await?;
        self.meta
            .set_outcome(
                &owner.entity(),
                &image_id.to_string(),
                &ImageOutcome::Processed {
                    thumbnail_url,
                    large_url,
                    original_url,
                },
            )
            .await?;
        if let ImageOwner::Product(_) = owner
            && let Err(err) = self.projector.drain().await
        {
            tracing::warn!(error = %err, "catalogue projection deferred to the relay");
        }
        tracing::info!(image = %image_id, "image processed");
        metrics::add("ImagesProcessed", Unit::Count, 1.0);
        Ok(())
    }

    async fn fail(&self, row: &ImageRow, reason: &str) -> Result<(), Error> {
        tracing::warn!(image = %row.image_id, reason, "image failed");
        metrics::add_with(&[("Reason", reason)], "ImagesFailed", Unit::Count, 1.0);
        self.images.mark_failed(row.image_id, reason).await?;
        self.meta
            .set_outcome(
                &row.owner.entity(),
                &row.image_id.to_string(),
                &ImageOutcome::Failed {
                    reason: reason.to_owned(),
                },
            )
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl MessageHandler for ImageProcessor {
    type Message = Vec<ObjectRef>;

    /// `Ok` means "done with it" (including images that failed for good); `Err` means
    /// "deliver it again".
    #[tracing::instrument(skip_all)]
    async fn handle(&self, objects: Vec<ObjectRef>) -> Result<(), Error> {
        for object in objects {
            self.process(&object.key).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_raw_keys_are_ours() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(
            parse_raw_key(&format!("raw/products/42/{id}")),
            Some((ImageOwner::Product(42), id))
        );
        assert_eq!(
            parse_raw_key(&format!("raw/users/7/{id}")),
            Some((ImageOwner::User(7), id))
        );
        for bad in [
            format!("thumbnails/products/42/{id}"),
            format!("raw/orders/1/{id}"),
            "raw/products/x/y".into(),
            format!("raw/products/1/{id}/extra"),
        ] {
            assert_eq!(parse_raw_key(&bad), None, "{bad}");
        }
    }
}
