//! The API error: the only place that knows HTTP statuses and docs/api.md's codes. Handlers return
//! [`ApiError`]; a service [`Error`] converts into it with `?`. Client-facing messages are
//! written here or by the services; the cause chain of an internal or dependency error is
//! logged, never sent.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::error::{Error, FieldIssue, error_chain};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(#[from] Error),
    /// Malformed JSON, a missing or invalid header.
    #[error("{0}")]
    BadRequest(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Vec<FieldIssue>> for ApiError {
    fn from(issues: Vec<FieldIssue>) -> Self {
        Self::Service(Error::Validation(issues))
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Service(error) => match error {
                Error::Validation(_) => StatusCode::BAD_REQUEST,
                Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
                Error::Forbidden(_) => StatusCode::FORBIDDEN,
                Error::NotFound(_) => StatusCode::NOT_FOUND,
                Error::Conflict(_) | Error::IdempotencyInProgress | Error::InsufficientStock(_) => {
                    StatusCode::CONFLICT
                }
                Error::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
                Error::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
                Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
                Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Self::Service(error) => match error {
                Error::Validation(_) => "VALIDATION_FAILED",
                Error::Unauthenticated(_) => "UNAUTHENTICATED",
                Error::Forbidden(_) => "FORBIDDEN",
                Error::NotFound(_) => "RESOURCE_NOT_FOUND",
                Error::Conflict(_) => "CONFLICT",
                Error::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
                Error::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
                Error::InsufficientStock(_) => "INSUFFICIENT_STOCK",
                Error::RateLimited(_) => "RATE_LIMITED",
                Error::Unavailable { .. } => "DEPENDENCY_UNAVAILABLE",
                Error::Internal(_) => "INTERNAL",
            },
        }
    }

    /// The message a client may see. Internal and dependency errors get a generic text.
    fn public_message(&self) -> String {
        match self {
            Self::Service(Error::Internal(_)) => "an internal error occurred".to_owned(),
            // Which dependency is down is logged, not told: it is internal detail.
            Self::Service(Error::Unavailable { .. }) => {
                "a required service is unavailable, try again later".to_owned()
            }
            other => other.to_string(),
        }
    }

    fn details(&self) -> &[FieldIssue] {
        match self {
            Self::Service(Error::Validation(d) | Error::InsufficientStock(d)) => d,
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
    /// One of docs/api.md's codes, e.g. `RESOURCE_NOT_FOUND`.
    pub code: &'static str,
    pub message: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldIssue>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Service(Error::Internal(_)) => {
                tracing::error!(error = %error_chain(&self), "request failed")
            }
            Self::Service(Error::Unavailable { .. }) => {
                tracing::warn!(error = %error_chain(&self), "dependency unavailable")
            }
            _ => tracing::debug!(code = self.code(), "request rejected"),
        }
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code(),
                message: self.public_message(),
                request_id: crate::log_context::current_request_id().unwrap_or_default(),
                details: self.details().to_vec(),
            },
        };
        (status, Json(body)).into_response()
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}
