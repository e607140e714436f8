//! Request bodies: lengths, streams, forms, multipart.

use std::io::Cursor;

use duet_core::client::{ClientBuilder, Driver};
use duet_tests::server::*;

/// A server running `script`, over TLS or not, and a client from `builder` that trusts it.
fn scripted_pair<D: Driver>(
    tls: bool,
    script: impl Fn(&mut ScriptConn) + Send + Sync + 'static,
    builder: ClientBuilder<D>,
) -> (Server, D::Client) {
    match tls {
        true => (
            Server::scripted_tls(duet_tests::tls::Cert::Localhost, script),
            builder
                .add_root_certificate_pem(duet_tests::tls::ca_pem())
                .resolve("localhost", duet_tests::tls::LOOPBACK)
                .build()
                .unwrap(),
        ),
        false => (Server::scripted(script), builder.build().unwrap()),
    }
}

/// Splits a multipart body into (headers, content) per part, by the boundary in `content_type`.
fn parts(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type.split("boundary=").nth(1).expect("a boundary");
    let delimiter = format!("--{boundary}");
    let text = body.to_vec();
    let mut out = Vec::new();
    let mut rest = &text[..];
    assert!(
        rest.starts_with(delimiter.as_bytes()),
        "body starts with the delimiter"
    );
    loop {
        rest = &rest[delimiter.len()..];
        if rest.starts_with(b"--") {
            assert_eq!(&rest[2..], b"\r\n", "close delimiter ends the body");
            return out;
        }
        rest = &rest[2..]; // CRLF after the delimiter
        let head_end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("part head");
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let after = &rest[head_end + 4..];
        let next = format!("\r\n{delimiter}");
        let end = after
            .windows(next.len())
            .position(|w| w == next.as_bytes())
            .expect("next delimiter");
        out.push((head, after[..end].to_vec()));
        rest = &after[end + 2..];
    }
}

/// A reader for both clients whose reads are `read`'s answers.
struct Reads<F>(F);

impl<F: FnMut(&mut [u8]) -> std::io::Result<usize>> std::io::Read for Reads<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (self.0)(buf)
    }
}

impl<F: FnMut(&mut [u8]) -> std::io::Result<usize> + Unpin> tokio::io::AsyncRead for Reads<F> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = (self.get_mut().0)(buf.initialize_unfilled());
        std::task::Poll::Ready(n.map(|n| buf.advance(n)))
    }
}

/// A reader of `data` interrupted (`ErrorKind::Interrupted`, as by a signal) before each
/// piece it gives: a read to try again, not a failure.
fn interrupting(
    data: Vec<u8>,
) -> Reads<impl FnMut(&mut [u8]) -> std::io::Result<usize> + Send + Unpin> {
    let (mut data, mut interrupt) = (Cursor::new(data), false);
    Reads(move |buf: &mut [u8]| {
        interrupt = !interrupt;
        match interrupt {
            true => Err(std::io::ErrorKind::Interrupted.into()),
            false => std::io::Read::read(&mut data, buf),
        }
    })
}

/// Asserts that no whole request reached `server` over the one connection a client opened
/// to it and closed: a body that failed on the way is cut short, never ended as if whole.
fn assert_no_whole_request(server: &Server) {
    assert!(
        server.wait_for_connections_to_end(1, std::time::Duration::from_secs(5)),
        "the client closed its connection"
    );
    let requests = server.requests();
    assert!(
        requests.iter().all(|r| !r.complete),
        "{:?}",
        requests
            .iter()
            .map(|r| String::from_utf8_lossy(&r.raw))
            .collect::<Vec<_>>()
    );
}

/// A file named `name` in a new temporary directory, removed with the returned directory.
fn temp_file(name: &str, contents: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("duet-tests-")
        .tempdir()
        .unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

duet_tests::conformance! {
    fn large_bodies_arrive_byte_exact_however_framed() {
        // Large enough that most of each body is read straight into the caller's buffer.
        let body: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<Vec<u8>> = body.chunks(70_000).map(<[u8]>::to_vec).collect();
        let whole = body.clone();
        let server = Server::http(move |r| match r.target.as_str() {
            "/length" => Reply::ok(whole.clone()),
            _ => Reply::ok("").chunked(chunks.clone()),
        });
        let client = duet::Client::new();
        for path in ["/length", "/chunked"] {
            assert_body_read_every_way!(client, server.url(path), body);
        }
        assert_eq!(server.connections(), 1, "the connection was reused throughout");
    }

    fn chunk_framing_of_any_length_between_large_chunks_arrives_byte_exact() {
        // Between large chunks (whose data is read straight to the caller, with a guess at
        // the framing that follows, and a read may go on into the next chunk's data), size
        // lines longer and shorter than the last, as long but of a smaller chunk, uppercase,
        // with leading zeros, an extension or padding, and small chunks.
        let sizes: [(usize, &str); 14] = [
            (70_000, "11170"),
            (4_096, "01000"),
            (70_000, "11170"),
            (70_000, "11170;name=value"),
            (9_000, "2328"),
            (3, "3"),
            (70_000, "0011170"),
            (65_536, "10000"),
            (70_001, "11171"),
            (1, "1"),
            (70_000, "1117A"),
            (70_000, "11170  "),
            (9_000, "2328\t"),
            (70_000, "11170"),
        ];
        let mut body = Vec::new();
        let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for (i, (size, line)) in sizes.iter().enumerate() {
            let size = if *line == "1117A" { 0x1117a } else { *size };
            let data: Vec<u8> = (0..size).map(|j| ((i * 31 + j) % 253) as u8).collect();
            wire.extend_from_slice(format!("{line}\r\n").as_bytes());
            wire.extend_from_slice(&data);
            wire.extend_from_slice(b"\r\n");
            body.extend_from_slice(&data);
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let server = Server::scripted(move |conn| {
            while let Some(request) = conn.read_request() {
                match request.target.as_str() {
                    // In pieces of every few sizes, each its own write.
                    "/pieces" => {
                        for piece in wire.chunks(4_999) {
                            conn.write(piece);
                        }
                    }
                    _ => {
                        conn.write(&wire);
                    }
                }
            }
        });
        let client = duet::Client::new();
        for path in ["/whole", "/pieces"] {
            assert_body_read_every_way!(client, server.url(path), body);
        }
        assert_eq!(server.connections(), 1, "the connection was reused throughout");
    }

    fn a_large_body_cut_short_is_a_protocol_error() {
        let server = Server::scripted(|conn| {
            let req = conn.read_request();
            let head = match req.map(|r| r.target) {
                Some(t) if t == "/chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n30000\r\n".to_vec(),
                _ => b"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n".to_vec(),
            };
            conn.write(&head);
            // The rest arrives in separate writes, so it is read past the head's buffer.
            for _ in 0..10 {
                std::thread::sleep(std::time::Duration::from_millis(2));
                conn.write(&[b'x'; 10_000]);
            }
            conn.close();
        });
        for path in ["/length", "/chunked"] {
            let response = wait!(duet::get(server.url(path))).unwrap();
            let err = wait!(response.bytes()).unwrap_err();
            assert!(err.is_protocol(), "{path}: {err}");
            let mut response = wait!(duet::get(server.url(path))).unwrap();
            let err = duet::Error::from_io(read_all!(response).unwrap_err(), duet::TimeoutPhase::ReadBody);
            assert!(err.is_protocol(), "{path} through the io trait: {err}");
        }
    }

    fn a_small_body_arriving_after_its_head_in_pieces_is_read_whole() {
        // Small bodies are appended as they arrive; here none of it comes with the head.
        let server = Server::scripted(|conn| {
            if conn.read_request().is_none() {
                return;
            }
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n");
            for piece in [&b"hello"[..], b" ", b"world"] {
                conn.sleep(std::time::Duration::from_millis(15));
                conn.write(piece);
            }
            if let Some(req) = conn.read_request() {
                // Cut short: the rest never comes.
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{}", req.target);
                conn.write(head.as_bytes());
                conn.sleep(std::time::Duration::from_millis(15));
                conn.write(b"-more");
                conn.close();
            }
        });
        let client = duet::Client::new();
        let body = wait!(wait!(client.get(server.url("/a")).send()).unwrap().bytes()).unwrap();
        assert_eq!(body, b"hello world");
        let response = wait!(client.get(server.url("/b")).send()).unwrap();
        let err = wait!(response.bytes()).unwrap_err();
        assert!(err.is_protocol(), "{err}");
        assert_eq!(server.connections(), 1, "the first connection was reused");
    }

    fn a_server_refusing_an_upload_midway_is_heard() {
        // The server answers 413 after the head and stops reading: at once with a reset, or
        // after a while in which the client's writes stall. Writing the rest fails; the
        // answer is what the caller gets, as with urllib3 and httpx.
        for mode in ["reset", "stop reading", "reset, over TLS"] {
            let script = move |conn: &mut ScriptConn| {
                if conn.read_head_only().is_none() {
                    return;
                }
                conn.write(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!");
                if mode == "stop reading" {
                    conn.shutdown_write();
                    conn.sleep(std::time::Duration::from_millis(300));
                }
                conn.reset();
            };
            let (server, client) = scripted_pair(mode.ends_with("TLS"), script, duet::Client::builder());
            let bodies = [
                duet::Body::from(vec![b'x'; 8 << 20]),
                duet::Body::from_reader(Cursor::new(vec![b'x'; 8 << 20]), None),
            ];
            for body in bodies {
                let response = wait!(client.put(server.url("/up")).body(body).send()).unwrap();
                assert_eq!(response.status(), 413, "{mode}");
                assert_eq!(wait!(response.text()).unwrap(), "too big!", "{mode}");
            }
        }
        // With no answer, the write's error is the one reported: a reset at once, or one
        // that comes while the writes wait for room (and listen).
        for wait in [0, 300] {
            let silent = Server::scripted(move |conn| {
                conn.read_head_only();
                conn.sleep(std::time::Duration::from_millis(wait));
                conn.reset();
            });
            let client = duet::Client::builder().write_timeout(std::time::Duration::from_secs(5)).build().unwrap();
            let err = wait!(client.put(silent.url("/up")).body(vec![b'x'; 8 << 20]).send()).unwrap_err();
            assert!(err.is_io(), "a reset after {wait} ms: {err}");
        }
    }

    fn a_server_answering_midway_and_reading_no_more_is_heard_while_sending() {
        // The server answers 413 after the head and neither reads nor closes: the client
        // listens while its writes wait (RFC 9112 §9.5), so it gets the answer instead of
        // a write timeout.
        for tls in [false, true] {
            let script = |conn: &mut ScriptConn| {
                if conn.read_head_only().is_none() {
                    return;
                }
                conn.write(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!");
                conn.sleep(std::time::Duration::from_secs(10));
                conn.close();
            };
            let builder = duet::Client::builder().write_timeout(std::time::Duration::from_secs(3));
            let (server, client) = scripted_pair(tls, script, builder);
            let response = wait!(client.put(server.url("/up")).body(vec![b'x'; 32 << 20]).send()).unwrap();
            assert_eq!(response.status(), 413, "tls: {tls}");
            assert_eq!(wait!(response.text()).unwrap(), "too big!", "tls: {tls}");
        }
    }

    fn an_early_answer_that_takes_several_reads_is_read_whole() {
        // As above, but the 413 has a 300 KB body that comes in two goes: the reads after
        // the first must not try to send what TLS still holds of the abandoned request (to a
        // server that reads no more), or they wait for the read timeout.
        for tls in [false, true] {
            let script = |conn: &mut ScriptConn| {
                if conn.read_head_only().is_none() {
                    return;
                }
                let body = vec![b'n'; 300_000];
                let mut out = format!("HTTP/1.1 413 Content Too Large\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
                out.extend_from_slice(&body);
                conn.write(&out[..200]);
                conn.sleep(std::time::Duration::from_millis(300));
                conn.write(&out[200..]);
                conn.sleep(std::time::Duration::from_secs(10));
                conn.close();
            };
            let builder = duet::Client::builder()
                .write_timeout(std::time::Duration::from_secs(3))
                .read_timeout(std::time::Duration::from_secs(3));
            let (server, client) = scripted_pair(tls, script, builder);
            let response = wait!(client.put(server.url("/up")).body(vec![b'x'; 32 << 20]).send()).unwrap();
            assert_eq!(response.status(), 413, "tls: {tls}");
            assert_eq!(wait!(response.bytes()).unwrap().len(), 300_000, "tls: {tls}");
        }
    }

    fn an_early_answer_heard_while_tls_still_holds_the_end_of_the_request_is_read() {
        // TLS takes each piece of the body whole, but the socket only part of it: the rest
        // waits in TLS. The server stops reading 32 KiB before the end, so the last piece
        // is still there when the client turns to read; the server answers, reads no more
        // and keeps the connection open. (A narrow connection and a small send buffer keep
        // what the sockets hold far below 32 KiB.) Flushing all of it before reading would
        // wait until the server gives up.
        const BODY: usize = 256 << 10;
        let server = Server::scripted_tls_with(Cert::Localhost, Options::default().narrow(), |conn| {
            if conn.read_head_only().is_none() {
                return;
            }
            let mut read = 0;
            while read < BODY - (32 << 10) {
                match conn.read_some().len() {
                    0 => return,
                    n => read += n,
                }
            }
            conn.sleep(std::time::Duration::from_millis(500));
            conn.write(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\n\r\ntoo big!");
            conn.sleep(std::time::Duration::from_secs(60));
        });
        let client = duet::Client::builder()
            .add_root_certificate_pem(duet_tests::tls::ca_pem())
            .resolve("localhost", duet_tests::tls::LOOPBACK)
            .tcp_send_buffer_size(4096)
            .write_timeout(std::time::Duration::from_secs(3))
            .read_timeout(std::time::Duration::from_secs(3))
            .build()
            .unwrap();
        let response = wait!(client.put(server.url("/up")).body(vec![b'x'; BODY]).send()).unwrap();
        assert_eq!(response.status(), 413);
        assert_eq!(wait!(response.text()).unwrap(), "too big!");
    }

    fn a_100_continue_heard_while_sending_does_not_stop_the_body() {
        // The client gives up waiting for 100 Continue and sends the body; the 100 arrives
        // while its writes wait. It is no answer: the whole body still goes.
        let server = Server::scripted(|conn| {
            let Some(mut req) = conn.read_head_only() else {
                return;
            };
            conn.sleep(std::time::Duration::from_millis(1500));
            conn.write(b"HTTP/1.1 100 Continue\r\n\r\n");
            if conn.read_body(&mut req) {
                conn.write(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}", req.body.len().to_string().len(), req.body.len()).as_bytes());
            }
        });
        let response = wait!(duet::Client::new().put(server.url("/")).header("Expect", "100-continue").body(vec![1u8; 32 << 20]).send()).unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(wait!(response.text()).unwrap(), (32 << 20).to_string());
    }

    fn a_success_heard_while_sending_lets_the_whole_body_go_first() {
        // A server that writes its head at once and reads the body afterwards (as a CGI
        // script may): the 200 arrives while the client's writes wait. The whole body still
        // goes, the answer follows, and the connection serves the next request (curl does
        // the same; an error answer instead stops the upload).
        let server = Server::scripted(|conn| {
            let Some(mut req) = conn.read_head_only() else {
                return;
            };
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            conn.sleep(std::time::Duration::from_millis(1500));
            if !conn.read_body(&mut req) {
                return;
            }
            if conn.read_request().is_some() {
                conn.send(&Reply::ok(req.body.len().to_string()));
            }
        });
        let client = duet::Client::new();
        let response = wait!(client.put(server.url("/")).body(vec![1u8; 32 << 20]).send()).unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(wait!(response.text()).unwrap(), "ok");
        let count = wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap();
        assert_eq!(count, (32 << 20).to_string(), "the server got the whole body");
        assert_eq!(server.connections(), 1, "the connection was reused");
    }

    fn a_file_is_sent_again_from_where_it_started_for_a_redirect_and_a_digest_round() {
        use std::io::{Seek, SeekFrom};
        let (_dir, path) = temp_file("upload.bin", b"skip this|payload of the file");
        let from_offset = || {
            let mut file = std::fs::File::open(&path).unwrap();
            file.seek(SeekFrom::Start(10)).unwrap();
            duet::Body::from(file)
        };
        let server = Server::http(|r| match r.path() {
            "/old" => Reply::new(307).header("Location", "/new"),
            _ => Reply::ok(format!("{} {}", r.method, r.body_str())),
        });
        let client = duet::Client::new();
        let response = wait!(client.put(server.url("/old")).body(from_offset()).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "PUT payload of the file");
        for request in server.requests() {
            assert_eq!((request.header_str("content-length"), &*request.body_str()), (Some("19"), "payload of the file"));
        }
        // Digest answers a 401 by sending the request again, body and all (requests rewinds a
        // file for it; a stream could not be).
        let digest = crate::auth::digest_server::start("MD5");
        let response = wait!(client.post(digest.url("/upload")).digest_auth(crate::auth::digest_server::USER, crate::auth::digest_server::PASSWORD).body(from_offset()).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "hello Mufasa (19 bytes)");
        assert_eq!(digest.requests().len(), 2);
        // Not a regular file: a stream of unknown length, read once.
        #[cfg(unix)]
        {
            let response = wait!(client.post(server.url("/new")).body(std::fs::File::open("/dev/null").unwrap()).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), "POST ");
            assert_eq!(server.requests().last().unwrap().header_str("transfer-encoding"), Some("chunked"));
            let err = wait!(client.put(server.url("/old")).body(std::fs::File::open("/dev/null").unwrap()).send()).unwrap_err();
            assert!(err.is_redirect(), "{err}");
        }
    }

    fn in_memory_bodies_carry_their_length() {
        let server = Server::http(|r| Reply::ok(format!("{}:{}", r.header_str("content-length").unwrap_or("-"), r.body_str())));
        let client = duet::Client::new();
        let text = wait!(wait!(client.put(server.url("/")).body("text body").send()).unwrap().text()).unwrap();
        assert_eq!(text, "9:text body");
        let bytes = wait!(wait!(client.post(server.url("/")).body(vec![b'x'; 3]).send()).unwrap().text()).unwrap();
        assert_eq!(bytes, "3:xxx");
        let empty = wait!(wait!(client.post(server.url("/")).send()).unwrap().text()).unwrap();
        assert_eq!(empty, "0:", "a bodiless POST says Content-Length: 0");
        assert!(!server.requests()[0].chunked);
    }

    fn a_body_tells_its_bytes_length_and_kind_before_it_is_sent_and_is_framed_by_them() {
        // What `as_bytes`, `len`, `is_empty` and `Debug` say of each kind of body, and the
        // framing the server then sees: its length, or chunked when the length is unknown.
        let server = Server::http(|r| Reply::ok(format!("{}:{}", r.header_str("content-length").unwrap_or("chunked"), r.body_str())));
        let client = duet::Client::new();
        let (_dir, path) = temp_file("nine.txt", b"from file");
        let form = duet::multipart::Form::new().text("a", "b");
        let form_len = form.content_length().unwrap();
        let multipart = client.post(server.url("/")).multipart(form).build().unwrap();
        let cases = [
            (duet::Body::empty(), Some(&b""[..]), Some(0), "Body::Empty"),
            (duet::Body::default(), Some(&b""[..]), Some(0), "Body::Empty"),
            (duet::Body::from("abc"), Some(&b"abc"[..]), Some(3), "Body::Bytes(3 bytes)"),
            (duet::Body::from(bytes::Bytes::from_static(b"shared")), Some(&b"shared"[..]), Some(6), "Body::Bytes(6 bytes)"),
            (duet::Body::from(std::fs::File::open(&path).unwrap()), None, Some(9), "Body::File(9 bytes)"),
            (duet::Body::from_reader(Cursor::new(b"streamed".to_vec()), None), None, None, "Body::Reader(len: None)"),
            (duet::Body::from_reader(Cursor::new(Vec::new()), Some(0)), None, Some(0), "Body::Reader(len: Some(0))"),
        ];
        let mut expected = Vec::new();
        for (body, bytes, len, debug) in cases {
            assert_eq!((body.as_bytes(), body.len(), format!("{body:?}")), (bytes, len, debug.to_owned()));
            assert_eq!(body.is_empty(), len == Some(0), "{debug}");
            expected.push(len.map_or("chunked".to_owned(), |n| n.to_string()));
            wait!(client.post(server.url("/")).body(body).send()).unwrap();
        }
        let body = multipart.body();
        assert_eq!((body.as_bytes(), body.len(), body.is_empty()), (None, Some(form_len), false));
        assert_eq!(format!("{body:?}"), format!("Body::Multipart(len: Some({form_len}))"));
        // A form shows its parts: the length of bytes, where a stream comes from.
        let part = duet::multipart::Part::text("hi").file_name("a.txt").mime("text/plain").unwrap();
        let streamed = duet::multipart::Form::new().part("a", part).file("f", &path).unwrap().part("r", duet::multipart::Part::reader(Cursor::new(vec![1]), None));
        let debug = format!("{streamed:?}");
        let shown = [
            format!("boundary: \"{}\"", streamed.boundary()),
            "(\"a\", Part { content: Bytes(2 bytes), file_name: Some(\"a.txt\"), content_type: Some(\"text/plain\")".into(),
            format!("(\"f\", Part {{ content: Source {{ source: File({}), len: Some(9) }}", path.display()),
            "(\"r\", Part { content: Source { source: Reader, len: None }".into(),
        ];
        for shown in shown {
            assert!(debug.contains(&shown), "{shown} in {debug}");
        }
        wait!(client.execute(multipart)).unwrap();
        expected.push(form_len.to_string());
        let requests = server.requests();
        let framing: Vec<String> = requests.iter().map(|r| r.header_str("content-length").unwrap_or("chunked").to_owned()).collect();
        assert_eq!(framing, expected);
        let bodies: Vec<String> = requests[..7].iter().map(|r| r.body_str().into_owned()).collect();
        assert_eq!(bodies, ["", "", "abc", "shared", "from file", "streamed", ""]);
    }

    fn large_in_memory_bodies_and_parts_arrive_byte_exact() {
        // Several pieces each (pieces are 64 KiB), handed to the connection without a copy.
        let data: Vec<u8> = (0..300_007u32).map(|i| (i % 251) as u8).collect();
        let server = Server::http(|_| Reply::ok(""));
        let client = duet::Client::new();
        wait!(client.put(server.url("/bytes")).body(data.clone()).send()).unwrap();
        let form = || {
            duet::multipart::Form::new()
                .text("before", "a")
                .part("big", duet::multipart::Part::bytes(data.clone()))
                .text("after", "b")
        };
        wait!(client.post(server.url("/form")).multipart(form()).send()).unwrap();
        // With a reader of unknown length in it, the same form goes chunked.
        let chunked = form().part("tail", duet::multipart::Part::reader(Cursor::new(b"end".to_vec()), None));
        wait!(client.post(server.url("/chunked")).multipart(chunked).send()).unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 3);
        assert!(requests[0].body == data, "{} bytes, or different ones", requests[0].body.len());
        for request in &requests[1..] {
            let got = parts(request.header_str("content-type").unwrap(), &request.body);
            let values: Vec<&[u8]> = got.iter().map(|(_, v)| v.as_slice()).collect();
            assert_eq!(values.len(), 3 + usize::from(request.chunked), "{}", request.target);
            assert_eq!((values[0], values[2]), (&b"a"[..], &b"b"[..]), "{}", request.target);
            assert!(values[1] == data, "{}: the big part differs", request.target);
        }
        assert!(!requests[1].chunked && requests[2].chunked);
    }

    fn streams_of_unknown_length_go_chunked() {
        let server = Server::http(|r| Reply::ok(format!("{}:{}", r.chunked, r.body.len())));
        let client = duet::Client::new();
        let data = vec![7u8; 200_000];
        let body = duet::Body::from_reader(Cursor::new(data.clone()), None);
        let text = wait!(wait!(client.post(server.url("/")).body(body).send()).unwrap().text()).unwrap();
        assert_eq!(text, "true:200000");
        assert_eq!(server.requests()[0].body, data);
        let known = duet::Body::from_reader(Cursor::new(data), Some(200_000));
        let text = wait!(wait!(client.post(server.url("/")).body(known).send()).unwrap().text()).unwrap();
        assert_eq!(text, "false:200000");
    }

    fn a_callers_transfer_encoding_chunked_sends_any_body_chunked() {
        // As curl and hyper do: the caller's header asks for the framing, and gets it.
        let server = Server::http(|r| Reply::ok(format!("{}:{}", r.chunked, r.body_str())));
        let client = duet::Client::new();
        let data = vec![b'x'; 100_000];
        let bodies = [
            duet::Body::from("hello"),
            duet::Body::from(data.clone()),
            duet::Body::from_reader(Cursor::new(data.clone()), Some(100_000)),
        ];
        for body in bodies {
            let sent = client.put(server.url("/")).header("Transfer-Encoding", "chunked").body(body);
            assert_eq!(wait!(wait!(sent.send()).unwrap().text()).unwrap().split(':').next(), Some("true"));
        }
        let requests = server.requests();
        assert_eq!(requests[0].body, b"hello");
        assert_eq!((&requests[1].body, &requests[2].body), (&data, &data));
        assert!(requests.iter().all(|r| !r.has_header("content-length")));
        // A form too; and a coding duet would not apply is still refused.
        let form = client.post(server.url("/")).header("Transfer-Encoding", "chunked").form(&[("a", "b")]);
        assert_eq!(wait!(wait!(form.send()).unwrap().text()).unwrap(), "true:a=b");
        let gzip = client.post(server.url("/")).header("Transfer-Encoding", "gzip, chunked").body("x");
        assert!(wait!(gzip.send()).unwrap_err().is_invalid_header());
    }

    fn a_stream_read_that_is_interrupted_is_tried_again() {
        let data: Vec<u8> = (0..150_001u32).map(|i| (i % 253) as u8).collect();
        let server = Server::http(|_| Reply::ok(""));
        let client = duet::Client::new();
        for len in [None, Some(data.len() as u64)] {
            let body = duet::Body::from_reader(interrupting(data.clone()), len);
            assert_eq!(wait!(client.put(server.url("/body")).body(body).send()).unwrap().status(), 200);
            let part = duet::multipart::Part::reader(interrupting(data.clone()), len);
            let form = duet::multipart::Form::new().part("data", part);
            assert_eq!(wait!(client.post(server.url("/form")).multipart(form).send()).unwrap().status(), 200);
        }
        let requests = server.requests();
        assert_eq!(requests.len(), 4);
        for request in &requests {
            let got = match request.path() {
                "/body" => request.body.clone(),
                _ => parts(request.header_str("content-type").unwrap(), &request.body).remove(0).1,
            };
            assert!(got == data, "{}: {} bytes, or different ones", request.path(), got.len());
        }
    }

    fn a_failing_reader_is_a_body_error() {
        let server = Server::http(|_| Reply::ok(""));
        let failing = Reads(|_: &mut [u8]| Err(std::io::Error::other("disk gone")));
        let err = wait!(duet::Client::new().post(server.url("/")).body(duet::Body::from_reader(failing, None)).send()).unwrap_err();
        assert!(err.is_body(), "{err}");
        assert_no_whole_request(&server);
    }

    fn a_stream_shorter_than_declared_is_a_body_error() {
        let server = Server::http(|_| Reply::ok(""));
        let short = duet::Body::from_reader(Cursor::new(vec![1u8; 10]), Some(20));
        let err = wait!(duet::Client::new().post(server.url("/")).body(short).send()).unwrap_err();
        assert!(err.is_body(), "{err}");
        assert_no_whole_request(&server);
    }

    fn urlencoded_forms() {
        let server = Server::http(|r| Reply::ok(format!("{}|{}", r.header_str("content-type").unwrap_or(""), r.body_str())));
        let response = wait!(duet::Client::new().post(server.url("/login")).form(&[("user", "ada"), ("next", "/a b&c"), ("user", "two")]).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "application/x-www-form-urlencoded|user=ada&next=%2Fa+b%26c&user=two");
    }

    fn multipart_with_fields_files_and_readers() {
        let server = Server::http(|_| Reply::ok(""));
        let (_dir, path) = temp_file(&format!("photo-{}.png", flavour!()), b"\x89PNG fake");
        let form = duet::multipart::Form::new()
            .text("title", "holiday")
            .text("tag", "sea")
            .text("tag", "sun")
            .file("photo", &path)
            .unwrap()
            .part("notes", duet::multipart::Part::bytes("line1\r\nline2").file_name("notes.txt").header("X-Part", "1").unwrap())
            .part("stream", duet::multipart::Part::reader(Cursor::new(b"streamed".to_vec()), Some(8)).mime("application/x-custom").unwrap());
        let expected_len = form.content_length();
        let boundary = form.boundary().to_owned();
        assert_ne!(boundary, duet::multipart::Form::new().boundary(), "a random boundary for each form");
        let response = wait!(duet::Client::new().post(server.url("/upload")).multipart(form).send()).unwrap();
        assert_eq!(response.status(), 200);
        let request = &server.requests()[0];
        let content_type = request.header_str("content-type").unwrap().to_owned();
        assert_eq!(content_type, format!("multipart/form-data; boundary={boundary}"));
        assert_eq!(expected_len, Some(request.body.len() as u64), "Content-Length matched the encoding");
        let got = parts(&content_type, &request.body);
        assert_eq!(got.len(), 6);
        assert_eq!(got[0], ("Content-Disposition: form-data; name=\"title\"".into(), b"holiday".to_vec()));
        assert_eq!(got[1].1, b"sea");
        assert_eq!(got[2].1, b"sun");
        assert!(got[3].0.contains(&format!("name=\"photo\"; filename=\"photo-{}.png\"", flavour!())), "{}", got[3].0);
        assert!(got[3].0.contains("Content-Type: image/png"), "{}", got[3].0);
        assert_eq!(got[3].1, b"\x89PNG fake");
        assert!(got[4].0.contains("filename=\"notes.txt\"") && got[4].0.contains("X-Part: 1"), "{}", got[4].0);
        assert_eq!(got[4].1, b"line1\r\nline2");
        assert!(got[5].0.contains("Content-Type: application/x-custom"));
        assert_eq!(got[5].1, b"streamed");
    }

    fn a_form_of_fields_and_files_is_sent_again_for_a_redirect_and_a_digest_round() {
        let (_dir, path) = temp_file("photo.png", b"\x89PNG fake");
        let form = || duet::multipart::Form::new().text("title", "holiday").file("photo", &path).unwrap();
        let server = Server::http(|r| match r.path() {
            "/old" => Reply::new(307).header("Location", "/new"),
            _ => Reply::ok(r.body.clone()),
        });
        let client = duet::Client::new();
        let response = wait!(client.post(server.url("/old")).multipart(form()).send()).unwrap();
        let received = wait!(response.bytes()).unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].body, requests[1].body, "the same form, boundary and all");
        assert_eq!(&received[..], &requests[0].body[..]);
        let content_type = requests[1].header_str("content-type").unwrap().to_owned();
        let got = parts(&content_type, &requests[1].body);
        assert_eq!((&got[0].1[..], &got[1].1[..]), (&b"holiday"[..], &b"\x89PNG fake"[..]));
        let digest = crate::auth::digest_server::start("MD5");
        let response = wait!(client.post(digest.url("/upload")).digest_auth(crate::auth::digest_server::USER, crate::auth::digest_server::PASSWORD).multipart(form()).send()).unwrap();
        assert!(wait!(response.text()).unwrap().starts_with("hello Mufasa"));
        // A reader part can be read only once.
        let with_reader = form().part("notes", duet::multipart::Part::reader(Cursor::new(b"once".to_vec()), Some(4)));
        let err = wait!(client.post(server.url("/old")).multipart(with_reader).send()).unwrap_err();
        assert!(err.is_redirect(), "{err}");
    }

    fn multipart_of_unknown_length_is_chunked() {
        let server = Server::http(|_| Reply::ok(""));
        let form = duet::multipart::Form::new().part("s", duet::multipart::Part::reader(Cursor::new(b"abc".to_vec()), None));
        assert_eq!(form.content_length(), None);
        wait!(duet::Client::new().post(server.url("/")).multipart(form).send()).unwrap();
        let request = &server.requests()[0];
        assert!(request.chunked);
        let got = parts(request.header_str("content-type").unwrap(), &request.body);
        assert_eq!(got[0].1, b"abc");
    }

    fn expect_continue_sends_the_body_after_100() {
        let server = Server::http(|r| Reply::ok(format!("{}", r.body.len())));
        let client = duet::Client::new();
        let response = wait!(client.put(server.url("/")).header("Expect", "100-continue").body(vec![1u8; 1000]).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "1000");
        assert!(server.requests()[0].expects_continue());
    }

    fn expect_continue_rejected_keeps_the_body_back() {
        let server = Server::http_with(Options::default().expect(Expect::Reject(417)), |_| Reply::ok("unreachable"));
        let response = wait!(duet::Client::new().put(server.url("/")).header("Expect", "100-continue").body(vec![1u8; 1000]).send()).unwrap();
        assert_eq!(response.status(), 417);
    }
}
