//! Properties over generated inputs: what duet writes, duet (and httparse) read back the same,
//! however the bytes are split.

mod support;

use duet_core::{Connection, Event, Headers, RequestBody, RequestHead};
use proptest::prelude::*;
use support::{Ev, drain, request, run_with, t0};

/// Sends `chunks` as a chunked request body and returns the bytes on the wire after the head.
/// The chunks take turns: copied in, read into the connection's room, handed over shared.
/// Nothing is written until the end, so the three ways must also keep their order.
fn chunked_wire(chunks: &[Vec<u8>], trailers: &Headers) -> Vec<u8> {
    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Chunked, t0())
        .unwrap();
    let head_len = conn.poll_transmit().unwrap().len();
    conn.advance_transmit(head_len);
    for (i, chunk) in chunks.iter().enumerate() {
        match i % 3 {
            0 => conn.send_body(chunk).unwrap(),
            1 => {
                conn.body_room(chunk.len()).unwrap().copy_from_slice(chunk);
                conn.body_filled(chunk.len()).unwrap();
            }
            _ => conn
                .send_body_shared(bytes::Bytes::copy_from_slice(chunk))
                .unwrap(),
        }
    }
    conn.send_end(Some(trailers)).unwrap();
    let mut wire = Vec::new();
    while let Some(bytes) = conn.poll_transmit() {
        wire.extend_from_slice(bytes);
        let n = bytes.len();
        conn.advance_transmit(n);
    }
    wire
}

fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}".prop_filter("not a framing or host header", |n| {
        !["host", "content-length", "transfer-encoding"].contains(&n.to_ascii_lowercase().as_str())
    })
}

fn header_value() -> impl Strategy<Value = String> {
    "[ -~\t]{0,20}".prop_map(|v| v.trim_matches([' ', '\t']).to_owned())
}

proptest! {
    #[test]
    fn chunked_bodies_round_trip_at_any_split(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
        trailers in prop::collection::vec((header_name(), header_value()), 0..3),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        max_data in 1usize..64,
    ) {
        let mut trailer_fields = Headers::new();
        for (n, v) in &trailers {
            trailer_fields.append(n, v).unwrap();
        }
        let mut response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        response.extend(chunked_wire(&chunks, &trailer_fields));
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(response.len())).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let got = run_with(&duet_core::Limits::default(), &request("GET", &[]), &response, &cuts, false, max_data);
        prop_assert_eq!(got.error, None);
        let body: Vec<u8> = chunks.concat();
        let mut want = vec![Ev::Response(200, "HTTP/1.1".into(), b"OK".to_vec(), vec![("Transfer-Encoding".into(), "chunked".into())])];
        if !body.is_empty() {
            want.push(Ev::Data(body));
        }
        if !trailers.is_empty() {
            want.push(Ev::Trailers(trailers.iter().map(|(n, v)| (n.clone(), v.clone())).collect()));
        }
        want.push(Ev::End);
        prop_assert_eq!(got.events, want);
        prop_assert!(got.reusable);
    }

    #[test]
    fn request_heads_parse_back_with_httparse(
        path in "/[a-zA-Z0-9/._~%-]{0,30}",
        fields in prop::collection::vec((header_name(), header_value()), 0..10),
        length in prop::option::of(0u64..1_000_000),
    ) {
        let mut head = RequestHead::new(duet_core::Method::PATCH, path.clone()).unwrap();
        for (n, v) in &fields {
            head.headers_mut().append(n, v).unwrap();
        }
        head.headers_mut().append("Host", "h.test").unwrap();
        let mut conn = Connection::default();
        let body = length.map_or(RequestBody::None, RequestBody::Length);
        conn.send_request(&head, body, t0()).unwrap();
        let wire = conn.poll_transmit().unwrap().to_vec();

        let mut slots = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Request::new(&mut slots);
        prop_assert_eq!(parsed.parse(&wire), Ok(httparse::Status::Complete(wire.len())));
        prop_assert_eq!(parsed.method, Some("PATCH"));
        prop_assert_eq!(parsed.path, Some(path.as_str()));
        let got: Vec<(String, Vec<u8>)> = parsed.headers.iter().map(|h| (h.name.to_owned(), h.value.to_vec())).collect();
        let mut want: Vec<(String, Vec<u8>)> = vec![("Host".into(), b"h.test".to_vec())];
        want.extend(fields.iter().map(|(n, v)| (n.clone(), v.clone().into_bytes())));
        if let Some(n) = length {
            want.push(("Content-Length".into(), n.to_string().into_bytes()));
        }
        prop_assert_eq!(got, want, "Host first, then the caller's fields in order and case");
    }

    #[test]
    fn content_length_bodies_arrive_whole(body in prop::collection::vec(any::<u8>(), 0..2000), step in 1usize..500) {
        let mut response = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        response.extend_from_slice(&body);
        let mut conn = Connection::default();
        conn.send_request(&request("GET", &[]), RequestBody::None, t0()).unwrap();
        let n = conn.poll_transmit().unwrap().len();
        conn.advance_transmit(n);
        let mut got = Vec::new();
        let mut events = Vec::new();
        for piece in response.chunks(step) {
            conn.handle_input(piece);
            loop {
                match conn.poll_event_max(step) {
                    Ok(Some(Event::Data(d))) => got.extend_from_slice(d),
                    Ok(Some(_)) => events.push(()),
                    Ok(None) => break,
                    Err(e) => panic!("{e}"),
                }
            }
        }
        prop_assert_eq!(got, body);
        prop_assert_eq!(events.len(), 2);
        let mut rest = Vec::new();
        prop_assert_eq!(drain(&mut conn, &mut rest, usize::MAX), None);
        prop_assert!(conn.is_reusable());
    }
}

/// Reads `response` the way a driver with a caller buffer of `step` bytes does: body bytes
/// the engine allows go straight to the caller (`direct_body_len`), everything else through
/// `input_buffer`, in reads of at most `step` (or `read_len`) bytes. With `spanning`, a
/// read that reaches the end of a chunk's data also takes the framing foretold after it
/// (`framing_after_direct`) and goes on into the rest of the caller's buffer, as a vectored
/// read does (`commit_direct_more`). Returns the body as the caller got it, how many bytes
/// went the direct way, and whether the exchange ended with a reusable connection.
fn read_with_direct(
    response: &[u8],
    step: usize,
    eof: bool,
    spanning: bool,
) -> (Vec<u8>, usize, bool) {
    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    let n = conn.poll_transmit().unwrap().len();
    conn.advance_transmit(n);
    let (mut wire, mut body, mut direct) = (response, Vec::new(), 0);
    let mut got_head = false;
    loop {
        loop {
            match conn.poll_event_max(step).unwrap() {
                Some(Event::Response(_)) => got_head = true,
                Some(Event::Data(d)) => body.extend_from_slice(d),
                Some(Event::EndOfMessage) => return (body, direct, conn.is_reusable()),
                Some(_) => {}
                None => break,
            }
        }
        let allowed = conn.direct_body_len();
        assert!(got_head || allowed == 0, "no direct read before the head");
        if wire.is_empty() {
            assert!(eof, "the engine wants more than the response");
            conn.handle_eof();
            continue;
        }
        if allowed > 0 {
            let n = wire
                .len()
                .min(step)
                .min(usize::try_from(allowed).unwrap_or(usize::MAX));
            let then = match spanning {
                true => conn.framing_after_direct(n as u64).min(wire.len() - n),
                false => 0,
            };
            body.extend_from_slice(&wire[..n]);
            conn.commit_direct_body(n);
            direct += n;
            wire = &wire[n..];
            if then > 0 {
                conn.input_buffer(then)[..then].copy_from_slice(&wire[..then]);
                conn.commit_input(then);
                wire = &wire[then..];
                let more = (step - n).min(wire.len());
                let taken = conn.commit_direct_more(&wire[..more]);
                assert!(taken <= more);
                body.extend_from_slice(&wire[..taken]);
                direct += taken;
                wire = &wire[more..];
            }
        } else {
            let n = wire.len().min(conn.read_len(step));
            conn.input_buffer(n)[..n].copy_from_slice(&wire[..n]);
            conn.commit_input(n);
            wire = &wire[n..];
        }
    }
}

proptest! {
    #[test]
    fn direct_body_reads_deliver_the_same_chunked_body(
        sizes in prop::collection::vec(prop_oneof![0usize..40, 8000usize..20_000], 0..6),
        step in prop_oneof![1usize..100, 1000usize..70_000],
        spanning in any::<bool>(),
    ) {
        let chunks: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| vec![i as u8 + 1; n]).collect();
        let mut response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        response.extend(chunked_wire(&chunks, &Headers::new()));
        let (body, _, reusable) = read_with_direct(&response, step, false, spanning);
        prop_assert_eq!(body, chunks.concat());
        prop_assert!(reusable);
    }

    #[test]
    fn direct_body_reads_deliver_the_same_length_body(
        len in 0usize..100_000,
        step in prop_oneof![1usize..100, 1000usize..70_000],
        close_delimited in any::<bool>(),
    ) {
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut response = match close_delimited {
            true => b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
            false => format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").into_bytes(),
        };
        response.extend_from_slice(&body);
        let (got, _, reusable) = read_with_direct(&response, step, close_delimited, true);
        prop_assert_eq!(got, body);
        prop_assert_eq!(reusable, !close_delimited);
    }
}

#[test]
fn large_chunks_go_straight_to_the_caller() {
    let chunks = vec![
        vec![7u8; 65_536],
        vec![8u8; 65_536],
        vec![9u8; 65_536],
        vec![6u8; 10],
    ];
    let mut response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    response.extend(chunked_wire(&chunks, &Headers::new()));
    // Copied either way: the data that came with the head's read (a new connection reads
    // 8 KiB).
    let (head, size_line) = (47, b"10000\r\n".len());
    let with_the_head = 8192 - head - size_line;
    for spanning in [false, true] {
        let (body, direct, reusable) = read_with_direct(&response, 65_536, false, spanning);
        assert_eq!(body, chunks.concat());
        assert!(reusable);
        // Without spanning reads, a read ends with a chunk's data, a short read takes the
        // framing after it, and the next chunk's data goes the direct way; only 4 bytes of
        // the last chunk are copied, which came with a framing read that foretold `10000`
        // (its size line, `a`, is shorter). With them, each read fills the caller's buffer:
        // the rest of one chunk, the framing, and the start of the next, all direct but the
        // framing; the last chunk's framing is not the one foretold, so its 10 bytes (4 in
        // the framing's place, 6 after) are input.
        let copied = with_the_head + if spanning { 10 } else { 4 };
        assert_eq!(direct, 3 * 65_536 + 10 - copied, "spanning: {spanning}");
    }
}

#[test]
fn no_direct_read_while_bytes_wait_or_after_the_end_of_input_or_an_error() {
    let sent = || {
        let mut conn = Connection::default();
        conn.send_request(&request("GET", &[]), RequestBody::None, t0())
            .unwrap();
        let n = conn.poll_transmit().unwrap().len();
        conn.advance_transmit(n);
        conn
    };
    // Body bytes that came with the head come first: no direct read before they are taken.
    let mut conn = sent();
    conn.handle_input(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    assert!(matches!(
        conn.poll_event_max(0),
        Ok(Some(Event::Response(_)))
    ));
    assert_eq!(conn.direct_body_len(), 0, "3 body bytes are buffered");
    assert!(matches!(conn.poll_event(), Ok(Some(Event::Data(b"abc")))));
    assert_eq!(conn.direct_body_len(), 7);
    // Nothing more can come after the end of input, or after an error.
    conn.handle_eof();
    assert_eq!(conn.direct_body_len(), 0, "after EOF");
    let mut conn = sent();
    conn.handle_input(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
    let mut events = Vec::new();
    assert!(
        drain(&mut conn, &mut events, usize::MAX).is_some(),
        "a bad size line"
    );
    assert_eq!(conn.direct_body_len(), 0, "after an error");
    // A body delimited by close goes straight to the caller until the end.
    let mut conn = sent();
    conn.handle_input(b"HTTP/1.1 200 OK\r\n\r\n");
    drain(&mut conn, &mut events, usize::MAX);
    assert_eq!(conn.direct_body_len(), u64::MAX);
}

#[test]
fn small_chunks_are_read_in_full_reads() {
    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    let n = conn.poll_transmit().unwrap().len();
    conn.advance_transmit(n);
    conn.handle_input(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello");
    let mut events = Vec::new();
    drain(&mut conn, &mut events, usize::MAX);
    // Between small chunks a read is a full one: many may be in one segment.
    assert_eq!(conn.direct_body_len(), 0);
    assert_eq!(conn.read_len(65_536), 8192);
    conn.handle_input(b"\r\n9000\r\n");
    drain(&mut conn, &mut events, usize::MAX);
    assert_eq!(conn.direct_body_len(), 0x9000);
    conn.commit_direct_body(0x9000);
    // After a large chunk, a short read for just the framing, if the next size line is as
    // long as this one: CRLF and `9000` CRLF.
    assert_eq!(conn.read_len(65_536), 8);
    conn.handle_input(b"\r\n");
    assert_eq!(conn.read_len(65_536), 8192, "unconsumed input first");
    drain(&mut conn, &mut events, usize::MAX);
    assert_eq!(conn.read_len(65_536), 6, "the size line");
    conn.handle_input(b"0");
    drain(&mut conn, &mut events, usize::MAX);
    assert_eq!(conn.read_len(65_536), 64, "partway through a size line");
    conn.handle_input(b"\r\n\r\n");
    assert_eq!(drain(&mut conn, &mut events, usize::MAX), None);
    assert!(conn.is_reusable());
}

#[test]
fn a_chunk_counts_as_large_from_8_kib() {
    // After a chunk of 8 KiB or more the framing is foretold (a short read for it, or taken
    // with the data); after a smaller one reads are full ones.
    for (size, line, foretold) in [(0x1fff, "1fff", false), (0x2000, "2000", true)] {
        let mut conn = Connection::default();
        conn.send_request(&request("GET", &[]), RequestBody::None, t0())
            .unwrap();
        let n = conn.poll_transmit().unwrap().len();
        conn.advance_transmit(n);
        let head = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{line}\r\n");
        conn.handle_input(head.as_bytes());
        drain(&mut conn, &mut Vec::new(), usize::MAX);
        assert_eq!(conn.direct_body_len(), size);
        let framing = conn.framing_after_direct(size);
        conn.commit_direct_body(size as usize);
        let read = conn.read_len(65_536);
        match foretold {
            true => assert_eq!((framing, read), (8, 8), "{line}"),
            false => assert_eq!((framing, read), (0, 8192), "{line}"),
        }
    }
}

#[test]
fn the_read_size_grows_while_reads_fill_it() {
    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    let n = conn.poll_transmit().unwrap().len();
    conn.advance_transmit(n);
    assert_eq!(
        conn.read_len(1 << 20),
        8192,
        "a new connection starts small"
    );
    assert_eq!(
        conn.read_len(100),
        100,
        "never more than the driver's maximum"
    );
    // A short read leaves it; a read that fills it doubles it, up to 64 KiB.
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
    conn.input_buffer(head.len())[..head.len()].copy_from_slice(head);
    conn.commit_input(head.len());
    assert_eq!(conn.read_len(1 << 20), 8192);
    let mut events = Vec::new();
    drain(&mut conn, &mut events, usize::MAX);
    for want in [16_384, 32_768, 65_536, 65_536] {
        let len = conn.read_len(1 << 20);
        conn.input_buffer(len);
        conn.commit_input(len);
        drain(&mut conn, &mut events, usize::MAX);
        assert_eq!(conn.read_len(1 << 20), want);
    }
}
