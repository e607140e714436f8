//! A request's whole life through `client::Call`, with a scripted server and an injected
//! clock: headers merged, timeouts by phase, the stale-connection retry and its limits.

#![allow(clippy::disallowed_methods)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use duet_core::client::{
    Action, BodyPlan, Call, ClientConfig, ErrorKind, RequestParts as Request, TimeoutPhase,
    Timeouts,
};
use duet_core::proxy::{Proxy, ProxyConfig};
use duet_core::{Connection, Headers, Method, RequestBody, Url};
use support::t0;

/// The wall-clock time matching `t0()`, fixed so cookie lifetimes are deterministic.
fn wall0() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn request(method: Method, body: BodyPlan) -> Request {
    let mut r = Request::new(
        method,
        Url::parse("http://example.test:8080/p?q=1#frag").unwrap(),
    );
    r.body = body;
    r
}

fn call(request: Request) -> Call {
    *Call::new(
        &Arc::new(ClientConfig::default()),
        request,
        7,
        t0(),
        wall0(),
    )
    .unwrap()
}

/// Drives the call until it wants to read; returns everything it wrote.
fn write_out(call: &mut Call, body: &[u8]) -> String {
    write_out_by(call, |c| c.send_body(body).unwrap())
}

/// As [`write_out`], the body handed over by `send` when it is first asked for.
fn write_out_by(call: &mut Call, mut send: impl FnMut(&mut Call)) -> String {
    let mut wire = Vec::new();
    let mut body_sent = false;
    loop {
        match call.poll_action(t0()).unwrap() {
            Action::Transmit { bytes, .. } => {
                let n = bytes.len();
                wire.extend_from_slice(bytes);
                call.transmitted(n);
            }
            Action::SendBody if !body_sent => {
                send(call);
                body_sent = true;
            }
            Action::SendBody => call.send_end().unwrap(),
            Action::Receive { .. } => return String::from_utf8(wire).unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn feed(call: &mut Call, bytes: &[u8]) {
    call.input_buffer(bytes.len())[..bytes.len()].copy_from_slice(bytes);
    call.commit_input(bytes.len());
}

/// Reads events until the call wants input or finishes; returns (status, body, finished).
fn read_in(call: &mut Call) -> (Option<u16>, Vec<u8>, bool) {
    let mut status = None;
    let mut body = Vec::new();
    loop {
        match call.poll_action(t0()).unwrap() {
            Action::Response(head) => status = Some(head.status().as_u16()),
            Action::Data(d) => body.extend_from_slice(d),
            Action::Receive { .. } => return (status, body, false),
            Action::Finished => return (status, body, true),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// A GET whose head went out on a new connection; it now waits for the response.
fn get_sent_on_a_new_connection() -> Call {
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    match c.poll_action(t0()).unwrap() {
        Action::Connect(_) => c.connected(None, t0()).unwrap(),
        other => panic!("unexpected {other:?}"),
    }
    write_out(&mut c, b"");
    c
}

/// Connects, writes the bodiless request out and feeds the server's `response`.
fn sent_and_answered(call: &mut Call, response: &[u8]) {
    connect_new(call);
    write_out(call, b"");
    feed(call, response);
}

fn connect_new(call: &mut Call) {
    match call.poll_action(t0()).unwrap() {
        Action::Connect(c) => {
            assert_eq!(c.key.origin.to_string(), "http://example.test:8080");
            assert_eq!(
                c.key.tls_profile, 0,
                "plain connections share no TLS profile"
            );
        }
        other => panic!("expected Connect, got {other:?}"),
    }
    call.connected(None, t0()).unwrap();
}

/// A connection that already served one exchange, as the pool would hand it out.
fn pooled() -> Box<Connection> {
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    sent_and_answered(&mut c, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(read_in(&mut c).2);
    c.take_connection().expect("reusable")
}

#[test]
fn a_get_with_default_headers_from_connect_to_pool() {
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    connect_new(&mut c);
    let wire = write_out(&mut c, b"");
    assert_eq!(
        wire,
        format!(
            "GET /p?q=1 HTTP/1.1\r\nHost: example.test:8080\r\nUser-Agent: duet/{}\r\nAccept: */*\r\n\
             Accept-Encoding: {}\r\n\r\n",
            env!("CARGO_PKG_VERSION"),
            duet_core::client::accept_encoding()
        )
    );
    feed(&mut c, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel");
    assert_eq!(read_in(&mut c), (Some(200), b"hel".to_vec(), false));
    feed(&mut c, b"lo");
    assert_eq!(read_in(&mut c), (None, b"lo".to_vec(), true));
    assert!(c.take_connection().is_some());
}

#[test]
fn request_headers_override_defaults() {
    let mut r = request(Method::GET, BodyPlan::NONE);
    r.headers.append("user-agent", "mine/1").unwrap();
    r.headers.append("Accept-Encoding", "identity").unwrap();
    r.headers.append("Host", "virtual.test").unwrap();
    let mut c = call(r);
    connect_new(&mut c);
    let wire = write_out(&mut c, b"");
    assert!(
        wire.starts_with("GET /p?q=1 HTTP/1.1\r\nHost: virtual.test\r\n"),
        "{wire}"
    );
    assert!(wire.contains("user-agent: mine/1\r\n") && !wire.contains("duet/"));
    assert_eq!(wire.matches("ccept-Encoding").count(), 1);
}

#[test]
fn a_callers_transfer_encoding_chunked_frames_a_body_of_known_length() {
    fn sent(framing: RequestBody, codings: &[&str], body: &[u8]) -> Result<String, ErrorKind> {
        let plan = BodyPlan {
            framing,
            replayable: true,
        };
        let mut r = request(Method::POST, plan);
        for coding in codings {
            r.headers.append("Transfer-Encoding", *coding).unwrap();
        }
        let mut c = call(r);
        match c.poll_action(t0()).unwrap() {
            Action::Connect(_) => {}
            other => panic!("unexpected {other:?}"),
        }
        c.connected(None, t0()).map_err(|e| e.kind())?;
        Ok(write_out(&mut c, body))
    }
    let wire = sent(RequestBody::Length(5), &["chunked"], b"hello").unwrap();
    assert!(
        wire.ends_with("Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        "{wire}"
    );
    assert!(!wire.contains("Content-Length"), "{wire}");
    // Spelled any way, and with no body at all: an empty chunked body.
    let wire = sent(RequestBody::None, &[" Chunked "], b"").unwrap();
    assert!(wire.ends_with("\r\n\r\n0\r\n\r\n"), "{wire}");
    // A coding duet does not apply, or two fields, still contradict the body.
    for codings in [&["gzip, chunked"][..], &["chunked", "chunked"]] {
        let refused = sent(RequestBody::Length(5), codings, b"hello");
        assert_eq!(refused, Err(ErrorKind::InvalidHeader), "{codings:?}");
    }
}

#[test]
fn unusable_urls_fail_before_io() {
    for url in ["ftp://example.test/", "file:///etc/hosts"] {
        let err = Call::new(
            &Arc::new(ClientConfig::default()),
            Request::new(Method::GET, Url::parse(url).unwrap()),
            0,
            t0(),
            wall0(),
        )
        .unwrap_err();
        assert!(err.is_invalid_url(), "{url}");
        assert_eq!(err.url().map(Url::as_str), Some(url));
    }
}

#[test]
fn a_stale_pooled_connection_is_retried_once_on_a_fresh_one() {
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    assert!(matches!(c.poll_action(t0()).unwrap(), Action::Connect(to) if !to.fresh));
    c.connected(Some(pooled()), t0()).unwrap();
    write_out(&mut c, b"");
    c.commit_input(0); // an empty read is no answer
    c.commit_read(0); // the server had closed it while idle
    match c.poll_action(t0()).unwrap() {
        Action::Connect(to) => assert!(to.fresh && to.restart_body),
        other => panic!("expected a fresh Connect, got {other:?}"),
    }
    c.connected(None, t0()).unwrap();
    write_out(&mut c, b"");
    c.handle_eof(); // a fresh connection failing is not retried again
    let err = c.poll_action(t0()).unwrap_err();
    assert!(err.is_protocol(), "{err}");
    assert!(
        err.to_string().contains("closed before the response"),
        "{err}"
    );
}

#[test]
fn only_a_request_that_may_go_twice_is_retried_after_a_stale_connection() {
    let streamed = BodyPlan {
        framing: RequestBody::Chunked,
        replayable: false,
    };
    let in_memory = BodyPlan {
        framing: RequestBody::Length(3),
        replayable: true,
    };
    // (method, body, retried): an idempotent method and a body that can be sent again.
    let cases = [
        (Method::GET, BodyPlan::NONE, true),
        (Method::PUT, in_memory, true),
        (Method::DELETE, BodyPlan::NONE, true),
        (Method::PUT, streamed, false),
        (Method::POST, in_memory, false),
        (Method::PATCH, BodyPlan::NONE, false),
    ];
    for (method, body, retried) in cases {
        let mut c = call(request(method.clone(), body));
        c.poll_action(t0()).unwrap();
        c.connected(Some(pooled()), t0()).unwrap();
        write_out(&mut c, b"abc");
        c.handle_eof(); // the server had closed it while idle
        match c.poll_action(t0()) {
            Ok(Action::Connect(to)) => assert!(retried && to.fresh, "{method} {body:?}"),
            Ok(other) => panic!("{method}: {other:?}"),
            Err(e) => assert!(!retried && e.is_protocol(), "{method} {body:?}: {e}"),
        }
    }
}

#[test]
fn an_unexpected_eof_is_an_end_judged_by_the_framing() {
    // A GET answered with `response`, then ended as TLS without close_notify ends: the
    // first error polling on gives (None when the response came whole).
    fn ended_uncleanly(response: &[u8]) -> Option<String> {
        let mut c = get_sent_on_a_new_connection();
        feed(&mut c, response);
        c.io_failed(std::io::ErrorKind::UnexpectedEof.into(), t0())
            .unwrap();
        loop {
            match c.poll_action(t0()) {
                Ok(Action::Finished) => return None,
                Ok(_) => {}
                Err(e) => {
                    assert!(e.is_protocol(), "{e}");
                    return Some(e.to_string());
                }
            }
        }
    }
    // A Content-Length body that came whole: the end without close_notify changes nothing.
    assert_eq!(
        ended_uncleanly(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        None
    );
    // One cut short: the framing's error, as for a plain end.
    let cut = ended_uncleanly(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok").unwrap();
    assert!(cut.contains("received 2 of 9"), "{cut}");
    // A body framed by the end: not whole, for the end is not vouched for.
    let unvouched =
        ended_uncleanly(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it?").unwrap();
    assert!(unvouched.contains("close_notify"), "{unvouched}");
    // Said twice (a transport that keeps saying it), it is an I/O error the second time.
    let unexpected = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
    let mut c = get_sent_on_a_new_connection();
    c.io_failed(unexpected(), t0()).unwrap();
    let err = c.io_failed(unexpected(), t0()).unwrap_err();
    assert!(err.is_io(), "{err}");
}

#[test]
fn a_write_failure_on_a_pooled_connection_is_retried_too() {
    let mut c = call(request(
        Method::PUT,
        BodyPlan {
            framing: RequestBody::Length(3),
            replayable: true,
        },
    ));
    c.poll_action(t0()).unwrap();
    c.connected(Some(pooled()), t0()).unwrap();
    assert!(matches!(
        c.poll_action(t0()).unwrap(),
        Action::Transmit { .. }
    ));
    assert!(
        c.io_failed(std::io::ErrorKind::BrokenPipe.into(), t0())
            .is_ok()
    );
    // What the server sent before it stopped reading is read first: here, nothing.
    assert!(matches!(
        c.poll_action(t0()).unwrap(),
        Action::Receive { .. }
    ));
    c.handle_eof();
    assert!(matches!(c.poll_action(t0()).unwrap(), Action::Connect(to) if to.fresh));
}

/// A PUT of a 10-byte body on a new connection, its head and the first 4 body bytes
/// written; the rest is queued.
fn put_partly_sent() -> Call {
    let mut c = call(request(
        Method::PUT,
        BodyPlan {
            framing: RequestBody::Length(10),
            replayable: true,
        },
    ));
    connect_new(&mut c);
    let mut pieces = [&b"abcd"[..], b"efghij"].into_iter();
    loop {
        match c.poll_action(t0()).unwrap() {
            Action::Transmit { bytes, .. } if bytes == b"efghij" => return c,
            Action::Transmit { bytes, .. } => {
                let n = bytes.len();
                c.transmitted(n);
            }
            Action::SendBody => c.send_body(pieces.next().unwrap()).unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Sends what is left of `call`'s request (its body ends after what was offered): the bytes
/// that went out, whether any write was to listen, and the status of the response handed out
/// next, or `None` when the call went on to wait for one.
fn send_the_rest(call: &mut Call) -> (Vec<u8>, bool, Option<u16>) {
    let (mut wire, mut listened) = (Vec::new(), false);
    loop {
        match call.poll_action(t0()).unwrap() {
            Action::Transmit { bytes, listen, .. } => {
                listened |= listen;
                wire.extend_from_slice(bytes);
                let n = bytes.len();
                call.transmitted(n);
            }
            Action::SendBody => call.send_end().unwrap(),
            Action::Response(head) => return (wire, listened, Some(head.status().as_u16())),
            Action::Receive { .. } => return (wire, listened, None),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn a_server_that_answers_and_stops_reading_mid_upload_is_heard() {
    // A 413 before the body's end, then a reset: the write fails, the answer is read.
    for kind in [
        std::io::ErrorKind::ConnectionReset,
        std::io::ErrorKind::BrokenPipe,
    ] {
        let mut c = put_partly_sent();
        c.io_failed(kind.into(), t0()).unwrap();
        assert!(matches!(
            c.poll_action(t0()).unwrap(),
            Action::Receive { .. }
        ));
        feed(
            &mut c,
            b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\n\r\nbig",
        );
        assert_eq!(read_in(&mut c), (Some(413), b"big".to_vec(), true));
        assert!(
            c.take_connection().is_none(),
            "a request cut short leaves no reusable connection"
        );
    }
}

#[test]
fn after_an_early_answer_a_body_cut_short_is_its_own_error() {
    let mut c = put_partly_sent();
    c.io_failed(std::io::ErrorKind::BrokenPipe.into(), t0())
        .unwrap();
    feed(
        &mut c,
        b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 30\r\n\r\nbig",
    );
    assert_eq!(read_in(&mut c), (Some(413), b"big".to_vec(), false));
    let err = c
        .io_failed(std::io::ErrorKind::ConnectionReset.into(), t0())
        .unwrap_err();
    assert!(err.to_string().contains("reset"), "{err}");
    assert_eq!(err.timeout_phase(), None);
}

#[test]
fn an_answer_heard_while_sending_ends_the_upload() {
    // The driver listened while a write waited, and an answer came: the rest of the body is
    // not sent.
    let mut c = put_partly_sent();
    assert!(c.listens_while_sending());
    feed(&mut c, b"HTTP/1.1 413 Content Too");
    assert!(
        matches!(c.poll_action(t0()).unwrap(), Action::Transmit { bytes, .. } if bytes == b"efghij"),
        "half a head: sending goes on"
    );
    feed(
        &mut c,
        b" Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig",
    );
    assert_eq!(read_in(&mut c), (Some(413), b"big".to_vec(), true));
    assert!(!c.listens_while_sending());
    assert!(c.take_connection().is_none(), "not reused");
}

#[test]
fn a_success_heard_while_sending_is_handed_out_after_the_rest_of_the_body() {
    // A server that writes its head first and reads on (a CGI script, say): the whole body
    // goes, then the answer is handed out, and the connection is reused. As curl does.
    let mut c = put_partly_sent();
    feed(&mut c, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let (wire, listened, next) = send_the_rest(&mut c);
    assert_eq!(wire, b"efghij", "the whole body went out before the answer");
    assert!(!listened, "the answer is in: nothing more to listen for");
    assert_eq!(next, Some(200));
    assert_eq!(read_in(&mut c), (None, b"ok".to_vec(), true));
    assert!(c.take_connection().is_some(), "a whole exchange: reused");
}

#[test]
fn a_success_heard_while_sending_is_still_handed_out_when_the_server_resets() {
    let mut c = put_partly_sent();
    feed(
        &mut c,
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    );
    assert!(matches!(
        c.poll_action(t0()).unwrap(),
        Action::Transmit { bytes, .. } if bytes == b"efghij"
    ));
    c.io_failed(std::io::ErrorKind::ConnectionReset.into(), t0())
        .unwrap();
    assert_eq!(read_in(&mut c), (Some(201), b"ok".to_vec(), true));
    assert!(c.take_connection().is_none(), "cut short: not reused");
}

#[test]
fn a_100_continue_heard_while_sending_lets_the_body_go_on() {
    let mut c = put_partly_sent();
    feed(&mut c, b"HTTP/1.1 100 Continue\r\n\r\n");
    let (wire, _, next) = send_the_rest(&mut c);
    assert_eq!(wire, b"efghij", "the whole body went out");
    assert_eq!(next, None, "then the call waits for the answer");
    assert!(!c.listens_while_sending(), "nothing is left to send");
    feed(&mut c, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(read_in(&mut c), (Some(201), Vec::new(), true));
    assert!(c.take_connection().is_some(), "a whole exchange: reused");
}

/// The same with a head still queued, no body behind it: an error answer cancels the rest
/// of the head, a success waits for it.
#[test]
fn an_answer_heard_while_the_head_goes_out_is_judged_as_mid_upload() {
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    connect_new(&mut c);
    assert!(c.listens_while_sending());
    feed(
        &mut c,
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(read_in(&mut c), (Some(400), Vec::new(), true));
    assert!(c.request_cut_short());
    assert!(c.take_connection().is_none(), "not reused");

    let mut c = call(request(Method::GET, BodyPlan::NONE));
    connect_new(&mut c);
    feed(&mut c, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let (wire, _, next) = send_the_rest(&mut c);
    assert!(
        wire.starts_with(b"GET /p?q=1 HTTP/1.1\r\n"),
        "the head went out first"
    );
    assert_eq!(next, Some(200));
    assert_eq!(read_in(&mut c), (None, b"ok".to_vec(), true));
    assert!(!c.request_cut_short());
    assert!(c.take_connection().is_some(), "a whole exchange: reused");
}

#[test]
fn nothing_is_listened_for_once_the_request_is_out() {
    let c = get_sent_on_a_new_connection();
    assert!(!c.listens_while_sending());
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    assert!(!c.listens_while_sending(), "no connection yet");
    connect_new(&mut c);
    assert!(c.listens_while_sending(), "the head is queued");
    // A server that closed has nothing more to say: the write goes on (and meets a reset).
    let mut c = put_partly_sent();
    c.handle_eof();
    assert!(!c.listens_while_sending());
    assert!(matches!(
        c.poll_action(t0()).unwrap(),
        Action::Transmit { listen: false, .. }
    ));
}

#[test]
fn a_reset_mid_upload_with_no_answer_is_the_write_error() {
    for end in ["eof", "read error"] {
        let mut c = put_partly_sent();
        c.io_failed(std::io::ErrorKind::BrokenPipe.into(), t0())
            .unwrap();
        assert!(matches!(
            c.poll_action(t0()).unwrap(),
            Action::Receive { .. }
        ));
        let err = match end {
            "eof" => {
                c.handle_eof();
                c.poll_action(t0()).unwrap_err()
            }
            _ => c
                .io_failed(std::io::ErrorKind::ConnectionReset.into(), t0())
                .unwrap_err(),
        };
        assert_eq!(err.kind(), ErrorKind::Io, "{end}: {err}");
        assert!(err.to_string().contains("roken pipe"), "{end}: {err}");
    }
}

#[test]
fn other_write_failures_are_reported_at_once() {
    // A timeout or another error says nothing of an answer waiting.
    let mut c = put_partly_sent();
    let err = c
        .io_failed(std::io::ErrorKind::PermissionDenied.into(), t0())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    // Nor does a reset while reading the response.
    let mut c = get_sent_on_a_new_connection();
    let err = c
        .io_failed(std::io::ErrorKind::ConnectionReset.into(), t0())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
}

#[test]
fn no_retry_when_replaying_is_unsafe() {
    let cases = [
        (
            Method::POST,
            BodyPlan {
                framing: RequestBody::Length(3),
                replayable: true,
            },
            "not idempotent",
        ),
        (
            Method::PUT,
            BodyPlan {
                framing: RequestBody::Chunked,
                replayable: false,
            },
            "body not replayable",
        ),
    ];
    for (method, body, why) in cases {
        let mut c = call(request(method, body));
        c.poll_action(t0()).unwrap();
        c.connected(Some(pooled()), t0()).unwrap();
        write_out(&mut c, b"abc");
        c.handle_eof();
        assert!(c.poll_action(t0()).unwrap_err().is_protocol(), "{why}");
    }
    // A fresh connection is never retried: the server really closed on us.
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    connect_new(&mut c);
    write_out(&mut c, b"");
    assert!(
        c.io_failed(std::io::ErrorKind::ConnectionReset.into(), t0())
            .unwrap_err()
            .is_io()
    );
    // Nor is one that already delivered response bytes.
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    c.poll_action(t0()).unwrap();
    c.connected(Some(pooled()), t0()).unwrap();
    write_out(&mut c, b"");
    feed(&mut c, b"HTTP/1.1 200 OK\r\n");
    assert!(
        c.io_failed(std::io::ErrorKind::ConnectionReset.into(), t0())
            .is_err()
    );
}

#[test]
fn timeouts_name_their_phase() {
    let mut r = request(Method::GET, BodyPlan::NONE);
    r.timeouts = Some(Timeouts::default());
    let mut c = call(r);
    match c.poll_action(t0()).unwrap() {
        Action::Connect(to) => {
            assert_eq!(to.pool_deadline, Some(t0() + secs(30)));
            assert_eq!(to.connect_deadline, Some(t0() + secs(10)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.connect_deadline(), Some(t0() + secs(10)));
    assert!(c.handle_timeout(t0() + secs(5)).is_ok(), "not yet");
    let err = c.handle_timeout(t0() + secs(10)).unwrap_err();
    assert_eq!(err.timeout_phase(), Some(TimeoutPhase::Connect));

    let mut c = call(request(Method::GET, BodyPlan::NONE));
    connect_new(&mut c);
    write_out(&mut c, b"");
    let Action::Receive { deadline } = c.poll_action(t0()).unwrap() else {
        panic!()
    };
    assert_eq!(deadline, Some(t0() + secs(30)));
    assert_eq!(
        c.handle_timeout(t0() + secs(30)).unwrap_err().kind(),
        ErrorKind::Timeout(TimeoutPhase::ReadHead)
    );

    let mut c = call(request(Method::GET, BodyPlan::NONE));
    sent_and_answered(&mut c, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc");
    read_in(&mut c);
    let err = c.handle_timeout(t0() + secs(31)).unwrap_err();
    assert_eq!(err.timeout_phase(), Some(TimeoutPhase::ReadBody));
    assert!(
        err.to_string()
            .contains("reading the response body (after 30s)"),
        "{err}"
    );
}

/// A driver whose socket timeout was shorter than the wait wakes early, with nothing done:
/// the wait goes on to the deadline it had, however often that happens, and then fails.
/// (A fresh deadline from each wake-up would never pass.)
#[test]
fn an_early_wake_up_waits_on_to_the_same_deadline() {
    let mut c = get_sent_on_a_new_connection();
    let Action::Receive { deadline } = c.poll_action(t0()).unwrap() else {
        panic!()
    };
    assert_eq!(deadline, Some(t0() + secs(30)));
    for woke in [10, 20, 29] {
        c.handle_timeout(t0() + secs(woke)).unwrap();
        let Action::Receive { deadline } = c.poll_action(t0() + secs(woke)).unwrap() else {
            panic!()
        };
        assert_eq!(deadline, Some(t0() + secs(30)), "woke at {woke} s");
    }
    assert_eq!(
        c.handle_timeout(t0() + secs(30)).unwrap_err().kind(),
        ErrorKind::Timeout(TimeoutPhase::ReadHead)
    );

    // Progress after an early wake-up starts a fresh wait.
    let mut c = get_sent_on_a_new_connection();
    c.poll_action(t0()).unwrap();
    c.handle_timeout(t0() + secs(10)).unwrap();
    feed(&mut c, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc");
    let mut deadline = None;
    while deadline.is_none() {
        if let Action::Receive { deadline: d } = c.poll_action(t0() + secs(10)).unwrap() {
            deadline = d;
        }
    }
    assert_eq!(
        deadline,
        Some(t0() + secs(40)),
        "30 s from the bytes that came"
    );
    // Progress in the same phase too: half a head after an early wake-up.
    let mut c = get_sent_on_a_new_connection();
    c.poll_action(t0()).unwrap();
    c.handle_timeout(t0() + secs(10)).unwrap();
    c.poll_action(t0() + secs(10)).unwrap();
    feed(&mut c, b"HTTP/1.1 200 OK\r\n");
    let Action::Receive { deadline } = c.poll_action(t0() + secs(15)).unwrap() else {
        panic!()
    };
    assert_eq!(
        deadline,
        Some(t0() + secs(45)),
        "30 s from the bytes that came"
    );

    // The same for a write that could not go out.
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    connect_new(&mut c);
    let Action::Transmit { deadline, .. } = c.poll_action(t0()).unwrap() else {
        panic!()
    };
    assert_eq!(deadline, Some(t0() + secs(30)));
    c.handle_timeout(t0() + secs(12)).unwrap();
    let Action::Transmit { deadline, .. } = c.poll_action(t0() + secs(12)).unwrap() else {
        panic!()
    };
    assert_eq!(deadline, Some(t0() + secs(30)));
    assert_eq!(
        c.handle_timeout(t0() + secs(30)).unwrap_err().kind(),
        ErrorKind::Timeout(TimeoutPhase::Write)
    );
}

/// Waiting for the caller's body source is bounded by the total deadline alone.
#[test]
fn the_wait_for_the_body_source_ends_at_the_total_deadline() {
    // A chunked POST whose head went out: the call asks for the body.
    let at_send_body = |total: Option<Duration>| {
        let body = BodyPlan {
            framing: RequestBody::Chunked,
            replayable: false,
        };
        let mut r = request(Method::POST, body);
        let mut timeouts = Timeouts::default();
        timeouts.total = total;
        r.timeouts = Some(timeouts);
        let mut c = call(r);
        connect_new(&mut c);
        let Action::Transmit { bytes, .. } = c.poll_action(t0()).unwrap() else {
            panic!()
        };
        let n = bytes.len();
        c.transmitted(n);
        assert!(matches!(c.poll_action(t0()).unwrap(), Action::SendBody));
        c
    };
    let mut c = at_send_body(Some(secs(2)));
    assert_eq!(c.body_deadline(), Some(t0() + secs(2)));
    c.handle_timeout(t0() + secs(1)).unwrap();
    assert!(matches!(
        c.poll_action(t0() + secs(1)).unwrap(),
        Action::SendBody
    ));
    assert_eq!(c.body_deadline(), Some(t0() + secs(2)));
    assert_eq!(
        c.handle_timeout(t0() + secs(2)).unwrap_err().kind(),
        ErrorKind::Timeout(TimeoutPhase::Total)
    );
    // Without a total deadline, nothing bounds it.
    assert_eq!(at_send_body(None).body_deadline(), None);
}

/// A GET with a total deadline of `total` seconds, sent and waiting for its answer, and the
/// deadline of that wait.
fn awaiting_the_answer_within(total: u64) -> (Call, Option<Instant>) {
    let mut r = request(Method::GET, BodyPlan::NONE);
    let mut timeouts = Timeouts::default();
    timeouts.total = Some(secs(total));
    r.timeouts = Some(timeouts);
    let mut c = call(r);
    connect_new(&mut c);
    write_out(&mut c, b"");
    let Action::Receive { deadline } = c.poll_action(t0()).unwrap() else {
        panic!("expected to wait for the answer")
    };
    (c, deadline)
}

#[test]
fn the_total_deadline_wins_when_it_is_sooner() {
    let (mut c, deadline) = awaiting_the_answer_within(2);
    assert_eq!(deadline, Some(t0() + secs(2)));
    assert_eq!(
        c.handle_timeout(t0() + secs(2))
            .unwrap_err()
            .timeout_phase(),
        Some(TimeoutPhase::Total)
    );
}

/// A phase's own timeout that ends sooner than the total deadline, or with it, is the one
/// waited for and named.
#[test]
fn a_phases_own_timeout_wins_when_it_is_not_later_than_the_total() {
    for total in [60, 30] {
        let (mut c, deadline) = awaiting_the_answer_within(total);
        assert_eq!(deadline, Some(t0() + secs(30)), "total {total} s");
        assert_eq!(
            c.handle_timeout(t0() + secs(30))
                .unwrap_err()
                .timeout_phase(),
            Some(TimeoutPhase::ReadHead),
            "total {total} s"
        );
    }
}

#[test]
fn expect_continue_deadline_releases_the_body_instead_of_failing() {
    let mut r = request(
        Method::PUT,
        BodyPlan {
            framing: RequestBody::Length(4),
            replayable: true,
        },
    );
    r.headers.append("Expect", "100-continue").unwrap();
    let mut c = call(r);
    connect_new(&mut c);
    assert!(matches!(
        c.poll_action(t0()).unwrap(),
        Action::Transmit { .. }
    ));
    c.transmitted(usize::MAX);
    let Action::Receive { deadline } = c.poll_action(t0()).unwrap() else {
        panic!()
    };
    assert_eq!(
        deadline,
        Some(t0() + secs(1)),
        "the 100 Continue wait, not the read timeout"
    );
    c.handle_timeout(t0() + secs(1)).unwrap();
    assert!(matches!(c.poll_action(t0()).unwrap(), Action::SendBody));
}

#[test]
fn a_100_continue_releases_the_body() {
    let mut r = request(
        Method::PUT,
        BodyPlan {
            framing: RequestBody::Length(4),
            replayable: true,
        },
    );
    r.headers.append("Expect", "100-continue").unwrap();
    let mut c = call(r);
    connect_new(&mut c);
    c.poll_action(t0()).unwrap();
    c.transmitted(usize::MAX);
    feed(&mut c, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(matches!(c.poll_action(t0()).unwrap(), Action::SendBody));
    c.send_body(b"data").unwrap();
    assert!(
        matches!(c.poll_action(t0()).unwrap(), Action::Transmit { bytes, .. } if bytes == b"data")
    );
}

#[test]
fn trailers_are_kept_and_early_finish_uses_only_buffered_bytes() {
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    sent_and_answered(
        &mut c,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    );
    assert!(matches!(c.poll_action(t0()).unwrap(), Action::Response(_)));
    assert!(c.finish_buffered(), "everything was already here");
    assert!(c.finish_buffered(), "and still, once finished");
    assert_eq!(
        c.trailers().and_then(|t: &Headers| t.get_str("x-t")),
        Some("1")
    );
    assert!(c.take_connection().is_some());

    let mut c = call(request(Method::GET, BodyPlan::NONE));
    sent_and_answered(
        &mut c,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
    );
    assert!(matches!(c.poll_action(t0()).unwrap(), Action::Response(_)));
    assert!(!c.finish_buffered());
    assert!(!c.finish_buffered(), "given up: it stays unfinished");
    assert!(c.poll_action(t0()).is_err(), "the exchange was given up");
    assert!(
        c.take_connection().is_none(),
        "an unread body means the connection closes"
    );
}

/// `request` asking to switch to another protocol.
fn asking_to_upgrade(mut request: Request) -> Request {
    request.headers.append("Connection", "upgrade").unwrap();
    request.headers.append("Upgrade", "x").unwrap();
    request
}

#[test]
fn a_101_hands_out_its_head_then_the_upgrade() {
    let mut c = call(asking_to_upgrade(request(Method::GET, BodyPlan::NONE)));
    sent_and_answered(
        &mut c,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nframes",
    );
    assert!(matches!(c.poll_action(t0()).unwrap(), Action::Response(head) if head.status() == 101));
    assert!(matches!(c.poll_action(t0()).unwrap(), Action::Upgraded));
    assert!(matches!(c.poll_action(t0()).unwrap(), Action::Finished));
}

/// A connection that will not be reused is let go when the driver is told so, its buffers
/// with it, rather than kept as long as the call.
#[test]
fn a_connection_not_reused_is_let_go_at_once() {
    let mut c = get_sent_on_a_new_connection();
    feed(
        &mut c,
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    );
    assert_eq!(read_in(&mut c), (Some(200), b"ok".to_vec(), true));
    assert!(c.body_framing().is_some());
    assert!(c.take_connection().is_none());
    assert!(c.body_framing().is_none(), "the connection is gone");
}

#[test]
fn data_respects_the_drivers_buffer_size() {
    let mut c = call(request(Method::GET, BodyPlan::NONE));
    sent_and_answered(
        &mut c,
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
    );
    assert!(matches!(
        c.poll_action_max(t0(), 4).unwrap(),
        Action::Response(_)
    ));
    let mut pieces = Vec::new();
    loop {
        match c.poll_action_max(t0(), 4).unwrap() {
            Action::Data(d) => pieces.push(d.to_vec()),
            Action::Finished => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(pieces, [b"0123".to_vec(), b"4567".to_vec(), b"89".to_vec()]);
}

#[test]
fn a_body_may_be_handed_over_without_a_copy() {
    let put = || {
        let body = BodyPlan {
            framing: RequestBody::Length(5),
            replayable: true,
        };
        let mut c = call(request(Method::PUT, body));
        connect_new(&mut c);
        c
    };
    let mut c = put();
    let wire = write_out_by(&mut c, |c| {
        c.body_room(5).unwrap()[..5].copy_from_slice(b"hello");
        c.body_filled(5).unwrap();
    });
    assert!(wire.ends_with("\r\n\r\nhello"), "{wire}");
    let mut c = put();
    let wire = write_out_by(&mut c, |c| {
        c.send_body_shared(bytes::Bytes::from_static(b"hello"))
            .unwrap();
    });
    assert!(wire.ends_with("\r\n\r\nhello"), "{wire}");
    // No room when no body is being sent.
    let mut c = get_sent_on_a_new_connection();
    assert_eq!(c.body_room(5).unwrap_err().kind(), ErrorKind::Body);
}

#[test]
fn methods_with_content_send_a_zero_length_when_bodiless() {
    for (method, header) in [
        (Method::POST, true),
        (Method::PUT, true),
        (Method::PATCH, true),
        (Method::GET, false),
        (Method::DELETE, false),
    ] {
        let mut c = call(request(method.clone(), BodyPlan::NONE));
        connect_new(&mut c);
        let wire = write_out(&mut c, b"");
        assert_eq!(
            wire.contains("Content-Length: 0\r\n"),
            header,
            "{method}: {wire}"
        );
    }
}

mod retries {
    use super::*;
    use duet_core::client::RetryPolicy;

    /// A POST whose 3-byte body is in memory: replayable, and never retried once sent.
    fn retrying_a_post() -> Call {
        let body = BodyPlan {
            framing: RequestBody::Length(3),
            replayable: true,
        };
        retrying(Method::POST, body)
    }

    fn retrying(method: Method, body: BodyPlan) -> Call {
        let mut r = request(method, body);
        let mut policy = RetryPolicy::default_safe();
        policy.backoff_base = Duration::from_millis(100);
        r.retry = Some(policy);
        r.entropy = || [0xff; 16];
        *Call::new(&Arc::new(ClientConfig::default()), r, 7, t0(), wall0()).unwrap()
    }

    #[test]
    fn a_refused_connection_waits_then_connects_again() {
        let mut c = retrying(Method::GET, BodyPlan::NONE);
        assert!(matches!(c.poll_action(t0()).unwrap(), Action::Connect(_)));
        let refused = duet_core::client::Error::msg(ErrorKind::Connect, "refused");
        c.connect_failed(refused, t0()).unwrap();
        let Action::Sleep { until } = c.poll_action(t0()).unwrap() else {
            panic!("expected a backoff")
        };
        assert!(
            until > t0() && until <= t0() + Duration::from_millis(100),
            "jittered within the first delay"
        );
        assert!(matches!(c.poll_action(until).unwrap(), Action::Connect(to) if to.restart_body));
    }

    /// A status the policy retries that upgrades the connection (a 101 listed): the
    /// connection, another protocol's now, is dropped, and the request waits to go again.
    #[test]
    fn a_retried_101_drops_its_upgraded_connection_and_waits() {
        let mut r = asking_to_upgrade(request(Method::GET, BodyPlan::NONE));
        let mut policy = RetryPolicy::default_safe();
        policy.statuses = vec![101];
        r.retry = Some(policy);
        r.entropy = || [0xff; 16];
        let mut c = call(r);
        sent_and_answered(
            &mut c,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
        );
        assert!(matches!(c.poll_action(t0()).unwrap(), Action::Sleep { .. }));
        assert!(c.take_connection().is_none(), "not pooled");
    }

    #[test]
    fn a_503_with_retry_after_is_retried_after_that_long() {
        let mut c = retrying(Method::GET, BodyPlan::NONE);
        sent_and_answered(
            &mut c,
            b"HTTP/1.1 503 Busy\r\nRetry-After: 2\r\nContent-Length: 4\r\n\r\nbusy",
        );
        let Action::Sleep { until } = c.poll_action(t0()).unwrap() else {
            panic!("expected a backoff")
        };
        assert_eq!(until, t0() + secs(2), "Retry-After, not the backoff");
        assert!(
            c.take_connection().is_some(),
            "the drained connection can go back to the pool"
        );
        assert!(matches!(
            c.poll_action(t0() + secs(2)).unwrap(),
            Action::Connect(_)
        ));
        c.connected(None, t0()).unwrap();
        write_out(&mut c, b"");
        feed(&mut c, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(
            matches!(c.poll_action(t0()).unwrap(), Action::Response(head) if head.status() == 200)
        );
    }

    /// The retry goes out with the cookies the jar holds when it does: one the 503 set
    /// with it included.
    #[test]
    fn a_retry_carries_the_cookie_its_503_set() {
        let mut c = retrying(Method::GET, BodyPlan::NONE);
        sent_and_answered(
            &mut c,
            b"HTTP/1.1 503 Busy\r\nRetry-After: 0\r\nSet-Cookie: lb=b2\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(matches!(c.poll_action(t0()).unwrap(), Action::Connect(_)));
        c.connected(None, t0()).unwrap();
        let wire = write_out(&mut c, b"");
        assert!(wire.contains("\r\nCookie: lb=b2\r\n"), "{wire}");
    }

    /// With a total timeout of 1 s, a wait that would end at or past it is not taken: the
    /// 503 (or the error) is delivered at once, rather than a timeout after the sleep.
    #[test]
    fn a_wait_past_the_total_deadline_is_not_taken() {
        let within = |total_ms: u64| {
            let mut r = request(Method::GET, BodyPlan::NONE);
            let mut policy = RetryPolicy::default_safe();
            policy.backoff_base = Duration::from_millis(100);
            r.retry = Some(policy);
            r.entropy = || [0xff; 16]; // the longest jittered wait: the whole 100 ms
            let mut timeouts = Timeouts::default();
            timeouts.total = Some(Duration::from_millis(total_ms));
            r.timeouts = Some(timeouts);
            *Call::new(&Arc::new(ClientConfig::default()), r, 7, t0(), wall0()).unwrap()
        };
        let mut c = within(1000);
        sent_and_answered(
            &mut c,
            b"HTTP/1.1 503 Busy\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy",
        );
        assert!(
            matches!(c.poll_action(t0()).unwrap(), Action::Response(head) if head.status() == 503),
            "a wait ending at the deadline is not taken"
        );
        let (_, body, finished) = read_in(&mut c);
        assert_eq!((body.as_slice(), finished), (&b"busy"[..], true));

        let refused = || duet_core::client::Error::msg(ErrorKind::Connect, "refused");
        let mut c = within(100);
        c.poll_action(t0()).unwrap();
        let err = c.connect_failed(refused(), t0()).unwrap_err();
        assert!(err.is_connect(), "{err}");
        // A wait that ends before the deadline is still taken.
        let mut c = within(101);
        c.poll_action(t0()).unwrap();
        c.connect_failed(refused(), t0()).unwrap();
        assert!(matches!(c.poll_action(t0()).unwrap(), Action::Sleep { .. }));
    }

    /// At the wait before a retry, the drained connection of the attempt that got a 503 is
    /// the driver's to pool, reusable; after a failed connect there is none.
    #[test]
    fn the_wait_before_a_retry_hands_back_the_connection() {
        let mut r = request(Method::GET, BodyPlan::NONE);
        r.retry = Some(RetryPolicy::default_safe());
        let mut c = *Call::new(&Arc::new(ClientConfig::default()), r, 7, t0(), wall0()).unwrap();
        sent_and_answered(
            &mut c,
            b"HTTP/1.1 503 Busy\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy",
        );
        assert!(matches!(c.poll_action(t0()).unwrap(), Action::Sleep { .. }));
        let conn = c
            .take_connection()
            .expect("the drained connection, reusable");
        assert_eq!(conn.send_state(), duet_core::SendState::Idle);
        assert!(c.take_connection().is_none(), "handed back once");
        let later = t0() + Duration::from_secs(1);
        assert!(matches!(c.poll_action(later).unwrap(), Action::Connect(_)));
        assert!(c.take_connection().is_none());

        let mut r = request(Method::GET, BodyPlan::NONE);
        r.retry = Some(RetryPolicy::default_safe());
        r.entropy = || [0xff; 16]; // the longest jittered wait, not none
        let mut c = *Call::new(&Arc::new(ClientConfig::default()), r, 7, t0(), wall0()).unwrap();
        c.poll_action(t0()).unwrap();
        let refused = duet_core::client::Error::msg(ErrorKind::Connect, "refused");
        c.connect_failed(refused, t0()).unwrap();
        assert!(matches!(c.poll_action(t0()).unwrap(), Action::Sleep { .. }));
        assert!(c.take_connection().is_none(), "no connection to hand back");
    }

    #[test]
    fn a_post_is_not_sent_twice_once_it_went_out() {
        let mut c = retrying_a_post();
        connect_new(&mut c);
        write_out(&mut c, b"abc");
        let err = c
            .io_failed(std::io::ErrorKind::ConnectionReset.into(), t0())
            .unwrap_err();
        assert!(err.is_io(), "{err}");
        // But a connect error (nothing sent) is retried even for a POST.
        let mut c = retrying_a_post();
        c.poll_action(t0()).unwrap();
        c.connect_failed(
            duet_core::client::Error::msg(ErrorKind::Connect, "refused"),
            t0(),
        )
        .unwrap();
        assert!(matches!(c.poll_action(t0()).unwrap(), Action::Sleep { .. }));
    }

    /// A write that took no byte sent nothing: a POST whose write then timed out is
    /// retried as if it never left.
    #[test]
    fn a_write_that_took_nothing_leaves_the_request_unsent() {
        let mut c = retrying_a_post();
        connect_new(&mut c);
        assert!(matches!(
            c.poll_action(t0()).unwrap(),
            Action::Transmit { .. }
        ));
        c.transmitted(0);
        c.handle_timeout(t0() + secs(30)).unwrap();
        assert!(matches!(
            c.poll_action(t0() + secs(30)).unwrap(),
            Action::Sleep { .. }
        ));
    }

    /// A server that closed before answering is an I/O failure to the policy: a GET that met
    /// one on a new connection is retried after a wait.
    #[test]
    fn a_close_before_the_response_is_retried_as_an_io_failure() {
        let mut c = retrying(Method::GET, BodyPlan::NONE);
        connect_new(&mut c);
        write_out(&mut c, b"");
        c.handle_eof();
        assert!(matches!(c.poll_action(t0()).unwrap(), Action::Sleep { .. }));
    }

    #[test]
    fn without_a_policy_nothing_is_retried() {
        let mut c = call(request(Method::GET, BodyPlan::NONE));
        c.poll_action(t0()).unwrap();
        let err = c
            .connect_failed(
                duet_core::client::Error::msg(ErrorKind::Connect, "refused"),
                t0(),
            )
            .unwrap_err();
        assert!(err.is_connect());
    }
}

#[test]
fn only_a_socks5_proxy_asks_the_driver_to_resolve_the_origin() {
    let mut cases = vec![(None, false), (Some("http://proxy:3128"), false)];
    if cfg!(feature = "socks") {
        cases.extend([
            (Some("socks5h://proxy"), false),
            (Some("socks5://proxy"), true),
        ]);
    }
    for (proxy, resolve) in cases {
        let mut c = a_get_via(proxy);
        match c.poll_action(t0()).unwrap() {
            Action::Connect(to) => assert_eq!(to.resolve_origin, resolve, "{proxy:?}"),
            other => panic!("expected Connect, got {other:?}"),
        }
    }
}

/// A GET to an https origin through `proxy`, connected: it now sets up the tunnel.
fn through_a_tunnel(proxy: &str) -> Call {
    through_a_tunnel_with(ClientConfig::default(), proxy, None)
}

/// The same under `config`, with the origin's address the driver `resolved`, if any.
fn through_a_tunnel_with(
    mut config: ClientConfig,
    proxy: &str,
    resolved: Option<std::net::IpAddr>,
) -> Call {
    config.proxies = Some(ProxyConfig::all(Proxy::parse(proxy).unwrap()));
    let request = Request::new(Method::GET, Url::parse("https://example.test/p").unwrap());
    let mut c = *Call::new(&Arc::new(config), request, 7, t0(), wall0()).unwrap();
    match c.poll_action(t0()).unwrap() {
        Action::Connect(_) => {
            if let Some(address) = resolved {
                c.set_resolved_target(address);
            }
            c.connected(None, t0()).unwrap();
        }
        other => panic!("expected Connect, got {other:?}"),
    }
    c
}

/// Plays the proxy's `replies` (one per read the call asks for), the driver reporting the
/// end of the stream with the last one when `closes`; returns the call's next action, or
/// its error.
fn after_the_proxy_replies(
    c: &mut Call,
    replies: &[&[u8]],
    closes: bool,
) -> Result<String, String> {
    with_the_proxy(c, replies, closes).1
}

/// As [`after_the_proxy_replies`], also returning every write the call made to the proxy. A
/// read asked for once the replies are used up is the next action.
fn with_the_proxy(
    c: &mut Call,
    replies: &[&[u8]],
    closes: bool,
) -> (Vec<Vec<u8>>, Result<String, String>) {
    let mut replies = replies.iter();
    let mut sent = Vec::new();
    loop {
        match c.poll_action(t0()) {
            Err(e) => return (sent, Err(format!("{:?}: {e}", e.kind()))),
            Ok(Action::Transmit { bytes, .. }) => {
                sent.push(bytes.to_vec());
                let n = bytes.len();
                c.transmitted(n);
            }
            Ok(Action::Receive { .. }) if replies.len() > 0 => {
                feed(c, replies.next().unwrap());
                if closes && replies.len() == 0 {
                    c.handle_eof();
                }
            }
            Ok(other) => return (sent, Ok(format!("{other:?}"))),
        }
    }
}

/// A GET through every request to `proxy`, or none (`None`: routed directly).
fn a_get_via(proxy: Option<&str>) -> Call {
    let mut config = ClientConfig::default();
    config.proxies = Some(match proxy {
        Some(url) => ProxyConfig::all(Proxy::parse(url).unwrap()),
        None => ProxyConfig::none(),
    });
    let request = request(Method::GET, BodyPlan::NONE);
    *Call::new(&Arc::new(config), request, 7, t0(), wall0()).unwrap()
}

/// A connection to a proxy that could not be made, or not in time, names the proxy: the
/// origin is not to blame. Waiting for the client's own pool is no fault of the proxy's.
#[test]
fn a_failed_connection_to_a_proxy_names_it() {
    use duet_core::client::Error;
    let failed = |proxy: Option<&str>, error: Error| {
        let mut c = a_get_via(proxy);
        assert!(matches!(c.poll_action(t0()).unwrap(), Action::Connect(_)));
        c.connect_failed(error, t0()).unwrap_err().to_string()
    };
    let proxy = Some("http://proxy.test:3128");
    let refused = || Error::msg(ErrorKind::Connect, "connection refused");
    let named = "connecting to the proxy http://proxy.test:3128";
    let message = failed(proxy, refused());
    assert!(message.contains(named), "{message}");
    let message = failed(proxy, Error::timeout(TimeoutPhase::Connect, Some(secs(10))));
    assert!(message.contains(named), "{message}");
    let message = failed(proxy, Error::timeout(TimeoutPhase::Pool, Some(secs(30))));
    assert!(!message.contains("proxy"), "{message}");
    let message = failed(None, refused());
    assert!(!message.contains("proxy"), "{message}");
}

#[test]
fn a_proxy_that_closes_as_it_opens_the_tunnel_fails_the_request_there() {
    // The end came with the reply that opened the tunnel (a driver may report it with the
    // last bytes): the request is not sent, TLS not even started, into a connection that is
    // gone.
    let connect: [&[u8]; 1] = [b"HTTP/1.1 200 Connection established\r\n\r\n"];
    // SOCKS5: no authentication, then success, bound to 0.0.0.0:0.
    let socks: [&[u8]; 2] = [&[5, 0], &[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]];
    let mut cases = vec![("http://proxy.test:3128", &connect[..])];
    if cfg!(feature = "socks") {
        cases.push(("socks5h://proxy.test:1080", &socks[..]));
    }
    for (proxy, replies) in cases {
        let mut c = through_a_tunnel(proxy);
        let error = after_the_proxy_replies(&mut c, replies, true).expect_err(proxy);
        assert!(error.starts_with("Proxy: "), "{proxy}: {error}");
        assert!(
            error.contains("closed the connection as it opened the tunnel"),
            "{proxy}: {error}"
        );
        // Still there, the tunnel goes on to TLS with the origin.
        let mut c = through_a_tunnel(proxy);
        let next = after_the_proxy_replies(&mut c, replies, false).expect(proxy);
        assert_eq!(next, r#"StartTls { host: "example.test" }"#, "{proxy}");
    }
}

/// A tunnel that timed out, or whose connection failed, is the failed attempt's: when the
/// retry policy sends the request again on a connection from the pool (one already tunneled
/// to the origin), the request goes on it, not the old attempt's CONNECT.
#[test]
fn a_retry_after_the_tunnel_failed_sends_the_request_on_a_pooled_connection() {
    for failure in ["timeout", "reset"] {
        let mut config = ClientConfig::default();
        config.retry = duet_core::client::RetryPolicy::default_safe();
        let mut c = through_a_tunnel_with(config, "http://proxy:3128", None);
        assert!(matches!(
            c.poll_action(t0()).unwrap(),
            Action::Transmit { bytes, .. } if bytes.starts_with(b"CONNECT ")
        ));
        match failure {
            "timeout" => c.handle_timeout(t0() + secs(10)),
            _ => c.io_failed(std::io::ErrorKind::ConnectionReset.into(), t0()),
        }
        .unwrap();
        assert!(matches!(
            c.poll_action(t0() + secs(10)).unwrap(),
            Action::Connect(_)
        ));
        c.connected(Some(pooled()), t0() + secs(10)).unwrap();
        let wire = write_out(&mut c, b"");
        assert!(wire.starts_with("GET /p HTTP/1.1\r\n"), "{failure}: {wire}");
    }
}

#[test]
fn body_bytes_may_be_read_straight_into_the_callers_buffer() {
    use duet_core::client::ReceiveInto;
    let mut c = get_sent_on_a_new_connection();
    // Before the head: everything goes through the input buffer.
    assert_eq!(c.receive_into(65_536, 4096), ReceiveInto::Buffer(4096));
    feed(&mut c, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    let (status, body, finished) = read_in(&mut c);
    assert_eq!(
        (status, body.as_slice(), finished),
        (Some(200), &b"abc"[..], false)
    );
    // The rest of the body may go to the caller, at most what it has room for...
    assert_eq!(
        c.receive_into(65_536, 4096),
        ReceiveInto::Caller {
            len: 7,
            then: 0,
            more: 0
        }
    );
    assert_eq!(
        c.receive_into(4, 4096),
        ReceiveInto::Caller {
            len: 4,
            then: 0,
            more: 0
        }
    );
    // ...but not when the caller gave no buffer.
    assert_eq!(c.receive_into(0, 4096), ReceiveInto::Buffer(4096));
    c.commit_direct(4);
    assert_eq!(
        c.receive_into(65_536, 4096),
        ReceiveInto::Caller {
            len: 3,
            then: 0,
            more: 0
        }
    );
    c.commit_direct(3);
    let (_, body, finished) = read_in(&mut c);
    assert!(body.is_empty() && finished);
    assert!(c.take_connection().is_some(), "the connection is reusable");
}

#[test]
fn a_read_to_the_end_of_a_large_chunk_may_take_the_framing_after_it() {
    use duet_core::client::ReceiveInto;
    let mut c = get_sent_on_a_new_connection();
    // A chunk of 70,000 bytes ("11170"), of which 3 came with the head.
    feed(
        &mut c,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11170\r\nabc",
    );
    let (status, body, _) = read_in(&mut c);
    assert_eq!((status, body.len()), (Some(200), 3));
    // A read to the chunk's end may take CRLF and a size line as long as "11170\r\n"...
    let rest = ReceiveInto::Caller {
        len: 69_997,
        then: 9,
        more: 65_536 * 2 - 69_997,
    };
    assert_eq!(c.receive_into(65_536 * 2, 4096), rest);
    // ...one that stops short of the end takes body bytes only.
    let short = ReceiveInto::Caller {
        len: 65_536,
        then: 0,
        more: 0,
    };
    assert_eq!(c.receive_into(65_536, 4096), short);
    c.commit_direct(69_997);
    // The framing came with the data: committed as input after it, it is parsed, and the
    // next chunk's data goes straight to the caller again.
    feed(&mut c, b"\r\n11170\r\n");
    let (_, body, finished) = read_in(&mut c);
    assert!(body.is_empty() && !finished);
    assert_eq!(
        c.receive_into(70_000, 4096),
        ReceiveInto::Caller {
            len: 70_000,
            then: 9,
            more: 0
        }
    );
    c.commit_direct(70_000);
    // The framing after the last chunk is shorter than foretold: that read simply gets less.
    feed(&mut c, b"\r\n0\r\n\r\n");
    let (_, body, finished) = read_in(&mut c);
    assert!(body.is_empty() && finished);
    assert!(c.take_connection().is_some(), "the connection is reusable");
}

#[test]
fn framing_read_ahead_that_brings_data_hands_it_out_as_data() {
    use duet_core::client::ReceiveInto;
    let mut c = get_sent_on_a_new_connection();
    feed(
        &mut c,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n",
    );
    read_in(&mut c);
    // "2000": 8 KiB, large enough to foretell framing of 2 + 6 bytes.
    assert_eq!(
        c.receive_into(1 << 20, 4096),
        ReceiveInto::Caller {
            len: 8192,
            then: 8,
            more: (1 << 20) - 8192
        }
    );
    c.commit_direct(8192);
    // A shorter size line: the read's last two bytes are the next (small) chunk's data.
    feed(&mut c, b"\r\n4\r\nab");
    assert_eq!(c.receive_into(1 << 20, 4096), ReceiveInto::Buffer(4096));
    let (_, body, finished) = read_in(&mut c);
    assert_eq!((body.as_slice(), finished), (&b"ab"[..], false));
    // Two bytes of a small chunk: no framing is foretold after them.
    assert_eq!(
        c.receive_into(1 << 20, 4096),
        ReceiveInto::Caller {
            len: 2,
            then: 0,
            more: 0
        }
    );
    feed(&mut c, b"cd\r\n0\r\n\r\n");
    let (_, body, finished) = read_in(&mut c);
    assert_eq!((body.as_slice(), finished), (&b"cd"[..], true));
}

#[test]
fn a_read_may_span_the_framing_into_the_next_chunks_data() {
    use duet_core::client::ReceiveInto;
    // Chunks of 0x9000 bytes: the framing between two is CRLF "9000" CRLF (8 bytes).
    let chunked = |next: &[u8]| {
        let mut c = get_sent_on_a_new_connection();
        feed(
            &mut c,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9000\r\n",
        );
        read_in(&mut c);
        // Room for 0x9000 + 100 bytes: the read may go 100 bytes past the framing.
        assert_eq!(
            c.receive_into(0x9000 + 100, 4096),
            ReceiveInto::Caller {
                len: 0x9000,
                then: 8,
                more: 100
            }
        );
        c.commit_direct(0x9000);
        feed(&mut c, next);
        c
    };
    // The framing foretold (a size line as long, hex digits of either case), and the next
    // chunk larger than what came after it: all 100 are its data, and the rest of that chunk
    // can go straight to the caller too.
    let mut c = chunked(b"\r\n9aF0\r\n");
    assert_eq!(c.commit_direct_more(&[b'x'; 100]), 100);
    assert_eq!(
        c.receive_into(1 << 20, 4096),
        ReceiveInto::Caller {
            len: 0x9af0 - 100,
            then: 8,
            more: (1 << 20) - (0x9af0 - 100)
        }
    );
    c.commit_direct(0x9af0 - 100);
    feed(&mut c, b"\r\n0\r\n\r\n");
    let (_, body, finished) = read_in(&mut c);
    assert!(body.is_empty() && finished);
    assert!(c.take_connection().is_some(), "the connection is reusable");

    // A size line as long, of a smaller chunk (0x50 bytes): only its data is taken; the
    // bytes after it are taken as input, read as usual.
    let mut c = chunked(b"\r\n0050\r\n");
    let mut after = vec![b'x'; 0x50];
    after.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(c.commit_direct_more(&after), 0x50);
    let (_, body, finished) = read_in(&mut c);
    assert!(body.is_empty() && finished, "{body:?}");
    assert!(c.take_connection().is_some(), "the connection is reusable");

    // Framing other than foretold takes nothing: the bytes after it are input too. Here a
    // shorter size line, so the 8 bytes taken for framing end with 2 of the chunk's data.
    let mut c = chunked(b"\r\n40\r\nab");
    let mut after = vec![b'c'; 0x40 - 2];
    after.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(c.commit_direct_more(&after), 0);
    let (_, body, finished) = read_in(&mut c);
    assert_eq!(body.len(), 0x40);
    assert!(body.starts_with(b"abc") && finished);
    // An extension, a last chunk's line, a line cut short, or data already buffered after
    // the framing (the bytes after the read's framing would not come next): the same.
    let others = [
        &b"\r\n9000;x\r\n"[..],
        b"\r\n000\r\n\r\n",
        b"\r\n9000\r",
        b"\r\n9000\r\nab",
    ];
    for framing in others {
        let mut c = chunked(framing);
        assert_eq!(c.commit_direct_more(&[b'x'; 100]), 0, "{framing:?}");
    }
    // The last chunk's size line as long as the others ("0000"): no data follows it, but a
    // trailer section, read as usual.
    let mut c = chunked(b"\r\n0000\r\n");
    assert_eq!(c.commit_direct_more(b"x-sum: 1\r\n\r\n"), 0);
    let (_, body, finished) = read_in(&mut c);
    assert!(body.is_empty() && finished);
    let trailers = c.trailers().expect("trailers");
    assert_eq!(trailers.get("x-sum"), Some(&b"1"[..]));
    // Only right after a chunk's data: inside one, bytes that look like framing are data.
    let mut c = get_sent_on_a_new_connection();
    feed(
        &mut c,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9000\r\n",
    );
    read_in(&mut c);
    c.commit_direct(100);
    feed(&mut c, b"\r\n9000\r\n");
    assert_eq!(c.commit_direct_more(b"abcde"), 0);
    let (_, body, _) = read_in(&mut c);
    assert_eq!(body, b"\r\n9000\r\nabcde");
    // Nothing after the framing: nothing taken, and the next chunk's data is still direct.
    let mut c = chunked(b"\r\n9000\r\n");
    assert_eq!(c.commit_direct_more(b""), 0);
    let (_, body, finished) = read_in(&mut c);
    assert!(body.is_empty() && !finished);
    assert!(matches!(
        c.receive_into(1 << 20, 4096),
        ReceiveInto::Caller { len: 0x9000, .. }
    ));
}

#[test]
fn a_redirect_being_drained_is_not_read_into_the_callers_buffer() {
    use duet_core::client::ReceiveInto;
    let mut c = get_sent_on_a_new_connection();
    feed(
        &mut c,
        b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 10\r\n\r\nabc",
    );
    let (status, body, finished) = read_in(&mut c);
    assert_eq!((status, body.len(), finished), (None, 0, false));
    assert_eq!(c.receive_into(65_536, 4096), ReceiveInto::Buffer(4096));
}

/// A call is boxed once per request: kept within glibc's thread cache (1032 bytes), the box
/// comes from the allocator's fast path. A field that makes it larger belongs in one of the
/// boxed parts a plain exchange leaves empty.
#[cfg(target_pointer_width = "64")]
#[test]
fn a_call_stays_within_the_allocators_fast_path() {
    let size = std::mem::size_of::<Call>();
    assert!(size <= 1024, "Call is {size} bytes");
}

/// A call for `method` to `url` under `config`, its request sent on a new connection and
/// `response` fed in; returns the call and the head it handed out (at `t0() + answer_after`).
fn answered(
    config: ClientConfig,
    method: Method,
    url: &str,
    response: &[u8],
    answer_after: Duration,
) -> (Box<Call>, duet_core::ResponseHead) {
    let request = Request::new(method, Url::parse(url).unwrap());
    let mut c = Call::new(&Arc::new(config), request, 7, t0(), wall0()).unwrap();
    match c.poll_action(t0()).unwrap() {
        Action::Connect(_) => c.connected(None, t0()).unwrap(),
        other => panic!("expected Connect, got {other:?}"),
    }
    write_out(&mut c, b"");
    feed(&mut c, response);
    let head = match c.poll_action(t0() + answer_after).unwrap() {
        Action::Response(head) => head.clone(),
        other => panic!("expected the response, got {other:?}"),
    };
    (c, head)
}

#[test]
fn the_body_decoder_follows_the_codings_the_framing_and_the_config() {
    use duet_core::BodyFraming;
    let url = "http://example.test/p";
    let gzip = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 20\r\n\r\n";
    // (method, response, decompress, framing, length, decoder expected)
    type Case<'a> = (
        Method,
        &'a [u8],
        bool,
        Option<BodyFraming>,
        Option<u64>,
        bool,
    );
    let cases: [Case; 8] = [
        (
            Method::GET,
            gzip,
            true,
            Some(BodyFraming::Length(20)),
            Some(20),
            true,
        ),
        // The client was told not to decompress.
        (
            Method::GET,
            gzip,
            false,
            Some(BodyFraming::Length(20)),
            Some(20),
            false,
        ),
        // An empty body by its length, or by the method: nothing to decode.
        (
            Method::GET,
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n",
            true,
            Some(BodyFraming::Length(0)),
            Some(0),
            false,
        ),
        (
            Method::HEAD,
            gzip,
            true,
            Some(BodyFraming::None),
            Some(0),
            false,
        ),
        // No coding named.
        (
            Method::GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n",
            true,
            Some(BodyFraming::Length(20)),
            Some(20),
            false,
        ),
        // A transfer coding before chunked is undone too; a chunked body has no length.
        (
            Method::GET,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            true,
            Some(BodyFraming::Chunked),
            None,
            true,
        ),
        // Read to the close: no length either.
        (
            Method::GET,
            b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n\r\n",
            true,
            Some(BodyFraming::CloseDelimited),
            None,
            true,
        ),
        // A coding duet does not know leaves the body as it came.
        (
            Method::GET,
            b"HTTP/1.1 200 OK\r\nContent-Encoding: utf-8\r\nContent-Length: 20\r\n\r\n",
            true,
            Some(BodyFraming::Length(20)),
            Some(20),
            false,
        ),
    ];
    for (method, response, decompress, framing, length, decodes) in cases {
        let what = format!(
            "{method} {:?} decompress={decompress}",
            String::from_utf8_lossy(response)
        );
        let mut config = ClientConfig::default();
        config.decompress = decompress;
        let (c, head) = answered(config, method, url, response, Duration::ZERO);
        assert_eq!(c.body_framing(), framing, "{what}");
        assert_eq!(c.body_length(), length, "{what}");
        let decoder = c.content_decoder(&head).unwrap();
        assert_eq!(decoder.is_some(), decodes, "{what}");
    }
    // Before the head, nothing is known of the body.
    let c = call(request(Method::GET, BodyPlan::NONE));
    assert_eq!((c.body_framing(), c.body_length()), (None, None));
    // More codings than the limit allows is a decode error.
    let mut config = ClientConfig::default();
    config.limits.max_content_encodings = 1;
    let response = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip\r\nContent-Length: 20\r\n\r\n";
    let (c, head) = answered(config, Method::GET, url, response, Duration::ZERO);
    let error = c.content_decoder(&head).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
}

#[test]
fn a_call_tells_its_method_its_limits_and_how_long_the_answer_took() {
    let mut config = ClientConfig::default();
    config.limits.max_headers = 9;
    let response = b"HTTP/1.1 204 No Content\r\n\r\n";
    let request = Request::new(Method::DELETE, Url::parse("http://example.test/p").unwrap());
    let c = Call::new(&Arc::new(config.clone()), request, 7, t0(), wall0()).unwrap();
    assert_eq!(c.elapsed(), Duration::ZERO, "no answer yet");
    let (c, head) = answered(
        config,
        Method::DELETE,
        "http://example.test/p",
        response,
        secs(3),
    );
    assert_eq!(head.status(), 204);
    assert_eq!(c.method(), Method::DELETE);
    assert_eq!(c.limits().max_headers, 9);
    assert_eq!(c.elapsed(), secs(3), "from the call's start to its answer");
}

#[test]
fn only_connections_that_speak_tls_are_keyed_by_the_tls_settings() {
    // (origin, proxy, keyed by the TLS profile)
    let cases = [
        ("http://example.test/", None, false),
        ("https://example.test/", None, true),
        (
            "http://example.test/",
            Some("http://proxy.test:3128"),
            false,
        ),
        (
            "http://example.test/",
            Some("https://proxy.test:3128"),
            true,
        ),
        (
            "https://example.test/",
            Some("http://proxy.test:3128"),
            true,
        ),
    ];
    for (url, proxy, tls) in cases {
        let mut config = ClientConfig::default();
        config.proxies = Some(match proxy {
            Some(proxy) => ProxyConfig::all(Proxy::parse(proxy).unwrap()),
            None => ProxyConfig::none(),
        });
        let request = Request::new(Method::GET, Url::parse(url).unwrap());
        let c = Call::new(&Arc::new(config), request, 7, t0(), wall0()).unwrap();
        let expected = if tls { 7 } else { 0 };
        assert_eq!(c.pool_key().tls_profile, expected, "{url} via {proxy:?}");
    }
}

#[cfg(feature = "socks")]
#[test]
fn a_socks5_proxy_is_given_the_address_the_driver_resolved_and_socks5h_the_name() {
    let ip = std::net::IpAddr::from([192, 0, 2, 7]);
    // (proxy, the CONNECT request after the greeting: version, command, reserved, address)
    let mut by_name = vec![5, 1, 0, 3, 12];
    by_name.extend_from_slice(b"example.test");
    by_name.extend_from_slice(&[0x01, 0xbb]);
    let cases = [
        (
            "socks5://proxy.test:1080",
            vec![5, 1, 0, 1, 192, 0, 2, 7, 0x01, 0xbb],
        ),
        ("socks5h://proxy.test:1080", by_name),
    ];
    for (proxy, expected) in cases {
        let mut c = through_a_tunnel_with(ClientConfig::default(), proxy, Some(ip));
        // The greeting's reply: no authentication; the request's goes unanswered.
        let (sent, next) = with_the_proxy(&mut c, &[&[5, 0]], false);
        assert!(next.unwrap().starts_with("Receive"), "{proxy}");
        assert_eq!(sent, [vec![5, 1, 0], expected], "{proxy}");
    }
}

#[test]
fn a_tunnel_is_asked_for_with_connect_and_refused_unless_the_proxy_answers_2xx() {
    // What the call writes to set the tunnel up.
    let mut c = through_a_tunnel("http://proxy.test:3128");
    let (sent, _) = with_the_proxy(&mut c, &[], false);
    let connect = String::from_utf8(sent.concat()).unwrap();
    assert!(
        connect.starts_with("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n"),
        "{connect}"
    );
    // (the proxy's answer, the error, or what the call does next)
    let cases: [(&[u8], Result<&str, &str>); 4] = [
        (
            b"HTTP/1.1 200 Connection established\r\n\r\n",
            Ok(r#"StartTls { host: "example.test" }"#),
        ),
        (
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
            Err("the proxy refused the tunnel with 403 Forbidden"),
        ),
        (
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
            Err("the proxy requires authentication (407 Proxy Authentication Required)"),
        ),
        (
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
            Err("the proxy refused the tunnel with 502 Bad Gateway"),
        ),
    ];
    for (reply, expected) in cases {
        let mut c = through_a_tunnel("http://proxy.test:3128");
        let outcome = after_the_proxy_replies(&mut c, &[reply], false);
        match (outcome, expected) {
            (Ok(next), Ok(expected)) => assert_eq!(next, expected),
            (Err(error), Err(expected)) => {
                assert!(error.starts_with("Proxy: "), "{error}");
                assert!(error.ends_with(expected), "{error}");
            }
            (outcome, _) => panic!("{}: {outcome:?}", String::from_utf8_lossy(reply)),
        }
    }
}

/// Sets up a tunnel through a proxy that challenges with `replies` (one per read), with
/// `rounds` authentication rounds allowed; returns the CONNECT requests written and the
/// call's next action (or its error).
fn tunnel_through_a_challenge(
    replies: &[&[u8]],
    rounds: usize,
) -> (Vec<String>, Result<String, String>) {
    let mut config = ClientConfig::default();
    config.proxy_auth = Some(Arc::new(support::Answering::default()));
    config.limits.max_auth_rounds = rounds;
    tunnel_through_a_challenge_with(config, replies)
}

/// As [`tunnel_through_a_challenge`], under `config` (with its proxy credentials).
fn tunnel_through_a_challenge_with(
    config: ClientConfig,
    replies: &[&[u8]],
) -> (Vec<String>, Result<String, String>) {
    let mut c = through_a_tunnel_with(config, "http://proxy.test:3128", None);
    let (sent, next) = with_the_proxy(&mut c, replies, false);
    let sent = sent.iter().map(|s| String::from_utf8_lossy(s).into_owned());
    (sent.collect(), next)
}

#[test]
fn a_proxys_challenge_to_connect_is_answered_within_the_rounds_allowed() {
    let challenge: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: n1\r\nContent-Length: 4\r\n\r\nneed";
    let open: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";
    let (sent, next) = tunnel_through_a_challenge(&[challenge, open], 2);
    assert_eq!(next.as_deref(), Ok(r#"StartTls { host: "example.test" }"#));
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent.iter()
            .all(|s| s.starts_with("CONNECT example.test:443 HTTP/1.1\r\n"))
    );
    assert!(!sent[0].contains("Proxy-Authorization"), "{}", sent[0]);
    assert!(
        sent[1].contains("\r\nProxy-Authorization: Answer n1\r\n"),
        "{}",
        sent[1]
    );
    // Out of rounds: the last 407 is the refusal.
    let (sent, next) = tunnel_through_a_challenge(&[challenge, challenge], 1);
    assert_eq!(sent.len(), 2, "{sent:?}");
    let error = next.unwrap_err();
    assert!(
        error.starts_with("Proxy: ") && error.contains("407"),
        "{error}"
    );
    // Another refusal is not a challenge, whatever it carries.
    let forbidden: &[u8] =
        b"HTTP/1.1 403 Forbidden\r\nProxy-Authenticate: n1\r\nContent-Length: 0\r\n\r\n";
    let (sent, next) = tunnel_through_a_challenge(&[forbidden], 2);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(next.unwrap_err().contains("403 Forbidden"));
    // A proxy that sends bytes of its own past the 200 is not a tunnel to trust.
    let eager: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\nhello";
    let (_, next) = tunnel_through_a_challenge(&[eager], 2);
    let error = next.unwrap_err();
    assert!(
        error.ends_with("the proxy sent bytes before the tunnel was in use"),
        "{error}"
    );
}

#[test]
fn a_proxy_flow_that_wants_the_challenges_body_reads_it_before_answering_the_connect() {
    let wanting = || {
        let flow = support::Answering {
            needs_response_body: true,
            ..support::Answering::default()
        };
        let seen = flow.seen_bodies.clone();
        let mut config = ClientConfig::default();
        config.proxy_auth = Some(Arc::new(flow));
        (config, seen)
    };
    // The body comes in two reads; the flow decides once it is whole.
    let challenge: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: n1\r\nContent-Length: 9\r\n\r\nneed";
    let open: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";
    let (config, seen) = wanting();
    let (sent, next) = tunnel_through_a_challenge_with(config, &[challenge, b" auth", open]);
    assert_eq!(next.as_deref(), Ok(r#"StartTls { host: "example.test" }"#));
    assert_eq!(*seen.lock().unwrap(), ["need auth"]);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[1].contains("\r\nProxy-Authorization: Answer n1\r\n"),
        "{}",
        sent[1]
    );
    // Read, and not answered: the 407 is the refusal.
    let unanswerable: &[u8] =
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno";
    let (config, seen) = wanting();
    let (sent, next) = tunnel_through_a_challenge_with(config, &[unanswerable]);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let error = next.unwrap_err();
    assert!(
        error.starts_with("Proxy: ") && error.contains("407"),
        "{error}"
    );
    assert_eq!(*seen.lock().unwrap(), ["no"]);
    // A body past the drain bound is not read whole for the flow.
    let (mut config, seen) = wanting();
    config.limits.max_drain_bytes = 8;
    let (_, next) = tunnel_through_a_challenge_with(config, &[challenge, b" auth"]);
    let error = next.unwrap_err();
    assert!(
        error.starts_with("Auth: ") && error.ends_with("too large for the authentication flow"),
        "{error}"
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn after_a_407_to_connect_and_a_close_the_answer_needs_a_scheme_not_bound_to_the_connection() {
    let closing: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: n1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    let (sent, next) = tunnel_through_a_challenge(&[closing], 2);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        next.unwrap().starts_with("Connect("),
        "the answer goes on a new connection"
    );
    let mut config = ClientConfig::default();
    config.proxy_auth = Some(Arc::new(support::Answering {
        same_connection: true,
        ..support::Answering::default()
    }));
    let (_, next) = tunnel_through_a_challenge_with(config, &[closing]);
    let error = next.unwrap_err();
    assert!(
        error.starts_with("Auth: ")
            && error.ends_with(
                "the proxy closed the connection this authentication scheme is bound to"
            ),
        "{error}"
    );
}

#[cfg(feature = "socks")]
#[test]
fn a_socks5_proxy_that_says_too_much_or_too_little_fails_the_tunnel() {
    // Success, bound to 0.0.0.0:0, and then a byte of the proxy's own.
    let eager: [&[u8]; 2] = [&[5, 0], &[5, 0, 0, 1, 0, 0, 0, 0, 0, 0, b'x']];
    let mut c = through_a_tunnel("socks5h://proxy.test:1080");
    let error = after_the_proxy_replies(&mut c, &eager, false).unwrap_err();
    assert!(
        error.ends_with("the SOCKS proxy sent bytes before the tunnel was in use"),
        "{error}"
    );
    // Closed before its reply was whole: the handshake says which reply was cut short.
    let cut: [&[u8]; 2] = [&[5, 0], &[5, 0, 0]];
    let mut c = through_a_tunnel("socks5h://proxy.test:1080");
    let error = after_the_proxy_replies(&mut c, &cut, true).unwrap_err();
    assert!(error.starts_with("Proxy: "), "{error}");
    assert!(
        error.contains("SOCKS5 proxy closed the connection in its"),
        "{error}"
    );
}
