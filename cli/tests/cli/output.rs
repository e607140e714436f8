//! Output: the body on stdout, `-i`, `-o`, `--raw`, `--fail`, and the report's shape.

use base64::Engine;
use duet_cli::demo::Site;
use serde_json::{Value, json};

use crate::harness::*;

#[test]
fn the_decoded_body_goes_to_stdout() {
    let site = Site::start();
    let run = duet(&[site.echo("/gzip")]).run();
    assert_eq!(run.code, 0);
    let body: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(body["message"], "decoded by duet");
    assert_eq!(run.stderr, "");
}

#[test]
fn include_adds_the_status_line_and_headers() {
    let site = Site::start();
    let run = duet(&["-i", &site.echo("/status/404")]).run();
    let out = run.out();
    assert!(out.starts_with("HTTP/1.1 404 Not Found\r\n"), "{out}");
    assert!(
        out.contains("\r\nContent-Type: application/json\r\n"),
        "{out}"
    );
    assert!(out.ends_with("\r\n\r\n{\"status\":404}"), "{out}");
    assert_eq!(run.code, 0, "a 404 without --fail is a success");
}

/// As curl's `-iL` (and `-IL`, the common way to trace a redirect chain): every head, the
/// redirects' first, in order, each line ending in CRLF; then the body.
#[test]
fn include_shows_every_redirects_head_before_the_final_one() {
    let server = duet_tests::server::Server::http(|r| {
        use duet_tests::server::Reply;
        match r.path() {
            "/" => Reply::raw("HTTP/1.1 302 Found\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n"),
            "/a" => Reply::raw(&b"HTTP/1.0 301 \xc9\r\nLocation: /b\r\nX-Hop: a\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"[..]),
            _ => Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        }
    });
    let heads = concat!(
        "HTTP/1.1 302 Found\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 301 \u{c9}\r\nLocation: /b\r\nX-Hop: a\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
    );
    let latin1 = |s: &str| s.chars().map(|c| c as u8).collect::<Vec<u8>>();
    for flavour in [&[][..], &["--async"]] {
        let run = duet(&[&["-iL"][..], flavour, &[&server.url("/")]].concat()).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout, latin1(&format!("{heads}ok")), "{}", run.out());
        let run = duet(&[&["-I"][..], flavour, &[&server.url("/")]].concat()).run();
        assert_eq!(run.stdout, latin1(heads), "{}", run.out());
    }
}

/// `-D` as curl's: every head to a file (or `-`, standard output, before the body), whatever
/// becomes of the body: written with `-o`, dropped by `--fail`.
#[test]
fn dump_header_writes_every_head_to_its_file_or_stdout() {
    let server = duet_tests::server::Server::http(|r| {
        use duet_tests::server::Reply;
        match r.path() {
            "/" => Reply::raw("HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"),
            "/b" => Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            _ => Reply::raw("HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone"),
        }
    });
    let heads = "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
    let dir = tempfile::tempdir().unwrap();
    let (dump, body) = (dir.path().join("heads.txt"), dir.path().join("body.txt"));
    for flavour in [&[][..], &["--async"]] {
        let run = duet(
            &[
                &["-D", &arg(&dump), "-o", &arg(&body)][..],
                flavour,
                &[&server.url("/")],
            ]
            .concat(),
        )
        .run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(std::fs::read_to_string(&dump).unwrap(), heads);
        assert_eq!(std::fs::read_to_string(&body).unwrap(), "ok");
        assert!(run.stdout.is_empty());
        let run = duet(&[&["-D", "-"][..], flavour, &[&server.url("/")]].concat()).run();
        assert_eq!(run.out(), format!("{heads}ok"));
        let run = duet(
            &[
                &["-f", "-D", &arg(&dump)][..],
                flavour,
                &[&server.url("/gone")],
            ]
            .concat(),
        )
        .run();
        assert_eq!(run.code, 22, "{}", run.stderr);
        assert_eq!(
            std::fs::read_to_string(&dump).unwrap(),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\n"
        );
        assert!(run.stdout.is_empty(), "--fail drops the body");
    }
    let run = duet(&["-D", "-", "--report", &server.url("/")]).run();
    assert_eq!(
        run.code, 2,
        "the report has standard output: {}",
        run.stderr
    );
    assert_eq!(
        server.requests().len(),
        10,
        "nothing sent for the usage error"
    );
}

#[test]
fn head_sends_head_and_prints_the_head_as_curl_i() {
    let server = duet_tests::server::Server::http(|r| {
        duet_tests::server::Reply::ok(format!("{} body", r.method))
            .header("X-Seen", &r.method)
            .header("X-Target", &r.target)
    });
    for flavour in [&[][..], &["--async"]] {
        let run = duet(&[&["-I"][..], flavour, &[&server.url("/")]].concat()).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        let out = run.out();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("\r\nX-Seen: HEAD\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\n"), "the head only: {out:?}");
    }
    let run = duet(&["-I", "-X", "GET", &server.url("/")]).run();
    assert_eq!(
        run.code, 2,
        "-I and -X together are a usage error: {}",
        run.stderr
    );
    // With -G the data flags' pieces go in the HEAD's query, as curl's; without it they
    // would be a body, which a HEAD does not send.
    let run = duet(&[
        "-I",
        "-G",
        "-d",
        "a=1",
        "--data-urlencode",
        "q=x y",
        &server.url("/p"),
    ])
    .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.out();
    assert!(out.contains("\r\nX-Seen: HEAD\r\n"), "{out}");
    assert!(out.contains("\r\nX-Target: /p?a=1&q=x+y\r\n"), "{out}");
    let run = duet(&["-I", "-d", "a=1", &server.url("/")]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("-G"), "{}", run.stderr);
    // -L is what duet does anyway; it is taken for curl habits, and not with --no-follow.
    let run = duet(&["-L", &server.url("/")]).run();
    assert_eq!(
        (run.code, run.out()),
        (0, "GET body".to_owned()),
        "{}",
        run.stderr
    );
    let run = duet(&["-L", "--no-follow", &server.url("/")]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn curl_habits_silent_show_error_and_compressed() {
    let server = duet_tests::server::Server::http(|r| {
        let body = duet_tests::codec::gzip(format!("{} body", r.method).as_bytes());
        duet_tests::server::Reply::ok(body).header("Content-Encoding", "gzip")
    });
    // `curl -sSL`: the body as usual, decoded.
    let run = duet(&["-sSL", &server.url("/")]).run();
    assert_eq!(
        (run.code, run.out(), run.stderr.as_str()),
        (0, "GET body".to_owned(), "")
    );
    let run = duet(&["--compressed", &server.url("/")]).run();
    assert_eq!(
        (run.code, run.out()),
        (0, "GET body".to_owned()),
        "{}",
        run.stderr
    );
    let run = duet(&["--compressed", "--raw", &server.url("/")]).run();
    assert_eq!(run.code, 2, "--raw undoes --compressed: {}", run.stderr);
    // A failure: -s says nothing but the exit code, -S brings the message back.
    let closed = format!("http://{}/", duet_tests::server::refused_addr());
    let silent = duet(&["-s", &closed]).run();
    assert_eq!((silent.code, silent.stderr.as_str()), (7, ""));
    let shown = duet(&["-sS", &closed]).run();
    assert_eq!(shown.code, 7);
    assert!(
        shown.stderr.starts_with("duet: connect:"),
        "{}",
        shown.stderr
    );
    let plain = duet(&[&closed[..]]).run();
    assert_eq!(plain.stderr, shown.stderr);
}

#[test]
fn output_writes_the_body_to_a_file() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bytes.bin");
    let run = duet(&["-o", &arg(&path), &site.echo("/bytes/300000")]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert_eq!(
        run.stderr, "",
        "no progress bar when stderr is not a terminal"
    );
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 300_000);
    assert!(bytes.iter().enumerate().all(|(i, &b)| b == i as u8));

    // With -i the head goes first; with --report the body stays out of the report.
    let run = duet(&["-i", "--output", &arg(&path), &site.echo("/status/201")]).run();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("HTTP/1.1 201 Created\r\n")
    );
    let (report, _) = duet(&["-o", &arg(&path), &site.echo("/status/202")]).report();
    assert_eq!(report["body"], Value::Null);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"status\":202}");
    assert_eq!(run.code, 0);
}

#[test]
fn time_cond_downloads_only_a_newer_document_as_curls() {
    use duet_tests::server::{Reply, Server};
    use std::time::{Duration, SystemTime};
    // The document changed at Sun, 06 Nov 1994 08:49:37 GMT.
    const CHANGED: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    let changed = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
    // /honest answers the condition (as nginx's `if_modified_since exact` does: the date
    // must be the exact one); /deaf ignores it.
    let server = Server::http(|r| {
        let since = r.header_str("if-modified-since");
        match (r.path(), since) {
            ("/honest", Some(date)) if date == CHANGED => {
                Reply::new(304).header("Last-Modified", CHANGED)
            }
            _ => Reply::ok("the document").header("Last-Modified", CHANGED),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("page");
    let set_time = |secs_after: i64| {
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        let at = match secs_after {
            n if n >= 0 => changed + Duration::from_secs(n as u64),
            n => changed - Duration::from_secs(n.unsigned_abs()),
        };
        file.set_modified(at).unwrap();
    };
    for flavour in [&[][..], &["--async"]] {
        let fetch = |url: &str| {
            let page = arg(&path);
            duet(&[flavour, &["-z", &page, "-o", &page, &server.url(url)]].concat()).run()
        };
        for url in ["/honest", "/deaf"] {
            // No file yet: a warning, and the whole document.
            let _ = std::fs::remove_file(&path);
            let run = fetch(url);
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert!(run.stderr.contains("duet: warning: -z"), "{}", run.stderr);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "the document");
            // The copy is as new as the server's: nothing written, the file as it was.
            std::fs::write(&path, "my copy").unwrap();
            set_time(0);
            let run = fetch(url);
            assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{url}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "my copy", "{url}");
            // An older copy is replaced.
            set_time(-60);
            let run = fetch(url);
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                "the document",
                "{url}"
            );
        }
    }
    let sent: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.header_str("if-modified-since").map(str::to_owned))
        .collect();
    assert_eq!(
        sent[..3],
        [
            None,
            Some(CHANGED.to_owned()),
            Some("Sun, 06 Nov 1994 08:48:37 GMT".to_owned())
        ]
    );
    // A written date, `-` for If-Unmodified-Since; -i shows the head of what is not written.
    let run = duet(&["-i", "-z", "-6 Nov 1994", &server.url("/deaf")]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.out().starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        run.out()
    );
    assert!(
        !run.out().contains("the document"),
        "newer than the date: {}",
        run.out()
    );
    let last = server.requests().pop().unwrap();
    assert_eq!(
        last.header_str("if-unmodified-since"),
        Some("Sun, 06 Nov 1994 00:00:00 GMT")
    );
    // Without -i, nothing at all.
    let run = duet(&["-z", "-6 Nov 1994", &server.url("/deaf")]).run();
    assert_eq!((run.code, run.out()), (0, String::new()), "{}", run.stderr);
    // A zone after the time: the header carries the same moment in GMT.
    let run = duet(&[
        "-z",
        "Sun, 06 Nov 1994 09:49:37 +0100",
        &server.url("/deaf"),
    ])
    .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let last = server.requests().pop().unwrap();
    assert_eq!(last.header_str("if-modified-since"), Some(CHANGED));
    // -H wins over -z.
    let own = "Sat, 01 Jan 2000 00:00:00 GMT";
    let header = format!("If-Modified-Since: {own}");
    let run = duet(&["-z", "1 Jan 1990", "-H", &header, &server.url("/deaf")]).run();
    assert_eq!((run.code, run.out()), (0, "the document".to_owned()));
    let last = server.requests().pop().unwrap();
    assert_eq!(last.header_str("if-modified-since"), Some(own));
}

#[test]
fn remote_time_gives_the_file_the_documents_date_for_the_next_time_cond() {
    use duet_tests::server::{Reply, Server};
    use std::time::{Duration, SystemTime};
    const CHANGED: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    let changed = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
    let server = Server::http(|r| {
        match (r.path(), r.header_str("if-modified-since")) {
        (_, Some(CHANGED)) => Reply::new(304),
        ("/cut", _) => Reply::raw(
            &b"HTTP/1.1 200 OK\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 99\r\n\r\npart"[..],
        )
        .close(),
        _ => Reply::ok("the document").header("Last-Modified", CHANGED),
    }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("page");
    let page = arg(&path);
    let modified = || std::fs::metadata(&path).unwrap().modified().unwrap();
    for flavour in [&[][..], &["--async"]] {
        let _ = std::fs::remove_file(&path);
        let run = duet(
            &[
                flavour,
                &["-s", "-R", "-z", &page, "-o", &page, &server.url("/")],
            ]
            .concat(),
        )
        .run();
        assert_eq!((run.code, run.stderr.as_str()), (0, ""));
        assert_eq!(modified(), changed, "the file has the document's date");
        let run =
            duet(&[flavour, &["-R", "-z", &page, "-o", &page, &server.url("/")]].concat()).run();
        assert_eq!((run.code, run.stderr.as_str()), (0, ""));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "the document",
            "a 304 kept it"
        );
        // A download cut short keeps the time it was written at: -z asks for it again.
        let run = duet(&[flavour, &["-R", "-o", &page, &server.url("/cut")]].concat()).run();
        assert_ne!(run.code, 0);
        assert!(modified() > changed + Duration::from_secs(3600));
    }
    let requests = server.requests();
    let conditions: Vec<Option<&str>> = requests
        .iter()
        .map(|r| r.header_str("if-modified-since"))
        .collect();
    assert_eq!(conditions[..2], [None, Some(CHANGED)]);
}

#[test]
fn continue_at_resumes_a_download_as_curls() {
    const WHOLE: &str = "0123456789abcdefghij";
    // Serves byte ranges of WHOLE at /ranged; /whole ignores them.
    let server = duet_tests::server::Server::http(|r| {
        let from = r.header_str("range").and_then(|v| {
            v.strip_prefix("bytes=")?
                .strip_suffix('-')?
                .parse::<usize>()
                .ok()
        });
        match (r.path(), from) {
            ("/ranged", Some(from)) if from >= WHOLE.len() => duet_tests::server::Reply::new(416)
                .header("Content-Range", format!("bytes */{}", WHOLE.len()))
                .body("<h1>416 Range Not Satisfiable</h1>"),
            ("/ranged", Some(from)) => duet_tests::server::Reply::new(206)
                .header("Content-Range", format!("bytes {from}-19/20"))
                .body(&WHOLE[from..]),
            _ => duet_tests::server::Reply::ok(WHOLE),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("download");
    for flavour in [&[][..], &["--async"]] {
        std::fs::write(&path, &WHOLE[..7]).unwrap();
        let resume = |url: &str| {
            duet(&[flavour, &["-C", "-", "-o", &arg(&path), &server.url(url)]].concat()).run()
        };
        let run = resume("/ranged");
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            WHOLE,
            "the rest appended"
        );
        let run = resume("/ranged");
        assert_eq!(run.code, 0, "a whole file (416) is done: {}", run.stderr);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            WHOLE,
            "nothing written"
        );

        std::fs::write(&path, &WHOLE[..7]).unwrap();
        let run = resume("/whole");
        assert_eq!(run.code, 33, "{}", run.stderr);
        assert!(run.stderr.contains("duet: resume: -C 7"), "{}", run.stderr);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            &WHOLE[..7],
            "left as it was"
        );
    }
    // -C N to stdout; -C - with no file yet asks for the whole body.
    let run = duet(&["-C", "15", &server.url("/ranged")]).run();
    assert_eq!(
        (run.code, run.out()),
        (0, "fghij".to_owned()),
        "{}",
        run.stderr
    );
    let fresh = dir.path().join("fresh");
    let run = duet(&["-C", "-", "-o", &arg(&fresh), &server.url("/whole")]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&fresh).unwrap(), WHOLE);
    let requests = server.requests();
    let ranges: Vec<Option<&str>> = requests.iter().map(|r| r.header_str("range")).collect();
    assert_eq!(
        ranges[..3],
        [Some("bytes=7-"), Some("bytes=20-"), Some("bytes=7-")]
    );
    assert_eq!(ranges.last().unwrap(), &None);
    assert!(
        requests
            .iter()
            .all(|r| r.header_str("range").is_none() || !r.has_header("accept-encoding"))
    );
    assert_eq!(duet(&["-C", "x", &server.url("/")]).run().code, 2);
    assert_eq!(
        duet(&["-C", "-", "-r", "0-1", &server.url("/")]).run().code,
        2
    );
}

#[test]
fn an_output_file_that_cannot_be_created_is_an_io_error() {
    let site = Site::start();
    let (report, run) = duet(&["-o", "/nonexistent/dir/out", &site.echo("/echo")]).report();
    assert_eq!(
        (run.code, report["error"]["kind"].clone()),
        (1, json!("io"))
    );
    assert_eq!(report["status"], 200, "the response had arrived");
    // As curl's --create-dirs, the missing directories are made.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/out.json");
    assert_eq!(
        duet(&["-o", &arg(&path), &site.echo("/status/200")])
            .run()
            .code,
        1
    );
    let run = duet(&[
        "--create-dirs",
        "-o",
        &arg(&path),
        &site.echo("/status/200"),
    ])
    .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"status\":200}");
}

#[test]
fn raw_keeps_the_content_coding() {
    let site = Site::start();
    let (report, _) = duet(&["--raw", &site.echo("/gzip")]).report();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(report["body_base64"].as_str().expect("gzip is not UTF-8"))
        .unwrap();
    assert_eq!(&bytes[..2], [0x1f, 0x8b]);
    assert_eq!(report.get("body"), None);
    let request = &site.echo_server().requests()[0];
    assert!(
        !request.has_header("accept-encoding"),
        "nothing to decode, nothing asked for"
    );
}

#[test]
fn fail_turns_an_error_status_into_exit_22() {
    let site = Site::start();
    let run = duet(&["--fail", &site.echo("/status/404")]).run();
    assert_eq!(run.code, 22);
    assert!(run.stdout.is_empty(), "no body");
    assert!(
        run.stderr
            .starts_with("duet: status: HTTP status 404 Not Found"),
        "{}",
        run.stderr
    );
    let (report, run) = duet(&["--fail", &site.echo("/status/503")]).report();
    assert_eq!(run.code, 22);
    assert_eq!(report["status"], 503);
    assert_eq!(report["error"]["kind"], "status");
    assert_eq!(
        report["body"], "{\"status\":503}",
        "the report keeps the body"
    );
    let run = duet(&["--fail", &site.echo("/status/204")]).run();
    assert_eq!(run.code, 0);
}

#[test]
fn the_report_has_every_field() {
    let site = Site::start();
    let (report, run) = duet(&[site.echo("/redirect/1")]).report();
    assert_eq!(run.code, 0);
    let keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "status",
        "version",
        "url",
        "headers",
        "history",
        "body",
        "cookies",
        "elapsed_ms",
        "error",
    ];
    expected.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
    assert_eq!(report["version"], "HTTP/1.1");
    assert!(report["elapsed_ms"].is_u64());
    assert_eq!(report["error"], Value::Null);
    assert!(
        report["headers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h.as_array().unwrap().len() == 2)
    );
    let hop = report["history"][0].as_object().unwrap();
    let mut hop_keys: Vec<&str> = hop.keys().map(String::as_str).collect();
    hop_keys.sort();
    assert_eq!(hop_keys, ["headers", "status", "url"]);

    // The fields come out in the documented order, one per line.
    let text = run.out();
    let positions: Vec<usize> = [
        "status",
        "version",
        "url",
        "headers",
        "history",
        "body",
        "cookies",
        "elapsed_ms",
        "error",
    ]
    .iter()
    .map(|k| {
        text.find(&format!("\n  \"{k}\": "))
            .unwrap_or_else(|| panic!("{k} in {text}"))
    })
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn binary_bodies_are_base64_in_the_report() {
    let site = Site::start();
    let (report, _) = duet(&[site.echo("/bytes/200")]).report();
    assert_eq!(report.get("body"), None);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(report["body_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, (0..200).map(|i| i as u8).collect::<Vec<_>>());
}

#[test]
fn verbose_shows_decisions_and_heads_on_stderr_in_both_flavours() {
    let server = duet_tests::server::Server::http(|r| match r.path() {
        "/a" => duet_tests::server::Reply::redirect(302, "/b"),
        _ => duet_tests::server::Reply::ok("done"),
    });
    let url = format!("http://ada:s3cret@{}/a", server.addr());
    for flavour in [&[][..], &["--async"]] {
        let run = duet(&[&["-v", url.as_str()][..], flavour].concat()).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.out(), "done", "stdout has the body only");
        let addr = server.addr();
        let expected = [
            format!("* GET http://ada:***@{addr}/a: a new connection to http://{addr} ({addr})"),
            "> GET /a HTTP/1.1".to_owned(),
            format!("> Host: {addr}"),
            "< HTTP/1.1 302 Found".to_owned(),
            "< Location: /b".to_owned(),
            format!(
                "* GET http://ada:***@{addr}/a: following the redirect to GET http://ada:***@{addr}/b"
            ),
            format!(
                "* GET http://ada:***@{addr}/b: reusing a connection to http://{addr} ({addr})"
            ),
            "> GET /b HTTP/1.1".to_owned(),
            "< HTTP/1.1 200 OK".to_owned(),
        ];
        let mut lines = run.stderr.lines();
        for line in &expected {
            assert!(
                lines.any(|l| l == line),
                "{line:?} missing or out of order in:\n{}",
                run.stderr
            );
        }
        assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    }
    let quiet = duet(&[url.as_str()]).run();
    assert_eq!(quiet.stderr, "", "nothing on stderr without -v");
    // The head shown is the head sent: the framing field duet adds is in it.
    let post = format!("http://{}/b", server.addr());
    for flavour in [&[][..], &["--async"]] {
        let run = duet(&[&["-v", "-d", "twelve bytes", post.as_str()][..], flavour].concat()).run();
        assert_eq!(run.code, 0, "{}", run.stderr);
        let shown: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("> ")).collect();
        assert_eq!(shown.first(), Some(&"> POST /b HTTP/1.1"), "{}", run.stderr);
        assert_eq!(
            shown.last(),
            Some(&"> Content-Length: 12"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn write_out_as_curls() {
    let server = duet_tests::server::Server::http(|r| match r.path() {
        "/start" => duet_tests::server::Reply::redirect(302, "/end"),
        _ => duet_tests::server::Reply::ok("twelve bytes")
            .header("Content-Type", "text/plain")
            .header("X-A", "1")
            .header("X-A", "2"),
    });
    let dev_null = if cfg!(windows) { "NUL" } else { "/dev/null" };
    let run = duet(&[
        "-s",
        "-o",
        dev_null,
        "-w",
        "%{http_code}\\n",
        &server.url("/end"),
    ])
    .run();
    assert_eq!(
        (run.code, run.out()),
        (0, "200\n".to_owned()),
        "{}",
        run.stderr
    );
    let format = "%{num_redirects} %{url_effective} %{content_type} %{size_download} \
                  %header{x-a} %{remote_ip}:%{remote_port} %{scheme} %{http_version} %{exitcode}%%";
    let run = duet(&["-w", format, &server.url("/start")]).run();
    let expected = format!(
        "twelve bytes1 {} text/plain 12 1, 2 127.0.0.1:{} http 1.1 0%",
        server.url("/end"),
        server.addr().port()
    );
    assert_eq!((run.code, run.out()), (0, expected), "{}", run.stderr);
    let run = duet(&[
        "--no-follow",
        "-w",
        "%{http_code} %{redirect_url}",
        &server.url("/start"),
    ])
    .run();
    assert_eq!(run.out(), format!("302 {}", server.url("/end")));
    // Timing, speed, the head's size and the file written.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("saved.txt");
    let format = "%{num_headers}|%{filename_effective}|%{time_starttransfer}|%{time_total}|%{speed_download}";
    let run = duet(&["-o", &arg(&file), "-w", format, &server.url("/start")]).run();
    let out = run.out();
    let fields: Vec<&str> = out.split('|').collect();
    assert_eq!(fields[..2], ["4", arg(&file).as_str()], "{out}");
    let (start, total): (f64, f64) = (fields[2].parse().unwrap(), fields[3].parse().unwrap());
    assert!(0.0 < start && start <= total, "{out}");
    let speed: u64 = fields[4].parse().unwrap();
    // (time_total is printed to the microsecond; the speed uses the unrounded time.)
    let bounds = (
        (12.0 / (total + 1e-6)) as u64,
        (12.0 / (total - 1e-6)) as u64,
    );
    assert!(bounds.0 <= speed && speed <= bounds.1, "{out}");
    let run = duet(&[
        "-w",
        "[%{filename_effective}] %{num_headers}",
        &server.url("/end"),
    ])
    .run();
    assert_eq!(run.out(), "twelve bytes[] 4", "no file");
    // A failure writes too: no status, the exit code, the message.
    let closed = format!("http://{}/", duet_tests::server::refused_addr());
    let run = duet(&[
        "-s",
        "-w",
        "%{http_code} %{exitcode} [%{errormsg}]",
        &closed,
    ])
    .run();
    assert_eq!(run.code, 7);
    assert!(
        run.out().starts_with("000 7 [connect error"),
        "{}",
        run.out()
    );
    assert_eq!(run.stderr, "", "-s");
    let run = duet(&["-w", "%{no_such_variable}", &server.url("/end")]).run();
    assert_eq!(
        run.code, 2,
        "checked before anything is sent: {}",
        run.stderr
    );
    assert!(run.stderr.contains("no_such_variable"), "{}", run.stderr);
}

#[test]
fn remote_name_saves_as_the_urls_last_segment() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let run = duet(&["-O", &site.echo("/bytes/1000?seed=1")])
        .current_dir(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert_eq!(std::fs::read(dir.path().join("1000")).unwrap().len(), 1000);
    let run = duet(&["-O", &site.echo("/dir/")])
        .current_dir(dir.path())
        .run();
    assert_eq!(run.code, 1, "no name: {}", run.stderr);
    assert!(run.stderr.contains("names no file"), "{}", run.stderr);
}

/// `-OJ` as curl's: the file takes the name `Content-Disposition` gives (`filename*` over
/// `filename`), without its directories; an existing file is not overwritten; with no such
/// name, -O's. -J needs -O.
#[test]
fn remote_header_name_names_the_file_as_the_server_says() {
    let server = duet_tests::server::Server::http(|r| {
        use duet_tests::server::Reply;
        let disposition = match r.path() {
            "/utf8" => "attachment; filename=\"plain.txt\"; filename*=UTF-8''caf%C3%A9.txt",
            "/climb" => "attachment; filename=\"../../up/and\\\\away.bin\"",
            "/dots" => "attachment; filename=\"..\"",
            _ => "inline",
        };
        Reply::ok(format!("body of {}", r.path())).header("Content-Disposition", disposition)
    });
    let dir = tempfile::tempdir().unwrap();
    for flavour in [&[][..], &["--async"]] {
        let sub = tempfile::tempdir_in(dir.path()).unwrap();
        let get = |path: &str| {
            duet(&[&["-OJ"][..], flavour, &[&server.url(path)]].concat())
                .current_dir(sub.path())
                .run()
        };
        let run = get("/utf8");
        assert_eq!(run.code, 0, "{}", run.stderr);
        let saved = std::fs::read_to_string(sub.path().join("caf\u{e9}.txt")).unwrap();
        assert_eq!(saved, "body of /utf8");
        assert_eq!(get("/climb").code, 0);
        assert_eq!(
            std::fs::read_to_string(sub.path().join("away.bin")).unwrap(),
            "body of /climb",
            "what follows the last / or \\"
        );
        assert!(!dir.path().join("up").exists());
        // No usable name: -O's, the URL's last segment.
        assert_eq!(get("/dots").code, 0);
        assert_eq!(
            std::fs::read_to_string(sub.path().join("dots")).unwrap(),
            "body of /dots"
        );
        assert_eq!(get("/none").code, 0);
        assert!(sub.path().join("none").exists());
        // A name taken already: refused, the file left as it was.
        let run = get("/utf8");
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("refusing to overwrite"),
            "{}",
            run.stderr
        );
        assert_eq!(
            std::fs::read_to_string(sub.path().join("caf\u{e9}.txt")).unwrap(),
            "body of /utf8"
        );
    }
    let run = duet(&["-J", &server.url("/utf8")])
        .current_dir(dir.path())
        .run();
    assert_eq!(run.code, 2, "-J needs -O: {}", run.stderr);
}
