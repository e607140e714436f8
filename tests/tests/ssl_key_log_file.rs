//! `SSLKEYLOGFILE` is honoured by both clients: each TLS connection's secrets are appended to
//! the file it names, for Wireshark. The environment is process-wide, so the clients run in a
//! child copy of this binary started with the variable set.

use duet_async::Client as Async;
use duet_blocking::Client as Blocking;
use duet_tests::server::*;
use duet_tests::{child, tls};

const MODE: &str = "DUET_SSLKEYLOGFILE_MODE";
const URL: &str = "DUET_SSLKEYLOGFILE_URL";

#[test]
fn sslkeylogfile_is_honoured_by_both_clients() {
    let _watchdog = duet_tests::watchdog!();
    if std::env::var(MODE).as_deref() == Ok("child") {
        return check_child();
    }
    // The server (and the test CA) live in this process; the child trusts the CA through
    // SSL_CERT_FILE and only runs clients.
    let server = Server::https(Cert::Localhost, |_| Reply::ok("secret"));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, tls::ca_pem()).unwrap();
    let keys = dir.path().join("keys.log");
    let set = [
        (MODE, "child".into()),
        // By address: the TLS leaf covers 127.0.0.1 too, and the name `localhost` would have
        // the clients try `::1` first.
        (URL, server.url_ip("/").into()),
        ("SSL_CERT_FILE", ca.into()),
        ("SSLKEYLOGFILE", keys.clone().into()),
    ];
    child::rerun(
        "sslkeylogfile_is_honoured_by_both_clients",
        &set,
        &["SSL_CERT_DIR"],
    );
    let log = std::fs::read_to_string(&keys).expect("the key log was written");
    // TLS 1.3: each connection logs its handshake and traffic secrets, one line each, in
    // the NSS format (label, client random, secret; hex).
    let connections = log
        .lines()
        .filter(|l| l.starts_with("CLIENT_HANDSHAKE_TRAFFIC_SECRET "))
        .count();
    assert_eq!(
        connections, 2,
        "one connection per client logged, none from the client that opted out:\n{log}"
    );
    for line in log.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert!(
            fields[1..]
                .iter()
                .all(|f| f.bytes().all(|b| b.is_ascii_hexdigit())),
            "{line}"
        );
    }
    assert_eq!(server.requests().len(), 3);
}

fn check_child() {
    let url = std::env::var(URL).unwrap();
    let default = child::texts(&url, Blocking::builder(), Async::builder());
    assert_eq!(default, ["secret", "secret"]);
    let silent = Blocking::builder().ssl_key_log_file(false).build().unwrap();
    assert_eq!(silent.get(&url).send().unwrap().text().unwrap(), "secret");
}
