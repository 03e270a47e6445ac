//! Turning data into pages: the common page context (CSRF token, flash, asset version), task
//! rows as the templates show them, and post-redirect-get redirects.

use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use task_types::{Priority, Task};
use tera::Context;

use crate::error::html;
use crate::flash::{self, Flash};
use crate::signing::Signer;
use crate::{csrf, routes::assets, templates};

/// A task as a page shows it.
#[derive(Debug, Serialize)]
pub struct TaskView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub priority: &'static str,
    pub priority_label: &'static str,
    pub completed: bool,
    /// What the toggle button sets `completed` to, and what it says.
    pub toggle_to: &'static str,
    pub toggle_label: &'static str,
    pub created: String,
    pub created_iso: String,
}

impl From<&Task> for TaskView {
    fn from(task: &Task) -> Self {
        TaskView {
            id: task.id.to_string(),
            title: task.title.clone(),
            description: task.description.clone(),
            priority: task.priority.as_str(),
            priority_label: match task.priority {
                Priority::Low => "Low",
                Priority::Medium => "Medium",
                Priority::High => "High",
            },
            completed: task.completed,
            toggle_to: if task.completed { "false" } else { "true" },
            toggle_label: if task.completed {
                "Mark as pending"
            } else {
                "Mark as completed"
            },
            created: human_time(&task.created_at),
            created_iso: task.created_at.to_rfc3339(),
        }
    }
}

/// A time as pages show it: `21 Nov 2026, 23:22 UTC`.
pub fn human_time(at: &DateTime<Utc>) -> String {
    at.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// The context every page starts from (also the error pages, which have no forms).
pub fn base_context() -> Context {
    let mut context = Context::new();
    context.insert("asset_version", assets::version());
    context
}

/// Renders a page with forms: adds the CSRF token (setting the cookie for a new session) and
/// the waiting flash message (removing its cookie). Pages carry a per-session token: no caching.
pub fn page(
    req: &HttpRequest,
    signer: &Signer,
    status: StatusCode,
    template: &str,
    mut context: Context,
) -> HttpResponse {
    let session = csrf::session(req, signer);
    context.insert("csrf_token", &session.form_token);
    let (message, removal) = flash::take(req, signer);
    context.insert("flash", &message);
    let mut response = html(status, templates::render(template, &context));
    for cookie in session.new_cookie.iter().chain(removal.iter()) {
        // Cookies built here are always valid header values.
        let _ = response.add_cookie(cookie);
    }
    response.headers_mut().insert(
        CACHE_CONTROL,
        "no-store".parse().expect("a valid header value"),
    );
    response
}

/// Post-redirect-get: 303 to `location` (a path on this site) with a flash message.
pub fn redirect(signer: &Signer, location: &str, message: Flash) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .cookie(message.to_cookie(signer))
        .finish()
}
