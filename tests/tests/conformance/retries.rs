//! Retries by policy, against flaky in-process servers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use duet_core::client::RetryPolicy;
use duet_tests::logs;
use duet_tests::server::*;

fn quick() -> RetryPolicy {
    let mut policy = RetryPolicy::default_safe();
    policy.backoff_base = Duration::from_millis(10);
    policy.backoff_max = Duration::from_millis(50);
    policy
}

duet_tests::conformance! {
    fn a_reset_connection_is_retried_for_an_idempotent_request() {
        let server = Server::scripted(|conn| {
            if conn.index() == 0 {
                conn.read_request();
                conn.reset();
            } else {
                conn.serve(|_| Reply::ok("second time lucky"));
            }
        });
        let client = duet::Client::builder().retry(quick()).build().unwrap();
        assert_eq!(wait!(wait!(client.get(server.url("/")).send()).unwrap().text()).unwrap(), "second time lucky");
        assert_eq!(server.connections(), 2);
        let plain = duet::Client::new();
        let flaky = Server::scripted(|conn| {
            conn.read_request();
            conn.reset();
        });
        assert!(wait!(plain.get(flaky.url("/")).send()).is_err(), "no policy, no retry");
    }

    fn busy_statuses_are_retried_and_retry_after_honoured() {
        let calls = AtomicUsize::new(0);
        let server = Server::http(move |_| match calls.fetch_add(1, Ordering::Relaxed) {
            0 => Reply::new(503).header("Retry-After", "0").body("busy"),
            1 => Reply::new(429).body("slow down"),
            _ => Reply::ok("done"),
        });
        let client = duet::Client::builder().retry(quick()).build().unwrap();
        let response = wait!(client.get(server.url("/")).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "done");
        assert_eq!(server.requests().len(), 3);
        assert_eq!(server.connections(), 1, "drained responses kept the connection");
    }

    /// The retry goes with the cookies the jar holds when it goes: a balancer's cookie set on
    /// its 503 included.
    fn a_retry_carries_the_cookie_the_retried_answer_set() {
        let calls = AtomicUsize::new(0);
        let server = Server::http(move |r| match calls.fetch_add(1, Ordering::Relaxed) {
            0 => Reply::new(503).header("Retry-After", "0").header("Set-Cookie", "lb=b2; Path=/").body("busy"),
            _ => Reply::ok(r.header_str("cookie").unwrap_or("no cookie").to_owned()),
        });
        let client = duet::Client::builder().retry(quick()).build().unwrap();
        let response = wait!(client.get(server.url("/")).send()).unwrap();
        assert_eq!(wait!(response.text()).unwrap(), "lb=b2");
    }

    /// A retry after a Digest round answers anew (the next `nc`, a new `cnonce`) rather
    /// than replaying the answer the retried response got: a server that refuses a replayed
    /// count (RFC 7616 §3.4.5) answers a replay with a plain 401, which the spent round
    /// could not answer, and the caller got that 401.
    fn a_retry_after_a_digest_round_is_not_refused_as_a_replay() {
        use crate::auth::digest_server::{PASSWORD, REALM, USER, hex_md5, params};
        let seen = std::sync::Mutex::new(Vec::new());
        let server = Server::http(move |r| {
            let challenge = Reply::new(401).header(
                "WWW-Authenticate",
                format!("Digest realm=\"{REALM}\", qop=\"auth\", nonce=\"n0\""),
            );
            let Some(header) = r.header_str("authorization") else {
                return challenge;
            };
            let p = params(header);
            let get = |k: &str| p.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.as_str());
            let ha1 = hex_md5(format!("{USER}:{REALM}:{PASSWORD}").as_bytes());
            let ha2 = hex_md5(format!("{}:{}", r.method, get("uri")).as_bytes());
            let expected = hex_md5(
                format!("{ha1}:n0:{}:{}:auth:{ha2}", get("nc"), get("cnonce")).as_bytes(),
            );
            let count = (get("nc").to_owned(), get("cnonce").to_owned());
            let mut seen = seen.lock().unwrap();
            if get("response") != expected || seen.contains(&count) {
                return challenge;
            }
            seen.push(count);
            match seen.len() {
                1 => Reply::new(503).header("Retry-After", "0").body("busy"),
                _ => Reply::ok(format!("nc {}", get("nc"))),
            }
        });
        let client = duet::Client::builder().digest_auth(USER, PASSWORD).retry(quick()).build().unwrap();
        let response = wait!(client.get(server.url("/doc")).send()).unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(wait!(response.text()).unwrap(), "nc 00000002");
        assert_eq!(server.requests().len(), 3, "challenge, answer (503), the retry's answer");
    }

    fn a_retry_after_beyond_what_the_clock_holds_is_no_retry() {
        // With no cap on Retry-After, a server asking for an endless wait gets its answer
        // delivered as it is (no retry, no overflow).
        let server = Server::http(|_| Reply::new(503).header("Retry-After", "99999999999999999999").body("busy"));
        let mut policy = quick();
        policy.retry_after_max = Duration::MAX;
        policy.total_budget = None;
        let client = duet::Client::builder().retry(policy).build().unwrap();
        let response = wait!(client.get(server.url("/")).send()).unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(wait!(response.text()).unwrap(), "busy");
        assert_eq!(server.requests().len(), 1);
    }

    fn a_request_waiting_out_a_retry_after_holds_no_connection() {
        // One connection per host. While one request waits the second the server asked for,
        // its drained connection serves another request, which would otherwise time out
        // waiting for it (a pool timeout is not retried).
        let calls = AtomicUsize::new(0);
        let server = Server::http(move |r| match (r.path(), calls.fetch_add(1, Ordering::Relaxed)) {
            ("/busy", 0) => Reply::new(503).header("Retry-After", "1").body("busy"),
            (path, _) => Reply::ok(path.to_owned()),
        });
        let client = duet::Client::builder().retry(quick()).pool_max_per_host(1).pool_timeout(Duration::from_millis(500)).build().unwrap();
        let waiting = {
            let (client, url) = (client.clone(), server.url("/busy"));
            spawn!({ wait!(wait!(client.get(url.as_str()).send())?.text()) })
        };
        while server.requests().is_empty() {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(100)); // the 503 read, the wait begun
        let other = wait!(client.get(server.url("/other")).send()).expect("the connection was free");
        assert_eq!(wait!(other.text()).unwrap(), "/other");
        assert_eq!(join!(waiting).unwrap(), "/busy");
        let paths: Vec<_> = server.requests().iter().map(|r| r.path().to_owned()).collect();
        assert_eq!(paths, ["/busy", "/other", "/busy"]);
        assert_eq!(server.connections(), 1, "all three requests on the one connection");
    }

    fn a_pool_timeout_is_not_retried() {
        // The client's own connections stayed busy for the whole pool timeout: waiting for
        // them again would stretch the timeout the caller chose (nor do urllib3 and httpx
        // retry it).
        logs::capture();
        let server = Server::http(|r| match r.path() {
            "/big" => Reply::ok(vec![b'x'; 2_000_000]),
            _ => Reply::ok("small"),
        });
        let client = duet::Client::builder().retry(quick()).pool_max_per_host(1).pool_timeout(Duration::from_millis(200)).build().unwrap();
        let held = wait!(client.get(server.url("/big")).send()).unwrap();
        let err = wait!(client.get(server.url("/waiting")).send()).unwrap_err();
        assert_eq!(err.timeout_phase(), Some(duet::TimeoutPhase::Pool), "{err}");
        let records = logs::records_with(&server.url("/waiting"));
        assert!(records.iter().all(|r| !r.contains("retry policy")), "{records:#?}");
        drop(held);
        assert_eq!(wait!(wait!(client.get(server.url("/waiting")).send()).unwrap().text()).unwrap(), "small");
        assert_eq!(server.requests().len(), 2, "the request that timed out was never sent");
    }

    fn a_retry_that_would_outlast_the_total_timeout_is_not_waited_for() {
        // The server asks for 30 s; the request has 2 s in all. The 503 is delivered, not a
        // timeout at the end of a 30 s sleep.
        let server = Server::http(|_| Reply::new(503).header("Retry-After", "30").body("busy"));
        let client = duet::Client::builder().retry(quick()).timeout(Duration::from_secs(2)).build().unwrap();
        let response = wait!(client.get(server.url("/")).send()).unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(wait!(response.text()).unwrap(), "busy");
        assert_eq!(server.requests().len(), 1);
    }

    fn retries_stop_at_the_limit_and_the_last_response_is_delivered() {
        let server = Server::http(|_| Reply::new(502));
        let mut policy = quick();
        policy.max_retries = 2;
        let client = duet::Client::builder().retry(policy).build().unwrap();
        assert_eq!(wait!(client.get(server.url("/")).send()).unwrap().status(), 502);
        assert_eq!(server.requests().len(), 3);
    }

    fn a_post_that_reached_the_server_is_not_sent_again() {
        let server = Server::scripted(|conn| {
            conn.read_request();
            conn.reset();
        });
        let client = duet::Client::builder().retry(quick()).build().unwrap();
        assert!(wait!(client.post(server.url("/")).body("once").send()).is_err());
        assert_eq!(server.requests().len(), 1);
        let busy = Server::http(|_| Reply::new(503));
        assert_eq!(wait!(client.post(busy.url("/")).body("x").send()).unwrap().status(), 503);
        assert_eq!(busy.requests().len(), 1, "statuses are retried for idempotent methods only");
    }

    fn a_refused_connection_is_retried_then_reported() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = duet::Client::builder().retry(quick()).build().unwrap();
        let err = wait!(client.post(format!("http://127.0.0.1:{port}/")).body("x").send()).unwrap_err();
        assert!(err.is_connect(), "{err}");
    }
}
