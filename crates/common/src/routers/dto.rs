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

/// For optional fields that may be absent but not `null` (PATCH fields where `null` would mean
/// nothing): a value → `Some(v)`, `null` → a type error (400 `VALIDATION_FAILED`).
pub fn non_null<'de, T, D>(de: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(de).map(Some)
}

/// A JSON integer as JSON Schema defines one: any number with a zero fractional part, so
/// `47.0` is the integer 47 (the document says `type: integer`, and a client may well send
/// it so). Fractions and numbers outside `i64` are a type error (400 `VALIDATION_FAILED`).
pub fn json_int<'de, D: Deserializer<'de>>(de: D) -> Result<i64, D::Error> {
    struct Int;
    impl serde::de::Visitor<'_> for Int {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an integer")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("the integer is out of range"))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            // 2^63 is exactly representable; every integral f64 below it converts exactly.
            if v.fract() == 0.0
                && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v)
            {
                Ok(v as i64)
            } else if v.fract() == 0.0 {
                Err(E::custom("the integer is out of range"))
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    de.deserialize_any(Int)
}

/// `POST …/images` and `POST /v1/users/me/avatar`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    #[schema(example = "image/jpeg", pattern = "^image/(jpeg|png|webp)$")]
    pub content_type: String,
    /// Bytes, 1 to 10 MiB (10485760).
    #[serde(deserialize_with = "json_int")]
    #[schema(example = 204800, minimum = 1, maximum = 10485760)]
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

impl From<crate::services::uploads::Upload> for UploadView {
    fn from(u: crate::services::uploads::Upload) -> Self {
        Self {
            image_id: u.image_id,
            method: "PUT",
            url: u.url,
            headers: std::collections::BTreeMap::from([("content-type", u.content_type)]),
            expires_at: u.expires_at,
        }
    }
}
