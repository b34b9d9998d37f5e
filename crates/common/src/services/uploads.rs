//! Image uploads: a pending image record and a presigned S3 `PUT` for the client (a product's
//! photos, a user's avatar), and the public side of processed images (what the CDN serves).
//! Processing the uploads is [`super::images`]' work, in another function.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use crate::{
    error::Error,
    models::{
        image::{ImageOwner, ImageRecord, ImageRow, ImageStatus},
        product::Issues,
    },
    repositories::{
        images_dynamo::ImageMetaWriter,
        images_pg::ImageStore,
        objects_s3::{Fetched, ObjectStore},
        products_pg::ProductStore,
    },
};

pub const ALLOWED_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];
pub const MAX_UPLOAD_BYTES: i64 = 10 * 1024 * 1024;
pub const UPLOAD_VALIDITY: Duration = Duration::from_secs(15 * 60);
/// The largest processed image served (a full-size original of a 50 MP upload).
pub const MAX_SERVED_BYTES: usize = 64 * 1024 * 1024;

/// A presigned upload, as the routes return it.
#[derive(Debug, Clone)]
pub struct Upload {
    pub image_id: uuid::Uuid,
    pub url: String,
    pub content_type: String,
    pub expires_at: DateTime<Utc>,
}

pub struct UploadService {
    images: Arc<dyn ImageStore>,
    meta: Arc<dyn ImageMetaWriter>,
    objects: Arc<dyn ObjectStore>,
    products: Arc<dyn ProductStore>,
}

impl UploadService {
    pub fn new(
        images: Arc<dyn ImageStore>,
        meta: Arc<dyn ImageMetaWriter>,
        objects: Arc<dyn ObjectStore>,
        products: Arc<dyn ProductStore>,
    ) -> Self {
        Self {
            images,
            meta,
            objects,
            products,
        }
    }

    /// Validates what the client wants to upload.
    pub fn check_upload(content_type: &str, content_length: i64) -> Result<(), Error> {
        let mut issues = Issues::default();
        if !ALLOWED_TYPES.contains(&content_type) {
            issues.add(
                "content_type",
                format!("must be one of {}", ALLOWED_TYPES.join(", ")),
            );
        }
        if !(1..=MAX_UPLOAD_BYTES).contains(&content_length) {
            issues.add(
                "content_length",
                format!("must be from 1 to {MAX_UPLOAD_BYTES} bytes"),
            );
        }
        issues.into_result(()).map_err(Error::Validation)
    }

    /// Records a pending image and presigns its upload.
    #[tracing::instrument(skip(self))]
    pub async fn create_upload(
        &self,
        owner: ImageOwner,
        content_type: &str,
        content_length: i64,
        correlation_id: Option<String>,
    ) -> Result<Upload, Error> {
        Self::check_upload(content_type, content_length)?;
        if let ImageOwner::Product(product_id) = owner
            && self.products.get(product_id, false).await?.is_none()
        {
            return Err(Error::NotFound(format!(
                "product {product_id} does not exist"
            )));
        }
        let image_id = uuid::Uuid::new_v4();
        let key = format!("raw/{}/{}/{image_id}", owner.segment(), owner.id());
        let row = ImageRow {
            image_id,
            owner,
            status: ImageStatus::Pending,
            content_type: content_type.to_owned(),
            content_length,
            original_key: key.clone(),
            thumbnail_url: None,
            large_url: None,
            failure_reason: None,
            correlation_id: correlation_id.clone(),
        };
        self.images.insert_pending(&row).await?;
        let created_at = Utc::now();
        let record = ImageRecord {
            image_id: image_id.to_string(),
            status: ImageStatus::Pending,
            original_url: None,
            thumbnail_url: None,
            created_at,
        };
        self.meta
            .put_pending(&owner.entity(), &record, content_type)
            .await?;
        let presigned = self
            .objects
            .presign_put(&key, content_type, content_length, UPLOAD_VALIDITY)
            .await?;
        Ok(Upload {
            image_id,
            url: presigned.url,
            content_type: content_type.to_owned(),
            expires_at: created_at
                + chrono::Duration::from_std(UPLOAD_VALIDITY).unwrap_or_default(),
        })
    }

    /// A processed image (thumbnail or metadata-free original) by its object key, as the CDN
    /// serves it to anyone. Raw uploads and every other key are not found.
    #[tracing::instrument(skip(self))]
    pub async fn public_image(&self, key: &str) -> Result<Vec<u8>, Error> {
        let servable = (key.starts_with("thumbnails/") || key.starts_with("originals/"))
            && key.ends_with(".jpg")
            && !key
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..");
        let not_found = || Error::NotFound("no such image".into());
        if !servable {
            return Err(not_found());
        }
        match self.objects.get(key, MAX_SERVED_BYTES).await? {
            Fetched::Bytes(bytes) => Ok(bytes),
            Fetched::Missing | Fetched::TooLarge => Err(not_found()),
        }
    }
}
