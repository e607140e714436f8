//! A proxy server: its scheme, address and optional credentials, parsed from a URL.

use std::fmt;

use url::{Host, Url};

use super::ProxyError;

/// How duet talks to a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyScheme {
    /// Plain HTTP to the proxy: absolute-form requests for `http://` URLs, `CONNECT` for
    /// `https://` URLs.
    Http,
    /// HTTP over TLS to the proxy (the proxy's certificate is verified like a server's).
    Https,
    /// SOCKS5 (RFC 1928), the target's name resolved by the client ("local DNS").
    Socks5,
    /// SOCKS5 with the target's name sent to the proxy, which resolves it ("remote DNS").
    Socks5h,
}

impl ProxyScheme {
    /// The URL scheme: `"http"`, `"https"`, `"socks5"` or `"socks5h"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
            ProxyScheme::Socks5 => "socks5",
            ProxyScheme::Socks5h => "socks5h",
        }
    }

    /// The port used when a proxy URL names none: 80 for `http`, 443 for `https` and 1080
    /// for SOCKS, as requests and httpx do. (curl uses 1080 for an `http` proxy too.)
    pub fn default_port(self) -> u16 {
        match self {
            ProxyScheme::Http => 80,
            ProxyScheme::Https => 443,
            ProxyScheme::Socks5 | ProxyScheme::Socks5h => 1080,
        }
    }

    /// True for SOCKS5: every request goes through a `Socks5Handshake` tunnel (the `socks`
    /// feature).
    pub fn is_socks(self) -> bool {
        matches!(self, ProxyScheme::Socks5 | ProxyScheme::Socks5h)
    }

    /// True when the connection to the proxy itself is TLS.
    pub fn is_tls(self) -> bool {
        self == ProxyScheme::Https
    }

    fn from_name(name: &str) -> Option<ProxyScheme> {
        Some(match name {
            "http" => ProxyScheme::Http,
            "https" => ProxyScheme::Https,
            "socks5" => ProxyScheme::Socks5,
            "socks5h" => ProxyScheme::Socks5h,
            _ => return None,
        })
    }
}

impl fmt::Display for ProxyScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A proxy server: scheme, host, port and optional credentials.
///
/// Two proxies are equal (and hash alike) only when all of these are, credentials included,
/// so a [`Proxy`] can be part of a connection pool key: connections made with different
/// credentials are never shared. `Debug` shows the user name but never the password;
/// `Display` shows neither (`socks5h://127.0.0.1:1080`).
///
/// Cheap to clone (shared): every request's pool key through a proxy holds one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Proxy(std::sync::Arc<Parts>);

/// What a [`Proxy`] shares between its clones.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Parts {
    scheme: ProxyScheme,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

impl Proxy {
    /// Parses a proxy URL: `scheme://[user[:password]@]host[:port][/]`.
    ///
    /// - The scheme is `http`, `https`, `socks5` or `socks5h` (any case); without `://` the
    ///   text is an `http` proxy (`proxy:3128`, as curl and requests read it). Other schemes,
    ///   `socks4` included, are [`ProxyError::UnsupportedScheme`]; `socks5` and `socks5h`
    ///   without the `socks` feature are [`ProxyError::SocksDisabled`].
    /// - Without a port, [`ProxyScheme::default_port`].
    /// - The host is normalised as in an `http` URL (lower case, IDNA to ASCII, IPv4 forms
    ///   such as `0x7f.1`); IPv6 goes in brackets and [`Proxy::host`] returns it without.
    /// - The user name and password are percent-decoded as UTF-8 (otherwise
    ///   [`ProxyError::CredentialsNotUtf8`]); a user name without a password has the
    ///   password `""`.
    /// - A path is ignored, as curl does; a query or fragment is
    ///   [`ProxyError::InvalidUrl`]. Surrounding whitespace is ignored.
    ///
    /// Error messages never repeat the URL (it may hold a password).
    pub fn parse(url: &str) -> Result<Proxy, ProxyError> {
        let url = url.trim();
        let (scheme, rest) = match url.split_once("://") {
            Some((name, rest)) => {
                let name = name.to_ascii_lowercase();
                let scheme = ProxyScheme::from_name(&name).ok_or_else(|| {
                    // Only a well-formed scheme (RFC 3986 §3.1) is echoed: it holds no
                    // credentials, whereas anything else before `://` might.
                    let valid = name.len() <= 32
                        && name.starts_with(|c: char| c.is_ascii_alphabetic())
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
                    ProxyError::UnsupportedScheme(if valid { name } else { "<invalid>".into() })
                })?;
                (scheme, rest)
            }
            None => (ProxyScheme::Http, url),
        };
        if scheme.is_socks() && cfg!(not(feature = "socks")) {
            return Err(ProxyError::SocksDisabled(scheme.as_str().to_owned()));
        }
        // Parse as `http` whatever the scheme, so every host is normalised the same way
        // (the url crate leaves the host of an unknown scheme such as socks5 opaque).
        let parsed = Url::parse(&format!("http://{rest}")).map_err(|e| match e {
            url::ParseError::EmptyHost => ProxyError::MissingHost,
            other => ProxyError::InvalidUrl(other.to_string()),
        })?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(ProxyError::InvalidUrl(
                "a proxy URL has no query or fragment".into(),
            ));
        }
        let host = match parsed.host() {
            Some(Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(ProxyError::MissingHost),
        };
        // `parsed.port()` is None for `:80` too (the http default), so read it with
        // `port_or_known_default` only when the text names a port.
        let port = match parsed.port() {
            Some(port) => port,
            None if names_port(rest) => 80,
            None => scheme.default_port(),
        };
        let credentials = if parsed.username().is_empty() && parsed.password().is_none() {
            None
        } else {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map(|s| s.into_owned())
                    .map_err(|_| ProxyError::CredentialsNotUtf8)
            };
            Some((
                decode(parsed.username())?,
                decode(parsed.password().unwrap_or(""))?,
            ))
        };
        Ok(Proxy(std::sync::Arc::new(Parts {
            scheme,
            host,
            port,
            credentials,
        })))
    }

    /// The same proxy with these credentials (not percent-encoded), replacing any from the
    /// URL.
    pub fn with_credentials(mut self, user: &str, password: &str) -> Proxy {
        std::sync::Arc::make_mut(&mut self.0).credentials =
            Some((user.to_owned(), password.to_owned()));
        self
    }

    /// How to talk to the proxy.
    pub fn scheme(&self) -> ProxyScheme {
        self.0.scheme
    }

    /// The host to connect to (and, for `https`, to verify): a domain in lower-case ASCII or
    /// an IP address, IPv6 without brackets.
    pub fn host(&self) -> &str {
        &self.0.host
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.0.port
    }

    /// The user name and password, percent-decoded.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.0
            .credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_str()))
    }

    /// The `Proxy-Authorization` value for the credentials, if any: `Basic` with
    /// `user:password` in UTF-8, base64 (RFC 7617 §2 and §2.1; RFC 9110 §11.7.2). Meant for
    /// `http`/`https` proxies; SOCKS5 authenticates in its handshake instead.
    pub fn basic_authorization(&self) -> Option<String> {
        self.credentials()
            .map(|(user, password)| crate::auth::basic_header(user, password))
    }
}

/// Whether the authority in `rest` (the URL after `scheme://`) ends with an explicit port.
fn names_port(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.rsplit_once(':') {
        Some((host, port)) => !port.is_empty() && (!host.contains(':') || host.ends_with(']')),
        None => false,
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Proxy");
        s.field("scheme", &self.0.scheme)
            .field("host", &self.0.host)
            .field("port", &self.0.port);
        match &self.0.credentials {
            Some((user, _)) => s.field("user", user).field("password", &"<hidden>"),
            None => s.field("user", &None::<&str>),
        };
        s.finish()
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Parts {
            scheme, host, port, ..
        } = &*self.0;
        if host.contains(':') {
            write!(f, "{scheme}://[{host}]:{port}")
        } else {
            write!(f, "{scheme}://{host}:{port}")
        }
    }
}
