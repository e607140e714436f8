//! What the clients log (through the `log` facade): each decision about connections,
//! redirects and retries, with URLs shown without their password.

use std::time::Duration;

use duet_tests::logs;
use duet_tests::server::*;

duet_tests::conformance! {
    fn decisions_are_logged_and_passwords_are_not() {
        logs::capture();
        let server = Server::http(|r| match r.path() {
            "/a" => Reply::redirect(302, "/b"),
            "/last" => Reply::ok("bye").close(),
            _ => Reply::ok("ok"),
        });
        let client = duet::Client::new();
        let base = format!("http://user:s3cret@{}", server.addr());
        assert_eq!(wait!(wait!(client.get(format!("{base}/a")).send()).unwrap().text()).unwrap(), "ok");
        assert_eq!(wait!(wait!(client.get(format!("{base}/last")).send()).unwrap().text()).unwrap(), "bye");
        let records = logs::records_with(&server.addr().to_string());
        let expected = [
            "GET http://user:***@{addr}/a: a new connection to http://{addr} ({addr})",
            "GET http://user:***@{addr}/a: 302 Found",
            "GET http://user:***@{addr}/a: following the redirect to GET http://user:***@{addr}/b",
            "GET http://user:***@{addr}/b: reusing a connection to http://{addr} ({addr})",
            "GET http://user:***@{addr}/b: 200 OK",
            "GET http://user:***@{addr}/last: reusing a connection to http://{addr}",
            "GET http://user:***@{addr}/last: 200 OK",
            "GET http://user:***@{addr}/last: the connection to http://{addr} is closed, not reused: the response said Connection: close",
        ];
        let mut rest = records.iter();
        for line in expected {
            let line = line.replace("{addr}", &server.addr().to_string());
            assert!(rest.any(|r| r.starts_with(&format!("DEBUG {line}"))), "{line:?} missing or out of order in {records:#?}");
        }
        assert!(records.iter().all(|r| !r.contains("s3cret")), "{records:#?}");
    }

    fn the_log_names_the_address_a_connection_went_to() {
        // As curl's "Connected to": a name may have several addresses (IPv6 and IPv4, a
        // --resolve entry), and the log says which one the request reached.
        logs::capture();
        let server = Server::http(|_| Reply::ok("ok"));
        let client = duet::Client::builder().resolve("named.test", server.addr()).build().unwrap();
        let url = format!("http://named.test:{}/", server.port());
        for _ in 0..2 {
            wait!(wait!(client.get(&url).send()).unwrap().bytes()).unwrap();
        }
        let records = logs::records_with(&format!("named.test:{}", server.port()));
        for reuse in ["a new", "reusing a"] {
            let line = format!("DEBUG GET {url}: {reuse} connection to http://named.test:{} ({})", server.port(), server.addr());
            assert!(records.contains(&line), "{line:?} missing in {records:#?}");
        }
    }

    fn a_connection_not_reused_is_logged_with_the_reason() {
        logs::capture();
        let server = Server::http(|r| match r.path() {
            "/big" => Reply::ok(vec![b'x'; 1 << 20]),
            "/old" => Reply::raw(&b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n1.0"[..]),
            _ => Reply::ok("ok"),
        });
        let client = duet::Client::new();
        drop(wait!(client.get(server.url("/big")).send()).unwrap());
        wait!(wait!(client.get(server.url("/old")).send()).unwrap().bytes()).unwrap();
        wait!(client.get(server.url("/close")).header("Connection", "close").send()).unwrap();
        let records = logs::records_with(&server.addr().to_string());
        for (path, reason) in [
            ("/big", "the response was not read to its end"),
            ("/old", "an HTTP/1.0 response without keep-alive"),
            ("/close", "the request said Connection: close"),
        ] {
            let line = format!("DEBUG GET {}: the connection to http://{} is closed, not reused: {reason}", server.url(path), server.addr());
            assert!(records.contains(&line), "{line:?} missing in {records:#?}");
        }
    }

    fn idle_connections_closed_as_expired_are_logged() {
        logs::capture();
        let server = Server::http(|_| Reply::ok("ok"));
        let client = duet::Client::builder().pool_idle_timeout(Duration::from_millis(100)).build().unwrap();
        wait!(wait!(client.get(server.url("/")).send()).unwrap().bytes()).unwrap();
        // duet-async closes it meanwhile, duet-blocking at the next request.
        std::thread::sleep(Duration::from_millis(300));
        wait!(wait!(client.get(server.url("/")).send()).unwrap().bytes()).unwrap();
        let line = format!("DEBUG 1 idle connection(s) to http://{} closed: idle past their timeout", server.addr());
        let records = logs::records_with(&server.addr().to_string());
        assert!(records.contains(&line), "{line:?} missing in {records:#?}");
        assert_eq!(server.connections(), 2);
    }

    fn the_stale_connection_retry_is_logged() {
        logs::capture();
        let server = Server::scripted(|conn| {
            if conn.index() == 0 {
                let first = conn.read_request().unwrap();
                conn.send(&Reply::ok(first.path().to_owned()));
                conn.read_request(); // gone just as the next request arrives
                conn.close();
            } else {
                conn.serve(|r| Reply::ok(r.path().to_owned()));
            }
        });
        let client = duet::Client::new();
        for path in ["/1", "/2"] {
            wait!(wait!(client.get(server.url(path)).send()).unwrap().bytes()).unwrap();
        }
        let records = logs::records_with(&server.addr().to_string());
        let retried = format!("DEBUG GET {}: the reused connection failed before any answer", server.url("/2"));
        assert!(records.iter().any(|r| r.starts_with(&retried)), "{records:#?}");
        let again = format!("DEBUG GET {}: a new connection to", server.url("/2"));
        assert!(records.iter().any(|r| r.starts_with(&again)), "{records:#?}");
    }
}
