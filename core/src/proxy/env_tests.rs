//! Proxy settings from an environment snapshot: precedence, httpoxy, fallbacks, errors.

use url::Url;

use super::super::{NoProxy, Proxy, ProxyConfig, ProxyError, ProxyScheme};

fn proxy(s: &str) -> Proxy {
    Proxy::parse(s).unwrap()
}

fn env(pairs: &[(&str, &str)]) -> ProxyConfig {
    let vars: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    ProxyConfig::from_env(&vars)
}

/// The host of the proxy selected for `u`, or "direct".
fn via(config: &ProxyConfig, u: &str) -> String {
    config
        .select(&Url::parse(u).unwrap())
        .map_or_else(|| "direct".to_owned(), |p| p.host().to_owned())
}

#[test]
fn env_scheme_variables() {
    let config = env(&[("http_proxy", "http://h:1"), ("https_proxy", "https://s:2")]);
    assert_eq!(via(&config, "http://example.com/"), "h");
    assert_eq!(via(&config, "https://example.com/"), "s");
    assert_eq!(config.https_proxy().unwrap().scheme(), ProxyScheme::Https);
    // https_proxy is for https URLs only.
    let config = env(&[("https_proxy", "http://s:2")]);
    assert_eq!(via(&config, "http://example.com/"), "direct");
    assert_eq!(via(&config, "https://example.com/"), "s");
    assert!(env(&[]).is_direct());
    assert_eq!(env(&[]), ProxyConfig::none());
    // Unrelated and differently spelled names are not read.
    assert!(env(&[("Http_Proxy", "p"), ("PROXY", "p"), ("ftp_proxy", "p")]).is_direct());
}

#[test]
fn env_lower_case_wins() {
    let config = env(&[
        ("HTTP_PROXY", "http://upper-h"),
        ("http_proxy", "http://lower-h"),
        ("https_proxy", "http://lower-s"),
        ("HTTPS_PROXY", "http://upper-s"),
        ("ALL_PROXY", "http://upper-a"),
        ("all_proxy", "http://lower-a"),
    ]);
    assert_eq!(via(&config, "http://x/"), "lower-h");
    assert_eq!(via(&config, "https://x/"), "lower-s");
    let config = env(&[
        ("ALL_PROXY", "http://upper-a"),
        ("all_proxy", "http://lower-a"),
    ]);
    assert_eq!(via(&config, "https://x/"), "lower-a");
    // Upper case alone is read.
    let config = env(&[
        ("HTTP_PROXY", "http://upper-h"),
        ("HTTPS_PROXY", "http://upper-s"),
    ]);
    assert_eq!(
        (via(&config, "http://x/"), via(&config, "https://x/")),
        ("upper-h".into(), "upper-s".into())
    );
    // A present but empty lower-case variable hides the upper-case one (curl, urllib).
    let config = env(&[("https_proxy", ""), ("HTTPS_PROXY", "http://upper-s")]);
    assert_eq!(via(&config, "https://x/"), "direct");
    let config = env(&[("no_proxy", ""), ("NO_PROXY", "x")]);
    assert_eq!(config.no_proxy_rules(), &NoProxy::default());
    // When the same name appears twice, the last pair wins.
    let config = env(&[
        ("http_proxy", "http://first"),
        ("http_proxy", "http://last"),
    ]);
    assert_eq!(via(&config, "http://x/"), "last");
}

#[test]
fn env_empty_values_and_all_proxy_fallback() {
    let config = env(&[("all_proxy", "http://a:1080")]);
    assert_eq!(via(&config, "http://x/"), "a");
    assert_eq!(via(&config, "https://x/"), "a");
    let config = env(&[("http_proxy", "http://h"), ("ALL_PROXY", "http://a")]);
    assert_eq!(
        (via(&config, "http://x/"), via(&config, "https://x/")),
        ("h".into(), "a".into())
    );
    // Empty means unset: the scheme falls back to all_proxy.
    let config = env(&[
        ("http_proxy", ""),
        ("https_proxy", "  "),
        ("all_proxy", "http://a"),
    ]);
    assert_eq!(
        (via(&config, "http://x/"), via(&config, "https://x/")),
        ("a".into(), "a".into())
    );
    assert!(env(&[("http_proxy", ""), ("all_proxy", ""), ("no_proxy", "")]).is_direct());
    assert!(config.env_errors().is_empty());
}

#[test]
fn env_httpoxy() {
    // Under CGI, HTTP_PROXY may come from a request's `Proxy:` header: ignored.
    for method in ["GET", ""] {
        let config = env(&[("REQUEST_METHOD", method), ("HTTP_PROXY", "http://evil")]);
        assert_eq!(
            via(&config, "http://x/"),
            "direct",
            "REQUEST_METHOD={method:?}"
        );
    }
    let config = env(&[
        ("REQUEST_METHOD", "GET"),
        ("HTTP_PROXY", "http://evil"),
        ("ALL_PROXY", "http://a"),
    ]);
    assert_eq!(via(&config, "http://x/"), "a");
    // The lower-case variable and the other upper-case ones still count.
    let config = env(&[
        ("REQUEST_METHOD", "POST"),
        ("http_proxy", "http://h"),
        ("HTTPS_PROXY", "http://s"),
        ("NO_PROXY", "internal"),
    ]);
    assert_eq!(via(&config, "http://x/"), "h");
    assert_eq!(via(&config, "https://x/"), "s");
    assert_eq!(via(&config, "https://internal/"), "direct");
    // Without REQUEST_METHOD, HTTP_PROXY is read.
    assert_eq!(via(&env(&[("HTTP_PROXY", "http://h")]), "http://x/"), "h");
}

#[test]
fn env_no_proxy() {
    let config = env(&[
        ("all_proxy", "http://a"),
        ("NO_PROXY", "localhost,.corp,10.0.0.0/8"),
    ]);
    assert_eq!(via(&config, "http://localhost:8000/"), "direct");
    assert_eq!(via(&config, "https://git.corp/"), "direct");
    assert_eq!(via(&config, "http://10.2.3.4/"), "direct");
    assert_eq!(via(&config, "http://example.com/"), "a");
    let config = env(&[
        ("https_proxy", "http://s"),
        ("no_proxy", "*"),
        ("NO_PROXY", "x"),
    ]);
    assert_eq!(via(&config, "https://anything/"), "direct");
    // Explicit settings compose with the environment.
    let config =
        env(&[("http_proxy", "http://h"), ("no_proxy", "internal")]).with_https(proxy("explicit"));
    assert_eq!(via(&config, "https://x/"), "explicit");
    assert_eq!(via(&config, "http://x/"), "h");
    assert_eq!(via(&config, "https://internal/"), "direct");
}

#[test]
fn env_malformed_values_are_skipped() {
    let config = env(&[
        ("http_proxy", "http://user:hunter2@proxy:99999"),
        ("HTTPS_PROXY", "socks4://s"),
        ("all_proxy", "http://a:3128"),
    ]);
    assert_eq!(via(&config, "http://x/"), "a");
    assert_eq!(via(&config, "https://x/"), "a");
    let errors = config.env_errors();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].0, "http_proxy");
    assert!(matches!(errors[0].1, ProxyError::InvalidUrl(_)));
    assert_eq!(
        errors[1],
        (
            "HTTPS_PROXY".into(),
            ProxyError::UnsupportedScheme("socks4".into())
        )
    );
    assert!(!format!("{errors:?}").contains("hunter2"));
    let config = env(&[("all_proxy", "http://")]);
    assert!(config.is_direct());
    assert_eq!(
        config.env_errors(),
        &[("all_proxy".into(), ProxyError::MissingHost)][..]
    );
    // Bare host:port in the environment is an http proxy.
    let config = env(&[("https_proxy", "proxy.corp:3128")]);
    let p = config.select(&Url::parse("https://x/").unwrap()).unwrap();
    assert_eq!(
        (p.scheme(), p.host(), p.port()),
        (ProxyScheme::Http, "proxy.corp", 3128)
    );
}
