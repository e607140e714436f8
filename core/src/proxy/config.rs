//! A client's proxy settings, and the choice of a proxy for each request.

use url::Url;

use super::no_proxy::HostName;
use super::{NoProxy, Proxy, ProxyError};

/// Which hosts a [`ProxyConfig::for_host`] rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// `*`: every host.
    Any,
    /// One host.
    Exact(HostName),
    /// `*.suffix`: the subdomains of `suffix`, not `suffix` itself.
    Subdomains(String),
}

impl HostPattern {
    fn parse(pattern: &str) -> HostPattern {
        let pattern = pattern.trim();
        if pattern == "*" {
            return HostPattern::Any;
        }
        match pattern.strip_prefix("*.") {
            Some(suffix) => match HostName::parse(suffix) {
                HostName::Domain(d) => HostPattern::Subdomains(d),
                ip => HostPattern::Exact(ip), // `*.10.0.0.1` is read as the address
            },
            None => HostPattern::Exact(HostName::parse(pattern)),
        }
    }

    fn matches(&self, host: &HostName) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Exact(exact) => exact == host,
            HostPattern::Subdomains(suffix) => match host {
                HostName::Domain(host) => crate::domain::is_subdomain(host, suffix),
                HostName::Ip(_) => false,
            },
        }
    }
}

/// A client's proxy settings: per-scheme proxies, `no_proxy` rules and per-host rules, set
/// explicitly and/or read from an environment snapshot ([`ProxyConfig::from_env`]).
///
/// [`ProxyConfig::select`] picks the proxy for a URL:
///
/// 1. the first [`for_host`](ProxyConfig::for_host) rule whose pattern matches the URL's
///    host decides (a proxy, or direct);
/// 2. otherwise a [`NoProxy`] match means direct;
/// 3. otherwise `http://` (and `ws://`) URLs use the HTTP proxy, `https://` (and `wss://`)
///    URLs the HTTPS proxy, if set; any other scheme is direct.
///
/// Settings compose: `ProxyConfig::from_env(&vars).with_https(p)` keeps the environment's
/// HTTP proxy and `no_proxy` and replaces its HTTPS proxy. [`Default`] is
/// [`ProxyConfig::none`].
///
/// ```
/// use duet_core::proxy::{NoProxy, Proxy, ProxyConfig};
/// let proxy = Proxy::parse("http://proxy.corp:3128").unwrap();
/// let config = ProxyConfig::all(proxy.clone())
///     .no_proxy(NoProxy::parse("localhost,.corp"))
///     .for_host("*.partner.example", Some(Proxy::parse("https://gw:1080").unwrap()));
/// let url = |s: &str| url::Url::parse(s).unwrap();
/// assert_eq!(config.select(&url("https://example.com/")), Some(&proxy));
/// assert_eq!(config.select(&url("http://wiki.corp/")), None);
/// assert_eq!(config.select(&url("https://api.partner.example/")).unwrap().port(), 1080);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    pub(super) http: Option<Proxy>,
    pub(super) https: Option<Proxy>,
    pub(super) no_proxy: NoProxy,
    host_rules: Vec<(HostPattern, Option<Proxy>)>,
    env_errors: Vec<(String, ProxyError)>,
}

impl ProxyConfig {
    /// Direct connections only.
    pub fn none() -> Self {
        ProxyConfig::default()
    }

    /// `proxy` for both `http://` and `https://` URLs.
    pub fn all(proxy: Proxy) -> Self {
        ProxyConfig::none()
            .with_http(proxy.clone())
            .with_https(proxy)
    }

    /// `proxy` for `http://` URLs only.
    pub fn http(proxy: Proxy) -> Self {
        ProxyConfig::none().with_http(proxy)
    }

    /// `proxy` for `https://` URLs only.
    pub fn https(proxy: Proxy) -> Self {
        ProxyConfig::none().with_https(proxy)
    }

    /// The same settings with `proxy` for `http://` URLs, replacing any.
    pub fn with_http(mut self, proxy: Proxy) -> Self {
        self.http = Some(proxy);
        self
    }

    /// The same settings with `proxy` for `https://` URLs, replacing any.
    pub fn with_https(mut self, proxy: Proxy) -> Self {
        self.https = Some(proxy);
        self
    }

    /// The same settings with `rules` as the `no_proxy` rules, replacing any (from the
    /// environment, for example).
    pub fn no_proxy(mut self, rules: NoProxy) -> Self {
        self.no_proxy = rules;
        self
    }

    /// The same settings with a rule for the hosts matching `pattern`: `proxy`, or a direct
    /// connection for `None`. Rules are checked in the order they were added, before the
    /// `no_proxy` rules and the per-scheme proxies.
    ///
    /// `pattern` is one host (`api.example.com`, `10.0.0.1`, `[::1]`; case and a trailing
    /// dot do not matter), `*.suffix` for every subdomain of `suffix` at any depth (but not
    /// `suffix` itself), or `*` for every host. Ports are not part of a pattern.
    pub fn for_host(mut self, pattern: &str, proxy: Option<Proxy>) -> Self {
        self.host_rules.push((HostPattern::parse(pattern), proxy));
        self
    }

    /// The proxy for `http://` URLs, if any.
    pub fn http_proxy(&self) -> Option<&Proxy> {
        self.http.as_ref()
    }

    /// The proxy for `https://` URLs, if any.
    pub fn https_proxy(&self) -> Option<&Proxy> {
        self.https.as_ref()
    }

    /// The `no_proxy` rules.
    pub fn no_proxy_rules(&self) -> &NoProxy {
        &self.no_proxy
    }

    /// True when every request connects directly: no proxy and no host rule naming one.
    pub fn is_direct(&self) -> bool {
        self.http.is_none()
            && self.https.is_none()
            && self.host_rules.iter().all(|(_, proxy)| proxy.is_none())
    }

    /// The environment variables [`ProxyConfig::from_env`] skipped because their proxy URL
    /// is invalid, with why (the messages never contain the value, which may hold a
    /// password). A driver may log them.
    pub fn env_errors(&self) -> &[(String, ProxyError)] {
        &self.env_errors
    }

    pub(super) fn set_env_error(&mut self, name: &str, error: ProxyError) {
        self.env_errors.push((name.to_owned(), error));
    }

    /// The proxy to use for a request to `url`, or `None` for a direct connection (see the
    /// order on [`ProxyConfig`]). A URL without a host connects directly.
    pub fn select(&self, url: &Url) -> Option<&Proxy> {
        if self.http.is_none() && self.https.is_none() && self.host_rules.is_empty() {
            return None; // direct for every URL: no need to look at the host
        }
        if !self.host_rules.is_empty() {
            let host = HostName::parse(url.host_str()?);
            if let Some((_, proxy)) = self.host_rules.iter().find(|(p, _)| p.matches(&host)) {
                return proxy.as_ref();
            }
        }
        let port = url.port_or_known_default().unwrap_or(0);
        if !self.no_proxy.is_empty() && self.no_proxy.matches(url.host_str()?, port) {
            return None;
        }
        match url.scheme() {
            "http" | "ws" => self.http.as_ref(),
            "https" | "wss" => self.https.as_ref(),
            _ => None,
        }
    }
}
