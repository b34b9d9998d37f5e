//! Idempotency records in the DynamoDB `Idempotency` table (TTL attribute `expires_at`).
//!
//! A record is claimed with a conditional put (`attribute_not_exists`), which makes exactly one
//! of any number of concurrent requests the owner. An `IN_PROGRESS` claim carries a lease, so a
//! request whose process died can be retried after it lapses; a `COMPLETED` record holds the
//! response to replay.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::{Client, primitives::Blob, types::AttributeValue};
use chrono::Utc;

use crate::clients::Deferred;
use crate::models::idempotency::{Claim, RecordState, StoredResponse};

use super::{
    RepoError, aws,
    dynamo::{Item, get_n, get_s, is_conditional_check_failed, n, s},
};

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        lease: Duration,
        retention: Duration,
    ) -> Result<Claim, RepoError>;
    async fn complete(
        &self,
        key: &str,
        response: &StoredResponse,
        retention: Duration,
    ) -> Result<(), RepoError>;
    /// Forgets a claim whose request failed in a way worth retrying (a 5xx).
    /// Lets the key's own request run again (its lease ends now); the record and its
    /// fingerprint stay, so the key still refuses another request.
    async fn reopen(&self, key: &str) -> Result<(), RepoError>;
}

pub struct DynamoIdempotencyStore {
    client: Deferred<Client>,
    table: String,
}

impl DynamoIdempotencyStore {
    pub fn new(client: impl Into<Deferred<Client>>, table: String) -> Self {
        Self {
            client: client.into(),
            table,
        }
    }

    async fn read(&self, key: &str) -> Result<Option<Item>, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws("dynamodb", e))?;
        Ok(out.item().cloned())
    }
}

fn parse_state(item: &Item) -> RecordState {
    if get_s(item, "status") == Some("COMPLETED") {
        RecordState::Completed(StoredResponse {
            status: get_n(item, "response_status").unwrap_or(200),
            content_type: get_s(item, "content_type").map(str::to_owned),
            location: get_s(item, "location").map(str::to_owned),
            body: item
                .get("response_body")
                .and_then(|v| v.as_b().ok())
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default(),
        })
    } else {
        RecordState::InProgress
    }
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotencyStore {
    #[tracing::instrument(skip_all)]
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        lease: Duration,
        retention: Duration,
    ) -> Result<Claim, RepoError> {
        let now = Utc::now().timestamp();
        let token = uuid::Uuid::new_v4().to_string();
        // Two attempts: the record may vanish (expired) between the failed put and the read.
        for _ in 0..2 {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(key))
                .item("fingerprint", s(fingerprint))
                .item("status", s("IN_PROGRESS"))
                .item("claim_token", s(&token))
                .item("lease_until", n(now + lease.as_secs() as i64))
                .item("expires_at", n(now + retention.as_secs() as i64))
                // A lapsed lease is taken over only by the same request: the key stays bound
                // to the body it was first used with.
                .condition_expression(
                    "attribute_not_exists(pk) OR (#status = :in_progress AND lease_until < :now AND fingerprint = :fp) OR expires_at < :now",
                )
                .expression_attribute_values(":fp", s(fingerprint))
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":in_progress", s("IN_PROGRESS"))
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            match result {
                Ok(_) => {
                    // DynamoDB's condition makes one put win. Reading the claim back costs one
                    // read and also holds where conditions are not atomic (the local emulator
                    // evaluates concurrent puts' conditions without a lock): only the put whose
                    // token stayed owns the key.
                    let Some(item) = self.read(key).await? else {
                        continue;
                    };
                    if get_s(&item, "claim_token") == Some(token.as_str()) {
                        return Ok(Claim::Acquired);
                    }
                    return Ok(Claim::Existing {
                        fingerprint: get_s(&item, "fingerprint").unwrap_or_default().to_owned(),
                        state: parse_state(&item),
                    });
                }
                Err(e) if is_conditional_check_failed(&e) => {
                    if let Some(item) = self.read(key).await? {
                        return Ok(Claim::Existing {
                            fingerprint: get_s(&item, "fingerprint").unwrap_or_default().to_owned(),
                            state: parse_state(&item),
                        });
                    }
                }
                Err(e) => return Err(aws("dynamodb", e)),
            }
        }
        Err(RepoError::Other("idempotency record kept changing".into()))
    }

    #[tracing::instrument(skip_all)]
    async fn complete(
        &self,
        key: &str,
        response: &StoredResponse,
        retention: Duration,
    ) -> Result<(), RepoError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":completed", s("COMPLETED"))
            .expression_attribute_values(":code", n(response.status))
            .expression_attribute_values(
                ":body",
                AttributeValue::B(Blob::new(response.body.clone())),
            )
            .expression_attribute_values(
                ":exp",
                n(Utc::now().timestamp() + retention.as_secs() as i64),
            );
        let mut set = "SET #status = :completed, response_status = :code, response_body = :body, expires_at = :exp".to_owned();
        if let Some(ct) = &response.content_type {
            set.push_str(", content_type = :ct");
            update = update.expression_attribute_values(":ct", s(ct));
        }
        if let Some(location) = &response.location {
            set.push_str(", #location = :loc");
            update = update
                .expression_attribute_names("#location", "location")
                .expression_attribute_values(":loc", s(location));
        }
        update
            .update_expression(set)
            .send()
            .await
            .map_err(|e| aws("dynamodb", e))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn reopen(&self, key: &str) -> Result<(), RepoError> {
        match self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression("SET lease_until = :zero")
            .condition_expression("#status = :in_progress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s("IN_PROGRESS"))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await
        {
            Ok(_) => {}
            // Completed meanwhile, or gone: nothing to reopen.
            Err(e) if is_conditional_check_failed(&e) => {}
            Err(e) => return Err(aws("dynamodb", e)),
        }
        Ok(())
    }
}
