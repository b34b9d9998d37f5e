//! The DynamoDB `ProductCatalog` projection: one item per live product, listed through the
//! `gsi_listing` (all products by id) and `gsi_category` (one category by id) indexes. Writes
//! are conditional on `version`, so a late, older update never overwrites a newer one.

use async_trait::async_trait;
use aws_sdk_dynamodb::{Client, types::AttributeValue};
use chrono::{DateTime, Utc};

use super::{
    RepoError, aws,
    dynamo::{Item, get_list, get_n, get_s, is_conditional_check_failed, list, n, s},
};
use crate::clients::Deferred;
use crate::models::{
    Money,
    product::{Product, ProductFilter},
};

/// The partition value of `gsi_listing`: every live product is in it.
const LISTING_ALL: &str = "ALL";
/// How many index pages one listing request may read when a filter (`q`) skips items; past it
/// the page is returned short, with a cursor where the scan stopped.
const MAX_PAGES_PER_REQUEST: usize = 5;

#[async_trait]
pub trait CatalogProjection: Send + Sync {
    async fn get(&self, product_id: i64) -> Result<Option<Product>, RepoError>;
    /// The products of `ids` that are in the projection, in one `BatchGetItem` per 100 ids.
    async fn get_many(&self, ids: &[i64]) -> Result<Vec<Product>, RepoError>;
    /// Up to `limit` products after `after`, and the last id examined (for the cursor).
    async fn list(
        &self,
        filter: &ProductFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<CatalogPage, RepoError>;
    /// Writes `product` unless the stored item is newer.
    async fn put(&self, product: &Product) -> Result<(), RepoError>;
    /// Removes the product unless the stored item is newer than `version`.
    async fn remove(&self, product_id: i64, version: i64) -> Result<(), RepoError>;
}

#[derive(Debug, Default)]
pub struct CatalogPage {
    pub items: Vec<Product>,
    /// True when the index holds more items after the last one examined.
    pub more: bool,
    pub last_examined: Option<i64>,
}

pub struct DynamoCatalog {
    client: Deferred<Client>,
    table: String,
}

impl DynamoCatalog {
    pub fn new(client: impl Into<Deferred<Client>>, table: String) -> Self {
        Self {
            client: client.into(),
            table,
        }
    }
}

fn to_item(p: &Product) -> Item {
    let mut item = Item::from([
        ("product_id".into(), n(p.product_id)),
        ("listing".into(), s(LISTING_ALL)),
        ("sku".into(), s(&p.sku)),
        ("name".into(), s(&p.name)),
        ("name_lc".into(), s(p.name.to_lowercase())),
        ("description".into(), s(&p.description)),
        ("price".into(), s(p.price.to_string())),
        ("currency".into(), s(&p.currency)),
        ("tags".into(), list(&p.tags)),
        ("stock_available".into(), n(p.stock_available)),
        ("image_urls".into(), list(&p.image_urls)),
        ("created_at".into(), s(p.created_at.to_rfc3339())),
        ("updated_at".into(), s(p.updated_at.to_rfc3339())),
        ("version".into(), n(p.version)),
    ]);
    // Sparse index: only products with a category are in gsi_category.
    if let Some(category) = &p.category {
        item.insert("category".into(), s(category));
    }
    if let Some(url) = &p.thumbnail_url {
        item.insert("thumbnail_url".into(), s(url));
    }
    item
}

fn from_item(item: &Item) -> Option<Product> {
    let time = |key: &str| -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(get_s(item, key)?)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    Some(Product {
        product_id: get_n(item, "product_id")?,
        sku: get_s(item, "sku")?.to_owned(),
        name: get_s(item, "name")?.to_owned(),
        description: get_s(item, "description").unwrap_or_default().to_owned(),
        price: Money::from_decimal(get_s(item, "price")?.parse().ok()?),
        currency: get_s(item, "currency").unwrap_or("USD").to_owned(),
        category: get_s(item, "category").map(str::to_owned),
        tags: get_list(item, "tags"),
        stock_available: get_n(item, "stock_available").unwrap_or(0),
        thumbnail_url: get_s(item, "thumbnail_url").map(str::to_owned),
        image_urls: get_list(item, "image_urls"),
        created_at: time("created_at")?,
        updated_at: time("updated_at")?,
        version: get_n(item, "version").unwrap_or(1),
        deleted: false,
    })
}

#[async_trait]
impl CatalogProjection for DynamoCatalog {
    #[tracing::instrument(skip(self))]
    async fn get(&self, product_id: i64) -> Result<Option<Product>, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("product_id", n(product_id))
            .send()
            .await
            .map_err(|e| aws("dynamodb", e))?;
        Ok(out.item().and_then(from_item))
    }

    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    async fn get_many(&self, ids: &[i64]) -> Result<Vec<Product>, RepoError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|id| Item::from([("product_id".to_owned(), n(*id))]))
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .build()
                    .map_err(|e| RepoError::Other(Box::new(e)))?,
            );
            // Unprocessed keys (throttling) are asked again, a bounded number of times.
            for _ in 0..5 {
                let Some(request) = pending.take() else { break };
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| aws("dynamodb", e))?;
                if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().filter_map(from_item));
                }
                pending = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
            }
            if pending.is_some() {
                return Err(RepoError::Unavailable {
                    dependency: "dynamodb",
                    source: "BatchGetItem kept returning unprocessed keys".into(),
                });
            }
        }
        Ok(found)
    }

    #[tracing::instrument(skip(self))]
    async fn list(
        &self,
        filter: &ProductFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<CatalogPage, RepoError> {
        let (index, key_name, key_value) = match &filter.category {
            Some(category) => ("gsi_category", "category", category.as_str()),
            None => ("gsi_listing", "listing", LISTING_ALL),
        };
        let mut page = CatalogPage::default();
        let mut after = after;
        for _ in 0..MAX_PAGES_PER_REQUEST {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .expression_attribute_names("#pk", key_name)
                .expression_attribute_values(":pk", s(key_value))
                .limit(i32::try_from(limit).unwrap_or(100).max(1) + 1);
            query = match after {
                Some(after) => query
                    .key_condition_expression("#pk = :pk AND product_id > :after")
                    .expression_attribute_values(":after", n(after)),
                None => query.key_condition_expression("#pk = :pk"),
            };
            if let Some(q) = &filter.q {
                query = query
                    .filter_expression("contains(name_lc, :q)")
                    .expression_attribute_values(":q", s(q.to_lowercase()));
            }
            let out = query.send().await.map_err(|e| aws("dynamodb", e))?;
            let evaluated_last: Option<i64> = out
                .last_evaluated_key()
                .and_then(|k| k.get("product_id"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok());
            for item in out.items() {
                let Some(product) = from_item(item) else {
                    continue;
                };
                if page.items.len() == limit as usize {
                    page.more = true;
                    return Ok(page);
                }
                page.last_examined = Some(product.product_id);
                page.items.push(product);
            }
            match evaluated_last {
                Some(last) => {
                    after = Some(last);
                    page.last_examined = Some(last.max(page.last_examined.unwrap_or(last)));
                }
                None => return Ok(page),
            }
            if page.items.len() == limit as usize {
                // Full, and the index had more to read: there may be more.
                page.more = true;
                return Ok(page);
            }
        }
        // Read budget spent with the index not exhausted: a short page, resumable.
        page.more = true;
        Ok(page)
    }

    #[tracing::instrument(skip_all, fields(product_id = product.product_id, version = product.version))]
    async fn put(&self, product: &Product) -> Result<(), RepoError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(product)))
            .condition_expression("attribute_not_exists(product_id) OR version <= :v")
            .expression_attribute_values(":v", n(product.version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_check_failed(&e) => Ok(()), // a newer version is there
            Err(e) => Err(aws("dynamodb", e)),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn remove(&self, product_id: i64, version: i64) -> Result<(), RepoError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("product_id", n(product_id))
            .condition_expression("attribute_not_exists(product_id) OR version <= :v")
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_check_failed(&e) => Ok(()),
            Err(e) => Err(aws("dynamodb", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_and_only_categorised_products_enter_the_category_index() {
        let now = Utc::now();
        let mut product = Product {
            product_id: 7,
            sku: "MUG-1".into(),
            name: "Blue Mug".into(),
            description: String::new(),
            price: Money::parse_price("9.5").unwrap(),
            currency: "USD".into(),
            category: None,
            tags: vec!["kitchen".into()],
            stock_available: 3,
            thumbnail_url: None,
            image_urls: vec![],
            created_at: now,
            updated_at: now,
            version: 4,
            deleted: false,
        };
        let item = to_item(&product);
        assert!(!item.contains_key("category"));
        let back = from_item(&item).unwrap();
        assert_eq!(back.price.to_string(), "9.50");
        assert_eq!(back.tags, product.tags);
        assert_eq!(back.version, 4);
        product.category = Some("kitchen".into());
        assert_eq!(get_s(&to_item(&product), "category"), Some("kitchen"));
    }
}
