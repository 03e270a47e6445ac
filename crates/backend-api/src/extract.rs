//! Request extractors that fail with [`ApiError`]s (JSON bodies), where actix's own would answer in plain text.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use service_kit::urlencoded::first_not_utf8;
use task_types::limits::{BODY_DEADLINE, BODY_MAX_BYTES};
use task_types::ListQuery;

use crate::error::ApiError;
use crate::typed_json::parse_object;

/// A JSON object body: `Content-Type: application/json` (415 otherwise), at most [`BODY_MAX_BYTES`] bytes
/// (413), all of it within [`BODY_DEADLINE`] of the request head (408: actix times out slow request heads
/// itself, but not bodies, so a client that stopped half-way would hold its connection, and delay a graceful
/// shutdown, for ever), a well-formed object with known fields of the right types (400 naming the field
/// otherwise).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json =
            matches!(req.mime_type(), Ok(Some(m)) if m.essence_str() == "application/json");
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared_len.is_some_and(|len| len > BODY_MAX_BYTES) {
                return Err(ApiError::PayloadTooLarge {
                    limit: BODY_MAX_BYTES,
                });
            }
            let read = async {
                let mut body = Vec::with_capacity(declared_len.unwrap_or(1024).min(BODY_MAX_BYTES));
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|e| {
                        log::debug!("request body unreadable: {e}");
                        ApiError::bad_request(
                            "Could not read the body: it ended early or its framing is broken",
                            None,
                        )
                    })?;
                    if body.len() + chunk.len() > BODY_MAX_BYTES {
                        return Err(ApiError::PayloadTooLarge {
                            limit: BODY_MAX_BYTES,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            };
            let body = tokio::time::timeout(BODY_DEADLINE, read)
                .await
                .map_err(|_| ApiError::BodyTimeout {
                    seconds: BODY_DEADLINE.as_secs(),
                })??;
            Ok(JsonBody(parse_object(&body)?))
        })
    }
}

/// The query string of `GET /api/tasks`, decoded and validated (400 naming the parameter).
pub struct ListQueryString(pub ListQuery);

impl FromRequest for ListQueryString {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_list_query(req.query_string()).map(ListQueryString))
    }
}

fn parse_list_query(raw: &str) -> Result<ListQuery, ApiError> {
    if let Some(name) = first_not_utf8(raw.as_bytes()) {
        return Err(ApiError::bad_request(
            format!("Parameter '{name}' is not UTF-8 once its %XX escapes are decoded"),
            Some(&name),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("Malformed query string: {e}"), None))?;
    Ok(ListQuery::from_pairs(&pairs)?)
}
