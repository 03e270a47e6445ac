//! A template and its typed context as an HTML response. Every page, the error pages too, also
//! gets `asset_version` (the stylesheet's cache-busting query); a template failure (a bug) becomes
//! a plain-text 500.

pub mod assets;
pub mod templates;
pub mod view;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;
use tera::Context;

/// What the layout needs on every page, beside the page's own context.
#[derive(Serialize)]
struct Layout<'a, C> {
    asset_version: &'static str,
    #[serde(flatten)]
    page: &'a C,
}

/// Renders `template` with `context` (a struct whose fields are the template's variables).
pub fn html<C: Serialize>(status: StatusCode, template: &str, context: &C) -> HttpResponse {
    let layout = Layout {
        asset_version: assets::version(),
        page: context,
    };
    let rendered = Context::from_serialize(layout)
        .inspect_err(|e| log::error!("the context of {template}: {e:?}"))
        .and_then(|context| templates::render(template, &context));
    match rendered {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(_) => failure(),
    }
}

/// The answer when a template fails (a bug, already logged).
pub fn failure() -> HttpResponse {
    HttpResponse::InternalServerError()
        .content_type("text/plain; charset=utf-8")
        .body("Internal error")
}
