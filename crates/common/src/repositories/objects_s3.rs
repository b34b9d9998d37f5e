//! Objects in the images bucket: presigned uploads, reads of originals, writes of thumbnails.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::{Client, presigning::PresigningConfig, primitives::ByteStream};

use super::{RepoError, aws};
use crate::clients::Deferred;

/// A presigned request a client sends itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPut {
    pub url: String,
    /// Headers the client must send exactly (they are part of the signature).
    pub headers: Vec<(String, String)>,
}

/// What reading an object gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    Missing,
    /// Larger than the caller allows (not read).
    TooLarge,
    Bytes(Vec<u8>),
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// A `PUT` of `key` signed over its content type and length, valid for `expires_in`.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: i64,
        expires_in: Duration,
    ) -> Result<PresignedPut, RepoError>;
    /// The object's bytes, unless it is larger than `max_bytes`.
    async fn get(&self, key: &str, max_bytes: usize) -> Result<Fetched, RepoError>;
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), RepoError>;
}

pub struct S3Objects {
    client: Deferred<Client>,
    bucket: String,
}

impl S3Objects {
    pub fn new(client: impl Into<Deferred<Client>>, bucket: String) -> Self {
        Self {
            client: client.into(),
            bucket,
        }
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    #[tracing::instrument(skip(self))]
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_length: i64,
        expires_in: Duration,
    ) -> Result<PresignedPut, RepoError> {
        let config =
            PresigningConfig::expires_in(expires_in).map_err(|e| RepoError::Other(e.into()))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(content_length)
            .presigned(config)
            .await
            .map_err(|e| aws("s3", e))?;
        let headers = request
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .collect();
        Ok(PresignedPut {
            url: request.uri().to_owned(),
            headers,
        })
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, key: &str, max_bytes: usize) -> Result<Fetched, RepoError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(Fetched::Missing);
            }
            Err(err) => return Err(aws("s3", err)),
        };
        if out.content_length().unwrap_or(0) as u64 > max_bytes as u64 {
            return Ok(Fetched::TooLarge);
        }
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| RepoError::Unavailable {
                dependency: "s3",
                source: e.into(),
            })?;
        Ok(Fetched::Bytes(bytes.to_vec()))
    }

    #[tracing::instrument(skip(self, bytes))]
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), RepoError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control("public, max-age=31536000, immutable")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| aws("s3", e))?;
        Ok(())
    }
}
