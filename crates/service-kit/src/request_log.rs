//! Request ids and the access log: every response carries `X-Request-Id` (the client's when it sent a sane
//! one, otherwise a new one), every request gives exactly one log line, and while a request is served its id
//! is [`current`], so that calls to another service carry it on (one id follows a click through both logs).
//! A log line shows a method only if it is one of [`methods::KNOWN`], and at most [`MAX_LOGGED_CHARS`] of
//! the path and of a 5xx's cause, so a client cannot write lines of any length.

use std::fmt::Write as _;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

use crate::methods;

/// The header's name, as text for clients of other HTTP crates (reqwest).
pub const REQUEST_ID_HEADER: &str = "x-request-id";
pub const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);
/// The longest client id kept; a longer one is replaced.
pub const MAX_ID_LEN: usize = 128;
/// The most characters of the path, and of a 5xx's cause, one log line shows (then `...`).
pub const MAX_LOGGED_CHARS: usize = 256;

tokio::task_local! {
    /// The id of the request this task is serving. A task-local, not a handler argument, so that the
    /// frontend's backend client reads it without every page handler passing it along.
    static CURRENT: String;
}

/// The id of the request being served, to send on calls to other services; `None` outside a request.
pub fn current() -> Option<String> {
    CURRENT.try_with(String::clone).ok()
}

/// A client's id is kept if it is short and plain, so it cannot forge log lines.
fn client_id(value: &HeaderValue) -> Option<&str> {
    let id = value.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    (!id.is_empty() && id.len() <= MAX_ID_LEN && id.chars().all(plain)).then_some(id)
}

/// The middleware, for a service whose errors need no cause logged (`App::wrap(from_fn(middleware))`).
pub async fn middleware<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    log_with_cause(req, next, |_| None).await
}

/// The middleware, logging a 5xx's cause as `cause` finds it in the response's error (a service's own error
/// type knows what is worth logging and never sends it to the client).
pub async fn log_with_cause<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
    cause: fn(&actix_web::Error) -> Option<String>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let start = Instant::now();
    // Built without a `String` per field: this runs on every request.
    let mut fresh = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let header = match req.headers().get(&REQUEST_ID) {
        Some(sent) if client_id(sent).is_some() => sent.clone(),
        _ => HeaderValue::from_str(uuid::Uuid::new_v4().hyphenated().encode_lower(&mut fresh))
            .expect("request ids are plain ASCII"),
    };
    let id = header.to_str().expect("request ids are plain ASCII");

    let mut res = CURRENT.scope(id.to_owned(), next.call(req)).await?;

    let status = res.status();
    let cause = if status.as_u16() >= 500 {
        res.response().error().and_then(cause)
    } else {
        None
    };
    let level = if cause.is_some() {
        log::Level::Error
    } else {
        log::Level::Info
    };
    if log::log_enabled!(level) {
        let method = methods::shown(res.request().method());
        let line = access_line(method, res.request().path(), status.as_str(), start, id);
        match cause {
            Some(cause) => log::error!("{line} error={}", bounded(&cause)),
            None => log::info!("{line}"),
        }
    }
    res.headers_mut().insert(REQUEST_ID, header);
    Ok(res)
}

/// `METHOD path status 12.3ms request_id=id`, built in one string: the logger then copies one piece instead
/// of formatting each field (and a float) through its writer, which cost more than the rest of the line.
fn access_line(method: &str, path: &str, status: &str, start: Instant, id: &str) -> String {
    let path = bounded(path);
    let tenths = (start.elapsed().as_micros() + 50) / 100;
    let mut line = String::with_capacity(64 + path.len() + id.len());
    for part in [method, " ", &path, " ", status, " "] {
        line.push_str(part);
    }
    // Writing to a String cannot fail.
    let _ = write!(line, "{}.{}ms request_id={id}", tenths / 10, tenths % 10);
    line
}

/// `text`, cut after [`MAX_LOGGED_CHARS`] characters: for any log line that quotes what a client sent.
pub fn bounded(text: &str) -> std::borrow::Cow<'_, str> {
    // No more bytes than the bound: no more characters either, without counting them.
    if text.len() <= MAX_LOGGED_CHARS {
        return text.into();
    }
    match text.char_indices().nth(MAX_LOGGED_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]).into(),
        None => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_text_is_cut_at_the_bound() {
        assert_eq!(bounded("/api/tasks"), "/api/tasks");
        let long = "é".repeat(MAX_LOGGED_CHARS + 1);
        assert_eq!(
            bounded(&long),
            format!("{}...", "é".repeat(MAX_LOGGED_CHARS))
        );
        assert_eq!(
            bounded(&long[..2 * MAX_LOGGED_CHARS]),
            long[..2 * MAX_LOGGED_CHARS]
        );
    }

    #[test]
    fn the_access_line_shows_each_field_once_and_the_time_in_tenths_of_a_millisecond() {
        let now = Instant::now();
        let line = access_line("GET", "/api/tasks", "200", now, "r-1");
        let (head, tail) = line.split_once(" request_id=").unwrap();
        assert_eq!(tail, "r-1");
        let took = head.strip_prefix("GET /api/tasks 200 ").unwrap();
        let (whole, tenth) = took.strip_suffix("ms").unwrap().split_once('.').unwrap();
        assert!(whole.parse::<u64>().is_ok() && tenth.len() == 1, "{line}");
        assert!(
            now.elapsed().as_secs_f64() * 1000.0 + 0.05 >= took[..took.len() - 2].parse().unwrap()
        );
        let long = "/".repeat(MAX_LOGGED_CHARS + 1);
        let cut = access_line("GET", &long, "404", now, "r-2");
        assert!(
            cut.starts_with(&format!("GET {} 404 ", bounded(&long))),
            "{cut}"
        );
    }

    #[test]
    fn only_short_plain_ids_are_kept() {
        let kept = |v: &'static str| client_id(&HeaderValue::from_static(v)).is_some();
        assert!(kept("click-42_a.b:c"));
        assert!(!kept(""));
        assert!(!kept("two words"));
        assert!(!kept("line\tbreak"));
        assert!(client_id(&HeaderValue::from_str(&"a".repeat(MAX_ID_LEN)).unwrap()).is_some());
        assert!(client_id(&HeaderValue::from_str(&"a".repeat(MAX_ID_LEN + 1)).unwrap()).is_none());
    }

    #[test]
    fn the_current_id_is_known_only_inside_a_request() {
        assert_eq!(current(), None);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let seen = rt.block_on(CURRENT.scope("r-1".to_owned(), async {
            tokio::task::yield_now().await;
            current()
        }));
        assert_eq!(seen.as_deref(), Some("r-1"));
    }
}
