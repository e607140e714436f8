//! The authentication engine inside `client::Call`: flows per hop, retries on the same
//! connection, round limits, body needs, per-host sources. Scripted server, no sockets.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use duet_core::auth::{Auth, AuthError, AuthFlow, AuthRequest, BasicAuth};
use duet_core::client::{Action, BodyPlan, Call, ClientConfig, ErrorKind, RequestParts};
use duet_core::{Method, RequestBody, Url};
use support::{Answering, t0};

fn wall0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

#[derive(Debug, Default)]
struct Wire {
    /// Each request as sent, with whether it went on a new connection.
    requests: Vec<(bool, String)>,
    restarts: usize,
}

/// Drives `call`; `respond(n, request)` answers the n-th request. Returns the wire and the
/// final status, or the error.
fn run(
    mut call: Call,
    body: &[u8],
    mut respond: impl FnMut(usize, &str) -> Vec<u8>,
) -> (Wire, Result<(u16, Vec<u8>), duet_core::client::Error>) {
    let mut wire = Wire::default();
    let mut sent = 0;
    let mut fresh = true;
    let mut status = None;
    let mut received = Vec::new();
    loop {
        let action = match call.poll_action(t0()) {
            Ok(action) => action,
            Err(e) => return (wire, Err(e)),
        };
        match action {
            Action::Connect(_) => {
                let _ = call.take_connection();
                fresh = true;
                call.connected(None, t0()).unwrap();
            }
            Action::Transmit { bytes, .. } => {
                let text = String::from_utf8_lossy(bytes).into_owned();
                if text.contains(" HTTP/1.1\r\n") {
                    wire.requests.push((fresh, String::new()));
                    fresh = false;
                    sent = 0;
                }
                wire.requests.last_mut().unwrap().1.push_str(&text);
                let n = bytes.len();
                call.transmitted(n);
            }
            Action::SendBody if sent < body.len() => {
                call.send_body(body).unwrap();
                sent = body.len();
            }
            Action::SendBody => call.send_end().unwrap(),
            Action::RestartBody => {
                wire.restarts += 1;
                sent = 0;
            }
            Action::Receive { .. } => {
                let response = respond(wire.requests.len() - 1, &wire.requests.last().unwrap().1);
                call.input_buffer(response.len())[..response.len()].copy_from_slice(&response);
                call.commit_input(response.len());
            }
            Action::Response(head) => status = Some(head.status().as_u16()),
            Action::Data(d) => received.extend_from_slice(d),
            Action::Finished => return (wire, Ok((status.unwrap(), received))),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// `request` prepared under the default configuration.
fn prepared(request: RequestParts) -> Result<Box<Call>, duet_core::client::Error> {
    Call::new(
        &Arc::new(ClientConfig::default()),
        request,
        1,
        t0(),
        wall0(),
    )
}

fn call(config: &ClientConfig, method: Method, url: &str, auth: Option<Arc<dyn Auth>>) -> Call {
    let mut request = RequestParts::new(method, Url::parse(url).unwrap());
    request.auth = auth;
    *Call::new(&Arc::new(config.clone()), request, 1, t0(), wall0()).unwrap()
}

fn reply(status: u16, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn a_challenge_is_answered_on_the_same_connection_with_the_body_replayed() {
    let mut request = RequestParts::new(Method::PUT, Url::parse("http://a.test/doc").unwrap());
    request.auth = Some(Arc::new(Answering::default()));
    request.body = BodyPlan {
        framing: RequestBody::Length(4),
        replayable: true,
    };
    let call = *prepared(request).unwrap();
    let (wire, result) = run(call, b"data", |n, _| {
        if n == 0 {
            reply(401, "X-Challenge: 7\r\n", "denied")
        } else {
            reply(200, "", "ok")
        }
    });
    assert_eq!(result.unwrap(), (200, b"ok".to_vec()));
    assert_eq!(wire.requests.len(), 2);
    assert!(
        !wire.requests[1].0,
        "the second round reused the connection"
    );
    assert!(
        wire.requests[1].1.contains("Authorization: Answer 7\r\n"),
        "{}",
        wire.requests[1].1
    );
    assert!(wire.requests[1].1.ends_with("data"), "the body went again");
    assert_eq!(wire.restarts, 1, "the driver was told to rewind the body");
}

#[test]
fn rounds_are_capped_and_the_last_response_delivered() {
    let mut config = ClientConfig::default();
    config.limits.max_auth_rounds = 2;
    let c = call(
        &config,
        Method::GET,
        "http://a.test/",
        Some(Arc::new(Answering::default())),
    );
    let (wire, result) = run(c, b"", |n, _| {
        reply(401, &format!("X-Challenge: {n}\r\n"), "no")
    });
    assert_eq!(result.unwrap(), (401, b"no".to_vec()));
    assert_eq!(wire.requests.len(), 3, "one try plus two rounds");
}

#[test]
fn a_closed_connection_is_replaced_unless_the_scheme_is_bound_to_it() {
    let closing = |n: usize, _: &str| {
        if n == 0 {
            reply(401, "X-Challenge: 1\r\nConnection: close\r\n", "")
        } else {
            reply(200, "", "")
        }
    };
    let c = call(
        &ClientConfig::default(),
        Method::GET,
        "http://a.test/",
        Some(Arc::new(Answering::default())),
    );
    let (wire, result) = run(c, b"", closing);
    assert_eq!(result.unwrap().0, 200);
    assert!(wire.requests[1].0, "a new connection for the second round");
    let bound = Answering {
        same_connection: true,
        ..Answering::default()
    };
    let c = call(
        &ClientConfig::default(),
        Method::GET,
        "http://a.test/",
        Some(Arc::new(bound)),
    );
    let (_, result) = run(c, b"", closing);
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(
        err.to_string()
            .contains("the server closed the connection this authentication scheme is bound to"),
        "{err}"
    );
}

#[test]
fn a_proxys_closed_connection_is_replaced_unless_the_proxys_scheme_is_bound_to_it() {
    let bound = || Answering {
        same_connection: true,
        ..Answering::default()
    };
    // The proxy closes after its 407 (as squid does), then the origin challenges.
    let closing = |n: usize, _: &str| match n {
        0 => reply(407, "Proxy-Authenticate: p1\r\nConnection: close\r\n", ""),
        1 => reply(401, "X-Challenge: o1\r\n", ""),
        _ => reply(200, "", ""),
    };
    // Only the origin's scheme is bound to its connection: the proxy's round takes a new one.
    let c = through_a_challenging_proxy(Method::GET, BodyPlan::NONE, Some(Arc::new(bound())));
    let (wire, result) = run(c, b"", closing);
    assert_eq!(result.unwrap().0, 200);
    let new: Vec<bool> = wire.requests.iter().map(|(new, _)| *new).collect();
    assert_eq!(new, [true, true, false]);
    // The proxy's scheme is: its answer cannot go on another connection.
    let mut config = ClientConfig::default();
    config.proxy_auth = Some(Arc::new(bound()));
    let c = through_a_challenging_proxy_with(config, Method::GET, BodyPlan::NONE, None);
    let (wire, result) = run(c, b"", closing);
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(
        err.to_string()
            .contains("the proxy closed the connection this authentication scheme is bound to"),
        "{err}"
    );
    assert_eq!(wire.requests.len(), 1);
}

#[test]
fn a_flow_can_read_the_challenge_body_and_the_caller_still_gets_it() {
    // (the flow wants bodies, the status): only a flow that wants the body reads it, and
    // only a challenge's; the caller gets it either way (replayed when the flow read it).
    for (wants, status) in [(true, 401), (false, 401), (true, 200)] {
        let flow = Answering {
            needs_response_body: wants,
            ..Answering::default()
        };
        let seen = flow.seen_bodies.clone();
        let c = call(
            &ClientConfig::default(),
            Method::GET,
            "http://a.test/",
            Some(Arc::new(flow)),
        );
        let (_, result) = run(c, b"", |_, _| reply(status, "", "why: expired"));
        assert_eq!(result.unwrap(), (status, b"why: expired".to_vec()));
        let expected: &[&str] = if wants && status == 401 {
            &["why: expired"]
        } else {
            &[]
        };
        assert_eq!(*seen.lock().unwrap(), expected, "wants={wants} {status}");
    }
}

#[test]
fn configured_credentials_stay_with_their_origin_but_per_host_sources_follow() {
    let basic: Arc<dyn Auth> = Arc::new(BasicAuth::new("user", "pw").unwrap());
    let redirecting = |n: usize, _: &str| match n {
        0 => reply(302, "Location: http://b.test/\r\n", ""),
        _ => reply(200, "", ""),
    };
    let c = call(
        &ClientConfig::default(),
        Method::GET,
        "http://a.test/",
        Some(basic),
    );
    let (wire, _) = run(c, b"", redirecting);
    assert!(
        wire.requests[0]
            .1
            .contains("Authorization: Basic dXNlcjpwdw==")
    );
    assert!(
        !wire.requests[1].1.contains("Authorization"),
        "{}",
        wire.requests[1].1
    );

    #[derive(Debug)]
    struct PerHost(Arc<Mutex<Vec<String>>>);
    impl Auth for PerHost {
        fn flow(&self, url: &Url) -> Option<Box<dyn AuthFlow>> {
            self.0
                .lock()
                .unwrap()
                .push(url.host_str().unwrap().to_owned());
            BasicAuth::new(url.host_str().unwrap(), "pw")
                .unwrap()
                .flow(url)
        }
        fn per_host(&self) -> bool {
            true
        }
    }
    let asked = Arc::new(Mutex::new(Vec::new()));
    let c = call(
        &ClientConfig::default(),
        Method::GET,
        "http://a.test/",
        Some(Arc::new(PerHost(asked.clone()))),
    );
    let (wire, _) = run(c, b"", redirecting);
    assert_eq!(
        *asked.lock().unwrap(),
        ["a.test", "b.test"],
        "asked by the host of each hop"
    );
    assert!(
        wire.requests[1]
            .1
            .contains("Authorization: Basic Yi50ZXN0OnB3"),
        "b.test's own credentials"
    );
}

#[test]
fn url_userinfo_becomes_basic_and_never_reaches_the_wire() {
    let c = call(
        &ClientConfig::default(),
        Method::GET,
        "http://al%C3%AFce:s%3Acret@a.test/p",
        None,
    );
    let (wire, result) = run(c, b"", |_, _| reply(200, "", ""));
    assert_eq!(result.unwrap().0, 200);
    let request = &wire.requests[0].1;
    assert!(
        request.starts_with("GET /p HTTP/1.1\r\nHost: a.test\r\n"),
        "{request}"
    );
    assert!(
        request.contains(&format!(
            "Authorization: {}\r\n",
            duet_core::auth::basic_header("alïce", "s:cret")
        )),
        "{request}"
    );
    let mut config = ClientConfig::default();
    config.auth = Some(Arc::new(BasicAuth::new("client", "wide").unwrap()));
    let c = call(&config, Method::GET, "http://url:user@a.test/", None);
    let (wire, _) = run(c, b"", |_, _| reply(200, "", ""));
    assert!(
        wire.requests[0]
            .1
            .contains(&duet_core::auth::basic_header("url", "user")),
        "the URL's userinfo wins over the client's"
    );
}

#[test]
fn a_flow_that_needs_a_body_it_cannot_have_is_an_auth_error() {
    #[derive(Debug)]
    struct Signing;
    impl AuthFlow for Signing {
        fn authorize(&mut self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
            let signed = format!("{} bytes", request.body.expect("a body").len());
            request.headers.insert("X-Signed", signed).unwrap();
            Ok(())
        }
        fn needs_request_body(&self) -> bool {
            true
        }
    }
    impl Auth for Signing {
        fn flow(&self, _: &Url) -> Option<Box<dyn AuthFlow>> {
            Some(Box::new(Signing))
        }
    }
    let mut request = RequestParts::new(Method::POST, Url::parse("http://a.test/").unwrap());
    request.auth = Some(Arc::new(Signing));
    request.body = BodyPlan {
        framing: RequestBody::Chunked,
        replayable: false,
    };
    let err = prepared(request).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    // The same for a forward proxy's flow.
    let mut config = ClientConfig::default();
    config.proxy_auth = Some(Arc::new(Signing));
    let streamed = BodyPlan {
        framing: RequestBody::Chunked,
        replayable: false,
    };
    let err = through_a_challenging_proxy_call(config, Method::POST, streamed, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    // A request without a body has an empty one to sign (as Digest auth-int hashes it), and
    // a body in memory is there whole.
    let config = Arc::new(ClientConfig::default());
    let mut request = RequestParts::new(Method::GET, Url::parse("http://a.test/").unwrap());
    request.auth = Some(Arc::new(Signing));
    let c = Call::new(&config, request, 1, t0(), wall0()).unwrap();
    assert_eq!(
        c.request_head().headers().get_str("x-signed"),
        Some("0 bytes")
    );
    let mut request = RequestParts::new(Method::POST, Url::parse("http://a.test/").unwrap());
    request.auth = Some(Arc::new(Signing));
    request.body = BodyPlan {
        framing: RequestBody::Length(3),
        replayable: true,
    };
    request.body_bytes = Some(bytes::Bytes::from_static(b"abc"));
    let c = Call::new(&config, request, 1, t0(), wall0()).unwrap();
    assert_eq!(
        c.request_head().headers().get_str("x-signed"),
        Some("3 bytes")
    );
}

#[test]
fn a_large_body_waiting_for_a_challenge_asks_for_100_continue_first() {
    let answering: Arc<dyn Auth> = Arc::new(Answering::default());
    let basic: Arc<dyn Auth> = Arc::new(BasicAuth::new("u", "p").unwrap());
    let mib = 1024 * 1024;
    let length = |n| BodyPlan {
        framing: RequestBody::Length(n),
        replayable: true,
    };
    let chunked = BodyPlan {
        framing: RequestBody::Chunked,
        replayable: false,
    };
    // (credentials, body, the caller's own Expect, Expect fields sent)
    let cases = [
        (Some(&answering), length(mib), false, 1),
        (Some(&answering), length(mib - 1), false, 0),
        (Some(&answering), chunked, false, 1),
        (Some(&answering), BodyPlan::NONE, false, 0),
        // Credentials that answer at once have no challenge to wait for.
        (Some(&basic), length(mib), false, 0),
        (None, length(mib), false, 0),
        // The caller's own field is not doubled.
        (Some(&answering), length(mib), true, 1),
    ];
    for (auth, body, own_expect, expected) in cases {
        let mut request =
            RequestParts::new(Method::PUT, Url::parse("http://example.test/up").unwrap());
        request.auth = auth.cloned();
        request.body = body;
        if own_expect {
            request.headers.append("Expect", "100-continue").unwrap();
        }
        let c = prepared(request).unwrap();
        let expect: Vec<_> = c.request_head().headers().get_all("expect").collect();
        assert_eq!(expect.len(), expected, "{auth:?} {body:?} own={own_expect}");
        assert!(expect.iter().all(|v| *v == b"100-continue"));
    }
    // A caller who asked for no `Expect` field gets none.
    let mut request = RequestParts::new(Method::PUT, Url::parse("http://example.test/up").unwrap());
    request.auth = Some(answering);
    request.body = length(mib);
    request.omit = vec!["EXPECT".to_owned()];
    let c = prepared(request).unwrap();
    assert!(!c.request_head().headers().contains("expect"));
}

/// Asserts that `request` carries the header line `field`.
#[track_caller]
fn assert_field(request: &str, field: &str) {
    let line = format!("\r\n{field}\r\n");
    assert!(request.contains(&line), "no {field:?} in {request}");
}

/// A client whose requests go through a forward proxy that challenges for credentials, with
/// `origin` credentials too if given.
fn through_a_challenging_proxy(
    method: Method,
    body: BodyPlan,
    origin: Option<Arc<dyn Auth>>,
) -> Call {
    through_a_challenging_proxy_with(ClientConfig::default(), method, body, origin)
}

fn through_a_challenging_proxy_with(
    config: ClientConfig,
    method: Method,
    body: BodyPlan,
    origin: Option<Arc<dyn Auth>>,
) -> Call {
    *through_a_challenging_proxy_call(config, method, body, origin).unwrap()
}

/// [`through_a_challenging_proxy_with`]'s call, or the error that refused it.
fn through_a_challenging_proxy_call(
    mut config: ClientConfig,
    method: Method,
    body: BodyPlan,
    origin: Option<Arc<dyn Auth>>,
) -> Result<Box<Call>, duet_core::client::Error> {
    use duet_core::proxy::{Proxy, ProxyConfig};
    let proxy = Proxy::parse("http://proxy.test:3128").unwrap();
    config.proxies = Some(ProxyConfig::all(proxy));
    config
        .proxy_auth
        .get_or_insert_with(|| Arc::new(Answering::default()));
    let mut request = RequestParts::new(method, Url::parse("http://a.test/p").unwrap());
    request.auth = origin;
    request.body = body;
    Call::new(&Arc::new(config), request, 1, t0(), wall0())
}

#[test]
fn a_forward_proxys_challenge_is_answered_then_the_origins() {
    let origin: Arc<dyn Auth> = Arc::new(Answering::default());
    let c = through_a_challenging_proxy(Method::GET, BodyPlan::NONE, Some(origin));
    let (wire, result) = run(c, b"", |n, _| match n {
        0 => reply(407, "Proxy-Authenticate: p1\r\n", ""),
        1 => reply(401, "X-Challenge: o1\r\n", ""),
        _ => reply(200, "", "in"),
    });
    assert_eq!(result.unwrap(), (200, b"in".to_vec()));
    let sent: Vec<&str> = wire.requests.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent.iter()
            .all(|r| r.starts_with("GET http://a.test/p HTTP/1.1\r\n"))
    );
    assert!(!sent[0].contains("Authorization"), "{}", sent[0]);
    assert_field(sent[1], "Proxy-Authorization: Answer p1");
    assert!(!sent[1].contains("\r\nAuthorization"), "{}", sent[1]);
    assert_field(sent[2], "Proxy-Authorization: Answer p1");
    assert_field(sent[2], "Authorization: Answer o1");
}

#[test]
fn a_large_body_waiting_for_the_proxys_challenge_asks_for_100_continue_first() {
    let large = BodyPlan {
        framing: RequestBody::Length(1024 * 1024),
        replayable: true,
    };
    let c = through_a_challenging_proxy(Method::PUT, large, None);
    let expect: Vec<_> = c.request_head().headers().get_all("expect").collect();
    assert_eq!(expect, [b"100-continue"]);
    let c = through_a_challenging_proxy(Method::PUT, BodyPlan::NONE, None);
    assert!(!c.request_head().headers().contains("expect"));
}

#[test]
fn a_proxys_challenges_are_capped_and_need_a_body_that_can_go_again() {
    let mut config = ClientConfig::default();
    config.limits.max_auth_rounds = 2;
    let c = through_a_challenging_proxy_with(config, Method::GET, BodyPlan::NONE, None);
    let (wire, result) = run(c, b"", |n, _| {
        reply(407, &format!("Proxy-Authenticate: p{n}\r\n"), "no")
    });
    assert_eq!(result.unwrap(), (407, b"no".to_vec()));
    assert_eq!(wire.requests.len(), 3, "one try plus two rounds");
    // A small streamed body went out whole with the first try: it cannot go again.
    let streamed = BodyPlan {
        framing: RequestBody::Length(4),
        replayable: false,
    };
    let c = through_a_challenging_proxy(Method::PUT, streamed, None);
    let (wire, result) = run(c, b"data", |_, _| {
        reply(407, "Proxy-Authenticate: p\r\n", "")
    });
    // As the origin's challenge and a redirect fail such a request, so does the proxy's.
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(err.to_string().contains("cannot be read twice"), "{err}");
    assert_eq!(wire.requests.len(), 1);
    // The origin's, for comparison.
    let mut request = RequestParts::new(Method::PUT, Url::parse("http://a.test/").unwrap());
    request.auth = Some(Arc::new(Answering::default()));
    request.body = streamed;
    let c = *prepared(request).unwrap();
    let (wire, result) = run(c, b"data", |_, _| reply(401, "X-Challenge: o\r\n", ""));
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Auth);
    assert_eq!(wire.requests.len(), 1);
}

#[test]
fn a_challenges_body_goes_to_the_flow_that_answers_it() {
    // (the proxy's flow wants bodies, the origin's does)
    for (proxy_wants, origin_wants) in [(true, false), (false, true), (true, true)] {
        let proxy = Answering {
            needs_response_body: proxy_wants,
            ..Answering::default()
        };
        let origin = Answering {
            needs_response_body: origin_wants,
            ..Answering::default()
        };
        let (proxy_saw, origin_saw) = (proxy.seen_bodies.clone(), origin.seen_bodies.clone());
        let mut config = ClientConfig::default();
        config.proxy_auth = Some(Arc::new(proxy));
        let c = through_a_challenging_proxy_with(
            config,
            Method::GET,
            BodyPlan::NONE,
            Some(Arc::new(origin)),
        );
        let (wire, result) = run(c, b"", |n, _| match n {
            0 => reply(407, "Proxy-Authenticate: p1\r\n", "from the proxy"),
            1 => reply(401, "X-Challenge: o1\r\n", "from the origin"),
            _ => reply(200, "", "in"),
        });
        assert_eq!(result.unwrap(), (200, b"in".to_vec()));
        assert_eq!(wire.requests.len(), 3);
        let saw = |wants, body| if wants { vec![body] } else { vec![] };
        let case = format!("proxy wants {proxy_wants}, origin wants {origin_wants}");
        assert_eq!(
            *proxy_saw.lock().unwrap(),
            saw(proxy_wants, "from the proxy"),
            "{case}"
        );
        assert_eq!(
            *origin_saw.lock().unwrap(),
            saw(origin_wants, "from the origin"),
            "{case}"
        );
    }
}

#[test]
fn a_large_streamed_body_withheld_for_the_proxys_challenge_goes_once_with_the_answer() {
    let streamed = BodyPlan {
        framing: RequestBody::Chunked,
        replayable: false,
    };
    let c = through_a_challenging_proxy(Method::PUT, streamed, None);
    let (wire, result) = run(c, b"data", |n, request| match n {
        // The proxy refuses before the body (it sends no 100 Continue)...
        0 => reply(407, "Proxy-Authenticate: p1\r\n", ""),
        // ...and lets the answered request's body come.
        _ if !request.ends_with("0\r\n\r\n") => b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
        _ => reply(201, "", ""),
    });
    assert_eq!(result.unwrap().0, 201);
    let sent: Vec<&str> = wire.requests.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(!sent[0].contains("data"), "{}", sent[0]);
    assert_field(sent[1], "Proxy-Authorization: Answer p1");
    assert!(
        sent[1].ends_with("\r\n\r\n4\r\ndata\r\n0\r\n\r\n"),
        "{}",
        sent[1]
    );
}

/// The `Cookie` lines of a request as sent.
fn cookie_lines(request: &str) -> Vec<&str> {
    request
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("cookie:"))
        .collect()
}

/// As requests and httpx do with their Digest answer, the request answering a challenge
/// carries what the jar holds then: a cookie the 401 set goes with it, one it removed does
/// not, and a `Cookie` field the caller wrote is left as it is.
#[test]
fn the_answer_to_a_challenge_carries_the_cookies_the_challenge_set() {
    let jar = duet_core::cookies::SharedJar::new();
    let mut config = ClientConfig::default();
    config.cookies = Some(jar.clone());
    let url = Url::parse("http://a.test/doc").unwrap();
    jar.store(&url, "old=1; Path=/", wall0()).unwrap();
    jar.store(&url, "kept=1; Path=/", wall0()).unwrap();
    let challenge = reply(
        401,
        "X-Challenge: 7\r\nSet-Cookie: round=1; Path=/\r\nSet-Cookie: old=; Max-Age=0; Path=/\r\n",
        "denied",
    );
    let rounds = |request: RequestParts| {
        let call = *Call::new(&Arc::new(config.clone()), request, 1, t0(), wall0()).unwrap();
        let (wire, result) = run(call, b"", |n, _| match n {
            0 => challenge.clone(),
            _ => reply(200, "", "ok"),
        });
        assert_eq!(result.unwrap().0, 200);
        assert_eq!(wire.requests.len(), 2);
        wire.requests
            .into_iter()
            .map(|(_, request)| cookie_lines(&request).join("\n"))
            .collect::<Vec<_>>()
    };
    let mut request = RequestParts::new(Method::GET, url.clone());
    request.auth = Some(Arc::new(Answering::default()));
    assert_eq!(
        rounds(request),
        ["Cookie: old=1; kept=1", "Cookie: kept=1; round=1"]
    );
    // The caller's own field stays as written, and nothing is added beside it.
    let mut request = RequestParts::new(Method::GET, url.clone());
    request.auth = Some(Arc::new(Answering::default()));
    request.headers.append("Cookie", "mine=2").unwrap();
    assert_eq!(rounds(request), ["Cookie: mine=2", "Cookie: mine=2"]);
    // A challenge that removes the last cookie leaves the answer without the field.
    let jar = duet_core::cookies::SharedJar::new();
    config.cookies = Some(jar.clone());
    jar.store(&url, "old=1; Path=/", wall0()).unwrap();
    let challenge = reply(
        401,
        "X-Challenge: 7\r\nSet-Cookie: old=; Max-Age=0; Path=/\r\n",
        "denied",
    );
    let call = {
        let mut request = RequestParts::new(Method::GET, url);
        request.auth = Some(Arc::new(Answering::default()));
        *Call::new(&Arc::new(config.clone()), request, 1, t0(), wall0()).unwrap()
    };
    let (wire, _) = run(call, b"", |n, _| match n {
        0 => challenge.clone(),
        _ => reply(200, "", "ok"),
    });
    assert_eq!(cookie_lines(&wire.requests[0].1), ["Cookie: old=1"]);
    assert!(
        cookie_lines(&wire.requests[1].1).is_empty(),
        "{}",
        wire.requests[1].1
    );
}

/// The `nc` and `cnonce` of a Digest `Authorization` line in `request`.
fn digest_count(request: &str) -> Option<(String, String)> {
    let line = request
        .lines()
        .find(|l| l.starts_with("Authorization: Digest "))?;
    let param = |name: &str| {
        let start = line.find(&format!(" {name}="))? + name.len() + 2;
        let value = line[start..].split(',').next()?;
        Some(value.trim_matches('"').to_owned())
    };
    Some((param("nc")?, param("cnonce")?))
}

/// A retry by policy after a Digest round is a new use of the server's nonce: it counts on
/// (`nc` 2, a new `cnonce`), as a server that refuses a replayed count (RFC 7616 §3.4.5)
/// requires; sending the last answer again got a 401 the spent flow could not answer. A
/// retry's own 401 is a round of its own.
#[test]
fn a_retry_after_a_digest_round_counts_on_rather_than_replaying_the_answer() {
    let counter = Arc::new(std::sync::atomic::AtomicU8::new(0));
    let entropy = {
        let counter = counter.clone();
        move || [counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst); 16]
    };
    let auth = duet_core::auth::DigestAuth::new(
        "user",
        "pass",
        duet_core::auth::CnonceSource::from_bytes(entropy),
    );
    let challenge = |stale: bool| {
        let stale = if stale { ", stale=true" } else { "" };
        reply(
            401,
            &format!("WWW-Authenticate: Digest realm=\"r\", qop=\"auth\", nonce=\"n0\"{stale}\r\n"),
            "",
        )
    };
    let mut request = RequestParts::new(Method::GET, Url::parse("http://a.test/doc").unwrap());
    request.auth = Some(Arc::new(auth));
    request.retry = Some(duet_core::client::RetryPolicy::default_safe());
    let call = *prepared(request).unwrap();
    let mut seen = Vec::new();
    let (wire, result) = run(call, b"", |n, request| {
        let count = digest_count(request);
        let answer = match (n, &count) {
            (0, None) => challenge(false),
            (1, Some(_)) => reply(503, "Retry-After: 0\r\n", ""),
            // A count already seen is a replay: refused as a server checking counts does.
            (_, Some(c)) if seen.contains(c) => challenge(true),
            (_, Some(_)) => reply(200, "", "ok"),
            _ => reply(400, "", "unexpected"),
        };
        seen.extend(count);
        answer
    });
    assert_eq!(result.unwrap(), (200, b"ok".to_vec()));
    let counts: Vec<_> = wire
        .requests
        .iter()
        .map(|(_, r)| digest_count(r).map(|(nc, _)| nc))
        .collect();
    assert_eq!(
        counts,
        [None, Some("00000001".into()), Some("00000002".into())],
        "{:#?}",
        wire.requests
    );
}
