//! Every error kind a caller can meet without a proxy, redirect or auth.

use duet_tests::server::*;

duet_tests::conformance! {
    fn a_refused_connection_is_a_connect_error() {
        let url = format!("http://{}/", refused_addr());
        let err = wait!(duet::get(url.as_str())).unwrap_err();
        assert!(err.is_connect(), "{err}");
        assert_eq!(err.url().map(|u| u.as_str()), Some(url.as_str()));
    }

    fn invalid_urls_are_refused_before_any_io() {
        for url in ["not a url", "ftp://127.0.0.1/", "http://", "file:///etc/hosts"] {
            let err = wait!(duet::get(url)).unwrap_err();
            assert!(err.is_invalid_url(), "{url}: {err}");
        }
    }

    fn invalid_headers_are_refused_before_any_byte() {
        let server = Server::http(|_| Reply::ok(""));
        let client = duet::Client::new();
        for (name, value) in [("X-Injected", "a\r\nEvil: 1"), ("X-Nul", "a\0b"), ("Bad Name", "v"), ("", "v")] {
            let err = wait!(client.get(server.url("/")).header(name, value).send()).unwrap_err();
            assert!(err.is_invalid_header(), "{name:?}: {err}");
        }
        assert_eq!(server.connections(), 0, "nothing was sent");
    }

    fn a_body_cut_short_is_a_protocol_error_with_numbers() {
        let server = Server::scripted(|conn| {
            conn.read_request();
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello");
            conn.close();
        });
        let response = wait!(duet::get(server.url("/"))).unwrap();
        let err = wait!(response.bytes()).unwrap_err();
        assert!(err.is_protocol(), "{err}");
        assert!(err.to_string().contains("received 5 of 100 bytes"), "{err}");
        let mut response = wait!(duet::get(server.url("/"))).unwrap();
        let err = duet::Error::from_io(read_all!(response).unwrap_err(), duet::TimeoutPhase::ReadBody);
        assert!(err.is_protocol(), "the kind survives the io traits: {err}");
    }

    fn hostile_responses_are_protocol_errors() {
        let cases: [&[u8]; 6] = [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"ICY 200 OK\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n b\r\nA: 1\r\n\r\n",
        ];
        for bytes in cases {
            let server = Server::scripted(move |conn| {
                conn.read_request();
                conn.write(bytes);
                conn.close();
            });
            let result = match wait!(duet::get(server.url("/"))) {
                Ok(response) => wait!(response.bytes()).map(|_| ()),
                Err(e) => Err(e),
            };
            let err = result.unwrap_err();
            assert!(err.is_protocol(), "{:?}: {err}", String::from_utf8_lossy(bytes));
        }
    }

    fn a_folded_header_is_unfolded_as_rfc_9112_asks_of_a_user_agent() {
        let server = Server::scripted(|conn| {
            conn.read_request();
            conn.write(b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok");
            conn.close();
        });
        let response = wait!(duet::get(server.url("/"))).unwrap();
        assert_eq!(response.headers().get_str("x-folded"), Some("a   b"));
        assert_eq!(wait!(response.text()).unwrap(), "ok");
    }

    fn a_server_that_closes_without_answering() {
        let server = Server::scripted(|conn| {
            conn.read_request();
            conn.close();
        });
        let err = wait!(duet::get(server.url("/"))).unwrap_err();
        assert!(err.is_protocol(), "{err}");
        assert!(err.to_string().contains("closed before the response"), "{err}");
    }

    fn a_huge_head_is_refused_at_the_limit() {
        let server = Server::scripted(|conn| {
            conn.read_request();
            let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..2000 {
                head.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "v".repeat(40)).as_bytes());
            }
            conn.write(&head);
            conn.close();
        });
        let err = wait!(duet::get(server.url("/"))).unwrap_err();
        assert!(err.is_protocol(), "{err}");
    }
}
