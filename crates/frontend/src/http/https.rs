//! HTTPS as the browser sees it. The frontend itself serves plain HTTP; TLS ends at a proxy in front of
//! it. That proxy's `X-Forwarded-Proto: https` is believed only when the connection comes from an address
//! in `TRUSTED_PROXIES` (a comma list of IPs or CIDRs, empty by default), since any client can send the
//! header. Over HTTPS the CSRF and flash cookies get `Secure`, and answers carry HSTS; never over HTTP.
//! Nor for localhost or a loopback address: HSTS binds a host name on every port, so it would force
//! `http://localhost:30080` and every other local dev server to HTTPS for a year.

use std::net::IpAddr;

use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use actix_web::middleware::Next;
use actix_web::web;

use crate::config::TrustedProxies;
use crate::state::AppState;

/// One year, the usual HSTS lifetime; sent only over HTTPS (browsers ignore it over HTTP anyway).
pub const HSTS: &str = "max-age=31536000";
const FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Whether the browser reached us over HTTPS: a TLS listener, or a trusted proxy that says so.
pub fn is_https(req: &ServiceRequest, trusted: &TrustedProxies) -> bool {
    if req.app_config().secure() {
        return true;
    }
    let from_trusted = req.peer_addr().is_some_and(|a| trusted.contains(a.ip()));
    // A chain of proxies appends; the last value is the one our trusted neighbour set.
    from_trusted
        && req
            .headers()
            .get(FORWARDED_PROTO)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// Whether HSTS may be sent for this `Host` header: not for `localhost`, `*.localhost` or a loopback
/// address (with or without a port), which name this machine rather than a site.
pub fn hsts_allowed(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return false;
    }
    !name
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Middleware: over HTTPS, marks every cookie `Secure` and adds HSTS (see hsts_allowed).
pub async fn secure_cookies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let (https, hsts) = {
        let state = req
            .app_data::<web::Data<AppState>>()
            .expect("the app has its state");
        let https = is_https(&req, &state.trusted_proxies);
        (https, https && hsts_allowed(req.connection_info().host()))
    };
    let mut response = next.call(req).await?;
    if https {
        let headers = response.headers_mut();
        let cookies: Vec<String> = headers
            .get_all(SET_COOKIE)
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| Cookie::parse(v.to_owned()).ok())
            .map(|mut c| {
                c.set_secure(true);
                c.to_string()
            })
            .collect();
        headers.remove(SET_COOKIE);
        for cookie in cookies {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.append(SET_COOKIE, value);
            }
        }
        if hsts {
            headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_is_never_for_this_machine() {
        for local in [
            "localhost",
            "localhost:30443",
            "LocalHost.",
            "pgadmin.localhost:30443",
            "127.0.0.1",
            "127.1.2.3:8443",
            "[::1]:30443",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(!hsts_allowed(local), "{local}");
        }
        for site in [
            "taskmgr.example",
            "taskmgr.example:443",
            "10.0.0.5",
            "[2001:db8::1]:443",
        ] {
            assert!(hsts_allowed(site), "{site}");
        }
    }
}
