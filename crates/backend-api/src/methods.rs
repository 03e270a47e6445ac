//! A method outside the known ones gets the API's JSON 501 before metrics count it (service-kit's
//! `methods`); a known one the path does not take gets the route's 405 with `Allow`.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

use crate::error::ApiError;

pub async fn refuse_unknown<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    service_kit::methods::refuse_unknown(req, next, not_implemented).await
}

fn not_implemented(_: &ServiceRequest) -> HttpResponse {
    ApiError::MethodNotImplemented.error_response()
}
