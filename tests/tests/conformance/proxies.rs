//! Proxies: forward (absolute form), CONNECT tunnels, authenticating and refusing proxies,
//! SOCKS5, per-request overrides. Every proxy and origin runs on 127.0.0.1.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};

use duet_core::auth::basic_header;
use duet_tests::server::*;
use duet_tests::tls;

/// An HTTP proxy that opens CONNECT tunnels; `credentials` (user, password) are required when
/// given. It records each CONNECT request it saw.
fn connect_proxy(
    credentials: Option<(&'static str, &'static str)>,
) -> (Server, Arc<Mutex<Vec<Request>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    (
        Server::scripted(connect_script(credentials, seen.clone())),
        seen,
    )
}

/// [`connect_proxy`] reached over TLS (an HTTPS proxy), without credentials.
fn https_connect_proxy() -> (Server, Arc<Mutex<Vec<Request>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    (
        Server::scripted_tls(Cert::Localhost, connect_script(None, seen.clone())),
        seen,
    )
}

/// `builder` trusting the test CA, through the HTTPS proxy `proxy`.
fn via_https_proxy<D: duet_core::client::Driver>(
    builder: duet_core::client::ClientBuilder<D>,
    proxy: &Server,
) -> duet_core::client::ClientBuilder<D> {
    builder
        .add_root_certificate_pem(tls::ca_pem())
        .resolve("localhost", tls::LOOPBACK)
        .proxy(&format!("https://localhost:{}", proxy.port()))
}

/// Answers a CONNECT to `target` with 200 and relays bytes both ways (IPv4 only).
fn open_tunnel(conn: &mut ScriptConn, target: &str) {
    let upstream: SocketAddr = target
        .to_socket_addrs()
        .unwrap()
        .find(SocketAddr::is_ipv4)
        .unwrap();
    conn.write(b"HTTP/1.1 200 Connection established\r\n\r\n");
    conn.tunnel(upstream);
}

/// The script of [`connect_proxy`], logging each request to `log`.
fn connect_script(
    credentials: Option<(&'static str, &'static str)>,
    log: Arc<Mutex<Vec<Request>>>,
) -> impl Fn(&mut ScriptConn) + Send + Sync + 'static {
    move |conn| {
        let Some(request) = conn.read_head_only() else {
            return;
        };
        log.lock().unwrap().push(request.clone());
        if let Some((user, password)) = credentials
            && request.header_str("proxy-authorization")
                != Some(basic_header(user, password).as_str())
        {
            conn.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        if request.method != "CONNECT" {
            conn.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        open_tunnel(conn, &request.target);
    }
}

/// A SOCKS5 proxy (no authentication) relaying to the requested target; records the target.
fn socks_proxy() -> (Server, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let server = Server::scripted(move |conn| {
        let greeting = conn.read_some();
        if greeting.first() != Some(&5) {
            return;
        }
        conn.write(&[5, 0]);
        let request = conn.read_some();
        let (host, rest) = match request.get(3) {
            Some(1) => (
                request[4..8]
                    .iter()
                    .map(u8::to_string)
                    .collect::<Vec<_>>()
                    .join("."),
                &request[8..],
            ),
            Some(3) => {
                let len = request[4] as usize;
                (
                    String::from_utf8_lossy(&request[5..5 + len]).into_owned(),
                    &request[5 + len..],
                )
            }
            _ => return,
        };
        let port = u16::from_be_bytes([rest[0], rest[1]]);
        log.lock().unwrap().push(format!("{host}:{port}"));
        let upstream = (host.as_str(), port)
            .to_socket_addrs()
            .unwrap()
            .find(SocketAddr::is_ipv4)
            .unwrap();
        conn.write(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]);
        conn.tunnel(upstream);
    });
    (server, seen)
}

fn proxy_url(server: &Server, credentials: &str) -> String {
    format!("http://{credentials}{}", server.addr())
}

duet_tests::conformance! {
    fn a_forward_proxy_gets_absolute_form_and_its_own_credentials() {
        let origin = Server::http(|_| Reply::ok("origin must not be reached"));
        let proxy = Server::http(|r| Reply::ok(format!("via proxy: {}", r.target)));
        let client = duet::Client::builder().proxy(&proxy_url(&proxy, "pu:pp@")).build().unwrap();
        let response = wait!(client.get(origin.url("/x?y=1")).header("Authorization", "Bearer origin").send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), format!("via proxy: {}", origin.url("/x?y=1")));
        let seen = &proxy.requests()[0];
        assert_eq!(seen.header_str("proxy-authorization"), Some(basic_header("pu", "pp").as_str()));
        assert_eq!(seen.header_str("host"), Some(origin.authority().as_str()));
        assert!(origin.requests().is_empty());
    }

    fn https_goes_through_a_connect_tunnel_with_end_to_end_tls() {
        let origin = Server::https(Cert::Localhost, |r| Reply::ok(format!("secure {}", r.header_str("authorization").unwrap_or("-"))));
        let (proxy, seen) = connect_proxy(None);
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).proxy(&proxy_url(&proxy, "")).build().unwrap();
        for _ in 0..2 {
            let response = wait!(client.get(origin.url("/")).header("Authorization", "Bearer origin-only").send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), "secure Bearer origin-only");
        }
        let connects = seen.lock().unwrap().clone();
        assert_eq!(connects.len(), 1, "the tunnel was reused");
        let connect = &connects[0];
        assert_eq!(connect.method, "CONNECT");
        assert_eq!(connect.target, origin.authority());
        let names: Vec<String> = connect.headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        assert_eq!(names, ["host"], "no origin header goes on CONNECT");
        assert_eq!(origin.requests()[0].tls.as_ref().unwrap().sni.as_deref(), Some("localhost"), "TLS to the origin's name");
    }

    fn https_goes_through_a_tunnel_in_an_https_proxy_with_tls_in_tls() {
        // TLS to the proxy, and inside its tunnel TLS to the origin: each verified, each with
        // its own name; the tunnel is reused, and large bodies cross it whole both ways.
        let origin = Server::https(Cert::Localhost, |r| match r.target.as_str() {
            "/echo" => Reply::ok(r.body.clone()),
            _ => Reply::ok("secure inside"),
        });
        let (proxy, seen) = https_connect_proxy();
        let client = via_https_proxy(duet::Client::builder(), &proxy).build().unwrap();
        for _ in 0..2 {
            assert_eq!(wait!(wait!(client.get(origin.url("/")).send()).unwrap().text()).unwrap(), "secure inside");
        }
        let body: Vec<u8> = (0..3_000_001u32).map(|i| (i % 253) as u8).collect();
        let response = wait!(client.post(origin.url("/echo")).body(body.clone()).send()).unwrap();
        assert!(wait!(response.bytes()).unwrap() == body);
        let connects = seen.lock().unwrap().clone();
        assert_eq!(connects.len(), 1, "the tunnel was reused");
        assert_eq!(connects[0].target, origin.authority());
        // Through a small send buffer, most writes take only part of what the two layers
        // hold: the bytes still arrive whole and in order.
        let narrow = via_https_proxy(duet::Client::builder().tcp_send_buffer_size(4096), &proxy).build().unwrap();
        let response = wait!(narrow.post(origin.url("/echo")).body(body.clone()).send()).unwrap();
        assert!(wait!(response.bytes()).unwrap() == body);
        assert_eq!(proxy.requests()[0].tls.as_ref().unwrap().sni.as_deref(), Some("localhost"));
        assert_eq!(origin.requests()[0].tls.as_ref().unwrap().sni.as_deref(), Some("localhost"));
        let untrusting = duet::Client::builder().resolve("localhost", tls::LOOPBACK).proxy(&format!("https://localhost:{}", proxy.port())).build().unwrap();
        assert!(wait!(untrusting.get(origin.url("/")).send()).unwrap_err().is_tls(), "the proxy's certificate is verified");
    }

    fn an_early_answer_is_heard_through_the_tunnel_of_an_https_proxy() {
        // As a server answering midway and reading no more is heard while sending, with TLS
        // inside TLS: the client listens on the socket under both layers. The origin keeps
        // the connection open; the proxy gives up on a silent tunnel only after 10 s, which
        // would deliver the answer too (after a reset), so the time taken tells them apart.
        let origin = Server::scripted_tls(Cert::Localhost, |conn| {
            if conn.read_head_only().is_none() {
                return;
            }
            conn.write(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!");
            conn.sleep(std::time::Duration::from_secs(60));
        });
        let (proxy, _) = https_connect_proxy();
        let client = via_https_proxy(duet::Client::builder().write_timeout(std::time::Duration::from_secs(3)), &proxy).build().unwrap();
        let started = std::time::Instant::now();
        let response = wait!(client.put(origin.url("/up")).body(vec![b'x'; 32 << 20]).send()).unwrap();
        assert_eq!(response.status(), 413);
        assert_eq!(wait!(response.text()).unwrap(), "too big!");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    }

    fn an_origin_that_stops_reading_behind_an_https_proxy_is_a_write_timeout_on_time() {
        // TLS inside TLS: the write timeout holds for the whole wait, not per system call of
        // each layer (where a timed-out wait that had taken some bytes started another).
        let origin = Server::scripted_tls(Cert::Localhost, |conn| {
            conn.read_head_only();
            conn.sleep(std::time::Duration::from_secs(60));
        });
        let (proxy, _) = https_connect_proxy();
        let client = via_https_proxy(duet::Client::builder().write_timeout(std::time::Duration::from_millis(500)), &proxy).build().unwrap();
        let started = std::time::Instant::now();
        let err = wait!(client.put(origin.url("/up")).body(vec![b'x'; 64 << 20]).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Write), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(4), "took {:?}", started.elapsed());
    }

    fn an_authenticating_proxy_gets_credentials_only_on_connect() {
        let origin = Server::https(Cert::Localhost, |r| Reply::ok(if r.has_header("proxy-authorization") { "leaked" } else { "clean" }));
        let (proxy, _) = connect_proxy(Some(("user", "p@ss")));
        let anonymous = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).proxy(&proxy_url(&proxy, "")).build().unwrap();
        let err = wait!(anonymous.get(origin.url("/")).send()).unwrap_err();
        assert!(err.is_proxy(), "{err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(407));
        let authed = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).proxy(&proxy_url(&proxy, "user:p%40ss@")).build().unwrap();
        assert_eq!(wait!(wait!(authed.get(origin.url("/")).send()).unwrap().text()).unwrap(), "clean");
    }

    fn a_refused_tunnel_is_a_proxy_error_with_its_status() {
        let origin = Server::https(Cert::Localhost, |_| Reply::ok(""));
        let proxy = Server::scripted(|conn| {
            conn.read_head_only();
            conn.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nno way");
        });
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).proxy(&proxy_url(&proxy, "")).build().unwrap();
        let err = wait!(client.get(origin.url("/")).send()).unwrap_err();
        assert!(err.is_proxy(), "{err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
        assert!(origin.requests().is_empty());
    }

    fn socks5h_lets_the_proxy_resolve_and_socks5_resolves_locally() {
        let origin = Server::http(|r| Reply::ok(format!("hello {}", r.path())));
        let (proxy, seen) = socks_proxy();
        let url = origin.url("/s").replacen("127.0.0.1", "localhost", 1);
        let remote = duet::Client::builder().proxy(&format!("socks5h://{}", proxy.addr())).build().unwrap();
        assert_eq!(wait!(wait!(remote.get(&url).send()).unwrap().text()).unwrap(), "hello /s");
        let local = duet::Client::builder().proxy(&format!("socks5://{}", proxy.addr())).build().unwrap();
        assert_eq!(wait!(wait!(local.get(&url).send()).unwrap().text()).unwrap(), "hello /s");
        let targets = seen.lock().unwrap().clone();
        assert_eq!(targets, [format!("localhost:{}", origin.port()), format!("127.0.0.1:{}", origin.port())]);
    }

    fn socks5_gives_the_proxy_the_address_the_clients_own_resolver_found() {
        let origin = Server::http(|r| Reply::ok(format!("hello {}", r.path())));
        let (proxy, seen) = socks_proxy();
        let table = crate::resolvers::Table::default().loopback("origin.test");
        let client = duet::Client::builder()
            .proxy(&format!("socks5://{}", proxy.addr()))
            .dns_resolver(Arc::new(table.clone()))
            .build()
            .unwrap();
        let url = format!("http://origin.test:{}/s", origin.port());
        assert_eq!(wait!(wait!(client.get(&url).send()).unwrap().text()).unwrap(), "hello /s");
        assert_eq!(*seen.lock().unwrap(), [format!("127.0.0.1:{}", origin.port())]);
        assert_eq!(table.asked(), ["origin.test"]);
    }

    fn socks5_tunnels_https_too() {
        let origin = Server::https(Cert::Localhost, |_| Reply::ok("secure via socks"));
        let (proxy, _) = socks_proxy();
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).proxy(&format!("socks5h://{}", proxy.addr())).build().unwrap();
        assert_eq!(wait!(wait!(client.get(origin.url("/")).send()).unwrap().text()).unwrap(), "secure via socks");
    }

    fn an_https_proxy_is_reached_over_verified_tls() {
        let origin = Server::http(|_| Reply::ok("origin must not be reached"));
        let proxy = Server::https(Cert::Localhost, |r| Reply::ok(format!("tls proxy saw {}", r.target)));
        let proxy_url = format!("https://localhost:{}", proxy.port());
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).proxy(&proxy_url).build().unwrap();
        let response = wait!(client.get(origin.url("/t")).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), format!("tls proxy saw {}", origin.url("/t")));
        assert_eq!(proxy.requests()[0].tls.as_ref().unwrap().sni.as_deref(), Some("localhost"));
        let untrusting = duet::Client::builder().resolve("localhost", tls::LOOPBACK).proxy(&proxy_url).build().unwrap();
        assert!(wait!(untrusting.get(origin.url("/t")).send()).unwrap_err().is_tls(), "the proxy's certificate is verified");
    }

    fn a_request_can_skip_or_choose_the_proxy() {
        let origin = Server::http(|_| Reply::ok("direct"));
        let proxy = Server::http(|_| Reply::ok("proxied"));
        let client = duet::Client::builder().proxy(&proxy_url(&proxy, "")).build().unwrap();
        assert_eq!(wait!(wait!(client.get(origin.url("/")).no_proxy().send()).unwrap().text()).unwrap(), "direct");
        let direct = duet::Client::builder().no_proxy().build().unwrap();
        let chosen = duet_core::proxy::Proxy::parse(&proxy_url(&proxy, "")).unwrap();
        assert_eq!(wait!(wait!(direct.get(origin.url("/")).proxy(chosen).send()).unwrap().text()).unwrap(), "proxied");
        let err = duet::Client::builder().proxy("ftp://nope").build().unwrap_err();
        assert!(err.is_proxy(), "{err}");
    }
}

/// A challenge/response scheme for proxies: `Token nonce=N` answered with `Token answer-N`.
#[derive(Debug, Clone)]
struct TokenScheme;

impl duet_core::auth::AuthFlow for TokenScheme {
    fn authorize(
        &mut self,
        _: &mut duet_core::auth::AuthRequest<'_>,
    ) -> Result<(), duet_core::auth::AuthError> {
        Ok(())
    }

    fn respond(
        &mut self,
        request: &mut duet_core::auth::AuthRequest<'_>,
        response: &duet_core::auth::AuthResponse<'_>,
    ) -> Result<duet_core::auth::AuthStep, duet_core::auth::AuthError> {
        let Some(nonce) = response
            .headers
            .get_str("www-authenticate")
            .and_then(|c| c.strip_prefix("Token nonce="))
        else {
            return Ok(duet_core::auth::AuthStep::Done);
        };
        request
            .headers
            .insert("Authorization", format!("Token answer-{nonce}"))
            .unwrap();
        Ok(duet_core::auth::AuthStep::Retry)
    }
}

impl duet_core::auth::Auth for TokenScheme {
    fn flow(&self, _: &duet_core::Url) -> Option<Box<dyn duet_core::auth::AuthFlow>> {
        Some(Box::new(TokenScheme))
    }
}

const CHALLENGE: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Token nonce=n42\r\nContent-Length: 9\r\n\r\nneed auth";

/// Answers 407 until a CONNECT carries the right answer, on the same connection, then tunnels.
fn challenging_connect_proxy() -> Server {
    Server::scripted(|conn| {
        while let Some(request) = conn.read_head_only() {
            if request.header_str("proxy-authorization") != Some("Token answer-n42") {
                conn.write(CHALLENGE);
                continue;
            }
            open_tunnel(conn, &request.target);
            return;
        }
    })
}

/// Answers the first CONNECT with a 407 and closes the connection, as many proxies do; a
/// CONNECT with the right answer on a later connection is tunnelled.
fn closing_challenging_connect_proxy() -> Server {
    Server::scripted(|conn| {
        let Some(request) = conn.read_head_only() else {
            return;
        };
        if request.header_str("proxy-authorization") != Some("Token answer-n42") {
            conn.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Token nonce=n42\r\nConnection: close\r\nContent-Length: 9\r\n\r\nneed auth");
            conn.close();
            return;
        }
        open_tunnel(conn, &request.target);
    })
}

mod proxy_authentication {
    use super::*;

    duet_tests::conformance! {
        fn a_connect_proxy_that_closes_after_its_407_gets_the_answer_on_a_new_connection() {
            duet_tests::logs::capture();
            let origin = Server::https(Cert::Localhost, |_| Reply::ok("tunnelled"));
            let proxy = closing_challenging_connect_proxy();
            let client = duet::Client::builder()
                .add_root_certificate_pem(tls::ca_pem())
                .resolve("localhost", tls::LOOPBACK)
                .proxy(&proxy_url(&proxy, ""))
                .proxy_auth(TokenScheme)
                .build()
                .unwrap();
            assert_eq!(wait!(wait!(client.get(origin.url("/")).send()).unwrap().text()).unwrap(), "tunnelled");
            assert_eq!(proxy.connections(), 2, "the answer went on a new connection");
            let records = duet_tests::logs::records_with(&origin.addr().port().to_string());
            assert!(records.iter().any(|r| r.contains("the proxy closed the connection after its 407")), "{records:#?}");
            // A second request reuses the tunnel: no CONNECT at all.
            assert_eq!(wait!(wait!(client.get(origin.url("/")).send()).unwrap().text()).unwrap(), "tunnelled");
            assert_eq!(proxy.connections(), 2);
        }

        fn a_connect_proxy_challenge_is_answered_by_the_auth_engine() {
            let origin = Server::https(Cert::Localhost, |r| Reply::ok(if r.has_header("proxy-authorization") { "leaked" } else { "tunnelled" }));
            let proxy = challenging_connect_proxy();
            let client = duet::Client::builder()
                .add_root_certificate_pem(tls::ca_pem())
                .resolve("localhost", tls::LOOPBACK)
                .proxy(&proxy_url(&proxy, ""))
                .proxy_auth(TokenScheme)
                .build()
                .unwrap();
            assert_eq!(wait!(wait!(client.get(origin.url("/")).send()).unwrap().text()).unwrap(), "tunnelled");
            assert_eq!(proxy.connections(), 1, "the second CONNECT used the same connection");
            let without = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).proxy(&proxy_url(&proxy, "")).build().unwrap();
            let err = wait!(without.get(origin.url("/")).send()).unwrap_err();
            assert_eq!(err.status().map(|s| s.as_u16()), Some(407));
        }

        fn a_forward_proxy_challenge_is_answered_too() {
            let origin = Server::http(|_| Reply::ok("origin must not be reached"));
            let proxy = Server::http(|r| match r.header_str("proxy-authorization") {
                Some("Token answer-n42") => Reply::ok(format!("proxied {}", r.target)),
                _ => Reply::raw(CHALLENGE),
            });
            let client = duet::Client::builder().proxy(&proxy_url(&proxy, "")).proxy_auth(TokenScheme).build().unwrap();
            let response = wait!(client.get(origin.url("/p")).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), format!("proxied {}", origin.url("/p")));
            assert_eq!(proxy.requests().len(), 2);
            assert!(origin.requests().is_empty());
        }

        fn a_forward_proxy_asking_for_digest_auth_int_gets_the_body_hashed() {
            use crate::auth::digest_server::{hex_md5, params};
            let origin = Server::http(|_| Reply::ok("origin must not be reached"));
            let proxy = Server::http(|r| {
                let challenge = Reply::new(407).header("Proxy-Authenticate", r#"Digest realm="p", nonce="n7", qop="auth-int", algorithm=MD5"#);
                let Some(answer) = r.header_str("proxy-authorization") else {
                    return challenge;
                };
                let p = params(answer);
                let get = |k: &str| p.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.as_str());
                let ha1 = hex_md5(b"pu:p:pp");
                let ha2 = hex_md5(format!("{}:{}:{}", r.method, get("uri"), hex_md5(&r.body)).as_bytes());
                let expected = hex_md5(format!("{ha1}:n7:{}:{}:auth-int:{ha2}", get("nc"), get("cnonce")).as_bytes());
                match get("qop") == "auth-int" && get("response") == expected {
                    true => Reply::ok(format!("proxied {} bytes", r.body.len())),
                    false => challenge,
                }
            });
            let digest = duet::core::auth::DigestAuth::new("pu", "pp", duet::core::auth::CnonceSource::from_bytes(|| [3u8; 16]));
            let client = duet::Client::builder().proxy(&proxy_url(&proxy, "")).proxy_auth(digest).build().unwrap();
            for body in ["", "twelve bytes"] {
                let response = wait!(client.post(origin.url("/p")).body(body).send()).unwrap();
                assert_eq!(wait!(response.text()).unwrap(), format!("proxied {} bytes", body.len()));
            }
            // A streamed body is read into memory first when the proxy's credentials prefer
            // integrity, as the origin's do.
            let digest = duet::core::auth::DigestAuth::new("pu", "pp", duet::core::auth::CnonceSource::from_bytes(|| [3u8; 16])).prefer_integrity(true);
            let client = duet::Client::builder().proxy(&proxy_url(&proxy, "")).proxy_auth(digest).build().unwrap();
            let stream = duet::Body::from_reader(std::io::Cursor::new(b"streamed".to_vec()), None);
            let response = wait!(client.post(origin.url("/p")).body(stream).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), "proxied 8 bytes");
            assert!(origin.requests().is_empty());
        }

        fn a_large_stream_through_a_challenging_forward_proxy_goes_once_with_the_answer() {
            // As squid does: a request without credentials is refused at once and the
            // connection closed, unread body and all; the answer goes on a new connection,
            // which gets `100 Continue` and the body.
            let heads = Arc::new(Mutex::new(Vec::new()));
            let seen = heads.clone();
            let proxy = Server::scripted(move |conn| {
                let Some(mut head) = conn.read_head_only() else { return };
                let answer = head.header_str("proxy-authorization").map(str::to_owned);
                seen.lock().unwrap().push((answer.clone(), head.header_str("expect").map(str::to_owned)));
                if answer.as_deref() != Some("Token answer-n42") {
                    conn.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Token nonce=n42\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
                    conn.close();
                    return;
                }
                if conn.write(b"HTTP/1.1 100 Continue\r\n\r\n") && conn.read_body(&mut head) {
                    conn.send(&Reply::ok(format!("proxied {} bytes", head.body.len())));
                }
            });
            let origin = Server::http(|_| Reply::ok("origin must not be reached"));
            let client = duet::Client::builder().proxy(&proxy_url(&proxy, "")).proxy_auth(TokenScheme).build().unwrap();
            let size = 2 * 1024 * 1024;
            let stream = duet::Body::from_reader(std::io::Cursor::new(vec![7u8; size]), Some(size as u64));
            let response = wait!(client.put(origin.url("/up")).body(stream).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), format!("proxied {size} bytes"));
            let expect = Some("100-continue".to_owned());
            assert_eq!(heads.lock().unwrap().clone(), [(None, expect.clone()), (Some("Token answer-n42".to_owned()), expect)]);
            assert!(origin.requests().is_empty());
        }

        fn a_digest_challenge_to_connect_is_answered_for_the_authority_not_the_hidden_path() {
            use crate::auth::digest_server::{hex_md5, params};
            duet_tests::logs::capture();
            let origin = Server::https(Cert::Localhost, |r| Reply::ok(format!("tunnelled to {}", r.target)));
            let answers = Arc::new(Mutex::new(Vec::new()));
            let seen = answers.clone();
            // Checks the answer as a proxy would: the `uri` is the CONNECT's own target, and
            // the hash is over it.
            let proxy = Server::scripted(move |conn| {
                while let Some(request) = conn.read_head_only() {
                    let answer = request.header_str("proxy-authorization").unwrap_or("").to_owned();
                    let p = params(&answer);
                    let get = |k: &str| p.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.as_str());
                    let ha1 = hex_md5(b"pu:p:pp");
                    let ha2 = hex_md5(format!("CONNECT:{}", get("uri")).as_bytes());
                    let expected = hex_md5(format!("{ha1}:n9:{}:{}:auth:{ha2}", get("nc"), get("cnonce")).as_bytes());
                    seen.lock().unwrap().push(answer.clone());
                    if get("uri") != request.target || get("response") != expected {
                        conn.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Digest realm=\"p\", nonce=\"n9\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n");
                        continue;
                    }
                    open_tunnel(conn, &request.target);
                    return;
                }
            });
            let digest = duet::core::auth::DigestAuth::new("pu", "pp", duet::core::auth::CnonceSource::from_bytes(|| [5u8; 16]));
            let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).proxy(&proxy_url(&proxy, "")).proxy_auth(digest).build().unwrap();
            let response = wait!(client.get(origin.url("/private?token=s3cret")).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), "tunnelled to /private?token=s3cret");
            let answers = answers.lock().unwrap();
            assert_eq!(answers.len(), 2, "the challenge, then the answer: {answers:?}");
            assert!(answers[1].contains(&format!("uri=\"localhost:{}\"", origin.addr().port())), "{}", answers[1]);
            assert!(!answers.iter().any(|a| a.contains("private") || a.contains("s3cret")), "{answers:?}");
            // `-v` shows the tunnel's round, as curl does.
            let records = duet_tests::logs::records_with(&origin.addr().port().to_string());
            let url = origin.url("/private?token=s3cret");
            for line in [
                format!("DEBUG GET {url}: the proxy asked for credentials for the tunnel (407)"),
                format!("DEBUG GET {url}: the proxy opened a tunnel to https://localhost:{}", origin.addr().port()),
            ] {
                assert!(records.iter().any(|r| r.starts_with(&line)), "{line:?} missing in {records:#?}");
            }
        }
    }
}
