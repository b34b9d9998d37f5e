//! The envelopes around a queue message, taken off at the edge with `aws_lambda_events`'
//! types, so services see domain values only: an SNS notification (the topics fan out to the
//! queues without raw delivery) around an S3 event (uploads) or an order event
//! (`order.confirmed`), or the bare task message a Step Functions `sqs:sendMessage` sends.

use aws_lambda_events::event::{s3::S3Event, sns::SnsMessage};
use serde::Deserialize;
use serde_json::Value;

use crate::models::{
    image::ObjectRef,
    order::{CheckoutTask, OrderConfirmed},
};

/// A message body read as a consumer's message; `Err` says why it is unreadable.
pub trait Decode: Sized {
    fn decode(body: &str) -> Result<Self, String>;
}

/// The notification's message if `body` is an SNS notification, else `body` itself.
fn sns_payload(body: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("Type").and_then(Value::as_str) != Some("Notification") {
        return Ok(value);
    }
    let notification: SnsMessage =
        serde_json::from_value(value).map_err(|e| format!("a malformed SNS notification: {e}"))?;
    serde_json::from_str(&notification.message)
        .map_err(|e| format!("the SNS message is not JSON: {e}"))
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

/// The compact notice `{bucket, key, entityType, entityId, correlationId}` (a re-drive by hand).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompactNotice {
    #[allow(dead_code)]
    bucket: String,
    key: String,
    #[serde(default)]
    correlation_id: Option<String>,
}

/// The objects an upload message names: an S3 event (in an SNS notification or bare) or the
/// compact notice. `s3:TestEvent` and events other than `ObjectCreated:*` name none.
impl Decode for Vec<ObjectRef> {
    fn decode(body: &str) -> Result<Self, String> {
        let mut value = sns_payload(body)?;
        if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            return Ok(Vec::new());
        }
        if let Some(records) = value.get_mut("Records").and_then(Value::as_array_mut) {
            // moto's events leave out `userIdentity` and `requestParameters` (S3 always sends
            // them); nothing here reads them, so absent ones are taken as empty.
            for record in records.iter_mut().filter_map(Value::as_object_mut) {
                for field in ["userIdentity", "requestParameters"] {
                    record.entry(field).or_insert_with(|| serde_json::json!({}));
                }
            }
            let event: S3Event =
                serde_json::from_value(value).map_err(|e| format!("a malformed S3 event: {e}"))?;
            let mut refs = Vec::new();
            for record in event.records {
                if !record
                    .event_name
                    .as_deref()
                    .unwrap_or_default()
                    .starts_with("ObjectCreated")
                {
                    continue;
                }
                let raw = record.s3.object.key.ok_or("an S3 record without a key")?;
                refs.push(ObjectRef {
                    key: decode_s3_key(&raw).ok_or("a malformed key encoding")?,
                });
            }
            return Ok(refs);
        }
        let compact: CompactNotice =
            serde_json::from_value(value).map_err(|e| format!("unknown message shape: {e}"))?;
        if let Some(id) = &compact.correlation_id {
            tracing::info!(correlation_id = %id, "compact image message");
        }
        Ok(vec![ObjectRef { key: compact.key }])
    }
}

impl Decode for CheckoutTask {
    fn decode(body: &str) -> Result<Self, String> {
        serde_json::from_str(body).map_err(|e| format!("a malformed task message: {e}"))
    }
}

/// `order.confirmed` from the fulfillment queue: in its SNS notification, or bare.
impl Decode for OrderConfirmed {
    fn decode(body: &str) -> Result<Self, String> {
        let event = sns_payload(body)?;
        match (
            event.get("event_type").and_then(Value::as_str),
            event.get("order_id").and_then(Value::as_i64),
        ) {
            (Some("order.confirmed"), Some(order_id)) => Ok(OrderConfirmed {
                order_id,
                correlation_id: event
                    .get("correlation_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }),
            _ => Err("not an order.confirmed event".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SNS notification as SNS delivers it to an SQS queue.
    fn notification(message: &str) -> String {
        serde_json::json!({
            "Type": "Notification", "MessageId": "7f1e5a1c-0000-4000-8000-000000000001",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:shop-dev-events",
            "Message": message, "Timestamp": "2026-12-06T08:00:00.000Z",
            "SignatureVersion": "1", "Signature": "c2ln",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        })
        .to_string()
    }

    fn s3_event(event_name: &str, key: &str) -> String {
        serde_json::json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-12-06T08:00:00.000Z", "eventName": event_name,
            "userIdentity": {"principalId": "AWS:X"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "r"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "raw",
                   "bucket": {"name": "b", "ownerIdentity": {"principalId": "X"},
                              "arn": "arn:aws:s3:::b"},
                   "object": {"key": key, "size": 3, "eTag": "e", "sequencer": "0"}}
        }]})
        .to_string()
    }

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
    fn every_upload_message_shape_names_its_objects() {
        let decode = <Vec<ObjectRef>>::decode;
        let named = vec![ObjectRef {
            key: "raw/products/1/x y".into(),
        }];
        let s3 = s3_event("ObjectCreated:Put", "raw/products/1/x%20y");
        assert_eq!(decode(&s3).unwrap(), named);
        assert_eq!(decode(&notification(&s3)).unwrap(), named);
        let removed = s3_event("ObjectRemoved:Delete", "raw/products/1/x");
        assert!(decode(&notification(&removed)).unwrap().is_empty());
        let compact = r#"{"bucket":"b","key":"raw/users/2/z","entityType":"user","entityId":"2","correlationId":"c-1"}"#;
        assert_eq!(
            decode(compact).unwrap(),
            vec![ObjectRef {
                key: "raw/users/2/z".into()
            }]
        );
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
        assert!(decode(test_event).unwrap().is_empty());
        assert!(decode(&notification(test_event)).unwrap().is_empty());
        assert!(decode("not json").is_err());
        assert!(decode(r#"{"hello":1}"#).is_err());
        // An S3 record without its object or time is not an S3 event.
        assert!(decode(r#"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#).is_err());
        // As moto writes it: no `userIdentity`, no `requestParameters`.
        let moto = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-12-06T08:00:00.000Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{"name":"b","arn":"arn:aws:s3:::b"},"object":{"key":"raw/products/1/x%20y","size":3,"eTag":"e"}}}]}"#;
        assert_eq!(decode(&notification(moto)).unwrap(), named);
        // A notification without SNS's own fields is not SNS's.
        let forged = serde_json::json!({"Type": "Notification", "Message": s3}).to_string();
        assert!(decode(&forged).is_err());
    }

    #[test]
    fn order_confirmed_comes_in_its_notification_or_bare() {
        let event = r#"{"event_type":"order.confirmed","order_id":42,"correlation_id":"c-9"}"#;
        let confirmed = OrderConfirmed {
            order_id: 42,
            correlation_id: Some("c-9".into()),
        };
        assert_eq!(
            OrderConfirmed::decode(&notification(event)).unwrap(),
            confirmed
        );
        assert_eq!(OrderConfirmed::decode(event).unwrap(), confirmed);
        assert!(OrderConfirmed::decode(r#"{"event_type":"order.placed","order_id":42}"#).is_err());
        assert!(OrderConfirmed::decode(r#"{"event_type":"order.confirmed"}"#).is_err());
    }

    #[test]
    fn a_task_message_is_the_state_machines_payload() {
        let task = CheckoutTask::decode(
            r#"{"task":"charge","order_id":7,"task_token":"t","correlation_id":"c"}"#,
        )
        .unwrap();
        assert_eq!((task.task.as_str(), task.order_id), ("charge", 7));
        assert!(CheckoutTask::decode(r#"{"task":"charge","order_id":7}"#).is_err());
    }
}
