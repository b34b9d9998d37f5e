//! Images: who owns one, where it is in the pipeline, and what became of it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an image is in the pipeline: `pending` until processed, then `processed` or `failed`
/// (a corrupt or oversized upload). Never goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageStatus {
    Pending,
    Processed,
    Failed,
}

impl ImageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processed => "processed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "processed" => Some(Self::Processed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

impl fmt::Display for ImageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who an image belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageOwner {
    Product(i64),
    User(i64),
}

impl ImageOwner {
    /// Where the processor writes the full-size, metadata-free copy of an image.
    pub fn original_key(self, image_id: uuid::Uuid) -> String {
        format!("originals/{}/{}/{image_id}.jpg", self.segment(), self.id())
    }

    /// `products` / `users`: the path segment of object keys.
    pub fn segment(self) -> &'static str {
        match self {
            ImageOwner::Product(_) => "products",
            ImageOwner::User(_) => "users",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            ImageOwner::Product(id) | ImageOwner::User(id) => id,
        }
    }

    /// The partition key in `ProductImagesMeta`.
    pub fn entity(self) -> String {
        match self {
            ImageOwner::Product(id) => format!("product#{id}"),
            ImageOwner::User(id) => format!("user#{id}"),
        }
    }
}

/// An image as clients list it (the `ProductImagesMeta` projection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub image_id: String,
    pub status: ImageStatus,
    /// The full-size copy, re-encoded without metadata (EXIF, GPS); `None` until processed.
    pub original_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An image as the source of truth (Postgres) records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRow {
    pub image_id: uuid::Uuid,
    pub owner: ImageOwner,
    pub status: ImageStatus,
    pub content_type: String,
    pub content_length: i64,
    pub original_key: String,
    pub thumbnail_url: Option<String>,
    pub large_url: Option<String>,
    pub failure_reason: Option<String>,
    /// The id of the request that asked for the upload.
    pub correlation_id: Option<String>,
}

/// The outcome an image reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageOutcome {
    Processed {
        thumbnail_url: String,
        large_url: String,
        original_url: String,
    },
    Failed {
        reason: String,
    },
}

/// An uploaded object an event names (its key decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub key: String,
}
