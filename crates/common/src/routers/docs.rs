//! `/v1/docs`: Swagger UI over `/v1/openapi.json`, from the files `utoipa-swagger-ui` bundles
//! (Swagger UI 5, vendored in the crate: nothing is downloaded, at build time or by the page).
//!
//! The files are `include_bytes!` statics, so they sit in the binary's read-only data and are
//! paged in only when a request reads them; nothing is copied at start-up (the configured
//! `swagger-initializer.js`, a few hundred bytes, is rendered per request).
//!
//! `GET /v1/docs` redirects to `docs/index.html` (relative, so the page also works under a
//! path prefix), whose relative links resolve to `/v1/docs/<file>`: API Gateway routes
//! `GET /v1/docs` and `GET /v1/docs/{proxy+}` to the function that serves this router. An
//! unknown file is the API's `404` envelope, like every other miss.

use std::sync::Arc;

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use utoipa_swagger_ui::Config;

use crate::{error::Error, http::error::ApiError};

/// The document Swagger UI loads. Its `bearer` security scheme is what the "Authorize" dialog
/// offers; the operations that require it carry the lock and get the token.
const DOCUMENT_URL: &str = "/v1/openapi.json";

pub(super) fn router() -> Router {
    let config = Arc::new(
        Config::from(DOCUMENT_URL)
            // The default is the public validator at validator.swagger.io: the page would call
            // out to it. The document is validated by the test command instead.
            .validator_url("none")
            .display_request_duration(true)
            .filter(true),
    );
    Router::new()
        .route(
            "/v1/docs",
            get(|| async {
                (
                    StatusCode::SEE_OTHER,
                    [(
                        header::LOCATION,
                        HeaderValue::from_static("docs/index.html"),
                    )],
                )
            }),
        )
        .route(
            "/v1/docs/{*file}",
            get(move |Path(file): Path<String>| {
                let config = config.clone();
                async move { swagger_file(&file, config) }
            }),
        )
}

fn swagger_file(file: &str, config: Arc<Config<'static>>) -> Result<Response, ApiError> {
    let found = utoipa_swagger_ui::serve(file, config)
        .map_err(|err| Error::internal(format!("rendering Swagger UI's {file}: {err}")))?
        .ok_or_else(|| Error::NotFound("no such documentation file".into()))?;
    let body = match found.bytes {
        std::borrow::Cow::Borrowed(bytes) => axum::body::Bytes::from_static(bytes),
        std::borrow::Cow::Owned(bytes) => axum::body::Bytes::from(bytes),
    };
    let content_type = HeaderValue::try_from(found.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            // The files change only with a deployment.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response())
}
