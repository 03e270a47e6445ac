//! Prometheus metrics (requests by route and status, and their latency, from actix-web-prom), served
//! at `/metrics` on a port of their own (`METRICS_PORT`, 9091) that the NodePort Service does not
//! expose: only the cluster can scrape them. The same server listens on both ports; this module sends
//! each request on the metrics port to `/metrics` (or a 404) before any UI middleware sees it.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::{Encoder, TextEncoder};

/// The metrics middleware of one server (its own registry, so that servers in one process do not clash).
pub fn middleware() -> std::io::Result<PrometheusMetrics> {
    PrometheusMetricsBuilder::new("frontend")
        .mask_unmatched_patterns("UNKNOWN")
        .build()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Where the metrics listener is and what it serves.
#[derive(Clone)]
pub struct MetricsPort {
    pub port: u16,
    pub registry: prometheus::Registry,
}

/// Middleware: a request that came in on the metrics port gets the metrics (or a 404), nothing else.
pub async fn split(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let metrics = req
        .app_data::<web::Data<MetricsPort>>()
        .expect("the app knows its metrics port")
        .clone();
    if req.app_config().local_addr().port() != metrics.port {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let response = if req.path() == "/metrics" && req.method() == actix_web::http::Method::GET {
        let mut text = Vec::new();
        match TextEncoder::new().encode(&metrics.registry.gather(), &mut text) {
            Ok(()) => HttpResponse::Ok()
                .content_type(TextEncoder::new().format_type())
                .body(text),
            Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
        }
    } else {
        HttpResponse::NotFound().body("only /metrics is served on this port\n")
    };
    Ok(req.into_response(response).map_into_right_body())
}
