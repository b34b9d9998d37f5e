//! The image pipeline: presigned uploads, and the processing of `s3:ObjectCreated` events into
//! thumbnails. One code path serves the Lambda (SQS batches) and the local server's poller.
//!
//! A message whose failure is transient (S3, Postgres or DynamoDB unavailable) is reported as a
//! batch item failure, so SQS delivers it again and moves it to the DLQ after
//! `maxReceiveCount`; a bad image is a normal outcome (`failed` with a reason), not an error.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    error::Error,
    metrics::{self, Unit},
    models::{
        image::{ImageOutcome, ImageOwner, ImageRecord, ImageRow, ImageStatus},
        product::Issues,
    },
    repositories::{
        database::Database,
        images_dynamo::ImageMetaWriter,
        images_pg::ImageStore,
        objects_s3::{Fetched, ObjectStore},
        outbox::PgOutbox,
        products_pg::ProductStore,
    },
    services::{
        projection::ProductProjector,
        queue::{Message, MessageHandler},
    },
};

pub const ALLOWED_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];
pub const MAX_UPLOAD_BYTES: i64 = 10 * 1024 * 1024;
pub const UPLOAD_VALIDITY: Duration = Duration::from_secs(15 * 60);
/// The largest processed image served (a full-size original of a 50 MP upload).
pub const MAX_SERVED_BYTES: usize = 64 * 1024 * 1024;
/// Longest edges of the thumbnails made for every image.
pub const SIZES: [u32; 2] = [256, 1024];

/// A presigned upload, as the routes return it.
#[derive(Debug, Clone)]
pub struct Upload {
    pub image_id: uuid::Uuid,
    pub url: String,
    pub content_type: String,
    pub expires_at: DateTime<Utc>,
}

pub struct ImageService {
    db: Database,
    outbox: PgOutbox,
    images: Arc<dyn ImageStore>,
    meta: Arc<dyn ImageMetaWriter>,
    objects: Arc<dyn ObjectStore>,
    products: Arc<dyn ProductStore>,
    projector: Arc<ProductProjector>,
    public_base_url: String,
}

/// An object named by an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompactMessage {
    #[allow(dead_code)]
    bucket: String,
    key: String,
    #[serde(default)]
    correlation_id: Option<String>,
}

/// S3 writes keys URL-encoded in events (`a%2Fb+c.jpg`): `+` is a space.
pub fn decode_s3_key(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The objects a queue message names: an SNS envelope around an S3 event, a bare S3 event, or
/// the compact `{bucket, key, entityType, entityId, correlationId}`. `s3:TestEvent` names none.
pub fn parse_message(body: &str) -> Result<Vec<ObjectRef>, String> {
    let value: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let value = match (
        value.get("Type").and_then(Value::as_str),
        value.get("Message").and_then(Value::as_str),
    ) {
        (Some("Notification"), Some(inner)) => {
            serde_json::from_str(inner).map_err(|e| format!("SNS message is not JSON: {e}"))?
        }
        _ => value,
    };
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if let Some(records) = value.get("Records").and_then(Value::as_array) {
        let mut refs = Vec::new();
        for record in records {
            let event = record
                .get("eventName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !event.starts_with("ObjectCreated") {
                continue;
            }
            let raw = record
                .pointer("/s3/object/key")
                .and_then(Value::as_str)
                .ok_or("an S3 record without a key")?;
            refs.push(ObjectRef {
                key: decode_s3_key(raw).ok_or("a malformed key encoding")?,
            });
        }
        return Ok(refs);
    }
    let compact: CompactMessage =
        serde_json::from_value(value).map_err(|e| format!("unknown message shape: {e}"))?;
    if let Some(id) = &compact.correlation_id {
        tracing::info!(correlation_id = %id, "compact image message");
    }
    Ok(vec![ObjectRef { key: compact.key }])
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

impl ImageService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Database,
        outbox: PgOutbox,
        images: Arc<dyn ImageStore>,
        meta: Arc<dyn ImageMetaWriter>,
        objects: Arc<dyn ObjectStore>,
        products: Arc<dyn ProductStore>,
        projector: Arc<ProductProjector>,
        public_base_url: String,
    ) -> Self {
        Self {
            db,
            outbox,
            images,
            meta,
            objects,
            products,
            projector,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
        }
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.public_base_url)
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

    /// Handles one queue message. `Ok` means "done with it" (including images that failed
    /// for good); `Err` means "deliver it again".
    #[tracing::instrument(skip_all)]
    pub async fn handle_message(&self, body: &str) -> Result<(), Error> {
        let refs = match parse_message(body) {
            Ok(refs) => refs,
            Err(reason) => {
                // Retrying cannot fix a message we cannot read: drop it loudly.
                tracing::error!(%reason, "unreadable image message dropped");
                return Ok(());
            }
        };
        for object in refs {
            self.process(&object.key).await?;
        }
        Ok(())
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
impl MessageHandler for ImageService {
    async fn handle(&self, message: &Message) -> Result<(), Error> {
        self.handle_message(&message.body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_url_decoded_like_s3_encodes_them() {
        assert_eq!(
            decode_s3_key("raw%2Fproducts%2F42%2Fa+b.jpg").unwrap(),
            "raw/products/42/a b.jpg"
        );
        assert_eq!(decode_s3_key("plain/key").unwrap(), "plain/key");
        assert!(decode_s3_key("bad%zz").is_none());
        assert!(decode_s3_key("cut%2").is_none());
    }

    #[test]
    fn every_message_shape_names_its_objects() {
        let s3 = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"raw/products/1/x%20y","size":3}}}]}"#;
        let sns = serde_json::json!({"Type": "Notification", "Message": s3}).to_string();
        let compact = r#"{"bucket":"b","key":"raw/users/2/z","entityType":"user","entityId":"2","correlationId":"c-1"}"#;
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
        assert_eq!(
            parse_message(s3).unwrap(),
            vec![ObjectRef {
                key: "raw/products/1/x y".into()
            }]
        );
        assert_eq!(
            parse_message(&sns).unwrap(),
            vec![ObjectRef {
                key: "raw/products/1/x y".into()
            }]
        );
        assert_eq!(
            parse_message(compact).unwrap(),
            vec![ObjectRef {
                key: "raw/users/2/z".into()
            }]
        );
        assert!(parse_message(test_event).unwrap().is_empty());
        let sns_test =
            serde_json::json!({"Type": "Notification", "Message": test_event}).to_string();
        assert!(parse_message(&sns_test).unwrap().is_empty());
        assert!(parse_message("not json").is_err());
        assert!(parse_message(r#"{"hello":1}"#).is_err());
    }

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
