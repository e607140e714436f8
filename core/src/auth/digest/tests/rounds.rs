//! The rounds of a Digest flow: the RFC 7616 §3.9.1 example, every algorithm and qop, nonce
//! counting and preemptive reuse (§3.4), stale nonces and wrong passwords (§3.3), and which
//! challenge is chosen.

use std::sync::atomic::Ordering;

use http::Method;

use super::*;

#[test]
fn rfc_7616_example_through_the_flow() {
    const RFC: &str = concat!(
        r#"realm="http-auth@example.org", qop="auth, auth-int", "#,
        r#"nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "#,
        r#"opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
    );
    let challenges = [
        format!("Digest {RFC}, algorithm=MD5"),
        format!("Digest {RFC}, algorithm=SHA-256"),
    ];
    let cnonce = || "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ".to_owned();
    let auth = DigestAuth::new("Mufasa", "Circle of Life", CnonceSource::from_text(cnonce));
    let mut req = Req::get("http://www.example.org/dir/index.html");
    let mut flow = auth.flow(&req.url).unwrap();
    req.authorize(flow.as_mut()).unwrap();
    assert_eq!(req.sent(), None);
    // Across two fields, MD5 listed first: SHA-256 is still chosen.
    let unauthorized = fields("WWW-Authenticate", &[&challenges[0], &challenges[1]]);
    assert_eq!(
        req.respond(flow.as_mut(), 401, &unauthorized),
        Ok(AuthStep::Retry)
    );
    assert_eq!(
        req.headers.get_str("Authorization").unwrap(),
        "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", \
         algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
         nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
         response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
         opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
    );

    let auth = DigestAuth::new("Mufasa", "Circle of Life", CnonceSource::from_text(cnonce));
    let mut req = Req::get("http://www.example.org/dir/index.html");
    let mut flow = auth.flow(&req.url).unwrap();
    let unauthorized = fields("WWW-Authenticate", &[&challenges[0]]);
    assert_eq!(
        req.respond(flow.as_mut(), 401, &unauthorized),
        Ok(AuthStep::Retry)
    );
    let response = req.sent_param("response");
    assert_eq!(
        response.as_deref(),
        Some("8ca523f5e9506fed4657c9700eebdbec")
    );
}

#[test]
fn every_algorithm_and_qop_round_trips() {
    let algorithms = [
        "MD5",
        "MD5-sess",
        "SHA-256",
        "SHA-256-sess",
        "SHA-512-256",
        "SHA-512-256-sess",
        // Beyond RFC 7616, as requests and httpx answer them.
        "SHA",
        "SHA-sess",
        "SHA-512",
        "SHA-512-sess",
    ];
    for algorithm in algorithms {
        for (qop, integrity) in [
            (Some("auth"), false),
            (Some("auth,auth-int"), true),
            (Some("auth-int"), false),
        ] {
            let server = Server::new(algorithm, qop);
            let auth = auth("Mufasa", "Circle of Life").prefer_integrity(integrity);
            let mut req = Req::new(
                Method::POST,
                "http://h.test/p?q=1",
                Some(b"body \x00 bytes"),
            );
            assert_eq!(
                exchange(&auth, &server, &mut req),
                Ok(1),
                "{algorithm} {qop:?}"
            );
            let want = if qop == Some("auth") {
                "auth"
            } else {
                "auth-int"
            };
            assert_eq!(req.sent_param("qop").as_deref(), Some(want));
        }
    }
}

#[test]
fn rfc_2069_form_for_md5_without_qop() {
    let (source, drawn) = counting();
    let auth = DigestAuth::new("Mufasa", "Circle of Life", source);
    let server = Server::new("MD5", None);
    let mut req = Req::get("http://h.test/");
    assert_eq!(exchange(&auth, &server, &mut req), Ok(0));
    let sent = req.sent().unwrap();
    assert!(
        sent.iter()
            .all(|(n, _)| !["qop", "nc", "cnonce"].contains(&n.as_str()))
    );
    assert_eq!(drawn.load(Ordering::SeqCst), 0);
    // Without qop only MD5 is answerable (RFC 7616 §3.3).
    let mut flow = auth.flow(&req.url).unwrap();
    let sha = fields(
        "WWW-Authenticate",
        &[r#"Digest realm="r", nonce="n", algorithm=SHA-256"#],
    );
    let mut req = Req::get("http://other.test/");
    assert!(matches!(
        req.respond(flow.as_mut(), 401, &sha),
        Err(AuthError::Unsupported { .. })
    ));
}

#[test]
fn nonce_counts_and_preemptive_reuse() {
    let auth = auth("Mufasa", "Circle of Life");
    let mut server = Server::new("SHA-256", Some("auth"));
    assert_eq!(
        exchange(&auth, &server, &mut Req::get("http://h.test/a")),
        Ok(1)
    );
    // Later requests to the origin, any path, go out answered with the next count.
    for (nc, path) in [(2, "/b"), (3, "/c/d?e"), (4, "/")] {
        let mut req = Req::get(&format!("http://h.test{path}"));
        let mut flow = auth.flow(&req.url).unwrap();
        req.authorize(flow.as_mut()).unwrap();
        assert_eq!(req.sent_param("cnonce"), Some(format!("c{nc}")));
        assert_eq!(server.verify(&req), Ok(nc));
    }
    // Another origin (scheme, host or port) gets nothing preemptively.
    for other in ["https://h.test/", "http://h.test:8080/", "http://i.test/"] {
        let mut req = Req::get(other);
        req.authorize(auth.flow(&req.url).unwrap().as_mut())
            .unwrap();
        assert_eq!(req.sent(), None, "{other}");
    }
    // The server rotates its nonce: stale=true, one silent retry, the count restarts.
    server.nonce = "nonce-2".into();
    server.stale = true;
    let mut req = Req::get("http://h.test/x");
    let mut flow = auth.flow(&req.url).unwrap();
    req.authorize(flow.as_mut()).unwrap();
    assert!(server.verify(&req).unwrap_err().starts_with("nonce"));
    assert_eq!(
        req.respond(flow.as_mut(), 401, &server.unauthorized()),
        Ok(AuthStep::Retry)
    );
    assert_eq!(server.verify(&req), Ok(1));
    server.stale = false;
    assert_eq!(
        exchange(&auth, &server, &mut Req::get("http://h.test/y")),
        Ok(2)
    );
}

#[test]
fn stale_gets_exactly_one_silent_retry() {
    let auth = auth("Mufasa", "Circle of Life");
    let mut server = Server::new("MD5", Some("auth"));
    let mut req = Req::get("http://h.test/");
    let mut flow = auth.flow(&req.url).unwrap();
    assert_eq!(
        req.respond(flow.as_mut(), 401, &server.unauthorized()),
        Ok(AuthStep::Retry)
    );
    server.nonce = "nonce-2".into();
    server.stale = true;
    assert_eq!(
        req.respond(flow.as_mut(), 401, &server.unauthorized()),
        Ok(AuthStep::Retry)
    );
    assert_eq!(server.verify(&req), Ok(1));
    server.nonce = "nonce-3".into();
    assert_eq!(
        req.respond(flow.as_mut(), 401, &server.unauthorized()),
        Ok(AuthStep::Done)
    );
}

#[test]
fn wrong_password_costs_exactly_one_retry() {
    let auth = auth("Mufasa", "wrong");
    let mut server = Server::new("SHA-256", Some("auth"));
    let mut req = Req::get("http://h.test/");
    let mut flow = auth.flow(&req.url).unwrap();
    req.authorize(flow.as_mut()).unwrap();
    assert_eq!(
        req.respond(flow.as_mut(), 401, &server.unauthorized()),
        Ok(AuthStep::Retry)
    );
    assert_eq!(server.verify(&req), Err("wrong response".into()));
    assert_eq!(
        req.respond(flow.as_mut(), 401, &server.unauthorized()),
        Ok(AuthStep::Done)
    );
    // A fresh nonce without stale=true also means the credentials were refused (§3.3).
    let mut flow = auth.flow(&req.url).unwrap();
    assert_eq!(
        req.respond(flow.as_mut(), 401, &server.unauthorized()),
        Ok(AuthStep::Retry)
    );
    server.nonce = "another".into();
    assert_eq!(
        req.respond(flow.as_mut(), 401, &server.unauthorized()),
        Ok(AuthStep::Done)
    );
}

#[test]
fn another_realm_after_a_preemptive_answer_is_answered() {
    let auth = auth("Mufasa", "Circle of Life");
    let mut server = Server::new("MD5", Some("auth"));
    assert_eq!(
        exchange(&auth, &server, &mut Req::get("http://h.test/a")),
        Ok(1)
    );
    server.realm = "admins@example.org".into();
    server.nonce = "admin-nonce".into();
    let mut req = Req::get("http://h.test/admin");
    let mut flow = auth.flow(&req.url).unwrap();
    req.authorize(flow.as_mut()).unwrap();
    assert_eq!(
        req.sent_param("realm").as_deref(),
        Some("users@example.org")
    );
    assert_eq!(
        req.respond(flow.as_mut(), 401, &server.unauthorized()),
        Ok(AuthStep::Retry)
    );
    assert_eq!(server.verify(&req), Ok(1));
    // The most recently used space answers next.
    assert_eq!(
        exchange(&auth, &server, &mut Req::get("http://h.test/admin/2")),
        Ok(2)
    );
}

#[test]
fn strongest_challenge_in_one_field() {
    let field = concat!(
        r#"Basic realm="b", Digest realm="r", nonce="md5", algorithm=MD5, qop="auth", "#,
        r#"Digest realm="r", nonce="sha1", algorithm=SHA, qop="auth", "#,
        r#"Digest realm="r", nonce="sha3", algorithm=SHA3-256, qop="auth", "#,
        r#"Digest realm="r", nonce="best", algorithm=SHA-512-256-sess, qop="auth", "#,
        r#"Digest realm="r", nonce="sha256", algorithm=SHA-256, qop="auth", Bearer tok68=="#
    );
    let mut req = Req::get("http://h.test/");
    let mut flow = auth("u", "p").flow(&req.url).unwrap();
    let unauthorized = fields("WWW-Authenticate", &[field]);
    assert_eq!(
        req.respond(flow.as_mut(), 401, &unauthorized),
        Ok(AuthStep::Retry)
    );
    assert_eq!(req.sent_param("nonce").as_deref(), Some("best"));
    assert_eq!(
        req.sent_param("algorithm").as_deref(),
        Some("SHA-512-256-sess")
    );
    // SHA-512 in full ranks above it.
    let stronger =
        format!(r#"{field}, Digest realm="r", nonce="512", algorithm=SHA-512, qop="auth""#);
    let mut req = Req::get("http://h.test/");
    let mut flow = auth("u", "p").flow(&req.url).unwrap();
    let unauthorized = fields("WWW-Authenticate", &[&stronger]);
    assert_eq!(
        req.respond(flow.as_mut(), 401, &unauthorized),
        Ok(AuthStep::Retry)
    );
    assert_eq!(req.sent_param("algorithm").as_deref(), Some("SHA-512"));
}
