//! Image records in the DynamoDB `ProductImagesMeta` table: partition `entity`
//! (`product#42`, `user#7`), sort `image_id`.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use super::{
    RepoError, aws,
    dynamo::{get_s, s},
};
use crate::clients::Deferred;
use crate::models::image::{ImageOutcome, ImageRecord, ImageStatus};

fn now_text() -> String {
    Utc::now().to_rfc3339()
}

#[async_trait]
pub trait ImageMetaReader: Send + Sync {
    /// Every image of an entity, oldest first.
    async fn list(&self, entity: &str) -> Result<Vec<ImageRecord>, RepoError>;
}

#[async_trait]
pub trait ImageMetaWriter: Send + Sync {
    async fn put_pending(
        &self,
        entity: &str,
        record: &ImageRecord,
        content_type: &str,
    ) -> Result<(), RepoError>;
    async fn set_outcome(
        &self,
        entity: &str,
        image_id: &str,
        outcome: &ImageOutcome,
    ) -> Result<(), RepoError>;
}

pub struct DynamoImageMeta {
    client: Deferred<Client>,
    table: String,
}

impl DynamoImageMeta {
    pub fn new(client: impl Into<Deferred<Client>>, table: String) -> Self {
        Self {
            client: client.into(),
            table,
        }
    }
}

#[async_trait]
impl ImageMetaReader for DynamoImageMeta {
    #[tracing::instrument(skip(self))]
    async fn list(&self, entity: &str) -> Result<Vec<ImageRecord>, RepoError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("entity = :e")
                .expression_attribute_values(":e", s(entity))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| aws("dynamodb", e))?;
            for item in out.items() {
                let created_at = get_s(item, "created_at")
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc));
                if let (Some(image_id), Some(status), Some(created_at)) = (
                    get_s(item, "image_id"),
                    get_s(item, "status").and_then(ImageStatus::parse),
                    created_at,
                ) {
                    records.push(ImageRecord {
                        image_id: image_id.to_owned(),
                        status,
                        original_url: get_s(item, "original_url").map(str::to_owned),
                        thumbnail_url: get_s(item, "thumbnail_url").map(str::to_owned),
                        created_at,
                    });
                }
            }
            start = out.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
            if start.is_none() {
                break;
            }
        }
        records.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.image_id.cmp(&b.image_id))
        });
        Ok(records)
    }
}

#[async_trait]
impl ImageMetaWriter for DynamoImageMeta {
    #[tracing::instrument(skip(self, record))]
    async fn put_pending(
        &self,
        entity: &str,
        record: &ImageRecord,
        content_type: &str,
    ) -> Result<(), RepoError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("entity", s(entity))
            .item("image_id", s(&record.image_id))
            .item("status", s(record.status.as_str()))
            .item("content_type", s(content_type))
            .item("created_at", s(record.created_at.to_rfc3339()))
            .item("updated_at", s(now_text()))
            .send()
            .await
            .map_err(|e| aws("dynamodb", e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn set_outcome(
        &self,
        entity: &str,
        image_id: &str,
        outcome: &ImageOutcome,
    ) -> Result<(), RepoError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("entity", s(entity))
            .key("image_id", s(image_id))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", s(now_text()));
        let update = match outcome {
            ImageOutcome::Processed {
                thumbnail_url,
                large_url,
                original_url,
            } => update
                .update_expression("SET #status = :st, thumbnail_url = :t, large_url = :l, original_url = :o, updated_at = :now REMOVE failure_reason")
                .expression_attribute_values(":st", s("processed"))
                .expression_attribute_values(":o", s(original_url))
                .expression_attribute_values(":t", s(thumbnail_url))
                .expression_attribute_values(":l", s(large_url)),
            ImageOutcome::Failed { reason } => update
                .update_expression("SET #status = :st, failure_reason = :r, updated_at = :now")
                .expression_attribute_values(":st", s("failed"))
                .expression_attribute_values(":r", s(reason)),
        };
        update.send().await.map_err(|e| aws("dynamodb", e))?;
        Ok(())
    }
}
