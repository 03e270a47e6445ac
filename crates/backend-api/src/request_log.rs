//! Request ids and the access log: every response carries `X-Request-Id` (the client's when it sent a sane
//! one, otherwise a new one), and every request gives exactly one log line.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

use crate::error::ApiError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client's id is kept if it is short and plain, so it cannot forge log lines.
fn client_id(value: &HeaderValue) -> Option<&str> {
    let id = value.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    (!id.is_empty() && id.len() <= 128 && id.chars().all(plain)).then_some(id)
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(client_id)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().clone();
    let path = req.path().to_owned();

    let mut res = next.call(req).await?;

    let header = HeaderValue::from_str(&id).expect("request ids are plain ASCII");
    res.headers_mut().insert(REQUEST_ID, header);
    let status = res.status().as_u16();
    let millis = start.elapsed().as_secs_f64() * 1000.0;
    let cause = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .and_then(ApiError::cause);
    match cause {
        Some(cause) if status >= 500 => {
            log::error!("{method} {path} {status} {millis:.1}ms request_id={id} error={cause:?}")
        }
        _ => log::info!("{method} {path} {status} {millis:.1}ms request_id={id}"),
    }
    Ok(res)
}
