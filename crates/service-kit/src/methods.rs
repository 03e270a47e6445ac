//! Request methods: any token is a valid HTTP method, and metrics label requests by method, so every new
//! token would make series that are never freed. A method outside [`KNOWN`] is answered 501 here, before
//! metrics or a handler see it; a known one is routed as usual (405 with `Allow` where a path does not
//! take it). Every GET route takes HEAD too ([`get_or_head`]).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{guard, web, HttpResponse};

/// RFC 9110's methods, PATCH (RFC 5789) and QUERY (the HTTP working group's safe method with a body, which
/// clients and fuzzers already send): the only values a `method` label or a log line can take. QUERY is known
/// so that it gets the same 405 with `Allow` as any other method a route does not take.
pub const KNOWN: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY",
];

/// A route for GET and HEAD. A server that answers GET must answer HEAD (RFC 9110, section 9.1), and actix-web
/// routes it to no GET handler by itself: HEAD gets GET's answer here, and actix-http leaves out the body.
pub fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// What logs show instead of a method outside [`KNOWN`].
pub const UNKNOWN: &str = "UNKNOWN";

pub fn is_known(method: &Method) -> bool {
    KNOWN.contains(&method.as_str())
}

/// The method as logs may show it: its name if known, [`UNKNOWN`] otherwise.
pub fn shown(method: &Method) -> &str {
    match is_known(method) {
        true => method.as_str(),
        false => UNKNOWN,
    }
}

/// The middleware, registered outside the metrics (`from_fn(|req, next| refuse_unknown(req, next, answer))`):
/// a method outside [`KNOWN`] gets `not_implemented(&req)`, the service's own 501 (JSON, or a page).
pub async fn refuse_unknown<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
    not_implemented: fn(&ServiceRequest) -> HttpResponse,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if is_known(req.method()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let response = not_implemented(&req);
    debug_assert_eq!(response.status().as_u16(), 501);
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_standard_methods_are_known() {
        for method in ["GET", "HEAD", "OPTIONS", "PATCH", "TRACE", "QUERY"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(shown(&method), method.as_str());
        }
        for method in ["get", "PROPFIND", "FOO", &"X".repeat(2000)] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(shown(&method), UNKNOWN, "{method}");
        }
    }
}
