//! The request half, every state transition of an exchange, the caller's errors, stickiness
//! and reuse across cycles.

mod support;

use std::time::Duration;

use bytes::Bytes;

use duet_core::{
    BodyFraming, Connection, Error, Event, Headers, Limits, LocalError, RemoteError, RequestBody,
    SendState,
};
use support::{Ev, drain, request, t0};

fn wire(conn: &mut Connection) -> String {
    let bytes = conn.poll_transmit().map(<[u8]>::to_vec).unwrap_or_default();
    conn.advance_transmit(bytes.len());
    String::from_utf8(bytes).unwrap()
}

/// Everything queued, across the head's buffer and the body's room.
fn wire_all(conn: &mut Connection) -> String {
    let mut out = String::new();
    while conn.poll_transmit().is_some() {
        out += &wire(conn);
    }
    out
}

/// Reads `data` into the connection's room, as a driver reads its source.
fn fill(conn: &mut Connection, data: &[u8]) {
    let room = conn.body_room(8).expect("a body is being sent");
    // At most what was asked, and for a declared length at most one byte past what is left.
    assert!(room.len() <= 8 && room.len() >= data.len());
    room[..data.len()].copy_from_slice(data);
    conn.body_filled(data.len()).unwrap();
}

fn events(conn: &mut Connection) -> Vec<Ev> {
    let mut out = Vec::new();
    if let Some(e) = drain(conn, &mut out, usize::MAX) {
        panic!("unexpected error {e}");
    }
    out
}

fn local(e: LocalError) -> Result<(), Error> {
    Err(Error::Local(e))
}

const OK_EMPTY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

#[test]
fn content_length_body_goes_out_as_given() {
    let mut conn = Connection::default();
    conn.send_request(&request("PUT", &[]), RequestBody::Length(11), t0())
        .unwrap();
    assert_eq!(conn.send_state(), SendState::Body);
    conn.send_body(b"hello").unwrap();
    conn.send_body(b" world").unwrap();
    conn.send_end(None).unwrap();
    assert_eq!(conn.send_state(), SendState::Done);
    assert_eq!(
        wire(&mut conn),
        "PUT / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 11\r\n\r\nhello world"
    );
}

#[test]
fn chunked_body_with_trailers_and_empty_writes() {
    let mut conn = Connection::default();
    conn.send_request(
        &request("POST", &[("Trailer", "X-Sum")]),
        RequestBody::Chunked,
        t0(),
    )
    .unwrap();
    conn.send_body(b"").unwrap(); // must not end the body
    conn.send_body(&[b'a'; 26]).unwrap();
    let mut trailers = Headers::new();
    trailers.append("X-Sum", "26").unwrap();
    conn.send_end(Some(&trailers)).unwrap();
    let expected = format!(
        "POST / HTTP/1.1\r\nHost: example.test\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n\
         1a\r\n{}\r\n0\r\nX-Sum: 26\r\n\r\n",
        "a".repeat(26)
    );
    assert_eq!(wire(&mut conn), expected);
}

#[test]
fn a_body_read_into_the_room_goes_out_after_the_head() {
    let mut conn = Connection::default();
    conn.send_request(&request("PUT", &[]), RequestBody::Length(11), t0())
        .unwrap();
    fill(&mut conn, b"hello");
    let head = "PUT / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 11\r\n\r\n";
    assert_eq!(wire(&mut conn), head, "the head first, on its own");
    // A partial write of the room's bytes is tracked like any other.
    assert_eq!(conn.poll_transmit(), Some(&b"hello"[..]));
    conn.advance_transmit(2);
    assert_eq!(conn.poll_transmit(), Some(&b"llo"[..]));
    conn.advance_transmit(3);
    assert_eq!(conn.poll_transmit(), None);
    // The room is asked for again, filled short, and the body ends.
    conn.body_room(8).unwrap();
    fill(&mut conn, b" world");
    conn.send_end(None).unwrap();
    assert_eq!(wire_all(&mut conn), " world");
    assert_eq!(conn.send_state(), SendState::Done);
}

#[test]
fn room_and_copied_pieces_keep_their_order_and_chunk_framing() {
    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Chunked, t0())
        .unwrap();
    // Queued ahead of any write: each piece must still go out in order.
    fill(&mut conn, b"abc");
    conn.send_body(b"de").unwrap();
    fill(&mut conn, b"");
    fill(&mut conn, b"fgh");
    conn.send_end(None).unwrap();
    let wire = wire_all(&mut conn);
    let body = &wire[wire.find("\r\n\r\n").unwrap() + 4..];
    assert_eq!(body, "3\r\nabc\r\n2\r\nde\r\n3\r\nfgh\r\n0\r\n\r\n");

    // The same pieces written as they come, the way the drivers do.
    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Chunked, t0())
        .unwrap();
    let mut body = String::new();
    wire_all(&mut conn);
    fill(&mut conn, b"abc");
    body += &wire_all(&mut conn);
    conn.send_body(b"de").unwrap();
    body += &wire_all(&mut conn);
    fill(&mut conn, b"fgh");
    body += &wire_all(&mut conn);
    conn.send_end(None).unwrap();
    body += &wire_all(&mut conn);
    assert_eq!(body, "3\r\nabc\r\n2\r\nde\r\n3\r\nfgh\r\n0\r\n\r\n");
    assert_eq!(conn.send_state(), SendState::Done);
}

#[test]
fn room_mistakes_are_caught() {
    let mut conn = Connection::default();
    assert!(conn.body_room(8).is_none(), "no request yet");
    conn.send_request(&request("POST", &[]), RequestBody::Length(3), t0())
        .unwrap();
    assert_eq!(
        conn.body_filled(1),
        local(LocalError::WrongState {
            operation: "body_filled",
            state: "no room for that many bytes was given"
        }),
        "filling without asking for room is a driver's mistake"
    );

    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Length(3), t0())
        .unwrap();
    conn.body_room(8).unwrap();
    assert_eq!(
        conn.body_filled(4),
        local(LocalError::BodyTooLong {
            declared: 3,
            attempted: 4
        })
    );
    wire(&mut conn);
    assert_eq!(
        conn.poll_transmit(),
        None,
        "none of the oversized piece is queued"
    );

    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Length(3), t0())
        .unwrap();
    conn.body_room(2).unwrap();
    assert!(conn.body_filled(3).is_err(), "more than the room given");
}

#[test]
fn a_shared_piece_goes_out_after_the_head_without_a_copy() {
    let mut conn = Connection::default();
    conn.send_request(&request("PUT", &[]), RequestBody::Length(11), t0())
        .unwrap();
    let piece = Bytes::from_static(b"hello");
    conn.send_body_shared(piece.clone()).unwrap();
    let head = "PUT / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 11\r\n\r\n";
    assert_eq!(wire(&mut conn), head, "the head first, on its own");
    let pending = conn.poll_transmit().unwrap();
    assert_eq!(pending, b"hello");
    assert_eq!(
        pending.as_ptr(),
        piece.as_ptr(),
        "the caller's bytes, not a copy"
    );
    // A partial write of the piece is tracked like any other.
    conn.advance_transmit(2);
    assert_eq!(conn.poll_transmit(), Some(&b"llo"[..]));
    conn.advance_transmit(3);
    assert_eq!(conn.poll_transmit(), None);
    conn.send_body_shared(Bytes::from_static(b" world"))
        .unwrap();
    conn.send_end(None).unwrap();
    assert_eq!(wire_all(&mut conn), " world");
    assert_eq!(conn.send_state(), SendState::Done);
}

#[test]
fn shared_room_and_copied_pieces_queued_ahead_keep_their_order() {
    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Chunked, t0())
        .unwrap();
    conn.send_body_shared(Bytes::from_static(b"ab")).unwrap();
    fill(&mut conn, b"cde");
    conn.send_body_shared(Bytes::from_static(b"f")).unwrap();
    conn.send_body_shared(Bytes::new()).unwrap(); // must not end the body
    conn.send_body(b"gh").unwrap();
    conn.send_body_shared(Bytes::from_static(b"ijkl")).unwrap();
    conn.send_end(None).unwrap();
    let sent = wire_all(&mut conn);
    let body = &sent[sent.find("\r\n\r\n").unwrap() + 4..];
    assert_eq!(
        body,
        "2\r\nab\r\n3\r\ncde\r\n1\r\nf\r\n2\r\ngh\r\n4\r\nijkl\r\n0\r\n\r\n"
    );

    // A piece still unwritten keeps the connection from being reused.
    let mut conn = Connection::default();
    conn.send_request(&request("PUT", &[]), RequestBody::Length(2), t0())
        .unwrap();
    wire(&mut conn);
    conn.send_body_shared(Bytes::from_static(b"ab")).unwrap();
    conn.send_end(None).unwrap();
    assert_eq!(conn.poll_transmit(), Some(&b"ab"[..]));
    assert!(!conn.is_reusable());
    assert_eq!(
        conn.not_reusable_because(),
        Some("the exchange is not over")
    );
}

#[test]
fn a_shared_piece_longer_than_declared_is_refused() {
    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Length(3), t0())
        .unwrap();
    wire(&mut conn);
    assert_eq!(
        conn.send_body_shared(Bytes::from_static(b"abcd")),
        local(LocalError::BodyTooLong {
            declared: 3,
            attempted: 4
        })
    );
    assert_eq!(conn.poll_transmit(), None, "none of it is queued");
    let mut conn = Connection::default();
    assert!(
        conn.send_body_shared(Bytes::from_static(b"a")).is_err(),
        "no request yet"
    );
}

#[test]
fn partial_writes_are_tracked() {
    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    let all = conn.poll_transmit().unwrap().to_vec();
    conn.advance_transmit(3);
    assert_eq!(conn.poll_transmit().unwrap(), &all[3..]);
    conn.advance_transmit(all.len() - 3);
    assert_eq!(conn.poll_transmit(), None);
}

#[test]
fn body_length_mistakes_are_caught_before_sending() {
    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Length(3), t0())
        .unwrap();
    wire(&mut conn);
    assert_eq!(
        conn.send_body(b"abcd"),
        local(LocalError::BodyTooLong {
            declared: 3,
            attempted: 4
        })
    );
    assert_eq!(
        conn.poll_transmit(),
        None,
        "none of the oversized write is queued"
    );

    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Length(3), t0())
        .unwrap();
    conn.send_body(b"ab").unwrap();
    assert_eq!(
        conn.send_end(None),
        local(LocalError::BodyTooShort {
            declared: 3,
            sent: 2
        })
    );

    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Length(1), t0())
        .unwrap();
    conn.send_body(b"a").unwrap();
    let mut trailers = Headers::new();
    trailers.append("A", "1").unwrap();
    assert_eq!(
        conn.send_end(Some(&trailers)),
        local(LocalError::TrailersNeedChunked)
    );
}

#[test]
fn head_mistakes_are_caught_before_any_byte() {
    let mut conn = Connection::default();
    let mut head = request("GET", &[]);
    head.headers_mut().remove("host");
    assert_eq!(
        conn.send_request(&head, RequestBody::None, t0()),
        local(LocalError::MissingHost)
    );
    assert_eq!(conn.poll_transmit(), None);

    let mut conn = Connection::default();
    let head = request("GET", &[("host", "other")]);
    assert_eq!(
        conn.send_request(&head, RequestBody::None, t0()),
        local(LocalError::DuplicateHost)
    );

    let mut conn = Connection::default();
    let head = request("POST", &[("Content-Length", "5")]);
    let err = LocalError::ConflictingFraming {
        header: "Content-Length",
    };
    assert_eq!(
        conn.send_request(&head, RequestBody::Chunked, t0()),
        local(err)
    );
    assert_eq!(conn.poll_transmit(), None);
}

#[test]
fn expect_continue_waits_for_100() {
    let mut conn = Connection::default();
    let head = request("PUT", &[("Expect", "100-continue")]);
    conn.send_request(&head, RequestBody::Length(4), t0())
        .unwrap();
    assert!(wire(&mut conn).contains("Expect: 100-continue\r\n"));
    assert_eq!(conn.send_state(), SendState::ExpectingContinue);
    assert_eq!(conn.poll_timeout(), Some(t0() + Duration::from_secs(1)));
    let err = LocalError::WrongState {
        operation: "send_body",
        state: "waiting for 100 Continue",
    };
    assert_eq!(conn.clone().send_body(b"data"), local(err));
    conn.handle_input(b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(events(&mut conn), [Ev::Interim(100, vec![])]);
    assert_eq!(conn.send_state(), SendState::Body);
    assert_eq!(conn.poll_timeout(), None);
    conn.send_body(b"data").unwrap();
    conn.send_end(None).unwrap();
    assert_eq!(wire(&mut conn), "data");
    conn.handle_input(OK_EMPTY);
    assert_eq!(events(&mut conn).last(), Some(&Ev::End));
    assert!(conn.is_reusable());
}

#[test]
fn expect_continue_deadline_releases_the_body() {
    let mut conn = Connection::default();
    conn.send_request(
        &request("PUT", &[("Expect", "100-Continue")]),
        RequestBody::Chunked,
        t0(),
    )
    .unwrap();
    conn.handle_timeout(t0() + Duration::from_millis(999));
    assert_eq!(conn.send_state(), SendState::ExpectingContinue);
    conn.handle_timeout(t0() + Duration::from_secs(1));
    assert_eq!(conn.send_state(), SendState::Body);
}

#[test]
fn expect_continue_answered_with_a_final_status_cancels_the_body() {
    let mut conn = Connection::default();
    conn.send_request(
        &request("PUT", &[("Expect", "100-continue")]),
        RequestBody::Length(4),
        t0(),
    )
    .unwrap();
    assert!(!conn.body_withheld());
    conn.handle_input(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(events(&mut conn).len(), 2);
    assert_eq!(conn.send_state(), SendState::Cancelled);
    assert!(conn.body_withheld(), "none of the body went");
    assert_eq!(conn.poll_timeout(), None);
    assert!(!conn.is_reusable(), "the promised body never came");
    assert_eq!(
        conn.not_reusable_because(),
        Some("the server answered before the request body was sent")
    );
    let err = LocalError::WrongState {
        operation: "send_body",
        state: "no more of the request is sent",
    };
    assert_eq!(conn.send_body(b"data"), local(err));
}

#[test]
fn expect_without_a_body_does_not_wait() {
    let mut conn = Connection::default();
    conn.send_request(
        &request("PUT", &[("Expect", "100-continue")]),
        RequestBody::Length(0),
        t0(),
    )
    .unwrap();
    assert_eq!(conn.send_state(), SendState::Done);
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn an_early_response_while_uploading() {
    let mut conn = Connection::default();
    conn.send_request(&request("POST", &[]), RequestBody::Length(6), t0())
        .unwrap();
    conn.send_body(b"abc").unwrap();
    conn.handle_input(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(events(&mut conn).last(), Some(&Ev::End));
    assert!(conn.is_response_complete());
    assert!(!conn.is_reusable(), "the request is not finished");
    conn.send_body(b"def").unwrap();
    conn.send_end(None).unwrap();
    assert!(!conn.is_reusable(), "bytes still wait to be written");
    assert!(wire(&mut conn).ends_with("abcdef"));
    assert!(conn.is_reusable());
}

#[test]
fn several_exchanges_on_one_connection() {
    let mut conn = Connection::default();
    // Nothing to tell before a request, and nothing wrong either.
    assert!(matches!(conn.poll_event(), Ok(None)));
    for i in 0..3 {
        conn.send_request(&request("GET", &[]), RequestBody::None, t0())
            .unwrap();
        assert!(wire(&mut conn).starts_with("GET / HTTP/1.1\r\n"));
        let body = format!("body {i}");
        conn.handle_input(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        assert!(matches!(conn.poll_event(), Ok(Some(Event::Response(_)))));
        assert_eq!(conn.body_framing(), Some(BodyFraming::Length(6)));
        assert!(!conn.is_response_complete(), "the body is still to come");
        let got = events(&mut conn);
        assert_eq!(got[0], Ev::Data(body.into_bytes()));
        assert!(conn.is_reusable());
        conn.start_next_cycle().unwrap();
        assert_eq!(conn.send_state(), SendState::Idle);
        assert_eq!(conn.body_framing(), None);
        assert!(matches!(conn.poll_event(), Ok(None)));
    }
}

#[test]
fn wrong_state_calls() {
    let state = |operation, state| Err(Error::Local(LocalError::WrongState { operation, state }));
    assert_eq!(
        Connection::default().send_body(b"x"),
        state("send_body", "no request was sent")
    );
    assert_eq!(
        Connection::default().send_end(None),
        state("send_end", "no request was sent")
    );
    assert_eq!(
        Connection::default().start_next_cycle(),
        state("start_next_cycle", "the connection is not reusable")
    );

    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    let again = conn.send_request(&request("GET", &[]), RequestBody::None, t0());
    assert_eq!(again, state("send_request", "an exchange is in progress"));

    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    assert_eq!(
        conn.send_body(b"x"),
        state("send_body", "the request is complete")
    );
    assert_eq!(
        Connection::default().send_end(None),
        state("send_end", "no request was sent")
    );

    let mut conn = Connection::default();
    conn.handle_eof();
    let closed = conn.send_request(&request("GET", &[]), RequestBody::None, t0());
    assert_eq!(
        closed,
        state("send_request", "the server has closed the connection")
    );
}

#[test]
fn send_end_without_a_body_is_harmless() {
    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    conn.send_end(None).unwrap();
    assert_eq!(conn.send_state(), SendState::Done);
}

#[test]
fn errors_are_sticky() {
    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    conn.handle_input(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n");
    let first = conn.poll_event().unwrap_err();
    assert!(first.is_remote());
    assert_eq!(conn.poll_event().unwrap_err(), first);
    conn.handle_input(OK_EMPTY);
    assert_eq!(conn.poll_event().unwrap_err(), first);
    assert_eq!(conn.send_body(b"x").unwrap_err(), first);
    assert_eq!(conn.start_next_cycle().unwrap_err(), first);
    assert_eq!(conn.error(), Some(&first));
    assert!(!conn.is_reusable());
    assert_eq!(conn.not_reusable_because(), Some("the exchange failed"));
    // A caller's mistake is sticky too.
    let mut conn = Connection::default();
    let bad = conn.send_end(None).unwrap_err();
    assert!(bad.is_local());
    assert_eq!(
        conn.send_request(&request("GET", &[]), RequestBody::None, t0())
            .unwrap_err(),
        bad
    );
}

#[test]
fn bytes_nobody_asked_for() {
    let mut conn = Connection::default();
    conn.handle_input(b"HTTP/1.1 408 Request Timeout\r\n\r\n");
    assert_eq!(
        conn.poll_event(),
        Err(Error::Remote(RemoteError::UnexpectedData { len: 32 }))
    );

    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    wire(&mut conn);
    conn.handle_input(OK_EMPTY);
    events(&mut conn);
    conn.start_next_cycle().unwrap();
    conn.handle_input(b"junk");
    assert_eq!(
        conn.poll_event(),
        Err(Error::Remote(RemoteError::UnexpectedData { len: 4 }))
    );

    // Bytes right behind a complete response keep the connection from being reused.
    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    wire(&mut conn);
    conn.handle_input(&[OK_EMPTY, &b"junk"[..]].concat());
    events(&mut conn);
    assert!(conn.is_response_complete());
    assert_eq!(
        conn.not_reusable_because(),
        Some("the server sent bytes beyond the response")
    );
}

#[test]
fn eof_after_a_complete_response_prevents_reuse() {
    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    conn.handle_input(OK_EMPTY);
    events(&mut conn);
    assert!(!conn.is_reusable(), "the request was never written");
    wire(&mut conn);
    assert!(conn.is_reusable());
    assert_eq!(conn.not_reusable_because(), None);
    conn.handle_eof();
    assert!(conn.is_closed_by_peer());
    assert!(!conn.is_reusable());
    assert_eq!(conn.not_reusable_because(), Some("the server closed it"));
    assert_eq!(conn.poll_event(), Ok(None));
}

#[test]
fn data_can_be_bounded_for_the_callers_buffer() {
    let mut conn = Connection::default();
    conn.send_request(&request("GET", &[]), RequestBody::None, t0())
        .unwrap();
    conn.handle_input(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
    assert!(matches!(
        conn.poll_event_max(4),
        Ok(Some(Event::Response(_)))
    ));
    assert_eq!(conn.poll_event_max(4), Ok(Some(Event::Data(b"0123"))));
    assert_eq!(conn.poll_event_max(4), Ok(Some(Event::Data(b"4567"))));
    assert_eq!(
        conn.poll_event_max(0),
        Ok(Some(Event::Data(b"8"))),
        "a zero bound still makes progress"
    );
    assert_eq!(conn.poll_event_max(4), Ok(Some(Event::Data(b"9"))));
    assert_eq!(conn.poll_event_max(4), Ok(Some(Event::EndOfMessage)));
}

#[test]
fn the_servers_keep_alive_timeout_is_read_from_each_final_response() {
    let mut conn = Connection::default();
    let cases: [(&[u8], Option<u64>); 9] = [
        (b"Keep-Alive: timeout=5, max=100\r\n", Some(5)), // Apache
        (b"Keep-Alive: timeout=5\r\n", Some(5)),          // Node.js
        (b"keep-alive: MAX=3 , Timeout = \"7\"\r\n", Some(7)),
        (
            b"Keep-Alive: timeout=9\r\nKeep-Alive: timeout=4\r\n",
            Some(4),
        ),
        (b"Keep-Alive: max=100\r\n", None),
        (b"Keep-Alive: timeout=-1\r\n", None),
        (b"Keep-Alive: timeout=1.5\r\n", None),
        (b"Keep-Alive: timeouts=5\r\n", None),
        (b"", None), // each response's own: the previous one's is forgotten
    ];
    for (field, secs) in cases {
        conn.send_request(&request("GET", &[]), RequestBody::None, t0())
            .unwrap();
        wire(&mut conn);
        // An interim response's fields say nothing about the connection.
        conn.handle_input(b"HTTP/1.1 103 Early Hints\r\nKeep-Alive: timeout=1\r\n\r\n");
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        head.extend_from_slice(field);
        head.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        conn.handle_input(&head);
        assert_eq!(events(&mut conn).last(), Some(&Ev::End));
        let expected = secs.map(Duration::from_secs);
        assert_eq!(conn.server_idle_timeout(), expected, "{field:?}");
        conn.start_next_cycle().unwrap();
    }
}

#[test]
fn limits_at_the_largest_values_are_no_limits_and_never_overflow() {
    let mut limits = Limits::default();
    limits.max_head_bytes = usize::MAX;
    limits.max_headers = usize::MAX;
    limits.max_line_bytes = usize::MAX;
    limits.max_chunk_extension_bytes = usize::MAX;
    limits.max_trailer_bytes = usize::MAX;
    limits.max_interim_responses = usize::MAX;
    limits.expect_continue_timeout = Duration::MAX;
    let mut conn = Connection::new(limits);
    conn.send_request(
        &request("PUT", &[("Expect", "100-continue")]),
        RequestBody::Length(2),
        t0(),
    )
    .unwrap();
    assert_eq!(
        conn.poll_timeout(),
        None,
        "no deadline beyond what Instant holds"
    );
    conn.handle_timeout(t0() + Duration::from_secs(1 << 40));
    assert_eq!(conn.send_state(), SendState::ExpectingContinue);
    let response = b"HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        2;ext=1\r\nok\r\n0\r\nT: v\r\n\r\n";
    for &byte in response.iter() {
        conn.handle_input(&[byte]);
        let mut out = Vec::new();
        assert_eq!(drain(&mut conn, &mut out, usize::MAX), None);
    }
    assert!(conn.is_response_complete());
}
