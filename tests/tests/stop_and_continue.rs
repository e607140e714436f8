//! A request while the process is stopped and continued (Ctrl-Z, then `fg`), a test binary
//! of its own because it stops the whole process. On Linux, a read or write on a socket with
//! a timeout that a stop interrupts is never restarted: it fails with EINTR (signal(7)), as it
//! does for any signal caught by a handler. That must not fail the request.

use std::time::Duration;

use duet_tests::server::*;
use duet_tests::tls;

/// Stops this process and continues it `times` times, 100 ms apart, from a shell (a stopped
/// process cannot continue itself).
fn stop_and_continue_meanwhile(times: usize) -> std::thread::JoinHandle<()> {
    let pid = std::process::id();
    std::thread::spawn(move || {
        for _ in 0..times {
            std::thread::sleep(Duration::from_millis(100));
            let script = format!("kill -STOP {pid}; sleep 0.02; kill -CONT {pid}");
            let status = std::process::Command::new("sh")
                .args(["-c", &script])
                .status()
                .expect("sh runs");
            assert!(status.success(), "{script}: {status}");
        }
    })
}

/// The head comes after 300 ms, the rest of the body 300 ms later: stops land in both
/// waits.
fn slow_server() -> Server {
    Server::scripted(|conn| {
        conn.read_request();
        conn.sleep(Duration::from_millis(300));
        conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        conn.sleep(Duration::from_millis(300));
        conn.write(b"defghij");
    })
}

duet_tests::conformance! {
    fn a_request_survives_the_process_being_stopped_and_continued() {
        let server = slow_server();
        let stops = stop_and_continue_meanwhile(6);
        // A POST: the stale-connection retry cannot hide a failed read.
        let response = wait!(duet::Client::new().post(server.url("/")).body("x").send()).unwrap();
        assert_eq!(wait!(response.bytes()).unwrap(), b"abcdefghij");
        stops.join().unwrap();
    }

    fn a_tls_handshake_survives_the_process_being_stopped_and_continued() {
        // A front that holds the client's ClientHello for 500 ms, then passes the bytes on
        // to the TLS server: stops land while the handshake waits. (rustls's handshake loop
        // goes on after EINTR; this keeps it so.)
        let origin = Server::https(Cert::Localhost, |_| Reply::ok("secure"));
        let upstream = origin.addr();
        let front = Server::scripted(move |conn| {
            conn.sleep(Duration::from_millis(500));
            conn.tunnel(upstream);
        });
        let client = duet::Client::builder().add_root_certificate_pem(tls::ca_pem()).resolve("localhost", tls::LOOPBACK).build().unwrap();
        let stops = stop_and_continue_meanwhile(4);
        let url = format!("https://localhost:{}/", front.port());
        let response = wait!(client.get(url).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "secure");
        stops.join().unwrap();
    }
}
