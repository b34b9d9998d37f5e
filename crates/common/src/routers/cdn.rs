//! `GET /images/<key>`: the local stand-in for CloudFront, serving processed images
//! (`thumbnails/…`, `originals/…`) to anonymous clients at the URLs the API returns. Only the
//! all-in-one local server mounts it; in AWS the distribution serves the same keys. Not part
//! of the /v1 API (nor of its OpenAPI document).

use std::sync::Arc;

use axum::{
    Router,
    extract::{Path, State},
    http::header,
    response::IntoResponse,
    routing::get,
};

use crate::{http::error::ApiError, services::uploads::UploadService};

pub fn router(images: Arc<UploadService>) -> Router {
    Router::new()
        .route("/images/{*key}", get(image))
        .with_state(images)
}

async fn image(
    State(images): State<Arc<UploadService>>,
    Path(key): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = images.public_image(&key).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            // Keys name one image version for ever (as CloudFront caches them).
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    ))
}
