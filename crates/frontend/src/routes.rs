//! The URL map: pages and forms, the `/api` pass-through, health, static assets.

pub mod health;
pub mod pages;
pub mod proxy;

use actix_web::error::{InternalError, QueryPayloadError, UrlencodedError};
use actix_web::{web, HttpRequest};

use crate::config::limits::BODY_LIMIT;
use crate::error::{PageError, PageResult};
use crate::render::assets;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(BODY_LIMIT)
            .error_handler(form_error),
    )
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .route("/", web::get().to(pages::list::index))
    .service(page_resource("/tasks").route(web::post().to(pages::add::create)))
    .service(
        page_resource("/tasks/{id}/edit")
            .route(web::get().to(pages::edit::edit_form))
            .route(web::post().to(pages::edit::update)),
    )
    .service(page_resource("/tasks/{id}/toggle").route(web::post().to(pages::toggle::toggle)))
    .service(
        page_resource("/tasks/{id}/delete")
            .route(web::get().to(pages::delete::confirm_delete))
            .route(web::post().to(pages::delete::delete)),
    )
    // A tail segment rather than `{tail:.*}`: the metrics middleware cannot format a regex pattern
    // as a route label and logged a warning on every pass-through request.
    .service(web::resource("/api/{tail}*").to(proxy::forward))
    .route("/health", web::get().to(health::health))
    .route("/ready", web::get().to(health::ready))
    .route("/static/{name}", web::get().to(asset))
    .default_service(web::to(not_found));
}

/// A page resource whose wrong methods get a readable page instead of an empty 405.
fn page_resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        PageResult::Err(PageError::MethodNotAllowed)
    }))
}

async fn asset(name: web::Path<String>) -> PageResult {
    assets::response(&name).ok_or(PageError::PageNotFound)
}

async fn not_found() -> PageResult {
    Err(PageError::PageNotFound)
}

fn form_error(err: UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    let page = match err {
        UrlencodedError::Overflow { .. } => PageError::TooLarge,
        other => PageError::BadRequest(format!(
            "The form could not be read ({other}), so nothing was changed."
        )),
    };
    InternalError::from_response("bad form", actix_web::ResponseError::error_response(&page)).into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let page = PageError::BadRequest(format!("The address has a bad query ({err})."));
    InternalError::from_response("bad query", actix_web::ResponseError::error_response(&page))
        .into()
}
