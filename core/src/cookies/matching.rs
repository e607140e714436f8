//! Which hosts and paths a cookie belongs to: the canonicalized host (§5.1.2), domain matching
//! (§5.1.3), default paths and path matching (§5.1.4), secure schemes, and public suffixes
//! (§5.7 step 9, from the `psl` crate's copy of the Public Suffix List).

use url::{Host, Url};

/// The request host, canonicalized (§5.1.2): `url` has already turned it into lowercase ASCII
/// (IDNA), and an IPv6 address keeps its brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RequestHost {
    /// The host as a cookie domain.
    pub name: String,
    /// An IP address: domains must equal it, never be a suffix of it.
    pub is_ip: bool,
}

impl RequestHost {
    /// The host of `url`, or `None` when it has none.
    pub fn of(url: &Url) -> Option<RequestHost> {
        // An address is taken as the URL serialized it (IPv6 in brackets), not formatted anew.
        let (name, is_ip) = match url.host()? {
            Host::Domain("") => return None,
            Host::Domain(name) => (name.to_ascii_lowercase(), false),
            Host::Ipv4(_) | Host::Ipv6(_) => (url.host_str()?.to_owned(), true),
        };
        Some(RequestHost { name, is_ip })
    }

    /// §5.1.3: the host domain-matches `domain` when they are identical, or when the host is
    /// a name (not an IP address) that ends with `.` + `domain`.
    pub fn domain_matches(&self, domain: &str) -> bool {
        domain_match(&self.name, domain, self.is_ip)
    }

    /// Whether a `Domain` attribute names this very host; an IPv6 address may be written with
    /// or without its brackets.
    pub fn is(&self, domain: &str) -> bool {
        let unbracket = |s: &str| s.trim_start_matches('[').trim_end_matches(']').to_owned();
        if self.is_ip {
            unbracket(&self.name) == unbracket(domain)
        } else {
            self.name == domain
        }
    }
}

/// §5.1.3 domain matching: `example.com` matches `example.com` and `www.example.com`, not
/// `badexample.com`; an IP address matches only itself.
pub(super) fn domain_match(host: &str, domain: &str, host_is_ip: bool) -> bool {
    if host == domain {
        return true;
    }
    !host_is_ip && !domain.is_empty() && crate::domain::is_subdomain(host, domain)
}

/// §5.1.4 default-path: the request path up to, not including, its last `/`; `/` when that
/// leaves nothing or the path does not start with `/`.
pub(super) fn default_path(request_path: &str) -> &str {
    if !request_path.starts_with('/') {
        return "/";
    }
    match request_path.rfind('/') {
        Some(0) | None => "/",
        Some(last) => &request_path[..last],
    }
}

/// §5.1.4 path matching: `/docs` matches `/docs`, `/docs/` and `/docs/web`, not `/docsx`.
pub(super) fn path_match(request_path: &str, cookie_path: &str) -> bool {
    match request_path.strip_prefix(cookie_path) {
        Some("") => true,
        Some(rest) => cookie_path.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// Whether `url` denotes a "secure" connection (§5.7 step 13, §5.8.3; the draft leaves it
/// to the user agent): `https` or `wss`, or a loopback host over any scheme — `localhost`,
/// `*.localhost`, `127.0.0.0/8`, `::1` — as browsers treat such "potentially trustworthy"
/// origins (W3C Secure Contexts §3.2) and curl does: a site under development on
/// `http://localhost` that marks its session cookie `Secure` works.
pub(super) fn is_secure(url: &Url) -> bool {
    if matches!(url.scheme(), "https" | "wss") {
        return true;
    }
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => crate::client::dial::is_localhost(name),
        None => false,
    }
}

/// Whether `domain` is a public suffix (§5.7 step 9): a rule of the Public Suffix List (`com`,
/// `co.uk`, `github.io`), or a single label the list does not know (`localhost`, `corp`),
/// which the list's implicit `*` rule makes a suffix too.
pub(super) fn is_public_suffix(domain: &str) -> bool {
    psl::suffix_str(domain) == Some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(url: &str) -> RequestHost {
        RequestHost::of(&Url::parse(url).unwrap()).unwrap()
    }

    #[test]
    fn hosts_are_canonical() {
        assert_eq!(host("http://WWW.Example.COM/").name, "www.example.com");
        assert_eq!(host("http://bücher.de/").name, "xn--bcher-kva.de");
        let v4 = host("http://127.0.0.1:8080/");
        assert_eq!((v4.name.as_str(), v4.is_ip), ("127.0.0.1", true));
        let v6 = host("http://[::1]/");
        assert_eq!((v6.name.as_str(), v6.is_ip), ("[::1]", true));
        assert!(v6.is("::1") && v6.is("[::1]") && !v6.is("::2"));
        assert_eq!(
            RequestHost::of(&Url::parse("data:text/plain,hi").unwrap()),
            None
        );
    }

    #[test]
    fn domain_match_is_on_label_boundaries() {
        assert!(domain_match("example.com", "example.com", false));
        assert!(domain_match("www.example.com", "example.com", false));
        assert!(domain_match("a.b.example.com", "example.com", false));
        assert!(!domain_match("badexample.com", "example.com", false));
        assert!(!domain_match("example.com", "www.example.com", false));
        assert!(!domain_match("example.com", "", false));
        assert!(domain_match("1.2.3.4", "1.2.3.4", true));
        assert!(!domain_match("1.2.3.4", "2.3.4", true));
    }

    #[test]
    fn default_paths() {
        assert_eq!(default_path(""), "/");
        assert_eq!(default_path("/"), "/");
        assert_eq!(default_path("/page"), "/");
        assert_eq!(default_path("/docs/"), "/docs");
        assert_eq!(default_path("/docs/page"), "/docs");
        assert_eq!(default_path("/a/b/c"), "/a/b");
        assert_eq!(default_path("odd"), "/");
    }

    #[test]
    fn path_match_cases() {
        assert!(path_match("/docs", "/docs"));
        assert!(path_match("/docs/", "/docs"));
        assert!(path_match("/docs/web", "/docs"));
        assert!(!path_match("/docsx", "/docs"));
        assert!(!path_match("/doc", "/docs"));
        assert!(path_match("/docs/web", "/docs/"));
        assert!(!path_match("/docs", "/docs/"));
        assert!(path_match("/anything", "/"));
        assert!(!path_match("/Docs", "/docs"));
    }

    #[test]
    fn secure_schemes() {
        assert!(is_secure(&Url::parse("https://example.com/").unwrap()));
        assert!(is_secure(&Url::parse("wss://example.com/").unwrap()));
        assert!(!is_secure(&Url::parse("http://example.com/").unwrap()));
        assert!(!is_secure(&Url::parse("ws://example.com/").unwrap()));
        // Loopback hosts are trustworthy whatever the scheme, as browsers and curl hold.
        for url in [
            "http://localhost/",
            "http://LOCALHOST:8888/",
            "http://localhost./",
            "http://app.localhost/",
            "http://127.0.0.1/",
            "http://127.1.2.3:8000/",
            "http://[::1]/",
            "ws://localhost/",
        ] {
            assert!(is_secure(&Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "http://localhost.example.com/",
            "http://notlocalhost/",
            "http://128.0.0.1/",
            "http://[::2]/",
            "http://10.0.0.1/",
        ] {
            assert!(!is_secure(&Url::parse(url).unwrap()), "{url}");
        }
    }

    #[test]
    fn public_suffixes() {
        for suffix in ["com", "co.uk", "github.io", "localhost"] {
            assert!(is_public_suffix(suffix), "{suffix}");
        }
        for domain in [
            "example.com",
            "example.co.uk",
            "user.github.io",
            "example.localhost",
        ] {
            assert!(!is_public_suffix(domain), "{domain}");
        }
    }
}
