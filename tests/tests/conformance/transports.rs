//! Mounted transports: a mock, Unix sockets, record and replay.

use std::sync::Arc;

use duet_core::transport::{MockResponse, Recorder, Replayer};
use duet_tests::server::*;

/// A one-connection HTTP server on a Unix socket; returns its path. Without a `body`, it
/// reads the request and answers nothing for 3 s.
#[cfg(unix)]
fn unix_server(body: Option<&'static str>) -> std::path::PathBuf {
    use std::io::{Read, Write};
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("duet-{}-{n}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let Some(body) = body else {
            return std::thread::sleep(std::time::Duration::from_secs(3));
        };
        let head = String::from_utf8_lossy(&request)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        let reply = format!("{body} ({head})");
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
            reply.len()
        );
        stream.write_all(response.as_bytes()).unwrap();
    });
    path
}

/// A Unix socket server whose first connection answers `first`, then 10 ms later sends a
/// stray response and sets `sent` (and answers `reused` should a request come after it); its
/// second connection answers `fresh`. Returns its path.
#[cfg(unix)]
fn unix_server_with_a_stray_answer(sent: Arc<std::sync::atomic::AtomicBool>) -> std::path::PathBuf {
    use std::io::{Read, Write};
    let path = std::env::temp_dir().join(format!(
        "duet-stray-{}-{:?}.sock",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let answer = |text: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        )
    };
    let read_request = |stream: &mut std::os::unix::net::UnixStream| {
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return false,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    std::thread::spawn(move || {
        let (mut first, _) = listener.accept().unwrap();
        read_request(&mut first);
        first.write_all(answer("first").as_bytes()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10));
        first.write_all(answer("stray").as_bytes()).unwrap();
        sent.store(true, std::sync::atomic::Ordering::SeqCst);
        std::thread::spawn(move || {
            if read_request(&mut first) {
                let _ = first.write_all(answer("reused").as_bytes());
            }
        });
        if let Ok((mut second, _)) = listener.accept() {
            if read_request(&mut second) {
                let _ = second.write_all(answer("fresh").as_bytes());
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    });
    path
}

duet_tests::conformance! {
    fn what_a_custom_stream_holds_until_flushed_goes_before_the_answer_is_awaited() {
        use crate::custom_streams::{Behaviour, Custom};
        let server = Server::http(|r| match r.method.as_str() {
            "GET" => Reply::ok("ok"),
            _ => Reply::ok(r.body.clone()),
        });
        let client = duet::Client::builder()
            .mount("all://", <dyn duet::Transport>::custom(server.addr(), Behaviour::HeldUntilFlush))
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap();
        assert_eq!(wait!(wait!(client.get("http://any.test/").send()).unwrap().text()).unwrap(), "ok");
        let body = vec![b'x'; 300_000];
        let response = wait!(client.post("http://any.test/").body(body.clone()).send()).unwrap();
        assert!(wait!(response.bytes()).unwrap() == body);
    }

    fn a_custom_streams_failed_flush_is_the_requests_error_unless_the_server_is_gone() {
        use crate::custom_streams::{Behaviour, Custom};
        let server = Server::http(|r| Reply::ok(format!("answer to {}", r.body_str())));
        let client = |kind| {
            let transport = <dyn duet::Transport>::custom(server.addr(), Behaviour::FailsToFlush(kind));
            duet::Client::builder().mount("all://", transport).timeout(std::time::Duration::from_secs(5)).build().unwrap()
        };
        // A reset: what the stream still held can never reach the server, but what the
        // server sent before it went is read.
        let gone = client(std::io::ErrorKind::ConnectionReset);
        let response = wait!(gone.post("http://any.test/").body("this").send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "answer to this");
        // Any other failure of the stream is the request's.
        let broken = client(std::io::ErrorKind::Other);
        let err = wait!(broken.post("http://any.test/").body("this").send()).unwrap_err();
        assert!(err.is_io(), "{err:?}");
        assert!(err.to_string().contains("the flush failed"), "{err}");
    }

    fn a_mock_answers_mounted_urls_and_tcp_serves_the_rest() {
        let real = Server::http(|_| Reply::ok("real server"));
        let mock = duet::transports::MockTransport::new(|r| {
            let body = format!("mock {} {} {}", r.method, r.target, r.text().unwrap_or(""));
            MockResponse::new(201).header("X-Mock", "yes").unwrap().text(body)
        });
        assert_eq!(format!("{mock:?}"), "MockTransport");
        let mock = Arc::new(mock);
        let client = duet::Client::builder().mount("all://api.test", mock.clone()).build().unwrap();
        let response = wait!(client.post("https://api.test/items?x=1").body("payload").send()).unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.header("x-mock"), Some("yes"));
        assert_eq!(wait!(response.text()).unwrap(), "mock POST /items?x=1 payload");
        // A request that asks for 100 Continue gets it from the mock: its body goes at once,
        // not after a wait the client would give up on.
        let mut limits = duet::Limits::default();
        limits.expect_continue_timeout = std::time::Duration::from_secs(3600);
        let patient = duet::Client::builder().mount("all://api.test", mock).limits(limits).timeout(std::time::Duration::from_secs(5)).build().unwrap();
        let response = wait!(patient.put("https://api.test/up").header("Expect", "100-continue").body("later").send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "mock PUT /up later");
        assert_eq!(wait!(wait!(client.get(real.url("/")).send()).unwrap().text()).unwrap(), "real server");
        let err = duet::Client::builder().mount("not a pattern", Arc::new(duet::transports::MockTransport::new(|_| MockResponse::new(200)))).build().unwrap_err();
        assert!(err.is_invalid_url(), "{err}");
    }

    fn a_mounted_transport_is_not_reached_through_the_clients_proxy() {
        // As in httpx, a mount takes the URLs it matches away from proxy routing (a proxy
        // left in the environment, say): no absolute form, no CONNECT, no proxy credentials.
        let mock = duet::transports::MockTransport::new(|r| {
            let proxied = r.headers.contains("proxy-authorization");
            MockResponse::new(200).text(format!("{} {} {proxied}", r.method, r.target))
        });
        let refused = refused_addr();
        let client = duet::Client::builder()
            .proxy(&format!("http://u:p@{refused}"))
            .mount("all://api.test", Arc::new(mock))
            .build()
            .unwrap();
        for (url, expected) in [("http://api.test/items?x=1", "GET /items?x=1 false"), ("https://api.test/s", "GET /s false")] {
            let response = wait!(client.get(url).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), expected, "{url}");
        }
        // Other URLs still go to the proxy (here refused), and the error names it.
        let err = wait!(client.get("http://elsewhere.test/").send()).unwrap_err();
        assert!(err.is_connect(), "{err}");
        assert!(err.to_string().contains(&format!("connecting to the proxy http://{refused}")), "{err}");
    }

    fn unix_domain_sockets() {
        #[cfg(unix)]
        {
            let client = |path: &std::path::Path| {
                let unix = Arc::new(duet::transports::UnixSocket::new(path));
                duet::Client::builder().mount("http://local.test", unix).read_timeout(std::time::Duration::from_millis(200)).build().unwrap()
            };
            let path = unix_server(Some("over a unix socket"));
            let text = wait!(wait!(client(&path).get("http://local.test/version").send()).unwrap().text()).unwrap();
            assert_eq!(text, "over a unix socket (GET /version HTTP/1.1)");
            let _ = std::fs::remove_file(path);
            // The read timeout holds over a Unix socket too.
            let path = unix_server(None);
            let err = wait!(client(&path).get("http://local.test/").send()).unwrap_err();
            assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::ReadHead), "{err}");
            let _ = std::fs::remove_file(path);
        }
    }

    fn a_unix_socket_that_spoke_while_idle_is_not_reused() {
        // As over TCP: stray bytes after an answer are never read as the next one's.
        #[cfg(unix)]
        {
            let sent = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let path = unix_server_with_a_stray_answer(sent.clone());
            let unix = Arc::new(duet::transports::UnixSocket::new(&path));
            let client = duet::Client::builder().mount("http://local.test", unix).build().unwrap();
            assert_eq!(wait!(wait!(client.get("http://local.test/").send()).unwrap().text()).unwrap(), "first");
            while !sent.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
            assert_eq!(wait!(wait!(client.get("http://local.test/").send()).unwrap().text()).unwrap(), "fresh");
            let _ = std::fs::remove_file(path);
        }
    }

    fn a_recording_of_bodies_read_straight_into_the_callers_buffer_replays_byte_exact() {
        // Large enough that most of each body is read straight into the caller's buffer: a
        // chunked one with its framing in the same reads, a close-delimited one to the close.
        let body: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
        let chunks: Vec<Vec<u8>> = body.chunks(70_000).map(<[u8]>::to_vec).collect();
        let mut unframed = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        unframed.extend_from_slice(&body);
        let recorder = Recorder::new();
        let base = {
            let server = Server::http(move |r| match r.target.as_str() {
                "/chunked" => Reply::ok("").chunked(chunks.clone()),
                _ => Reply::raw(unframed.clone()).close(),
            });
            let client = duet::Client::builder().record(recorder.clone()).build().unwrap();
            for path in ["/chunked", "/close"] {
                assert_body_read_every_way!(client, server.url(path), body);
            }
            server.url("")
        };
        let replayer = Replayer::new(recorder.recording());
        let client = duet::Client::builder().mount("all://", Arc::new(duet::transports::ReplayTransport::new(replayer))).build().unwrap();
        for path in ["chunked", "close"] {
            assert_body_read_every_way!(client, format!("{base}{path}"), body);
        }
    }

    fn a_recording_replays_as_it_was_made_over_tls_and_a_servers_silence_as_a_timeout() {
        // Recorded above TLS, an https exchange replays with no handshake; a request the
        // server never answered replays unanswered, not as a close.
        let recorder = Recorder::new();
        let (secure, silent) = {
            let server = Server::https(Cert::Localhost, |r| Reply::ok(format!("secret {}", r.path())));
            let mute = Server::scripted(|conn| {
                conn.read_request();
                conn.sleep(std::time::Duration::from_millis(1000));
            });
            let client = duet::Client::builder().add_root_certificate_pem(duet_tests::tls::ca_pem()).resolve("localhost", duet_tests::tls::LOOPBACK).record(recorder.clone()).read_timeout(std::time::Duration::from_millis(200)).build().unwrap();
            assert_eq!(wait!(wait!(client.get(server.url("/s")).send()).unwrap().text()).unwrap(), "secret /s");
            let err = wait!(client.get(mute.url("/")).send()).unwrap_err();
            assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::ReadHead), "{err}");
            (server.url("/s"), mute.url("/"))
        };
        let replay = Arc::new(duet::transports::ReplayTransport::new(Replayer::new(recorder.recording())));
        let client = duet::Client::builder().mount("all://", replay).read_timeout(std::time::Duration::from_millis(200)).build().unwrap();
        assert_eq!(wait!(wait!(client.get(&secure).send()).unwrap().text()).unwrap(), "secret /s");
        let err = wait!(client.get(&silent).send()).unwrap_err();
        assert!(err.is_timeout(), "{err}");
    }

    fn a_recording_replays_without_the_server() {
        let recorder = Recorder::new();
        let recording = {
            let server = Server::http(|r| Reply::ok(format!("recorded {}", r.path())).header("Set-Cookie", "k=v"));
            let client = duet::Client::builder().record(recorder.clone()).user_agent("fixed").build().unwrap();
            for path in ["/a", "/b"] {
                wait!(wait!(client.get(server.url(path)).send()).unwrap().text()).unwrap();
            }
            (recorder.recording(), server.url(""))
        };
        let (recording, base) = recording;
        let json = recording.to_json();
        let replayer = Replayer::new(duet_core::transport::Recording::from_json(&json).unwrap());
        let client = duet::Client::builder().mount("all://", Arc::new(duet::transports::ReplayTransport::new(replayer))).user_agent("fixed").build().unwrap();
        for path in ["/a", "/b"] {
            let response = wait!(client.get(format!("{base}{}", &path[1..])).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), format!("recorded {path}"));
        }
        assert_eq!(client.cookies().unwrap().get("k").map(|c| c.value), Some("v".to_owned()));
        let other = duet::Client::builder().mount("all://", Arc::new(duet::transports::ReplayTransport::new(Replayer::new(recording)))).build().unwrap();
        let err = wait!(other.get(format!("{base}a")).send()).unwrap_err();
        assert!(err.to_string().contains("ismatch") || err.is_io() || err.is_protocol(), "a different request does not match: {err}");
    }
}
