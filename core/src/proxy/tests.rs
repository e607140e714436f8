//! Proxy URLs, `no_proxy` rules and selection (the environment: `env_tests.rs`).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use url::Url;

use super::*;

fn proxy(s: &str) -> Proxy {
    Proxy::parse(s).unwrap()
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// The host of the proxy selected for `u`, or "direct".
fn via(config: &ProxyConfig, u: &str) -> String {
    config
        .select(&url(u))
        .map_or_else(|| "direct".to_owned(), |p| p.host().to_owned())
}

#[test]
fn parses_schemes_hosts_and_default_ports() {
    let cases = [
        ("http://proxy:3128", ProxyScheme::Http, "proxy", 3128),
        ("http://proxy", ProxyScheme::Http, "proxy", 80),
        ("https://proxy", ProxyScheme::Https, "proxy", 443),
        ("https://proxy:443", ProxyScheme::Https, "proxy", 443),
        ("https://proxy:80", ProxyScheme::Https, "proxy", 80),
        ("http://[::1]:8080", ProxyScheme::Http, "::1", 8080),
        ("http://0x7f.1:3128", ProxyScheme::Http, "127.0.0.1", 3128),
        (
            "  http://proxy:3128/ignored/path\n",
            ProxyScheme::Http,
            "proxy",
            3128,
        ),
        // Bare host[:port] is an http proxy, as curl and requests read it.
        ("proxy:3128", ProxyScheme::Http, "proxy", 3128),
        ("localhost", ProxyScheme::Http, "localhost", 80),
        ("10.0.0.1:8080", ProxyScheme::Http, "10.0.0.1", 8080),
        ("[::1]:3128", ProxyScheme::Http, "::1", 3128),
        ("user:pw@proxy:3128", ProxyScheme::Http, "proxy", 3128),
    ];
    for (input, scheme, host, port) in cases {
        let p = Proxy::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(
            (p.scheme(), p.host(), p.port()),
            (scheme, host, port),
            "{input}"
        );
    }
}

#[cfg(feature = "socks")]
#[test]
fn parses_socks_schemes() {
    let cases = [
        ("socks5://proxy", ProxyScheme::Socks5, "proxy", 1080),
        (
            "socks5h://127.0.0.1:1080",
            ProxyScheme::Socks5h,
            "127.0.0.1",
            1080,
        ),
        (
            "SOCKS5H://Proxy.Example.COM:9050/",
            ProxyScheme::Socks5h,
            "proxy.example.com",
            9050,
        ),
        ("socks5://proxy:80", ProxyScheme::Socks5, "proxy", 80),
        ("socks5://[::1]", ProxyScheme::Socks5, "::1", 1080),
        ("socks5://[::1]:80", ProxyScheme::Socks5, "::1", 80),
        (
            "socks5://user:pw@proxy:80",
            ProxyScheme::Socks5,
            "proxy",
            80,
        ),
    ];
    for (input, scheme, host, port) in cases {
        let p = Proxy::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(
            (p.scheme(), p.host(), p.port()),
            (scheme, host, port),
            "{input}"
        );
    }
    let p = proxy("socks5h://alice:hunter2@[::1]:1080");
    assert!(!format!("{p:?}").contains("hunter2"));
    assert_eq!(p.to_string(), "socks5h://[::1]:1080");
    assert_ne!(proxy("socks5://p"), proxy("socks5h://p"));
}

#[cfg(not(feature = "socks"))]
#[test]
fn socks_urls_need_the_socks_feature() {
    for (url, scheme) in [
        ("socks5://proxy:1080", "socks5"),
        ("SOCKS5H://user:pw@proxy", "socks5h"),
    ] {
        let err = Proxy::parse(url).unwrap_err();
        assert_eq!(err, ProxyError::SocksDisabled(scheme.into()));
        assert!(err.to_string().contains("`socks` feature"), "{err}");
        assert!(!err.to_string().contains("pw"), "{err}");
    }
}

#[test]
fn rejects_invalid_proxy_urls() {
    let err = Proxy::parse("socks4://proxy:1080").unwrap_err();
    assert_eq!(err, ProxyError::UnsupportedScheme("socks4".into()));
    assert!(matches!(
        Proxy::parse("ftp://p").unwrap_err(),
        ProxyError::UnsupportedScheme(_)
    ));
    for bad in ["http://", "", "http://:3128", "http://user:pw@"] {
        assert!(Proxy::parse(bad).is_err(), "{bad:?}");
    }
    assert!(matches!(
        Proxy::parse("http://p:99999"),
        Err(ProxyError::InvalidUrl(_))
    ));
    assert!(matches!(
        Proxy::parse("http://p/?q"),
        Err(ProxyError::InvalidUrl(_))
    ));
    assert!(matches!(
        Proxy::parse("http://p/#f"),
        Err(ProxyError::InvalidUrl(_))
    ));
    let err = Proxy::parse("http://u:%ff@p").unwrap_err();
    assert_eq!(err, ProxyError::CredentialsNotUtf8);
    let err = Proxy::parse("alice:hunter2@proxy://x").unwrap_err();
    assert_eq!(err, ProxyError::UnsupportedScheme("<invalid>".into()));
    // No error message repeats a password.
    for bad in [
        "http://user:hunter2@p:99999",
        "http://user:hunter2@p/?q",
        "x://u:hunter2@p",
    ] {
        let err = Proxy::parse(bad).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!err.is_remote());
    }
}

#[test]
fn credentials_are_percent_decoded() {
    let p = proxy("http://us%40er:p%3Ass%20w%C3%B6rd@proxy:3128");
    assert_eq!(p.credentials(), Some(("us@er", "p:ss wörd")));
    assert_eq!(
        proxy("http://alice@proxy").credentials(),
        Some(("alice", ""))
    );
    assert_eq!(proxy("http://:pw@proxy").credentials(), Some(("", "pw")));
    assert_eq!(proxy("http://proxy").credentials(), None);
    assert_eq!(proxy("http://proxy").basic_authorization(), None);
    // RFC 7617 §2: base64 of "Aladdin:open sesame".
    let p = proxy("http://Aladdin:open%20sesame@proxy");
    assert_eq!(
        p.basic_authorization().as_deref(),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    );
    // §2.1: UTF-8.
    let p = proxy("http://test:123%C2%A3@proxy");
    assert_eq!(
        p.basic_authorization().as_deref(),
        Some("Basic dGVzdDoxMjPCow==")
    );
    let p = proxy("http://proxy").with_credentials("a:b", "c@d");
    assert_eq!(p.credentials(), Some(("a:b", "c@d")));
}

#[test]
fn debug_and_display_hide_the_password() {
    let p = proxy("https://alice:hunter2@[::1]:1080");
    let debug = format!("{p:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(
        debug.contains("alice") && debug.contains("<hidden>"),
        "{debug}"
    );
    assert_eq!(p.to_string(), "https://[::1]:1080");
    let config = ProxyConfig::all(p).for_host("x", Some(proxy("http://u:hunter2@p")));
    assert!(!format!("{config:?}").contains("hunter2"));
    assert_eq!(proxy("http://p").to_string(), "http://p:80");
    assert!(format!("{:?}", proxy("http://p")).contains("user: None"));
}

#[test]
fn equality_and_hash_include_credentials() {
    let hash = |p: &Proxy| {
        let mut h = DefaultHasher::new();
        p.hash(&mut h);
        h.finish()
    };
    let a = proxy("http://u:one@p:3128");
    let b = proxy("http://u:two@p:3128");
    assert_ne!(a, b);
    assert_ne!(hash(&a), hash(&b));
    let c = proxy("HTTP://u:one@P:3128/");
    assert_eq!(a, c);
    assert_eq!(hash(&a), hash(&c));
    assert_ne!(proxy("http://p"), proxy("https://p"));
}

#[test]
fn scheme_properties() {
    assert!(ProxyScheme::Socks5.is_socks() && ProxyScheme::Socks5h.is_socks());
    assert!(!ProxyScheme::Http.is_socks() && !ProxyScheme::Https.is_socks());
    assert!(ProxyScheme::Https.is_tls() && !ProxyScheme::Http.is_tls());
    assert_eq!(ProxyScheme::Socks5h.to_string(), "socks5h");
}

#[test]
fn no_proxy_domains_and_subdomains() {
    for rules in [
        "example.com",
        ".example.com",
        "*.example.com",
        "EXAMPLE.com.",
        " example.com ",
    ] {
        let np = NoProxy::parse(rules);
        for host in [
            "example.com",
            "www.example.com",
            "a.b.example.com",
            "WWW.Example.COM.",
        ] {
            assert!(np.matches(host, 443), "{rules:?} should match {host}");
        }
        for host in ["notexample.com", "example.com.evil", "example.org", "com"] {
            assert!(!np.matches(host, 443), "{rules:?} should not match {host}");
        }
    }
    let np = NoProxy::parse("bücher.example");
    assert!(np.matches("xn--bcher-kva.example", 80));
    assert!(np.matches("www.BÜCHER.example", 80));
}

#[test]
fn no_proxy_lists_and_wildcard() {
    let np = NoProxy::parse(" localhost , ,internal.corp,  ");
    assert!(np.matches("localhost", 1) && np.matches("db.internal.corp", 5432));
    assert!(!np.matches("example.com", 80));
    assert!(NoProxy::parse("").is_empty() && NoProxy::parse(" , ").is_empty());
    assert!(!NoProxy::parse("").matches("anything", 80));
    for rules in ["*", " * ", "localhost,*"] {
        let np = NoProxy::parse(rules);
        for host in ["example.com", "10.0.0.1", "::1", "[::1]"] {
            assert!(np.matches(host, 80), "{rules:?} {host}");
        }
    }
    // `*` inside a name is not a wildcard.
    assert!(!NoProxy::parse("*example.com").matches("www.example.com", 80));
}

#[test]
fn no_proxy_ports() {
    let np = NoProxy::parse("example.com:8080, 10.0.0.1:22, [::1]:8443, [fe80::1]");
    assert!(np.matches("example.com", 8080) && np.matches("www.example.com", 8080));
    assert!(!np.matches("example.com", 80));
    assert!(np.matches("10.0.0.1", 22) && !np.matches("10.0.0.1", 80));
    assert!(np.matches("::1", 8443) && np.matches("[::1]", 8443) && !np.matches("::1", 80));
    assert!(np.matches("fe80::1", 1));
    // Unreadable entries are skipped, the rest still apply.
    let np = NoProxy::parse("example.com:http, good.test, [::1, [::2]x, 10.0.0.0/33, x/y");
    assert!(!np.matches("example.com", 80));
    assert!(!np.matches("::1", 80) && !np.matches("::2", 80));
    assert!(np.matches("good.test", 80));
    // Entries that leave no name are no rules (not one matching names with a final dot).
    let np = NoProxy::parse(".,*.,..:80");
    assert!(np.is_empty() && !np.matches("example.com.", 80));
}

#[test]
fn no_proxy_ip_addresses() {
    let np = NoProxy::parse("127.0.0.1, ::1, [2001:db8::5]");
    assert!(np.matches("127.0.0.1", 80));
    assert!(!np.matches("127.0.0.2", 80));
    assert!(np.matches("::1", 80) && np.matches("[::1]", 80) && np.matches("0:0::1", 80));
    assert!(np.matches("[2001:DB8:0::5]", 443));
    assert!(
        np.matches("::ffff:127.0.0.1", 80),
        "IPv4-mapped is the IPv4 address"
    );
    // IP rules never match names (no DNS), names never match IP addresses.
    assert!(!np.matches("localhost", 80));
    assert!(!NoProxy::parse("0.1").matches("127.0.0.1", 80));
    assert!(!NoProxy::parse("localhost").matches("127.0.0.1", 80));
}

#[test]
fn no_proxy_cidr() {
    let np = NoProxy::parse("10.0.0.0/8, 192.168.1.0/24, fd00::/8, ::1/128, 172.16.5.4/12");
    for host in [
        "10.0.0.1",
        "10.255.255.255",
        "192.168.1.77",
        "fd12:3456::1",
        "::1",
        "[::1]",
    ] {
        assert!(np.matches(host, 80), "{host}");
    }
    for host in [
        "11.0.0.1",
        "192.168.2.1",
        "fe80::1",
        "::2",
        "example.com",
        "10.example",
    ] {
        assert!(!np.matches(host, 80), "{host}");
    }
    // Host bits in the network are ignored, as curl does.
    assert!(np.matches("172.31.0.1", 80) && !np.matches("172.32.0.1", 80));
    assert!(NoProxy::parse("0.0.0.0/0").matches("8.8.8.8", 1));
    assert!(
        !NoProxy::parse("0.0.0.0/0").matches("::1", 1),
        "families never mix"
    );
    assert!(NoProxy::parse("::/0").matches("2001:db8::1", 1));
    assert!(NoProxy::parse("1.2.3.4/32").matches("1.2.3.4", 1));
    assert!(!NoProxy::parse("1.2.3.4/32").matches("1.2.3.5", 1));
    assert!(NoProxy::parse("[::1]/128").matches("::1", 1));
    assert!(NoProxy::parse("::ffff:10.0.0.0/104").matches("10.9.8.7", 1));
    assert!(NoProxy::parse("10.0.0.0/8").matches("::ffff:10.1.1.1", 1));
}

#[test]
fn select_by_scheme() {
    let config = ProxyConfig::http(proxy("h")).with_https(proxy("s"));
    assert_eq!(via(&config, "http://example.com/"), "h");
    assert_eq!(via(&config, "https://example.com/"), "s");
    assert_eq!(via(&config, "ws://example.com/"), "h");
    assert_eq!(via(&config, "wss://example.com/"), "s");
    assert_eq!(via(&config, "ftp://example.com/"), "direct");
    assert_eq!(via(&config, "file:///etc/hosts"), "direct");
    assert_eq!(
        via(&ProxyConfig::https(proxy("s")), "http://example.com/"),
        "direct"
    );
    assert_eq!(
        via(&ProxyConfig::http(proxy("h")), "https://example.com/"),
        "direct"
    );
    assert_eq!(
        via(&ProxyConfig::all(proxy("a")), "https://example.com/"),
        "a"
    );
    assert_eq!(via(&ProxyConfig::none(), "https://example.com/"), "direct");
    assert!(ProxyConfig::none().is_direct() && ProxyConfig::default().is_direct());
    assert!(!ProxyConfig::all(proxy("a")).is_direct());
    assert!(ProxyConfig::none().for_host("*", None).is_direct());
    assert_eq!(ProxyConfig::all(proxy("a")).http_proxy(), Some(&proxy("a")));
    let https_only = ProxyConfig::https(proxy("s"));
    assert_eq!(via(&https_only, "https://example.com/"), "s");
    assert_eq!(https_only.https_proxy(), Some(&proxy("s")));
    assert_eq!(https_only.http_proxy(), None);
}

#[test]
fn select_with_no_proxy() {
    let config =
        ProxyConfig::all(proxy("p")).no_proxy(NoProxy::parse("internal, 10.0.0.0/8, a.test:8080"));
    assert_eq!(via(&config, "http://internal/"), "direct");
    assert_eq!(via(&config, "https://x.internal:8443/"), "direct");
    assert_eq!(via(&config, "http://10.1.2.3/"), "direct");
    assert_eq!(via(&config, "http://a.test:8080/"), "direct");
    assert_eq!(via(&config, "http://a.test/"), "p");
    assert_eq!(via(&config, "https://example.com/"), "p");
    // The default port of the scheme counts.
    let config = ProxyConfig::all(proxy("p")).no_proxy(NoProxy::parse("a.test:443"));
    assert_eq!(via(&config, "https://a.test/"), "direct");
    assert_eq!(via(&config, "http://a.test/"), "p");
    let config = ProxyConfig::all(proxy("p")).no_proxy(NoProxy::parse("::1"));
    assert_eq!(via(&config, "http://[::1]:8080/"), "direct");
    assert_eq!(config.no_proxy_rules(), &NoProxy::parse("::1"));
    assert!(ProxyConfig::all(proxy("p")).no_proxy_rules().is_empty());
}

#[test]
fn select_with_host_rules() {
    let config = ProxyConfig::all(proxy("default"))
        .no_proxy(NoProxy::parse("corp.example"))
        .for_host("API.partner.example.", Some(proxy("exact")))
        .for_host("*.partner.example", Some(proxy("wild")))
        .for_host("*.corp.example", Some(proxy("corp")))
        .for_host("direct.example", None)
        .for_host("[::1]", Some(proxy("v6")))
        .for_host(
            "*.partner.example",
            Some(proxy("never-an-earlier-rule-wins")),
        );
    assert_eq!(via(&config, "https://api.partner.example/"), "exact");
    assert_eq!(via(&config, "https://a.b.partner.example/"), "wild");
    // `*.suffix` does not match the suffix itself.
    assert_eq!(via(&config, "https://partner.example/"), "default");
    // Host rules come before no_proxy ...
    assert_eq!(via(&config, "https://git.corp.example/"), "corp");
    assert_eq!(via(&config, "https://corp.example/"), "direct");
    assert_eq!(via(&config, "https://direct.example/"), "direct");
    assert_eq!(via(&config, "http://[::1]:8080/"), "v6");
    // ... and apply to any scheme the URL has.
    let config = ProxyConfig::none().for_host("*", Some(proxy("any")));
    assert_eq!(via(&config, "http://example.com/"), "any");
    assert!(!config.is_direct());
}

#[test]
fn a_proxy_is_shared_by_its_clones_and_copied_when_changed() {
    // Every request's pool key holds an `Option<Proxy>`: one pointer, cloned without copying
    // the host or the credentials.
    assert_eq!(
        std::mem::size_of::<Option<Proxy>>(),
        std::mem::size_of::<usize>()
    );
    let shared = proxy("http://ada:pw@proxy.test:3128");
    let renamed = shared.clone().with_credentials("bob", "pw2");
    assert_eq!(shared.credentials(), Some(("ada", "pw")));
    assert_eq!(renamed.credentials(), Some(("bob", "pw2")));
    assert_ne!(shared, renamed);
    assert_eq!(shared, shared.clone());
}
