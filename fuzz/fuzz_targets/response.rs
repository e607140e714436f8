//! A whole exchange on one `Connection`: a valid request, then arbitrary server bytes.
//!
//! Input layout: byte 0 chooses the request, the rest is what the server sends.
//!
//! ```text
//! bit 0-1  method: 0 GET, 1 HEAD, 2 CONNECT, 3 POST with `Expect: 100-continue`
//! bit 2    the request carries `Upgrade: websocket` (+ `Connection: Upgrade`)
//! bit 3    the request carries `Connection: close`
//! bit 4-7  POST body length - 1 (1..=16 bytes, never sent: we wait for 100 Continue)
//! ```
//!
//! The server bytes are fed (a) whole, then EOF, (b) one byte at a time into a second
//! connection, draining `poll_event` after every input, and (c) as a driver reads them into a
//! caller's buffer of some size (picked from the input's length): body bytes the engine
//! allows straight to the caller, a read that reaches the end of a chunk on through the
//! framing into the next chunk's data, the rest through the input buffer. Every run must give
//! the same events (adjacent `Data` merged, bytes read straight to the caller counted as
//! `Data`), the same final error, the same reusability; the only error allowed is
//! `Error::Remote` (the request is valid, so the caller is never to blame). Nothing may
//! panic.

#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use duet_core::{
    Connection, Error, Event, Headers, Method, RequestBody, RequestHead, ResponseHead, SendState,
};
use libfuzzer_sys::fuzz_target;

/// The driver's clock, read once: the engine never reads one, and the runs must not differ.
fn now() -> Instant {
    static NOW: OnceLock<Instant> = OnceLock::new();
    *NOW.get_or_init(Instant::now)
}

/// A header list as owned pairs, in wire order.
type Fields = Vec<(String, Vec<u8>)>;

/// An owned copy of an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Recorded {
    Interim(Head),
    Response(Head),
    Data(Vec<u8>),
    Trailers(Fields),
    EndOfMessage,
    Upgraded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    status: u16,
    version: String,
    reason: Vec<u8>,
    headers: Fields,
}

fn fields(headers: &Headers) -> Fields {
    headers
        .iter()
        .map(|(name, value)| (name.to_owned(), value.to_vec()))
        .collect()
}

fn head(head: &ResponseHead) -> Head {
    Head {
        status: head.status().as_u16(),
        version: format!("{:?}", head.version()),
        reason: head.reason().to_vec(),
        headers: fields(head.headers()),
    }
}

/// Everything one run produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    events: Vec<Recorded>,
    error: Option<Error>,
    reusable: bool,
    response_complete: bool,
    send_state: SendState,
}

struct Request {
    head: RequestHead,
    body: RequestBody,
}

fn request(choice: u8) -> Request {
    let (method, target) = match choice & 3 {
        0 => (Method::GET, "/"),
        1 => (Method::HEAD, "/"),
        2 => (Method::CONNECT, "example.com:443"),
        _ => (Method::POST, "/upload"),
    };
    let mut head = RequestHead::new(method.clone(), target).expect("valid target");
    let headers = head.headers_mut();
    headers.append("Host", "example.com").expect("valid header");
    if choice & 4 != 0 {
        headers
            .append("Upgrade", "websocket")
            .expect("valid header");
        headers
            .append("Connection", "Upgrade")
            .expect("valid header");
    }
    if choice & 8 != 0 {
        headers.append("Connection", "close").expect("valid header");
    }
    let body = if method == Method::POST {
        headers
            .append("Expect", "100-continue")
            .expect("valid header");
        RequestBody::Length(u64::from(choice >> 4) + 1)
    } else {
        RequestBody::None
    };
    Request { head, body }
}

/// Drains `poll_event`, recording events (merging adjacent `Data`) and the first error.
/// Returns false once an error has come out.
fn drain(conn: &mut Connection, events: &mut Vec<Recorded>, error: &mut Option<Error>) -> bool {
    let mut polls = 0usize;
    loop {
        polls += 1;
        // Every event consumes input or moves the state forward; a long run of events from
        // one input means the machine is spinning.
        assert!(polls < 1 << 20, "poll_event does not settle");
        let event = match conn.poll_event() {
            Ok(None) => return true,
            Ok(Some(event)) => event,
            Err(e) => {
                assert!(
                    matches!(e, Error::Remote(_)),
                    "a valid request led to a local error: {e:?}"
                );
                // Errors are sticky: the next call returns the same one.
                assert_eq!(
                    conn.poll_event().err().as_ref(),
                    Some(&e),
                    "error not sticky"
                );
                assert!(!conn.is_reusable(), "reusable after an error");
                *error = Some(e);
                return false;
            }
        };
        let recorded = match event {
            Event::Interim(h) => Recorded::Interim(head(&h)),
            Event::Response(h) => Recorded::Response(head(&h)),
            Event::Data(data) => {
                assert!(
                    !data.is_empty(),
                    "an empty Data event (reads as end of body)"
                );
                if let Some(Recorded::Data(last)) = events.last_mut() {
                    last.extend_from_slice(data);
                    continue;
                }
                Recorded::Data(data.to_vec())
            }
            Event::Trailers(t) => Recorded::Trailers(fields(&t)),
            Event::EndOfMessage => Recorded::EndOfMessage,
            Event::Upgraded => Recorded::Upgraded,
            other => panic!("unknown event {other:?}"),
        };
        events.push(recorded);
    }
}

fn start(request: &Request) -> Connection {
    let mut conn = Connection::default();
    conn.send_request(&request.head, request.body, now())
        .expect("a valid request is accepted");
    let sent = conn.poll_transmit().expect("the head is queued").len();
    conn.advance_transmit(sent);
    conn
}

fn finish(conn: Connection, events: Vec<Recorded>, error: Option<Error>) -> Outcome {
    assert_eq!(
        conn.error(),
        error.as_ref(),
        "error() disagrees with poll_event"
    );
    Outcome {
        events,
        error,
        reusable: conn.is_reusable(),
        response_complete: conn.is_response_complete(),
        send_state: conn.send_state(),
    }
}

fn whole(request: &Request, server: &[u8]) -> Outcome {
    let mut conn = start(request);
    let (mut events, mut error) = (Vec::new(), None);
    conn.handle_input(server);
    if drain(&mut conn, &mut events, &mut error) {
        conn.handle_eof();
        drain(&mut conn, &mut events, &mut error);
    }
    finish(conn, events, error)
}

fn byte_at_a_time(request: &Request, server: &[u8]) -> Outcome {
    let mut conn = start(request);
    let (mut events, mut error) = (Vec::new(), None);
    let mut ok = true;
    for byte in server {
        conn.handle_input(std::slice::from_ref(byte));
        ok = drain(&mut conn, &mut events, &mut error);
        if !ok {
            break;
        }
    }
    if ok {
        conn.handle_eof();
        drain(&mut conn, &mut events, &mut error);
    }
    finish(conn, events, error)
}

/// Body bytes read straight into the caller's buffer, recorded as `Data`.
fn direct_data(events: &mut Vec<Recorded>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    match events.last_mut() {
        Some(Recorded::Data(last)) => last.extend_from_slice(data),
        _ => events.push(Recorded::Data(data.to_vec())),
    }
}

/// Copies `data` into the engine's input buffer.
fn input(conn: &mut Connection, data: &[u8]) {
    conn.input_buffer(data.len())[..data.len()].copy_from_slice(data);
    conn.commit_input(data.len());
}

fn through_a_callers_buffer(request: &Request, server: &[u8], step: usize) -> Outcome {
    let mut conn = start(request);
    let (mut events, mut error) = (Vec::new(), None);
    let mut wire = server;
    while drain(&mut conn, &mut events, &mut error) {
        if wire.is_empty() {
            conn.handle_eof();
            drain(&mut conn, &mut events, &mut error);
            break;
        }
        let allowed = usize::try_from(conn.direct_body_len()).unwrap_or(usize::MAX);
        if allowed == 0 {
            let n = wire.len().min(conn.read_len(step)).max(1);
            input(&mut conn, &wire[..n]);
            wire = &wire[n..];
            continue;
        }
        let n = wire.len().min(step).min(allowed);
        let then = conn.framing_after_direct(n as u64).min(wire.len() - n);
        direct_data(&mut events, &wire[..n]);
        conn.commit_direct_body(n);
        wire = &wire[n..];
        if then == 0 {
            continue;
        }
        input(&mut conn, &wire[..then]);
        wire = &wire[then..];
        let more = (step - n).min(wire.len());
        let taken = conn.commit_direct_more(&wire[..more]);
        assert!(taken <= more, "took more than was read");
        direct_data(&mut events, &wire[..taken]);
        wire = &wire[more..];
    }
    finish(conn, events, error)
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, server)) = data.split_first() else {
        return;
    };
    let request = request(choice);
    let a = whole(&request, server);
    let b = byte_at_a_time(&request, server);
    assert_eq!(a, b, "whole input and byte-at-a-time disagree");
    let step = 1 + server.len() * 7919 % 20_000;
    let c = through_a_callers_buffer(&request, server, step);
    assert_eq!(
        a, c,
        "whole input and reads into a caller's buffer disagree"
    );
});
