//! Environment → [`Settings`]. Every variable the frontend reads is named here and nowhere else.

use std::fmt;

/// Where the log filter comes from (read by `main` through env_logger).
pub const LOG_ENV: &str = "RUST_LOG";

const HOST_ENV: &str = "HOST";
const PORT_ENV: &str = "PORT";
const BACKEND_API_URL_ENV: &str = "BACKEND_API_URL";
const SECRET_KEY_ENV: &str = "SECRET_KEY";

const DEFAULT_HOST: &str = "0.0.0.0";
const DEFAULT_PORT: u16 = 8080;
const DEFAULT_BACKEND_API_URL: &str = "http://backend-api:5000";
/// Shorter keys make the HMAC on the cookies guessable in practice.
const MIN_SECRET_KEY_LEN: usize = 16;

/// The frontend's settings, read once at start.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub host: String,
    /// 0 binds a free port (tests).
    pub port: u16,
    /// Base URL of the backend API, without a trailing slash.
    pub backend_api_url: String,
    /// Signs the CSRF and flash cookies. `None`: a random key per process (fine for one replica only).
    pub secret_key: Option<String>,
}

// By hand so that the secret key never reaches a log line.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("backend_api_url", &self.backend_api_url)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// A bad environment variable: the message names it and says what it expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let host = lookup(HOST_ENV).unwrap_or_else(|| DEFAULT_HOST.to_owned());
        if host.trim().is_empty() {
            return Err(bad(
                HOST_ENV,
                "expected an address to listen on, such as 0.0.0.0",
            ));
        }
        let port = match lookup(PORT_ENV) {
            None => DEFAULT_PORT,
            Some(raw) => raw.trim().parse::<u16>().map_err(|_| {
                bad(
                    PORT_ENV,
                    format!("expected a port number 0-65535, got {raw:?}"),
                )
            })?,
        };
        let backend_api_url = parse_backend_url(
            &lookup(BACKEND_API_URL_ENV).unwrap_or_else(|| DEFAULT_BACKEND_API_URL.to_owned()),
        )?;
        let secret_key = match lookup(SECRET_KEY_ENV) {
            None => None,
            Some(key) if key.chars().count() < MIN_SECRET_KEY_LEN => {
                return Err(bad(
                    SECRET_KEY_ENV,
                    format!("expected at least {MIN_SECRET_KEY_LEN} characters (or leave it unset for a random per-process key)"),
                ))
            }
            Some(key) => Some(key),
        };
        Ok(Settings {
            host,
            port,
            backend_api_url,
            secret_key,
        })
    }

    /// Settings for an in-process test server: 127.0.0.1 on a free port, a fixed key.
    pub fn for_tests(backend_api_url: &str) -> Self {
        Settings {
            host: "127.0.0.1".to_owned(),
            port: 0,
            backend_api_url: backend_api_url.trim_end_matches('/').to_owned(),
            secret_key: Some("test-only-secret-key-not-for-production".to_owned()),
        }
    }
}

/// The port `frontend healthcheck` probes: the same `PORT` the server listens on.
pub fn healthcheck_port() -> Result<u16, ConfigError> {
    Settings::from_lookup(|name| {
        if name == PORT_ENV {
            std::env::var(name).ok()
        } else {
            None
        }
    })
    .map(|s| s.port)
}

fn parse_backend_url(raw: &str) -> Result<String, ConfigError> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| {
        bad(
            BACKEND_API_URL_ENV,
            format!("expected an http:// URL, got {raw:?} ({e})"),
        )
    })?;
    // The client is built without TLS: in-cluster traffic is plain HTTP.
    if url.scheme() != "http" || url.host_str().is_none() {
        return Err(bad(
            BACKEND_API_URL_ENV,
            format!("expected an http://host[:port] URL, got {raw:?}"),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn bad(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_original_deployment() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.host, "0.0.0.0");
        assert_eq!(s.port, 8080);
        assert_eq!(s.backend_api_url, "http://backend-api:5000");
        assert_eq!(s.secret_key, None);
    }

    #[test]
    fn reads_every_variable() {
        let s = settings(&[
            ("HOST", "127.0.0.1"),
            ("PORT", "9000"),
            ("BACKEND_API_URL", "http://localhost:5001/"),
            ("SECRET_KEY", "0123456789abcdef0123"),
        ])
        .unwrap();
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 9000));
        assert_eq!(s.backend_api_url, "http://localhost:5001");
        assert_eq!(s.secret_key.as_deref(), Some("0123456789abcdef0123"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("PORT", "eighty", "PORT: expected a port number"),
            ("PORT", "70000", "PORT: expected a port number"),
            (
                "BACKEND_API_URL",
                "backend:5000",
                "BACKEND_API_URL: expected an http",
            ),
            (
                "BACKEND_API_URL",
                "https://backend",
                "BACKEND_API_URL: expected an http://host",
            ),
            ("SECRET_KEY", "short", "SECRET_KEY: expected at least 16"),
            ("HOST", " ", "HOST: expected an address"),
        ];
        for (var, value, expected) in cases {
            let err = settings(&[(var, value)]).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{var}={value:?} gave {err:?}");
            assert!(!err.contains('\n'), "one line: {err:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_secret_key() {
        let s = settings(&[("SECRET_KEY", "super-secret-value-123")]).unwrap();
        assert!(!format!("{s:?}").contains("super-secret"));
    }
}
