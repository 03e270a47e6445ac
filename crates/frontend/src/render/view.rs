//! Turning data into pages: the context every page with forms adds (CSRF token, flash), a task
//! as its own pages show it, and post-redirect-get redirects.

use actix_web::cookie::Cookie;
use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serialize;
use task_types::{Priority, Task};

use crate::cookies::csrf;
use crate::cookies::flash::{self, Flash};
use crate::cookies::key::CookieKey;
use crate::render;

/// A task as its own pages (edit, delete) show it.
#[derive(Debug, Serialize)]
pub struct TaskView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub priority: &'static str,
    pub priority_label: &'static str,
    pub completed: bool,
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
            priority_label: priority_label(task.priority),
            completed: task.completed,
            created: human_time(&task.created_at),
            created_iso: task.created_at.to_rfc3339(),
        }
    }
}

/// A priority as pages name it.
pub fn priority_label(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "Low",
        Priority::Medium => "Medium",
        Priority::High => "High",
    }
}

/// A time as pages show it: `21 Nov 2026, 23:22 UTC`. Written out by hand: chrono's strftime
/// parses its format string on every call, and `format!`'s padding costs more than the digits; a
/// list has a time on every row.
pub fn human_time(at: &DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let digit = |n: u32| char::from_digit(n % 10, 10).expect("a decimal digit");
    let mut text = String::with_capacity(24);
    if at.day() >= 10 {
        text.push(digit(at.day() / 10));
    }
    text.push(digit(at.day()));
    text.push(' ');
    text.push_str(MONTHS[at.month0() as usize]);
    text.push(' ');
    text.push_str(&at.year().to_string());
    text.push_str(", ");
    for (i, n) in [at.hour(), at.minute()].into_iter().enumerate() {
        if i == 1 {
            text.push(':');
        }
        text.push(digit(n / 10));
        text.push(digit(n));
    }
    text.push_str(" UTC");
    text
}

/// What a page with forms gets beside its own context.
#[derive(Serialize)]
struct WithForms<'a, C> {
    csrf_token: &'a str,
    flash: Option<&'a Flash>,
    #[serde(flatten)]
    page: &'a C,
}

/// What a page with forms adds to its context: the browser's CSRF token (and the cookie that
/// starts a new session) and the waiting flash message (and the cookie that removes it).
pub struct FormSession {
    csrf: csrf::CsrfSession,
    flash: Option<Flash>,
    flash_removal: Option<Cookie<'static>>,
}

impl FormSession {
    pub fn open(req: &HttpRequest, key: &CookieKey) -> Self {
        let csrf = csrf::session(req, key);
        let (flash, flash_removal) = flash::take(req, key);
        FormSession {
            csrf,
            flash,
            flash_removal,
        }
    }

    pub fn csrf_token(&self) -> &str {
        &self.csrf.form_token
    }

    /// Renders the page, setting the cookies. Pages carry a per-session token: no caching.
    pub fn render<C: Serialize>(
        self,
        status: StatusCode,
        template: &str,
        context: &C,
    ) -> HttpResponse {
        let context = WithForms {
            csrf_token: &self.csrf.form_token,
            flash: self.flash.as_ref(),
            page: context,
        };
        let mut response = render::html(status, template, &context);
        for cookie in self.csrf.new_cookie.iter().chain(self.flash_removal.iter()) {
            // Cookies built here are always valid header values.
            let _ = response.add_cookie(cookie);
        }
        response.headers_mut().insert(
            CACHE_CONTROL,
            "no-store".parse().expect("a valid header value"),
        );
        response
    }
}

/// Renders a page with forms (see [`FormSession`]).
pub fn page<C: Serialize>(
    req: &HttpRequest,
    key: &CookieKey,
    status: StatusCode,
    template: &str,
    context: &C,
) -> HttpResponse {
    FormSession::open(req, key).render(status, template, context)
}

/// Post-redirect-get: 303 to `location` (a path on this site) with a flash message.
pub fn redirect(key: &CookieKey, location: &str, message: Flash) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .cookie(message.to_cookie(key))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_read_like_chronos_format() {
        for at in [
            Utc.with_ymd_and_hms(2026, 11, 1, 3, 7, 0).unwrap(),
            Utc.with_ymd_and_hms(1999, 1, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2000, 12, 9, 0, 5, 0).unwrap(),
        ] {
            assert_eq!(
                human_time(&at),
                at.format("%-d %b %Y, %H:%M UTC").to_string()
            );
        }
    }
}
