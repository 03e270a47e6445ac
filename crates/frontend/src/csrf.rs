//! CSRF protection for every state-changing form.
//!
//! The browser holds a random session value in a signed, HttpOnly, SameSite=Lax cookie; each form
//! carries `HMAC(key, value)` in a hidden field. A POST is accepted only when the field matches the
//! cookie it came with, so a token copied from another session, or a forged cookie, is refused.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

use crate::signing::{random_token, Signer};

pub const COOKIE: &str = "taskmgr_csrf";
/// The hidden form field that carries the token.
pub const FIELD: &str = "csrf_token";
const COOKIE_PURPOSE: &str = "csrf-cookie";
const FORM_PURPOSE: &str = "csrf-form";

/// The browser's CSRF session: the token for forms, and the cookie to set when the session is new.
pub struct CsrfSession {
    pub form_token: String,
    pub new_cookie: Option<Cookie<'static>>,
}

/// The session of `req`, or a new one when it has no valid cookie.
pub fn session(req: &HttpRequest, signer: &Signer) -> CsrfSession {
    if let Some(value) = cookie_value(req, signer) {
        return CsrfSession {
            form_token: signer.mac(FORM_PURPOSE, &value),
            new_cookie: None,
        };
    }
    let value = random_token::<32>();
    let cookie = Cookie::build(COOKIE, signer.sign(COOKIE_PURPOSE, value.as_bytes()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    CsrfSession {
        form_token: signer.mac(FORM_PURPOSE, value.as_bytes()),
        new_cookie: Some(cookie),
    }
}

/// Whether `submitted` is the form token of the session cookie that came with `req`.
pub fn is_valid(req: &HttpRequest, signer: &Signer, submitted: &str) -> bool {
    match cookie_value(req, signer) {
        Some(value) => !submitted.is_empty() && signer.verify_mac(FORM_PURPOSE, &value, submitted),
        None => false,
    }
}

fn cookie_value(req: &HttpRequest, signer: &Signer) -> Option<Vec<u8>> {
    signer.unsign(COOKIE_PURPOSE, req.cookie(COOKIE)?.value())
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
        let signer = Signer::new(Some("a-shared-secret-key"));
        let session = session(&TestRequest::default().to_http_request(), &signer);
        let cookie = session.new_cookie.expect("a new session sets its cookie");
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert!(is_valid(
            &request_with(&cookie),
            &signer,
            &session.form_token
        ));
    }

    #[test]
    fn tokens_are_bound_to_their_session() {
        let signer = Signer::new(Some("a-shared-secret-key"));
        let a = session(&TestRequest::default().to_http_request(), &signer);
        let b = session(&TestRequest::default().to_http_request(), &signer);
        let req_a = request_with(a.new_cookie.as_ref().unwrap());
        assert!(
            !is_valid(&req_a, &signer, &b.form_token),
            "a token from another session is refused"
        );
        assert!(!is_valid(&req_a, &signer, ""), "a missing token is refused");
        assert!(
            !is_valid(
                &TestRequest::default().to_http_request(),
                &signer,
                &a.form_token
            ),
            "no cookie, no entry"
        );
        // The same session keeps its token across pages.
        let again = session(&req_a, &signer);
        assert!(again.new_cookie.is_none());
        assert_eq!(again.form_token, a.form_token);
    }
}
