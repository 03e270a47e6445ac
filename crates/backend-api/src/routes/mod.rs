//! The HTTP routes, one module per resource, and the JSON answers for unknown routes and wrong methods.

pub mod docs;
pub mod health;
pub mod tasks;

use crate::error::ApiError;

/// Every route of the API (metrics have a port of their own: see `metrics.rs`).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    tasks::configure(cfg);
    health::configure(cfg);
    docs::configure(cfg);
}

/// The answer for a known path with a method it does not take.
pub async fn method_not_allowed(allow: &'static str) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed { allow })
}

/// The answer for an unknown path.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}
