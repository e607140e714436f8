//! The request half of one `Connection`: a body queued in arbitrary pieces, each of the three
//! ways the engine takes one (copied, shared, or read into its room), written out in
//! arbitrary pieces, against a model of what each call must answer.
//!
//! Input layout: byte 0 bit 0 chooses the framing: chunked, or a `Content-Length` of the next
//! two bytes (little endian) modulo 1024. Then every two bytes are one call:
//!
//! ```text
//! op % 6   0 send_body, 1 send_body_shared, 2 body_room then body_filled with all of it,
//!          3 write at most 7 * (len + 1) queued bytes, 4 send_end,
//!          5 body_filled without asking for room
//! len      a piece length (0..=255)
//! ```
//!
//! Checked: nothing panics; every call answers as the model says (a piece past the declared
//! length is `BodyTooLong`, an end before it `BodyTooShort`, a call in the wrong state
//! `WrongState`); an error is sticky; a room is never larger than asked, nor than what is left
//! of the declared length plus one byte. When no call failed, what was written (drained to the
//! end) is the head and then exactly the accepted pieces in order: byte for byte after a
//! `Content-Length`, and decoding to them with duet's chunked decoder, ending where the body
//! was ended.

#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use bytes::Bytes;
use duet_core::{
    ChunkedDecoder, Connection, Decoded, Error, Limits, LocalError, Method, RequestBody,
    RequestHead,
};
use libfuzzer_sys::fuzz_target;

/// The driver's clock, read once: the engine never reads one.
fn now() -> Instant {
    static NOW: OnceLock<Instant> = OnceLock::new();
    *NOW.get_or_init(Instant::now)
}

/// `len` body bytes that would follow `offset` bytes: a pattern, so lost or reordered bytes
/// show.
fn piece(offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len).map(|i| (i % 251) as u8).collect()
}

/// Writes at most `max` of the queued bytes to `wire`; whether any were queued.
fn write(conn: &mut Connection, wire: &mut Vec<u8>, max: usize) -> bool {
    let Some(queued) = conn.poll_transmit() else {
        return false;
    };
    assert!(!queued.is_empty(), "poll_transmit handed out nothing");
    let n = queued.len().min(max);
    wire.extend_from_slice(&queued[..n]);
    conn.advance_transmit(n);
    true
}

/// What a call must answer.
#[derive(Debug)]
enum Expect {
    Ok,
    TooLong { declared: u64, attempted: u64 },
    TooShort { declared: u64, sent: u64 },
    WrongState,
}

/// The model's answer for queuing `len` more bytes after `sent`.
fn admit(declared: Option<u64>, sent: usize, len: usize, ended: bool) -> Expect {
    let attempted = (sent + len) as u64;
    match declared {
        _ if ended => Expect::WrongState,
        Some(declared) if attempted > declared => Expect::TooLong {
            declared,
            attempted,
        },
        _ => Expect::Ok,
    }
}

fn check(expect: &Expect, got: &Result<(), Error>) {
    let ok = match (expect, got) {
        (Expect::Ok, Ok(())) => true,
        (
            Expect::TooLong {
                declared,
                attempted,
            },
            Err(Error::Local(LocalError::BodyTooLong {
                declared: d,
                attempted: a,
            })),
        ) => (declared, attempted) == (d, a),
        (
            Expect::TooShort { declared, sent },
            Err(Error::Local(LocalError::BodyTooShort {
                declared: d,
                sent: s,
            })),
        ) => (declared, sent) == (d, s),
        (Expect::WrongState, Err(Error::Local(LocalError::WrongState { .. }))) => true,
        _ => false,
    };
    assert!(ok, "expected {expect:?}, got {got:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (declared, calls) = match mode & 1 {
        1 => (None, rest),
        _ if rest.len() >= 2 => (
            Some(u64::from(u16::from_le_bytes([rest[0], rest[1]]) % 1024)),
            &rest[2..],
        ),
        _ => return,
    };
    let framing = declared.map_or(RequestBody::Chunked, RequestBody::Length);
    let mut head = RequestHead::new(Method::POST, "/upload").expect("a valid target");
    head.headers_mut()
        .append("Host", "example.test")
        .expect("a valid field");
    let mut conn = Connection::new(Limits::default());
    conn.send_request(&head, framing, now())
        .expect("a valid request");

    let mut wire = Vec::new();
    let mut body: Vec<u8> = Vec::new(); // the pieces the engine accepted
    let mut ended = declared == Some(0); // no body at all: the request is complete already
    let mut failed: Option<Error> = None;
    for call in calls.chunks_exact(2) {
        let len = usize::from(call[1]);
        let (expect, got, accepted) = match call[0] % 6 {
            0 => {
                let p = piece(body.len(), len);
                (
                    admit(declared, body.len(), len, ended),
                    conn.send_body(&p),
                    p,
                )
            }
            1 => {
                let p = piece(body.len(), len);
                let got = conn.send_body_shared(Bytes::from(p.clone()));
                (admit(declared, body.len(), len, ended), got, p)
            }
            2 => {
                let room = conn.body_room(len);
                if failed.is_some() || ended {
                    assert!(room.is_none(), "room after the body ended or failed");
                    continue;
                }
                let room = room.expect("room while the body is being sent");
                let left = declared.map(|d| d - body.len() as u64);
                assert!(room.len() <= len, "more room than asked for");
                if let Some(left) = left {
                    assert_eq!(
                        room.len() as u64,
                        (len as u64).min(left + 1),
                        "the room is not what was asked, cut to the declared length + 1"
                    );
                }
                let p = piece(body.len(), room.len());
                room.copy_from_slice(&p);
                let n = p.len();
                (
                    admit(declared, body.len(), n, ended),
                    conn.body_filled(n),
                    p,
                )
            }
            3 => {
                write(&mut conn, &mut wire, 7 * (len + 1));
                continue;
            }
            4 => {
                let expect = match declared {
                    Some(declared) if !ended && (body.len() as u64) < declared => {
                        Expect::TooShort {
                            declared,
                            sent: body.len() as u64,
                        }
                    }
                    _ => Expect::Ok,
                };
                (expect, conn.send_end(None), Vec::new())
            }
            _ => {
                let expect = match len {
                    _ if ended => Expect::WrongState,
                    0 => Expect::Ok,
                    _ => Expect::WrongState, // no room was given for those bytes
                };
                (expect, conn.body_filled(len), Vec::new())
            }
        };
        match &failed {
            Some(first) => assert_eq!(got.as_ref(), Err(first), "an error is not sticky"),
            None => {
                check(&expect, &got);
                match got {
                    Ok(()) => {
                        body.extend_from_slice(&accepted);
                        ended |= call[0] % 6 == 4;
                    }
                    Err(e) => failed = Some(e),
                }
            }
        }
    }
    if failed.is_some() {
        return;
    }

    // Everything queued goes out; the wire is the head, then the body as framed.
    while write(&mut conn, &mut wire, usize::MAX) {}
    let split = wire
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head went out")
        + 4;
    let (head_bytes, sent) = wire.split_at(split);
    assert!(head_bytes.starts_with(b"POST /upload HTTP/1.1\r\nHost: example.test\r\n"));
    let has_line = |line: &str| {
        let line = format!("\r\n{line}\r\n");
        head_bytes.windows(line.len()).any(|w| w == line.as_bytes())
    };
    match declared {
        Some(declared) => {
            assert!(
                has_line(&format!("Content-Length: {declared}")),
                "no Content-Length"
            );
            assert_eq!(sent, &body[..], "the body went out changed");
        }
        None => {
            assert!(
                has_line("Transfer-Encoding: chunked"),
                "no Transfer-Encoding"
            );
            let mut decoder = ChunkedDecoder::new(&Limits::default());
            let mut decoded = Vec::new();
            let mut pos = 0;
            let mut done = false;
            while pos < sent.len() {
                let (used, out) = decoder
                    .decode(&sent[pos..], usize::MAX)
                    .expect("the chunked body we sent decodes");
                match out {
                    Some(Decoded::Data(range)) => decoded.extend_from_slice(&sent[pos..][range]),
                    Some(Decoded::End(trailers)) => {
                        assert!(trailers.is_empty(), "trailers nobody sent");
                        done = true;
                    }
                    None => {}
                }
                pos += used;
                if done {
                    break;
                }
            }
            assert_eq!(pos, sent.len(), "bytes after the end of the body");
            assert_eq!(
                done, ended,
                "the body ended on the wire but not in the calls, or back"
            );
            assert_eq!(decoded, body, "the body went out changed");
        }
    }
});
