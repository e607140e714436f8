//! A whole request through `client::Call`, where the engine's decisions meet: redirects,
//! authentication rounds (Basic, Digest, a proxy's), CONNECT tunnels, the stale-connection
//! retry, retries on status and timeouts, the cookie jar and the hand-back to the pool, all
//! against arbitrary servers.
//!
//! Input layout: bytes 0 and 1 choose the request and the client; the rest is what the
//! servers send, as pieces: a header byte (bits 0-6 the piece's length, bit 7 "the server
//! closes after it") and that many bytes. Each read takes the next piece, whichever
//! connection asks; a read straight into the caller's buffer takes at most what the call
//! allows (body bytes, and the framing after them), and the rest of the piece comes next.
//! A connection whose server closed reads end of stream (and a write to it meets a reset),
//! and every read reads end of stream once the input has run out. Every other write that
//! listens for the server (`Transmit { listen }`) hears the next piece instead of writing. An empty piece that does not close means nothing arrived before the
//! read's deadline: the call is told its deadline passed.
//!
//! ```text
//! byte 0  bit 0-1  GET, HEAD, POST with a 5-byte body, PUT with a chunked body (not replayable)
//!         bit 2-3  credentials: none, Basic, Digest, Digest preferring auth-int
//!         bit 4    the first connection comes from the pool (a stale one is retried)
//!         bit 5    the default retry policy (statuses, timeouts, connect errors)
//!         bit 6    no cookie jar
//!         bit 7    no redirects (else at most 3)
//! byte 1  bit 0-1  URL: http://a.test/p, https://a.test/p, http://a.test:8080/d/p?q=1#f,
//!                  https://b.test/
//!         bit 2-3  proxy: none, http://proxy.test:3128, the same with credentials,
//!                  socks5h://proxy.test:1080 (its handshake replies come from the input too)
//!         bit 4    Basic credentials for the proxy in the client
//!         bit 5    the caller takes the body one byte at a time
//!         bit 6    the caller drops the response after its head (and the first piece of body)
//! ```
//!
//! Checked: nothing panics; the call ends, after a bounded number of connections and steps;
//! an error is one a server can cause, never the caller's (an invalid URL or header, a
//! wrong state); a connection goes back to the pool only if its server never closed it,
//! and after a dropped response only if its rest had already arrived; and a body framed by
//! `Content-Length` arrives whole or the call fails, never short.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use duet_core::auth::{Auth, BasicAuth, CnonceSource, DigestAuth};
use duet_core::client::{
    Action, BodyPlan, Call, ClientConfig, Error, ErrorKind, PoolKey, ReceiveInto, RequestParts,
    RetryPolicy,
};
use duet_core::cookies::SharedJar;
use duet_core::proxy::{Proxy, ProxyConfig};
use duet_core::redirect::RedirectPolicy;
use duet_core::{Connection, Method, RequestBody, ResponseHead, Url};
use libfuzzer_sys::fuzz_target;

/// The driver's clock at the start, read once: the engine never reads one.
fn t0() -> Instant {
    static NOW: OnceLock<Instant> = OnceLock::new();
    *NOW.get_or_init(Instant::now)
}

const BODY: &[u8] = b"hello";
const MAX_CONNECTIONS: usize = 64;
const MAX_STEPS: usize = 100_000;

/// The servers' bytes, handed out a piece per read.
struct Servers<'a> {
    input: &'a [u8],
    /// What a read that had room for less left of a piece (and whether the server closes
    /// after it).
    rest: Option<(&'a [u8], bool)>,
}

enum Read<'a> {
    Bytes(&'a [u8], bool),
    Nothing,
    End,
}

impl<'a> Servers<'a> {
    /// The next piece, at most `room` bytes of it (the rest comes with the next read).
    fn next(&mut self, room: usize) -> Read<'a> {
        let (piece, close) = match self.rest.take() {
            Some(rest) => rest,
            None => {
                let Some((&header, rest)) = self.input.split_first() else {
                    return Read::End;
                };
                let len = usize::from(header & 0x7f).min(rest.len());
                let (piece, rest) = rest.split_at(len);
                self.input = rest;
                (piece, header & 0x80 != 0)
            }
        };
        if piece.len() > room {
            self.rest = Some((&piece[room..], close));
            return Read::Bytes(&piece[..room], false);
        }
        match (piece.is_empty(), close) {
            (true, false) => Read::Nothing,
            _ => Read::Bytes(piece, close),
        }
    }
}

/// What the driver knows of a connection it handed to the call.
#[derive(Debug, Clone)]
struct Meta {
    key: PoolKey,
    closed: bool,
}

/// The response as the caller saw it.
struct Seen {
    status: u16,
    content_length: Option<u64>,
    received: u64,
}

fn content_length(head: &ResponseHead) -> Option<u64> {
    let headers = head.headers();
    if headers.get("transfer-encoding").is_some() {
        return None;
    }
    let mut values = headers.get_all("content-length");
    let value = values.next()?;
    if values.next().is_some() || value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

fn call(choice: u8, client: u8) -> (Call, bool) {
    let mut config = ClientConfig::default();
    let url = [
        "http://a.test/p",
        "https://a.test/p",
        "http://a.test:8080/d/p?q=1#f",
        "https://b.test/",
    ][usize::from(client & 3)];
    let proxy = match (client >> 2) & 3 {
        0 => None,
        1 => Some("http://proxy.test:3128"),
        2 => Some("http://user:secret@proxy.test:3128"),
        _ => Some("socks5h://proxy.test:1080"),
    };
    config.proxies = Some(match proxy {
        Some(p) => ProxyConfig::all(Proxy::parse(p).expect("a valid proxy URL")),
        None => ProxyConfig::none(),
    });
    if client & 0x10 != 0 {
        config.proxy_auth = Some(Arc::new(BasicAuth::new("puser", "ppass").unwrap()));
    }
    config.cookies = (choice & 0x40 == 0).then(SharedJar::default);
    config.redirect = match choice & 0x80 {
        0 => RedirectPolicy::limited(3),
        _ => RedirectPolicy::none(),
    };
    if choice & 0x20 != 0 {
        let mut policy = RetryPolicy::default_safe();
        policy.methods.push(Method::POST);
        config.retry = policy;
    }
    let auth: Option<Arc<dyn Auth>> = match (choice >> 2) & 3 {
        0 => None,
        1 => Some(Arc::new(BasicAuth::new("user", "pass").unwrap())),
        integrity => Some(Arc::new(
            DigestAuth::new("user", "pass", CnonceSource::from_bytes(|| [7; 16]))
                .prefer_integrity(integrity == 3),
        )),
    };
    let (method, mut body) = match choice & 3 {
        0 => (Method::GET, BodyPlan::NONE),
        1 => (Method::HEAD, BodyPlan::NONE),
        2 => (
            Method::POST,
            BodyPlan {
                framing: RequestBody::Length(BODY.len() as u64),
                replayable: true,
            },
        ),
        _ => (
            Method::PUT,
            BodyPlan {
                framing: RequestBody::Chunked,
                replayable: false,
            },
        ),
    };
    // An auth scheme that signs the body has the driver read it into memory first.
    body.replayable |= (choice >> 2) & 3 == 3;
    let mut request = RequestParts::new(method, Url::parse(url).unwrap());
    request.body = body;
    request.body_bytes = body.replayable.then(|| bytes::Bytes::from_static(BODY));
    request.auth = auth;
    request.entropy = || [0x42; 16];
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let call =
        Call::new(&Arc::new(config), request, 1, t0(), wall).expect("a valid request is accepted");
    (*call, client & 0x20 != 0)
}

/// A connection the call handed back for the pool: it must be one the driver gave it, and
/// one its server never closed.
fn check_handed_back(meta: Option<&Meta>) {
    let meta = meta.expect("a connection handed back had a hop");
    assert!(
        !meta.closed,
        "a connection its server closed went back to the pool"
    );
}

/// The caller dropped the response: the driver consumes what is buffered, without more
/// I/O, and pools the connection only if that finished the response.
/// The server's end of the connection, reported to `call`: a read of 0, or every other
/// time an `UnexpectedEof` error (a TLS end without close_notify).
fn end(call: &mut Call, ends: &mut usize, now: Instant) -> Result<(), Error> {
    *ends += 1;
    match ends.is_multiple_of(2) {
        true => call.io_failed(std::io::ErrorKind::UnexpectedEof.into(), now),
        false => {
            call.handle_eof();
            Ok(())
        }
    }
}

fn drop_response(call: &mut Call, current: Option<&Meta>) {
    let finished = call.finish_buffered();
    if call.take_connection().is_some() {
        assert!(
            finished,
            "a connection went back to the pool in the middle of a body"
        );
        check_handed_back(current);
    }
}

fuzz_target!(|data: &[u8]| {
    let [choice, client, input @ ..] = data else {
        return;
    };
    let (mut call, bytewise) = call(*choice, *client);
    let max_data = if bytewise { 1 } else { usize::MAX };
    let head_method = *choice & 3 == 1;
    let drops = *client & 0x40 != 0;
    let mut servers = Servers { input, rest: None };
    let mut now = t0();
    let mut pool: Vec<(Meta, Box<Connection>)> = Vec::new();
    let mut current: Option<Meta> = None;
    let mut connections = 0;
    let mut body_sent = false;
    let mut listening_writes = 0usize;
    // Every other end the server makes while a read waits comes as TLS without close_notify
    // does: an `UnexpectedEof` error, for `io_failed`.
    let mut ends = 0usize;
    let mut seen: Option<Seen> = None;
    let mut ended = false;
    // A read that found nothing wakes the driver early every other time (a socket timeout
    // shorter than the wait); the next read must then have the same deadline.
    let mut woke_early = false;
    let mut same_deadline: Option<Instant> = None;

    for _ in 0..MAX_STEPS {
        let action = match call.poll_action_max(now, max_data) {
            Ok(action) => action,
            Err(error) => {
                check_error(&error);
                // Only an earlier hop's connection, drained whole, may still go back.
                if call.take_connection().is_some() {
                    check_handed_back(current.as_ref());
                }
                return;
            }
        };
        if let Some(expected) = same_deadline.take() {
            assert!(
                matches!(action, Action::Receive { deadline } if deadline == Some(expected)),
                "after an early wake-up: {action:?}"
            );
        }
        match action {
            Action::Connect(to) => {
                connections += 1;
                assert!(connections <= MAX_CONNECTIONS, "too many connections");
                assert!(seen.is_none(), "a new connection after the response head");
                if let Some(conn) = call.take_connection() {
                    check_handed_back(current.as_ref());
                    assert!(!conn.is_closed_by_peer());
                    pool.push((current.take().expect("checked"), conn));
                }
                let pooled = match pool.iter().position(|(m, _)| m.key == to.key) {
                    Some(i) if !to.fresh => Some(pool.swap_remove(i).1),
                    _ if connections == 1 && *choice & 0x10 != 0 => {
                        Some(Box::new(Connection::new(duet_core::Limits::default())))
                    }
                    _ => None,
                };
                if to.resolve_origin && pooled.is_none() {
                    call.set_resolved_target([127, 0, 0, 1].into());
                }
                current = Some(Meta {
                    key: to.key.clone(),
                    closed: false,
                });
                if to.restart_body {
                    body_sent = false;
                }
                if let Err(e) = call.connected(pooled, now) {
                    check_error(&e);
                    return;
                }
            }
            Action::Transmit { bytes, listen, .. } => {
                let n = bytes.len();
                assert!(n > 0, "an empty write");
                listening_writes += usize::from(listen);
                // Every other write that listens waits, and hears the next piece first.
                if listen && listening_writes.is_multiple_of(2) {
                    let meta = current.as_mut().expect("a write without a connection");
                    assert!(!meta.closed, "listening to a server that closed");
                    match servers.next(usize::MAX) {
                        Read::Bytes(piece, close) => {
                            call.input_buffer(piece.len())[..piece.len()].copy_from_slice(piece);
                            call.commit_input(piece.len());
                            if close {
                                meta.closed = true;
                                call.handle_eof();
                            }
                            continue;
                        }
                        Read::End => {
                            meta.closed = true;
                            call.handle_eof();
                            continue;
                        }
                        Read::Nothing => {} // nothing came: the write goes on
                    }
                }
                if current.as_ref().is_some_and(|m| m.closed) {
                    // Its server is gone: the write meets a reset.
                    let reset = std::io::ErrorKind::ConnectionReset.into();
                    if let Err(e) = call.io_failed(reset, now) {
                        check_error(&e);
                        return;
                    }
                } else {
                    call.transmitted(n);
                }
            }
            Action::SendBody => {
                let sent = if body_sent {
                    call.send_end()
                } else {
                    body_sent = true;
                    call.send_body(BODY)
                };
                if let Err(e) = sent {
                    check_error(&e);
                    return;
                }
            }
            Action::RestartBody => body_sent = false,
            Action::StartTls { host } => {
                assert!(!host.is_empty(), "TLS without a host name");
            }
            Action::Sleep { until } => {
                assert!(until >= now, "a backoff into the past");
                assert!(
                    until <= now + Duration::from_secs(600),
                    "an unbounded backoff"
                );
                now = until;
            }
            Action::Receive { deadline } => {
                let meta = current.as_mut().expect("a read without a connection");
                if meta.closed {
                    call.handle_eof();
                    continue;
                }
                // Body bytes may go straight to the caller, with the framing after them and
                // then what follows it.
                let (direct, then, room) = match call.receive_into(max_data, usize::MAX) {
                    ReceiveInto::Caller { len, then, more } => {
                        (len, then, len.saturating_add(then).saturating_add(more))
                    }
                    ReceiveInto::Buffer(_) => (0, 0, usize::MAX),
                };
                match servers.next(room) {
                    Read::Bytes(piece, close) => {
                        let (body, rest) = piece.split_at(piece.len().min(direct));
                        let (framing, after) = match direct {
                            0 => (rest, &[][..]),
                            _ => rest.split_at(rest.len().min(then)),
                        };
                        if !body.is_empty() {
                            call.commit_direct(body.len());
                            let seen = seen.as_mut().expect("body bytes before the head");
                            seen.received += body.len() as u64;
                        }
                        if !framing.is_empty() {
                            call.input_buffer(framing.len())[..framing.len()]
                                .copy_from_slice(framing);
                            call.commit_input(framing.len());
                        }
                        if !after.is_empty() {
                            let taken = call.commit_direct_more(after);
                            assert!(taken <= after.len(), "took more than was read");
                            let seen = seen.as_mut().expect("body bytes before the head");
                            seen.received += taken as u64;
                        }
                        if drops && !body.is_empty() {
                            return drop_response(&mut call, current.as_ref());
                        }
                        if close {
                            meta.closed = true;
                            if let Err(e) = end(&mut call, &mut ends, now) {
                                check_error(&e);
                                return;
                            }
                        }
                    }
                    Read::End => {
                        meta.closed = true;
                        if let Err(e) = end(&mut call, &mut ends, now) {
                            check_error(&e);
                            return;
                        }
                    }
                    Read::Nothing => {
                        let Some(deadline) = deadline else {
                            continue; // no deadline: the read simply goes on
                        };
                        woke_early = !woke_early;
                        if woke_early && now < deadline {
                            now += (deadline - now) / 2;
                            if let Err(e) = call.handle_timeout(now) {
                                panic!("an early wake-up failed as {e}");
                            }
                            same_deadline = Some(deadline);
                            continue;
                        }
                        now = now.max(deadline);
                        if let Err(e) = call.handle_timeout(now) {
                            assert!(
                                matches!(e.kind(), ErrorKind::Timeout(_)),
                                "a passed deadline failed as {e}"
                            );
                            return;
                        }
                    }
                }
            }
            Action::Response(head) => {
                assert!(seen.is_none(), "two final responses");
                let status = head.status().as_u16();
                assert!(
                    status >= 200 || status == 101,
                    "an interim response as final"
                );
                seen = Some(Seen {
                    status,
                    content_length: content_length(&head),
                    received: 0,
                });
            }
            Action::Data(data) => {
                let seen = seen.as_mut().expect("body bytes before the head");
                assert!(!data.is_empty() && data.len() <= max_data);
                seen.received += data.len() as u64;
                if drops {
                    return drop_response(&mut call, current.as_ref());
                }
            }
            Action::Finished | Action::Upgraded => {
                let Some(seen) = &seen else {
                    panic!("the call ended without a response");
                };
                let bodiless = head_method || matches!(seen.status, 101 | 204 | 304);
                if let (Some(expected), false) = (seen.content_length, bodiless) {
                    assert_eq!(seen.received, expected, "a body ended short or long");
                }
                ended = true;
                break;
            }
            other => panic!("an action a driver cannot follow: {other:?}"),
        }
    }
    assert!(ended, "the call did not end within {MAX_STEPS} steps");
    if call.take_connection().is_some() {
        check_handed_back(current.as_ref());
    }
});

/// An error a server can cause: never the caller's, never the engine's own confusion.
fn check_error(error: &Error) {
    if let Some(duet_core::Error::Local(local)) = error.protocol_error() {
        panic!("a server caused a caller's error: {local}: {error}");
    }
    match error.kind() {
        ErrorKind::Protocol
        | ErrorKind::Redirect
        | ErrorKind::TooManyRedirects
        | ErrorKind::Auth
        | ErrorKind::Proxy
        | ErrorKind::Io
        | ErrorKind::Timeout(_) => {}
        other => panic!("a server caused a {other:?} error: {error}"),
    }
    let text = error.to_string();
    assert!(
        ![
            "without a Connect action",
            "has no connection",
            "already failed"
        ]
        .iter()
        .any(|confused| text.contains(confused)),
        "the engine lost track: {text}"
    );
}
