//! `SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured by both clients. The environment is
//! process-wide, so the test runs its checks in a child copy of this binary started with the
//! variables set.

use std::ffi::OsString;
use std::process::Command;

use duet_async::Client as Async;
use duet_blocking::Client as Blocking;
use duet_tests::server::*;
use duet_tests::{child, tls};

/// The test, which its child runs again.
const TEST: &str = "ssl_cert_file_is_honoured_by_both_clients";

const MODE: &str = "DUET_SSL_CERT_FILE_MODE";
const URL: &str = "DUET_SSL_CERT_FILE_URL";
/// The test CA for the child (each process makes its own).
#[cfg(unix)]
const PEM: &str = "DUET_SSL_CERT_FILE_PEM";

#[test]
fn ssl_cert_file_is_honoured_by_both_clients() {
    let _watchdog = duet_tests::watchdog!();
    match std::env::var(MODE).as_deref() {
        Ok("trusted") => return trusted(),
        Ok("missing") => return missing(),
        Ok("dir") => return dir(),
        Ok("dir-missing") => return dir_missing(),
        #[cfg(unix)]
        Ok("fifo") => return fifo(),
        _ => {}
    }
    // The server (and the test CA) live in this process; the child only runs clients.
    let server = Server::https(Cert::Localhost, |_| Reply::ok("trusted"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test-ca.pem");
    std::fs::write(&path, tls::ca_pem()).unwrap();
    let rerun = |mode: &str, var: &str, value: OsString| {
        let set = [
            (MODE, mode.into()),
            // By address: the TLS leaf covers 127.0.0.1 too, and the name `localhost` would
            // have the clients try `::1` first.
            (URL, server.url_ip("/").into()),
            (var, value),
        ];
        // Only the variable under test: SSL_CERT_FILE and SSL_CERT_DIR from this machine
        // would trust the CA or not on their own.
        child::rerun(TEST, &set, &["SSL_CERT_FILE", "SSL_CERT_DIR"]);
    };
    rerun("trusted", "SSL_CERT_FILE", path.clone().into());
    rerun(
        "missing",
        "SSL_CERT_FILE",
        "/nonexistent/duet-ca.pem".into(),
    );
    // SSL_CERT_DIR: the CA in a directory beside a file that holds no certificate, after
    // one that does not exist.
    std::fs::write(dir.path().join("README"), "not a certificate").unwrap();
    let dirs = format!("/nonexistent-duet-certs:{}", dir.path().display());
    rerun("dir-missing", "SSL_CERT_DIR", dirs.into());
    rerun("dir", "SSL_CERT_DIR", dir.path().into());
}

/// `SSL_CERT_DIR` names a directory that does not exist (before one holding the test CA):
/// an https request fails, naming it.
fn dir_missing() {
    let url = std::env::var(URL).unwrap();
    let err = duet_blocking::Client::new().get(&url).send().unwrap_err();
    assert!(err.is_tls(), "{err}");
    assert!(
        err.to_string()
            .contains("SSL_CERT_DIR /nonexistent-duet-certs"),
        "{err}"
    );
}

/// `SSL_CERT_DIR` names a directory holding the test CA.
fn dir() {
    let url = std::env::var(URL).unwrap();
    let default = child::texts(&url, Blocking::builder(), Async::builder());
    assert_eq!(default, ["trusted", "trusted"]);
    for distrusting in [
        Blocking::builder().ssl_cert_file(false),
        Blocking::builder().trust_env(false),
    ] {
        let err = distrusting.build().unwrap().get(&url).send().unwrap_err();
        assert!(
            err.is_tls(),
            "switched off, the directory is not read: {err}"
        );
    }
}

fn trusted() {
    let url = std::env::var(URL).unwrap();
    let default = child::texts(&url, Blocking::builder(), Async::builder());
    assert_eq!(default, ["trusted", "trusted"]);
    let ignoring = Blocking::builder().ssl_cert_file(false).build().unwrap();
    assert!(
        ignoring.get(&url).send().unwrap_err().is_tls(),
        "switched off, the file is not read"
    );
}

fn missing() {
    // The file is read at the first TLS connection: building succeeds, an https request
    // fails naming the file, and a client told to ignore the variable never reads it.
    let url = std::env::var(URL).unwrap();
    let client = duet_blocking::Client::builder().build().unwrap();
    for _ in 0..2 {
        let err = client.get(&url).send().unwrap_err();
        assert!(
            err.is_tls()
                && err
                    .to_string()
                    .contains("SSL_CERT_FILE /nonexistent/duet-ca.pem"),
            "{err}"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = duet_async::Client::builder().build().unwrap();
        let err = client.get(&url).send().await.unwrap_err();
        assert!(
            err.is_tls()
                && err
                    .to_string()
                    .contains("SSL_CERT_FILE /nonexistent/duet-ca.pem"),
            "{err}"
        );
        let ignoring = duet_async::Client::builder()
            .ssl_cert_file(false)
            .build()
            .unwrap();
        let err = ignoring.get(&url).send().await.unwrap_err();
        assert!(
            err.is_tls() && !err.to_string().contains("SSL_CERT_FILE"),
            "{err}"
        );
    });
    let ignoring = duet_blocking::Client::builder()
        .ssl_cert_file(false)
        .build()
        .unwrap();
    let err = ignoring.get(&url).send().unwrap_err();
    assert!(
        err.is_tls() && !err.to_string().contains("SSL_CERT_FILE"),
        "{err}"
    );
}

/// duet-async reads the system's roots on tokio's blocking pool, not on the runtime's thread.
/// `SSL_CERT_FILE` names a FIFO whose bundle is written by a task on the same one-thread
/// runtime only once the file is opened for reading: were the file read on the runtime's
/// thread, the writer could never run and the child would hang.
#[cfg(unix)]
#[test]
fn async_roots_load_off_the_runtime_thread() {
    let _watchdog = duet_tests::watchdog!();
    use std::time::{Duration, Instant};

    let server = Server::https(Cert::Localhost, |_| Reply::ok("trusted"));
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("ca.pem");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture"])
        .env(MODE, "fifo")
        .env(URL, server.url_ip("/"))
        .env("SSL_CERT_FILE", &fifo)
        .env(PEM, tls::ca_pem())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the request never finished: the roots were read on the runtime's thread");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the child failed: {status}");
}

#[cfg(unix)]
fn fifo() {
    use tokio::io::AsyncWriteExt;

    let url = std::env::var(URL).unwrap();
    let fifo = std::env::var_os("SSL_CERT_FILE").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = duet_async::Client::new();
        let request = async { client.get(&url).send().await?.text().await };
        let writer = async {
            // Opening a FIFO to write fails with ENXIO until a reader has it open.
            const ENXIO: i32 = 6;
            let mut sender = loop {
                match tokio::net::unix::pipe::OpenOptions::new().open_sender(&fifo) {
                    Ok(sender) => break sender,
                    Err(e) if e.raw_os_error() == Some(ENXIO) => {
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await
                    }
                    Err(e) => panic!("opening the FIFO to write: {e}"),
                }
            };
            let pem = std::env::var(PEM).unwrap();
            sender.write_all(pem.as_bytes()).await.unwrap();
        };
        let (text, ()) = tokio::join!(request, writer);
        assert_eq!(text.unwrap(), "trusted");
    });
}
