//! Requests and responses: metadata, wire format, query, methods, status errors, text.

use std::time::{Duration, Instant};

use duet_tests::server::*;

duet_tests::conformance! {
    fn a_get_returns_status_headers_body_and_metadata() {
        let server = Server::http(|_| Reply::ok("hello").header("X-Mixed-Case", "Yes").header("x-multi", "1").header("X-Multi", "2"));
        let response = wait!(duet::get(server.url("/path"))).unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), duet::Version::HTTP_11);
        assert_eq!(response.url().as_str(), server.url("/path"));
        assert_eq!(response.remote_addr(), Some(server.addr()));
        assert_eq!(response.content_length(), Some(5));
        assert_eq!(response.header("x-mixed-case"), Some("Yes"));
        let names: Vec<&str> = response.headers().iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"X-Mixed-Case"), "names keep the server's case: {names:?}");
        assert_eq!(response.headers().get_all("x-multi").count(), 2);
        let shown = format!("{response:?}");
        for part in [&*format!("url: \"{}\"", server.url("/path")), "status: 200", "version: HTTP/1.1", "X-Mixed-Case"] {
            assert!(shown.starts_with("Response {") && shown.contains(part), "{part} in {shown}");
        }
        assert_eq!(wait!(response.text()).unwrap(), "hello", "Debug reads none of the body");
    }

    fn elapsed_runs_from_the_start_to_the_final_head_across_redirects() {
        let server = Server::http(|r| match r.path() {
            "/first" => Reply::redirect(302, "/last").delay(Duration::from_millis(40)),
            _ => Reply::ok("done").delay(Duration::from_millis(40)),
        });
        let started = Instant::now();
        let response = wait!(duet::get(server.url("/first"))).unwrap();
        let elapsed = response.elapsed();
        assert!(elapsed >= Duration::from_millis(80), "both hops' waits are in it: {elapsed:?}");
        assert!(elapsed <= started.elapsed(), "{elapsed:?} is within the call");
        assert_eq!(wait!(response.text()).unwrap(), "done");
    }

    fn the_request_goes_out_host_first_with_defaults_and_caller_case() {
        let server = Server::http(|_| Reply::ok(""));
        let client = duet::Client::new();
        let response = wait!(client.get(server.url("/a?b=1")).header("X-Trace-ID", "t1").header("accept", "text/plain").send()).unwrap();
        assert_eq!(response.status(), 200);
        let request = &server.requests()[0];
        let head = String::from_utf8_lossy(request.raw_head()).into_owned();
        let expected_start = format!("GET /a?b=1 HTTP/1.1\r\nHost: {}\r\n", server.authority());
        assert!(head.starts_with(&expected_start), "{head}");
        assert!(head.contains("\r\nX-Trace-ID: t1\r\n"), "caller's case is kept: {head}");
        assert!(head.contains("\r\naccept: text/plain\r\n") && !head.contains("Accept: */*"), "{head}");
        assert!(head.contains(&format!("User-Agent: duet/{}", env!("CARGO_PKG_VERSION"))), "{head}");
        assert!(head.contains("Accept-Encoding: gzip, deflate"), "{head}");
    }

    fn a_request_can_leave_out_the_headers_duet_adds() {
        let server = Server::http(|r| match r.path() {
            "/login" => Reply::new(204).header("Set-Cookie", "session=s1; Path=/"),
            "/moved" => Reply::redirect(302, "/final"),
            _ => Reply::ok(""),
        });
        let client = duet::Client::builder().default_header("X-Team", "duet").build().unwrap();
        wait!(client.get(server.url("/login")).send()).unwrap();
        let request = client.get(server.url("/moved"))
            .header("X-Mine", "1")
            .without_header("user-agent")
            .without_header("Accept")
            .without_header("Accept-Encoding")
            .without_header("Cookie")
            .without_header("x-mine")
            .without_header("Referer")
            .header("X-Later", "kept")
            .build()
            .unwrap();
        assert_eq!(request.omitted_headers(), ["user-agent", "accept", "accept-encoding", "cookie", "x-mine", "referer"]);
        assert_eq!(wait!(client.execute(request)).unwrap().status(), 200);
        let requests = server.requests();
        for hop in &requests[1..] {
            let names: Vec<String> = hop.headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
            assert_eq!(names, ["host", "x-team", "x-later"], "{} on every hop", hop.target);
        }
        assert_eq!(requests.len(), 3);
        // The next request has them all again.
        wait!(client.get(server.url("/again")).send()).unwrap();
        let last = server.requests().pop().unwrap();
        for name in ["user-agent", "accept", "accept-encoding", "cookie", "x-team"] {
            assert!(last.header_str(name).is_some(), "{name}");
        }
        for needed in ["Host", "content-length", "Transfer-Encoding", "Authorization", "Proxy-Authorization", "bad name"] {
            let err = wait!(client.post(server.url("/")).body("x").without_header(needed).send()).unwrap_err();
            assert!(err.is_invalid_header(), "{needed}: {err}");
        }
        assert_eq!(server.requests().len(), 4, "nothing sent for those");
    }

    fn query_parameters_keep_repeats_and_existing_ones() {
        let server = Server::http(|r| Reply::ok(r.target.clone()));
        let client = duet::Client::new();
        let response = wait!(client.get(server.url("/s?x=0")).query(&[("tag", "a b"), ("tag", "c&d"), ("q", "é")]).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "/s?x=0&tag=a+b&tag=c%26d&q=%C3%A9");
    }

    fn every_method_shortcut() {
        let server = Server::http(|r| Reply::ok(r.method.clone()));
        let client = duet::Client::new();
        for (builder, method) in [
            (client.get(server.url("/")), "GET"),
            (client.post(server.url("/")), "POST"),
            (client.put(server.url("/")), "PUT"),
            (client.patch(server.url("/")), "PATCH"),
            (client.delete(server.url("/")), "DELETE"),
            (client.options(server.url("/")), "OPTIONS"),
            (client.request(duet::Method::from_bytes(b"PROPFIND").unwrap(), server.url("/")), "PROPFIND"),
        ] {
            assert_eq!(wait!(wait!(builder.send()).unwrap().text()).unwrap(), method);
        }
        let head = wait!(client.head(server.url("/")).send()).unwrap();
        assert_eq!(head.content_length(), Some(0), "HEAD has no body");
        assert!(wait!(head.bytes()).unwrap().is_empty());
        assert_eq!(wait!(duet::post(server.url("/")).send()).unwrap().status(), 200);
    }

    fn no_content_and_not_modified_have_no_body() {
        let server = Server::http(|r| if r.path() == "/204" { Reply::new(204) } else { Reply::new(304).header("ETag", "\"x\"") });
        let client = duet::Client::new();
        for path in ["/204", "/304", "/204"] {
            let response = wait!(client.get(server.url(path)).send()).unwrap();
            assert!(wait!(response.bytes()).unwrap().is_empty());
        }
        assert_eq!(server.connections(), 1, "bodiless responses keep the connection");
    }

    fn error_for_status_is_a_typed_status_error() {
        let server = Server::http(|r| Reply::new(r.path()[1..].parse().unwrap()));
        let client = duet::Client::new();
        let ok = wait!(client.get(server.url("/204")).send()).unwrap();
        assert!(ok.error_for_status().is_ok());
        for code in [404u16, 503] {
            let response = wait!(client.get(server.url(&format!("/{code}"))).send()).unwrap();
            let err = response.error_for_status().unwrap_err();
            assert!(err.is_status());
            assert_eq!(err.status().map(|s| s.as_u16()), Some(code));
            assert_eq!(err.url().map(|u| u.as_str()), Some(server.url(&format!("/{code}")).as_str()));
        }
    }

    fn text_is_decoded_by_the_content_type_charset() {
        let server = Server::http(|r| match r.path() {
            "/latin1" => Reply::ok(b"caf\xe9".to_vec()).header("Content-Type", "text/plain; charset=ISO-8859-1"),
            "/bom" => Reply::ok(b"\xef\xbb\xbfcaf\xc3\xa9".to_vec()).header("Content-Type", "text/plain; charset=latin1"),
            "/sjis" => Reply::ok(b"\x93\xfa\x96\x7b".to_vec()).header("Content-Type", "text/plain; charset=\"Shift_JIS\""),
            _ => Reply::ok(b"caf\xc3\xa9 \xff".to_vec()),
        });
        let client = duet::Client::new();
        let text = |path: &str| server.url(path);
        assert_eq!(wait!(wait!(client.get(text("/latin1")).send()).unwrap().text()).unwrap(), "café");
        assert_eq!(wait!(wait!(client.get(text("/bom")).send()).unwrap().text()).unwrap(), "café");
        let sjis = wait!(client.get(text("/sjis")).send()).unwrap();
        assert_eq!(sjis.charset().as_deref(), Some("Shift_JIS"), "as given, unquoted");
        assert_eq!(wait!(sjis.text()).unwrap(), "日本");
        assert_eq!(wait!(client.get(text("/utf8")).send()).unwrap().charset(), None);
        assert_eq!(wait!(wait!(client.get(text("/utf8")).send()).unwrap().text()).unwrap(), "café \u{fffd}");
    }

    fn a_default_charset_applies_where_the_response_names_none() {
        let server = Server::http(|r| match r.path() {
            "/unnamed" => Reply::ok(b"\x93\xfa\x96\x7b".to_vec()).header("Content-Type", "text/plain"),
            "/named" => Reply::ok(b"caf\xe9".to_vec()).header("Content-Type", "text/plain; charset=latin1"),
            _ => Reply::ok(b"\xef\xbb\xbfcaf\xc3\xa9".to_vec()),
        });
        let client = duet::Client::new();
        // The default fills in only where Content-Type names no charset; a BOM still wins.
        for (path, expected) in [("/unnamed", "日本"), ("/named", "café"), ("/bom", "café")] {
            let response = wait!(client.get(server.url(path)).send()).unwrap();
            assert_eq!(wait!(response.text_with_charset("shift_jis")).unwrap(), expected, "{path}");
        }
        let response = wait!(client.get(server.url("/unnamed")).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "\u{fffd}\u{fffd}\u{fffd}{", "UTF-8 without a default");
    }

    fn json_in_and_out() {
        let server = Server::http(|r| {
            assert_eq!(r.header_str("content-type"), Some("application/json"));
            let value: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            Reply::new(200).json(&serde_json::json!({"got": value}))
        });
        let client = duet::Client::new();
        let response = wait!(client.post(server.url("/")).json(&serde_json::json!({"a": [1, 2]})).send()).unwrap();
        let value: serde_json::Value = wait!(response.json()).unwrap();
        assert_eq!(value, serde_json::json!({"got": {"a": [1, 2]}}));
        let bad = Server::http(|_| Reply::ok("{not json"));
        let err = wait!(wait!(client.get(bad.url("/")).send()).unwrap().json::<serde_json::Value>()).unwrap_err();
        assert!(err.is_decode(), "{err}");
    }

    fn json_with_a_bom_or_in_utf16_is_parsed_as_requests_and_httpx_do() {
        let utf16le: Vec<u8> = "{\"é\": [1]}".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let server = Server::http(move |r| match r.path() {
            "/bom" => Reply::ok(&b"\xef\xbb\xbf{\"\xc3\xa9\": [1]}"[..]),
            "/utf16" => Reply::ok([&b"\xfe\xff"[..], &"{\"é\": [1]}".encode_utf16().flat_map(u16::to_be_bytes).collect::<Vec<u8>>()].concat()),
            _ => Reply::ok(utf16le.clone()),
        });
        let client = duet::Client::new();
        for path in ["/bom", "/utf16", "/utf16-no-bom"] {
            let response = wait!(client.get(server.url(path)).send()).unwrap();
            let value: serde_json::Value = wait!(response.json()).unwrap();
            assert_eq!(value, serde_json::json!({"é": [1]}), "{path}");
        }
    }

    fn a_request_can_be_built_inspected_and_executed() {
        let server = Server::http(|r| Reply::ok(r.body.clone()));
        let client = duet::Client::new();
        let mut request = client.post(server.url("/x")).header("X-A", "1").body("payload").build().unwrap();
        assert_eq!(request.method(), &duet::Method::POST);
        assert_eq!(request.url().path(), "/x");
        assert_eq!(request.headers().get_str("x-a"), Some("1"));
        assert_eq!(request.body().as_bytes(), Some(&b"payload"[..]));
        request.headers_mut().append("X-B", "2").unwrap();
        let response = wait!(client.execute(request)).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "payload");
        assert_eq!(server.requests()[0].header_str("x-b"), Some("2"));
    }

    fn changing_a_built_requests_url_leaves_other_requests_to_it_alone() {
        // A string URL parsed a moment ago is handed out again, shared: changing one
        // request's copy must not reach the next request made from the same string.
        let server = Server::http(|r| Reply::ok(r.target.clone()));
        let client = duet::Client::new();
        let url = server.url("/a?x=1");
        let mut changed = client.get(url.as_str()).build().unwrap();
        changed.url_mut().set_path("/b");
        let same = client.get(url.as_str()).query(&[("y", "2")]).build().unwrap();
        let again = client.get(url.as_str()).build().unwrap();
        assert_eq!((changed.url().path(), changed.url().query()), ("/b", Some("x=1")));
        assert_eq!(same.url().query(), Some("x=1&y=2"));
        assert_eq!((again.url().path(), again.url().query()), ("/a", Some("x=1")));
        for (request, target) in [(changed, "/b?x=1"), (same, "/a?x=1&y=2"), (again, "/a?x=1")] {
            let response = wait!(client.execute(request)).unwrap();
            assert_eq!(response.url().as_str(), server.url(target));
            assert_eq!(wait!(response.text()).unwrap(), target);
        }
    }

    fn trailers_are_available_after_the_body() {
        let server = Server::http(|_| Reply::new(200).chunked(vec![b"ab".to_vec(), b"cd".to_vec()]).trailer("X-Checksum", "42"));
        let mut response = wait!(duet::get(server.url("/"))).unwrap();
        assert!(response.trailers().is_none());
        let body = read_all!(response).unwrap();
        assert_eq!(body, b"abcd");
        assert_eq!(response.trailers().and_then(|t| t.get_str("x-checksum")), Some("42"));
    }

    fn bodies_stream_as_chunks_and_lines() {
        let server = Server::http(|r| match r.path() {
            "/lines" => Reply::new(200).header("Content-Type", "text/plain; charset=latin1").chunked(vec![b"first\r\nsec".to_vec(), b"ond\n\xe9t\xe9\nlast".to_vec()]),
            _ => Reply::ok(vec![b'z'; 100_000]),
        });
        let client = duet::Client::new();
        let mut lines = wait!(client.get(server.url("/lines")).send()).unwrap().lines();
        let mut got = Vec::new();
        while let Some(line) = next!(lines) {
            got.push(line.unwrap());
        }
        assert_eq!(got, ["first", "second", "été", "last"]);
        let mut chunks = wait!(client.get(server.url("/big")).send()).unwrap().chunks(4096);
        let mut total = 0;
        while let Some(chunk) = next!(chunks) {
            let chunk = chunk.unwrap();
            assert!(!chunk.is_empty() && chunk.len() <= 4096);
            total += chunk.len();
        }
        assert_eq!(total, 100_000);
    }
}
