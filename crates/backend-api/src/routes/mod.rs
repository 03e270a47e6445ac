//! The HTTP routes, one module per resource, and the JSON answers for unknown routes and wrong methods.

pub mod docs;
pub mod fallback;
pub mod health;
pub mod tasks;

/// Every route of the API (metrics have a port of their own: see `metrics.rs`).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    tasks::configure(cfg);
    health::configure(cfg);
    docs::configure(cfg);
}
