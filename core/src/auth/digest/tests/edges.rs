//! The edges of a Digest flow: `auth-int` and the body (§3.4.3), hashed and extended
//! usernames (§3.4.4), hostile challenges and credentials, `Authentication-Info` (§3.5),
//! other statuses, the cache bound and `Debug`.

use std::sync::Arc;

use http::Method;
use url::Url;

use super::*;

#[test]
fn auth_int_and_the_request_body() {
    // Preferred: the body is needed from the start.
    let preferring = auth("Mufasa", "Circle of Life").prefer_integrity(true);
    assert!(
        preferring
            .flow(&Url::parse("http://h.test/").unwrap())
            .unwrap()
            .needs_request_body()
    );
    // Both offered, not preferred: auth, no body needed.
    let auth = auth("Mufasa", "Circle of Life");
    let both = Server::new("SHA-256", Some("auth, auth-int"));
    let mut req = Req::get("http://both.test/");
    assert_eq!(exchange(&auth, &both, &mut req), Ok(1));
    assert_eq!(req.sent_param("qop").as_deref(), Some("auth"));
    // Only auth-int offered: without the body the flow cannot answer, and says it needs it.
    let only = Server::new("SHA-256", Some("auth-int"));
    let mut req = Req::new(Method::PUT, "http://only.test/doc", None);
    let mut flow = auth.flow(&req.url).unwrap();
    assert!(!flow.needs_request_body());
    let step = req.respond(flow.as_mut(), 401, &only.unauthorized());
    assert_eq!(step, Err(AuthError::BodyNotReplayable));
    assert!(flow.needs_request_body());
    req.body = Some(b"<doc/>".to_vec());
    assert_eq!(
        req.respond(flow.as_mut(), 401, &only.unauthorized()),
        Ok(AuthStep::Retry)
    );
    assert_eq!(only.verify(&req), Ok(1));
    // Later flows to that origin know it before the first send.
    let mut req = Req::new(Method::GET, "http://only.test/other", Some(b""));
    let mut flow = auth.flow(&req.url).unwrap();
    assert!(flow.needs_request_body());
    req.authorize(flow.as_mut()).unwrap();
    assert_eq!(only.verify(&req), Ok(2));
}

#[test]
fn a_connect_is_answered_for_its_authority_not_the_url_path() {
    let auth = auth("Mufasa", "Circle of Life");
    let proxy = Server::new("MD5", Some("auth"));
    let mut req = Req::new(Method::CONNECT, "https://h.test/private?token=1", None);
    assert_eq!(exchange(&auth, &proxy, &mut req), Ok(1));
    assert_eq!(req.sent_param("uri").as_deref(), Some("h.test:443"));
    let mut req = Req::new(Method::CONNECT, "https://[::1]:8443/p", None);
    assert_eq!(exchange(&auth, &proxy, &mut req), Ok(1));
    assert_eq!(req.sent_param("uri").as_deref(), Some("[::1]:8443"));
}

#[test]
fn userhash_and_username_star() {
    let name = "J\u{e4}s\u{f8}n Doe";
    let mut server = Server::new("SHA-512-256", Some("auth"));
    server.user = name.into();
    server.userhash = true;
    let mut req = Req::get("http://h.test/doe.json");
    assert_eq!(
        exchange(&auth(name, "Circle of Life"), &server, &mut req),
        Ok(1)
    );
    assert_eq!(req.sent_param("username").map(|u| u.len()), Some(64));

    server.userhash = false;
    let mut req = Req::get("http://h.test/doe.json");
    assert_eq!(
        exchange(&auth(name, "Circle of Life"), &server, &mut req),
        Ok(1)
    );
    let star = req.sent_param("username*");
    assert_eq!(star.as_deref(), Some("UTF-8''J%C3%A4s%C3%B8n%20Doe"));
    assert_eq!(req.sent_param("username"), None);
}

#[test]
fn hostile_values_are_escaped_on_the_way_back() {
    let mut server = Server::new("MD5", Some("auth"));
    server.realm = r#"evil", response="x", realm="\ r\u{e9}alm"#.into();
    server.user = r#"a"b\c"#.into();
    let auth = auth(r#"a"b\c"#, "pa\"ss\\");
    server.password = "pa\"ss\\".into();
    let mut req = Req::get("http://h.test/");
    assert_eq!(exchange(&auth, &server, &mut req), Ok(1));
    let sent = req.sent().unwrap();
    assert_eq!(
        sent.iter()
            .filter(|(n, _)| n == "response" || n == "realm")
            .count(),
        2
    );
}

#[test]
fn hostile_and_malformed_challenges() {
    type Check = fn(&AuthError) -> bool;
    let malformed: Check = |e| matches!(e, AuthError::MalformedChallenge { .. });
    let unsupported: Check = |e| matches!(e, AuthError::Unsupported { .. });
    let huge = format!("Digest realm=\"{}\", nonce=\"n\"", "a".repeat(20_000));
    let cases: [(&str, Check); 9] = [
        (r#"Digest realm="r""#, malformed),
        (r#"Digest nonce="n", qop="auth""#, malformed),
        (
            r#"Digest realm="r", nonce="n", algorithm=SHA3-512"#,
            unsupported,
        ),
        (
            r#"Digest realm="r", nonce="n", qop="auth-conf""#,
            unsupported,
        ),
        (r#"Digest realm="r, nonce="n"#, malformed),
        (r#"Digest realm="r", realm="s", nonce="n""#, malformed),
        ("Digest dG9rZW42OA==", malformed),
        (r#"Basic realm="r", Bearer"#, unsupported),
        (&huge, malformed),
    ];
    for (field, expected) in cases {
        let mut req = Req::get("http://h.test/");
        let mut flow = auth("u", "p").flow(&req.url).unwrap();
        let err = req.respond(flow.as_mut(), 401, &fields("WWW-Authenticate", &[field]));
        assert!(
            expected(&err.clone().unwrap_err()),
            "{:.60}: {err:?}",
            field
        );
        assert_eq!(req.sent(), None);
    }
    // Many unknown schemes: the error names a bounded few.
    let many = vec![format!("X{} a=b", "y".repeat(300)); 30].join(", ");
    let mut req = Req::get("http://h.test/");
    let mut flow = auth("u", "p").flow(&req.url).unwrap();
    match req.respond(flow.as_mut(), 401, &fields("WWW-Authenticate", &[&many])) {
        Err(AuthError::Unsupported { schemes }) => assert!(schemes.len() < 1000, "{schemes}"),
        other => panic!("{other:?}"),
    }
    // A usable challenge wins over a broken field beside it; no challenge at all is Done.
    let mut req = Req::get("http://h.test/");
    let mut flow = auth("u", "p").flow(&req.url).unwrap();
    let mixed = fields(
        "WWW-Authenticate",
        &["Digest realm=\"x", r#"Digest realm="r", nonce="n""#],
    );
    assert_eq!(req.respond(flow.as_mut(), 401, &mixed), Ok(AuthStep::Retry));
    let mut flow = auth("u", "p").flow(&req.url).unwrap();
    assert_eq!(
        req.respond(flow.as_mut(), 401, &Headers::new()),
        Ok(AuthStep::Done)
    );
}

#[test]
fn control_characters_in_credentials_are_never_written() {
    let server = Server::new("MD5", Some("auth"));
    for (user, password) in [
        ("a\r\nX-Evil: 1", "p"),
        ("u\0", "p"),
        ("u", "p\r\n"),
        ("u", "\0"),
    ] {
        let mut req = Req::get("http://h.test/");
        let mut flow = auth(user, password).flow(&req.url).unwrap();
        let err = req
            .respond(flow.as_mut(), 401, &server.unauthorized())
            .unwrap_err();
        assert!(matches!(err, AuthError::InvalidCredentials(_)), "{user:?}");
        assert!(!req.headers.contains("Authorization"));
    }
}

#[test]
fn nextnonce_replaces_the_cached_nonce() {
    let auth = auth("Mufasa", "Circle of Life");
    let mut server = Server::new("SHA-256", Some("auth"));
    let mut req = Req::get("http://h.test/");
    let mut flow = auth.flow(&req.url).unwrap();
    assert_eq!(
        req.respond(flow.as_mut(), 401, &server.unauthorized()),
        Ok(AuthStep::Retry)
    );
    let info = r#"qop=auth, rspauth="ignored", cnonce="c1", nc=00000001, nextnonce="nonce-2""#;
    let ok = fields("Authentication-Info", &[info]);
    assert_eq!(req.respond(flow.as_mut(), 200, &ok), Ok(AuthStep::Done));
    server.nonce = "nonce-2".into();
    assert_eq!(
        exchange(&auth, &server, &mut Req::get("http://h.test/next")),
        Ok(1)
    );
    // A malformed Authentication-Info changes nothing and is no error.
    let mut flow = auth.flow(&req.url).unwrap();
    req.authorize(flow.as_mut()).unwrap();
    let broken = fields("Authentication-Info", &["nextnonce=\"unterminated"]);
    assert_eq!(req.respond(flow.as_mut(), 200, &broken), Ok(AuthStep::Done));
    assert_eq!(
        exchange(&auth, &server, &mut Req::get("http://h.test/next")),
        Ok(3)
    );
}

#[test]
fn other_statuses_are_done() {
    let mut req = Req::get("http://h.test/");
    for status in [200, 204, 302, 403, 407, 500] {
        let mut flow = auth("u", "p").flow(&req.url).unwrap();
        let challenge = fields("WWW-Authenticate", &[r#"Digest realm="r", nonce="n""#]);
        assert_eq!(
            req.respond(flow.as_mut(), status, &challenge),
            Ok(AuthStep::Done)
        );
    }
    assert!(
        auth("u", "p")
            .flow(&Url::parse("data:text/plain,x").unwrap())
            .is_none()
    );
}

#[test]
fn cnonce_from_bytes_and_the_cache_bound() {
    let entropy: Arc<dyn Fn() -> [u8; 16] + Send + Sync> = Arc::new(|| [0xa5; 16]);
    let auth = DigestAuth::new("u", "p", entropy);
    let server = Server {
        user: "u".into(),
        password: "p".into(),
        ..Server::new("MD5", Some("auth"))
    };
    let mut req = Req::get("http://h0.test/");
    assert_eq!(exchange(&auth, &server, &mut req), Ok(1));
    assert_eq!(req.sent_param("cnonce"), Some("a5".repeat(16)));
    for i in 1..=MAX_SPACES {
        assert_eq!(
            exchange(&auth, &server, &mut Req::get(&format!("http://h{i}.test/"))),
            Ok(1)
        );
    }
    // The least recently used space (h0) was dropped; h1 is still known.
    for (host, known) in [("h0", false), ("h1", true)] {
        let mut req = Req::get(&format!("http://{host}.test/"));
        req.authorize(auth.flow(&req.url).unwrap().as_mut())
            .unwrap();
        assert_eq!(req.sent().is_some(), known, "{host}");
    }
}

#[test]
fn debug_never_shows_the_password() {
    let auth = auth("user", "hunter2");
    let flow = auth.flow(&Url::parse("http://h.test/").unwrap()).unwrap();
    for text in [
        format!("{auth:?}"),
        format!("{flow:?}"),
        format!("{:?}", counting().0),
    ] {
        assert!(!text.contains("hunter2"), "{text}");
    }
}

proptest::proptest! {
    /// Whatever a server sends, reading it is a value or an error, never a panic; and a
    /// challenge that is answered always yields a field `Headers` accepts.
    #[test]
    fn any_challenge_is_read_without_panic(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        text in "[ \t,=\"\\\\a-zA-Z0-9/+.~-]{0,120}",
    ) {
        let _ = super::super::challenge::parse_params(&bytes);
        let _ = parse_challenges(&bytes);
        let field = format!("Digest realm=\"r\", nonce=\"n\", {text}");
        for value in [text.as_str(), field.as_str()] {
            let mut req = Req::get("http://h.test/");
            let mut flow = auth("u", "p").flow(&req.url).unwrap();
            let _ = req.respond(flow.as_mut(), 401, &fields("WWW-Authenticate", &[value]));
        }
    }
}
