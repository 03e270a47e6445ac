//! Everything a page can fail with, as a status code and an error page that shares the layout.

use actix_web::http::header::{HeaderValue, ALLOW, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Serialize, Serializer};

use crate::backend::BackendError;
use crate::config::limits;
use crate::render;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("page not found")]
    PageNotFound,
    #[error("task not found")]
    TaskNotFound,
    /// `allow`: the methods the address takes, for the `Allow` header.
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("method not implemented")]
    MethodNotImplemented,
    #[error("CSRF check failed")]
    Csrf,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("form too large")]
    TooLarge,
    #[error("Host not allowed")]
    BadHost,
    #[error("the body did not arrive in time")]
    BodyTimeout,
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// For handlers that answer with a page either way.
pub type PageResult = Result<HttpResponse, PageError>;

/// What the error page shows: `error.html`'s context.
#[derive(Serialize)]
struct ErrorPage {
    #[serde(serialize_with = "as_code")]
    status: StatusCode,
    title: &'static str,
    message: String,
    /// The red banner at the top: for outages, so that nobody reads an empty page as "no tasks".
    banner: bool,
}

impl PageError {
    fn page(&self) -> ErrorPage {
        let page = |status, title, message: &str, banner| ErrorPage {
            status,
            title,
            message: message.to_owned(),
            banner,
        };
        match self {
            PageError::PageNotFound => {
                page(StatusCode::NOT_FOUND, "Page not found", "There is no page at this address.", false)
            }
            PageError::TaskNotFound | PageError::Backend(BackendError::NotFound) => page(
                StatusCode::NOT_FOUND,
                "Task not found",
                "This task does not exist. It may have been deleted.",
                false,
            ),
            PageError::MethodNotAllowed { .. } => page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not allowed",
                "This address does not take that kind of request.",
                false,
            ),
            PageError::MethodNotImplemented => page(
                StatusCode::NOT_IMPLEMENTED,
                "Not implemented",
                "This server does not know that kind of request.",
                false,
            ),
            PageError::Csrf => page(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form could not be verified, so nothing was changed. Go back to your tasks, reload, and try again.",
                false,
            ),
            PageError::BadRequest(message) => page(StatusCode::BAD_REQUEST, "Bad request", message, false),
            PageError::TooLarge => ErrorPage {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                title: "Too much text",
                message: format!(
                    "The request was too large to accept (at most {} KiB), so nothing was changed.",
                    limits::BODY_LIMIT / 1024
                ),
                banner: false,
            },
            PageError::BadHost => page(
                StatusCode::BAD_REQUEST,
                "Unknown host",
                "This server does not answer to that host name. Use the address taskmgr was deployed with (see ALLOWED_HOSTS).",
                false,
            ),
            PageError::BodyTimeout => ErrorPage {
                status: StatusCode::REQUEST_TIMEOUT,
                title: "Request timed out",
                message: format!(
                    "The request body did not arrive within {} s, so nothing was changed. Try again.",
                    limits::BODY_DEADLINE.as_secs()
                ),
                banner: false,
            },
            PageError::Busy => page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy",
                "Too many requests are being handled at once. Nothing was changed: try again in a moment.",
                true,
            ),
            PageError::Backend(BackendError::PageTooLarge) => ErrorPage {
                status: StatusCode::BAD_GATEWAY,
                title: "Page too large",
                message: format!(
                    "The tasks on this page take more than {} MiB, more than the UI shows at once. Choose a smaller page size or narrow the filters.",
                    limits::PAGE_BYTES / (1024 * 1024)
                ),
                banner: true,
            },
            PageError::Backend(BackendError::TaskTooLarge) => ErrorPage {
                status: StatusCode::BAD_GATEWAY,
                title: "Task too large",
                message: format!(
                    "This task takes more than {} KiB, more than the UI shows, so it cannot be shown or edited here. \
                     It can still be deleted through the API (DELETE /api/tasks/ID).",
                    limits::TASK_BYTES / 1024
                ),
                banner: true,
            },
            PageError::Backend(BackendError::Unavailable(_)) => page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Task service unavailable",
                "Your tasks cannot be shown or changed right now because the task service is not answering. Nothing has been lost: try again in a moment.",
                true,
            ),
            PageError::Backend(BackendError::Rejected { status, message, .. }) => ErrorPage {
                status: StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                title: "Request refused",
                message: message.clone(),
                banner: false,
            },
            PageError::Backend(BackendError::Unexpected(_)) => page(
                StatusCode::BAD_GATEWAY,
                "Task service error",
                "The task service answered with an error, so this page cannot be shown. Try again in a moment.",
                true,
            ),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.page().status
    }

    fn error_response(&self) -> HttpResponse {
        let page = self.page();
        match self {
            PageError::Backend(BackendError::Unavailable(_) | BackendError::Unexpected(_)) => {
                log::warn!("page failed: {self}")
            }
            _ => log::debug!("page failed: {self}"),
        }
        let mut response = render::html(page.status, "error.html", &page);
        self.add_headers(&mut response);
        response
    }
}

impl PageError {
    /// A 503 "busy" says when to come back; a 405 says which methods the address takes.
    fn add_headers(&self, response: &mut HttpResponse) {
        let headers = response.headers_mut();
        match self {
            PageError::Busy => {
                headers.insert(RETRY_AFTER, HeaderValue::from(limits::RETRY_AFTER_SECONDS));
            }
            PageError::MethodNotAllowed { allow } => {
                headers.insert(ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
    }
}

/// An error answered before a handler runs: JSON (`{"error": ...}`, the API's shape) under `/api`,
/// the error page everywhere else.
pub fn answer(path: &str, err: &PageError) -> HttpResponse {
    if path == "/api" || path.starts_with("/api/") {
        let page = err.page();
        let mut response = json_error(page.status, &page.message);
        err.add_headers(&mut response);
        response
    } else {
        err.error_response()
    }
}

/// The API's error shape, `{"error": ...}`.
pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message }))
}

/// A status as the page shows it: its number.
fn as_code<S: Serializer>(status: &StatusCode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u16(status.as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn every_error_renders_a_page_with_the_layout() {
        let errors = [
            (PageError::PageNotFound, 404),
            (PageError::TaskNotFound, 404),
            (PageError::MethodNotAllowed { allow: "POST" }, 405),
            (PageError::MethodNotImplemented, 501),
            (PageError::Csrf, 403),
            (PageError::BadRequest("Unknown priority".to_owned()), 400),
            (PageError::TooLarge, 413),
            (PageError::BadHost, 400),
            (PageError::BodyTimeout, 408),
            (PageError::Busy, 503),
            (PageError::Backend(BackendError::PageTooLarge), 502),
            (PageError::Backend(BackendError::TaskTooLarge), 502),
            (
                PageError::Backend(BackendError::Unavailable("refused".to_owned())),
                503,
            ),
            (
                PageError::Backend(BackendError::Unexpected("500".to_owned())),
                502,
            ),
        ];
        for (error, status) in errors {
            let response = error.error_response();
            assert_eq!(response.status().as_u16(), status, "{error}");
            let body = response.into_body().try_into_bytes().unwrap();
            let body = std::str::from_utf8(&body).unwrap();
            assert!(
                body.contains("href=\"/static/style.css?v="),
                "{error}: {body}"
            );
            assert_eq!(
                body.contains("id=\"backend-banner\""),
                status >= 500 && status != 501,
                "{error}: the banner is for outages (a 501 is the client's method, not an outage)"
            );
        }
    }

    #[test]
    fn early_refusals_answer_json_under_api_and_a_page_elsewhere() {
        let api = answer("/api/tasks", &PageError::Busy);
        assert_eq!(api.status().as_u16(), 503);
        assert_eq!(api.headers().get(RETRY_AFTER).unwrap(), "2");
        let body = api.into_body().try_into_bytes().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json["error"].as_str().unwrap().contains("try again"));
        let page = answer("/tasks", &PageError::BodyTimeout);
        assert_eq!(page.status().as_u16(), 408);
        let body = page.into_body().try_into_bytes().unwrap();
        assert!(std::str::from_utf8(&body).unwrap().contains("within 10 s"));
    }
}
