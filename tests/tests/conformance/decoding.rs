//! Content decoding: every coding, stacked codings, the size bound, and turning it off.

use duet_tests::codec::{deflate, deflate_raw, gzip};
use duet_tests::server::*;

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = ::brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        std::io::Write::write_all(&mut writer, data).unwrap();
    }
    out
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ::zstd::encode_all(data, 3).unwrap()
}

fn encoded(r: &Request) -> Reply {
    let text = b"the quick brown fox jumps over the lazy dog ".repeat(100);
    let (coding, body) = match r.path() {
        "/gzip" => ("gzip", gzip(&text)),
        "/deflate" => ("deflate", deflate(&text)),
        "/deflate-raw" => ("deflate", deflate_raw(&text)),
        "/br" => ("br", brotli(&text)),
        "/zstd" => ("zstd", zstd(&text)),
        "/stacked" => ("gzip, br", brotli(&gzip(&text))),
        "/corrupt" => ("gzip", b"\x1f\x8b\x08\x00garbage".to_vec()),
        "/bomb" => ("gzip", gzip(&vec![0u8; 5_000_000])),
        _ => ("identity", text.clone()),
    };
    if r.path() == "/chunked" {
        let gz = gzip(&text);
        return Reply::new(200)
            .header("Content-Encoding", "gzip")
            .chunked(gz.chunks(100).map(<[u8]>::to_vec).collect());
    }
    Reply::ok(body).header("Content-Encoding", coding)
}

fn expected() -> String {
    "the quick brown fox jumps over the lazy dog ".repeat(100)
}

duet_tests::conformance! {
    fn every_supported_coding_is_decoded() {
        let server = Server::http(encoded);
        let client = duet::Client::new();
        for path in ["/gzip", "/deflate", "/deflate-raw", "/br", "/zstd", "/stacked", "/chunked", "/plain"] {
            let response = wait!(client.get(server.url(path)).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), expected(), "{path}");
        }
        let head = String::from_utf8_lossy(server.requests()[0].raw_head()).into_owned();
        assert!(head.contains("Accept-Encoding: gzip, deflate, br, zstd\r\n"), "{head}");
    }

    fn a_gzip_transfer_coding_is_decoded_never_handed_over_coded() {
        let text = expected();
        let coded = gzip(&deflate(text.as_bytes()));
        let chunks: Vec<&[u8]> = coded.chunks(100).collect();
        let chunked = [&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Encoding: deflate\r\n\r\n"[..], &duet_tests::codec::chunked(&chunks)].concat();
        let to_the_close = [&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Encoding: deflate\r\nConnection: close\r\n\r\n"[..], &coded].concat();
        for raw in [chunked, to_the_close] {
            let server = Server::http(move |_| Reply::raw(raw.clone()).close());
            let response = wait!(duet::get(server.url("/"))).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), text);
        }
    }

    fn decoding_can_be_turned_off() {
        let server = Server::http(encoded);
        let client = duet::Client::builder().decompress(false).build().unwrap();
        let raw = wait!(wait!(client.get(server.url("/gzip")).send()).unwrap().bytes()).unwrap();
        assert_eq!(raw, gzip(expected().as_bytes()));
        assert!(!server.requests()[0].has_header("accept-encoding"));
    }

    fn a_request_for_a_range_asks_for_no_coding() {
        // A range of a gzip body cannot be decoded alone, and a server compressing on the fly
        // answers a range with the whole body: so a Range goes without Accept-Encoding.
        let server = Server::http(|r| match (r.header_str("range"), r.has_header("accept-encoding")) {
            (Some("bytes=2-"), false) => Reply::new(206).header("Content-Range", "bytes 2-4/5").body("llo"),
            (Some(_), true) => Reply::ok("hello"),
            _ => encoded(r),
        });
        let client = duet::Client::new();
        let response = wait!(client.get(server.url("/gzip")).header("Range", "bytes=2-").send()).unwrap();
        assert_eq!(response.status(), 206);
        assert_eq!(wait!(response.text()).unwrap(), "llo");
        // A caller's own Accept-Encoding still goes, and other requests still ask for codings.
        let response = wait!(client.get(server.url("/gzip")).header("Range", "bytes=2-").header("Accept-Encoding", "gzip").send()).unwrap();
        assert_eq!(response.status(), 200);
        let response = wait!(client.get(server.url("/gzip")).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), expected());
    }

    fn corrupt_and_oversized_bodies_are_decode_errors() {
        let server = Server::http(encoded);
        let client = duet::Client::new();
        let err = wait!(wait!(client.get(server.url("/corrupt")).send()).unwrap().text()).unwrap_err();
        assert!(err.is_decode(), "{err}");
        let mut limits = duet::Limits::default();
        limits.max_decoded_body_bytes = 1_000_000;
        let client = duet::Client::builder().limits(limits).build().unwrap();
        let err = wait!(wait!(client.get(server.url("/bomb")).send()).unwrap().bytes()).unwrap_err();
        assert!(err.is_decode(), "{err}");
        assert!(err.to_string().contains("1000000"), "{err}");
    }

    fn the_error_kind_survives_reading_through_the_io_traits() {
        let server = Server::http(encoded);
        let mut response = wait!(duet::get(server.url("/corrupt"))).unwrap();
        let io_error = read_all!(response).unwrap_err();
        let err = duet::Error::from_io(io_error, duet::TimeoutPhase::ReadBody);
        assert!(err.is_decode(), "{err}");
    }

    fn a_body_in_a_coding_the_client_cannot_undo_is_handed_over_as_it_came() {
        // As requests, httpx and reqwest do: a misconfigured server's `utf-8`, a coding duet
        // does not know, or a known one applied before it (undoing goes in reverse) leave the
        // body as it came, and the header says what it is.
        let gzipped = gzip(b"inside");
        let server = Server::http(move |r| match r.target.as_str() {
            "/utf-8" => Reply::ok("plain words").header("Content-Encoding", "utf-8"),
            "/custom" => Reply::ok("custom bytes").header("Content-Encoding", "x-custom"),
            _ => Reply::ok(gzipped.clone()).header("Content-Encoding", "gzip, x-custom"),
        });
        let client = duet::Client::new();
        for (path, coding, body) in [("/utf-8", "utf-8", b"plain words".to_vec()), ("/custom", "x-custom", b"custom bytes".to_vec()), ("/stacked", "gzip, x-custom", gzip(b"inside"))] {
            let response = wait!(client.get(server.url(path)).send()).unwrap();
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(response.header("content-encoding"), Some(coding), "{path}");
            assert!(wait!(response.bytes()).unwrap() == body, "{path}");
        }
    }

    fn head_responses_with_an_encoding_are_fine() {
        let server = Server::http(|_| Reply::new(200).header("Content-Encoding", "gzip").header("Content-Length", "1234"));
        let response = wait!(duet::head(server.url("/"))).unwrap();
        assert!(wait!(response.bytes()).unwrap().is_empty());
    }
}
