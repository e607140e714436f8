//! TLS: `--cacert`, `--cert`/`--key`, `--insecure`, `--tlsv1.3`, `--tls-max`.

use duet_tests::server::{Cert, ClientAuth, Reply, Server, Tls};
use duet_tests::tls;

use crate::harness::*;

fn pem_files(dir: &std::path::Path) -> (String, String, String) {
    (
        arg(&file(dir, "ca.pem", tls::ca_pem())),
        arg(&file(dir, "client.pem", tls::client_cert_pem())),
        arg(&file(dir, "client.key", tls::client_key_pem())),
    )
}

#[test]
fn an_unknown_ca_fails_and_cacert_trusts_it() {
    let server = Server::https(Cert::Localhost, |_| Reply::ok("secure"));
    let dir = tempfile::tempdir().unwrap();
    let (ca, _, _) = pem_files(dir.path());
    let (report, run) = duet(&[&server.url_ip("/")]).report();
    assert_eq!(run.code, 35, "{}", run.stderr);
    assert_eq!(report["error"]["kind"], "tls");
    assert!(run.stderr.starts_with("duet: tls: "), "{}", run.stderr);
    let (report, run) = duet(&["--cacert", &ca, &server.url_ip("/")]).report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["body"], "secure");
}

#[test]
fn tls_versions_keep_to_the_flags() {
    let version =
        |r: &duet_tests::server::Request| Reply::ok(r.tls.as_ref().unwrap().version.clone());
    let modern = Server::https(Cert::Localhost, version);
    let old = Server::https(Tls::new(Cert::Localhost).tls12_only(), version);
    let dir = tempfile::tempdir().unwrap();
    let (ca, _, _) = pem_files(dir.path());
    for flavour in [&[][..], &["--async"]] {
        let run = duet(
            &[
                &["--cacert", &ca, "--tls-max", "1.2", &modern.url_ip("/")][..],
                flavour,
            ]
            .concat(),
        )
        .run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.out(), "TLSv1_2");
        let run = duet(
            &[
                &["--cacert", &ca, "--tlsv1.3", &modern.url_ip("/")][..],
                flavour,
            ]
            .concat(),
        )
        .run();
        assert_eq!(run.out(), "TLSv1_3");
        let run = duet(
            &[
                &["--cacert", &ca, "--tlsv1.3", &old.url_ip("/")][..],
                flavour,
            ]
            .concat(),
        )
        .run();
        assert_eq!(run.code, 35, "a TLS 1.2 server: {}", run.stderr);
    }
    let run = duet(&["--tls-max", "1.1", &modern.url_ip("/")]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = duet(&["--tlsv1.3", "--tls-max", "1.2", &modern.url_ip("/")]).run();
    assert_eq!(run.code, 35, "{}", run.stderr);
    assert!(run.stderr.contains("no TLS version"), "{}", run.stderr);
}

#[test]
fn insecure_accepts_any_certificate() {
    let server = Server::https(Cert::SelfSigned, |_| Reply::ok("whoever"));
    for flag in ["--insecure", "-k"] {
        let (report, run) = duet(&[flag, &server.url_ip("/")]).report();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(report["body"], "whoever");
    }
}

#[test]
fn a_client_certificate() {
    let server = Server::https(
        Tls::new(Cert::Localhost).client_auth(ClientAuth::Required),
        |r| {
            Reply::ok(format!(
                "client cert: {}",
                r.tls.as_ref().unwrap().client_cert.is_some()
            ))
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = pem_files(dir.path());
    let (report, _) = duet(&["--cacert", &ca, &server.url_ip("/")]).report();
    assert!(
        report["error"]["kind"] == "tls" || report["error"]["kind"] == "io",
        "{report}"
    );
    let (report, run) = duet(&[
        "--cacert",
        &ca,
        "--cert",
        &cert,
        "--key",
        &key,
        &server.url_ip("/"),
    ])
    .report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["body"], "client cert: true");
}

#[test]
fn unreadable_tls_files_are_tls_errors() {
    let (report, run) = duet(&["--cacert", "/nonexistent/ca.pem", "https://127.0.0.1:9/"]).report();
    assert_eq!(
        (run.code, report["error"]["kind"].clone()),
        (35, "tls".into())
    );
    let dir = tempfile::tempdir().unwrap();
    let garbage = arg(&file(dir.path(), "garbage.pem", "not a certificate"));
    let (report, _) = duet(&[
        "--cert",
        &garbage,
        "--key",
        &garbage,
        "https://127.0.0.1:9/",
    ])
    .report();
    assert_eq!(report["error"]["kind"], "tls", "{report}");
    assert_eq!(
        duet(&["--key", &garbage, "https://127.0.0.1:9/"])
            .run()
            .code,
        2
    );
}
