//! Which transport a request goes to: URL patterns, httpx-style, and the table of mounts.
//!
//! A pattern is `scheme://host:port` where each part may be left open:
//!
//! ```text
//! "all://"                    every http and https URL
//! "http://", "https://"       every URL of that scheme ("http://*" is the same)
//! "all://example.com"         example.com on any scheme and port, not its subdomains
//! "https://example.com:8443"  that scheme, host and port only
//! "all://*.example.com"       the subdomains of example.com, not example.com itself
//! "all://*example.com"        example.com and its subdomains (not "myexample.com")
//! "http://*:8080"             any host on port 8080
//! ```
//!
//! A pattern without a port matches any port. A pattern with a port matches that port only,
//! and a URL without a port has its scheme's default: `"http://example.com:80"` matches
//! `http://example.com/`. Hosts are compared as the URL parser writes them: domains lowercased
//! and IDNA-encoded (`"all://bücher.de"` matches `http://xn--bcher-kva.de/`), IPv6 addresses
//! in brackets (`"all://[::1]"`).

use std::fmt;
use std::str::FromStr;

use url::Url;

/// Why a mount pattern was refused by [`MountPattern::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    /// The pattern does not start with `scheme://` (write `"http://"`, not `"http"`).
    #[error(
        "mount pattern {pattern:?} has no \"scheme://\" (write \"all://\", \"http://\" or \"https://\")"
    )]
    MissingScheme {
        /// The pattern as given.
        pattern: String,
    },
    /// The scheme is not `all`, `http` or `https`.
    #[error("mount pattern scheme {scheme:?} is not \"all\", \"http\" or \"https\"")]
    UnsupportedScheme {
        /// The scheme as given.
        scheme: String,
    },
    /// The host is not a domain, an IP address, `*`, or a domain after a leading `*` / `*.`.
    #[error("mount pattern host {host:?} is invalid: {reason}")]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The port is not a number from 0 to 65535.
    #[error("mount pattern port {port:?} is not a number from 0 to 65535")]
    InvalidPort {
        /// The port as given.
        port: String,
    },
    /// The pattern has a path, query, fragment or user info; patterns match origins only.
    #[error("mount pattern {pattern:?} has more than scheme://host:port (paths are not matched)")]
    NotAnOrigin {
        /// The pattern as given.
        pattern: String,
    },
}

/// The hosts a pattern matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum HostPattern {
    /// No host, or `*`: every host.
    Any,
    /// Exactly this host (lowercase; IPv6 in brackets).
    Exact(String),
    /// `*.suffix`: hosts ending in `.suffix`, not `suffix` itself.
    Subdomains(String),
    /// `*suffix`: `suffix` and the hosts ending in `.suffix`.
    DomainAndSubdomains(String),
}

impl HostPattern {
    fn matches(&self, host: &str) -> bool {
        let below = |suffix: &str| {
            host.len() > suffix.len() + 1
                && host.ends_with(suffix)
                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
        };
        match self {
            HostPattern::Any => true,
            HostPattern::Exact(exact) => host == exact,
            HostPattern::Subdomains(suffix) => below(suffix),
            HostPattern::DomainAndSubdomains(suffix) => host == suffix || below(suffix),
        }
    }
}

/// A URL pattern a transport is mounted on, httpx-style: `"all://"`, `"http://"`,
/// `"https://"`, `"http://example.com"`, `"all://example.com"`, `"https://example.com:8443"`,
/// `"all://*.example.com"` (subdomains only, not the apex), `"all://*example.com"` (the apex
/// and its subdomains, as httpx), `"http://*"` (any host).
///
/// Scheme `all` matches `http` and `https` URLs (no other scheme is ever matched). A pattern
/// without a port matches any port; with a port, only that port, where a URL without a port
/// has its scheme's default (`"http://example.com:80"` matches `http://example.com/`).
///
/// ```
/// use duet_core::transport::MountPattern;
/// use duet_core::Url;
/// let pattern = MountPattern::parse("all://*.example.com").unwrap();
/// assert!(pattern.matches(&Url::parse("https://api.example.com:8443/v1").unwrap()));
/// assert!(!pattern.matches(&Url::parse("https://example.com/").unwrap()));
/// assert_eq!(pattern.to_string(), "all://*.example.com");
/// assert!(MountPattern::parse("http").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MountPattern {
    /// `None` for `all`.
    scheme: Option<&'static str>,
    host: HostPattern,
    port: Option<u16>,
}

impl MountPattern {
    /// Parses a pattern `scheme://[host][:port][/]`.
    ///
    /// The scheme is `all`, `http` or `https` (any case). The host is a domain, an IPv4
    /// address, an IPv6 address in brackets, `*`, or `*` / `*.` followed by a domain; it is
    /// normalised as the URL parser does (lowercase, IDNA). A single trailing `/` is allowed;
    /// a path, query, fragment or user info is refused ([`MountError::NotAnOrigin`]) rather
    /// than ignored, since patterns only match origins.
    pub fn parse(s: &str) -> Result<Self, MountError> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| MountError::MissingScheme {
                pattern: s.to_owned(),
            })?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "all" => None,
            "http" => Some("http"),
            "https" => Some("https"),
            _ => {
                return Err(MountError::UnsupportedScheme {
                    scheme: scheme.to_owned(),
                });
            }
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@', '\\']) {
            return Err(MountError::NotAnOrigin {
                pattern: s.to_owned(),
            });
        }
        let (host, port) = split_port(authority)?;
        let host = parse_host(host)?;
        if host == HostPattern::Any && port.is_some() && authority.starts_with(':') {
            return Err(MountError::InvalidHost {
                host: String::new(),
                reason: "a pattern with a port needs a host; write \"*\" for any host".into(),
            });
        }
        Ok(MountPattern { scheme, host, port })
    }

    /// Whether `url` is one this pattern covers: its scheme, host and port (see the type's
    /// docs). URLs of schemes other than http and https never match.
    pub fn matches(&self, url: &Url) -> bool {
        let scheme = url.scheme();
        if !matches!(scheme, "http" | "https") || self.scheme.is_some_and(|s| s != scheme) {
            return false;
        }
        if let Some(port) = self.port
            && url.port_or_known_default() != Some(port)
        {
            return false;
        }
        match url.host_str() {
            Some(host) => self.host.matches(host),
            None => self.host == HostPattern::Any,
        }
    }

    /// How specific the pattern is; the higher, the earlier it is chosen. As httpx: a pattern
    /// with a port first, then by host (exact, then wildcards with longer suffixes first, a
    /// subdomain-only wildcard before one that also matches the apex, then any host), then
    /// by scheme (`http`/`https` before `all`).
    fn priority(&self) -> (bool, u8, usize, bool) {
        let (class, len) = match &self.host {
            HostPattern::Exact(h) => (3, h.len()),
            HostPattern::Subdomains(s) => (2, s.len() + 1),
            HostPattern::DomainAndSubdomains(s) => (2, s.len()),
            HostPattern::Any => (0, 0),
        };
        (self.port.is_some(), class, len, self.scheme.is_some())
    }
}

/// Splits `host[:port]`, minding IPv6 brackets.
fn split_port(authority: &str) -> Result<(&str, Option<u16>), MountError> {
    let colon = if authority.starts_with('[') {
        authority
            .find(']')
            .and_then(|end| authority[end + 1..].find(':').map(|c| end + 1 + c))
    } else {
        authority.rfind(':')
    };
    let Some(colon) = colon else {
        return Ok((authority, None));
    };
    let port = &authority[colon + 1..];
    match port.parse::<u16>() {
        Ok(n) if port.bytes().all(|b| b.is_ascii_digit()) => Ok((&authority[..colon], Some(n))),
        _ => Err(MountError::InvalidPort {
            port: port.to_owned(),
        }),
    }
}

fn parse_host(host: &str) -> Result<HostPattern, MountError> {
    let invalid = |reason: &str| MountError::InvalidHost {
        host: host.to_owned(),
        reason: reason.to_owned(),
    };
    if host.is_empty() || host == "*" {
        return Ok(HostPattern::Any);
    }
    let (domain, wildcard) = match host.strip_prefix("*.") {
        Some(rest) => (rest, Some(true)),
        None => match host.strip_prefix('*') {
            Some(rest) => (rest, Some(false)),
            None => (host, None),
        },
    };
    if domain.contains('*') {
        return Err(invalid(
            "\"*\" may only start the host, as in \"*.example.com\"",
        ));
    }
    let parsed = url::Host::parse(domain).map_err(|e| invalid(&e.to_string()))?;
    match (parsed, wildcard) {
        (url::Host::Domain(d), Some(true)) => Ok(HostPattern::Subdomains(d)),
        (url::Host::Domain(d), Some(false)) => Ok(HostPattern::DomainAndSubdomains(d)),
        (_, Some(_)) => Err(invalid("a wildcard must be followed by a domain name")),
        (parsed, None) => Ok(HostPattern::Exact(parsed.to_string())),
    }
}

impl FromStr for MountPattern {
    type Err = MountError;

    fn from_str(s: &str) -> Result<Self, MountError> {
        MountPattern::parse(s)
    }
}

impl fmt::Display for MountPattern {
    /// The normalised pattern: `all://*.example.com`, `https://example.com:8443`, `http://`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.unwrap_or("all"))?;
        match &self.host {
            HostPattern::Any if self.port.is_some() => f.write_str("*")?,
            HostPattern::Any => {}
            HostPattern::Exact(h) => f.write_str(h)?,
            HostPattern::Subdomains(s) => write!(f, "*.{s}")?,
            HostPattern::DomainAndSubdomains(s) => write!(f, "*{s}")?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// Transports by URL pattern, as requests' `Session.mount` and httpx's `mounts`.
///
/// [`Mounts::select`] returns the transport of the most specific pattern that matches a URL
/// (httpx's order): a pattern with a port beats one without; then an exact host beats a
/// wildcard host (the longer suffix first, `*.` before `*`), which beats any host; then a
/// scheme beats `all://`. Mounting a pattern equal to one already mounted replaces its
/// transport; among different patterns of equal priority the one mounted last wins.
///
/// ```
/// use duet_core::transport::{MountPattern, Mounts};
/// use duet_core::Url;
/// let mut mounts = Mounts::new();
/// mounts.mount(MountPattern::parse("all://").unwrap(), "default");
/// mounts.mount(MountPattern::parse("all://*example.com").unwrap(), "example");
/// mounts.mount(MountPattern::parse("https://example.com:8443").unwrap(), "admin");
/// let select = |url| mounts.select(&Url::parse(url).unwrap()).copied();
/// assert_eq!(select("https://example.com:8443/"), Some("admin"));
/// assert_eq!(select("https://example.com/"), Some("example"));
/// assert_eq!(select("http://api.example.com/"), Some("example"));
/// assert_eq!(select("http://example.org/"), Some("default"));
/// ```
#[derive(Debug, Clone)]
pub struct Mounts<T> {
    entries: Vec<(MountPattern, T)>,
}

impl<T> Default for Mounts<T> {
    fn default() -> Self {
        Mounts {
            entries: Vec::new(),
        }
    }
}

impl<T> Mounts<T> {
    /// No mounts: [`Mounts::select`] returns `None` for every URL.
    pub fn new() -> Self {
        Self::default()
    }

    /// Mounts `transport` on `pattern`, replacing the transport of an equal pattern.
    pub fn mount(&mut self, pattern: MountPattern, transport: T) {
        self.entries.retain(|(p, _)| *p != pattern);
        self.entries.push((pattern, transport));
    }

    /// The transport of the most specific pattern matching `url` (see the type's docs), or
    /// `None` when no pattern matches (the client's own transport is used then).
    pub fn select(&self, url: &Url) -> Option<&T> {
        // `max_by_key` returns the last of equal maxima: the one mounted last.
        self.entries
            .iter()
            .filter(|(pattern, _)| pattern.matches(url))
            .max_by_key(|(pattern, _)| pattern.priority())
            .map(|(_, transport)| transport)
    }

    /// Whether nothing is mounted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many patterns are mounted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The patterns and their transports, in the order they were mounted.
    pub fn iter(&self) -> impl Iterator<Item = (&MountPattern, &T)> {
        self.entries.iter().map(|(p, t)| (p, t))
    }
}
