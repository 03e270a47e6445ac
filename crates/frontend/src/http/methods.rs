//! A method outside the known ones gets a 501 (JSON under `/api`, a page elsewhere) before metrics count
//! it or the Host check runs (service-kit's `methods`).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpResponse;

use crate::error::{answer, PageError};

pub async fn refuse_unknown<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    service_kit::methods::refuse_unknown(req, next, not_implemented).await
}

fn not_implemented(req: &ServiceRequest) -> HttpResponse {
    answer(req.path(), &PageError::MethodNotImplemented)
}
