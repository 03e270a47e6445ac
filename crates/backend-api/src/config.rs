//! Environment → [`Settings`]. Every variable the backend reads is named here and nowhere else
//! (the Kubernetes consistency test greps this file for them).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use service_kit::env::{ANY_HOST, LOCALHOST};
pub use service_kit::{ConfigError, Env};
use url::Url;

pub const HOST: &str = "HOST";
pub const PORT: &str = "PORT";
pub const METRICS_PORT: &str = "METRICS_PORT";
pub const DATABASE_URL: &str = "DATABASE_URL";
pub const POSTGRES_HOST: &str = "POSTGRES_HOST";
pub const POSTGRES_PORT: &str = "POSTGRES_PORT";
pub const POSTGRES_DB: &str = "POSTGRES_DB";
pub const POSTGRES_USER: &str = "POSTGRES_USER";
pub const POSTGRES_PASSWORD: &str = "POSTGRES_PASSWORD";
pub const DB_POOL_SIZE: &str = "DB_POOL_SIZE";
pub const DB_POOL_TIMEOUT_MS: &str = "DB_POOL_TIMEOUT_MS";
pub const DB_STATEMENT_TIMEOUT_MS: &str = "DB_STATEMENT_TIMEOUT_MS";
/// The log filter, read by `service_kit::cli` (a test keeps the two equal); named here as a literal so that
/// every variable lives in this file, where the Kubernetes consistency test finds them.
pub const RUST_LOG: &str = "RUST_LOG";

/// Everything the server needs to start. Build it with [`Settings::from_env`] or by hand (tests).
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: IpAddr,
    /// 0 asks the OS for a free port (tests).
    pub port: u16,
    /// Where `/metrics` is served (same host); 0 asks the OS for a free port (tests).
    pub metrics_port: u16,
    pub database_url: DatabaseUrl,
    pub pool_size: u32,
    /// How long a request waits for a pool connection before it gets a 503.
    pub pool_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every pool connection: the longest a query holds one.
    pub statement_timeout: Duration,
    /// How long start-up waits for the database in all before giving up.
    pub db_wait: Duration,
    /// HTTP worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// Install SIGTERM/SIGINT handlers (the binary does; servers spawned inside tests do not).
    pub handle_signals: bool,
}

impl Settings {
    pub const DEFAULT_PORT: u16 = 5000;
    pub const DEFAULT_METRICS_PORT: u16 = 9090;
    /// The most connections the default pool opens, whatever the number of CPUs.
    pub const MAX_DEFAULT_POOL_SIZE: u32 = 10;
    pub const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_millis(2000);
    /// Far above any ordinary query (milliseconds), short enough that a runaway search frees its
    /// connection before clients and probes give up.
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_millis(5000);
    pub const DEFAULT_DB_WAIT: Duration = Duration::from_secs(30);

    /// Settings for a server on 127.0.0.1 and a free port, as tests and benchmarks want it.
    pub fn local(database_url: impl Into<String>) -> Self {
        Settings {
            host: LOCALHOST,
            port: 0,
            metrics_port: 0,
            database_url: DatabaseUrl::new(database_url),
            pool_size: default_pool_size(),
            pool_timeout: Self::DEFAULT_POOL_TIMEOUT,
            statement_timeout: Self::DEFAULT_STATEMENT_TIMEOUT,
            db_wait: Self::DEFAULT_DB_WAIT,
            workers: None,
            handle_signals: false,
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let host = env.host_or(HOST, ANY_HOST)?;
        let port = env.port_or(PORT, Self::DEFAULT_PORT)?;
        let metrics_port = env.port_or(METRICS_PORT, Self::DEFAULT_METRICS_PORT)?;
        if metrics_port == port && port != 0 {
            return Err(ConfigError::new(
                METRICS_PORT,
                format!("a port other than {PORT} ({port})"),
            ));
        }
        let pool_size: u32 =
            env.parse_or(DB_POOL_SIZE, default_pool_size(), "a whole number 1-1000")?;
        if !(1..=1000).contains(&pool_size) {
            return Err(ConfigError::new(DB_POOL_SIZE, "a whole number 1-1000"));
        }
        let pool_timeout = millis_or(&env, DB_POOL_TIMEOUT_MS, Self::DEFAULT_POOL_TIMEOUT)?;
        let statement_timeout = millis_or(
            &env,
            DB_STATEMENT_TIMEOUT_MS,
            Self::DEFAULT_STATEMENT_TIMEOUT,
        )?;
        let database_url = match env.get(DATABASE_URL) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => url,
            Some(_) => {
                return Err(ConfigError::new(
                    DATABASE_URL,
                    "a URL starting with postgres://",
                ))
            }
            None => url_from_parts(&env)?,
        };
        Ok(Settings {
            host,
            port,
            metrics_port,
            database_url: DatabaseUrl::new(database_url),
            pool_size,
            pool_timeout,
            statement_timeout,
            db_wait: Self::DEFAULT_DB_WAIT,
            workers: None,
            handle_signals: true,
        })
    }
}

/// `DB_POOL_SIZE` when unset: twice the CPUs this process may use (its cgroup quota counts, so a pod limited
/// to 500m gets 2), at most [`Settings::MAX_DEFAULT_POOL_SIZE`]. More connections than the cores can serve
/// only queue inside PostgreSQL and lengthen the tail (HikariCP's "About Pool Sizing": cores × 2 + spindles).
pub fn default_pool_size() -> u32 {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    pool_size_for(cpus)
}

fn pool_size_for(cpus: usize) -> u32 {
    u32::try_from(cpus.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .clamp(1, Settings::MAX_DEFAULT_POOL_SIZE)
}

/// Just `PORT`, for the `healthcheck` subcommand (which needs no database settings).
pub fn healthcheck_port() -> Result<u16, ConfigError> {
    Env::process().port_or(PORT, Settings::DEFAULT_PORT)
}

/// `postgres://user:password@host:port/db` from the `POSTGRES_*` variables (as Kubernetes passes them),
/// each part percent-encoded by `url`.
fn url_from_parts<L: Fn(&str) -> Option<String>>(env: &Env<L>) -> Result<String, ConfigError> {
    let host = env
        .get(POSTGRES_HOST)
        .unwrap_or_else(|| "postgres".to_owned());
    let port: u16 = env.parse_or(POSTGRES_PORT, 5432, "a port number 1-65535")?;
    let required = format!("set when {DATABASE_URL} is unset");
    let db = env.require(POSTGRES_DB, &required)?;
    let user = env.require(POSTGRES_USER, &required)?;
    let password = env.get(POSTGRES_PASSWORD).map(SecretString::from);
    let mut url = Url::parse(&format!("postgres://{host}"))
        .ok()
        .filter(|url| url.host_str() == Some(host.as_str()) && url.path().is_empty())
        .ok_or_else(|| ConfigError::new(POSTGRES_HOST, "a host name or IP address"))?;
    // On a URL with a host, none of these setters can fail.
    let _ = url.set_port(Some(port));
    let _ = url.set_username(&user);
    let password = password.as_ref().map(ExposeSecret::expose_secret);
    let _ = url.set_password(password.filter(|p| !p.is_empty()));
    url.path_segments_mut()
        .expect("a postgres:// URL with a host has a path")
        .push(&db);
    Ok(url.into())
}

/// A duration in whole milliseconds, 1 ms to 10 minutes.
fn millis_or<L: Fn(&str) -> Option<String>>(
    env: &Env<L>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    const EXPECTED: &str = "milliseconds, 1-600000";
    let ms: u64 = env.parse_or(name, default.as_millis() as u64, EXPECTED)?;
    if !(1..=600_000).contains(&ms) {
        return Err(ConfigError::new(name, EXPECTED));
    }
    Ok(Duration::from_millis(ms))
}

/// A connection URL that never prints its password: the URL is a `SecretString` (its own Debug shows
/// `[REDACTED]`), and Debug and Display show [`masked`] instead.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(SecretString::from(url.into()))
    }

    /// The real URL, for the driver only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&masked(self.expose()))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// What an unparsable URL shows: libpq takes URLs `url` cannot parse (several hosts,
/// `postgres://h1:5432,h2:5432/db`), and any part of one may hold the password.
const HIDDEN_URL: &str = "postgres://*** (not shown: not a URL with one host)";

/// The URL with every password replaced by `***`: the one in the userinfo
/// (`postgres://user:secret@host/db`) and any `password` query parameter (`...?password=secret`),
/// which libpq reads too, percent-decoding its name as it does. A URL `url` cannot parse is hidden whole.
fn masked(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else {
        return HIDDEN_URL.to_owned();
    };
    if url.password().is_some() && url.set_password(Some("***")).is_err() {
        return HIDDEN_URL.to_owned();
    }
    if let Some(query) = url.query() {
        let params: Vec<String> = query
            .split('&')
            .map(|param| {
                let (key, _) = url::form_urlencoded::parse(param.as_bytes())
                    .next()
                    .unwrap_or_default();
                match param.split_once('=') {
                    Some((raw_key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{raw_key}=***")
                    }
                    _ => param.to_owned(),
                }
            })
            .collect();
        url.set_query(Some(&params.join("&")));
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_lookup(service_kit::env::lookup_in(pairs))
    }

    #[test]
    fn the_log_filter_is_the_variable_service_kit_reads() {
        assert_eq!(RUST_LOG, service_kit::cli::RUST_LOG);
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = settings(&[(DATABASE_URL, "postgres://u@h/d")]).unwrap();
        assert_eq!(s.host.to_string(), "0.0.0.0");
        assert_eq!(s.port, 5000);
        assert_eq!(s.metrics_port, 9090);
        assert_eq!(s.pool_size, default_pool_size());
        assert_eq!(
            settings(&[(DATABASE_URL, "postgres://u@h/d"), (DB_POOL_SIZE, "7")])
                .unwrap()
                .pool_size,
            7,
            "DB_POOL_SIZE overrides"
        );
        assert_eq!(s.pool_timeout, Duration::from_millis(2000));
        assert_eq!(s.statement_timeout, Duration::from_millis(5000));
        let s = settings(&[
            (DATABASE_URL, "postgres://u@h/d"),
            (DB_STATEMENT_TIMEOUT_MS, "250"),
        ])
        .unwrap();
        assert_eq!(s.statement_timeout, Duration::from_millis(250));
        assert!(s.handle_signals);
    }

    #[test]
    fn the_default_pool_is_twice_the_cpus_at_most_ten() {
        assert_eq!(pool_size_for(1), 2);
        assert_eq!(pool_size_for(2), 4);
        assert_eq!(pool_size_for(5), 10);
        assert_eq!(pool_size_for(64), 10);
        let cpus = std::thread::available_parallelism().unwrap().get();
        assert_eq!(default_pool_size(), (cpus as u32 * 2).min(10));
    }

    #[test]
    fn url_is_built_from_postgres_variables_when_database_url_is_unset() {
        let s = settings(&[
            (POSTGRES_DB, "tasks"),
            (POSTGRES_USER, "app"),
            (POSTGRES_PASSWORD, "p@ss:w/rd"),
        ])
        .unwrap();
        assert_eq!(
            s.database_url.expose(),
            "postgres://app:p%40ss%3Aw%2Frd@postgres:5432/tasks"
        );
        let s = settings(&[
            (POSTGRES_HOST, "db"),
            (POSTGRES_PORT, "6543"),
            (POSTGRES_DB, "t"),
            (POSTGRES_USER, "u"),
        ])
        .unwrap();
        assert_eq!(s.database_url.expose(), "postgres://u@db:6543/t");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            (PORT, "http"),
            (PORT, "70000"),
            (METRICS_PORT, "5000"),
            (METRICS_PORT, "x"),
            (HOST, "localhost:80"),
            (DB_POOL_SIZE, "0"),
            (DB_POOL_SIZE, "ten"),
            (DB_POOL_TIMEOUT_MS, "-5"),
            (DB_STATEMENT_TIMEOUT_MS, "0"),
            (DB_STATEMENT_TIMEOUT_MS, "5s"),
            (DATABASE_URL, "mysql://x"),
        ] {
            let err = settings(&[(DATABASE_URL, "postgres://u@h/d"), (var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}");
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid configuration: {var} must be")),
                "{err}"
            );
            assert!(!err.to_string().contains('\n'));
        }
        let err = settings(&[(POSTGRES_USER, "u")]).unwrap_err();
        assert_eq!(err.variable, POSTGRES_DB);
        assert_eq!(
            err.to_string(),
            "invalid configuration: POSTGRES_DB must be set when DATABASE_URL is unset"
        );
        // The password is optional: a role without one (trust or peer authentication) is fine.
        let s = settings(&[(POSTGRES_DB, "d"), (POSTGRES_USER, "u")]).unwrap();
        assert_eq!(s.database_url.expose(), "postgres://u@postgres:5432/d");
    }

    #[test]
    fn passwords_are_masked_when_printed() {
        let url = DatabaseUrl::new("postgres://app:hunter2@db:5432/tasks");
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/tasks");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(
            DatabaseUrl::new("postgres://app@db/tasks").to_string(),
            "postgres://app@db/tasks"
        );
    }

    #[test]
    fn passwords_in_query_parameters_are_masked_too() {
        for (url, shown) in [
            (
                "postgres://u@h/db?password=secret",
                "postgres://u@h/db?password=***",
            ),
            (
                "postgresql://h:5432/db?user=u&password=secret&sslmode=require",
                "postgresql://h:5432/db?user=u&password=***&sslmode=require",
            ),
            (
                "postgres://u@h/db?PASSWORD=secret",
                "postgres://u@h/db?PASSWORD=***",
            ),
            (
                "postgres://u@h/db?pass%77ord=secret",
                "postgres://u@h/db?pass%77ord=***",
            ),
            (
                "postgres://u:secret@h/db?password=secret",
                "postgres://u:***@h/db?password=***",
            ),
            // An `@` in the query is not the end of a userinfo.
            (
                "postgres://h/db?password=se@cret",
                "postgres://h/db?password=***",
            ),
        ] {
            let url = DatabaseUrl::new(url);
            assert_eq!(url.to_string(), shown);
            assert!(!format!("{url:?}").contains("secret"), "{url:?}");
        }
    }

    #[test]
    fn urls_that_url_cannot_parse_are_hidden_whole() {
        for raw in [
            "postgres://u:secret@h1:5432,h2:5433/db",
            "postgresql://u:secret@[::1:5432/db",
        ] {
            let url = DatabaseUrl::new(raw);
            assert_eq!(url.to_string(), HIDDEN_URL);
            assert!(!format!("{url:?}").contains("secret"), "{url:?}");
            assert_eq!(url.expose(), raw, "the driver still gets the URL as given");
        }
    }
}
