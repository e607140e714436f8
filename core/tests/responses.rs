//! Response fixtures, each fed whole, one byte at a time, at every split point and with small
//! reads: the events (adjacent Data merged), error, reusability and leftover bytes must agree.

mod support;

use duet_core::{ChunkPhase, Error, Limits, RemoteError};
use support::{Ev, Outcome, limits, request, run_all_ways};

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn response(status: u16, version: &str, reason: &str, headers: &[(&str, &str)]) -> Ev {
    Ev::Response(
        status,
        version.to_owned(),
        reason.as_bytes().to_vec(),
        h(headers),
    )
}

fn data(bytes: &str) -> Ev {
    Ev::Data(bytes.as_bytes().to_vec())
}

fn ok(events: Vec<Ev>, reusable: bool, leftover: usize) -> Outcome {
    Outcome {
        events,
        error: None,
        reusable,
        leftover,
    }
}

fn failed(events: Vec<Ev>, error: RemoteError) -> Outcome {
    Outcome {
        events,
        error: Some(Error::Remote(error)),
        reusable: false,
        leftover: 0,
    }
}

fn get(bytes: &[u8], eof: bool) -> Outcome {
    run_all_ways(&Limits::default(), &request("GET", &[]), bytes, eof)
}

#[test]
fn content_length_body_keeps_the_connection() {
    let got = get(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Case: Kept\r\n\r\nhello",
        false,
    );
    let head = response(
        200,
        "HTTP/1.1",
        "OK",
        &[("Content-Length", "5"), ("X-Case", "Kept")],
    );
    assert_eq!(got, ok(vec![head, data("hello"), Ev::End], true, 0));
}

#[test]
fn obsolete_line_folding_is_unfolded_into_spaces() {
    // RFC 9112 §5.2: a user agent replaces each obs-fold with spaces before reading the field.
    let got = get(
        b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\n\tc\r\nContent-Length:\n 2\r\n\r\nhi",
        false,
    );
    let head = response(
        200,
        "HTTP/1.1",
        "OK",
        &[("X-Folded", "a    b   c"), ("Content-Length", "2")],
    );
    assert_eq!(got, ok(vec![head, data("hi"), Ev::End], true, 0));
}

#[test]
fn bare_lf_line_ends_are_accepted_in_the_head() {
    let got = get(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", false);
    assert_eq!(
        got,
        ok(
            vec![
                response(200, "HTTP/1.1", "OK", &[("Content-Length", "2")]),
                data("hi"),
                Ev::End
            ],
            true,
            0
        )
    );
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nDigest: sha-256=x\r\n\r\n";
    let head = response(200, "HTTP/1.1", "OK", &[("Transfer-Encoding", "chunked")]);
    let trailers = Ev::Trailers(h(&[("Digest", "sha-256=x")]));
    assert_eq!(
        get(bytes, false),
        ok(vec![head, data("hello world"), trailers, Ev::End], true, 0)
    );
}

#[test]
fn no_body_for_head_204_and_304() {
    let head_req = request("HEAD", &[]);
    let got = run_all_ways(
        &Limits::default(),
        &head_req,
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
        false,
    );
    assert_eq!(
        got,
        ok(
            vec![
                response(200, "HTTP/1.1", "OK", &[("Content-Length", "99")]),
                Ev::End
            ],
            true,
            0
        )
    );
    let got = get(b"HTTP/1.1 204 No Content\r\n\r\n", false);
    assert_eq!(
        got,
        ok(
            vec![response(204, "HTTP/1.1", "No Content", &[]), Ev::End],
            true,
            0
        )
    );
    let got = get(
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        false,
    );
    assert_eq!(got.events.len(), 2);
    assert!(got.reusable);
}

#[test]
fn close_delimited_body_ends_only_at_eof() {
    let bytes = b"HTTP/1.1 200 OK\r\n\r\nall of it";
    assert_eq!(
        get(bytes, true),
        ok(
            vec![
                response(200, "HTTP/1.1", "OK", &[]),
                data("all of it"),
                Ev::End
            ],
            false,
            0
        )
    );
    // Without EOF the body is not over.
    let open = get(bytes, false);
    assert_eq!(open.events.last(), Some(&data("all of it")));
    assert!(!open.reusable);
}

#[test]
fn http_1_0_rules() {
    let got = get(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false);
    assert_eq!(
        got,
        ok(
            vec![
                response(200, "HTTP/1.0", "OK", &[("Content-Length", "1")]),
                data("x"),
                Ev::End
            ],
            false,
            0
        )
    );
    let got = get(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
        false,
    );
    assert!(got.reusable);
    let got = get(
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
        true,
    );
    assert_eq!(
        got.events[1],
        data("1\r\nx\r\n0\r\n\r\n"),
        "faulty framing: read to the close"
    );
    assert!(!got.reusable);
}

#[test]
fn interim_responses_come_before_the_final_one() {
    let bytes = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n\
                  HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let events = vec![
        Ev::Interim(100, vec![]),
        Ev::Interim(103, h(&[("Link", "</s.css>; rel=preload")])),
        Ev::Interim(102, vec![]),
        response(200, "HTTP/1.1", "OK", &[("Content-Length", "0")]),
        Ev::End,
    ];
    assert_eq!(get(bytes, false), ok(events, true, 0));
}

#[test]
fn too_many_interim_responses() {
    let limits = limits(|l| l.max_interim_responses = 2);
    let bytes = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(3);
    let got = run_all_ways(&limits, &request("GET", &[]), &bytes, false);
    let two = vec![Ev::Interim(100, vec![]), Ev::Interim(100, vec![])];
    assert_eq!(
        got,
        failed(two, RemoteError::TooManyInterimResponses { limit: 2 })
    );
}

#[test]
fn connection_close_and_framing_oddities_prevent_reuse() {
    assert!(
        !get(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            false
        )
        .reusable
    );
    let both = get(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", false);
    assert_eq!(
        both.events[1],
        data("x"),
        "chunked wins over Content-Length"
    );
    assert_eq!(both.events[2], Ev::End);
    assert!(!both.reusable);
    let gzip = get(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw",
        true,
    );
    assert_eq!(
        gzip.events[1],
        data("raw"),
        "a coding list not ending in chunked reads to the close"
    );
    assert!(!gzip.reusable);
    let req_close = request("GET", &[("Connection", "close")]);
    let got = run_all_ways(
        &Limits::default(),
        &req_close,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert!(!got.reusable);
}

#[test]
fn bytes_after_the_response_stay_untouched_and_prevent_reuse() {
    let got = get(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
        false,
    );
    assert_eq!(got.events.last(), Some(&Ev::End));
    assert_eq!((got.reusable, got.leftover), (false, 5));
    let got = get(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n",
        false,
    );
    assert_eq!((got.reusable, got.leftover), (false, 17));
}

#[test]
fn upgrades_and_tunnels_hand_over_the_rest() {
    let upgrade = request(
        "GET",
        &[("Connection", "Upgrade"), ("Upgrade", "websocket")],
    );
    let bytes = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello";
    let got = run_all_ways(&Limits::default(), &upgrade, bytes, false);
    let head = response(
        101,
        "HTTP/1.1",
        "Switching Protocols",
        &[("Upgrade", "websocket")],
    );
    assert_eq!(got, ok(vec![head, Ev::Upgraded], false, 7));

    let connect = request("CONNECT", &[]);
    let bytes = b"HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01";
    let got = run_all_ways(&Limits::default(), &connect, bytes, false);
    assert_eq!(
        got,
        ok(
            vec![
                response(200, "HTTP/1.1", "Connection Established", &[]),
                Ev::Upgraded
            ],
            false,
            3
        )
    );

    let bytes = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\nnope";
    let got = run_all_ways(&Limits::default(), &connect, bytes, false);
    assert_eq!(got.events[1..], [data("nope"), Ev::End]);
    assert!(got.reusable);
}

#[test]
fn an_unrequested_101_is_an_error() {
    let got = get(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        false,
    );
    assert_eq!(
        got,
        failed(vec![], RemoteError::UnexpectedSwitchingProtocols)
    );
}

#[test]
fn non_utf8_reason_phrases_are_kept_as_bytes() {
    let got = get(
        b"HTTP/1.1 200 \xc7a marche\r\nContent-Length: 0\r\n\r\n",
        false,
    );
    assert_eq!(
        got.events[0],
        Ev::Response(
            200,
            "HTTP/1.1".into(),
            b"\xc7a marche".to_vec(),
            h(&[("Content-Length", "0")])
        )
    );
}

#[test]
fn truncation_is_an_error_with_numbers() {
    let got = get(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello", true);
    let head = response(200, "HTTP/1.1", "OK", &[("Content-Length", "100")]);
    assert_eq!(
        got,
        failed(
            vec![head, data("hello")],
            RemoteError::IncompleteBody {
                received: 5,
                expected: 100
            }
        )
    );
    assert_eq!(
        got.error.unwrap().to_string(),
        "server protocol error: body ended early: received 5 of 100 bytes"
    );

    let got = get(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nhel",
        true,
    );
    let err = RemoteError::IncompleteChunkedBody {
        received: 3,
        phase: ChunkPhase::Data { missing: 7 },
    };
    assert_eq!(got.error, Some(Error::Remote(err)));
    let got = get(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
        true,
    );
    let err = RemoteError::IncompleteChunkedBody {
        received: 3,
        phase: ChunkPhase::SizeLine,
    };
    assert_eq!(got.error, Some(Error::Remote(err)));

    assert_eq!(
        get(b"", true),
        failed(vec![], RemoteError::ClosedBeforeResponse)
    );
    assert_eq!(
        get(b"HTTP/1.1 200 OK\r\nCont", true),
        failed(vec![], RemoteError::IncompleteHead { received: 21 })
    );
    let after_interim = get(b"HTTP/1.1 100 Continue\r\n\r\n", true);
    assert_eq!(
        after_interim,
        failed(
            vec![Ev::Interim(100, vec![])],
            RemoteError::IncompleteHead { received: 0 }
        )
    );
}

#[test]
fn hostile_heads() {
    let cases: [(&[u8], RemoteError); 8] = [
        (
            b"HTTP/1.1 200 OK\r\n folded\r\nA: 1\r\n\r\n",
            RemoteError::WhitespaceAfterStatusLine,
        ),
        (
            b"HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n",
            RemoteError::MalformedHead {
                detail: "invalid header name (or whitespace before the colon)",
            },
        ),
        (
            b"HTTP/1.1 200 OK\r\nA : 1\r\n\r\n",
            RemoteError::MalformedHead {
                detail: "invalid header name (or whitespace before the colon)",
            },
        ),
        (
            b"HTTP/1.1 200 OK\r\nA: x\0y\r\n\r\n",
            RemoteError::MalformedHead {
                detail: "invalid byte in a header value",
            },
        ),
        (
            b"HTTP/1.1 200 OK\r\nA: x\ry\r\n\r\n",
            RemoteError::MalformedHead {
                detail: "invalid byte in a header value",
            },
        ),
        (
            b"HTTP/1.1 099 Odd\r\n\r\n",
            RemoteError::InvalidStatus { code: 99 },
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            RemoteError::InvalidContentLength { value: "-1".into() },
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            RemoteError::ConflictingContentLength {
                first: 1,
                second: 2,
            },
        ),
    ];
    for (bytes, err) in cases {
        assert_eq!(
            get(bytes, false),
            failed(vec![], err),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    let icy = get(b"ICY 200 OK\r\n\r\n", false);
    assert!(matches!(
        icy.error,
        Some(Error::Remote(RemoteError::MalformedHead { .. }))
    ));
}

#[test]
fn head_limits_are_enforced_however_split() {
    let limits = limits(|l| {
        l.max_head_bytes = 64;
        l.max_line_bytes = 32;
        l.max_headers = 2;
    });
    let run = |bytes: &[u8]| run_all_ways(&limits, &request("GET", &[]), bytes, false);
    let long_line = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(40));
    assert_eq!(
        run(long_line.as_bytes()),
        failed(vec![], RemoteError::LineTooLong { limit: 32 })
    );
    assert_eq!(
        run(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
        failed(vec![], RemoteError::TooManyHeaders { limit: 2 })
    );
    let big = format!(
        "HTTP/1.1 200 OK\r\nA: {0}\r\nB: {0}\r\n\r\n",
        "b".repeat(25)
    );
    assert_eq!(
        run(big.as_bytes()),
        failed(vec![], RemoteError::HeadTooLarge { limit: 64 })
    );
    // A server that never ends its head is stopped at the limit, not buffered forever.
    let endless = "X".repeat(10_000);
    assert_eq!(
        run(endless.as_bytes()).error,
        Some(Error::Remote(RemoteError::LineTooLong { limit: 32 }))
    );
}

#[test]
fn hostile_chunked_framing() {
    let pre = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let cases: [(&str, RemoteError); 6] = [
        (
            "5\nhello\r\n0\r\n\r\n",
            RemoteError::ExpectedCrlf {
                phase: ChunkPhase::SizeLine,
                found: b'\n',
            },
        ),
        (
            "5\r\nhelloX\r\n0\r\n\r\n",
            RemoteError::ExpectedCrlf {
                phase: ChunkPhase::DataEnd,
                found: b'X',
            },
        ),
        (
            "5\r\nhello\n0\r\n\r\n",
            RemoteError::ExpectedCrlf {
                phase: ChunkPhase::DataEnd,
                found: b'\n',
            },
        ),
        ("fffffffffffffffff\r\n", RemoteError::ChunkSizeOverflow),
        (
            "+5\r\nhello\r\n0\r\n\r\n",
            RemoteError::InvalidChunkSize { byte: b'+' },
        ),
        (
            "0\r\nA: 1\n\r\n",
            RemoteError::ExpectedCrlf {
                phase: ChunkPhase::Trailers,
                found: b'\n',
            },
        ),
    ];
    for (body, err) in cases {
        let got = get(format!("{pre}{body}").as_bytes(), false);
        assert_eq!(got.error, Some(Error::Remote(err)), "{body:?}");
        assert!(!got.reusable);
    }
    let limits = limits(|l| {
        l.max_chunk_extension_bytes = 10;
        l.max_trailer_bytes = 10;
    });
    let run = |body: &str| {
        run_all_ways(
            &limits,
            &request("GET", &[]),
            format!("{pre}{body}").as_bytes(),
            false,
        )
        .error
    };
    assert_eq!(
        run("1;aaaaaaaaaaa\r\nx\r\n0\r\n\r\n"),
        Some(Error::Remote(RemoteError::ChunkExtensionsTooLarge {
            limit: 10
        }))
    );
    assert_eq!(
        run("0\r\nLong: 12345678\r\n\r\n"),
        Some(Error::Remote(RemoteError::TrailersTooLarge { limit: 10 }))
    );
}
