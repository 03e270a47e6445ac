//! `/api/*` passed to the backend as it is, so API clients need only the frontend's address:
//! the API's methods, path and query, body and the headers that matter go through; the backend's status,
//! body and headers come back unchanged, the body streamed (so memory per request stays small
//! whatever the size of the answer).
//!
//! Only paths that stay under `/api/` reach the backend: the URL parser would resolve `..` (also
//! encoded as `%2e%2e`) and let `/api/%2e%2e/metrics` reach the backend's own endpoints.

use actix_web::body::SizedStream;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::{stream, StreamExt};
use service_kit::request_log::bounded;

use crate::backend::BackendError;
use crate::config::limits;
use crate::error::json_error;
use crate::state::AppState;

/// Request headers the backend needs to answer as it would directly.
const REQUEST_HEADERS: [&str; 3] = ["content-type", "accept", "x-request-id"];
/// Response headers the API documents (and `Allow` for 405s).
const RESPONSE_HEADERS: [&str; 9] = [
    "content-type",
    "location",
    "x-total-count",
    "x-page-truncated",
    "x-count-all",
    "x-count-completed",
    "retry-after",
    "x-request-id",
    "allow",
];
/// The methods the API takes somewhere (HEAD and OPTIONS too, answered by the backend as it answers them
/// directly); any other is refused here, so it never reaches the backend or its metrics.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// Encoded `.`, `/` and `\`: a path that needs them is not an API path, and decoded they could
/// climb out of `/api/`.
const ENCODED_SEPARATORS: [&str; 3] = ["%2e", "%2f", "%5c"];

pub async fn forward(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    // The raw path, as the client sent it (not decoded).
    let path = req.uri().path();
    if !stays_under_api(path) {
        log::warn!("/api pass-through: refused the path {:?}", bounded(path));
        // 404 as for any other path the API does not have (the OpenAPI document's answer for bad ids).
        return json_error(
            StatusCode::NOT_FOUND,
            "Not found: API paths stay under /api/, without '.' or '..' segments or encoded dots, slashes or backslashes",
        );
    }
    let Some(method) = api_method(req.method()) else {
        // `Allow` names what the pass-through forwards (the backend's own 405 names a path's methods).
        let allow = METHODS.map(|m| m.as_str().to_owned()).join(", ");
        let mut refusal = json_error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
        refusal.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_str(&allow).expect("method names are ASCII"),
        );
        return refusal;
    };
    // The body gate has read and bounded it already; this only collects it.
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if body.len() + chunk.len() <= limits::BODY_LIMIT => {
                body.extend_from_slice(&chunk)
            }
            Ok(_) => return json_error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
            Err(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "The request body could not be read",
                )
            }
        }
    }
    let mut headers = reqwest::header::HeaderMap::new();
    for name in REQUEST_HEADERS {
        for value in req.headers().get_all(name) {
            if let Ok(value) = reqwest::header::HeaderValue::from_bytes(value.as_bytes()) {
                headers.append(name, value);
            }
        }
    }
    let path_and_query = req.uri().path_and_query().map_or(path, |pq| pq.as_str());

    let answer = match state
        .backend
        .forward(method, path_and_query, headers, body)
        .await
    {
        Ok(answer) => answer,
        Err(BackendError::Unavailable(why)) => {
            log::warn!("/api pass-through: backend unavailable: {why}");
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The task service is unavailable; try again shortly",
            );
        }
        Err(other) => {
            log::error!("/api pass-through: {other}");
            return json_error(
                StatusCode::BAD_GATEWAY,
                "The task service gave no usable answer",
            );
        }
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = HttpResponse::build(status);
    for name in RESPONSE_HEADERS {
        for value in answer.headers().get_all(name) {
            response.append_header((name, value.as_bytes()));
        }
    }
    // reqwest reads no body for HEAD, so it says 0: the backend's header says what GET would send.
    let length = match req.method() == Method::HEAD {
        true => answer
            .headers()
            .get(reqwest::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse().ok()),
        false => answer.content_length(),
    };
    // Chunk by chunk as the backend sends them: actix asks for the next one only once the client
    // has taken the last, so a slow reader holds one chunk, not the whole answer. A break-off
    // after the head has gone out can only end the connection (the client sees a short body).
    let chunks = stream::unfold(Some(answer), |answer| async move {
        let mut answer = answer?;
        match answer.chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(answer))),
            Ok(None) => None,
            Err(e) => {
                log::warn!("/api pass-through: the backend's answer broke off: {e}");
                Some((Err(actix_web::error::ErrorBadGateway(e)), None))
            }
        }
    });
    match length {
        Some(length) => response.body(SizedStream::new(length, chunks.boxed_local())),
        None => response.streaming(chunks),
    }
}

/// The request's method for reqwest, if the API takes it.
fn api_method(method: &Method) -> Option<reqwest::Method> {
    METHODS
        .contains(method)
        .then(|| reqwest::Method::from_bytes(method.as_str().as_bytes()).ok())
        .flatten()
}

/// Whether `raw_path` (undecoded) names something under `/api/` and nothing else: no `.` or `..`
/// segment, no encoded dot, slash or backslash, no backslash at all.
pub fn stays_under_api(raw_path: &str) -> bool {
    let lower = raw_path.to_ascii_lowercase();
    raw_path.starts_with("/api/")
        && !raw_path.contains('\\')
        && !ENCODED_SEPARATORS.iter().any(|e| lower.contains(e))
        && !raw_path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apis_methods_go_through() {
        for method in METHODS {
            assert_eq!(api_method(&method).unwrap().as_str(), method.as_str());
        }
        for other in ["TRACE", "CONNECT", "PROPFIND", "get"] {
            assert!(
                api_method(&Method::from_bytes(other.as_bytes()).unwrap()).is_none(),
                "{other}"
            );
        }
    }

    #[test]
    fn only_paths_under_api_go_through() {
        for ok in [
            "/api/tasks",
            "/api/tasks/0b5e",
            "/api/tasks.json",
            "/api/a%20b",
            "/api/",
        ] {
            assert!(stays_under_api(ok), "{ok}");
        }
        for refused in [
            "/api/../metrics",
            "/api/tasks/../../health",
            "/api/%2e%2e/metrics",
            "/api/%2E%2e/ready",
            "/api/.%2E/ready",
            "/api/tasks%2f..%2f..%2fhealth",
            "/api/%5c..%5chealth",
            "/api/..\\health",
            "/api/./tasks",
            "/metrics",
        ] {
            assert!(!stays_under_api(refused), "{refused}");
        }
    }
}
