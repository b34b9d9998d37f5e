//! Image records in the DynamoDB `ProductImagesMeta` table: partition `entity`
//! (`product#42`, `user#7`), sort `image_id`.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use super::{
    RepoError, aws,
    dynamo::{get_s, s},
};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageRecord {
    pub image_id: String,
    pub status: String,
    pub original_url: String,
    pub thumbnail_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait ImageMetaReader: Send + Sync {
    /// Every image of an entity, oldest first.
    async fn list(&self, entity: &str) -> Result<Vec<ImageRecord>, RepoError>;
}

pub struct DynamoImageMeta {
    client: Client,
    table: String,
}

impl DynamoImageMeta {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
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
                if let (Some(image_id), Some(status), Some(original_url), Some(created_at)) = (
                    get_s(item, "image_id"),
                    get_s(item, "status"),
                    get_s(item, "original_url"),
                    created_at,
                ) {
                    records.push(ImageRecord {
                        image_id: image_id.to_owned(),
                        status: status.to_owned(),
                        original_url: original_url.to_owned(),
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
