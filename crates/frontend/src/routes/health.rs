//! `/health` (liveness, always 200, reports the backend) and `/ready` (readiness).

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

/// Always 200 while the process answers; `backend` says whether the backend answers too. The UI
/// stays up through a backend outage (it shows a banner), so liveness must not depend on it.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let backend = if state.backend.is_healthy().await {
        "healthy"
    } else {
        "unhealthy"
    };
    HttpResponse::Ok().json(json!({
        "status": "healthy",
        "backend": backend,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }))
}

/// 200 once the server serves. Deliberately independent of the backend: a backend outage must
/// not pull the UI (and its 503 banner) out of the load balancer.
pub async fn ready() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ready" }))
}
