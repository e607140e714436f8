//! How long cookies live, how many fit, how they are replaced and sent (RFC 6265bis §5.6.1–2,
//! §5.7 steps 23–25, §5.8.3), and the jar's own API.

use super::*;
use crate::Headers;

#[test]
fn max_age_wins_over_expires() {
    let jar = jar_with(
        "https://example.com/",
        &[
            "a=1; Max-Age=60; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
            "b=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=60",
        ],
    );
    assert_eq!(jar.get("a").unwrap().expires, Some(at(T0 + 60)));
    assert_eq!(jar.get("b").unwrap().expires, Some(at(T0 + 60)));
    let jar = jar_with(
        "https://example.com/",
        &["c=1; Expires=Thu, 16 Nov 2023 00:00:00 GMT"],
    );
    assert_eq!(jar.get("c").unwrap().expires, Some(at(1_700_092_800)));
}

#[test]
fn lifetimes_run_out() {
    let mut jar = jar_with("https://example.com/", &["a=1; Max-Age=60", "s=session"]);
    let to = url("https://example.com/");
    assert_eq!(
        jar.cookie_header(&to, at(T0 + 59)).as_deref(),
        Some("a=1; s=session")
    );
    assert_eq!(
        jar.cookie_header(&to, at(T0 + 60)).as_deref(),
        Some("s=session")
    );
    assert_eq!(jar.len(), 2);
    jar.remove_expired(at(T0 + 60));
    assert_eq!(jar.len(), 1);
    assert!(jar.get("s").unwrap().is_session());
}

#[test]
fn zero_max_age_or_a_past_expires_deletes() {
    for deleting in [
        "a=; Max-Age=0",
        "a=; Max-Age=-1",
        "a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "a=x; Expires=Tue, 14 Nov 2023 22:13:20 GMT",
    ] {
        let mut jar = jar_with("https://example.com/", &["a=1", "b=2"]);
        jar.store(&url("https://example.com/"), deleting, now())
            .unwrap();
        assert_eq!(jar.get("a"), None, "{deleting}");
        assert_eq!(jar.len(), 1);
        // A deleting cookie for a cookie that does not exist stores nothing.
        jar.store(&url("https://example.com/"), deleting, now())
            .unwrap();
        assert_eq!(jar.len(), 1);
    }
}

#[test]
fn lifetimes_are_capped_at_400_days() {
    let cap = Some(now() + MAX_LIFETIME);
    let jar = jar_with(
        "https://example.com/",
        &[
            "a=1; Max-Age=999999999",
            "b=1; Max-Age=99999999999999999999999",
            "c=1; Expires=Fri, 01 Jan 9999 00:00:00 GMT",
        ],
    );
    assert!(jar.iter().all(|c| c.expires == cap));
    let jar = jar_with("https://example.com/", &["d=1; Max-Age=34560000"]);
    assert_eq!(jar.get("d").unwrap().expires, cap);
}

#[test]
fn invalid_lifetimes_are_ignored() {
    let jar = jar_with(
        "https://example.com/",
        &[
            "a=1; Max-Age=soon",
            "b=1; Expires=someday",
            "c=1; Max-Age=1e3; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
        ],
    );
    assert!(jar.get("a").unwrap().is_session());
    assert!(jar.get("b").unwrap().is_session());
    assert_eq!(jar.get("c"), None); // the Expires in 2015 stood alone, and deleted it
}

#[test]
fn names_and_values_are_limited() {
    assert!(matches!(
        rejected("https://example.com/", &format!("a={}", "v".repeat(4096))),
        CookieRejected::TooLarge {
            size: 4097,
            limit: 4096
        }
    ));
    jar_with(
        "https://example.com/",
        &[&format!("a={}", "v".repeat(4095))],
    );
    assert_eq!(
        rejected("https://example.com/", "a=b\x07c"),
        CookieRejected::ControlCharacter { byte: 7 }
    );
    assert_eq!(rejected("https://example.com/", "="), CookieRejected::Empty);
    let jar = jar_with("https://example.com/", &["tab=a\tb"]);
    assert_eq!(jar.get("tab").unwrap().value, "a\tb");
}

#[test]
fn over_long_attributes_are_ignored() {
    let long_domain = format!("{}.example.com", "x".repeat(1013));
    let jar = jar_with(
        "https://www.example.com/a/b",
        &[&format!(
            "a=1; Domain={long_domain}; Path=/{}",
            "p".repeat(1024)
        )],
    );
    let cookie = jar.get("a").unwrap();
    assert!(cookie.host_only); // the Domain was ignored, not refused
    assert_eq!(cookie.path, "/a"); // and so was the Path
}

#[test]
fn header_order_is_path_length_then_creation_time() {
    let mut jar = CookieJar::new();
    let from = url("https://example.com/a/b/c");
    for (i, set) in [
        "short=1; Path=/",
        "long=1; Path=/a/b",
        "mid=1; Path=/a",
        "short2=1; Path=/",
        "long2=1; Path=/a/b",
    ]
    .iter()
    .enumerate()
    {
        jar.store(&from, set, at(T0 + 10 - i as u64)).unwrap();
    }
    // Equal paths: the older cookie first, whatever the insertion order.
    assert_eq!(
        header(&mut jar, "https://example.com/a/b/c").as_deref(),
        Some("long2=1; long=1; mid=1; short2=1; short=1")
    );
    // Cookies created in the same instant keep the order they arrived in.
    let mut jar = jar_with("https://example.com/", &["z=1", "a=1", "m=1"]);
    assert_eq!(
        header(&mut jar, "https://example.com/").as_deref(),
        Some("z=1; a=1; m=1")
    );
}

#[test]
fn replacing_keeps_the_creation_time() {
    let to = url("https://example.com/");
    let mut jar = CookieJar::new();
    jar.store(&to, "a=1", at(T0)).unwrap();
    jar.store(&to, "b=1", at(T0 + 1)).unwrap();
    jar.store(&to, "a=2; HttpOnly", at(T0 + 2)).unwrap();
    assert_eq!(jar.len(), 2);
    let a = jar.get("a").unwrap();
    assert_eq!(
        (a.value.as_str(), a.created, a.last_access, a.http_only),
        ("2", at(T0), at(T0 + 2), true)
    );
    assert_eq!(
        jar.cookie_header(&to, at(T0 + 3)).as_deref(),
        Some("a=2; b=1")
    );
    // A host-only and a domain cookie with the same name, domain and path replace each other.
    jar.store(&to, "a=3; Domain=example.com", at(T0 + 4))
        .unwrap();
    assert_eq!(jar.len(), 2);
    assert!(!jar.get("a").unwrap().host_only);
    // Different paths are different cookies.
    jar.store(&to, "a=4; Path=/x", at(T0 + 5)).unwrap();
    assert_eq!(jar.len(), 3);
}

#[test]
fn sending_updates_the_last_access_time() {
    let mut jar = jar_with("https://example.com/", &["a=1", "b=1; Path=/b"]);
    jar.cookie_header(&url("https://example.com/"), at(T0 + 5))
        .unwrap();
    assert_eq!(jar.get("a").unwrap().last_access, at(T0 + 5));
    assert_eq!(jar.get("b").unwrap().last_access, at(T0));
    let sent = jar.cookies_for(&url("https://example.com/b"), at(T0 + 6));
    assert_eq!(
        sent.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
    assert_eq!(jar.get("b").unwrap().last_access, at(T0)); // cookies_for only looks
}

#[test]
fn per_domain_cap_evicts_the_least_recently_used() {
    let limits = CookieLimits {
        max_cookies_per_domain: 3,
        ..CookieLimits::default()
    };
    let mut jar = CookieJar::with_limits(limits);
    let from = url("https://example.com/");
    for (i, set) in ["a=1", "b=1; Path=/p", "c=1; Path=/p"].iter().enumerate() {
        jar.store(&from, set, at(T0 + i as u64)).unwrap();
    }
    jar.store(&url("https://other.com/"), "o=1", at(T0 + 3))
        .unwrap();
    // "a" alone is sent, and so used later than "b" and "c".
    assert_eq!(jar.cookie_header(&from, at(T0 + 4)).as_deref(), Some("a=1"));
    jar.store(&from, "x=1; Path=/x", at(T0 + 5)).unwrap();
    assert_eq!(jar.len(), 4); // "b" went; the other domain's cookie does not count
    jar.store(&from, "y=1; Path=/x", at(T0 + 6)).unwrap();
    let names: Vec<&str> = jar.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "o", "x", "y"]);
}

#[test]
fn total_cap_evicts_across_domains() {
    let limits = CookieLimits {
        max_cookies: 3,
        ..CookieLimits::default()
    };
    let mut jar = CookieJar::with_limits(limits);
    for (i, host) in ["a.com", "b.com", "c.com", "d.com"].iter().enumerate() {
        jar.store(&url(&format!("https://{host}/")), "k=1", at(T0 + i as u64))
            .unwrap();
    }
    let domains: Vec<&str> = jar.iter().map(|c| c.domain.as_str()).collect();
    assert_eq!(domains, ["b.com", "c.com", "d.com"]);
}

#[test]
fn the_cookie_header_is_capped() {
    let limits = CookieLimits {
        max_header_bytes: 20,
        ..CookieLimits::default()
    };
    let mut jar = CookieJar::with_limits(limits);
    let from = url("https://example.com/a/b");
    jar.store(&from, "first=123456; Path=/a/b", now()).unwrap(); // 12 bytes
    jar.store(&from, "second=1; Path=/a", now()).unwrap(); // + "; " + 8 = 22 bytes
    jar.store(&from, "t=1; Path=/", now()).unwrap();
    assert_eq!(
        header(&mut jar, "https://example.com/a/b").as_deref(),
        Some("first=123456")
    );
    assert_eq!(jar.get("second").unwrap().last_access, now());
    // Exactly at the cap, the separators counted: one cookie alone, then three.
    for (cap, expected) in [(3, "a=1"), (12, "a=1; b=2"), (13, "a=1; b=2; c=3")] {
        let limits = CookieLimits {
            max_header_bytes: cap,
            ..CookieLimits::default()
        };
        let mut jar = CookieJar::with_limits(limits);
        assert_eq!(jar.limits().max_header_bytes, cap);
        for (i, pair) in ["a=1", "b=2", "c=3"].iter().enumerate() {
            jar.store(&from, pair, at(T0 + i as u64)).unwrap();
        }
        assert_eq!(
            header(&mut jar, "https://example.com/a/b").as_deref(),
            Some(expected),
            "cap {cap}"
        );
    }
    let mut jar = CookieJar::new();
    for i in 0..40 {
        jar.store(&from, &format!("c{i:02}={}", "v".repeat(250)), now())
            .unwrap();
    }
    let value = header(&mut jar, "https://example.com/a/b").unwrap();
    assert!(
        value.len() <= 8192 && value.len() > 8192 - 260,
        "{}",
        value.len()
    );
    assert!(value.starts_with("c00=") && !value.contains("c39="));
}

#[test]
fn store_response_stores_each_set_cookie() {
    let mut headers = Headers::new();
    headers.append("Content-Type", "text/html").unwrap();
    headers.append("Set-Cookie", "a=1; Path=/").unwrap();
    headers.append("set-cookie", "bad=1; Secure").unwrap(); // refused from http
    headers.append("SET-COOKIE", "b=2").unwrap();
    headers.append("Set-Cookie", b"c=\xff".as_slice()).unwrap(); // not UTF-8
    let mut jar = CookieJar::new();
    assert_eq!(
        jar.store_response(&url("http://example.com/"), &headers, now()),
        2
    );
    assert_eq!(
        header(&mut jar, "http://example.com/").as_deref(),
        Some("a=1; b=2")
    );
    assert_eq!(
        jar.store_response(&url("http://example.com/"), &Headers::new(), now()),
        0
    );
}

#[test]
fn urls_without_a_host_store_and_send_nothing() {
    assert!(matches!(
        rejected("data:text/plain,x", "a=1"),
        CookieRejected::NoHost { .. }
    ));
    let mut jar = jar_with("https://example.com/", &["a=1"]);
    assert_eq!(header(&mut jar, "data:text/plain,x"), None);
}

#[test]
fn get_insert_remove_clear() {
    let mut jar = jar_with(
        "https://www.example.com/",
        &["a=1; Domain=example.com", "a=2; Path=/x"],
    );
    assert_eq!(jar.get("a").unwrap().value, "1");
    assert_eq!(jar.get_for(".EXAMPLE.com", "/", "a").unwrap().value, "1");
    assert_eq!(
        jar.get_for("www.example.com", "/x", "a").unwrap().value,
        "2"
    );
    assert_eq!(jar.get_for("www.example.com", "/", "a"), None);
    let mut by_hand = Cookie::new("h", "v", ".Example.com", now());
    by_hand.host_only = false;
    jar.insert(by_hand);
    assert_eq!(
        jar.get_for("example.com", "/", "h").unwrap().domain,
        "example.com"
    );
    assert_eq!(
        header(&mut jar, "https://api.example.com/").as_deref(),
        Some("a=1; h=v")
    );
    jar.insert(Cookie::new("h", "w", "example.com", now()));
    assert_eq!(jar.get("h").unwrap().value, "w");
    assert_eq!(jar.len(), 3);
    // A cookie that would break the Cookie header is not inserted.
    jar.insert(Cookie::new("bad", "x; injected=1", "example.com", now()));
    assert_eq!(jar.get("bad"), None);
    assert_eq!(jar.remove(".example.com", "/", "a").unwrap().value, "1");
    assert_eq!(jar.remove("example.com", "/", "a"), None);
    assert_eq!(jar.len(), 2);
    jar.clear();
    assert!(jar.is_empty() && jar.iter().next().is_none());
}
