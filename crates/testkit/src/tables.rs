//! The DynamoDB tables of a test app, created from the resource manifest
//! (`scripts/aws_resources.json`) under the app's own prefix.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use serde_json::Value;

use crate::manifest;

pub async fn create(client: &aws_sdk_dynamodb::Client, prefix: &str) {
    let scalar = |t: &str| {
        if t == "N" {
            ScalarAttributeType::N
        } else {
            ScalarAttributeType::S
        }
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    for table in manifest()["dynamodb_tables"].as_array().expect("tables") {
        let mut attributes: HashMap<String, String> = HashMap::new();
        let mut remember = |k: &Value| {
            attributes.insert(
                k["name"].as_str().unwrap().to_owned(),
                k["type"].as_str().unwrap().to_owned(),
            );
        };
        remember(&table["hash_key"]);
        if !table["range_key"].is_null() {
            remember(&table["range_key"]);
        }
        let gsis = table["gsis"].as_array().cloned().unwrap_or_default();
        for gsi in &gsis {
            remember(&gsi["hash_key"]);
            remember(&gsi["range_key"]);
        }
        let mut request = client
            .create_table()
            .table_name(format!("{prefix}{}", table["name"].as_str().unwrap()))
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(
                table["hash_key"]["name"].as_str().unwrap(),
                KeyType::Hash,
            ));
        if !table["range_key"].is_null() {
            request = request.key_schema(key(
                table["range_key"]["name"].as_str().unwrap(),
                KeyType::Range,
            ));
        }
        for (name, kind) in &attributes {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(scalar(kind))
                    .build()
                    .unwrap(),
            );
        }
        for gsi in &gsis {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(gsi["name"].as_str().unwrap())
                    .key_schema(key(
                        gsi["hash_key"]["name"].as_str().unwrap(),
                        KeyType::Hash,
                    ))
                    .key_schema(key(
                        gsi["range_key"]["name"].as_str().unwrap(),
                        KeyType::Range,
                    ))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            );
        }
        request.send().await.expect("create a test table");
    }
}
