//! TLS self-tests with a rustls client trusting the test CA.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::{CertificateError, ClientConfig, ClientConnection, StreamOwned};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::{Resp, eventually, read_response};
use crate::server::{Cert, ClientAuth, Reply, Server, Tls};
use crate::tls::{ca_pem, client_cert_der, client_cert_pem, client_config, client_key_pem};

type Client = StreamOwned<ClientConnection, TcpStream>;

fn handshake(server: &Server, name: &str, config: Arc<ClientConfig>) -> io::Result<Client> {
    let name = ServerName::try_from(name.to_string()).unwrap();
    let mut conn = ClientConnection::new(config, name).unwrap();
    let mut tcp = super::connect(server);
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)?;
    }
    Ok(StreamOwned::new(conn, tcp))
}

fn get(client: &mut Client, path: &str) -> io::Result<Resp> {
    client.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())?;
    client.flush()?;
    let mut first = [0u8; 1];
    client.read_exact(&mut first)?; // surfaces a late TLS alert as an error
    Ok(read_response(client, &mut first.to_vec(), false))
}

fn cert_error(e: &io::Error) -> CertificateError {
    match e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(ce)) => ce.clone(),
        _ => panic!("not a certificate error: {e}"),
    }
}

#[test]
fn handshake_with_test_ca_by_name_and_ip() {
    let _watchdog = crate::watchdog!();
    let server = Server::https(Cert::Localhost, |req| Reply::ok(req.target.clone()));
    assert!(server.url("/a").starts_with("https://localhost:"));
    assert!(server.url_ip("/a").starts_with("https://127.0.0.1:"));
    let mut c = handshake(&server, "localhost", client_config(false)).unwrap();
    assert_eq!(get(&mut c, "/one").unwrap().body, b"/one");
    assert_eq!(get(&mut c, "/two").unwrap().body, b"/two");
    let mut c = handshake(&server, "127.0.0.1", client_config(false)).unwrap();
    assert_eq!(get(&mut c, "/ip").unwrap().status, 200);
    let reqs = server.requests();
    let tls = reqs[0].tls.as_ref().unwrap();
    assert_eq!(
        (tls.sni.as_deref(), tls.version.as_str(), &tls.client_cert),
        (Some("localhost"), "TLSv1_3", &None)
    );
    assert_eq!(reqs[1].index, 1);
    assert_eq!(reqs[2].tls.as_ref().unwrap().sni, None);
    assert_eq!(server.connections(), 2);
}

#[test]
fn bad_certificates_are_rejected_by_the_client() {
    let _watchdog = crate::watchdog!();
    for (cert, check) in [
        (
            Cert::Expired,
            (|e| {
                matches!(
                    e,
                    CertificateError::Expired | CertificateError::ExpiredContext { .. }
                )
            }) as fn(&CertificateError) -> bool,
        ),
        (Cert::WrongHost, |e| {
            matches!(
                e,
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        }),
        (Cert::SelfSigned, |e| {
            matches!(e, CertificateError::UnknownIssuer)
        }),
    ] {
        let server = Server::https(cert, |_| Reply::ok(""));
        let Err(err) = handshake(&server, "localhost", client_config(false)) else {
            panic!("{cert:?}: handshake must fail");
        };
        assert!(check(&cert_error(&err)), "{cert:?}: {err}");
        assert!(
            eventually(|| server.errors().iter().any(|e| e.contains("TLS handshake"))),
            "{:?}",
            server.errors()
        );
        assert!(server.requests().is_empty());
    }
}

#[test]
fn client_certificates_required_and_optional() {
    let _watchdog = crate::watchdog!();
    let server = Server::https(
        Tls::new(Cert::Localhost).client_auth(ClientAuth::Required),
        |_| Reply::ok("in"),
    );
    let without =
        handshake(&server, "localhost", client_config(false)).and_then(|mut c| get(&mut c, "/"));
    assert!(without.is_err());
    let mut c = handshake(&server, "localhost", client_config(true)).unwrap();
    assert_eq!(get(&mut c, "/").unwrap().body, b"in");
    let cert = server.requests()[0]
        .tls
        .clone()
        .unwrap()
        .client_cert
        .unwrap();
    assert_eq!(cert, client_cert_der().to_vec());

    let server = Server::https(
        Tls::new(Cert::Localhost).client_auth(ClientAuth::Optional),
        |_| Reply::ok(""),
    );
    let mut c = handshake(&server, "localhost", client_config(false)).unwrap();
    assert_eq!(get(&mut c, "/").unwrap().status, 200);
    assert_eq!(server.requests()[0].tls.as_ref().unwrap().client_cert, None);
}

#[test]
fn pem_exports_parse() {
    let _watchdog = crate::watchdog!();
    let ca = CertificateDer::from_pem_slice(ca_pem().as_bytes()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    CertificateDer::from_pem_slice(client_cert_pem().as_bytes()).unwrap();
    PrivateKeyDer::from_pem_slice(client_key_pem().as_bytes()).unwrap();
}

#[test]
fn alpn_tls12_and_close_notify() {
    let _watchdog = crate::watchdog!();
    let server = Server::scripted_tls(
        Tls::new(Cert::Localhost).alpn(&[b"http/1.1"]).tls12_only(),
        |conn| {
            let req = conn.read_request().unwrap();
            conn.write(b"HTTP/1.1 200 OK\r\n\r\nbody");
            match req.path() {
                "/notify" => conn.close(),
                _ => conn.close_without_notify(),
            }
        },
    );
    let mut config = (*client_config(false)).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    for (path, clean) in [("/notify", true), ("/truncate", false)] {
        let mut c = handshake(&server, "localhost", config.clone()).unwrap();
        c.write_all(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes())
            .unwrap();
        let mut got = Vec::new();
        let end = c.read_to_end(&mut got);
        assert_eq!(got, b"HTTP/1.1 200 OK\r\n\r\nbody");
        match end {
            Ok(_) => assert!(clean, "{path}: truncation read as a clean end"),
            Err(e) => assert!(
                !clean && e.kind() == io::ErrorKind::UnexpectedEof,
                "{path}: {e}"
            ),
        }
    }
    let tls = server.requests()[0].tls.clone().unwrap();
    assert_eq!(
        (tls.alpn.as_deref(), tls.version.as_str()),
        (Some(&b"http/1.1"[..]), "TLSv1_2")
    );
}

#[test]
fn connect_tunnel_to_tls_server() {
    let _watchdog = crate::watchdog!();
    let origin = Server::https(Cert::Localhost, |req| {
        Reply::ok(format!("origin {}", req.target))
    });
    let origin_addr = origin.addr();
    let proxy = Server::scripted(move |conn| {
        let req = conn.read_request().unwrap();
        assert_eq!(req.method, "CONNECT");
        conn.write(b"HTTP/1.1 200 Connection established\r\n\r\n");
        assert!(conn.tunnel(origin_addr));
    });
    let mut tcp = super::connect(&proxy);
    let connect = format!(
        "CONNECT {} HTTP/1.1\r\nHost: {0}\r\n\r\n",
        origin.authority()
    );
    tcp.write_all(connect.as_bytes()).unwrap();
    let r = read_response(&mut tcp, &mut Vec::new(), true);
    assert_eq!(r.status, 200);
    let name = ServerName::try_from("localhost").unwrap();
    let mut c = StreamOwned::new(
        ClientConnection::new(client_config(false), name).unwrap(),
        tcp,
    );
    assert_eq!(get(&mut c, "/through").unwrap().body, b"origin /through");
    assert_eq!(proxy.requests()[0].target, origin.authority());
    drop(c);
    drop(proxy);
}
