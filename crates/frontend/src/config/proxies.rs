//! `TRUSTED_PROXIES`: the proxies whose `X-Forwarded-Proto` is believed, a comma list of IPs or CIDRs
//! (empty by default). [`crate::http::https`] uses it.

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-Proto` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `TRUSTED_PROXIES`: `10.244.0.0/16, 127.0.0.1` (empty: none); an address alone is its own /32 or /128.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("a comma list of IP addresses or CIDRs such as 10.244.0.0/16, not {item:?}")
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    /// Whether `ip` (an IPv4-mapped IPv6 address counts as IPv4) is in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_match_by_address_or_prefix() {
        let trusted = TrustedProxies::parse("10.244.0.0/16, 127.0.0.1, fd00::/8").unwrap();
        for ok in ["10.244.3.7", "127.0.0.1", "::ffff:127.0.0.1", "fd12::1"] {
            assert!(trusted.contains(ok.parse().unwrap()), "{ok}");
        }
        for no in ["10.245.0.1", "127.0.0.2", "::1", "fe80::1"] {
            assert!(!trusted.contains(no.parse().unwrap()), "{no}");
        }
        assert!(!TrustedProxies::default().contains("127.0.0.1".parse().unwrap()));
        assert!(TrustedProxies::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "proxy", "::1/129"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }
}
