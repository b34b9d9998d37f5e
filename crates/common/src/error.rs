//! The one error type of the service layer and its mapping to API.md's envelope.
//!
//! This is the only place that turns an error into an HTTP response. Client-facing messages are
//! written here or by the services; the cause chain of an internal or dependency error is logged,
//! never sent.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One problem with one input field: `{"field": "price", "issue": "must be > 0"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldIssue {
    pub field: String,
    pub issue: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, issue: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            issue: issue.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("the request is invalid")]
    Validation(Vec<FieldIssue>),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("not enough stock")]
    InsufficientStock(Vec<FieldIssue>),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    RateLimited(String),
    #[error("{dependency} is unavailable")]
    Unavailable {
        dependency: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl Error {
    pub fn validation(field: impl Into<String>, issue: impl Into<String>) -> Self {
        Self::Validation(vec![FieldIssue::new(field, issue)])
    }

    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self::Internal(source.into())
    }

    pub fn unavailable(dependency: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            dependency,
            source: source.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) | Self::IdempotencyInProgress | Self::InsufficientStock(_) => {
                StatusCode::CONFLICT
            }
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::Validation(_) => "VALIDATION_FAILED",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "RESOURCE_NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict(_) => "CONFLICT",
            Self::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::InsufficientStock(_) => "INSUFFICIENT_STOCK",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::Unavailable { .. } => "DEPENDENCY_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The message a client may see. Internal and dependency errors get a generic text.
    fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "an internal error occurred".to_owned(),
            // Which dependency is down is logged, not told: it is internal detail.
            Self::Unavailable { .. } => {
                "a required service is unavailable, try again later".to_owned()
            }
            other => other.to_string(),
        }
    }

    fn details(&self) -> &[FieldIssue] {
        match self {
            Self::Validation(d) | Self::InsufficientStock(d) => d,
            _ => &[],
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// One of API.md's codes, e.g. `RESOURCE_NOT_FOUND`.
    pub code: &'static str,
    pub message: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldIssue>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(_) => tracing::error!(error = %error_chain(&self), "request failed"),
            Self::Unavailable { .. } => {
                tracing::warn!(error = %error_chain(&self), "dependency unavailable")
            }
            _ => tracing::debug!(code = self.code(), "request rejected"),
        }
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code(),
                message: self.public_message(),
                request_id: crate::http::request_id::current().unwrap_or_default(),
                details: self.details().to_vec(),
            },
        };
        (status, Json(body)).into_response()
    }
}

/// `error: cause: cause`, for logs only.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
