//! Environment → [`Settings`]. Every variable the frontend reads is named here and nowhere else.

pub mod hosts;
pub mod limits;
pub mod proxies;

use std::net::IpAddr;

use secrecy::SecretString;

use service_kit::env::{ANY_HOST, LOCALHOST};
pub use service_kit::{ConfigError, Env};

pub use hosts::AllowedHosts;
pub use limits::Limits;
pub use proxies::TrustedProxies;

/// The log filter, read by `service_kit::cli` (a test keeps the two equal); named here as a literal so that
/// every variable lives in this file.
pub const LOG_ENV: &str = "RUST_LOG";

const HOST_ENV: &str = "HOST";
pub(crate) const PORT_ENV: &str = "PORT";
const BACKEND_API_URL_ENV: &str = "BACKEND_API_URL";
const SECRET_KEY_ENV: &str = "SECRET_KEY";
pub(crate) const METRICS_PORT_ENV: &str = "METRICS_PORT";
const ALLOWED_HOSTS_ENV: &str = "ALLOWED_HOSTS";
const TRUSTED_PROXIES_ENV: &str = "TRUSTED_PROXIES";

const DEFAULT_PORT: u16 = 8080;
const DEFAULT_BACKEND_API_URL: &str = "http://backend-api:5000";
/// One above the backend's 9090, so that both services run side by side on one host with their defaults.
const DEFAULT_METRICS_PORT: u16 = 9091;
/// Every documented way to reach the UI: localhost:30080 (kind, compose, `deploy.sh local`), the loopback
/// addresses, and the Kubernetes Service `frontend` in its namespace. Ports are not compared (see [`crate::http::hosts`]).
const DEFAULT_ALLOWED_HOSTS: &str = "localhost,127.0.0.1,[::1],frontend,frontend.task-manager,\
frontend.task-manager.svc,frontend.task-manager.svc.cluster.local";
/// Shorter keys make the HMAC on the cookies guessable in practice.
const MIN_SECRET_KEY_LEN: usize = 16;

/// The frontend's settings, read once at start. Debug shows no secret (`secret_key` is a `SecretString`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: IpAddr,
    /// 0 binds a free port (tests).
    pub port: u16,
    /// Base URL of the backend API, without a trailing slash.
    pub backend_api_url: String,
    /// Signs the CSRF and flash cookies. `None`: a random key per process (fine for one replica only).
    pub secret_key: Option<SecretString>,
    /// Where `/metrics` is served, apart from the UI (0: a free port, in tests).
    pub metrics_port: u16,
    /// The `Host` names the UI answers to.
    pub allowed_hosts: AllowedHosts,
    /// Proxies whose `X-Forwarded-Proto` is believed (none by default).
    pub trusted_proxies: TrustedProxies,
    /// Body deadline and upload cap (fixed in production; tests shorten them).
    pub limits: Limits,
    /// Install SIGTERM/SIGINT handlers (the binary does; servers started inside tests do not).
    pub handle_signals: bool,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let host = env.host_or(HOST_ENV, ANY_HOST)?;
        let port = env.port_or(PORT_ENV, DEFAULT_PORT)?;
        let metrics_port = env.port_or(METRICS_PORT_ENV, DEFAULT_METRICS_PORT)?;
        if metrics_port != 0 && metrics_port == port {
            return Err(ConfigError::new(
                METRICS_PORT_ENV,
                format!("a port other than PORT ({port}): metrics stay off the UI's port"),
            ));
        }
        let allowed_hosts = AllowedHosts::parse(
            &env.get(ALLOWED_HOSTS_ENV)
                .unwrap_or_else(|| DEFAULT_ALLOWED_HOSTS.to_owned()),
        )
        .map_err(|e| ConfigError::new(ALLOWED_HOSTS_ENV, e))?;
        let trusted_proxies =
            TrustedProxies::parse(&env.get(TRUSTED_PROXIES_ENV).unwrap_or_default())
                .map_err(|e| ConfigError::new(TRUSTED_PROXIES_ENV, e))?;
        let backend_api_url = parse_backend_url(
            &env.get(BACKEND_API_URL_ENV)
                .unwrap_or_else(|| DEFAULT_BACKEND_API_URL.to_owned()),
        )?;
        let secret_key = match env.get(SECRET_KEY_ENV) {
            None => None,
            Some(key) if key.chars().count() < MIN_SECRET_KEY_LEN => {
                return Err(ConfigError::new(
                    SECRET_KEY_ENV,
                    format!("at least {MIN_SECRET_KEY_LEN} characters (or unset, for a random per-process key)"),
                ))
            }
            Some(key) => Some(SecretString::from(key)),
        };
        Ok(Settings {
            host,
            port,
            backend_api_url,
            secret_key,
            metrics_port,
            allowed_hosts,
            trusted_proxies,
            limits: Limits::default(),
            handle_signals: true,
        })
    }

    /// Settings for a server on 127.0.0.1 and a free port, as tests and benchmarks want it: a fixed key,
    /// no signal handlers.
    pub fn local(backend_api_url: &str) -> Self {
        Settings {
            host: LOCALHOST,
            port: 0,
            backend_api_url: backend_api_url.trim_end_matches('/').to_owned(),
            secret_key: Some(SecretString::from(
                "test-only-secret-key-not-for-production",
            )),
            metrics_port: 0,
            allowed_hosts: AllowedHosts::parse(DEFAULT_ALLOWED_HOSTS).expect("valid defaults"),
            trusted_proxies: TrustedProxies::default(),
            limits: Limits::default(),
            handle_signals: false,
        }
    }
}

/// The port `frontend healthcheck` probes: the same `PORT` the server listens on.
pub fn healthcheck_port() -> Result<u16, ConfigError> {
    Env::process().port_or(PORT_ENV, DEFAULT_PORT)
}

fn parse_backend_url(raw: &str) -> Result<String, ConfigError> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| {
        ConfigError::new(
            BACKEND_API_URL_ENV,
            format!("an http:// URL, not {raw:?} ({e})"),
        )
    })?;
    // The client is built without TLS: in-cluster traffic is plain HTTP.
    if url.scheme() != "http" || url.host_str().is_none() {
        return Err(ConfigError::new(
            BACKEND_API_URL_ENV,
            format!("an http://host[:port] URL, not {raw:?}"),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_lookup(service_kit::env::lookup_in(pairs))
    }

    #[test]
    fn defaults_match_the_original_deployment() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.host.to_string(), "0.0.0.0");
        assert_eq!(s.port, 8080);
        assert_eq!(s.backend_api_url, "http://backend-api:5000");
        assert!(s.secret_key.is_none());
        assert_eq!(s.metrics_port, 9091);
        assert!(s.allowed_hosts.allows("localhost:30080"));
        assert!(s.allowed_hosts.allows("frontend:8080"));
        assert!(!s.allowed_hosts.allows("rebind.example:30080"));
        assert_eq!(s.trusted_proxies, TrustedProxies::default());
    }

    #[test]
    fn reads_every_variable() {
        let s = settings(&[
            ("HOST", "127.0.0.1"),
            ("PORT", "9000"),
            ("BACKEND_API_URL", "http://localhost:5001/"),
            ("SECRET_KEY", "0123456789abcdef0123"),
            ("METRICS_PORT", "9100"),
            ("ALLOWED_HOSTS", "tasks.example.org"),
            ("TRUSTED_PROXIES", "10.0.0.0/8"),
        ])
        .unwrap();
        assert_eq!(s.metrics_port, 9100);
        assert!(s.allowed_hosts.allows("tasks.example.org:443"));
        assert!(!s.allowed_hosts.allows("localhost"));
        assert!(s.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        assert_eq!((s.host.to_string().as_str(), s.port), ("127.0.0.1", 9000));
        assert_eq!(s.backend_api_url, "http://localhost:5001");
        assert_eq!(
            s.secret_key.as_ref().map(ExposeSecret::expose_secret),
            Some("0123456789abcdef0123")
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("PORT", "eighty", "PORT must be a port number"),
            ("PORT", "70000", "PORT must be a port number"),
            ("METRICS_PORT", "x", "METRICS_PORT must be a port number"),
            (
                "METRICS_PORT",
                "8080",
                "METRICS_PORT must be a port other than PORT",
            ),
            (
                "BACKEND_API_URL",
                "backend:5000",
                "BACKEND_API_URL must be an http",
            ),
            (
                "BACKEND_API_URL",
                "https://backend",
                "BACKEND_API_URL must be an http://host",
            ),
            ("SECRET_KEY", "short", "SECRET_KEY must be at least 16"),
            ("HOST", " ", "HOST must be an address"),
            ("ALLOWED_HOSTS", " , ", "ALLOWED_HOSTS must be"),
            ("TRUSTED_PROXIES", "10.0.0.0/99", "TRUSTED_PROXIES must be"),
        ];
        for (var, value, expected) in cases {
            let err = settings(&[(var, value)]).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("invalid configuration: {expected}")),
                "{var}={value:?} gave {err:?}"
            );
            assert!(!err.contains('\n'), "one line: {err:?}");
        }
    }

    #[test]
    fn the_log_filter_is_the_variable_service_kit_reads() {
        assert_eq!(LOG_ENV, service_kit::cli::RUST_LOG);
    }

    #[test]
    fn debug_output_hides_the_secret_key() {
        let s = settings(&[("SECRET_KEY", "super-secret-value-123")]).unwrap();
        assert!(!format!("{s:?}").contains("super-secret"));
    }
}
