//! Every way a request can fail, mapped to its status code and JSON body in one table ([`ApiError::status`]).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use task_types::ErrorBody;

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

impl From<crate::db::DbError> for ApiError {
    fn from(err: crate::db::DbError) -> Self {
        use crate::db::DbError;
        match err {
            DbError::NotFound => ApiError::TaskNotFound,
            DbError::Unavailable(cause) => ApiError::Unavailable(cause),
            DbError::Other(cause) => ApiError::Internal(cause),
        }
    }
}
