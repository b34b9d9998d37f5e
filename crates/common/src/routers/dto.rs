//! Request and response bodies shared by several routers, and serde helpers.

use serde::{Deserialize, Deserializer};

/// For PATCH bodies: absent → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// `POST …/images` and `POST /v1/users/me/avatar`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// `image/jpeg`, `image/png` or `image/webp`.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// Bytes, 1 to 10 MiB.
    #[schema(example = 204800)]
    pub content_length: i64,
}

/// A presigned S3 `PUT`: send the bytes to `url` with exactly these headers before `expires_at`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UploadView {
    #[schema(value_type = String, format = Uuid)]
    pub image_id: uuid::Uuid,
    /// Always `PUT`.
    pub method: &'static str,
    pub url: String,
    #[schema(value_type = Object, example = json!({"content-type": "image/jpeg"}))]
    pub headers: std::collections::BTreeMap<&'static str, String>,
    #[serde(serialize_with = "crate::models::timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl From<crate::services::images::Upload> for UploadView {
    fn from(u: crate::services::images::Upload) -> Self {
        Self {
            image_id: u.image_id,
            method: "PUT",
            url: u.url,
            headers: std::collections::BTreeMap::from([("content-type", u.content_type)]),
            expires_at: u.expires_at,
        }
    }
}
