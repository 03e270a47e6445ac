//! Why a database call failed, by type; `error.rs` maps each variant to its status (503 for the ones a
//! client may retry, 500 for the others).

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no such row")]
    NotFound,
    #[error("no database connection free within {0:?}")]
    QueueTimeout(Duration),
    #[error("the connection queue is closed")]
    QueueClosed,
    #[error("no database connection")]
    Checkout(#[source] r2d2::Error),
    #[error("database connection lost")]
    ConnectionLost(#[source] DieselError),
    #[error("query cut off by statement_timeout ({timeout:?})")]
    StatementTimeout {
        timeout: Duration,
        #[source]
        source: DieselError,
    },
    #[error("blocking task failed")]
    Blocking(#[source] actix_web::error::BlockingError),
    /// A failure that retrying will not fix: a bug, or a schema that is not what the code expects.
    #[error("query failed")]
    Query(#[source] DieselError),
}

/// Whether diesel itself says the connection is gone.
pub(super) fn says_connection_lost(err: &DieselError) -> bool {
    matches!(
        err,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}
