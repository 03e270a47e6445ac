//! `/api/openapi.json`: the OpenAPI 3 document, generated from the handlers' annotations.

use actix_web::{web, HttpResponse};
use service_kit::methods::get_or_head;
use utoipa::OpenApi;

use super::fallback::method_not_allowed;
use super::{health, tasks};

#[derive(OpenApi)]
#[openapi(
    info(title = "taskmgr backend API", description = "Tasks with a priority, stored in PostgreSQL."),
    paths(
        tasks::list_tasks,
        tasks::create_task,
        tasks::get_task,
        tasks::update_task,
        tasks::delete_task,
        health::health,
        health::ready,
        openapi,
    ),
    components(schemas(task_types::Task, task_types::Priority, task_types::NewTask, task_types::TaskPatch,
        task_types::ErrorBody, task_types::DeletedBody)),
    tags((name = "tasks"), (name = "health"), (name = "docs"))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/openapi.json")
            .route(get_or_head().to(openapi_json))
            .default_service(web::to(|| method_not_allowed("GET, HEAD"))),
    );
}

async fn openapi_json(doc: web::Data<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.get_ref().clone())
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "docs",
    responses((status = 200, description = "The OpenAPI 3 document", body = Object, content_type = "application/json")))]
#[allow(dead_code)]
fn openapi() {}

/// The document as JSON, rendered once at start-up.
pub fn openapi_document() -> String {
    ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document serializes")
}
