//! Connection reuse: keep-alive, what prevents reuse, the stale-connection retry, the caps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use duet_tests::server::*;

/// Two megabytes at `/big` (left unread, it keeps the connection busy), else `small`.
fn big_or_small(r: &Request) -> Reply {
    match r.path() {
        "/big" => Reply::ok(vec![b'x'; 2_000_000]),
        _ => Reply::ok("small"),
    }
}

/// A server whose first connection answers `first`, then 30 ms later sends an unsolicited
/// 408 and stays open; the others answer each request with its method.
fn speaks_after_its_answer() -> Server {
    Server::scripted(|conn| {
        if conn.index() == 0 {
            conn.read_request();
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
            conn.sleep(Duration::from_millis(30));
            conn.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
            conn.sleep(Duration::from_secs(5));
        } else {
            conn.serve(|r| Reply::ok(r.method.clone()));
        }
    })
}

duet_tests::conformance! {
    /// A cap no request can pass is refused when the client is built, not found out by each
    /// request at the end of the pool timeout.
    fn a_cap_of_zero_connections_fails_the_build() {
        for builder in [duet::Client::builder().pool_max_per_host(0), duet::Client::builder().pool_max_connections(0)] {
            let err = builder.build().unwrap_err();
            assert!(err.is_connect(), "{err}");
        }
        let server = Server::http(|_| Reply::ok("one at a time"));
        let client = duet::Client::builder().pool_max_per_host(1).pool_max_connections(1).build().unwrap();
        assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "one at a time");
    }

    fn keep_alive_reuses_one_connection() {
        let server = Server::http(|r| Reply::ok(format!("{}-{}", r.conn, r.index)));
        let client = duet::Client::new();
        for i in 0..3 {
            let text = wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap();
            assert_eq!(text, format!("0-{i}"));
        }
        assert_eq!(server.connections(), 1);
    }

    fn connection_close_or_disabled_pooling_means_new_connections() {
        let server = Server::http(|_| Reply::ok("x").close());
        let client = duet::Client::new();
        for _ in 0..3 {
            wait!(wait!(client.get(server.url("/")).send()).unwrap().bytes()).unwrap();
        }
        assert_eq!(server.connections(), 3);
        let server = Server::http(|_| Reply::ok("x"));
        let client = duet::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        for _ in 0..2 {
            wait!(wait!(client.get(server.url("/")).send()).unwrap().bytes()).unwrap();
        }
        assert_eq!(server.connections(), 2);
    }

    fn what_a_closed_connection_left_unread_never_reaches_the_next_one() {
        // Each connection answers, closes, and sends bytes past its body: the next request
        // goes out on a new connection and hears only its own answer, never what the
        // closed one left unread.
        let server = Server::scripted(|conn| {
            let request = conn.read_request().unwrap();
            let body = format!("{}-{}", conn.index(), request.path());
            conn.write(
                format!(
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}\
                     HTTP/1.1 500 Stale\r\nContent-Length: 0\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
        });
        let client = duet::Client::new();
        for i in 0..4 {
            let response = wait!(client.get(server.url(&format!("/{i}"))).send()).unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(wait!(response.text()).unwrap(), format!("{i}-/{i}"));
        }
        assert_eq!(server.connections(), 4);
    }

    fn an_unread_body_closes_the_connection_but_a_buffered_one_does_not() {
        let server = Server::http(|r| if r.path() == "/big" { Reply::ok(vec![b'x'; 4_000_000]) } else { Reply::ok("tiny") });
        let client = duet::Client::new();
        drop(wait!(client.get(server.url("/tiny")).send()).unwrap());
        wait!(wait!(client.get(server.url("/tiny")).send()).unwrap().bytes()).unwrap();
        assert_eq!(server.connections(), 1, "a small body already in the buffer is drained");
        let big = wait!(client.get(server.url("/big")).send()).unwrap();
        let mut chunks = big.chunks(10);
        let first = next!(chunks).unwrap().unwrap();
        assert_eq!(first, b"xxxxxxxxxx");
        drop(chunks);
        wait!(wait!(client.get(server.url("/tiny")).send()).unwrap().bytes()).unwrap();
        assert_eq!(server.connections(), 2, "a partly read body is not reused");
    }

    fn framing_oddities_prevent_reuse() {
        let server = Server::http(|_| {
            Reply::raw(&b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"[..])
        });
        let client = duet::Client::new();
        for _ in 0..2 {
            assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "abc");
        }
        assert_eq!(server.connections(), 2);
    }

    fn a_stale_connection_is_retried_once_for_idempotent_requests() {
        let server = Server::scripted(|conn| {
            if conn.index() == 0 {
                let first = conn.read_request().unwrap();
                conn.send(&Reply::ok(first.path().to_owned()));
                conn.read_request(); // the server goes away just as the next request arrives
                conn.close();
            } else {
                conn.serve(|r| Reply::ok(r.path().to_owned()));
            }
        });
        let client = duet::Client::new();
        assert_eq!(wait!(wait!(client.get(server.url("/1")).send()).unwrap().text()).unwrap(), "/1");
        assert_eq!(wait!(wait!(client.get(server.url("/2")).send()).unwrap().text()).unwrap(), "/2");
        assert_eq!(server.connections(), 2);
        let paths: Vec<String> = server.requests().iter().map(|r| r.path().to_owned()).collect();
        assert_eq!(paths, ["/1", "/2", "/2"], "the second request went out twice");
    }

    fn a_stale_connection_is_not_retried_for_a_post() {
        let server = Server::scripted(|conn| {
            if conn.index() == 0 {
                conn.read_request();
                conn.send(&Reply::ok("first"));
                conn.read_request();
                conn.close();
            } else {
                conn.serve(|_| Reply::ok("should not be reached"));
            }
        });
        let client = duet::Client::new();
        wait!(wait!(client.get(server.url("/1")).send()).unwrap().bytes()).unwrap();
        let err = wait!(client.post(server.url("/2")).body("data").send()).unwrap_err();
        assert!(err.is_protocol(), "{err}");
        assert_eq!(server.connections(), 1);
    }

    fn a_connection_is_not_reused_near_the_servers_keep_alive_timeout() {
        // The server says it keeps an idle connection 1 s and is closing it just as the next
        // request arrives (Node.js and Apache send `Keep-Alive: timeout=N`): a POST on it would
        // be lost. Idle for more than half of that, the connection is not reused.
        let short = Server::scripted(|conn| {
            if conn.index() == 0 {
                for _ in 0..2 {
                    conn.read_request();
                    conn.send(&Reply::ok("kept").header("Keep-Alive", "timeout=1, max=100"));
                }
                conn.read_request();
                conn.close();
            } else {
                conn.serve(|r| Reply::ok(r.method.clone()));
            }
        });
        let long = Server::http(|r| Reply::ok(format!("{}", r.conn)).header("Keep-Alive", "timeout=5"));
        let client = duet::Client::new();
        for _ in 0..2 {
            assert_eq!(wait!(wait!(client.get(short.url("/")).send()).unwrap().text()).unwrap(), "kept");
        }
        assert_eq!(wait!(wait!(client.get(long.url("/")).send()).unwrap().text()).unwrap(), "0");
        std::thread::sleep(Duration::from_millis(600));
        let response = wait!(client.post(short.url("/")).body("x").send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "POST");
        assert_eq!(short.connections(), 2);
        assert_eq!(wait!(wait!(client.get(long.url("/")).send()).unwrap().text()).unwrap(), "0", "well within 5 s it is reused");
    }

    fn an_idle_connection_the_server_closed_is_not_used() {
        let server = Server::http(|_| Reply::ok("x"));
        let client = duet::Client::new();
        wait!(wait!(client.get(server.url("/")).send()).unwrap().bytes()).unwrap();
        server.close_connections();
        std::thread::sleep(Duration::from_millis(100));
        wait!(wait!(client.get(server.url("/")).send()).unwrap().bytes()).unwrap();
        assert_eq!(server.connections(), 2);
        assert_eq!(server.requests().len(), 2, "no request was lost to the dead connection");
    }

    fn an_idle_connection_the_server_spoke_on_is_not_used() {
        // A server may answer on an idle connection before closing it (an unsolicited 408 on
        // its idle timeout, or bytes past a body's length): that is no answer to the next
        // request, which goes on a new connection, even a POST.
        let server = speaks_after_its_answer();
        let client = duet::Client::new();
        assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "first");
        std::thread::sleep(Duration::from_millis(200));
        let response = wait!(client.post(server.url("/")).body("x").send()).unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(wait!(response.text()).unwrap(), "POST");
        assert_eq!(server.connections(), 2);
    }

    fn what_a_server_sends_after_its_answer_never_answers_the_next_request() {
        // Bytes past a complete answer (here a whole stray response) that arrive while the
        // connection is idle, even moments before the next request (a GET, which could be
        // sent again): the connection is checked before reuse, so they are never taken for
        // that request's answer, and it goes on a new connection.
        let stray_sent = Arc::new(AtomicBool::new(false));
        let sent = stray_sent.clone();
        let server = Server::scripted(move |conn| {
            if conn.index() == 0 {
                conn.read_request();
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
                conn.sleep(Duration::from_millis(10)); // after the client has read the answer
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray");
                sent.store(true, Ordering::SeqCst);
                conn.sleep(Duration::from_secs(5));
            } else {
                conn.serve(|r| Reply::ok(r.method.clone()));
            }
        });
        let client = duet::Client::new();
        assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "first");
        while !stray_sent.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(5)); // well within the time a pooled connection is kept
        let response = wait!(client.get(server.url("/")).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "GET");
        assert_eq!(server.connections(), 2);
    }

    fn what_tls_holds_past_an_answer_never_answers_the_next_request() {
        // Over TLS, the bytes past an answer can come in the record that ends it: a read that
        // stops at the answer's end leaves them inside TLS, where a look at the socket does
        // not see them. The check before reuse asks TLS too, so the next request goes on a
        // new connection instead of taking them for its answer.
        let body = vec![b'b'; 100_000];
        let mut answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        answer.extend_from_slice(&body);
        // One write: the stray answer is in the last record, with the body's end.
        answer.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray");
        let server = Server::scripted_tls(duet_tests::tls::Cert::Localhost, move |conn| {
            if conn.index() == 0 {
                conn.read_request();
                conn.write(&answer);
                conn.sleep(Duration::from_secs(5));
            } else {
                conn.serve(|r| Reply::ok(r.method.clone()));
            }
        });
        let client = duet::Client::builder().add_root_certificate_pem(duet_tests::tls::ca_pem()).resolve("localhost", duet_tests::tls::LOOPBACK).build().unwrap();
        let first = wait!(client.get(server.url("/")).send()).unwrap();
        assert_eq!(wait!(first.bytes()).unwrap().len(), 100_000);
        let response = wait!(client.get(server.url("/")).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "GET");
        assert_eq!(server.connections(), 2);
    }

    fn a_server_closing_just_after_its_answer_costs_a_get_only_a_retry() {
        let server = Server::scripted(|conn| {
            if conn.index() == 0 {
                let first = conn.read_request().unwrap();
                conn.send(&Reply::ok(first.path().to_owned()));
                conn.close(); // no `Connection: close` said
            } else {
                conn.serve(|r| Reply::ok(r.path().to_owned()));
            }
        });
        let client = duet::Client::new();
        for path in ["/1", "/2"] {
            assert_eq!(wait!(wait!(client.get(server.url(path)).send()).unwrap().text()).unwrap(), path);
        }
        assert_eq!(server.connections(), 2);
        let paths: Vec<String> = server.requests().iter().map(|r| r.path().to_owned()).collect();
        assert_eq!(paths, ["/1", "/2"]);
    }

    fn the_per_host_cap_waits_then_times_out_in_the_pool_phase() {
        let server = Server::http(|_| Reply::ok(vec![b'x'; 2_000_000]));
        let client = duet::Client::builder().pool_max_per_host(1).pool_timeout(Duration::from_millis(200)).build().unwrap();
        let held = wait!(client.get(server.url("/")).send()).unwrap();
        let err = wait!(client.get(server.url("/")).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Pool), "{err}");
        drop(held);
        wait!(wait!(client.get(server.url("/")).send()).unwrap().bytes()).unwrap();
    }

    fn a_freed_slot_reaches_the_request_waiting_for_that_host() {
        // Two hosts at their cap of one connection, a request waiting for each. The slot
        // host A frees must reach A's waiter even though B's has waited longer.
        let (a, b) = (Server::http(big_or_small), Server::http(big_or_small));
        let client = duet::Client::builder().pool_max_per_host(1).pool_timeout(Duration::from_secs(10)).build().unwrap();
        let held_a = wait!(client.get(a.url("/big")).send()).unwrap();
        let held_b = wait!(client.get(b.url("/big")).send()).unwrap();
        let waiter = |url: String| {
            let client = client.clone();
            spawn!({ wait!(wait!(client.get(url.as_str()).send())?.text()) })
        };
        let waiting_b = waiter(b.url("/"));
        std::thread::sleep(Duration::from_millis(200));
        let waiting_a = waiter(a.url("/"));
        std::thread::sleep(Duration::from_millis(200));
        drop(held_a); // a body left unread: the connection closes and its slot is free
        assert_eq!(join!(waiting_a).unwrap(), "small", "A's waiter got A's slot");
        assert_eq!(b.requests().len(), 1, "B's waiter still waits");
        drop(held_b);
        assert_eq!(join!(waiting_b).unwrap(), "small");
    }

    fn the_total_cap_waits_then_times_out_in_the_pool_phase() {
        let (a, b) = (Server::http(big_or_small), Server::http(big_or_small));
        let client = duet::Client::builder().pool_max_connections(1).pool_timeout(Duration::from_millis(200)).build().unwrap();
        let held = wait!(client.get(a.url("/big")).send()).unwrap();
        let err = wait!(client.get(b.url("/")).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Pool), "{err}");
        assert_eq!(b.connections(), 0);
        drop(held);
        assert_eq!(wait!(wait!(client.get(b.url("/")).send()).unwrap().text()).unwrap(), "small");
    }

    fn at_the_total_cap_a_connection_idle_to_another_host_makes_room() {
        let (a, b) = (Server::http(big_or_small), Server::http(big_or_small));
        let client = duet::Client::builder().pool_max_connections(1).pool_timeout(Duration::from_secs(10)).build().unwrap();
        let held = wait!(client.get(a.url("/big")).send()).unwrap();
        let waiting = {
            let (client, url) = (client.clone(), b.url("/"));
            spawn!({ wait!(wait!(client.get(url.as_str()).send())?.text()) })
        };
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(b.connections(), 0, "B's request waits while A's connection is busy");
        // Read to the end, A's connection goes back to the pool: idle, so it is closed to
        // make room for B's.
        assert_eq!(wait!(held.bytes()).unwrap().len(), 2_000_000);
        assert_eq!(join!(waiting).unwrap(), "small");
        // And B's idle connection makes room for A's next one in turn.
        assert_eq!(wait!(wait!(client.get(a.url("/")).send()).unwrap().text()).unwrap(), "small");
        assert_eq!((a.connections(), b.connections()), (2, 1));
    }

    fn a_connection_idle_past_its_timeout_is_closed_as_it_expires_or_by_the_next_request() {
        // A serves until the client closes its connection, then says so.
        let (closed, on_close) = std::sync::mpsc::channel();
        let a = Server::scripted(move |conn| {
            conn.serve(|_| Reply::ok("a"));
            let _ = closed.send(());
        });
        let b = Server::http(|_| Reply::ok("b"));
        let idle_timeout = Duration::from_millis(200);
        let client = duet::Client::builder().pool_idle_timeout(idle_timeout).build().unwrap();
        assert_eq!(wait!(wait!(client.get(a.url("/")).send()).unwrap().text()).unwrap(), "a");
        // Otherwise it would stay open until the server's own read timeout (10 s).
        let in_time = Duration::from_secs(5);
        if flavour!() == "async" {
            // A task on the runtime closes it as it expires (the wait hands this worker's
            // tasks to another thread, so that task runs meanwhile).
            let closed = tokio::task::block_in_place(|| on_close.recv_timeout(in_time));
            assert!(closed.is_ok(), "A's idle connection was closed");
        } else {
            // No timer: the next request, to any host, closes it.
            std::thread::sleep(idle_timeout + Duration::from_millis(100));
            assert!(on_close.try_recv().is_err(), "nothing closes it while the client is unused");
        }
        assert_eq!(wait!(wait!(client.get(b.url("/")).send()).unwrap().text()).unwrap(), "b");
        if flavour!() == "blocking" {
            assert!(on_close.recv_timeout(in_time).is_ok(), "A's idle connection was closed");
        }
        assert_eq!((a.connections(), b.connections()), (1, 1));
    }

    fn the_total_idle_cap_keeps_the_connections_used_last() {
        let (a, b) = (Server::http(|_| Reply::ok("x")), Server::http(|_| Reply::ok("x")));
        let client = duet::Client::builder().pool_max_idle(1).build().unwrap();
        for url in [a.url("/"), b.url("/"), b.url("/"), a.url("/"), a.url("/")] {
            wait!(wait!(client.get(url).send()).unwrap().bytes()).unwrap();
        }
        assert_eq!(b.connections(), 1, "B's idle connection was reused");
        assert_eq!(a.connections(), 2, "A's was closed when B's became idle; the new one is reused");
    }
}
