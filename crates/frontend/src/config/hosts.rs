//! `ALLOWED_HOSTS`: a comma list of names (`localhost`, `[::1]`, `frontend`) compared without the port,
//! or `*` for any. The check itself runs in [`crate::http::hosts`].

use actix_web::http::header::{HeaderMap, HOST};
use actix_web::http::Uri;

/// The names the UI answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    any: bool,
    names: Vec<String>,
}

impl AllowedHosts {
    /// Parses `ALLOWED_HOSTS`; the error says what it expects.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let names: Vec<String> = raw
            .split(',')
            .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Err("a comma list of host names such as localhost,frontend (or *)".to_owned());
        }
        if let Some(bad) = names
            .iter()
            .find(|n| n.contains(['/', '@', ' ']) || (n.contains(':') && !n.starts_with('[')))
        {
            return Err(format!(
                "a comma list of host names without scheme, path or port (such as localhost,frontend), not {bad:?}"
            ));
        }
        Ok(AllowedHosts {
            any: names.iter().any(|n| n == "*"),
            names,
        })
    }

    /// Whether a `Host` header value (`name[:port]`, `[v6][:port]`) names this UI.
    pub fn allows(&self, host: &str) -> bool {
        if self.any {
            return true;
        }
        let name = host_name(host);
        !name.is_empty() && self.names.contains(&name)
    }
}

/// The host a request names: its `Host` header (HTTP/1.1), else its URI's authority (HTTP/2 and
/// absolute-form requests carry it there).
pub fn requested_host(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
}

/// The name part of a `Host` value (or of an origin's authority), lower case, without port or trailing
/// dot; empty when it is malformed.
pub fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, _)) => format!("[{v6}]"),
            None => return String::new(),
        },
        None => host.split(':').next().unwrap_or_default().to_owned(),
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_without_the_port_and_nothing_else_does() {
        let hosts = AllowedHosts::parse("localhost, [::1], Frontend.").unwrap();
        for ok in [
            "localhost",
            "localhost:30080",
            "LOCALHOST.:8080",
            "[::1]:30080",
            "frontend:8080",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "",
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1",
            "[::1",
            "frontend-x",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
        assert!(AllowedHosts::parse("*").unwrap().allows("anything:1"));
        assert!(AllowedHosts::parse("http://localhost").is_err());
        assert!(AllowedHosts::parse("localhost:30080").is_err());
        assert!(AllowedHosts::parse(",").is_err());
    }
}
