//! Every way a request can fail, mapped to its status code and JSON body in one table
//! ([`ApiError::status_code`]), and every conversion into that table: from the domain's [`Invalid`], a bad
//! query parameter, a body that is not the expected object, and a database failure.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use task_types::{BadParameter, ErrorBody, UnknownPriority};

use crate::db::DbError;
use crate::domain::Invalid;
use crate::typed_json::{FieldError, ObjectError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, a body that is not an object, an unknown field, a wrong type, a bad query parameter.
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    /// Well-formed input that breaks a rule of the domain (empty title, unknown priority, ...).
    #[error("{message}")]
    Validation { message: String, field: String },
    #[error("Task not found")]
    TaskNotFound,
    #[error("Not found")]
    RouteNotFound,
    #[error("Method not allowed")]
    MethodNotAllowed { allow: &'static str },
    /// A method outside the known ones (service-kit's `methods::KNOWN`).
    #[error("Method not implemented")]
    MethodNotImplemented,
    #[error("Request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("The request body did not arrive within {seconds} s")]
    BodyTimeout { seconds: u64 },
    /// No pool connection within `DB_POOL_TIMEOUT_MS`, a query cut off by `DB_STATEMENT_TIMEOUT_MS`,
    /// or the database went away.
    #[error("Database unavailable, try again later")]
    Unavailable(String),
    /// A bug or an unexpected failure: the cause goes to the log, the client gets a generic message.
    #[error("Internal server error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>, field: Option<&str>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            field: field.map(str::to_owned),
        }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation {
            message: message.into(),
            field: field.to_owned(),
        }
    }

    /// The cause worth logging beside the request id (never sent to the client).
    pub fn cause(&self) -> Option<&str> {
        match self {
            ApiError::Unavailable(cause) | ApiError::Internal(cause) => Some(cause),
            _ => None,
        }
    }

    fn body(&self) -> ErrorBody {
        let field = match self {
            ApiError::BadRequest { field, .. } => field.clone(),
            ApiError::Validation { field, .. } => Some(field.clone()),
            _ => None,
        };
        ErrorBody {
            error: self.to_string(),
            field,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TaskNotFound | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::MethodNotImplemented => StatusCode::NOT_IMPLEMENTED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, *allow));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.json(self.body())
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::validation(invalid.field, invalid.message)
    }
}

impl From<BadParameter> for ApiError {
    fn from(BadParameter { parameter, message }: BadParameter) -> Self {
        ApiError::bad_request(message, Some(&parameter))
    }
}

/// Malformed JSON or a body of the wrong shape is a 400 naming the field; an unknown priority breaks a rule
/// of the domain (422), like a blank title.
impl From<ObjectError> for ApiError {
    fn from(err: ObjectError) -> Self {
        let (path, error) = match err {
            ObjectError::Empty => {
                return ApiError::bad_request("Request body is empty; expected a JSON object", None)
            }
            ObjectError::NotAnObject => {
                return ApiError::bad_request("Request body must be a JSON object", None)
            }
            ObjectError::Malformed(err) => {
                return ApiError::bad_request(format!("Malformed JSON: {err}"), None)
            }
            ObjectError::Field { path, error } => (path, error),
        };
        match (error, path) {
            (FieldError::Missing("title"), _) => {
                ApiError::bad_request("Title is required", Some("title"))
            }
            (FieldError::Missing(name), _) => {
                ApiError::bad_request(format!("Field '{name}' is required"), Some(name))
            }
            (FieldError::Unknown(name), _) => {
                ApiError::bad_request(format!("Unknown field '{name}'"), Some(&name))
            }
            (FieldError::Duplicate(name), _) => ApiError::bad_request(
                format!("Field '{name}' is given more than once"),
                Some(name),
            ),
            (FieldError::UnknownVariant(value), Some(path)) if path == "priority" => {
                Invalid::from(UnknownPriority(value)).into()
            }
            (error, Some(field)) => {
                ApiError::bad_request(format!("Field '{field}' {error}"), Some(&field))
            }
            (error, None) => ApiError::bad_request(format!("Invalid request body: {error}"), None),
        }
    }
}

/// The failures a client may retry (no connection, a lost one, a query the statement timeout cut off) are
/// 503s; anything else is a 500. The match is exhaustive, so a new kind of failure must be placed here. The
/// cause chain goes to the log.
impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        let cause = chain(&err);
        match err {
            DbError::NotFound => ApiError::TaskNotFound,
            DbError::QueueTimeout(_)
            | DbError::Checkout(_)
            | DbError::ConnectionLost(_)
            | DbError::StatementTimeout { .. } => ApiError::Unavailable(cause),
            DbError::QueueClosed | DbError::Blocking(_) | DbError::Query(_) => {
                ApiError::Internal(cause)
            }
        }
    }
}

/// `error: its source: that one's source`, as one log-friendly line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_failures_map_by_type_with_their_cause_chain() {
        let lost = DbError::ConnectionLost(diesel::result::Error::BrokenTransactionManager);
        let api = ApiError::from(lost);
        assert_eq!(api.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            api.cause(),
            Some("database connection lost: The transaction manager is broken")
        );
        let bug = ApiError::from(DbError::Query(diesel::result::Error::RollbackTransaction));
        assert_eq!(bug.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            ApiError::from(DbError::NotFound).status_code(),
            StatusCode::NOT_FOUND
        );
    }
}
