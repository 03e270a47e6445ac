//! The access log: service-kit's request-id middleware, with the cause of a 5xx [`ApiError`] on its line
//! (the cause goes to the log only, never to the client).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::error::ApiError;

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    service_kit::request_log::log_with_cause(req, next, api_error_cause).await
}

fn api_error_cause(error: &actix_web::Error) -> Option<String> {
    let cause = error.as_error::<ApiError>()?.cause()?;
    Some(format!("{cause:?}"))
}
