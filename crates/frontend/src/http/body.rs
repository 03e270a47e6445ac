//! Request bodies, read here before any handler sees them: at most [`limits::BODY_LIMIT`] bytes (413),
//! complete within the body deadline (408), and at most `max_uploads` of them at once (503 with
//! `Retry-After` straight away past that: no queue). A client that sends half a body and stalls thus
//! holds one upload slot for 10 s at most, instead of a connection and its memory for ever.
//! Answers are JSON under `/api` and pages elsewhere, as every refusal of the frontend.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::HttpMessage;
use futures_util::StreamExt;
use service_kit::request_log::bounded;

use crate::config::limits;
use crate::error::{answer, PageError};
use crate::state::AppState;

/// Middleware: reads the body (if any) under the limits, then hands it to the handler.
pub async fn read_bodies(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !has_body(req.headers()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let (uploads, limits) = {
        let state = req
            .app_data::<web::Data<AppState>>()
            .expect("the app has its state");
        (state.uploads.clone(), state.limits)
    };
    let deadline = limits.body_deadline;
    // Held until the handler has answered, so that bodies read and waiting on the backend count too.
    let Ok(_slot) = uploads.try_acquire_owned() else {
        log::warn!(
            "refused {} {}: {} uploads in flight",
            req.method(),
            bounded(req.path()),
            limits.max_uploads
        );
        return Ok(refuse(req, &PageError::Busy));
    };
    let mut payload = req.take_payload();
    let body = match actix_web::rt::time::timeout(
        deadline,
        read(&mut payload, declared_length(req.headers())),
    )
    .await
    {
        Err(_) => {
            log::warn!(
                "refused {} {}: body not complete within {deadline:?}",
                req.method(),
                bounded(req.path())
            );
            return Ok(refuse(req, &PageError::BodyTimeout));
        }
        Ok(Err(refusal)) => return Ok(refuse(req, &refusal)),
        Ok(Ok(body)) => body,
    };
    req.set_payload(Payload::from(body));
    Ok(next.call(req).await?.map_into_left_body())
}

fn refuse<B>(req: ServiceRequest, err: &PageError) -> ServiceResponse<EitherBody<B>> {
    let response = answer(req.path(), err);
    req.into_response(response).map_into_right_body()
}

/// A request has a body when it declares a length above 0 or a transfer coding (chunked).
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING) || declared_length(headers).is_some_and(|n| n > 0)
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

async fn read(payload: &mut Payload, declared: Option<usize>) -> Result<Bytes, PageError> {
    if declared.is_some_and(|n| n > limits::BODY_LIMIT) {
        return Err(PageError::TooLarge);
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            PageError::BadRequest(format!(
                "The request body could not be read ({e}), so nothing was changed."
            ))
        })?;
        if body.len() + chunk.len() > limits::BODY_LIMIT {
            return Err(PageError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
