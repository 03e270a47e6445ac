//! `/health` (liveness: answers 200 while the process can answer) and `/ready` (readiness: 503 without a database).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use service_kit::methods::get_or_head;
use task_types::ErrorBody;

use super::fallback::method_not_allowed;
use crate::db::{self, Db};
use crate::error::ApiError;

/// How long readiness waits for a database round trip.
const READY_TIMEOUT: Duration = Duration::from_secs(1);
/// Liveness only reports the database in passing: it must answer well within a probe's timeout (2-3 s).
const HEALTH_DB_TIMEOUT: Duration = Duration::from_millis(250);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/health")
            .route(get_or_head().to(health))
            .default_service(web::to(|| method_not_allowed("GET, HEAD"))),
    )
    .service(
        web::resource("/ready")
            .route(get_or_head().to(ready))
            .default_service(web::to(|| method_not_allowed("GET, HEAD"))),
    );
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HealthBody {
    /// Always `healthy`: the process answers.
    #[schema(example = "healthy")]
    status: &'static str,
    /// `healthy` or `unhealthy`: informative only, liveness never fails because of the database.
    #[schema(example = "healthy")]
    database: &'static str,
    /// RFC 3339, UTC.
    timestamp: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReadyBody {
    #[schema(example = "ready")]
    status: &'static str,
}

/// A database round trip within `timeout`, on the blocking pool.
async fn database_answers(db: &web::Data<Db>, timeout: Duration) -> bool {
    // Probes skip the request queue: a busy server is still alive and, unless the pool is stuck, ready.
    let pool = db.pool().clone();
    let check = web::block(move || db::with_conn(&pool, timeout, db::ping));
    matches!(tokio::time::timeout(timeout, check).await, Ok(Ok(Ok(()))))
}

/// Liveness.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "The process answers", body = HealthBody)))]
pub async fn health(db: web::Data<Db>) -> HttpResponse {
    let database = if database_answers(&db, HEALTH_DB_TIMEOUT).await {
        "healthy"
    } else {
        "unhealthy"
    };
    HttpResponse::Ok().json(HealthBody {
        status: "healthy",
        database,
        timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

/// Readiness.
#[utoipa::path(get, path = "/ready", tag = "health",
    responses(
        (status = 200, description = "A database round trip succeeded within 1 s", body = ReadyBody),
        (status = 503, description = "The database did not answer within 1 s", body = ErrorBody),
    ))]
pub async fn ready(db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    if database_answers(&db, READY_TIMEOUT).await {
        Ok(HttpResponse::Ok().json(ReadyBody { status: "ready" }))
    } else {
        Err(ApiError::Unavailable(
            "readiness: no database round trip within 1 s".to_owned(),
        ))
    }
}
