//! Errors: one line on stderr with the kind, the exit code, and the report still printed.

use duet_cli::demo::Site;
use duet_tests::server::{Reply, Server, refused_addr};
use serde_json::{Value, json};

use crate::harness::*;

#[test]
fn a_refused_connection() {
    let url = format!("http://{}/", refused_addr());
    let run = duet(&[&url]).run();
    assert_eq!(run.code, 7);
    assert!(run.stderr.starts_with("duet: connect: "), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1);
    assert!(run.stdout.is_empty());
    let (report, run) = duet(&[&url]).report();
    assert_eq!(run.code, 7);
    assert_eq!(
        (
            report["status"].clone(),
            report["url"].clone(),
            report["error"]["kind"].clone()
        ),
        (Value::Null, json!(url), json!("connect"))
    );
}

#[test]
fn a_server_that_breaks_the_protocol() {
    let server = Server::http(|_| Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"));
    let (report, run) = duet(&[server.url("/")]).report();
    assert_eq!(run.code, 1);
    assert_eq!(report["error"]["kind"], "protocol", "{report}");
    assert!(run.stderr.starts_with("duet: protocol: "), "{}", run.stderr);
}

#[test]
fn a_body_cut_short_and_no_answer_at_all_exit_with_curls_numbers() {
    let server = Server::scripted(|conn| {
        let Some(request) = conn.read_request() else {
            return;
        };
        // Then the script ends, and the connection closes.
        let _ = match request.target.as_str() {
            "/length" => conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
            "/chunked" => {
                conn.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
            }
            _ => true,
        };
    });
    for (path, code, kind, body) in [
        ("/length", 18, "protocol", "abc"),
        ("/chunked", 18, "protocol", "ab"),
        ("/nothing", 52, "protocol", ""),
    ] {
        let run = duet(&[server.url(path)]).run();
        assert_eq!(run.code, code, "{path}: {}", run.stderr);
        assert!(
            run.stderr.starts_with(&format!("duet: {kind}: ")),
            "{path}: {}",
            run.stderr
        );
        assert_eq!(run.stdout, body.as_bytes(), "{path}: what came is kept");
    }
}

#[test]
fn a_body_that_does_not_decode() {
    let server =
        Server::http(|_| Reply::ok("this is not gzip at all").header("Content-Encoding", "gzip"));
    let (report, run) = duet(&[server.url("/")]).report();
    assert_eq!(run.code, 61, "curl's number");
    assert_eq!(report["error"]["kind"], "decode", "{report}");
    assert_eq!(report["status"], 200, "the head had arrived");
}

#[test]
fn urls_that_cannot_be_requested() {
    // curl's numbers: 3 for a malformed URL, 1 for a scheme it does not speak.
    for (url, code) in [
        ("http://exa mple.test/", 3),
        ("ftp://127.0.0.1/", 1),
        ("http://", 3),
    ] {
        let (report, run) = duet(&[url]).report();
        assert_eq!(run.code, code, "{url}");
        assert_eq!(report["error"]["kind"], "invalid_url", "{url}: {report}");
        assert_eq!(report["url"], url);
    }
}

#[test]
fn an_invalid_header_is_refused_before_sending() {
    let site = Site::start();
    let (report, run) = duet(&["-H", "Bad Name: x", &site.echo("/echo")]).report();
    assert_eq!(
        (run.code, report["error"]["kind"].clone()),
        (1, json!("invalid_header"))
    );
    let (report, _) = duet(&["-H", "X-Ok: line\u{1}break", &site.echo("/echo")]).report();
    assert_eq!(report["error"]["kind"], "invalid_header");
    assert!(site.echo_server().requests().is_empty());
}

#[test]
fn proxy_flags_route_the_request() {
    let site = Site::start();
    let proxy = duet_tests::server::Server::http(|r| {
        let auth = r
            .header_str("proxy-authorization")
            .unwrap_or("none")
            .to_owned();
        duet_tests::server::Reply::ok(format!("proxy saw {} with {auth}", r.target))
    });
    let proxy_url = format!("http://{}", proxy.addr());
    let url = site.echo("/echo");
    let run = duet(&[
        "-x",
        proxy_url.as_str(),
        "--proxy-user",
        "pu:pp",
        url.as_str(),
    ])
    .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.out(), format!("proxy saw {url} with Basic cHU6cHA="));
    let env = duet(&["--no-proxy", url.as_str()])
        .env("http_proxy", &proxy_url)
        .run();
    assert_eq!(env.code, 0, "{}", env.stderr);
    assert!(
        !env.out().contains("proxy saw"),
        "--no-proxy ignores the environment"
    );
    let via_env = duet(&[url.as_str()]).env("http_proxy", &proxy_url).run();
    assert!(
        via_env.out().starts_with("proxy saw"),
        "the environment is honoured by default"
    );
    for args in [vec!["--proxy-user", "a:b"], vec!["-x", "ftp://nope"]] {
        let (report, run) = duet(&[args.clone(), vec![url.as_str()]].concat()).report();
        assert_eq!(report["error"]["kind"], "proxy", "{args:?}: {}", run.stderr);
    }
    assert_eq!(
        site.echo_server().requests().len(),
        1,
        "only the --no-proxy call reached the site"
    );

    // As curl's: -x skips the hosts no_proxy lists; --noproxy LIST lists them instead of
    // no_proxy ('*' for all, '' for none), for -x and the environment's proxy alike.
    let direct = |run: Run| {
        assert_eq!(run.code, 0, "{}", run.stderr);
        !run.out().contains("proxy saw")
    };
    let x = ["-x", proxy_url.as_str()];
    assert!(direct(
        duet(&[&x[..], &[&url]].concat())
            .env("NO_PROXY", "127.0.0.1")
            .run()
    ));
    assert!(direct(
        duet(&[&x[..], &["--noproxy", "localhost,127.0.0.1", &url]].concat()).run()
    ));
    assert!(!direct(
        duet(&[&x[..], &["--noproxy", "", &url]].concat())
            .env("no_proxy", "127.0.0.1")
            .run()
    ));
    assert!(direct(
        duet(&["--noproxy", "*", &url])
            .env("http_proxy", &proxy_url)
            .run()
    ));
    assert!(!direct(
        duet(&["--noproxy", "example.com", &url])
            .env("http_proxy", &proxy_url)
            .env("no_proxy", "127.0.0.1")
            .run()
    ));
    assert_eq!(site.echo_server().requests().len(), 4);

    // A proxy that cannot be reached is named in the error (not the site).
    let gone = format!("http://{}", refused_addr());
    let run = duet(&[url.as_str()]).env("http_proxy", &gone).run();
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("connecting to the proxy {gone}")),
        "{}",
        run.stderr
    );
}

#[test]
fn proxy_digest_credentials_answer_the_proxys_challenge() {
    let site = Site::start();
    let proxy = duet_tests::server::Server::http(|r| match r.header_str("proxy-authorization") {
        Some(answer) if answer.starts_with("Digest username=\"pu\"") => {
            duet_tests::server::Reply::ok(format!("proxy saw {}", r.target))
        }
        _ => duet_tests::server::Reply::new(407).header(
            "Proxy-Authenticate",
            r#"Digest realm="p", nonce="n1", qop="auth""#,
        ),
    });
    let proxy_url = format!("http://{}", proxy.addr());
    let url = site.echo("/echo");
    let run = duet(&[
        "-x",
        proxy_url.as_str(),
        "--proxy-user",
        "pu:pp",
        "--proxy-auth-type",
        "digest",
        url.as_str(),
    ])
    .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.out(), format!("proxy saw {url}"));
    let requests = proxy.requests();
    assert_eq!(requests.len(), 2, "the challenge, then the answer");
    assert!(
        !requests[0].has_header("proxy-authorization"),
        "no Basic credentials before the challenge"
    );
    let usage = duet(&["--proxy-auth-type", "digest", url.as_str()]).run();
    assert_eq!(usage.code, 2, "needs --proxy-user: {}", usage.stderr);
}

#[test]
fn usage_errors_exit_with_2_and_no_report() {
    let run = duet(&["--report", "--no-such-flag", "http://127.0.0.1:9/"]).run();
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);
    let help = duet(&["--help"]).run();
    assert_eq!(help.code, 0);
    for flag in [
        "--method",
        "--header",
        "--query",
        "--data",
        "--form",
        "--part",
        "--json",
        "--upload-file",
        "--user-agent",
        "--referer",
        "--max-time",
        "--max-redirs",
        "--digest",
        "--proxy-digest",
        "--http1.1",
        "--remote-name",
        "--user",
        "--auth-type",
        "--bearer",
        "--netrc",
        "--netrc-file",
        "--proxy-user",
        "--proxy-auth-type",
        "--cookie",
        "--cookie-jar",
        "--no-follow",
        "--max-redirects",
        "--timeout",
        "--connect-timeout",
        "--read-timeout",
        "--resolve",
        "--cacert",
        "--cert",
        "--key",
        "--insecure",
        "--proxy",
        "--no-proxy",
        "--async",
        "--include",
        "--output",
        "--raw",
        "--fail",
        "--silent",
        "--show-error",
        "--compressed",
        "--write-out",
        "--report",
    ] {
        assert!(help.out().contains(flag), "{flag} in --help");
    }
    assert!(help.out().contains("Exit codes"));
}

/// `--max-filesize` as curl's: a body whose length says it is larger fails before any of it
/// is written (no file made); one of unknown length fails once it passes the size; exit 63.
#[test]
fn max_filesize_refuses_a_larger_body() {
    let server = Server::http(|r| {
        let size: usize = r.path()[1..].parse().unwrap_or(0);
        match r.query() {
            Some("chunked") => Reply::new(200).chunked(vec![vec![b'x'; 1000]; size / 1000]),
            _ => Reply::ok(vec![b'x'; size]),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    for flavour in [&[][..], &["--async"]] {
        let get = |limit: &str, path: &str| {
            let mut args = vec!["--max-filesize", limit, "-o"];
            let file = arg(&file);
            args.push(&file);
            args.extend_from_slice(flavour);
            let url = server.url(path);
            args.push(&url);
            duet(&args).run()
        };
        let _ = std::fs::remove_file(&file);
        let run = get("1k", "/1025");
        assert_eq!(run.code, 63, "{}", run.stderr);
        assert!(
            run.stderr.starts_with("duet: too_large: "),
            "{}",
            run.stderr
        );
        assert!(!file.exists(), "nothing written");
        assert_eq!(get("1k", "/1024").code, 0);
        assert_eq!(std::fs::read(&file).unwrap().len(), 1024);
        let run = get("2500", "/5000?chunked");
        assert_eq!(run.code, 63, "{}", run.stderr);
        assert!(run.stderr.contains("ran past 2500 bytes"), "{}", run.stderr);
        assert!(std::fs::read(&file).unwrap().len() <= 2500);
        assert_eq!(get("5000", "/5000?chunked").code, 0);
    }
    let run = duet(&["--max-filesize", "1x", &server.url("/1")]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
}
