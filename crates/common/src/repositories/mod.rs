//! Data access: Postgres (sqlx), DynamoDB, Redis and Cognito adapters behind traits sized to
//! what their callers need. No business rules here, and no HTTP.

pub mod cache;
pub mod cart_dynamo;
pub mod catalog_dynamo;
pub mod database;
pub mod dynamo;
pub mod idempotency_dynamo;
pub mod identity_cognito;
pub mod images_dynamo;
pub mod images_pg;
pub mod inventory_pg;
pub mod objects_s3;
pub mod order_events_dynamo;
pub mod orders_pg;
pub mod outbox;
pub mod payments;
pub mod probes;
pub mod products_pg;
pub mod users_pg;
pub mod workflow_sfn;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::error::{BoxError, Error};

/// The error of the repository layer. Constraint violations are kept apart so that services
/// can turn the ones they expect into client errors (`on_constraint`).
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("unique constraint {constraint} violated")]
    Unique { constraint: String },
    #[error("check constraint {constraint} violated")]
    Check { constraint: String },
    #[error("{dependency} is unavailable")]
    Unavailable {
        dependency: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("repository error")]
    Other(#[source] BoxError),
}

impl RepoError {
    /// The violated constraint's name, if this is a unique or check violation.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Self::Unique { constraint } | Self::Check { constraint } => Some(constraint),
            _ => None,
        }
    }
}

/// Maps a constraint violation named `constraint` to a client error, everything else as usual.
pub fn on_constraint(err: RepoError, constraint: &str, to: impl FnOnce() -> Error) -> Error {
    if err.constraint() == Some(constraint) {
        to()
    } else {
        err.into()
    }
}

impl From<RepoError> for Error {
    fn from(err: RepoError) -> Self {
        match err {
            RepoError::Unavailable { dependency, source } => {
                Error::Unavailable { dependency, source }
            }
            other => Error::internal(other),
        }
    }
}

/// Classifies a sqlx error: constraint violations, an unreachable database, or a bug.
pub fn pg(err: sqlx::Error) -> RepoError {
    if let sqlx::Error::Database(db) = &err {
        let constraint = db.constraint().unwrap_or_default().to_owned();
        match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => return RepoError::Unique { constraint },
            sqlx::error::ErrorKind::CheckViolation => return RepoError::Check { constraint },
            _ => {}
        }
        // Class 08 (connection exception), 53 (insufficient resources), 57P (shutdown), and
        // credentials refused on a new connection (28P01, 28000: a rotated password, read
        // again by `Database::begin`) — the database is not usable as configured right now.
        let code = db.code().unwrap_or_default();
        if code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("57P")
            || code.starts_with("28")
        {
            return RepoError::Unavailable {
                dependency: "postgres",
                source: Box::new(err),
            };
        }
    }
    match err {
        // A protocol error is an answer that is not PostgreSQL's (a connection reset mid-way, a
        // port that answered with something else): the database is not reachable as such.
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => RepoError::Unavailable {
            dependency: "postgres",
            source: Box::new(err),
        },
        other => RepoError::Other(Box::new(other)),
    }
}

/// Classifies an AWS SDK error of `dependency`: transport failures, throttling and server
/// errors mean "unavailable"; the rest (validation errors, …) are bugs.
pub fn aws<E, R>(dependency: &'static str, err: SdkError<E, R>) -> RepoError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let transient = match &err {
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "ResourceNotFoundException"
                    | "TransactionConflictException"
            )
        ),
        _ => true,
    };
    let source: BoxError = aws_sdk_dynamodb::error::DisplayErrorContext(&err)
        .to_string()
        .into();
    if transient {
        RepoError::Unavailable { dependency, source }
    } else {
        RepoError::Other(source)
    }
}

#[cfg(test)]
mod classification_tests {
    use super::*;

    #[test]
    fn a_connection_that_did_not_speak_postgres_is_unavailable_not_a_bug() {
        // What sqlx reports when the port answered its SSLRequest with something else (seen
        // in the soak: a connection to a stopped server's port that connected to itself).
        let err = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        assert!(matches!(
            pg(err),
            RepoError::Unavailable {
                dependency: "postgres",
                ..
            }
        ));
        assert!(matches!(pg(sqlx::Error::RowNotFound), RepoError::Other(_)));
    }
}
