//! The `Host` check against DNS rebinding: a page on another site whose name has been pointed at
//! 127.0.0.1 reaches the UI with its own name in `Host`, and is refused (400: a page, JSON on `/api`).
//!
//! `ALLOWED_HOSTS` is a comma list of names (`localhost`, `[::1]`, `frontend`) compared without the port,
//! or `*` for any. The probe paths answer whatever the `Host`: the kubelet sends the pod's IP, and they
//! show nothing worth rebinding for.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HOST;
use actix_web::middleware::Next;
use actix_web::web;
use service_kit::request_log::bounded;

use crate::config::hosts::requested_host;
use crate::error::{answer, PageError};
use crate::state::AppState;

/// Paths answered whatever the `Host` (kubelet probes arrive by pod IP).
const PROBE_PATHS: [&str; 2] = ["/health", "/ready"];

/// Middleware: refuses a request whose `Host` is not allowed, before anything else reads it.
pub async fn check(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let allowed = {
        let state = req
            .app_data::<web::Data<AppState>>()
            .expect("the app has its state");
        let host = requested_host(req.headers(), req.uri());
        PROBE_PATHS.contains(&req.path()) || host.is_some_and(|h| state.allowed_hosts.allows(&h))
    };
    if allowed {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let host = req
        .headers()
        .get(HOST)
        .map(|h| String::from_utf8_lossy(h.as_bytes()));
    log::warn!(
        "refused {} {}: Host {:?} is not in ALLOWED_HOSTS",
        req.method(),
        bounded(req.path()),
        host.as_deref().map(bounded)
    );
    let response = answer(req.path(), &PageError::BadHost);
    Ok(req.into_response(response).map_into_right_body())
}
