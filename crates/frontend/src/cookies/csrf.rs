//! CSRF protection for every state-changing form (the double-submit pattern, with a sealed cookie).
//!
//! The browser holds a random session token in a sealed (see [`crate::cookies::key`]), HttpOnly,
//! SameSite=Lax cookie; each form carries the same token in a hidden field. A POST is accepted only
//! when the field equals the token inside the cookie it came with, so a token copied from another
//! session, or a cookie not sealed with our key, is refused. POST handlers take their form as
//! `Checked` (in `routes::pages::form`), which calls [`is_same_origin`] and [`is_valid`], so none can
//! forget them.
//!
//! The token alone is not enough: a sibling site, or anyone who can answer one plain-HTTP request for
//! this host, can plant a session cookie of its own, whose token it knows. So a form must also come
//! from one of this site's pages, which browsers say in `Sec-Fetch-Site` or `Origin`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::COOKIE as COOKIE_HEADER;
use actix_web::HttpRequest;
use subtle::ConstantTimeEq;

use crate::config::hosts::{host_name, requested_host};
use crate::cookies::key::CookieKey;

pub const COOKIE: &str = "taskmgr_csrf";
/// The hidden form field that carries the token.
pub const FIELD: &str = "csrf_token";
/// Random bytes per session token.
const TOKEN_BYTES: usize = 32;

/// The browser's CSRF session: the token for forms, and the cookie to set when the session is new.
pub struct CsrfSession {
    pub form_token: String,
    pub new_cookie: Option<Cookie<'static>>,
}

/// The session of `req`, or a new one when it has no valid cookie.
pub fn session(req: &HttpRequest, key: &CookieKey) -> CsrfSession {
    if let Some(token) = cookie_tokens(req, key).next() {
        return CsrfSession {
            form_token: token,
            new_cookie: None,
        };
    }
    let token = random_token();
    let cookie = Cookie::build(COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    CsrfSession {
        form_token: token,
        new_cookie: Some(key.seal(cookie)),
    }
}

/// Whether `submitted` is the token of a session cookie that came with `req`; compared in
/// constant time.
pub fn is_valid(req: &HttpRequest, key: &CookieKey, submitted: &str) -> bool {
    !submitted.is_empty()
        && cookie_tokens(req, key)
            .any(|token| bool::from(token.as_bytes().ct_eq(submitted.as_bytes())))
}

/// Whether `req` comes from this site's own pages: `Sec-Fetch-Site` is `same-origin` (or `none`, the
/// user's own action), or without it, `Origin` names the request's host (ports aside, as the Host
/// check compares them: a proxy may drop the port). A request with neither is no browser's (curl,
/// a script), and its token decides.
pub fn is_same_origin(req: &HttpRequest) -> bool {
    let header = |name| req.headers().get(name).map(|v| v.to_str().unwrap_or(""));
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = header("origin") else {
        return true;
    };
    let origin_name = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .map(host_name);
    let own_name = requested_host(req.headers(), req.uri()).map(|host| host_name(&host));
    matches!((origin_name, own_name), (Some(o), Some(h)) if !o.is_empty() && o == h)
}

/// The tokens of the session cookies of `req` that are sealed with our key, in the order sent. A
/// browser sends a more specific path's cookie first, so a planted cookie (or one the parser refuses)
/// must not hide ours: every `Cookie` pair is read on its own.
fn cookie_tokens<'a>(
    req: &'a HttpRequest,
    key: &'a CookieKey,
) -> impl Iterator<Item = String> + 'a {
    req.headers()
        .get_all(COOKIE_HEADER)
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| Cookie::parse_encoded(pair.trim().to_owned()).ok())
        .filter(|cookie| cookie.name() == COOKIE)
        .filter_map(|cookie| key.open(cookie))
}

/// `TOKEN_BYTES` from the operating system's random source, as hex.
fn random_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut token = String::with_capacity(2 * TOKEN_BYTES);
    for byte in bytes {
        token.push(char::from(HEX[usize::from(byte >> 4)]));
        token.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request_with(cookie: &Cookie<'static>) -> HttpRequest {
        TestRequest::default()
            .cookie(cookie.clone())
            .to_http_request()
    }

    #[test]
    fn a_new_session_sets_a_protected_cookie() {
        let key = CookieKey::new(Some("a-shared-secret-key"));
        let session = session(&TestRequest::default().to_http_request(), &key);
        let cookie = session.new_cookie.expect("a new session sets its cookie");
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert!(is_valid(&request_with(&cookie), &key, &session.form_token));
    }

    #[test]
    fn tokens_are_bound_to_their_session() {
        let key = CookieKey::new(Some("a-shared-secret-key"));
        let a = session(&TestRequest::default().to_http_request(), &key);
        let b = session(&TestRequest::default().to_http_request(), &key);
        let req_a = request_with(a.new_cookie.as_ref().unwrap());
        assert!(
            !is_valid(&req_a, &key, &b.form_token),
            "a token from another session is refused"
        );
        assert!(!is_valid(&req_a, &key, ""), "a missing token is refused");
        assert!(
            !is_valid(
                &TestRequest::default().to_http_request(),
                &key,
                &a.form_token
            ),
            "no cookie, no entry"
        );
        // The same session keeps its token across pages.
        let again = session(&req_a, &key);
        assert!(again.new_cookie.is_none());
        assert_eq!(again.form_token, a.form_token);
    }

    #[test]
    fn the_origin_is_compared_by_host_name() {
        let from = |origin: &str, host: &str| {
            let req = TestRequest::default()
                .insert_header(("origin", origin))
                .insert_header(("host", host))
                .to_http_request();
            is_same_origin(&req)
        };
        assert!(from("https://localhost:30443", "localhost"));
        assert!(from("http://[::1]:30080", "[::1]:8080"));
        assert!(from("http://Frontend", "frontend:8080"));
        assert!(!from("http://[::2]:30080", "[::1]:30080"));
        assert!(!from("http://localhost.evil.example", "localhost"));
        assert!(!from("localhost", "localhost"), "an origin has a scheme");
    }

    #[test]
    fn tokens_are_random_lowercase_hex() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 2 * TOKEN_BYTES);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn a_cookie_holding_the_token_in_clear_is_refused() {
        let key = CookieKey::new(Some("a-shared-secret-key"));
        let forged = Cookie::new(COOKIE, "00".repeat(TOKEN_BYTES));
        assert!(!is_valid(
            &request_with(&forged),
            &key,
            &"00".repeat(TOKEN_BYTES)
        ));
    }
}
