use crate::client::Scheme;
use crate::error::{ChunkPhase, RemoteError};
use crate::transport::{MockError, MockRequest, MockResponse, MockServerConnection};
use crate::{Connection, Event, Limits, Method, RequestBody, RequestHead, TargetForm, Url};

/// Feeds `input` in pieces of `step` bytes, answering every request with `answer`; returns the
/// requests, the output and whether the connection closed.
fn serve(
    input: &[u8],
    step: usize,
    answer: impl Fn(&MockRequest) -> MockResponse,
) -> (Vec<MockRequest>, Vec<u8>, bool) {
    let mut server = MockServerConnection::new();
    let (mut requests, mut output) = (Vec::new(), Vec::new());
    for piece in input.chunks(step.max(1)) {
        server.handle_input(piece);
        while let Some(request) = server.poll_request().unwrap() {
            server.respond(&request, &answer(&request));
            requests.push(request);
        }
        output.extend(server.poll_output().unwrap_or_default());
    }
    (requests, output, server.is_closed())
}

/// `serve` at every split size, checking they all agree.
fn serve_all_splits(
    input: &[u8],
    answer: impl Fn(&MockRequest) -> MockResponse + Copy,
) -> (Vec<MockRequest>, Vec<u8>, bool) {
    let whole = serve(input, input.len(), answer);
    for step in 1..input.len() {
        assert_eq!(serve(input, step, answer), whole, "step {step}");
    }
    whole
}

fn ok(_: &MockRequest) -> MockResponse {
    MockResponse::new(200).text("ok")
}

const OK: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nok";

#[test]
fn get() {
    let (requests, output, closed) = serve_all_splits(
        b"GET /a/b?c=1 HTTP/1.1\r\nHost: example.com:8080\r\nX-Trace: t\r\n\r\n",
        ok,
    );
    let [request] = &requests[..] else { panic!() };
    assert_eq!(request.method, Method::GET);
    assert_eq!(request.target, "/a/b?c=1");
    assert_eq!(
        request.url.as_ref().map(Url::as_str),
        Some("http://example.com:8080/a/b?c=1")
    );
    assert_eq!(request.header("x-trace"), Some("t"));
    assert_eq!(request.headers.iter().next().unwrap().0, "Host");
    assert!(request.body.is_empty() && request.trailers.is_empty());
    assert_eq!(output, OK);
    assert!(!closed);
}

#[test]
fn post_with_content_length() {
    let (requests, output, _) = serve_all_splits(
        b"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
        |r| MockResponse::new(201).body(r.body.clone()),
    );
    assert_eq!(requests[0].text(), Some("hello world"));
    assert_eq!(
        output,
        b"HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\nhello world"
    );
}

#[test]
fn post_chunked_with_trailers() {
    let (requests, output, _) = serve_all_splits(
        b"POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n",
        ok,
    );
    assert_eq!(requests[0].body, b"hello world");
    assert_eq!(requests[0].trailers.get_str("x-sum"), Some("42"));
    assert_eq!(output, OK);
}

#[test]
fn two_keep_alive_requests_in_one_stream() {
    let input = b"POST /1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
                  GET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
    let (requests, output, closed) =
        serve_all_splits(input, |r| MockResponse::new(200).text(r.target.clone()));
    let targets: Vec<_> = requests.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/1", "/2"]);
    assert_eq!(requests[0].body, b"abc");
    let text = String::from_utf8(output).unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2);
    assert!(text.ends_with("\r\n\r\n/1HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\n/2"));
    assert!(!closed);
}

#[test]
fn head_gets_length_but_no_body() {
    let (_, output, _) = serve_all_splits(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", ok);
    assert_eq!(
        output,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\n"
    );
}

#[test]
fn connection_close_from_either_side() {
    let input =
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n";
    let (requests, output, closed) = serve_all_splits(input, ok);
    assert_eq!(requests.len(), 1);
    assert!(closed);
    assert!(output.ends_with(b"Connection: close\r\nContent-Length: 2\r\n\r\nok"));

    let (requests, output, closed) = serve(
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        1000,
        |_| {
            MockResponse::new(200)
                .header("connection", "Close")
                .unwrap()
        },
    );
    assert_eq!(requests.len(), 1);
    assert!(closed);
    assert_eq!(
        output,
        b"HTTP/1.1 200 OK\r\nconnection: Close\r\nContent-Length: 0\r\n\r\n"
    );

    let (_, _, closed) = serve(b"GET / HTTP/1.0\r\n\r\n", 1000, ok);
    assert!(closed, "HTTP/1.0 without keep-alive closes");
    let (requests, _, closed) = serve(
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        1000,
        ok,
    );
    assert!(!closed);
    assert_eq!(requests[0].url, None, "no Host, no URL");
}

#[test]
fn closed_only_once_output_is_read() {
    let mut server = MockServerConnection::new();
    server.handle_input(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    let request = server.poll_request().unwrap().unwrap();
    server.respond(&request, &MockResponse::new(204));
    assert!(!server.is_closed());
    assert_eq!(
        server.poll_output().unwrap(),
        b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    );
    assert!(server.is_closed());
    assert_eq!(server.poll_output(), None);
    server.handle_input(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(server.poll_request(), Ok(None));
}

#[test]
fn client_eof() {
    let mut server = MockServerConnection::new();
    server.handle_eof();
    assert_eq!(server.poll_request(), Ok(None));
    assert!(server.is_closed());

    let cases: [(&[u8], MockError); 3] = [
        (
            b"GET / HTTP/1.1\r\n",
            MockError::IncompleteHead { received: 16 },
        ),
        (
            b"PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
            MockError::IncompleteBody {
                received: 2,
                expected: 5,
            },
        ),
        (
            b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            MockError::Chunked(RemoteError::IncompleteChunkedBody {
                received: 2,
                phase: ChunkPhase::Data { missing: 3 },
            }),
        ),
    ];
    for (input, error) in cases {
        let mut server = MockServerConnection::new();
        server.handle_input(input);
        assert_eq!(server.poll_request(), Ok(None));
        server.handle_eof();
        assert_eq!(server.poll_request(), Err(error.clone()));
        assert_eq!(server.poll_request(), Err(error), "sticky");
        assert!(server.is_closed());
    }
}

fn first_error(input: &[u8], limits: &Limits) -> MockError {
    let mut server = MockServerConnection::new().with_limits(limits);
    server.handle_input(input);
    let error = server.poll_request().unwrap_err();
    assert_eq!(server.poll_request(), Err(error.clone()), "sticky");
    assert!(server.is_closed());
    error
}

#[test]
fn malformed_requests() {
    let limits = Limits::default();
    let err = |input: &[u8]| first_error(input, &limits);
    assert!(matches!(
        err(b"GET/ HTTP/1.1\r\n\r\n"),
        MockError::InvalidHead { .. }
    ));
    assert!(matches!(
        err(b"GET / HTTP/2.0\r\n\r\n"),
        MockError::InvalidHead { .. }
    ));
    assert!(matches!(
        err(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"),
        MockError::InvalidHead { .. }
    ));
    assert_eq!(
        err(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        MockError::ContentLengthWithTransferEncoding
    );
    assert_eq!(
        err(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        MockError::UnsupportedTransferEncoding {
            value: "chunked, gzip".into()
        }
    );
    for (lengths, shown) in [
        (&b"Content-Length: 1x\r\n"[..], "1x"),
        (b"Content-Length: -1\r\n", "-1"),
        (b"Content-Length: 1, 2\r\n", "1, 2"),
        (b"Content-Length: 1\r\nContent-Length: 2\r\n", "1, 2"),
        (b"Content-Length:\r\n", ""),
    ] {
        let input = [&b"POST / HTTP/1.1\r\n"[..], lengths, b"\r\n"].concat();
        assert_eq!(
            err(&input),
            MockError::InvalidContentLength {
                value: shown.into()
            }
        );
    }
    assert_eq!(
        err(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n"),
        MockError::Chunked(RemoteError::InvalidChunkSize { byte: b'z' })
    );
    let small = Limits {
        max_head_bytes: 20,
        max_headers: 1,
        ..Limits::default()
    };
    assert_eq!(
        first_error(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", &small),
        MockError::HeadTooLarge { limit: 20 }
    );
    assert_eq!(
        first_error(b"GET /aaaaaaaaaaaaaaaaaaaaaaaa", &small),
        MockError::HeadTooLarge { limit: 20 }
    );
    let few = Limits {
        max_headers: 1,
        ..Limits::default()
    };
    assert_eq!(
        first_error(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", &few),
        MockError::TooManyHeaders { limit: 1 }
    );
}

#[test]
fn repeated_equal_content_length_is_one() {
    let (requests, _, _) = serve(
        b"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nab",
        1000,
        ok,
    );
    assert_eq!(requests[0].body, b"ab");
}

#[test]
fn expect_continue_is_the_callers_to_answer() {
    let mut server = MockServerConnection::new();
    server.handle_input(
        b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    );
    assert_eq!(server.poll_request(), Ok(None));
    assert!(server.wants_continue());
    server.send_continue();
    assert!(!server.wants_continue());
    assert_eq!(
        server.poll_output().unwrap(),
        b"HTTP/1.1 100 Continue\r\n\r\n"
    );
    server.send_continue();
    assert_eq!(server.poll_output(), None);
    server.handle_input(b"ok");
    assert_eq!(server.poll_request().unwrap().unwrap().body, b"ok");

    // The client stopped waiting and sent its body: no 100 Continue any more.
    let mut server = MockServerConnection::new();
    server.handle_input(b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    assert_eq!(server.poll_request(), Ok(None));
    server.handle_input(b"o");
    assert_eq!(server.poll_request(), Ok(None));
    assert!(!server.wants_continue());

    // Nothing to continue without a body.
    let mut server = MockServerConnection::new();
    server.handle_input(b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n");
    assert!(server.poll_request().unwrap().is_some());
    assert!(!server.wants_continue());
}

#[test]
fn urls_from_each_target_form() {
    let url_of = |scheme, head: &[u8]| {
        let mut server = MockServerConnection::new().with_scheme(scheme);
        server.handle_input(head);
        server
            .poll_request()
            .unwrap()
            .unwrap()
            .url
            .map(String::from)
    };
    assert_eq!(
        url_of(Scheme::Https, b"GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n").as_deref(),
        Some("https://a.test/x")
    );
    assert_eq!(
        url_of(
            Scheme::Http,
            b"GET http://b.test:81/y HTTP/1.1\r\nHost: a.test\r\n\r\n"
        )
        .as_deref(),
        Some("http://b.test:81/y")
    );
    assert_eq!(
        url_of(
            Scheme::Http,
            b"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n"
        ),
        None
    );
    assert_eq!(
        url_of(Scheme::Http, b"OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n"),
        None
    );
    assert_eq!(
        url_of(Scheme::Http, b"GET / HTTP/1.1\r\nHost: u@a.test\r\n\r\n"),
        None
    );
}

#[test]
fn response_bytes() {
    let bytes = |r: MockResponse, head| String::from_utf8(r.to_bytes(head)).unwrap();
    assert_eq!(
        bytes(MockResponse::new(204).body("x"), false),
        "HTTP/1.1 204 No Content\r\n\r\n"
    );
    assert_eq!(
        bytes(
            MockResponse::new(304).header("ETag", "\"1\"").unwrap(),
            false
        ),
        "HTTP/1.1 304 Not Modified\r\nETag: \"1\"\r\n\r\n"
    );
    assert_eq!(
        bytes(MockResponse::new(103), false),
        "HTTP/1.1 103 Early Hints\r\n\r\n"
    );
    assert_eq!(
        bytes(
            MockResponse::new(299).reason("Fine").unwrap().body("ab"),
            false
        ),
        "HTTP/1.1 299 Fine\r\nContent-Length: 2\r\n\r\nab"
    );
    assert_eq!(
        bytes(MockResponse::new(299), false),
        "HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(
        bytes(
            MockResponse::new(200)
                .header("Transfer-Encoding", "chunked")
                .unwrap()
                .body("2\r\nab\r\n0\r\n\r\n"),
            false
        ),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
    );
    assert_eq!(
        bytes(
            MockResponse::new(200)
                .header("Content-Type", "application/json")
                .unwrap()
                .text("{}"),
            false
        ),
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    );
    assert!(MockResponse::new(200).reason("a\r\nb").is_err());
    assert!(MockResponse::new(200).header("a b", "c").is_err());
    let mut response = MockResponse::new(200).body("x");
    response.headers_mut().append("X", "1").unwrap();
    assert_eq!(
        (
            response.status(),
            response.headers().len(),
            response.body_bytes()
        ),
        (200, 1, &b"x"[..])
    );
}

/// duet's own client connection talking to the mock, byte for byte, with nothing between.
#[test]
fn duet_connection_against_the_mock() {
    let url = Url::parse("http://example.com/upload").unwrap();
    let head = RequestHead::from_url(Method::POST, &url, TargetForm::Origin).unwrap();
    let mut client = Connection::default();
    let mut server = MockServerConnection::new();
    let now = crate::test_clock::t0();
    for round in 0..2 {
        client
            .send_request(&head, RequestBody::Chunked, now)
            .unwrap();
        client.send_body(b"hello").unwrap();
        client.send_end(None).unwrap();
        while let Some(bytes) = client.poll_transmit() {
            let n = bytes.len();
            server.handle_input(bytes);
            client.advance_transmit(n);
        }
        let request = server.poll_request().unwrap().unwrap();
        assert_eq!(request.url.as_ref(), Some(&url));
        server.respond(
            &request,
            &MockResponse::new(200).body([&b"got "[..], &request.body].concat()),
        );
        client.handle_input(&server.poll_output().unwrap());
        let mut body = Vec::new();
        loop {
            match client.poll_event().unwrap() {
                Some(Event::Response(response)) => assert_eq!(response.status(), 200),
                Some(Event::Data(data)) => body.extend_from_slice(data),
                Some(Event::EndOfMessage) => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(body, b"got hello", "round {round}");
        assert!(client.is_reusable());
        client.start_next_cycle().unwrap();
    }
}

#[test]
fn limits_and_the_end_of_input_at_their_boundaries() {
    // A head of exactly `max_head_bytes` is read; a partial one that long is still waited
    // for, and at end of input it is incomplete, not too large.
    let head = b"GET / HTTP/1.1\r\n\r\n";
    let exact = Limits {
        max_head_bytes: head.len(),
        ..Limits::default()
    };
    let mut server = MockServerConnection::new().with_limits(&exact);
    server.handle_input(head);
    assert!(server.poll_request().unwrap().is_some());
    let partial = Limits {
        max_head_bytes: head.len() - 1,
        ..Limits::default()
    };
    let mut at_the_limit = MockServerConnection::new().with_limits(&partial);
    at_the_limit.handle_input(&head[..head.len() - 1]);
    assert_eq!(at_the_limit.poll_request(), Ok(None));
    at_the_limit.handle_eof();
    assert_eq!(
        at_the_limit.poll_request(),
        Err(MockError::IncompleteHead {
            received: head.len() - 1
        })
    );
    // A body that arrived whole just before the end of input is a request.
    let mut server = MockServerConnection::new();
    server.handle_input(b"PUT / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab");
    server.handle_eof();
    assert_eq!(server.poll_request().unwrap().unwrap().body, b"ab");
}

#[test]
fn only_an_http_1_1_request_that_asks_waits_for_100_continue() {
    // A body without `Expect`, and an HTTP/1.0 client's `Expect` (RFC 9110 §10.1.1: a
    // server ignores it), wait for nothing.
    for head in [
        &b"PUT / HTTP/1.1\r\nContent-Length: 2\r\n\r\n"[..],
        b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    ] {
        let mut server = MockServerConnection::new();
        server.handle_input(head);
        assert_eq!(server.poll_request(), Ok(None));
        assert!(
            !server.wants_continue(),
            "{}",
            String::from_utf8_lossy(head)
        );
    }
}
