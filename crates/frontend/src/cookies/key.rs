//! The key that seals the cookies the browser carries back (CSRF, flash), with the cookie crate's
//! private jar: AES-256-GCM with the cookie's name as associated data, so the browser can neither
//! read nor forge a value, and a value sealed for one cookie is never accepted as another.
//!
//! Every replica that shares `SECRET_KEY` opens what another sealed.

use actix_web::cookie::{Cookie, CookieJar, Key};
use hkdf::Hkdf;
use sha2::Sha256;

/// HKDF's salt: binds the derived key to this one use of `SECRET_KEY`.
const SALT: &[u8] = b"taskmgr-frontend-cookies";

#[derive(Clone)]
pub struct CookieKey(Key);

impl CookieKey {
    /// The key derived from `secret`, or a fresh random one when there is none.
    pub fn new(secret: Option<&str>) -> Self {
        let key = match secret {
            // SECRET_KEY may be as short as 16 characters; HKDF-Extract turns it into the 32-byte
            // pseudorandom key that cookie's HKDF-Expand (`Key::derive_from`) requires.
            Some(secret) => {
                let (prk, _) = Hkdf::<Sha256>::extract(Some(SALT), secret.as_bytes());
                Key::derive_from(&prk)
            }
            None => Key::generate(),
        };
        CookieKey(key)
    }

    /// `cookie` with its value encrypted and authenticated; its attributes are kept.
    pub fn seal(&self, cookie: Cookie<'static>) -> Cookie<'static> {
        let name = cookie.name().to_owned();
        let mut jar = CookieJar::new();
        jar.private_mut(&self.0).add(cookie);
        jar.get(&name).expect("the cookie was just added").clone()
    }

    /// The value inside `cookie`, if it was sealed with this key under this name.
    pub fn open(&self, cookie: Cookie<'static>) -> Option<String> {
        let jar = CookieJar::new();
        let opened = jar.private(&self.0).decrypt(cookie)?;
        Some(opened.value().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(key: &CookieKey, name: &'static str, value: &str) -> Cookie<'static> {
        key.seal(Cookie::new(name, value.to_owned()))
    }

    #[test]
    fn sealed_values_round_trip_and_resist_tampering() {
        let key = CookieKey::new(Some("a-shared-secret-key"));
        let cookie = sealed(&key, "flash", "hello");
        assert!(
            !cookie.value().contains("hello"),
            "the browser cannot read it"
        );
        assert_eq!(key.open(cookie.clone()).as_deref(), Some("hello"));
        let mut renamed = cookie.clone();
        renamed.set_name("csrf");
        assert_eq!(
            key.open(renamed),
            None,
            "a value sealed for one cookie is not valid as another"
        );
        let mut forged = cookie;
        let mut value = forged.value().to_owned();
        let middle = value.len() / 2;
        let flipped = if &value[middle..=middle] == "A" {
            "B"
        } else {
            "A"
        };
        value.replace_range(middle..=middle, flipped);
        forged.set_value(value);
        assert_eq!(key.open(forged), None);
        assert_eq!(key.open(Cookie::new("flash", "garbage")), None);
    }

    #[test]
    fn replicas_sharing_the_key_accept_each_other() {
        let a = CookieKey::new(Some("a-shared-secret-key"));
        let b = CookieKey::new(Some("a-shared-secret-key"));
        let other = CookieKey::new(Some("another-secret-key!"));
        let cookie = sealed(&a, "csrf", "token");
        assert_eq!(b.open(cookie.clone()).as_deref(), Some("token"));
        assert_eq!(other.open(cookie), None);
    }

    #[test]
    fn random_keys_differ_per_process() {
        let a = CookieKey::new(None);
        let b = CookieKey::new(None);
        assert_eq!(b.open(sealed(&a, "csrf", "x")), None);
    }

    #[test]
    fn attributes_survive_sealing() {
        let key = CookieKey::new(Some("0123456789abcdef"));
        let cookie = key.seal(
            Cookie::build("flash", "x")
                .path("/")
                .http_only(true)
                .finish(),
        );
        assert_eq!((cookie.path(), cookie.http_only()), (Some("/"), Some(true)));
    }
}
