//! The request line and head: method, URL, headers, query; redirects and timeouts.

use std::time::{Duration, Instant};

use duet_cli::demo::Site;
use duet_tests::server::{BlackHole, Reply, Server};

use crate::harness::*;

#[test]
fn get_by_default_post_with_a_body_and_any_method_with_x() {
    let site = Site::start();
    let url = site.echo("/echo");
    for (args, method) in [
        (vec![url.as_str()], "GET"),
        (vec!["-d", "x", url.as_str()], "POST"),
        (vec!["-X", "PUT", "-d", "x", url.as_str()], "PUT"),
        (vec!["-X", "DELETE", url.as_str()], "DELETE"),
        (vec!["--method", "PROPFIND", url.as_str()], "PROPFIND"),
    ] {
        let (report, run) = duet(&args).report();
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(echoed(&report)["method"], method, "{args:?}");
    }
}

#[test]
fn api_docs_curl_spellings_work() {
    // What generated snippets (Postman, ReadMe, Insomnia) and curl's manual write.
    let site = Site::start();
    let url = site.echo("/echo");
    let (report, run) = duet(&[
        "--request",
        "PATCH",
        "--url",
        &url,
        "--header",
        "accept: application/json",
        "--oauth2-bearer",
        "t0k",
        "-r",
        "0-99,200-",
        "--data",
        "a=1",
    ])
    .report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let echo = echoed(&report);
    assert_eq!(echo["method"], "PATCH");
    assert_eq!(
        header(&echo["headers"], "authorization"),
        Some("Bearer t0k")
    );
    assert_eq!(header(&echo["headers"], "range"), Some("bytes=0-99,200-"));
    assert_eq!(echo["body"], "a=1");
    let (report, _) = duet(&["-r", "-5", "-H", "Range: bytes=1-2", &url]).report();
    assert_eq!(
        header(&echoed(&report)["headers"], "range"),
        Some("bytes=1-2"),
        "-H wins"
    );
    for wrong in [
        &["-r", "5", &url][..],
        &["-r", "a-b", &url],
        &["--url", &url, &url],
    ] {
        assert_eq!(duet(wrong).run().code, 2, "{wrong:?}");
    }
    // --fail-with-body: exit 22 as --fail, and the body still printed.
    let run = duet(&["--fail-with-body", "-s", &site.echo("/status/404")]).run();
    assert_eq!(run.code, 22);
    assert_eq!(String::from_utf8_lossy(&run.stdout), r#"{"status":404}"#);
}

#[test]
fn ipv4_and_ipv6_only_as_curls_4_and_6() {
    let server = Server::http(|_| Reply::ok("here"));
    let localhost = server.url("/").replace("127.0.0.1", "localhost");
    let run = duet(&["-4", "-w", " %{remote_ip}", &localhost]).run();
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "here 127.0.0.1"),
        "{}",
        run.stderr
    );
    // 127.0.0.1 has no IPv6 address: nothing is even tried.
    let run = duet(&["-6", &server.url("/")]).run();
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("no IPv6 address"), "{}", run.stderr);
    assert_eq!(server.connections(), 1);
    assert_eq!(duet(&["-4", "-6", &server.url("/")]).run().code, 2);
}

#[test]
fn headers_repeat_in_order_and_may_be_empty_or_left_out_as_curls() {
    let site = Site::start();
    let (report, _) = duet(&[
        "-H",
        "X-Trace: 1",
        "--header",
        "x-trace:2",
        "-H",
        "X-Empty;",
        "-H",
        "User-Agent: duet-test",
        "-H",
        "Accept:",
        "-H",
        "accept-encoding:  ",
        "-H",
        "X-Gone: here",
        "-H",
        "X-Gone:",
        &site.echo("/echo"),
    ])
    .report();
    let echo = echoed(&report);
    let headers: Vec<(String, String)> = serde_json::from_value(echo["headers"].clone()).unwrap();
    let traces: Vec<&(String, String)> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-trace"))
        .collect();
    assert_eq!(traces.len(), 2);
    assert_eq!((traces[0].1.as_str(), traces[1].1.as_str()), ("1", "2"));
    assert_eq!(
        header(&echo["headers"], "x-empty"),
        Some(""),
        "Name; sends it empty"
    );
    assert_eq!(header(&echo["headers"], "user-agent"), Some("duet-test"));
    for gone in ["accept", "accept-encoding", "x-gone"] {
        assert_eq!(
            header(&echo["headers"], gone),
            None,
            "Name: leaves {gone} out"
        );
    }

    // -A '' sends no User-Agent, as curl's; -H 'Content-Type:' leaves out the form's type.
    let (report, _) = duet(&[
        "-A",
        "",
        "-d",
        "a=1",
        "-H",
        "Content-Type:",
        &site.echo("/echo"),
    ])
    .report();
    let echo = echoed(&report);
    assert_eq!(header(&echo["headers"], "user-agent"), None);
    assert_eq!(header(&echo["headers"], "content-type"), None);
    assert_eq!(echo["body"], "a=1");
    // Host cannot be left out; a name with neither ':' nor ';' is a usage error.
    let run = duet(&["-H", "Host:", &site.echo("/echo")]).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("host header cannot be left out"),
        "{}",
        run.stderr
    );
    assert_eq!(
        duet(&["-H", "X-Nothing", &site.echo("/echo")]).run().code,
        2
    );

    // -H @FILE: a field per line, in its place among the others, as curl's.
    let dir = tempfile::tempdir().unwrap();
    let fields = file(dir.path(), "h.txt", "X-File: 1\r\nAccept:\n\nx-two: 2 2\n");
    let from_file = format!("@{}", arg(&fields));
    let (report, run) =
        duet(&["-H", "X-Before: 0", "-H", &from_file, &site.echo("/echo")]).report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let echo = echoed(&report);
    let headers: Vec<(String, String)> = serde_json::from_value(echo["headers"].clone()).unwrap();
    let mine: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-"))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(mine, [("X-Before", "0"), ("X-File", "1"), ("x-two", "2 2")]);
    assert_eq!(
        header(&echo["headers"], "accept"),
        None,
        "Accept: in the file leaves it out"
    );
    let (report, run) = duet(&["-H", "@-", &site.echo("/echo")])
        .stdin(b"X-Stdin: yes\n")
        .report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(header(&echoed(&report)["headers"], "x-stdin"), Some("yes"));
    let missing = duet(&["-H", "@/nonexistent/duet-headers", &site.echo("/echo")]).run();
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("-H @/nonexistent/duet-headers"),
        "{}",
        missing.stderr
    );
}

#[test]
fn query_parameters_are_appended_and_encoded() {
    let site = Site::start();
    let (report, _) = duet(&[
        "-q",
        "a=1",
        "--query",
        "b=x y&z",
        "-q",
        "a=2",
        &site.echo("/echo?first=0"),
    ])
    .report();
    assert_eq!(
        echoed(&report)["query"],
        serde_json::json!([["first", "0"], ["a", "1"], ["b", "x y&z"], ["a", "2"]])
    );
    assert!(report["url"].as_str().unwrap().contains("first=0&a=1&b="));
}

#[test]
fn a_url_without_a_scheme_is_http() {
    let site = Site::start();
    let url = site.echo("/echo");
    let bare = url.strip_prefix("http://").unwrap();
    let (report, run) = duet(&[bare]).report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["url"], url);
}

#[test]
fn redirects_are_followed_and_recorded() {
    let site = Site::start();
    let (report, _) = duet(&[site.echo("/redirect/3")]).report();
    assert_eq!(report["status"], 200);
    assert_eq!(report["url"], site.echo("/echo"));
    let hops: Vec<(u64, String)> = report["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["status"].as_u64().unwrap(),
                h["url"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        hops,
        [3, 2, 1].map(|n| (302, site.echo(&format!("/redirect/{n}"))))
    );
    assert_eq!(
        header(&report["history"][2]["headers"], "location"),
        Some("/echo")
    );
}

#[test]
fn no_follow_gives_the_redirect_itself() {
    let site = Site::start();
    let (report, run) = duet(&["--no-follow", &site.echo("/redirect/2")]).report();
    assert_eq!(run.code, 0);
    assert_eq!(report["status"], 302);
    assert_eq!(report["history"], serde_json::json!([]));
    assert_eq!(header(&report["headers"], "location"), Some("/redirect/1"));
    assert_eq!(site.echo_server().requests().len(), 1);
}

#[test]
fn max_redirects_caps_the_hops() {
    let site = Site::start();
    let (report, run) = duet(&["--max-redirects", "3", &site.echo("/redirect/3")]).report();
    assert_eq!((run.code, report["status"].clone()), (0, 200.into()));
    let (report, run) = duet(&["--max-redirects", "2", &site.echo("/redirect/3")]).report();
    assert_eq!(run.code, 47, "{}", run.stderr);
    assert_eq!(report["error"]["kind"], "too_many_redirects");
    assert_eq!(report["status"], serde_json::Value::Null);
    assert!(
        !report["history"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert!(
        run.stderr.starts_with("duet: too_many_redirects: "),
        "{}",
        run.stderr
    );
}

#[test]
fn a_total_timeout() {
    let site = Site::start();
    let started = Instant::now();
    let (report, run) = duet(&["--timeout", "0.2", &site.echo("/slow")]).report();
    assert_eq!(run.code, 28, "{}", run.stderr);
    assert_eq!(report["error"]["kind"], "timeout");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the request as a whole"),
        "{report}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_read_timeout() {
    let server = Server::http(|_| Reply::ok("late").delay(Duration::from_secs(3)));
    let (report, run) = duet(&["--read-timeout", "0.2", &server.url("/")]).report();
    assert_eq!(run.code, 28);
    assert_eq!(report["error"]["kind"], "timeout");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("waiting for the response"),
        "{report}"
    );
}

#[test]
fn a_connect_timeout() {
    // A loopback listener that never accepts, its backlog full: connecting hangs.
    let hole = BlackHole::new();
    let addr = hole.addr();
    let started = Instant::now();
    let (report, run) = duet(&["--connect-timeout", "0.2", &format!("http://{addr}/")]).report();
    assert_eq!(run.code, 28, "{}", run.stderr);
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connecting"),
        "{report}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn resolve_connects_a_name_to_the_address_given() {
    let server = Server::http(|req| Reply::ok(req.header_str("host").unwrap_or("-")));
    let url = format!("http://duet.test:{}/", server.port());
    let entry = format!("duet.test:{}:127.0.0.1", server.port());
    for flavour in [&[][..], &["--async"]] {
        let run = duet(&[&["--resolve", &entry][..], flavour, &[&url]].concat()).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.out(), format!("duet.test:{}", server.port()));
    }
    // An entry holds for its port only (as curl's): one for another port, given last, does
    // not send this one to its address.
    let other_port = server.port().wrapping_add(1).max(1);
    let elsewhere = format!("duet.test:{other_port}:127.0.0.2");
    for flavour in [&[][..], &["--async"]] {
        let args = [
            &["--resolve", &entry, "--resolve", &elsewhere][..],
            flavour,
            &[&url],
        ];
        let run = duet(&args.concat()).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.out(), format!("duet.test:{}", server.port()));
    }
}

#[test]
fn interface_connects_from_the_address_or_through_the_interface_given() {
    let server =
        Server::http(|req| Reply::ok(req.peer.map(|p| p.ip().to_string()).unwrap_or_default()));
    for flavour in [&[][..], &["--async"]] {
        let args = [
            &["--interface", "127.0.0.2", "--keepalive-time", "30"][..],
            flavour,
        ];
        let run = duet(&[&args.concat()[..], &[&server.url("/")]].concat()).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.out(), "127.0.0.2");
    }
    let run = duet(&["--interface", "::1", &server.url("/")]).run();
    assert_eq!(run.code, 7, "a connect failure: {}", run.stderr);
    assert!(run.stderr.contains("no IPv6 address"), "{}", run.stderr);
    // A name: the connection goes through that interface (curl's --interface NAME).
    for flavour in [&[][..], &["--async"]] {
        let run = duet(&[&["--interface", "lo"][..], flavour, &[&server.url("/")]].concat()).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.out(), "127.0.0.1");
        let run = duet(
            &[
                &["--interface", "duet-none0"][..],
                flavour,
                &[&server.url("/")],
            ]
            .concat(),
        )
        .run();
        assert_eq!(run.code, 7, "a connect failure: {}", run.stderr);
        assert!(run.stderr.contains("duet-none0"), "{}", run.stderr);
    }
    let run = duet(&["--interface", "not/a name", &server.url("/")]).run();
    assert_eq!(run.code, 2, "neither a name nor an address: {}", run.stderr);
}

#[test]
fn bad_resolve_entries_are_usage_errors() {
    for entry in [
        "duet.test",
        "duet.test:80",
        "duet.test:http:127.0.0.1",
        ":80:127.0.0.1",
        "duet.test:80:nowhere",
    ] {
        let run = duet(&["--resolve", entry, "http://duet.test/"]).run();
        assert_eq!(run.code, 2, "{entry}");
        assert!(run.stderr.contains("invalid value"), "{}", run.stderr);
    }
}

#[test]
fn bad_numbers_are_usage_errors() {
    for args in [
        &["--timeout", "0", "http://127.0.0.1:9/"][..],
        &["--connect-timeout", "soon", "http://127.0.0.1:9/"],
        &["--read-timeout=-1", "http://127.0.0.1:9/"],
        &["--max-redirects", "many", "http://127.0.0.1:9/"],
    ] {
        let run = duet(args).run();
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.contains("invalid value"), "{}", run.stderr);
    }
}

#[test]
fn retry_sends_again_what_is_safe_to_send_again() {
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    let server = Server::http(move |_| {
        // Every other request is refused for now: the first of each run, then its retry.
        match count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 2 {
            0 => Reply::new(503).body("busy"),
            _ => Reply::ok("done"),
        }
    });
    for flavour in [&[][..], &["--async"]] {
        let run = duet(
            &[
                &["--retry", "2", "--fail"][..],
                flavour,
                &[&server.url("/")],
            ]
            .concat(),
        )
        .run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.out(), "done");
    }
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 4);
    // Without it the 503 is the answer; a POST is never sent twice.
    let run = duet(&["--fail", &server.url("/")]).run();
    assert_eq!(run.code, 22, "{}", run.stderr);
    served.store(0, std::sync::atomic::Ordering::SeqCst);
    let run = duet(&["--retry", "2", "--fail", "-d", "x", &server.url("/")]).run();
    assert_eq!(run.code, 22, "{}", run.stderr);
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn curls_retry_companions_shape_the_retries() {
    // Every request but each third is refused with a 500, which --retry alone never retries.
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    let server =
        Server::http(
            move |_| match count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 3 {
                2 => Reply::ok("done"),
                _ => Reply::new(500).body("oops"),
            },
        );
    let url = server.url("/");
    let run = duet(&[
        "--retry",
        "3",
        "--retry-delay",
        "0.2",
        "--retry-connrefused",
        "--retry-all-errors",
        "--fail",
        "-d",
        "x",
        &url,
    ])
    .run();
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "done"),
        "{}",
        run.stderr
    );
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "a POST too, with --retry-all-errors"
    );
    // The same wait each time: two fixed delays of 0.2 s, not a backoff starting at 0.5 s.
    served.store(0, std::sync::atomic::Ordering::SeqCst);
    let started = Instant::now();
    let run = duet(&[
        "--retry",
        "3",
        "--retry-delay",
        "0.2",
        "--retry-all-errors",
        &url,
    ])
    .run();
    assert_eq!(run.out(), "done");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    // --retry-max-time: no retry whose wait would end past it.
    served.store(0, std::sync::atomic::Ordering::SeqCst);
    let run = duet(&[
        "--retry",
        "3",
        "--retry-delay",
        "1",
        "--retry-max-time",
        "0.5",
        "--retry-all-errors",
        "--fail",
        &url,
    ])
    .run();
    assert_eq!(run.code, 22, "{}", run.stderr);
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Without --retry-all-errors a 500 is not retried; the companions need --retry.
    served.store(0, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(duet(&["--retry", "3", "--fail", &url]).run().code, 22);
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(duet(&["--retry-delay", "1", &url]).run().code, 2);
}

#[cfg(unix)]
#[test]
fn unix_socket_sends_every_request_to_the_socket() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request).into_owned();
            let line = text.lines().next().unwrap_or_default().to_owned();
            let host = text
                .lines()
                .find_map(|l| l.strip_prefix("Host: "))
                .unwrap_or_default()
                .to_owned();
            let body = format!("{line} for {host}");
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    let socket = path.to_str().unwrap();
    for flavour in [&[][..], &["--async"]] {
        let args = [
            &["--unix-socket", socket][..],
            flavour,
            &["http://docker/v1/version"],
        ];
        let run = duet(&args.concat()).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.out(), "GET /v1/version HTTP/1.1 for docker");
    }
    let run = duet(&["--unix-socket", "/nonexistent/duet.sock", "http://docker/"]).run();
    assert_eq!(run.code, 7, "a connect failure: {}", run.stderr);
    assert!(
        run.stderr.contains("/nonexistent/duet.sock"),
        "{}",
        run.stderr
    );
}
