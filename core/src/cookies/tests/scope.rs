//! Where cookies go: domains, public suffixes, IP hosts, paths, Secure, prefixes, SameSite
//! (RFC 6265bis §5.1.3, §5.1.4, §5.7 steps 7–22).

use super::*;

#[test]
fn host_only_cookies_go_to_their_host_alone() {
    let mut jar = jar_with("https://www.example.com/", &["a=1"]);
    let cookie = jar.get("a").unwrap();
    assert!(cookie.host_only);
    assert_eq!(cookie.domain, "www.example.com");
    assert_eq!(
        header(&mut jar, "https://www.example.com/").as_deref(),
        Some("a=1")
    );
    assert_eq!(header(&mut jar, "https://sub.www.example.com/"), None);
    assert_eq!(header(&mut jar, "https://example.com/"), None);
}

#[test]
fn domain_cookies_go_to_subdomains() {
    let mut jar = jar_with("https://www.example.com/", &["a=1; Domain=.Example.COM"]);
    let cookie = jar.get("a").unwrap();
    assert!(!cookie.host_only);
    assert_eq!(cookie.domain, "example.com");
    for to in [
        "https://example.com/",
        "https://www.example.com/",
        "https://a.b.example.com/",
    ] {
        assert_eq!(header(&mut jar, to).as_deref(), Some("a=1"), "{to}");
    }
    assert_eq!(header(&mut jar, "https://badexample.com/"), None);
    assert_eq!(header(&mut jar, "https://example.org/"), None);
}

#[test]
fn domain_must_match_the_request_host_on_label_boundaries() {
    assert_eq!(
        rejected("https://badexample.com/", "a=1; Domain=example.com"),
        CookieRejected::DomainMismatch {
            domain: "example.com".into(),
            host: "badexample.com".into()
        }
    );
    assert!(matches!(
        rejected("https://example.com/", "a=1; Domain=www.example.com"),
        CookieRejected::DomainMismatch { .. }
    ));
    assert!(matches!(
        rejected("https://example.com/", "a=1; Domain=bücher.de"),
        CookieRejected::NonAsciiDomain { .. }
    ));
    // A Domain equal to the host makes a domain cookie (not host-only).
    let jar = jar_with("https://example.com/", &["a=1; Domain=example.com"]);
    assert!(!jar.get("a").unwrap().host_only);
}

#[test]
fn public_suffix_domains_are_refused() {
    for (from, domain) in [
        ("https://www.example.co.uk/", "co.uk"),
        ("https://www.example.com/", "com"),
        ("https://user.github.io/", "github.io"),
        ("https://user.github.io/", ".GitHub.io"),
    ] {
        let err = rejected(from, &format!("a=1; Domain={domain}"));
        assert!(
            matches!(err, CookieRejected::PublicSuffix { .. }),
            "{domain}: {err}"
        );
    }
    // Registrable domains below a suffix are fine.
    let jar = jar_with("https://www.example.co.uk/", &["a=1; Domain=example.co.uk"]);
    assert_eq!(jar.get("a").unwrap().domain, "example.co.uk");
}

#[test]
fn a_public_suffix_equal_to_the_host_is_host_only() {
    // §5.7 step 9: the host may set a cookie for itself, but not for its subdomains.
    let mut jar = jar_with("https://github.io/", &["a=1; Domain=github.io"]);
    let cookie = jar.get("a").unwrap();
    assert!(cookie.host_only);
    assert_eq!(cookie.domain, "github.io");
    assert_eq!(
        header(&mut jar, "https://github.io/").as_deref(),
        Some("a=1")
    );
    assert_eq!(header(&mut jar, "https://user.github.io/"), None);
    let jar = jar_with("http://localhost/", &["a=1; Domain=localhost"]);
    assert!(jar.get("a").unwrap().host_only);
}

#[test]
fn ip_hosts_need_an_identical_domain() {
    let mut jar = jar_with("http://192.168.0.1/", &["a=1", "b=2; Domain=192.168.0.1"]);
    assert!(jar.iter().all(|c| c.host_only && c.domain == "192.168.0.1"));
    assert_eq!(
        header(&mut jar, "http://192.168.0.1/").as_deref(),
        Some("a=1; b=2")
    );
    assert!(matches!(
        rejected("http://192.168.0.1/", "a=1; Domain=168.0.1"),
        CookieRejected::DomainMismatch { .. }
    ));
    assert!(matches!(
        rejected("http://192.168.0.1/", "a=1; Domain=0.1"),
        CookieRejected::DomainMismatch { .. }
    ));
    let mut jar = jar_with("http://[::1]:8080/", &["a=1; Domain=::1", "b=2"]);
    assert_eq!(
        header(&mut jar, "http://[::1]/").as_deref(),
        Some("a=1; b=2")
    );
    assert_eq!(header(&mut jar, "http://[::2]/"), None);
}

#[test]
fn default_path_and_path_matching() {
    let mut jar = jar_with(
        "https://example.com/docs/page",
        &["a=1", "b=2; Path=/docs/web"],
    );
    assert_eq!(jar.get("a").unwrap().path, "/docs");
    assert_eq!(jar.get("b").unwrap().path, "/docs/web");
    assert_eq!(
        header(&mut jar, "https://example.com/docs").as_deref(),
        Some("a=1")
    );
    assert_eq!(
        header(&mut jar, "https://example.com/docs/").as_deref(),
        Some("a=1")
    );
    assert_eq!(
        header(&mut jar, "https://example.com/docs/web/x").as_deref(),
        Some("b=2; a=1")
    );
    assert_eq!(header(&mut jar, "https://example.com/docsx"), None);
    assert_eq!(header(&mut jar, "https://example.com/"), None);
    // A Path that does not start with "/" means the default path.
    let jar = jar_with("https://example.com/a/b", &["c=3; Path=relative"]);
    assert_eq!(jar.get("c").unwrap().path, "/a");
}

#[test]
fn secure_cookies_need_a_secure_origin_both_ways() {
    assert_eq!(
        rejected("http://example.com/", "a=1; Secure"),
        CookieRejected::SecureFromInsecure
    );
    // Loopback origins count as secure (as in browsers and curl): a site under development
    // on http://localhost can set and get its Secure cookies, and they go nowhere else.
    for origin in [
        "http://localhost:8888/",
        "http://127.0.0.1/",
        "http://[::1]/",
    ] {
        let mut jar = jar_with(origin, &["s=1; Secure", "__Host-h=2; Secure; Path=/"]);
        assert_eq!(header(&mut jar, origin).as_deref(), Some("s=1; __Host-h=2"));
    }
    let mut jar = jar_with("http://localhost/", &["s=1; Secure; Domain=localhost"]);
    assert_eq!(
        header(&mut jar, "http://localhost/").as_deref(),
        Some("s=1")
    );
    let mut jar = jar_with("https://example.com/", &["a=1; Secure", "b=2"]);
    assert_eq!(
        header(&mut jar, "https://example.com/").as_deref(),
        Some("a=1; b=2")
    );
    assert_eq!(
        header(&mut jar, "wss://example.com/").as_deref(),
        Some("a=1; b=2")
    );
    assert_eq!(
        header(&mut jar, "http://example.com/").as_deref(),
        Some("b=2")
    );
    assert_eq!(
        header(&mut jar, "ws://example.com/").as_deref(),
        Some("b=2")
    );
}

#[test]
fn an_insecure_origin_may_not_shadow_a_secure_cookie() {
    let mut jar = jar_with(
        "https://www.example.com/",
        &["sid=secret; Secure; Domain=example.com; Path=/app"],
    );
    let shadow = |jar: &mut CookieJar, from: &str, set: &str| jar.store(&url(from), set, now());
    // Same name, overlapping domain (either way), a path under the secure cookie's path.
    for (from, set) in [
        ("http://www.example.com/app/x", "sid=evil"),
        ("http://www.example.com/", "sid=evil; Path=/app/deeper"),
        ("http://example.com/", "sid=evil; Path=/app"),
        (
            "http://a.www.example.com/",
            "sid=evil; Domain=www.example.com; Path=/app",
        ),
    ] {
        assert_eq!(
            shadow(&mut jar, from, set),
            Err(CookieRejected::ShadowsSecure { name: "sid".into() }),
            "{from} {set}"
        );
    }
    // Not shadowing: another path, another domain, another name, or a secure origin.
    shadow(&mut jar, "http://www.example.com/", "sid=ok; Path=/other").unwrap();
    shadow(&mut jar, "http://example.org/app/", "sid=ok").unwrap();
    shadow(&mut jar, "http://www.example.com/app/x", "other=ok").unwrap();
    shadow(&mut jar, "https://www.example.com/app/x", "sid=fine").unwrap();
    assert_eq!(
        jar.get_for("example.com", "/app", "sid").unwrap().value,
        "secret"
    );
    // Nor may it delete the secure cookie.
    assert!(
        shadow(
            &mut jar,
            "http://example.com/",
            "sid=; Max-Age=0; Domain=example.com; Path=/app"
        )
        .is_err()
    );
    assert!(jar.get_for("example.com", "/app", "sid").is_some());
    // Once the Secure cookie has expired, it shadows nothing.
    let mut jar = jar_with("https://example.com/", &["sid=secret; Secure; Max-Age=10"]);
    let later = now() + std::time::Duration::from_secs(10);
    jar.store(&url("http://example.com/"), "sid=plain", later)
        .unwrap();
    assert_eq!(
        jar.get("sid").map(|c| (c.value.as_str(), c.secure)),
        Some(("plain", false))
    );
}

#[test]
fn http_only_is_stored_and_sent() {
    let mut jar = jar_with("https://example.com/", &["a=1; HttpOnly"]);
    assert!(jar.get("a").unwrap().http_only);
    assert_eq!(
        header(&mut jar, "https://example.com/").as_deref(),
        Some("a=1")
    );
}

#[test]
fn secure_prefix() {
    assert_eq!(
        rejected("https://example.com/", "__Secure-a=1"),
        CookieRejected::SecurePrefix
    );
    assert_eq!(
        rejected("https://example.com/", "__secure-a=1"),
        CookieRejected::SecurePrefix
    );
    assert_eq!(
        rejected("http://example.com/", "__Secure-a=1; Secure"),
        CookieRejected::SecureFromInsecure
    );
    jar_with(
        "https://example.com/",
        &["__Secure-a=1; Secure; Domain=example.com; Path=/x"],
    );
    jar_with("https://example.com/", &["__SECURE-a=1; Secure"]);
}

#[test]
fn host_prefix() {
    let ok = "__Host-a=1; Secure; Path=/";
    let jar = jar_with(
        "https://www.example.com/deep/page",
        &[ok, "__host-b=2; secure; path=/"],
    );
    assert!(jar.iter().all(|c| c.host_only && c.path == "/"));
    for bad in [
        "__Host-a=1; Path=/",
        "__Host-a=1; Secure",
        "__Host-a=1; Secure; Path=/deep",
        "__Host-a=1; Secure; Path=relative",
        "__Host-a=1; Secure; Path=/; Domain=www.example.com",
        "__HOST-a=1; Secure; Path=/; Domain=example.com",
    ] {
        assert_eq!(
            rejected("https://www.example.com/deep/page", bad),
            CookieRejected::HostPrefix,
            "{bad}"
        );
    }
}

#[test]
fn nameless_cookies_may_not_look_prefixed() {
    let mut jar = jar_with("https://example.com/", &["bare", "=also; Path=/x"]);
    assert_eq!(jar.get_for("example.com", "/", "").unwrap().value, "bare");
    assert_eq!(
        header(&mut jar, "https://example.com/x").as_deref(),
        Some("also; bare")
    );
    // Nameless cookies share the name "": one replaces another with the same domain and path.
    jar.store(&url("https://example.com/"), "again", now())
        .unwrap();
    assert_eq!(
        header(&mut jar, "https://example.com/").as_deref(),
        Some("again")
    );
    assert_eq!(
        rejected("https://example.com/", "__Host-x; Secure; Path=/"),
        CookieRejected::NamelessPrefix
    );
    assert_eq!(
        rejected("https://example.com/", "=__secure-x; Secure"),
        CookieRejected::NamelessPrefix
    );
}

#[test]
fn same_site_is_stored_and_none_needs_secure() {
    let jar = jar_with(
        "https://example.com/",
        &[
            "s=1; SameSite=Strict",
            "l=1; samesite=lax",
            "n=1; SameSite=None; Secure",
            "d=1; SameSite=odd",
        ],
    );
    let same_site = |name| jar.get(name).unwrap().same_site;
    assert_eq!(same_site("s"), Some(SameSite::Strict));
    assert_eq!(same_site("l"), Some(SameSite::Lax));
    assert_eq!(same_site("n"), Some(SameSite::None));
    assert_eq!(same_site("d"), None);
    assert_eq!(
        rejected("https://example.com/", "n=1; SameSite=None"),
        CookieRejected::SameSiteNoneWithoutSecure
    );
}
