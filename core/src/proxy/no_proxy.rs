//! The `no_proxy` rules: which hosts are reached directly even when a proxy is configured.

use std::net::IpAddr;

/// A host name or IP address, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HostName {
    /// An IP address; IPv4-mapped IPv6 addresses become IPv4.
    Ip(IpAddr),
    /// A domain in lower-case ASCII (IDNA), without a trailing dot.
    Domain(String),
}

impl HostName {
    /// Normalises `host`: brackets and trailing dots removed, an IP address parsed (strictly:
    /// `10.1` stays a name), a name lower-cased and converted to ASCII (IDNA) as in a URL.
    pub(super) fn parse(host: &str) -> HostName {
        let host = host.trim();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let host = host.trim_end_matches('.');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return HostName::Ip(ip.to_canonical());
        }
        match url::Host::parse(host) {
            Ok(url::Host::Domain(d)) => HostName::Domain(d),
            // A name the URL parser rejects, or reads as a WHATWG IPv4 shorthand: compare
            // it as text.
            _ => HostName::Domain(host.to_ascii_lowercase()),
        }
    }

    /// True when `self` is `domain` or one of its subdomains (`domain` without a leading
    /// dot).
    pub(super) fn is_within(&self, domain: &str) -> bool {
        match self {
            HostName::Domain(host) => host == domain || crate::domain::is_subdomain(host, domain),
            HostName::Ip(_) => false,
        }
    }
}

/// One `no_proxy` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `*`: every host.
    Everything,
    /// A domain and its subdomains, on any port or on one.
    Domain { domain: String, port: Option<u16> },
    /// One IP address, on any port or on one.
    Ip { ip: IpAddr, port: Option<u16> },
    /// A CIDR range: the first `prefix` bits of `network`.
    Cidr { network: IpAddr, prefix: u8 },
}

/// Which hosts bypass the proxy: the `no_proxy` rules, as curl and requests read them.
///
/// - Entries are separated by commas; whitespace around them and empty entries are ignored.
/// - `*` matches every host.
/// - A domain matches itself and its subdomains: `example.com`, `.example.com` and
///   `*.example.com` all match `example.com` and `www.example.com`, not `notexample.com`.
///   Case and a trailing dot do not matter; names are compared in ASCII (IDNA), as in URLs.
/// - An IP address matches that address exactly (`::1`, `[::1]` and `0:0::1` are one
///   address); a CIDR range (`10.0.0.0/8`, `fe80::/10`) matches the addresses in it. IP rules
///   match only hosts written as IP addresses (no DNS is involved, as in curl), and a domain
///   rule never matches an IP address.
/// - `host:port`, `1.2.3.4:port` and `[::1]:port` match only that port.
/// - An entry that cannot be read (a bad port, a prefix longer than the address) is skipped,
///   as curl does, rather than making every request fail.
///
/// ```
/// use duet_core::proxy::NoProxy;
/// let rules = NoProxy::parse("localhost, .internal.example, 10.0.0.0/8, api.test:8443");
/// assert!(rules.matches("localhost", 80));
/// assert!(rules.matches("db.internal.example", 5432));
/// assert!(rules.matches("10.1.2.3", 443));
/// assert!(rules.matches("api.test", 8443));
/// assert!(!rules.matches("api.test", 443));
/// assert!(!rules.matches("example.com", 443));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    rules: Vec<Rule>,
}

impl NoProxy {
    /// Reads a `no_proxy` value. Never fails: unreadable entries are skipped.
    pub fn parse(s: &str) -> NoProxy {
        NoProxy {
            rules: s.split(',').filter_map(parse_rule).collect(),
        }
    }

    /// True when there are no rules, so nothing bypasses the proxy.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether a request to `host` (a domain or an IP address, IPv6 with or without
    /// brackets, as in a URL) on `port` goes direct.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = HostName::parse(host);
        let port_ok = |rule: &Option<u16>| rule.is_none_or(|p| p == port);
        self.rules.iter().any(|rule| match (rule, &host) {
            (Rule::Everything, _) => true,
            (Rule::Domain { domain, port }, _) => port_ok(port) && host.is_within(domain),
            (Rule::Ip { ip, port }, HostName::Ip(addr)) => port_ok(port) && ip == addr,
            (Rule::Cidr { network, prefix }, HostName::Ip(addr)) => {
                cidr_contains(*network, *prefix, *addr)
            }
            _ => false,
        })
    }
}

fn parse_rule(entry: &str) -> Option<Rule> {
    let entry = entry.trim();
    if entry.is_empty() {
        return None;
    }
    if entry == "*" {
        return Some(Rule::Everything);
    }
    if let Some((addr, prefix)) = entry.split_once('/') {
        let addr = addr.strip_prefix('[').unwrap_or(addr);
        let addr = addr.strip_suffix(']').unwrap_or(addr);
        let network = addr.parse::<IpAddr>().ok()?.to_canonical();
        let mut prefix: u8 = prefix.parse().ok()?;
        // `::ffff:10.0.0.0/104` is the IPv4 range 10.0.0.0/8.
        if let (Ok(IpAddr::V6(_)), IpAddr::V4(_)) = (addr.parse::<IpAddr>(), network) {
            prefix = prefix.checked_sub(96)?;
        }
        let bits = if network.is_ipv4() { 32 } else { 128 };
        return (prefix <= bits).then_some(Rule::Cidr { network, prefix });
    }
    let (host, port) = split_port(entry)?;
    let host = host.strip_prefix("*.").unwrap_or(host);
    let host = host.trim_start_matches('.');
    match HostName::parse(host) {
        HostName::Ip(ip) => Some(Rule::Ip { ip, port }),
        HostName::Domain(domain) if domain.is_empty() => None,
        HostName::Domain(domain) => Some(Rule::Domain { domain, port }),
    }
}

/// Splits `host:port`, `[v6]:port` and `[v6]`; a bare IPv6 address has no port. `None` for a
/// port that is not a number.
fn split_port(entry: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match entry.split_once(':') {
        Some((host, port)) if !port.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((entry, None)),
    }
}

/// Whether `addr` is in `network/prefix` (both canonical; different families never match).
pub(super) fn cidr_contains(network: IpAddr, prefix: u8, addr: IpAddr) -> bool {
    match (network, addr) {
        (IpAddr::V4(net), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(net) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(net) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}
