//! Reading settings from the environment: one error type for a bad value, one exit code for it, one parser
//! per kind of value (port, listen address, number).

use std::net::IpAddr;
use std::str::FromStr;

/// The exit code of a service that refuses to start because of a bad setting (`EX_USAGE`-like: distinct from
/// 1, a failure while running).
pub const EXIT_BAD_SETTING: u8 = 2;

/// What every port variable must be.
pub const PORT_EXPECTED: &str = "a port number 0-65535";
/// What every listen-address variable must be.
pub const HOST_EXPECTED: &str = "an address to listen on: an IP such as 0.0.0.0";

/// A bad environment variable, in one line: `invalid configuration: PORT must be a port number 0-65535`.
/// `expected` never quotes a value that may be secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {variable} must be {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub expected: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, expected: impl Into<String>) -> Self {
        ConfigError {
            variable,
            expected: expected.into(),
        }
    }
}

/// A source of variables: the process environment, or a map in tests. An empty value counts as unset
/// (what `VAR=` in a compose file or a manifest means).
pub struct Env<L> {
    lookup: L,
}

impl Env<fn(&str) -> Option<String>> {
    /// The process environment.
    pub fn process() -> Self {
        Env::new(|name| std::env::var(name).ok())
    }
}

/// A lookup over fixed `(name, value)` pairs, as tests give settings: a name given twice takes its last value.
pub fn lookup_in<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        let found = pairs.iter().rev().find(|(k, _)| *k == name);
        found.map(|(_, v)| v.to_string())
    }
}

impl<L: Fn(&str) -> Option<String>> Env<L> {
    pub fn new(lookup: L) -> Self {
        Env { lookup }
    }

    /// The variable's value, `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.is_empty())
    }

    /// The variable's value, which must be set.
    pub fn require(&self, name: &'static str, expected: &str) -> Result<String, ConfigError> {
        self.get(name)
            .ok_or_else(|| ConfigError::new(name, expected))
    }

    /// The variable parsed as `T` (surrounding spaces ignored), `default` when unset.
    pub fn parse_or<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| ConfigError::new(name, expected)),
        }
    }

    /// A TCP port (0 asks the OS for a free one: tests).
    pub fn port_or(&self, name: &'static str, default: u16) -> Result<u16, ConfigError> {
        self.parse_or(name, default, PORT_EXPECTED)
    }

    /// An IP address to listen on.
    pub fn host_or(&self, name: &'static str, default: IpAddr) -> Result<IpAddr, ConfigError> {
        self.parse_or(name, default, HOST_EXPECTED)
    }
}

/// The listen address when `HOST` is unset: every interface, as a container needs.
pub const ANY_HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
/// The listen address of servers started inside tests and benchmarks.
pub const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(lookup_in(pairs))
    }

    #[test]
    fn unset_and_empty_give_the_default_and_values_are_trimmed() {
        let e = env(&[("EMPTY", ""), ("P", " 81 ")]);
        assert_eq!(e.port_or("UNSET", 5000), Ok(5000));
        assert_eq!(e.port_or("EMPTY", 5000), Ok(5000));
        assert_eq!(e.port_or("P", 5000), Ok(81));
    }

    #[test]
    fn bad_values_give_one_line_naming_the_variable() {
        let e = env(&[("PORT", "70000"), ("HOST", "localhost:80")]);
        assert_eq!(
            e.port_or("PORT", 1).unwrap_err().to_string(),
            "invalid configuration: PORT must be a port number 0-65535"
        );
        assert_eq!(
            e.host_or("HOST", ANY_HOST).unwrap_err().to_string(),
            "invalid configuration: HOST must be an address to listen on: an IP such as 0.0.0.0"
        );
        assert_eq!(
            e.require("SECRET", "set").unwrap_err(),
            ConfigError::new("SECRET", "set")
        );
    }
}
