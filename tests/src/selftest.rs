//! Self-tests of the test servers, driven with plain std sockets (and a rustls client in
//! `selftest/tls.rs`). Everything on 127.0.0.1, no test waits on a timer to pass.

mod tls;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use crate::codec::{chunked, deflate, gzip};
use crate::server::{Expect, Options, Reply, Server};

/// A parsed response: status, head text, body (chunked framing kept as received).
pub(crate) struct Resp {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

pub(crate) fn connect(server: &Server) -> TcpStream {
    let s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads one response from `r`; `buf` keeps bytes that arrived past it. `head_only` for HEAD.
pub(crate) fn read_response(r: &mut impl Read, buf: &mut Vec<u8>, head_only: bool) -> Resp {
    let mut tmp = [0u8; 4096];
    let (status, head_len, length, is_chunked) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(n) = resp.parse(buf).unwrap() {
            let find = |name: &str| {
                resp.headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| h.value)
            };
            let length =
                find("content-length").map(|v| std::str::from_utf8(v).unwrap().parse().unwrap());
            let chunked = find("transfer-encoding").is_some_and(|v| v.ends_with(b"chunked"));
            break (resp.code.unwrap(), n, length, chunked);
        }
        let n = r.read(&mut tmp).unwrap();
        assert!(
            n > 0,
            "EOF in response head: {:?}",
            String::from_utf8_lossy(buf)
        );
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8(buf.drain(..head_len).collect()).unwrap();
    let body_len = if head_only || status < 200 || status == 204 || status == 304 {
        0
    } else if let Some(n) = length {
        n
    } else if is_chunked {
        loop {
            if let Some(n) = chunked_len(buf) {
                break n;
            }
            let n = r.read(&mut tmp).unwrap();
            assert!(n > 0, "EOF in chunked body");
            buf.extend_from_slice(&tmp[..n]);
        }
    } else {
        r.read_to_end(buf).unwrap();
        buf.len()
    };
    while buf.len() < body_len {
        let n = r.read(&mut tmp).unwrap();
        assert!(n > 0, "EOF in body");
        buf.extend_from_slice(&tmp[..n]);
    }
    Resp {
        status,
        head,
        body: buf.drain(..body_len).collect(),
    }
}

/// The length of a complete chunked body (trailers included) at the start of `buf`.
fn chunked_len(buf: &[u8]) -> Option<usize> {
    let line_end = |from: usize| {
        buf[from..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| from + p + 2)
    };
    let mut at = 0;
    loop {
        let next = line_end(at)?;
        let size = std::str::from_utf8(&buf[at..next - 2])
            .ok()?
            .split(';')
            .next()?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        if size == 0 {
            at = next;
            loop {
                let next = line_end(at)?;
                if next - at == 2 {
                    return Some(next);
                }
                at = next;
            }
        }
        at = next + size + 2;
        if at > buf.len() {
            return None;
        }
    }
}

pub(crate) fn exchange(s: &mut TcpStream, request: &[u8]) -> Resp {
    s.write_all(request).unwrap();
    read_response(s, &mut Vec::new(), false)
}

/// Asserts the peer closed: EOF, or a reset when `reset`.
fn assert_closed(s: &mut TcpStream, reset: bool) {
    let mut tmp = [0u8; 64];
    match s.read(&mut tmp) {
        Ok(0) => assert!(!reset, "expected a reset, got EOF"),
        Ok(n) => panic!("expected close, got {:?}", &tmp[..n]),
        Err(e) => assert!(reset && e.kind() == ErrorKind::ConnectionReset, "{e}"),
    }
}

/// Polls `cond` for up to 5 s (for server-side state that trails what the client saw).
pub(crate) fn eventually(cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    cond()
}

#[test]
fn keep_alive_two_requests_one_connection() {
    let _watchdog = crate::watchdog!();
    let server = Server::http(|req| {
        Reply::ok(format!("{} {}", req.method, req.target)).header("X-Echo", "a")
    });
    let mut s = connect(&server);
    let r = exchange(
        &mut s,
        b"GET /a HTTP/1.1\r\nHost: x\r\nX-Mixed-Case: One\r\n\r\n",
    );
    assert_eq!((r.status, &r.body[..]), (200, &b"GET /a"[..]));
    assert!(
        r.head
            .starts_with("HTTP/1.1 200 OK\r\nX-Echo: a\r\nContent-Length: 6\r\n\r\n"),
        "{}",
        r.head
    );
    let r = exchange(&mut s, b"GET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.body, b"GET /b?q=1");
    assert_eq!(server.connections(), 1);
    let reqs = server.requests();
    assert_eq!(
        reqs.iter().map(|r| (r.conn, r.index)).collect::<Vec<_>>(),
        [(0, 0), (0, 1)]
    );
    assert_eq!(
        reqs[0].headers[1],
        ("X-Mixed-Case".to_string(), b"One".to_vec())
    );
    assert_eq!(reqs[0].header_str("x-mixed-case"), Some("One"));
    assert_eq!(
        reqs[0].raw,
        b"GET /a HTTP/1.1\r\nHost: x\r\nX-Mixed-Case: One\r\n\r\n"
    );
    assert_eq!(
        (reqs[1].path(), reqs[1].query(), &reqs[1].version[..]),
        ("/b", Some("q=1"), "HTTP/1.1")
    );
    assert!(server.url("x").starts_with("http://127.0.0.1:") && server.url("/x").ends_with("/x"));
    drop(s);
    let mut s2 = connect(&server);
    exchange(&mut s2, b"GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(server.requests()[2].conn, 1);
    assert!(server.errors().is_empty(), "{:?}", server.errors());
}

#[test]
fn pipelined_requests_answered_in_order() {
    let _watchdog = crate::watchdog!();
    let server = Server::http(|req| Reply::ok(req.target.clone()));
    let mut s = connect(&server);
    s.write_all(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(read_response(&mut s, &mut buf, false).body, b"/1");
    assert_eq!(read_response(&mut s, &mut buf, false).body, b"/2");
    assert_eq!(server.requests()[1].body, b"abc");
}

#[test]
fn chunked_post_body_and_trailers() {
    let _watchdog = crate::watchdog!();
    let server = Server::http(|req| Reply::ok(req.body.clone()));
    let mut s = connect(&server);
    let sent: &[u8] = b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Sum: 42\r\n\r\n";
    let r = exchange(&mut s, sent);
    assert_eq!(r.body, b"hello, world!!!");
    let req = &server.requests()[0];
    assert!(req.chunked);
    assert_eq!(req.body, b"hello, world!!!");
    assert_eq!(req.trailers, [("X-Sum".to_string(), b"42".to_vec())]);
    assert_eq!(req.raw, sent);
    assert_eq!(
        req.raw_head(),
        b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
}

#[test]
fn expect_continue_default_sends_100_then_reads_body() {
    let _watchdog = crate::watchdog!();
    let server = Server::http(|req| Reply::ok(req.body.clone()));
    let mut s = connect(&server);
    s.write_all(b"PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let interim = read_response(&mut s, &mut buf, false);
    assert_eq!(
        (interim.status, &interim.head[..]),
        (100, "HTTP/1.1 100 Continue\r\n\r\n")
    );
    s.write_all(b"data").unwrap();
    assert_eq!(read_response(&mut s, &mut buf, false).body, b"data");
}

#[test]
fn expect_ignored_or_rejected() {
    let _watchdog = crate::watchdog!();
    let server = Server::http_with(Options::default().expect(Expect::Ignore), |req| {
        Reply::ok(req.body.clone())
    });
    let mut s = connect(&server);
    let r = exchange(
        &mut s,
        b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata",
    );
    assert_eq!((r.status, &r.body[..]), (200, &b"data"[..]));

    let server = Server::http_with(
        Options::default().expect(Expect::Reject(417)),
        |_| unreachable!(),
    );
    let mut s = connect(&server);
    let r = exchange(
        &mut s,
        b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    assert_eq!(r.status, 417);
    assert!(r.head.contains("Connection: close\r\n"));
    assert_closed(&mut s, false);
    assert_eq!(server.requests()[0].body, b"");
}

#[test]
fn reply_builder_framing_close_head_and_raw() {
    let _watchdog = crate::watchdog!();
    let server = Server::http(|req| match req.path() {
        "/chunked" => Reply::new(201)
            .reason("Made")
            .header("a-B", "1")
            .chunked(vec![b"ab".to_vec(), vec![], b"c".to_vec()])
            .trailer("T", "x"),
        "/close" => Reply::ok("bye").close(),
        "/nocontent" => Reply::new(204),
        "/own-framing" => Reply::ok("abc").header("Content-Length", "3"),
        "/raw" => Reply::raw(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"[..]),
        "/raw-close" => Reply::raw(&b"HTTP/1.1 200 OK\r\n\r\nuntil eof"[..]).close(),
        _ => Reply::ok("body").delay(Duration::from_millis(20)),
    });
    let mut s = connect(&server);
    let r = exchange(&mut s, b"GET /chunked HTTP/1.1\r\n\r\n");
    assert_eq!(
        r.head,
        "HTTP/1.1 201 Made\r\na-B: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    assert_eq!(r.body, b"2\r\nab\r\n1\r\nc\r\n0\r\nT: x\r\n\r\n");
    let r = exchange(&mut s, b"GET /nocontent HTTP/1.1\r\n\r\n");
    assert_eq!(r.head, "HTTP/1.1 204 No Content\r\n\r\n");
    let r = exchange(&mut s, b"GET /own-framing HTTP/1.1\r\n\r\n");
    assert_eq!(r.head, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
    let started = Instant::now();
    s.write_all(b"HEAD /x HTTP/1.1\r\n\r\n").unwrap();
    let r = read_response(&mut s, &mut Vec::new(), true);
    assert!(started.elapsed() >= Duration::from_millis(20));
    assert_eq!(r.head, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
    let r = exchange(&mut s, b"GET /raw HTTP/1.1\r\n\r\n");
    assert_eq!(
        (r.head.as_str(), &r.body[..]),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", &b"hi"[..])
    );
    let r = exchange(&mut s, b"GET /close HTTP/1.1\r\n\r\n");
    assert_eq!(
        r.head,
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
    );
    assert_closed(&mut s, false);

    let mut s = connect(&server);
    let r = exchange(&mut s, b"GET /raw-close HTTP/1.1\r\n\r\n");
    assert_eq!(r.body, b"until eof");
    let mut s = connect(&server);
    let r = exchange(&mut s, b"GET / HTTP/1.0\r\n\r\n");
    assert!(r.head.ends_with("Connection: close\r\n\r\n"));
    assert_closed(&mut s, false);
    assert_eq!(server.connections(), 3);
}

#[test]
fn bad_request_gets_400_and_is_reported() {
    let _watchdog = crate::watchdog!();
    let server = Server::http(|_| Reply::ok(""));
    let mut s = connect(&server);
    let r = exchange(&mut s, b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n");
    assert_eq!(r.status, 400);
    assert_closed(&mut s, false);
    assert!(
        server.errors()[0].contains("Content-Length"),
        "{:?}",
        server.errors()
    );
}

#[test]
fn a_request_cut_short_is_recorded_incomplete_once_its_connection_ends() {
    let _watchdog = crate::watchdog!();
    let server = Server::http(|_| Reply::ok(""));
    assert!(
        !server.wait_for_connections_to_end(1, Duration::from_millis(20)),
        "none yet"
    );
    let mut s = connect(&server);
    exchange(
        &mut s,
        b"POST /whole HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    );
    s.write_all(b"POST /cut HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc")
        .unwrap();
    assert!(
        !server.wait_for_connections_to_end(1, Duration::from_millis(50)),
        "still open"
    );
    drop(s);
    assert!(server.wait_for_connections_to_end(1, Duration::from_secs(5)));
    let requests = server.requests();
    assert_eq!(
        requests
            .iter()
            .map(|r| (r.path(), r.complete))
            .collect::<Vec<_>>(),
        [("/whole", true), ("/cut", false)]
    );
    assert_eq!(
        server.errors(),
        ["connection 0: connection: closed in the middle of the body"]
    );
}

#[test]
fn handler_panic_gives_500_and_fails_on_drop() {
    let _watchdog = crate::watchdog!();
    let server = Server::http(|_| panic!("boom in handler"));
    let mut s = connect(&server);
    assert_eq!(exchange(&mut s, b"GET / HTTP/1.1\r\n\r\n").status, 500);
    let dropped = catch_unwind(AssertUnwindSafe(|| drop(server)));
    let msg = crate::server::panic_message(&*dropped.unwrap_err());
    assert!(msg.contains("boom in handler"), "{msg}");
}

#[test]
fn drop_ends_idle_and_stuck_connections() {
    let _watchdog = crate::watchdog!();
    let server = Server::scripted(|conn| {
        conn.sleep(Duration::from_secs(3600));
    });
    let mut idle = connect(&server);
    let handler = Server::http(|_| Reply::ok("").delay(Duration::from_secs(3600)));
    let mut pending = connect(&handler);
    pending.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert!(eventually(
        || server.connections() == 1 && handler.requests().len() == 1
    ));
    let started = Instant::now();
    drop(server);
    drop(handler);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_closed(&mut idle, false);
    assert_closed(&mut pending, false);
}

#[test]
fn scripted_close_reset_and_half_close() {
    let _watchdog = crate::watchdog!();
    let server = Server::scripted(|conn| {
        let req = conn.read_request().unwrap();
        match req.path() {
            "/close" => conn.close(),
            "/reset" => conn.reset(),
            "/half" => {
                conn.write(b"HTTP/1.1 200 OK\r\n\r\npartial");
                conn.shutdown_write();
                let rest = conn.read_some();
                conn.write(&rest); // fails quietly: write side is shut
                assert_eq!(rest, b"after half-close");
            }
            _ => unreachable!(),
        }
    });
    let mut s = connect(&server);
    s.write_all(b"GET /close HTTP/1.1\r\n\r\n").unwrap();
    assert_closed(&mut s, false);
    let mut s = connect(&server);
    s.write_all(b"GET /reset HTTP/1.1\r\n\r\n").unwrap();
    assert_closed(&mut s, true);
    let mut s = connect(&server);
    s.write_all(b"GET /half HTTP/1.1\r\n\r\n").unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"HTTP/1.1 200 OK\r\n\r\npartial");
    s.write_all(b"after half-close").unwrap();
    drop(s);
    drop(server); // re-raises the script's assertion, if it failed
}

#[test]
fn scripted_slow_write_head_only_and_indices() {
    let _watchdog = crate::watchdog!();
    let server = Server::scripted(|conn| {
        let mut req = conn.read_head_only().unwrap();
        assert!(req.body.is_empty());
        assert!(conn.read_body(&mut req));
        let reply = Reply::ok(format!("conn {} body {}", conn.index(), req.body_str()));
        conn.write_slowly(&reply.to_bytes(), Duration::from_millis(1));
        conn.serve(|req| Reply::ok(format!("served {}", req.index)));
    });
    for n in 0..2 {
        let mut s = connect(&server);
        let r = exchange(&mut s, b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
        assert_eq!(r.body, format!("conn {n} body hi").as_bytes());
        assert_eq!(
            exchange(&mut s, b"GET / HTTP/1.1\r\n\r\n").body,
            b"served 1"
        );
    }
    let reqs = server.requests();
    assert_eq!(
        reqs.iter()
            .map(|r| (r.conn, r.index, r.body.len()))
            .collect::<Vec<_>>(),
        [(0, 0, 2), (0, 1, 0), (1, 0, 2), (1, 1, 0)]
    );
    assert_eq!(
        reqs[0].raw,
        b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
    );
}

#[test]
fn scripted_reply_with_send_and_expect() {
    let _watchdog = crate::watchdog!();
    let server = Server::scripted(|conn| {
        let req = conn.read_request().unwrap();
        conn.send(&Reply::ok(req.body).close());
        assert!(!conn.is_open());
    });
    let mut s = connect(&server);
    s.write_all(b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(read_response(&mut s, &mut buf, false).status, 100);
    s.write_all(b"z").unwrap();
    let r = read_response(&mut s, &mut buf, false);
    assert_eq!((r.status, &r.body[..]), (200, &b"z"[..]));
    assert_closed(&mut s, false);
}

#[test]
fn codecs_round_trip() {
    let _watchdog = crate::watchdog!();
    let data = b"hello hello hello hello".repeat(10);
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gzip(&data)[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, data);
    out.clear();
    flate2::read::ZlibDecoder::new(&deflate(&data)[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, data);
    assert_eq!(
        chunked(&[b"abc", b"", b"0123456789ab"]),
        b"3\r\nabc\r\nc\r\n0123456789ab\r\n0\r\n\r\n"
    );
}

#[test]
fn close_connections_makes_pooled_connections_stale() {
    let _watchdog = crate::watchdog!();
    let server = Server::http(|_| Reply::ok("x"));
    let mut s = connect(&server);
    exchange(
        &mut s,
        b"GET / HTTP/1.1\r\nX-Spaces:   padded value  \r\n\r\n",
    );
    assert_eq!(
        server.requests()[0].header("x-spaces"),
        Some(&b"padded value"[..])
    );
    server.close_connections();
    assert_closed(&mut s, false);
    let mut s = connect(&server);
    assert_eq!(exchange(&mut s, b"GET / HTTP/1.1\r\n\r\n").status, 200);
    assert_eq!(server.connections(), 2);
}

/// Set in the child copy of the watchdog test: the child is the test that hangs.
const HANG: &str = "DUET_SELFTEST_HANG";

#[test]
fn watchdog_ends_a_hung_test_and_not_a_finished_one() {
    use crate::harness::{HUNG_EXIT, Watchdog};
    if std::env::var_os(HANG).is_some() {
        // A test that finished in time: its watchdog, the first due, must stay quiet.
        drop(Watchdog::arm_for(
            "the finished test",
            Duration::from_millis(50),
        ));
        let _watchdog = Watchdog::arm_for("the hung test", Duration::from_millis(300));
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "selftest::watchdog_ends_a_hung_test_and_not_a_finished_one",
            "--exact",
            "--nocapture",
        ])
        .env(HANG, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(HUNG_EXIT), "{stderr}");
    assert!(
        stderr.contains("the hung test has run for 300ms without finishing"),
        "{stderr}"
    );
    assert!(!stderr.contains("the finished test"), "{stderr}");
}
