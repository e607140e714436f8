use url::Url;

use crate::transport::{MountError, MountPattern, Mounts};

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn matches(pattern: &str, u: &str) -> bool {
    MountPattern::parse(pattern).unwrap().matches(&url(u))
}

#[test]
fn schemes() {
    assert!(matches("all://", "http://a.test/"));
    assert!(matches("all://", "https://a.test/"));
    assert!(!matches("all://", "ftp://a.test/"));
    assert!(matches("http://", "http://a.test/x"));
    assert!(!matches("http://", "https://a.test/"));
    assert!(matches("HTTPS://", "https://a.test/"));
    assert!(matches("http://*", "http://anything.test:9/"));
    assert!(!matches("https://*", "http://anything.test/"));
}

#[test]
fn hosts_and_wildcards() {
    assert!(matches("all://example.com", "http://example.com/"));
    assert!(matches("all://Example.COM/", "https://EXAMPLE.com:1/"));
    assert!(!matches("all://example.com", "http://www.example.com/"));
    assert!(!matches("all://example.com", "http://example.co/"));
    assert!(matches("all://*.example.com", "http://www.example.com/"));
    assert!(matches("all://*.example.com", "http://a.b.example.com/"));
    assert!(!matches("all://*.example.com", "http://example.com/"));
    assert!(!matches("all://*.example.com", "http://wwwexample.com/"));
    // A subdomain has a label of its own before the dot.
    assert!(!matches("all://*.example.com", "http://.example.com/"));
    assert!(matches("all://*example.com", "http://example.com/"));
    assert!(matches("all://*example.com", "http://www.example.com/"));
    assert!(!matches("all://*example.com", "http://myexample.com/"));
    assert!(!matches("all://*example.com", "http://example.com.evil/"));
    assert!(matches("all://127.0.0.1", "http://127.0.0.1:8080/"));
    assert!(matches("all://[::1]", "http://[::1]:8080/"));
    assert!(matches("all://[0:0::1]:8080", "http://[::1]:8080/"));
    assert!(matches("all://bücher.de", "http://xn--bcher-kva.de/"));
    assert!(matches("all://*.bücher.de", "http://www.bücher.de/"));
}

#[test]
fn ports_count_defaults() {
    assert!(matches("http://example.com:80", "http://example.com/"));
    assert!(!matches(
        "http://example.com:80",
        "http://example.com:8080/"
    ));
    assert!(matches("https://example.com:443", "https://example.com/"));
    assert!(!matches("all://example.com:443", "http://example.com/"));
    assert!(matches(
        "all://example.com:8443",
        "https://example.com:8443/"
    ));
    assert!(matches("all://*:8080", "http://x.test:8080/"));
    assert!(!matches("all://*:8080", "http://x.test/"));
}

#[test]
fn bad_patterns() {
    let err = |s: &str| MountPattern::parse(s).unwrap_err();
    assert!(matches!(err("http"), MountError::MissingScheme { .. }));
    assert!(matches!(
        err("example.com"),
        MountError::MissingScheme { .. }
    ));
    assert_eq!(
        err("ftp://x"),
        MountError::UnsupportedScheme {
            scheme: "ftp".into()
        }
    );
    assert!(matches!(
        err("all://x.test/path"),
        MountError::NotAnOrigin { .. }
    ));
    assert!(matches!(
        err("all://u@x.test"),
        MountError::NotAnOrigin { .. }
    ));
    assert!(matches!(
        err("all://x.test?q"),
        MountError::NotAnOrigin { .. }
    ));
    assert!(matches!(
        err("all://x.test:http"),
        MountError::InvalidPort { .. }
    ));
    assert!(matches!(
        err("all://x.test:70000"),
        MountError::InvalidPort { .. }
    ));
    assert!(matches!(
        err("all://x.test:+80"),
        MountError::InvalidPort { .. }
    ));
    assert!(matches!(
        err("all://a.*.test"),
        MountError::InvalidHost { .. }
    ));
    assert!(matches!(
        err("all://**.test"),
        MountError::InvalidHost { .. }
    ));
    assert!(matches!(
        err("all://*.1.2.3"),
        MountError::InvalidHost { .. }
    ));
    assert!(matches!(err("all://[::1"), MountError::InvalidHost { .. }));
    // What follows an IPv6 literal's bracket is a port or nothing.
    assert!(matches!(
        err("all://[::1]a:80"),
        MountError::InvalidHost { .. }
    ));
    assert!(matches!(err("all://:80"), MountError::InvalidHost { .. }));
    assert!(matches!(err("all://a b"), MountError::InvalidHost { .. }));
    assert!(err("http").to_string().contains("all://"));
}

#[test]
fn display_is_normalised() {
    for (given, shown) in [
        ("ALL://", "all://"),
        ("http://*", "http://"),
        ("https://Example.com:8443/", "https://example.com:8443"),
        ("all://*:8080", "all://*:8080"),
        ("all://*Example.com", "all://*example.com"),
        ("all://[0::1]", "all://[::1]"),
    ] {
        let pattern: MountPattern = given.parse().unwrap();
        assert_eq!(pattern.to_string(), shown);
        assert_eq!(MountPattern::parse(shown).unwrap(), pattern);
    }
}

#[test]
fn most_specific_wins() {
    let patterns = [
        "all://",
        "http://",
        "all://*example.com",
        "all://*.example.com",
        "all://*.api.example.com",
        "all://example.com",
        "https://example.com",
        "all://example.com:8080",
        "all://*:9000",
    ];
    // Mounted from the least specific up and the other way round: the choice is the
    // pattern's, never the order's.
    for reversed in [false, true] {
        let mut mounts = Mounts::new();
        assert!(mounts.is_empty());
        let mut order: Vec<_> = patterns.iter().enumerate().collect();
        if reversed {
            order.reverse();
        }
        for (i, p) in order {
            mounts.mount(p.parse().unwrap(), i);
        }
        assert!(!mounts.is_empty());
        let select = |u: &str| mounts.select(&url(u)).copied();
        assert_eq!(select("https://other.test/"), Some(0));
        assert_eq!(select("http://other.test/"), Some(1));
        assert_eq!(select("http://example.com/"), Some(5));
        assert_eq!(select("https://example.com/"), Some(6));
        assert_eq!(select("http://www.example.com/"), Some(3), "{reversed}");
        assert_eq!(select("http://v1.api.example.com/"), Some(4));
        assert_eq!(select("http://example.com:8080/"), Some(7));
        assert_eq!(select("http://example.com:9000/"), Some(8));
        assert_eq!(select("ftp://example.com/"), None);
        assert_eq!(mounts.len(), 9);
    }
}

#[test]
fn last_mounted_wins_ties_and_equal_patterns_replace() {
    let mut mounts = Mounts::new();
    mounts.mount("http://".parse().unwrap(), "a");
    mounts.mount("http://*".parse().unwrap(), "b");
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts.select(&url("http://x.test/")), Some(&"b"));
    mounts.mount("all://x.test".parse().unwrap(), "c");
    mounts.mount("all://x.test:80".parse().unwrap(), "d");
    assert_eq!(mounts.select(&url("http://x.test/")), Some(&"d"));
    let order: Vec<_> = mounts.iter().map(|(_, t)| *t).collect();
    assert_eq!(order, ["b", "c", "d"]);
    assert_eq!(Mounts::<()>::new().select(&url("http://x.test/")), None);
}
