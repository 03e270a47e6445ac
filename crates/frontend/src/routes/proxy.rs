//! `/api/*` passed to the backend as it is, so API clients need only the frontend's address:
//! method, path and query, body and the headers that matter go through; the backend's status,
//! body and headers come back unchanged.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::json;

use crate::backend::BackendError;
use crate::state::AppState;

/// Request headers the backend needs to answer as it would directly.
const REQUEST_HEADERS: [&str; 3] = ["content-type", "accept", "x-request-id"];
/// Response headers the API documents (and `Allow` for 405s).
const RESPONSE_HEADERS: [&str; 5] = [
    "content-type",
    "location",
    "x-total-count",
    "x-request-id",
    "allow",
];
/// The backend refuses bodies over 64 KiB itself (413); beyond this we do not even read them.
const BODY_LIMIT: usize = 256 * 1024;

pub async fn forward(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if body.len() + chunk.len() <= BODY_LIMIT => body.extend_from_slice(&chunk),
            Ok(_) => return json_error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
            Err(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "The request body could not be read",
                )
            }
        }
    }
    let Ok(method) = reqwest::Method::from_bytes(req.method().as_str().as_bytes()) else {
        return json_error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    };
    let mut headers = reqwest::header::HeaderMap::new();
    for name in REQUEST_HEADERS {
        for value in req.headers().get_all(name) {
            if let Ok(value) = reqwest::header::HeaderValue::from_bytes(value.as_bytes()) {
                headers.append(name, value);
            }
        }
    }
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or(req.path(), |pq| pq.as_str());

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
    match answer.bytes().await {
        Ok(bytes) => response.body(bytes),
        Err(e) => {
            log::warn!("/api pass-through: the backend's answer broke off: {e}");
            json_error(
                StatusCode::BAD_GATEWAY,
                "The task service's answer broke off",
            )
        }
    }
}

/// The API's error shape, `{"error": ...}`, for failures of the pass-through itself.
fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}
