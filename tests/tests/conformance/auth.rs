//! Authentication against in-process servers, for both clients.

use std::sync::Arc;

use duet_core::auth::{Auth, BasicAuth, basic_header};
use duet_tests::server::*;

/// A server that wants `expected` in Authorization and says 401 otherwise.
fn guarded(expected: String) -> Server {
    Server::http(move |r| match r.header_str("authorization") {
        Some(got) if got == expected => Reply::ok(format!("welcome {}", r.path())),
        _ => Reply::new(401)
            .header("WWW-Authenticate", "Basic realm=\"duet\"")
            .body("who are you?"),
    })
}

/// An authenticator with no I/O of its own, to show the driver trait end to end.
#[derive(Debug)]
struct FromEnvironmentLikeSource(&'static str);

impl duet_blocking::Authenticate for FromEnvironmentLikeSource {
    fn authenticate(&self, _url: &duet_core::Url) -> Result<Arc<dyn Auth>, duet_blocking::Error> {
        Ok(Arc::new(duet_core::auth::BearerAuth::new(self.0).unwrap()))
    }
}

#[duet_async::async_trait]
impl duet_async::Authenticate for FromEnvironmentLikeSource {
    async fn authenticate(
        &self,
        _url: &duet_core::Url,
    ) -> Result<Arc<dyn Auth>, duet_async::Error> {
        Ok(Arc::new(duet_core::auth::BearerAuth::new(self.0).unwrap()))
    }
}

duet_tests::conformance! {
    fn basic_per_client_per_request_and_from_the_url() {
        let server = guarded(basic_header("ada", "pw ü"));
        let client = duet::Client::builder().basic_auth("ada", "pw ü").build().unwrap();
        assert_eq!(wait!(wait!(client.get(server.url("/c")).send()).unwrap().text()).unwrap(), "welcome /c");
        let plain = duet::Client::new();
        assert_eq!(wait!(plain.get(server.url("/r")).basic_auth("ada", "pw ü").send()).unwrap().status(), 200);
        let with_userinfo = server.url("/u").replacen("http://", "http://ada:pw%20%C3%BC@", 1);
        assert_eq!(wait!(plain.get(with_userinfo).send()).unwrap().status(), 200);
        let head = String::from_utf8_lossy(server.requests()[2].raw_head()).into_owned();
        assert!(!head.contains("ada:") && head.starts_with("GET /u HTTP/1.1\r\n"), "userinfo never reaches the wire: {head}");
    }

    fn wrong_credentials_give_the_401_and_its_body() {
        let server = guarded(basic_header("ada", "right"));
        let response = wait!(duet::Client::new().get(server.url("/")).basic_auth("ada", "wrong").send()).unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.header("www-authenticate"), Some("Basic realm=\"duet\""));
        assert_eq!(wait!(response.text()).unwrap(), "who are you?");
        assert_eq!(server.requests().len(), 1, "Basic does not retry");
    }

    fn bearer_and_bad_credentials() {
        let server = guarded("Bearer t0k3n".into());
        let client = duet::Client::builder().bearer_auth("t0k3n").build().unwrap();
        assert_eq!(wait!(client.get(server.url("/")).send()).unwrap().status(), 200);
        let err = wait!(duet::Client::new().get(server.url("/")).bearer_auth("a\r\nInjected: yes").send()).unwrap_err();
        assert!(err.is_auth(), "{err}");
        let err = duet::Client::builder().basic_auth("a:b", "c").build().unwrap_err();
        assert!(err.is_auth(), "{err}");
        assert_eq!(server.requests().len(), 1, "nothing was sent for the bad ones");
    }

    fn an_authenticator_with_its_own_io_runs_per_request() {
        let server = guarded("Bearer from-source".into());
        let client = duet::Client::builder().authenticator(Arc::new(FromEnvironmentLikeSource("from-source"))).build().unwrap();
        assert_eq!(wait!(client.get(server.url("/")).send()).unwrap().status(), 200);
        let overridden = wait!(client.get(server.url("/")).bearer_auth("other").send()).unwrap();
        assert_eq!(overridden.status(), 401, "a request's own auth wins over the authenticator");
    }

    fn credentials_do_not_follow_a_redirect_to_another_origin() {
        let other = Server::http(|r| Reply::ok(if r.has_header("authorization") { "leaked" } else { "clean" }));
        let target = other.url("/");
        let server = Server::http(move |r| match r.header_str("authorization") {
            Some(_) => Reply::new(302).header("Location", target.clone()),
            None => Reply::new(401),
        });
        let client = duet::Client::builder().basic_auth("ada", "pw").build().unwrap();
        assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "clean");
    }

    fn the_pure_auth_trait_is_the_same_type_for_both_clients() {
        let server = guarded(basic_header("x", "y"));
        let auth = BasicAuth::new("x", "y").unwrap();
        let response = wait!(duet::Client::new().get(server.url("/")).auth(auth).send()).unwrap();
        assert_eq!(response.status(), 200);
    }
}

pub(crate) mod digest_server {
    //! A server that verifies Digest responses itself (RFC 7616 §3.4.1), MD5 or SHA-256.
    use std::sync::atomic::{AtomicUsize, Ordering};

    use duet_tests::server::*;
    use md5::{Digest, Md5};

    pub const USER: &str = "Mufasa";
    pub const PASSWORD: &str = "Circle of Life";
    pub const REALM: &str = "duet@example.test";

    pub fn hex_md5(s: &[u8]) -> String {
        Md5::digest(s).iter().map(|b| format!("{b:02x}")).collect()
    }

    fn hex_sha256(s: &[u8]) -> String {
        sha2::Sha256::digest(s)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn hex_sha512(s: &[u8]) -> String {
        sha2::Sha512::digest(s)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The `name="value"` / `name=value` parameters of a Digest credentials header.
    pub fn params(header: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut rest = header.trim_start_matches("Digest").trim();
        while let Some(eq) = rest.find('=') {
            let name = rest[..eq]
                .trim()
                .trim_start_matches(',')
                .trim()
                .to_ascii_lowercase();
            let after = &rest[eq + 1..];
            let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"').unwrap_or(quoted.len());
                (
                    quoted[..end].to_owned(),
                    &quoted[(end + 1).min(quoted.len())..],
                )
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            };
            out.push((name, value));
            rest = next.trim_start_matches(',').trim();
        }
        out
    }

    /// Starts the server; `algorithm` is "MD5" or "SHA-256". Each 401 carries a fresh nonce.
    pub fn start(algorithm: &'static str) -> Server {
        start_with(algorithm, "auth")
    }

    /// [`start`] offering `qop` ("auth", "auth-int", which hashes the body in, or both);
    /// `algorithm` may be "SHA-512" too.
    pub fn start_with(algorithm: &'static str, qop: &'static str) -> Server {
        let nonces = AtomicUsize::new(0);
        Server::http(move |r| {
            let challenge = || {
                let nonce = format!("n{}", nonces.fetch_add(1, Ordering::Relaxed));
                let header = format!(
                    "Digest realm=\"{REALM}\", qop=\"{qop}\", algorithm={algorithm}, nonce=\"{nonce}\", opaque=\"op\""
                );
                Reply::new(401)
                    .header("WWW-Authenticate", header)
                    .body("challenge")
            };
            let Some(header) = r.header_str("authorization") else {
                return challenge();
            };
            let p = params(header);
            let get = |k: &str| {
                p.iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("")
            };
            let hb = |s: &[u8]| match algorithm {
                "MD5" => hex_md5(s),
                "SHA-512" => hex_sha512(s),
                _ => hex_sha256(s),
            };
            let h = |s: &str| hb(s.as_bytes());
            let ha1 = h(&format!("{}:{REALM}:{PASSWORD}", get("username")));
            let ha2 = match get("qop") {
                "auth-int" => h(&format!("{}:{}:{}", r.method, get("uri"), hb(&r.body))),
                _ => h(&format!("{}:{}", r.method, get("uri"))),
            };
            let expected = h(&format!(
                "{ha1}:{}:{}:{}:{}:{ha2}",
                get("nonce"),
                get("nc"),
                get("cnonce"),
                get("qop")
            ));
            let ok = get("username") == USER
                && qop.split(',').any(|offered| offered == get("qop"))
                && get("response") == expected
                && get("uri") == r.target
                && get("opaque") == "op";
            if ok {
                Reply::ok(format!(
                    "hello {} ({} bytes)",
                    get("username"),
                    r.body.len()
                ))
            } else {
                challenge()
            }
        })
    }
}

/// A connection-bound handshake (NTLM's shape): round two must arrive on the connection that
/// got the challenge.
#[derive(Debug, Clone)]
struct Handshake;

impl duet_core::auth::AuthFlow for Handshake {
    fn authorize(
        &mut self,
        request: &mut duet_core::auth::AuthRequest<'_>,
    ) -> Result<(), duet_core::auth::AuthError> {
        request
            .headers
            .insert("Authorization", "Handshake hello")
            .unwrap();
        Ok(())
    }

    fn respond(
        &mut self,
        request: &mut duet_core::auth::AuthRequest<'_>,
        response: &duet_core::auth::AuthResponse<'_>,
    ) -> Result<duet_core::auth::AuthStep, duet_core::auth::AuthError> {
        match response.headers.get_str("www-authenticate") {
            Some(challenge) if response.status == 401 => {
                let token = challenge.trim_start_matches("Handshake ").to_owned();
                request
                    .headers
                    .insert("Authorization", format!("Handshake answer-{token}"))
                    .unwrap();
                Ok(duet_core::auth::AuthStep::Retry)
            }
            _ => Ok(duet_core::auth::AuthStep::Done),
        }
    }

    fn same_connection(&self) -> bool {
        true
    }
}

impl Auth for Handshake {
    fn flow(&self, _url: &duet_core::Url) -> Option<Box<dyn duet_core::auth::AuthFlow>> {
        Some(Box::new(Handshake))
    }
}

/// A netrc file, removed when the returned path is dropped.
fn netrc_file(contents: &str) -> tempfile::TempPath {
    let mut file = tempfile::Builder::new()
        .prefix("duet-netrc-")
        .tempfile()
        .unwrap();
    std::io::Write::write_all(&mut file, contents.as_bytes()).unwrap();
    file.into_temp_path()
}

/// Digest, netrc, OAuth 1.0a and connection-bound schemes.
mod schemes {
    use super::*;

    duet_tests::conformance! {
        fn digest_answers_the_challenge_and_reuses_it() {
            for algorithm in ["MD5", "SHA-256"] {
                let server = digest_server::start(algorithm);
                let client = duet::Client::builder().digest_auth(digest_server::USER, digest_server::PASSWORD).build().unwrap();
                let response = wait!(client.get(server.url("/dir/index.html")).send()).unwrap();
                assert_eq!(wait!(response.text()).unwrap(), "hello Mufasa (0 bytes)", "{algorithm}");
                let response = wait!(client.get(server.url("/again")).send()).unwrap();
                assert_eq!(response.status(), 200);
                let requests = server.requests();
                assert_eq!(requests.len(), 3, "{algorithm}: the second request was answered without a new 401");
                assert!(requests[2].header_str("authorization").unwrap().contains("nc=00000002"), "the nonce count went up");
                assert_eq!(server.connections(), 1, "the rounds shared the connection");
                // A new client nonce each time, from the system's randomness (RFC 7616 §5.12).
                let cnonce = |i: usize| digest_server::params(requests[i].header_str("authorization").unwrap()).into_iter().find(|(n, _)| n == "cnonce").unwrap().1;
                let (first, second) = (cnonce(1), cnonce(2));
                assert!(first.len() == 32 && first.bytes().all(|b| b.is_ascii_hexdigit()), "{first}");
                assert_ne!(first, second);
            }
        }

        /// A server that opens a session with its challenge gets the session's cookie with the
        /// answer, as requests and httpx send it.
        fn a_cookie_the_challenge_set_goes_with_the_answer() {
            let server = Server::http(|r| match (r.header_str("authorization"), r.header_str("cookie")) {
                (None, _) => Reply::new(401)
                    .header("WWW-Authenticate", "Digest realm=\"duet\", qop=\"auth\", nonce=\"n0\"")
                    .header("Set-Cookie", "sid=7; Path=/")
                    .body("challenge"),
                (Some(_), Some("sid=7")) => Reply::ok("in"),
                (Some(_), _) => Reply::new(403).body("no session"),
            });
            let client = duet::Client::builder().digest_auth("u", "p").build().unwrap();
            let response = wait!(client.get(server.url("/")).send()).unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(server.requests().len(), 2);
        }

        fn digest_auth_int_hashes_the_body_even_an_empty_one() {
            // A server offering only auth-int: a GET has an empty body to hash, not a body
            // that cannot be read twice. SHA-512 is beyond RFC 7616 but offered by servers
            // (httpbin) and answered by requests and httpx.
            for algorithm in ["MD5", "SHA-512"] {
                let server = digest_server::start_with(algorithm, "auth-int");
                let client = duet::Client::builder().digest_auth(digest_server::USER, digest_server::PASSWORD).build().unwrap();
                let response = wait!(client.get(server.url("/nothing")).send()).unwrap();
                assert_eq!(wait!(response.text()).unwrap(), "hello Mufasa (0 bytes)", "{algorithm}");
                let response = wait!(client.post(server.url("/upload")).body("twelve bytes").send()).unwrap();
                assert_eq!(wait!(response.text()).unwrap(), "hello Mufasa (12 bytes)", "{algorithm}");
                let sent = server.requests()[1].header_str("authorization").unwrap().to_owned();
                assert!(sent.contains("qop=auth-int") && sent.contains(&format!("algorithm={algorithm},")), "{sent}");
            }
            // Offered both, auth-int when preferred: a stream is read into memory first.
            let server = digest_server::start_with("SHA-256", "auth,auth-int");
            let digest = duet::core::auth::DigestAuth::new(digest_server::USER, digest_server::PASSWORD, duet::core::auth::CnonceSource::from_bytes(|| [7u8; 16])).prefer_integrity(true);
            let client = duet::Client::builder().auth(digest).build().unwrap();
            let stream = duet::Body::from_reader(std::io::Cursor::new(b"streamed".to_vec()), None);
            let response = wait!(client.post(server.url("/upload")).body(stream).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), "hello Mufasa (8 bytes)");
            assert!(server.requests()[1].header_str("authorization").unwrap().contains("qop=auth-int"));
        }

        fn a_large_upload_with_digest_asks_for_100_continue_so_the_401_comes_before_the_body() {
            // As squid does: a request without credentials is refused at once and the
            // connection closed, unread body and all. The answer goes on a new connection.
            let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let seen = heads.clone();
            let server = Server::scripted(move |conn| {
                let Some(head) = conn.read_head_only() else { return };
                let expect = head.header_str("expect").map(str::to_owned);
                seen.lock().unwrap().push((head.header_str("authorization").is_some(), expect));
                if !head.header_str("authorization").is_some_and(|a| a.starts_with("Digest ")) {
                    conn.write(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
                    conn.close();
                    return;
                }
                conn.write(b"HTTP/1.1 100 Continue\r\n\r\n");
                let declared: usize = head.header_str("content-length").unwrap().parse().unwrap();
                let mut body = Vec::new();
                while body.len() < declared {
                    let more = conn.read_some();
                    if more.is_empty() { break }
                    body.extend(more);
                }
                conn.send(&Reply::ok(format!("got {} bytes", body.len())));
            });
            let client = duet::Client::builder().digest_auth("u", "p").build().unwrap();
            let body = vec![7u8; 2 * 1024 * 1024];
            let response = wait!(client.put(server.url("/upload")).body(body).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), format!("got {} bytes", 2 * 1024 * 1024));
            let expect = Some("100-continue".to_owned());
            assert_eq!(heads.lock().unwrap().clone(), [(false, expect.clone()), (true, expect)]);
            // Credentials that answer at once (the cached challenge here) go without it.
            let again = wait!(client.put(server.url("/upload")).body(vec![7u8; 2 * 1024 * 1024]).send()).unwrap();
            assert_eq!(wait!(again.text()).unwrap(), format!("got {} bytes", 2 * 1024 * 1024));
            assert_eq!(heads.lock().unwrap().last().unwrap(), &(true, None));
            // A stream, read once, goes too: none of it was sent before the 401.
            let fresh = duet::Client::builder().digest_auth("u", "p").build().unwrap();
            let stream = duet::Body::from_reader(std::io::Cursor::new(vec![7u8; 2 * 1024 * 1024]), Some(2 * 1024 * 1024));
            let response = wait!(fresh.put(server.url("/upload")).body(stream).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), format!("got {} bytes", 2 * 1024 * 1024));
        }

        fn a_server_refusing_the_100_continue_gets_the_request_again_without_it() {
            let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let seen = heads.clone();
            let server = Server::scripted(move |conn| {
                while let Some(head) = conn.read_head_only() {
                    let expect = head.header_str("expect").map(str::to_owned);
                    let authorized = head.header_str("authorization").is_some();
                    seen.lock().unwrap().push((authorized, expect.clone()));
                    if expect.is_some() {
                        conn.write(b"HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
                        conn.close();
                        return;
                    }
                    let declared: usize = head.header_str("content-length").unwrap().parse().unwrap();
                    let mut body = Vec::new();
                    while body.len() < declared {
                        let more = conn.read_some();
                        if more.is_empty() { return }
                        body.extend(more);
                    }
                    match authorized {
                        false => conn.send(&Reply::new(401).header("WWW-Authenticate", r#"Digest realm="r", nonce="n1", qop="auth""#)),
                        true => conn.send(&Reply::ok(format!("got {} bytes", body.len()))),
                    };
                }
            });
            let client = duet::Client::builder().digest_auth("u", "p").build().unwrap();
            let response = wait!(client.put(server.url("/upload")).body(vec![7u8; 2 * 1024 * 1024]).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), format!("got {} bytes", 2 * 1024 * 1024));
            let expect = Some("100-continue".to_owned());
            assert_eq!(heads.lock().unwrap().clone(), [(false, expect), (false, None), (true, None)]);

            // Left out (curl's -H 'Expect:'), the body goes with the first request and with the answer.
            let plain = duet::Client::builder().digest_auth("u", "p").build().unwrap();
            let before = heads.lock().unwrap().len();
            let response = wait!(plain.put(server.url("/upload")).body(vec![7u8; 2 * 1024 * 1024]).without_header("Expect").send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), format!("got {} bytes", 2 * 1024 * 1024));
            assert_eq!(heads.lock().unwrap()[before..], [(false, None), (true, None)]);
        }

        fn digest_with_a_wrong_password_retries_once_then_gives_the_401() {
            let server = digest_server::start("MD5");
            let client = duet::Client::new();
            let response = wait!(client.get(server.url("/")).digest_auth(digest_server::USER, "wrong").send()).unwrap();
            assert_eq!(response.status(), 401);
            assert_eq!(server.requests().len(), 2);
        }

        fn digest_on_a_post_replays_a_body_in_memory_but_not_a_stream() {
            let server = digest_server::start("SHA-256");
            let client = duet::Client::builder().digest_auth(digest_server::USER, digest_server::PASSWORD).build().unwrap();
            let response = wait!(client.post(server.url("/upload")).body("twelve bytes").send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), "hello Mufasa (12 bytes)");
            let fresh = duet::Client::new();
            let stream = duet::Body::from_reader(std::io::Cursor::new(b"streamed".to_vec()), None);
            let err = wait!(fresh.post(server.url("/upload")).digest_auth(digest_server::USER, digest_server::PASSWORD).body(stream).send()).unwrap_err();
            assert!(err.is_auth(), "{err}");
        }

        fn a_connection_bound_handshake_keeps_its_connection() {
            let server = Server::http(|r| match r.header_str("authorization") {
                Some("Handshake hello") => Reply::new(401).header("WWW-Authenticate", format!("Handshake c{}", r.conn)),
                Some(answer) if answer == format!("Handshake answer-c{}", r.conn) => Reply::ok("bound"),
                _ => Reply::new(403).body("wrong connection"),
            });
            let response = wait!(duet::Client::new().get(server.url("/")).auth(Handshake).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), "bound");
            assert_eq!(server.connections(), 1);
        }

        fn netrc_credentials_are_looked_up_per_host_on_every_hop() {
            let second = Server::http(|r| Reply::ok(r.header_str("authorization").unwrap_or("none").to_owned()));
            let target = second.url_ip("/");
            let first = Server::https(duet_tests::server::Cert::Localhost, move |r| {
                assert!(r.has_header("authorization"), "localhost gets its own credentials");
                Reply::new(302).header("Location", target.clone())
            });
            let path = netrc_file("machine localhost login local password one\n# comment\nmachine 127.0.0.1 login ip password two\n");
            let client = duet::Client::builder()
                .add_root_certificate_pem(duet_tests::tls::ca_pem())
                .resolve("localhost", duet_tests::tls::LOOPBACK)
                .netrc(Some(path.to_path_buf()))
                .build()
                .unwrap();
            let response = wait!(client.get(first.url("/")).send()).unwrap();
            assert_eq!(wait!(response.text()).unwrap(), basic_header("ip", "two"), "127.0.0.1 answered with its own entry");
            assert_eq!(first.requests()[0].header_str("authorization"), Some(basic_header("local", "one").as_str()));
            let broken = netrc_file("machine a.test login\n");
            let err = duet::Client::builder().netrc(Some(broken.to_path_buf())).build().unwrap_err();
            assert!(err.is_auth() && err.to_string().contains("line"), "{err}");
            let missing = duet::Client::builder().netrc(Some(path.with_extension("missing"))).build().unwrap_err();
            assert!(missing.is_auth(), "{missing}");
        }

        fn oauth1_signs_form_bodies() {
            let server = Server::http(|r| Reply::ok(r.header_str("authorization").unwrap_or("").to_owned()));
            let signing = duet::oauth1("consumer", "secret").token("token", "token-secret");
            let response = wait!(duet::Client::new().post(server.url("/photos?size=original")).form(&[("title", "a b")]).auth(signing).send()).unwrap();
            let header = wait!(response.text()).unwrap();
            for part in ["OAuth ", "oauth_consumer_key=\"consumer\"", "oauth_token=\"token\"", "oauth_signature_method=\"HMAC-SHA1\"", "oauth_signature=\""] {
                assert!(header.contains(part), "{part} in {header}");
            }
        }
    }
}
