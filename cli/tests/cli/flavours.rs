//! `--async` drives the same request with duet-async: the report is the same as duet-blocking's
//! (but for `elapsed_ms`), and so is the output.

use duet_cli::demo::Site;
use duet_tests::hue::HueServer;
use serde_json::Value;

use crate::harness::*;

/// The report with the multipart boundary (random per request) blanked out.
fn comparable(report: Value) -> Value {
    let text = timeless(report).to_string();
    match text.split_once("boundary=") {
        Some((before, after)) => {
            let end = after.find(['"', '\\']).unwrap_or(after.len());
            format!("{before}boundary=B{}", &after[end..])
                .parse()
                .unwrap()
        }
        None => text.parse().unwrap(),
    }
}

#[test]
fn the_same_report_from_both_clients() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let upload = arg(&file(dir.path(), "up.txt", "upload"));
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!(
            "http://127.0.0.1:{}/",
            listener.local_addr().unwrap().port()
        )
    };
    let user = "ada:lovelace".to_owned();
    let cases: Vec<Vec<String>> = vec![
        vec![
            site.echo("/echo?a=1"),
            "-H".into(),
            "X-A: 1".into(),
            "-q".into(),
            "b=2".into(),
        ],
        vec![site.echo("/redirect/3")],
        vec!["--no-follow".into(), site.echo("/redirect/3")],
        vec![
            "--max-redirects".into(),
            "1".into(),
            site.echo("/redirect/3"),
        ],
        vec![site.echo("/gzip")],
        vec!["--raw".into(), site.echo("/gzip")],
        vec![site.echo("/bytes/1000")],
        vec!["-d".into(), "raw".into(), site.echo("/echo")],
        vec![
            "--field".into(),
            "a=1".into(),
            "--field".into(),
            "b=2".into(),
            site.echo("/echo"),
        ],
        vec![
            "-F".into(),
            "t=x".into(),
            "-F".into(),
            format!("f=@{upload}"),
            site.echo("/echo"),
        ],
        vec![
            "-j".into(),
            "{\"k\": [1]}".into(),
            "-X".into(),
            "PUT".into(),
            site.echo("/echo"),
        ],
        vec!["-u".into(), user.clone(), site.echo("/basic")],
        vec![
            "-u".into(),
            user,
            "--auth-type".into(),
            "digest".into(),
            site.echo("/digest"),
        ],
        vec!["--bearer".into(), "t".into(), site.echo("/echo")],
        vec!["-b".into(), "c=1".into(), site.echo("/cookies/set?d=2")],
        vec!["--fail".into(), site.echo("/status/404")],
        vec![site.echo("/status/500")],
        vec!["--timeout".into(), "0.2".into(), site.echo("/slow")],
        vec![closed],
        vec!["http://exa mple/".into()],
        vec!["-H".into(), "Bad Name: 1".into(), site.echo("/echo")],
        vec![
            "--proxy".into(),
            format!("http://{}", duet_tests::server::refused_addr()),
            site.echo("/echo"),
        ],
    ];
    for case in cases {
        let (blocking, blocking_run) = duet(&case).report();
        let (asynchronous, async_run) =
            duet(&[case.clone(), vec!["--async".into()]].concat()).report();
        assert_eq!(comparable(blocking), comparable(asynchronous), "{case:?}");
        assert_eq!(
            (blocking_run.code, &blocking_run.stderr),
            (async_run.code, &async_run.stderr),
            "{case:?}"
        );
    }
}

#[test]
fn the_same_output_and_jar_from_both_clients() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    for flags in [&[][..], &["-i"][..]] {
        let url = site.echo("/gzip");
        let blocking = duet(&[flags, &[url.as_str()]].concat()).run();
        let asynchronous = duet(&[flags, &[url.as_str(), "--async"]].concat()).run();
        assert_eq!(blocking.stdout, asynchronous.stdout, "{flags:?}");
    }
    let (a, b) = (dir.path().join("a.bin"), dir.path().join("b.bin"));
    duet(&["-o", &arg(&a), &site.echo("/bytes/100000")]).run();
    duet(&["-o", &arg(&b), "--async", &site.echo("/bytes/100000")]).run();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn the_hue_login_with_the_async_client() {
    let hue = HueServer::start();
    let dir = tempfile::tempdir().unwrap();
    let jar = arg(&dir.path().join("jar.json"));
    duet(&["--async", "-c", &jar, &hue.login_url("/")]).run();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&jar).unwrap()).unwrap();
    let csrf = saved[0]["value"].as_str().unwrap().to_owned();
    let run = duet(&[
        "--async",
        "-c",
        &jar,
        "--field",
        "username=hue",
        "--field",
        "password=secret",
        "--field",
        &format!("csrfmiddlewaretoken={csrf}"),
        &hue.url(duet_tests::hue::LOGIN_PATH),
    ])
    .run();
    assert!(run.out().contains("Welcome to Hue"), "{}", run.out());
    let (report, _) = duet(&[
        "--async",
        "-c",
        &jar,
        &hue.url(duet_tests::hue::PREFERENCES_PATH),
    ])
    .report();
    assert!(
        report["body"]
            .as_str()
            .unwrap()
            .contains("\"user\":\"hue\""),
        "{report}"
    );
}
