//! The SSRF guard: which addresses webhook requests may reach. By default only public ones;
//! the operator may open chosen networks (`--allow-target-network 10.20.0.0/16`) or every
//! private address (`--allow-private-targets`).

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
    sync::Arc,
};

/// Which addresses requests may reach.
#[derive(Debug, Clone, Default)]
pub struct TargetGuard {
    /// Lets requests reach loopback and private networks (tests, or receivers on the same
    /// network). Off by default.
    pub allow_private: bool,
    /// Private or reserved networks requests may reach all the same.
    pub allowed_networks: Arc<[Network]>,
}

impl TargetGuard {
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = normalised(ip);
        self.allow_private
            || is_public(ip)
            || self
                .allowed_networks
                .iter()
                .any(|network| network.contains(ip))
    }
}

/// An address block in CIDR notation (`10.0.0.0/8`, `fd00::/8`); a bare address is a block
/// of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn contains(self, ip: IpAddr) -> bool {
        match (self.address, normalised(ip)) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => same_prefix(
                network.to_bits().into(),
                ip.to_bits().into(),
                32,
                self.prefix,
            ),
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                same_prefix(network.to_bits(), ip.to_bits(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn same_prefix(network: u128, ip: u128, width: u8, prefix: u8) -> bool {
    let host_bits = u32::from(width - prefix);
    network.checked_shr(host_bits).unwrap_or(0) == ip.checked_shr(host_bits).unwrap_or(0)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a network: {reason} (write it like 10.0.0.0/8 or fd00::/8)")]
pub struct NetworkError {
    text: String,
    reason: &'static str,
}

impl FromStr for Network {
    type Err = NetworkError;

    fn from_str(text: &str) -> Result<Self, NetworkError> {
        let error = |reason| NetworkError {
            text: text.to_owned(),
            reason,
        };
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| error("the address is not an IPv4 or IPv6 address"))?;
        let address = normalised(address);
        let width = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= width)
                .ok_or_else(|| {
                    error(if address.is_ipv4() {
                        "the prefix length must be 0 to 32 for IPv4"
                    } else {
                        "the prefix length must be 0 to 128 for IPv6"
                    })
                })?,
        };
        Ok(Self { address, prefix })
    }
}

impl fmt::Display for Network {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.address, self.prefix)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are judged as the IPv4 address they carry.
pub(crate) fn normalised(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 198 && (18..20).contains(&b)) // benchmarking 198.18.0.0/15
        || a >= 240) // reserved 240.0.0.0/4
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation 2001:db8::/32
        || (segments[0] == 0x0064 && segments[1] == 0xff9b) // NAT64 64:ff9b::/96
        || segments[0] == 0x2002) // 6to4 embeds an IPv4 address of any kind
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_reserved_addresses_are_refused_by_default() {
        let guard = TargetGuard::default();
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
        ] {
            let ip: IpAddr = refused.parse().expect("an address");
            assert!(!guard.permits(ip), "{refused} is refused");
        }
        for allowed in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:93.184.216.34",
        ] {
            let ip: IpAddr = allowed.parse().expect("an address");
            assert!(guard.permits(ip), "{allowed} is allowed");
        }
        let open = TargetGuard {
            allow_private: true,
            ..TargetGuard::default()
        };
        assert!(open.permits("127.0.0.1".parse().expect("an address")));
    }

    #[test]
    fn allowed_networks_open_only_themselves() {
        let guard = TargetGuard {
            allow_private: false,
            allowed_networks: ["10.20.0.0/16", "fd00::/8", "127.0.0.1"]
                .iter()
                .map(|text| text.parse().expect("a network"))
                .collect(),
        };
        for allowed in [
            "10.20.0.1",
            "10.20.255.255",
            "fd12::1",
            "127.0.0.1",
            "::ffff:10.20.1.1",
        ] {
            let ip: IpAddr = allowed.parse().expect("an address");
            assert!(guard.permits(ip), "{allowed} is allowed");
        }
        for refused in ["10.21.0.1", "127.0.0.2", "192.168.1.1", "fe80::1", "::1"] {
            let ip: IpAddr = refused.parse().expect("an address");
            assert!(!guard.permits(ip), "{refused} is refused");
        }
        assert!(guard.permits("8.8.8.8".parse().expect("an address")));
    }

    #[test]
    fn networks_are_read_from_cidr_notation() {
        let network: Network = "10.0.0.0/8".parse().expect("a network");
        assert_eq!(network.to_string(), "10.0.0.0/8");
        assert!(network.contains("10.255.0.1".parse().expect("an address")));
        assert!(!network.contains("11.0.0.1".parse().expect("an address")));
        let everything: Network = "0.0.0.0/0".parse().expect("a network");
        assert!(everything.contains("192.168.0.1".parse().expect("an address")));
        assert!(!everything.contains("::1".parse().expect("an address")));
        assert_eq!(
            "::ffff:10.0.0.0/104"
                .parse::<Network>()
                .map(|n| n.to_string()),
            Err(NetworkError {
                text: "::ffff:10.0.0.0/104".to_owned(),
                reason: "the prefix length must be 0 to 32 for IPv4"
            }),
            "an IPv4-mapped network is judged as IPv4"
        );
        for (text, reason) in [
            ("10.0.0.0/33", "the prefix length must be 0 to 32 for IPv4"),
            ("fd00::/129", "the prefix length must be 0 to 128 for IPv6"),
            ("10.0.0/8", "the address is not an IPv4 or IPv6 address"),
            ("intranet", "the address is not an IPv4 or IPv6 address"),
        ] {
            let error = text.parse::<Network>().expect_err(text);
            assert_eq!(error.reason, reason, "{text}");
            assert!(error.to_string().contains("10.0.0.0/8"), "{error}");
        }
    }
}
