//! Request extractors that fail with [`ApiError`]s (JSON bodies), where actix's own would answer in plain text.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::domain::{BadParameter, ListQuery};
use crate::error::ApiError;

/// Largest request body accepted (413 above it).
pub const BODY_LIMIT: usize = 64 * 1024;
/// How long a client may take to send the whole body once its request head has arrived (408 after that).
/// actix times out slow request heads itself, but not bodies: without this, a client that stops half-way
/// through a body would hold its connection (and delay a graceful shutdown) for ever.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A JSON object body: `Content-Type: application/json` (415 otherwise), at most [`BODY_LIMIT`] bytes
/// (413), a well-formed object with known fields of the right types (400 naming the field otherwise).
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
            if declared_len.is_some_and(|len| len > BODY_LIMIT) {
                return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
            }
            let read = async {
                let mut body = Vec::with_capacity(declared_len.unwrap_or(1024).min(BODY_LIMIT));
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|e| {
                        log::debug!("request body unreadable: {e}");
                        ApiError::bad_request(
                            "Could not read the body: it ended early or its framing is broken",
                            None,
                        )
                    })?;
                    if body.len() + chunk.len() > BODY_LIMIT {
                        return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            };
            let body = tokio::time::timeout(BODY_TIMEOUT, read)
                .await
                .map_err(|_| ApiError::BodyTimeout {
                    seconds: BODY_TIMEOUT.as_secs(),
                })??;
            parse_object(&body).map(JsonBody)
        })
    }
}

/// Parses a JSON object into `T`, turning serde's complaints into messages that name the field.
pub fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // serde also accepts a JSON array for a struct; the API only takes objects.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "Request body must be a JSON object",
                None,
            ))
        }
        None => {
            return Err(ApiError::bad_request(
                "Request body is empty; expected a JSON object",
                None,
            ))
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = (path != ".").then_some(path);
        match inner.classify() {
            serde_json::error::Category::Data => data_error(&inner.to_string(), field),
            _ => malformed(&inner),
        }
    })?;
    // Trailing bytes after the object (`{}x`) are malformed JSON too.
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(err: &serde_json::Error) -> ApiError {
    ApiError::bad_request(format!("Malformed JSON: {err}"), None)
}

/// A well-formed body that does not fit the type: a missing or unknown field, a wrong type (400),
/// or a value outside an enumeration such as the priority (422, like other rule violations).
fn data_error(message: &str, field: Option<String>) -> ApiError {
    let message = strip_position(message);
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        let text = if name == "title" {
            "Title is required".to_owned()
        } else {
            format!("Field '{name}' is required")
        };
        return ApiError::bad_request(text, Some(name));
    }
    if let Some(name) = message
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next())
    {
        return ApiError::bad_request(format!("Unknown field '{name}'"), Some(name));
    }
    match field {
        Some(field) if message.starts_with("unknown variant") => {
            ApiError::validation(&field, format!("{field} must be one of low, medium, high"))
        }
        Some(field) => ApiError::bad_request(
            format!("Field '{field}' has the wrong type: {message}"),
            Some(&field),
        ),
        None => ApiError::bad_request(format!("Invalid request body: {message}"), None),
    }
}

/// serde_json appends " at line 1 column 12"; the field name says more to a person.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
}

/// The query string of `GET /api/tasks`, decoded and validated (400 naming the parameter).
pub struct ListParams(pub ListQuery);

impl FromRequest for ListParams {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_list_query(req.query_string()).map(ListParams))
    }
}

fn parse_list_query(raw: &str) -> Result<ListQuery, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("Malformed query string: {e}"), None))?;
    ListQuery::from_pairs(&pairs).map_err(|BadParameter { parameter, message }| {
        ApiError::bad_request(message, Some(&parameter))
    })
}
