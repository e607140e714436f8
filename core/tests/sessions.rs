//! Redirects, cookies and hooks through `client::Call`, with a scripted server per hop and
//! injected clocks: no sockets.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use duet_core::client::{Action, BodyPlan, Call, ClientConfig, ErrorKind, RequestParts};
use duet_core::cookies::SharedJar;
use duet_core::redirect::RedirectPolicy;
use duet_core::{Method, RequestBody, Url};
use support::t0;

fn wall0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// What one hop looked like from the server's side.
#[derive(Debug)]
struct Hop {
    origin: String,
    reused: bool,
    restart_body: bool,
    request: String,
}

/// Runs `call` against `respond(hop, request) -> response bytes`; returns the hops and the
/// final status (or the error).
fn run(
    call: Call,
    body: &[u8],
    respond: impl FnMut(usize, &str) -> Vec<u8>,
) -> (Vec<Hop>, Result<u16, duet_core::client::Error>) {
    run_at(t0(), call, body, respond)
}

/// [`run`] with the driver's clock at `now` throughout.
fn run_at(
    now: Instant,
    mut call: Call,
    body: &[u8],
    mut respond: impl FnMut(usize, &str) -> Vec<u8>,
) -> (Vec<Hop>, Result<u16, duet_core::client::Error>) {
    let mut hops: Vec<Hop> = Vec::new();
    let mut body_sent = false;
    loop {
        let action = match call.poll_action(now) {
            Ok(action) => action,
            Err(e) => return (hops, Err(e)),
        };
        match action {
            Action::Connect(to) => {
                let origin = to.key.origin.to_string();
                let restart_body = to.restart_body;
                let previous = call.take_connection();
                let reused = previous.is_some() && hops.last().is_some_and(|h| h.origin == origin);
                hops.push(Hop {
                    origin,
                    reused,
                    restart_body,
                    request: String::new(),
                });
                body_sent = false;
                call.connected(if reused { previous } else { None }, now)
                    .unwrap();
            }
            Action::Transmit { bytes, .. } => {
                let n = bytes.len();
                hops.last_mut()
                    .unwrap()
                    .request
                    .push_str(&String::from_utf8_lossy(bytes));
                call.transmitted(n);
            }
            Action::SendBody if !body_sent => {
                call.send_body(body).unwrap();
                body_sent = true;
            }
            Action::SendBody => call.send_end().unwrap(),
            Action::Receive { .. } => {
                let response = respond(hops.len() - 1, &hops.last().unwrap().request);
                call.input_buffer(response.len())[..response.len()].copy_from_slice(&response);
                call.commit_input(response.len());
            }
            Action::Response(head) => return (hops, Ok(head.status().as_u16())),
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn call_with(config: &ClientConfig, method: Method, url: &str, body: BodyPlan) -> Call {
    let mut request = RequestParts::new(method, Url::parse(url).unwrap());
    request.body = body;
    *Call::new(&Arc::new(config.clone()), request, 1, t0(), wall0()).unwrap()
}

fn redirect(status: u16, location: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 5\r\n\r\nmoved")
        .into_bytes()
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn a_302_is_followed_with_history_referer_and_the_connection_reused() {
    let call = call_with(
        &ClientConfig::default(),
        Method::GET,
        "http://a.test/start?x=1#f",
        BodyPlan::NONE,
    );
    let (hops, status) = run(call, b"", |hop, _| {
        if hop == 0 {
            redirect(302, "/next")
        } else {
            ok("done")
        }
    });
    assert_eq!(status.unwrap(), 200);
    assert_eq!(hops.len(), 2);
    assert!(
        hops[1].reused,
        "the drained redirect's connection carried the next hop"
    );
    assert!(
        hops[1]
            .request
            .starts_with("GET /next HTTP/1.1\r\nHost: a.test\r\n"),
        "{}",
        hops[1].request
    );
    assert!(
        hops[1]
            .request
            .contains("Referer: http://a.test/start?x=1\r\n"),
        "{}",
        hops[1].request
    );
}

#[test]
fn history_records_every_hop() {
    let mut call = call_with(
        &ClientConfig::default(),
        Method::GET,
        "http://a.test/1",
        BodyPlan::NONE,
    );
    let responses = [
        redirect(301, "/2"),
        redirect(308, "http://b.test/3"),
        ok("end"),
    ];
    let mut hop = 0;
    loop {
        match call.poll_action(t0()).unwrap() {
            Action::Connect(_) => {
                let previous = call.take_connection();
                call.connected(previous.filter(|_| hop == 1), t0()).unwrap();
            }
            Action::Transmit { bytes, .. } => {
                let n = bytes.len();
                call.transmitted(n);
            }
            Action::Receive { .. } => {
                let r = &responses[hop];
                call.input_buffer(r.len())[..r.len()].copy_from_slice(r);
                call.commit_input(r.len());
                hop += 1;
            }
            Action::Response(head) => {
                assert_eq!(head.status(), 200);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let history: Vec<(u16, &str)> = call
        .history()
        .iter()
        .map(|h| (h.status.as_u16(), h.url.as_str()))
        .collect();
    assert_eq!(
        history,
        [(301, "http://a.test/1"), (308, "http://a.test/2")]
    );
    assert_eq!(call.url().as_str(), "http://b.test/3");
    assert_eq!(call.history()[0].headers.get_str("location"), Some("/2"));
}

#[test]
fn cross_origin_hops_drop_credentials_for_good() {
    let mut request = RequestParts::new(Method::GET, Url::parse("http://a.test/").unwrap());
    request
        .headers
        .append("Authorization", "Bearer secret")
        .unwrap();
    request.headers.append("cookie", "manual=1").unwrap();
    request.headers.append("X-Keep", "yes").unwrap();
    let call = *Call::new(
        &Arc::new(ClientConfig::default()),
        request,
        1,
        t0(),
        wall0(),
    )
    .unwrap();
    let (hops, status) = run(call, b"", |hop, _| match hop {
        0 => redirect(302, "http://b.test/"),
        1 => redirect(302, "http://a.test/back"),
        _ => ok(""),
    });
    assert_eq!(status.unwrap(), 200);
    assert!(hops[0].request.contains("Authorization: Bearer secret"));
    for hop in &hops[1..] {
        assert!(
            !hop.request.to_lowercase().contains("authorization"),
            "{}",
            hop.request
        );
        assert!(!hop.request.contains("manual=1"), "{}", hop.request);
        assert!(hop.request.contains("X-Keep: yes"));
    }
}

#[test]
fn a_307_replays_the_body_and_a_303_drops_it() {
    let body = BodyPlan {
        framing: RequestBody::Length(4),
        replayable: true,
    };
    let call = call_with(
        &ClientConfig::default(),
        Method::POST,
        "http://a.test/form",
        body,
    );
    let (hops, status) = run(call, b"data", |hop, _| match hop {
        0 => redirect(307, "/again"),
        1 => redirect(303, "/result"),
        _ => ok("seen"),
    });
    assert_eq!(status.unwrap(), 200);
    assert!(
        hops[1].restart_body,
        "the driver is told to start the body over"
    );
    assert!(
        hops[1].request.starts_with("POST /again") && hops[1].request.ends_with("data"),
        "{}",
        hops[1].request
    );
    assert!(
        hops[2].request.starts_with("GET /result"),
        "{}",
        hops[2].request
    );
    assert!(
        !hops[2].request.contains("Content-Length"),
        "{}",
        hops[2].request
    );
}

#[test]
fn a_body_that_cannot_be_replayed_is_a_redirect_error() {
    let body = BodyPlan {
        framing: RequestBody::Chunked,
        replayable: false,
    };
    let call = call_with(
        &ClientConfig::default(),
        Method::PUT,
        "http://a.test/",
        body,
    );
    let (hops, result) = run(call, b"stream", |_, _| redirect(308, "/elsewhere"));
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Redirect, "{err}");
    assert!(err.to_string().contains("cannot be replayed"), "{err}");
    assert_eq!(hops.len(), 1, "no request went to the new location");
}

#[test]
fn too_many_redirects_keeps_the_history() {
    let mut config = ClientConfig::default();
    config.redirect = RedirectPolicy::limited(3);
    let call = call_with(&config, Method::GET, "http://a.test/loop", BodyPlan::NONE);
    let (hops, result) = run(call, b"", |_, _| redirect(302, "/loop"));
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyRedirects);
    assert!(err.is_redirect());
    assert_eq!(err.history().len(), 3);
    assert_eq!(hops.len(), 4);
}

#[test]
fn redirects_can_be_turned_off_and_bad_locations_refused() {
    let mut config = ClientConfig::default();
    config.redirect = RedirectPolicy::none();
    let call = call_with(&config, Method::GET, "http://a.test/", BodyPlan::NONE);
    assert_eq!(run(call, b"", |_, _| redirect(302, "/x")).1.unwrap(), 302);
    let call = call_with(
        &ClientConfig::default(),
        Method::GET,
        "http://a.test/",
        BodyPlan::NONE,
    );
    let (hops, result) = run(call, b"", |_, _| redirect(302, "ftp://a.test/file"));
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Redirect);
    assert_eq!(hops.len(), 1);
}

#[test]
fn a_large_redirect_body_is_not_drained() {
    let mut config = ClientConfig::default();
    config.limits.max_drain_bytes = 10;
    let call = call_with(&config, Method::GET, "http://a.test/", BodyPlan::NONE);
    let big = |hop: usize, _: &str| {
        if hop == 0 {
            format!(
                "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 100\r\n\r\n{}",
                "x".repeat(100)
            )
            .into_bytes()
        } else {
            ok("")
        }
    };
    let (hops, status) = run(call, b"", big);
    assert_eq!(status.unwrap(), 200);
    assert!(
        !hops[1].reused,
        "the connection was closed rather than drained"
    );
}

#[test]
fn a_redirect_body_of_exactly_the_drain_limit_is_drained() {
    let mut config = ClientConfig::default();
    config.limits.max_drain_bytes = 10;
    let call = call_with(&config, Method::GET, "http://a.test/", BodyPlan::NONE);
    let (hops, status) = run(call, b"", |hop, _| match hop {
        0 => b"HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 10\r\n\r\n0123456789".to_vec(),
        _ => ok(""),
    });
    assert_eq!(status.unwrap(), 200);
    assert!(hops[1].reused, "drained and reused");
}

#[test]
fn cookies_flow_through_the_chain_and_stay_with_their_origin() {
    let jar = SharedJar::new();
    let mut config = ClientConfig::default();
    config.cookies = Some(jar.clone());
    jar.store(&Url::parse("http://a.test/").unwrap(), "pre=1", wall0())
        .unwrap();
    let call = call_with(&config, Method::GET, "http://a.test/login", BodyPlan::NONE);
    let (hops, status) = run(call, b"", |hop, _| {
        match hop {
        0 => b"HTTP/1.1 302 Found\r\nSet-Cookie: session=abc; Path=/\r\nSet-Cookie: s2=x; Secure\r\nLocation: /home\r\nContent-Length: 0\r\n\r\n".to_vec(),
        1 => redirect(302, "http://b.test/"),
        _ => ok(""),
    }
    });
    assert_eq!(status.unwrap(), 200);
    assert!(
        hops[0].request.contains("Cookie: pre=1\r\n"),
        "{}",
        hops[0].request
    );
    assert!(
        hops[1].request.contains("Cookie: pre=1; session=abc\r\n"),
        "{}",
        hops[1].request
    );
    assert!(
        !hops[2].request.contains("Cookie:"),
        "no cookie crosses to another origin: {}",
        hops[2].request
    );
    assert_eq!(jar.get("session").map(|c| c.value), Some("abc".to_owned()));
    assert!(
        jar.get("s2").is_none(),
        "a Secure cookie is not accepted over http"
    );
}

#[test]
fn request_cookies_go_only_to_their_own_origin() {
    let mut request = RequestParts::new(Method::GET, Url::parse("http://a.test/").unwrap());
    request.cookies.push(("only".into(), "here".into()));
    let mut config = ClientConfig::default();
    config.cookies = None;
    let call = *Call::new(&Arc::new(config), request, 1, t0(), wall0()).unwrap();
    let (hops, _) = run(call, b"", |hop, _| match hop {
        0 => redirect(302, "http://b.test/"),
        1 => redirect(302, "http://a.test/again"),
        _ => ok(""),
    });
    assert!(hops[0].request.contains("Cookie: only=here\r\n"));
    assert!(!hops[1].request.contains("only=here"));
    assert!(
        hops[2].request.contains("Cookie: only=here\r\n"),
        "back at its origin: {}",
        hops[2].request
    );
}

#[test]
fn hooks_fire_on_every_hop() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut config = ClientConfig::default();
    let log = seen.clone();
    config
        .hooks
        .on_request
        .push(Arc::new(move |url: &Url, head: &duet_core::RequestHead| {
            log.lock()
                .unwrap()
                .push(format!("> {} {url}", head.method()));
        }));
    let log = seen.clone();
    config.hooks.on_response.push(Arc::new(
        move |url: &Url, head: &duet_core::ResponseHead| {
            log.lock()
                .unwrap()
                .push(format!("< {} {url}", head.status().as_u16()));
        },
    ));
    let call = call_with(&config, Method::GET, "http://a.test/", BodyPlan::NONE);
    let (_, status) = run(call, b"", |hop, _| {
        if hop == 0 {
            redirect(302, "/b")
        } else {
            ok("")
        }
    });
    assert_eq!(status.unwrap(), 200);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "> GET http://a.test/",
            "< 302 http://a.test/",
            "> GET http://a.test/b",
            "< 200 http://a.test/b"
        ]
    );
}

#[test]
fn cookies_are_timed_by_the_wall_clock_when_their_response_arrived() {
    let jar = SharedJar::new();
    let mut config = ClientConfig::default();
    config.cookies = Some(jar.clone());
    let call = call_with(&config, Method::GET, "http://a.test/", BodyPlan::NONE);
    // The call started at t0 (wall0); its answer comes a minute later.
    let later = t0() + Duration::from_secs(60);
    let (_, status) = run_at(later, call, b"", |_, _| {
        b"HTTP/1.1 200 OK\r\nSet-Cookie: k=v; Max-Age=30\r\nContent-Length: 0\r\n\r\n".to_vec()
    });
    assert_eq!(status.unwrap(), 200);
    let cookie = jar.get("k").expect("stored");
    assert_eq!(cookie.created, wall0() + Duration::from_secs(60));
    assert_eq!(cookie.expires, Some(wall0() + Duration::from_secs(90)));
}

#[test]
fn the_callers_cookie_field_wins_over_the_jar_and_an_omitted_one_stays_out() {
    let jar = SharedJar::new();
    let mut config = ClientConfig::default();
    config.cookies = Some(jar.clone());
    jar.store(&Url::parse("http://a.test/").unwrap(), "jar=1", wall0())
        .unwrap();
    let sent = |request: RequestParts| {
        let call = *Call::new(&Arc::new(config.clone()), request, 1, t0(), wall0()).unwrap();
        let (hops, status) = run(call, b"", |_, _| ok(""));
        assert_eq!(status.unwrap(), 200);
        let request = hops[0].request.clone();
        request
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("cookie:"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let url = Url::parse("http://a.test/").unwrap();
    let plain = RequestParts::new(Method::GET, url.clone());
    assert_eq!(sent(plain), ["Cookie: jar=1"]);
    let mut own = RequestParts::new(Method::GET, url.clone());
    own.headers.append("Cookie", "mine=2").unwrap();
    assert_eq!(sent(own), ["Cookie: mine=2"]);
    let mut omitted = RequestParts::new(Method::GET, url);
    omitted.omit = vec!["Cookie".to_owned()];
    assert!(sent(omitted).is_empty());
}
