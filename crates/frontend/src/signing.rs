//! HMAC-SHA256 signatures for the cookies the browser carries back (CSRF, flash).
//!
//! Every replica that shares `SECRET_KEY` accepts what another signed. Each use has its own
//! `purpose`, so a value signed for one cookie is never accepted as another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Signs and verifies short values with the process's key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// A signer for `secret`, or for a fresh random key when there is none.
    pub fn new(secret: Option<&str>) -> Self {
        let key = match secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => random_bytes::<32>().to_vec(),
        };
        Signer { key }
    }

    /// The MAC of `value` for `purpose`, base64url.
    pub fn mac(&self, purpose: &str, value: &[u8]) -> String {
        B64.encode(self.hmac(purpose, value).finalize().into_bytes())
    }

    /// Whether `mac` (base64url) is the MAC of `value` for `purpose`; compared in constant time.
    pub fn verify_mac(&self, purpose: &str, value: &[u8], mac: &str) -> bool {
        match B64.decode(mac) {
            Ok(bytes) => self.hmac(purpose, value).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    /// `value` and its MAC as one cookie-safe string: `base64url(value).base64url(mac)`.
    pub fn sign(&self, purpose: &str, value: &[u8]) -> String {
        format!("{}.{}", B64.encode(value), self.mac(purpose, value))
    }

    /// The value inside a string made by [`Signer::sign`], if its signature holds.
    pub fn unsign(&self, purpose: &str, signed: &str) -> Option<Vec<u8>> {
        let (value, mac) = signed.split_once('.')?;
        let value = B64.decode(value).ok()?;
        self.verify_mac(purpose, &value, mac).then_some(value)
    }

    fn hmac(&self, purpose: &str, value: &[u8]) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value);
        mac
    }
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes
}

/// A random base64url token of `N` bytes.
pub fn random_token<const N: usize>() -> String {
    B64.encode(random_bytes::<N>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_round_trip_and_resist_tampering() {
        let signer = Signer::new(Some("a-shared-secret-key"));
        let signed = signer.sign("flash", b"hello");
        assert_eq!(
            signer.unsign("flash", &signed).as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(
            signer.unsign("csrf", &signed),
            None,
            "a value signed for one purpose is not valid for another"
        );
        let (_, mac) = signed.split_once('.').unwrap();
        let forged = format!("{}.{mac}", B64.encode(b"hellp"));
        assert_eq!(signer.unsign("flash", &forged), None);
        assert_eq!(signer.unsign("flash", "garbage"), None);
    }

    #[test]
    fn replicas_sharing_the_key_accept_each_other() {
        let a = Signer::new(Some("a-shared-secret-key"));
        let b = Signer::new(Some("a-shared-secret-key"));
        let other = Signer::new(Some("another-secret-key!"));
        let signed = a.sign("csrf", b"token");
        assert!(b.unsign("csrf", &signed).is_some());
        assert!(other.unsign("csrf", &signed).is_none());
    }

    #[test]
    fn random_keys_differ_per_process() {
        let a = Signer::new(None);
        let b = Signer::new(None);
        assert!(b.unsign("csrf", &a.sign("csrf", b"x")).is_none());
    }
}
