//! One-shot messages shown on the page after a redirect ("Task "X" added!").
//!
//! Carried in a sealed cookie (see [`crate::cookies::key`]), so any replica can show what another
//! set and nobody else can plant one; removed once shown.

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::HttpRequest;
use serde::{Deserialize, Serialize};

use crate::cookies::key::CookieKey;

pub const COOKIE: &str = "taskmgr_flash";
/// How long a message waits for the page after the redirect.
const LIFETIME: Duration = Duration::minutes(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

impl Flash {
    pub fn success(message: impl Into<String>) -> Self {
        Flash {
            kind: FlashKind::Success,
            message: message.into(),
        }
    }

    pub fn info(message: impl Into<String>) -> Self {
        Flash {
            kind: FlashKind::Info,
            message: message.into(),
        }
    }

    /// The cookie that carries this message to the next page.
    pub fn to_cookie(&self, key: &CookieKey) -> Cookie<'static> {
        let json = serde_json::to_string(self).expect("a flash serializes");
        key.seal(base_cookie(json).max_age(LIFETIME).finish())
    }
}

/// The message waiting in `req` (if it was sealed with our key), and the cookie that removes it once
/// shown; a stale or forged cookie is removed without showing anything.
pub fn take(req: &HttpRequest, key: &CookieKey) -> (Option<Flash>, Option<Cookie<'static>>) {
    let Some(cookie) = req.cookie(COOKIE) else {
        return (None, None);
    };
    let mut removal = base_cookie(String::new()).finish();
    removal.make_removal();
    let flash = key
        .open(cookie)
        .and_then(|json| serde_json::from_str(&json).ok());
    (flash, Some(removal))
}

fn base_cookie(value: String) -> actix_web::cookie::CookieBuilder<'static> {
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn a_flash_survives_one_redirect() {
        let key = CookieKey::new(Some("a-shared-secret-key"));
        let cookie = Flash::success("Task \"é <b>\" added!").to_cookie(&key);
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.max_age(), Some(Duration::minutes(5)));
        let req = TestRequest::default().cookie(cookie).to_http_request();
        let (flash, removal) = take(&req, &key);
        assert_eq!(flash, Some(Flash::success("Task \"é <b>\" added!")));
        assert_eq!(removal.unwrap().max_age(), Some(Duration::ZERO));
    }

    #[test]
    fn a_forged_flash_is_ignored() {
        let key = CookieKey::new(Some("a-shared-secret-key"));
        let forged =
            Flash::success("phish").to_cookie(&CookieKey::new(Some("the-attackers-key!!")));
        let req = TestRequest::default().cookie(forged).to_http_request();
        let (flash, removal) = take(&req, &key);
        assert_eq!(flash, None);
        assert!(removal.is_some(), "the forged cookie is removed");
    }
}
