//! TLS: verification on by default, extra roots, failures by cause, SNI, client certificates.

use duet_tests::server::*;
use duet_tests::tls;

fn ok(_: &Request) -> Reply {
    Reply::ok("secure")
}

duet_tests::conformance! {
    fn https_with_a_trusted_ca_reuses_the_connection_and_sends_sni() {
        let server = Server::https(Tls::new(Cert::Localhost).alpn(&[b"http/1.1"]), ok);
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).build().unwrap();
        for _ in 0..2 {
            assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "secure");
        }
        assert_eq!(server.connections(), 1);
        let info = server.requests()[0].tls.clone().unwrap();
        assert_eq!(info.sni.as_deref(), Some("localhost"));
        assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
    }

    fn large_bodies_over_tls_arrive_byte_exact_however_framed() {
        // Through TLS, body bytes read straight to the caller (with the chunk framing after
        // them) come out of the TLS layer, not the socket.
        let body: Vec<u8> = (0..700_001u32).map(|i| (i % 249) as u8).collect();
        let chunks: Vec<Vec<u8>> = body.chunks(65_536).map(<[u8]>::to_vec).collect();
        let whole = body.clone();
        let server = Server::https(Cert::Localhost, move |r| match r.target.as_str() {
            "/length" => Reply::ok(whole.clone()),
            _ => Reply::ok("").chunked(chunks.clone()),
        });
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).build().unwrap();
        for path in ["/length", "/chunked"] {
            assert_body_read_every_way!(client, server.url(path), body);
        }
        assert_eq!(server.connections(), 1, "the connection was reused throughout");
    }

    fn a_body_that_ends_with_the_connection_needs_tls_close_notify() {
        // Without close_notify, the end of the connection may be an attacker's cut: a body
        // framed by the close is an error, not a shorter body. A body framed by its length
        // is whole whatever follows.
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).build().unwrap();
        for (bytes, notify) in [(&b"Connection: close\r\n\r\ncut here"[..], false), (b"Connection: close\r\n\r\nall of it", true), (b"Content-Length: 4\r\n\r\nfull", false)] {
            let server = Server::scripted_tls(Cert::Localhost, move |conn| {
                if conn.read_request().is_some() {
                    conn.write(&[&b"HTTP/1.1 200 OK\r\n"[..], bytes].concat());
                    match notify {
                        true => conn.close(),
                        false => conn.close_without_notify(),
                    }
                }
            });
            let response = wait!(client.get(server.url("/")).send()).unwrap();
            match (bytes.ends_with(b"cut here"), wait!(response.text())) {
                (true, Err(err)) => assert!(err.is_protocol() && err.to_string().contains("close_notify"), "{err}"),
                (false, Ok(text)) => assert!(bytes.ends_with(text.as_bytes()), "{text}"),
                (_, got) => panic!("{:?}: {got:?}", String::from_utf8_lossy(bytes)),
            }
        }
    }

    fn a_tls_end_without_close_notify_is_judged_by_the_framing_as_a_plain_close_is() {
        // Many servers close TLS without close_notify. Where the framing shows whether the
        // response is whole (its head, a Content-Length or chunked body), that end is an end
        // like any other: a cut is the same protocol error as over plain TCP, naming what was
        // cut, and not rustls's "unexpected EOF".
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).build().unwrap();
        let cases: [(&[u8], &str); 4] = [
            (b"", "closed before the response started"),
            (b"HTTP/1.1 200 OK\r\nContent-Le", "after 27 bytes of the response head"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", "received 10 of 100 bytes"),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\nonly ten b", "ended early after 10 bytes"),
        ];
        for (sent, expected) in cases {
            for (secure, notify) in [(false, true), (true, true), (true, false)] {
                let script = move |conn: &mut ScriptConn| {
                    if conn.read_request().is_some() {
                        conn.write(sent);
                        match notify {
                            true => conn.close(),
                            false => conn.close_without_notify(),
                        }
                    }
                };
                let server = match secure {
                    true => Server::scripted_tls(Cert::Localhost, script),
                    false => Server::scripted(script),
                };
                let result = match wait!(client.get(server.url("/")).send()) {
                    Ok(response) => wait!(response.bytes()).map(|_| ()),
                    Err(err) => Err(err),
                };
                let err = result.expect_err(expected);
                let case = format!("{expected} (TLS {secure}, close_notify {notify})");
                assert!(err.is_protocol(), "{case}: {err}");
                assert!(err.to_string().contains(expected), "{case}: {err}");
                assert_eq!(server.connections(), 1, "{case}: the request was not sent again");
            }
        }
    }

    fn an_ip_address_gets_no_sni_but_is_still_verified() {
        let server = Server::https(Cert::Localhost, ok);
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).build().unwrap();
        assert_eq!(wait!(wait!(client.get(server.url_ip("/")).send()).unwrap().text()).unwrap(), "secure");
        assert_eq!(server.requests()[0].tls.as_ref().unwrap().sni, None);
    }

    fn the_tls_versions_offered_keep_to_the_bounds_given() {
        let modern = Server::https(Cert::Localhost, ok);
        let old = Server::https(Tls::new(Cert::Localhost).tls12_only(), ok);
        let default = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).build().unwrap();
        for server in [&modern, &old] {
            wait!(default.get(server.url("/")).send()).unwrap();
        }
        assert_eq!(modern.requests()[0].tls.as_ref().unwrap().version, "TLSv1_3");
        assert_eq!(old.requests()[0].tls.as_ref().unwrap().version, "TLSv1_2");
        let at_most_12 = duet::Client::builder()
            .add_root_certificate_pem(tls::ca_pem())
            .resolve("localhost", tls::LOOPBACK)
            .max_tls_version(duet::TlsVersion::Tls1_2)
            .build()
            .unwrap();
        wait!(at_most_12.get(modern.url("/")).send()).unwrap();
        assert_eq!(modern.requests()[1].tls.as_ref().unwrap().version, "TLSv1_2");
        let at_least_13 = duet::Client::builder()
            .add_root_certificate_pem(tls::ca_pem())
            .resolve("localhost", tls::LOOPBACK)
            .min_tls_version(duet::TlsVersion::Tls1_3)
            .build()
            .unwrap();
        let err = wait!(at_least_13.get(old.url("/")).send()).unwrap_err();
        assert!(err.is_tls(), "a TLS 1.2 server: {err}");
        assert_eq!(old.requests().len(), 1);
        let none = duet::Client::builder()
            .min_tls_version(duet::TlsVersion::Tls1_3)
            .max_tls_version(duet::TlsVersion::Tls1_2)
            .build()
            .unwrap_err();
        assert!(none.is_tls(), "{none}");
    }

    fn verification_is_on_by_default() {
        let server = Server::https(Cert::Localhost, ok);
        let err = wait!(duet::Client::builder().resolve("localhost", tls::LOOPBACK).build().unwrap().get(server.url("/")).send()).unwrap_err();
        assert!(err.is_tls(), "unknown issuer: {err}");
        assert_eq!(server.requests().len(), 0);
    }

    fn bad_certificates_fail_by_cause() {
        // Only the test CA: a machine's SSL_CERT_DIR may trust another certificate for
        // localhost (Debian's snakeoil), which changes why the self-signed one fails.
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).trust_env(false).build().unwrap();
        for (cert, cause) in [(Cert::Expired, "expired"), (Cert::WrongHost, "not valid for name"), (Cert::SelfSigned, "issuer")] {
            let server = Server::https(cert, ok);
            let err = wait!(client.get(server.url("/")).send()).unwrap_err();
            assert!(err.is_tls(), "{cause}: {err}");
            assert!(err.to_string().to_lowercase().contains(cause), "{cause}: {err}");
        }
        // Certificate failures are said in words, rustls's own after them.
        let server = Server::https(Cert::SelfSigned, ok);
        let err = wait!(client.get(server.url("/")).send()).unwrap_err().to_string();
        assert!(err.contains("not issued by a CA this client trusts; adding that CA's certificate as a root trusts it (invalid peer certificate: UnknownIssuer)"), "{err}");
        // A self-signed CA certificate as the server's own (`openssl req -x509`), even when
        // trusted: refused, and the message says why.
        let server = Server::https(Cert::SelfSignedCa, ok);
        let client = duet::Client::builder().add_root_certificate_pem(tls::self_signed_ca_pem()).resolve("localhost", tls::LOOPBACK).trust_env(false).build().unwrap();
        let err = wait!(client.get(server.url("/")).send()).unwrap_err();
        assert!(err.is_tls(), "{err}");
        assert!(err.to_string().contains("presented a CA certificate as its own"), "{err}");
    }

    fn a_close_during_the_handshake_is_a_tls_error_that_says_so_and_a_reset_a_connect_error() {
        // Read the ClientHello, then close (a server that drops clients it does not want).
        let server = Server::scripted(|conn| {
            conn.read_some();
            conn.close();
        });
        let client = duet::Client::builder().resolve("localhost", tls::LOOPBACK).build().unwrap();
        let err = wait!(client.get(format!("https://localhost:{}/", server.port())).send()).unwrap_err();
        assert!(err.is_tls() && !err.is_timeout(), "{err}");
        assert!(err.to_string().contains("the server closed the connection during the TLS handshake"), "{err}");
        // A reset instead is the connection's failure, as any other I/O error there.
        let server = Server::scripted(|conn| {
            conn.read_some();
            conn.reset();
        });
        let client = duet::Client::builder().resolve("localhost", tls::LOOPBACK).build().unwrap();
        let err = wait!(client.get(format!("https://localhost:{}/", server.port())).send()).unwrap_err();
        assert!(err.is_connect() && !err.is_tls(), "{err}");
        assert!(!err.to_string().contains("closed the connection"), "{err}");
    }

    fn verification_can_be_turned_off_explicitly() {
        let server = Server::https(Cert::SelfSigned, ok);
        let client = duet::Client::builder().danger_accept_invalid_certs(true).resolve("localhost", tls::LOOPBACK).build().unwrap();
        assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "secure");
    }

    fn client_certificates_for_mutual_tls() {
        let server = Server::https(Tls::new(Cert::Localhost).client_auth(ClientAuth::Required), ok);
        let client = duet::Client::builder()
            .add_root_certificate_pem(tls::ca_pem())
            .resolve("localhost", tls::LOOPBACK)
            .identity_pem(tls::client_cert_pem(), tls::client_key_pem())
            .build()
            .unwrap();
        assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "secure");
        assert!(server.requests()[0].tls.as_ref().unwrap().client_cert.is_some());
        let anonymous = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).build().unwrap();
        let err = wait!(anonymous.get(server.url("/")).send()).unwrap_err();
        assert!(err.is_tls(), "{err}");
    }

    fn a_handshake_flight_goes_out_in_one_write() {
        // Over TLS 1.2 with a client certificate the client's second flight is five records
        // (Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec, Finished).
        // Written one by one, a server that refuses the first record and closes (Apache
        // without a client certificate, say) left a later write to fail: a broken pipe, a
        // connect error, instead of the server's alert, a TLS error, at random.
        use crate::custom_streams::{Behaviour, Custom};
        let server = Server::https(Tls::new(Cert::Localhost).client_auth(ClientAuth::Required).tls12_only(), ok);
        let writes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let client = duet::Client::builder()
            .add_root_certificate_pem(tls::ca_pem())
            .resolve("localhost", tls::LOOPBACK)
            .identity_pem(tls::client_cert_pem(), tls::client_key_pem())
            .mount("all://", <dyn duet::Transport>::custom(server.addr(), Behaviour::Counted(writes.clone())))
            .build()
            .unwrap();
        assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "secure");
        let counted = writes.lock().unwrap().clone();
        assert!(counted.iter().any(|&pieces| pieces >= 5), "one write per record: {counted:?}");
        let anonymous = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).build().unwrap();
        let err = wait!(anonymous.get(server.url("/")).send()).unwrap_err();
        assert!(err.is_tls() && err.to_string().contains("alert"), "{err}");
    }

    fn bad_tls_material_is_a_build_error() {
        let err = duet::Client::builder().add_root_certificate_pem("not a certificate").build().unwrap_err();
        assert!(err.is_tls(), "{err}");
        let err = duet::Client::builder().identity_pem(tls::client_cert_pem(), "no key").build().unwrap_err();
        assert!(err.is_tls(), "{err}");
    }
}
