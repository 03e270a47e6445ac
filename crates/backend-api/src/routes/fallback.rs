//! The JSON answers for unknown routes and wrong methods.

use actix_web::HttpResponse;

use crate::error::ApiError;

/// The answer for a known path with a method it does not take.
pub async fn method_not_allowed(allow: &'static str) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed { allow })
}

/// The answer for an unknown path.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}
