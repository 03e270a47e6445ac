//! `TRUSTED_PROXIES`: the proxies whose `X-Forwarded-Proto` is believed, a comma list of IPs or CIDRs
//! (empty by default). [`crate::http::https`] uses it.

use std::net::IpAddr;

/// The proxies whose `X-Forwarded-Proto` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses `TRUSTED_PROXIES`: `10.244.0.0/16, 127.0.0.1` (empty: none).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = |item: &str| {
            format!("a comma list of IP addresses or CIDRs such as 10.244.0.0/16, not {item:?}")
        };
        let mut nets = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (ip, bits) = item.split_once('/').unwrap_or((item, ""));
            let ip: IpAddr = ip.parse().map_err(|_| expected(item))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                "" => max,
                bits => bits
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| expected(item))?,
            };
            nets.push((ip, bits));
        }
        Ok(TrustedProxies(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|(net, bits)| match (net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(
                u128::from(net.to_bits()) << 96,
                u128::from(ip.to_bits()) << 96,
                *bits,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(net.to_bits(), ip.to_bits(), *bits),
            _ => false,
        })
    }
}

fn prefix_eq(a: u128, b: u128, bits: u8) -> bool {
    bits == 0 || (a ^ b) >> (128 - u32::from(bits)) == 0
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
