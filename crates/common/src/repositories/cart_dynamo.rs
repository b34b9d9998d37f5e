//! Carts in the DynamoDB `UserCart` table: one item per user (`user_id`), the lines as JSON,
//! and a `version` every write checks, so two concurrent edits never lose one another's change.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use super::{
    RepoError, aws,
    dynamo::{get_n, get_s, is_conditional_check_failed, n, s},
};
use crate::clients::Deferred;
use crate::models::cart::{CartLine, StoredCart};

#[async_trait]
pub trait CartStore: Send + Sync {
    /// The stored cart, or an empty one at version 0.
    async fn get(&self, user_id: i64) -> Result<StoredCart, RepoError>;
    /// Writes `cart` as version `cart.version + 1` if the stored version is still
    /// `cart.version`; false when someone else wrote first.
    async fn save(&self, cart: &StoredCart) -> Result<bool, RepoError>;
    /// Empties the cart (any version).
    async fn clear(&self, user_id: i64) -> Result<(), RepoError>;
}

pub struct DynamoCartStore {
    client: Deferred<Client>,
    table: String,
}

impl DynamoCartStore {
    pub fn new(client: impl Into<Deferred<Client>>, table: String) -> Self {
        Self {
            client: client.into(),
            table,
        }
    }
}

#[async_trait]
impl CartStore for DynamoCartStore {
    #[tracing::instrument(skip(self))]
    async fn get(&self, user_id: i64) -> Result<StoredCart, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("user_id", n(user_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws("dynamodb", e))?;
        let Some(item) = out.item() else {
            return Ok(StoredCart::empty(user_id));
        };
        let lines: Vec<CartLine> = serde_json::from_str(get_s(item, "lines").unwrap_or("[]"))
            .map_err(|e| RepoError::Other(Box::new(e)))?;
        Ok(StoredCart {
            user_id,
            lines,
            version: get_n(item, "version").unwrap_or(0),
            updated_at: get_s(item, "updated_at")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(Utc::now),
            settled_orders: serde_json::from_str(get_s(item, "settled_orders").unwrap_or("[]"))
                .map_err(|e| RepoError::Other(Box::new(e)))?,
        })
    }

    #[tracing::instrument(skip(self, cart), fields(user_id = cart.user_id, version = cart.version))]
    async fn save(&self, cart: &StoredCart) -> Result<bool, RepoError> {
        let lines =
            serde_json::to_string(&cart.lines).map_err(|e| RepoError::Other(Box::new(e)))?;
        let token = uuid::Uuid::new_v4().to_string();
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("user_id", n(cart.user_id))
            .item("lines", s(lines))
            .item("version", n(cart.version + 1))
            .item("write_token", s(&token))
            .item(
                "settled_orders",
                s(serde_json::to_string(&cart.settled_orders)
                    .map_err(|e| RepoError::Other(Box::new(e)))?),
            )
            .item("updated_at", s(cart.updated_at.to_rfc3339()));
        let request = if cart.version == 0 {
            request
                .condition_expression("attribute_not_exists(user_id) OR version = :zero")
                .expression_attribute_values(":zero", n(0))
        } else {
            request
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(cart.version))
        };
        match request.send().await {
            Ok(_) => {}
            Err(e) if is_conditional_check_failed(&e) => return Ok(false),
            Err(e) => return Err(aws("dynamodb", e)),
        }
        // DynamoDB's condition lets one writer of a version win. Reading the item back costs
        // one read and also holds where conditions are not atomic (the local emulator checks
        // concurrent writes' conditions without a lock): the version we wrote must carry our
        // token; a later version was built on ours.
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("user_id", n(cart.user_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws("dynamodb", e))?;
        let item = out.item();
        let version: i64 = item.and_then(|i| get_n(i, "version")).unwrap_or(0);
        let ours = item.and_then(|i| get_s(i, "write_token")) == Some(token.as_str());
        Ok(ours || version > cart.version + 1)
    }

    #[tracing::instrument(skip(self))]
    async fn clear(&self, user_id: i64) -> Result<(), RepoError> {
        // An empty item that keeps counting versions, so a writer that read the full cart
        // cannot bring it back.
        self.client
            .update_item()
            .table_name(&self.table)
            .key("user_id", n(user_id))
            .update_expression("SET #lines = :empty, updated_at = :now ADD version :one")
            .expression_attribute_names("#lines", "lines")
            .expression_attribute_values(":empty", s("[]"))
            .expression_attribute_values(":now", s(Utc::now().to_rfc3339()))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| aws("dynamodb", e))?;
        Ok(())
    }
}
