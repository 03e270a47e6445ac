//! The URL map: pages and forms, the `/api` pass-through, health, static assets.

pub mod health;
pub mod pages;
pub mod proxy;

use actix_web::error::{InternalError, QueryPayloadError, UrlencodedError};
use actix_web::{web, HttpRequest};
use service_kit::methods::get_or_head;

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
    .service(page_resource("/", "GET, HEAD").route(get_or_head().to(pages::list::index)))
    .service(page_resource("/tasks", "POST").route(web::post().to(pages::add::create)))
    .service(
        page_resource("/tasks/{id}/edit", "GET, HEAD, POST")
            .route(get_or_head().to(pages::edit::edit_form))
            .route(web::post().to(pages::edit::update)),
    )
    .service(
        page_resource("/tasks/{id}/toggle", "POST").route(web::post().to(pages::toggle::toggle)),
    )
    .service(
        page_resource("/tasks/{id}/delete", "GET, HEAD, POST")
            .route(get_or_head().to(pages::delete::confirm_delete))
            .route(web::post().to(pages::delete::delete)),
    )
    // A tail segment rather than `{tail:.*}`: the metrics middleware cannot format a regex pattern
    // as a route label and logged a warning on every pass-through request.
    .service(web::resource("/api/{tail}*").to(proxy::forward))
    .service(page_resource("/health", "GET, HEAD").route(get_or_head().to(health::health)))
    .service(page_resource("/ready", "GET, HEAD").route(get_or_head().to(health::ready)))
    .service(page_resource("/static/{name}", "GET, HEAD").route(get_or_head().to(asset)))
    .default_service(web::to(not_found));
}

/// A resource whose wrong methods get a readable 405 page naming the methods it takes (`allow`), instead of
/// the "no page here" that an unrouted method would get.
fn page_resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        PageResult::Err(PageError::MethodNotAllowed { allow })
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
