//! Timeouts by phase, with short deadlines; the assertions are on the kind, not the time.

use std::io::Cursor;
use std::time::Duration;

use duet_tests::server::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The default timeouts with a read timeout of `read` ms and the given total.
fn with_read(read: u64, total: Option<Duration>) -> duet_core::client::Timeouts {
    let mut timeouts = duet_core::client::Timeouts::default();
    timeouts.read = Some(ms(read));
    timeouts.total = total;
    timeouts
}

duet_tests::conformance! {
    fn a_connect_that_never_completes_is_a_connect_timeout() {
        let hole = BlackHole::new();
        let addr = hole.addr();
        let client = duet::Client::builder().connect_timeout(ms(200)).build().unwrap();
        let started = std::time::Instant::now();
        let err = wait!(client.get(format!("http://{addr}/")).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Connect), "{err}");
        // The default (10 s) would give the same kind: make sure the 200 ms setting applied.
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    }

    fn a_slow_head_is_a_read_head_timeout() {
        let server = Server::http(|_| Reply::ok("late").delay(ms(2000)));
        let client = duet::Client::builder().read_timeout(ms(100)).build().unwrap();
        let err = wait!(client.get(server.url("/")).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::ReadHead), "{err}");
        assert!(err.is_timeout());
    }

    fn a_stalled_body_is_a_read_body_timeout_over_tls_too() {
        let script = |conn: &mut ScriptConn| {
            conn.read_request();
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
            conn.sleep(ms(2000));
        };
        let builder = || duet::Client::builder().add_root_certificate_pem(duet_tests::tls::ca_pem()).resolve("localhost", duet_tests::tls::LOOPBACK).read_timeout(ms(100));
        for server in [Server::scripted(script), Server::scripted_tls(Cert::Localhost, script)] {
            let response = wait!(builder().build().unwrap().get(server.url("/")).send()).unwrap();
            let err = wait!(response.bytes()).unwrap_err();
            assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::ReadBody), "{}: {err}", server.url("/"));
        }
    }

    fn a_stalled_tls_handshake_is_a_connect_timeout() {
        let silent = Server::scripted(|conn| {
            conn.sleep(ms(3000));
        });
        let client = duet::Client::builder().connect_timeout(ms(200)).resolve("localhost", duet_tests::tls::LOOPBACK).build().unwrap();
        let err = wait!(client.get(format!("https://localhost:{}/", silent.port())).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Connect), "{err}");
    }

    fn a_longer_read_timeout_after_a_shorter_one_on_the_same_connection_still_fires() {
        // The first request leaves a 300 ms read timeout on the pooled socket; the second
        // asks for 600 ms. Its wait may wake at 300 ms, and must still end at 600 ms, not
        // start over each time (it would then run into the 10 s total deadline).
        let server = Server::scripted(|conn| {
            conn.read_request();
            conn.send(&Reply::ok("first"));
            conn.read_request();
            conn.sleep(ms(5000));
        });
        let client = duet::Client::new();
        let total = Some(Duration::from_secs(10));
        let first = wait!(client.get(server.url("/")).timeouts(with_read(300, total)).send());
        assert_eq!(wait!(first.unwrap().text()).unwrap(), "first");
        let err = wait!(client.get(server.url("/")).timeouts(with_read(600, total)).send());
        let err = err.unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::ReadHead), "{err}");
        assert_eq!(server.connections(), 1, "the second request went out on the pooled connection");
    }

    fn a_shorter_read_timeout_after_a_longer_one_on_the_same_connection_fires_at_its_own() {
        // The first request waits for its answer under a 4 s read timeout; the second, on the
        // pooled connection, asks for 150 ms and gets no answer. Its wait ends at 150 ms, not
        // at the first one's deadline (duet-async keeps one timer per connection and moves
        // it; the server hangs up before that deadline, which would make it an I/O error).
        let server = Server::scripted(|conn| {
            conn.read_request();
            conn.sleep(ms(100));
            conn.send(&Reply::ok("first"));
            conn.read_request();
            conn.sleep(ms(3000));
        });
        let client = duet::Client::new();
        let total = duet::Timeouts::default().total;
        let first = wait!(client.get(server.url("/")).timeouts(with_read(4000, total)).send());
        assert_eq!(wait!(first.unwrap().text()).unwrap(), "first");
        let started = std::time::Instant::now();
        let err = wait!(client.get(server.url("/")).timeouts(with_read(150, total)).send());
        let err = err.unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::ReadHead), "{err}");
        assert!(started.elapsed() < ms(2000), "took {:?}", started.elapsed());
        assert_eq!(server.connections(), 1, "the second request went out on the pooled connection");
    }

    fn the_total_deadline_covers_the_whole_request() {
        let server = Server::scripted(|conn| {
            conn.read_request();
            conn.write_slowly(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", ms(20));
            conn.sleep(ms(2000));
        });
        let client = duet::Client::builder().timeout(ms(300)).build().unwrap();
        let result = match wait!(client.get(server.url("/")).send()) {
            Ok(response) => wait!(response.bytes()).map(|_| ()),
            Err(e) => Err(e),
        };
        assert_eq!(result.unwrap_err().timeout_phase(), Some(duet::TimeoutPhase::Total));
    }

    fn the_largest_timeouts_are_no_timeouts() {
        // Duration::MAX is how some callers say "no limit": no deadline overflows.
        let server = Server::http(|r| Reply::ok(r.method.clone()).delay(ms(if r.index == 0 { 50 } else { 0 })));
        let client = duet::Client::builder()
            .timeout(Duration::MAX)
            .connect_timeout(Duration::MAX)
            .read_timeout(Duration::MAX)
            .write_timeout(Duration::MAX)
            .pool_timeout(Duration::MAX)
            .pool_idle_timeout(Duration::MAX)
            .pool_max_per_host(1)
            .build()
            .unwrap();
        for method in ["GET", "PUT"] {
            let request = client.request(method.parse().unwrap(), server.url("/")).body("x").timeout(Duration::MAX);
            assert_eq!(wait!(wait!(request.send()).unwrap().text()).unwrap(), method);
        }
        assert_eq!(server.connections(), 1);
    }

    fn a_request_timeout_overrides_the_clients() {
        let server = Server::http(|_| Reply::ok("late").delay(ms(2000)));
        let client = duet::Client::new();
        let err = wait!(client.get(server.url("/")).timeout(ms(100)).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Total), "{err}");
    }

    fn a_server_that_stops_reading_is_a_write_timeout() {
        let server = Server::scripted(|conn| {
            conn.read_head_only();
            conn.sleep(ms(3000));
        });
        let client = duet::Client::builder().write_timeout(ms(200)).build().unwrap();
        let body = duet::Body::from_reader(Cursor::new(vec![0u8; 64 << 20]), Some(64 << 20));
        let err = wait!(client.put(server.url("/")).body(body).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Write), "{err}");
    }

    fn a_server_that_answers_a_success_early_and_then_stops_reading_is_a_write_timeout() {
        // The early success lets the upload go on (nothing more is listened for), so the
        // writes that wait are under the write timeout alone.
        let server = Server::scripted(|conn| {
            conn.read_head_only();
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            conn.sleep(ms(3000));
        });
        let client = duet::Client::builder().write_timeout(ms(200)).build().unwrap();
        let err = wait!(client.put(server.url("/")).body(vec![0u8; 64 << 20]).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Write), "{err}");
    }
}
