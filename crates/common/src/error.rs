//! The error of the service layer: what went wrong, in domain terms, and whether trying again
//! may help. It knows no HTTP: [`crate::http::error::ApiError`] maps it to docs/api.md's envelope at
//! the router edge, and queue workers map it to "retry" or "fail for good".

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One problem with one input field: `{"field": "price", "issue": "must be > 0"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
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
    #[error("the request is invalid")]
    Validation(Vec<FieldIssue>),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// A uniqueness rule or a state transition that is not allowed.
    #[error("{0}")]
    Conflict(String),
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("not enough stock")]
    InsufficientStock(Vec<FieldIssue>),
    #[error("{0}")]
    RateLimited(String),
    /// A dependency is down or timed out: trying again later may succeed.
    #[error("{dependency} is unavailable")]
    Unavailable {
        dependency: &'static str,
        #[source]
        source: BoxError,
    },
    /// A bug or a broken invariant: trying again will not help.
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

    /// Whether the same work may succeed if tried again (an SQS redelivery, a saga step's
    /// retry). Everything else is final: a rule said no, or the code has a bug.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::RateLimited(_))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dependency_trouble_is_worth_retrying() {
        assert!(Error::unavailable("postgres", "down").is_retryable());
        assert!(Error::RateLimited("slow down".into()).is_retryable());
        for final_error in [
            Error::validation("price", "must be > 0"),
            Error::NotFound("order 1".into()),
            Error::Conflict("taken".into()),
            Error::InsufficientStock(vec![]),
            Error::internal("bug"),
        ] {
            assert!(!final_error.is_retryable(), "{final_error:?}");
        }
    }
}
