//! Request bodies: `-d`, `-f`, `-F`, `-j`.

use duet_cli::demo::Site;
use serde_json::json;

use crate::harness::*;

#[test]
fn data_as_text_from_a_file_and_from_stdin() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let url = site.echo("/echo");
    let (report, _) = duet(&["-d", "a=1&b", &url]).report();
    let echo = echoed(&report);
    assert_eq!(echo["body"], "a=1&b");
    assert_eq!(
        header(&echo["headers"], "content-type"),
        Some("application/x-www-form-urlencoded"),
        "labelled as curl's -d"
    );
    assert_eq!(header(&echo["headers"], "content-length"), Some("5"));
    let (report, _) = duet(&["-d", "{}", "-H", "content-type: application/json", &url]).report();
    let echo = echoed(&report);
    let types: Vec<_> = echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pair| {
            pair[0]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("content-type")
        })
        .map(|pair| pair[1].as_str().unwrap())
        .collect();
    assert_eq!(types, ["application/json"], "the caller's type alone");

    // As curl's -d, a file's line ends are left out; --data-binary sends it as it is.
    let data = file(dir.path(), "data.txt", "from a\r\nfile\n");
    let (report, _) = duet(&["-d", &format!("@{}", arg(&data)), &url]).report();
    let echo = echoed(&report);
    assert_eq!(echo["body"], "from afile");
    assert_eq!(header(&echo["headers"], "content-length"), Some("10"));
    let (report, _) = duet(&["--data-binary", &format!("@{}", arg(&data)), &url]).report();
    let echo = echoed(&report);
    assert_eq!(echo["body"], "from a\r\nfile\n");
    assert_eq!(header(&echo["headers"], "content-length"), Some("13"));

    let (report, _) = duet(&["-d", "@-", &url]).stdin(b"from stdin").report();
    assert_eq!(echoed(&report)["body"], "from stdin");
}

#[test]
fn curls_data_flags_are_joined_in_order_and_get_moves_them_to_the_query() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let url = site.echo("/echo");
    let text = file(dir.path(), "note.txt", "a b&c\n");
    let note = format!("note@{}", arg(&text));
    let (report, run) = duet(&[
        "-d",
        "a=1",
        "--data-urlencode",
        "q=x y&z=é~",
        "--data-raw",
        "@raw",
        "--data-urlencode",
        &note,
        "--data-urlencode",
        "=only/value",
        "--data-urlencode",
        "who@where=1",
        "-d",
        "b=2",
        &url,
    ])
    .report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let echo = echoed(&report);
    assert_eq!(echo["method"], "POST");
    assert_eq!(
        echo["body"], "a=1&q=x+y%26z%3D%C3%A9~&@raw&note=a+b%26c%0A&only%2Fvalue&who@where=1&b=2",
        "as curl sends them"
    );
    assert_eq!(
        header(&echo["headers"], "content-type"),
        Some("application/x-www-form-urlencoded")
    );

    let (report, run) = duet(&[
        "-G",
        "-d",
        "a=1",
        "--data-urlencode",
        "q=x y",
        &format!("{url}?page=2"),
    ])
    .report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let echo = echoed(&report);
    assert_eq!(echo["method"], "GET");
    assert_eq!(
        echo["query"],
        json!([["page", "2"], ["a", "1"], ["q", "x y"]])
    );
    assert_eq!(echo["body"], "");
    assert_eq!(
        header(&echo["headers"], "content-type"),
        None,
        "no body, no type"
    );

    for wrong in [
        &["-G", &url][..],
        &["-G", "-X", "POST", "-d", "a", &url],
        &["--data-raw", "x", "--field", "a=1", &url],
    ] {
        assert_eq!(duet(wrong).run().code, 2, "{wrong:?}");
    }
    let missing = duet(&["--data-urlencode", "f@/nonexistent/duet.txt", &url]).run();
    assert_eq!(missing.code, 1, "{}", missing.stderr);
}

#[test]
fn upload_file_puts_the_file_unlabelled() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let data = file(dir.path(), "data.bin", "the file's bytes");
    let (report, run) = duet(&["-T", &arg(&data), &site.echo("/echo")]).report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let echo = echoed(&report);
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["body"], "the file's bytes");
    assert_eq!(
        header(&echo["headers"], "content-type"),
        None,
        "as curl's -T"
    );
    assert_eq!(header(&echo["headers"], "content-length"), Some("16"));
    // `-T -`: standard input, streamed chunked, in both flavours.
    let url = site.echo("/echo");
    for flavour in [&[][..], &["--async"]] {
        let args = [&["-T", "-"][..], flavour, &[url.as_str()]].concat();
        let (report, run) = duet(&args).stdin(b"from stdin").report();
        assert_eq!(run.code, 0, "{}", run.stderr);
        let echo = echoed(&report);
        assert_eq!(
            (echo["method"].clone(), echo["body"].clone()),
            (json!("PUT"), json!("from stdin"))
        );
        assert_eq!(
            header(&echo["headers"], "transfer-encoding"),
            Some("chunked")
        );
    }
}

#[test]
fn a_transfer_encoding_chunked_header_sends_the_body_chunked_as_curl() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let data = file(dir.path(), "data.bin", "the file's bytes");
    let url = site.echo("/echo");
    let cases: [(&[&str], &str); 3] = [
        (&["-d", "a=1"], "a=1"),
        (&["-T", &arg(&data)], "the file's bytes"),
        (&["--field", "k=v"], "k=v"),
    ];
    for (body, sent) in cases {
        for flavour in [&[][..], &["--async"]] {
            let args = [body, flavour, &["-H", "Transfer-Encoding: chunked", &url]].concat();
            let (report, run) = duet(&args).report();
            assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
            let echo = echoed(&report);
            assert_eq!(echo["body"], sent, "{args:?}");
            let headers = &echo["headers"];
            assert_eq!(header(headers, "transfer-encoding"), Some("chunked"));
            assert_eq!(header(headers, "content-length"), None, "{args:?}");
        }
    }
}

#[test]
fn curls_short_flags_mean_what_they_mean_in_curl() {
    // `curl -fsSL URL`, the most common of curl habits: -f is --fail, -F --form is multipart.
    let site = Site::start();
    let run = duet(&["-fsSL", &site.echo("/status/404")]).run();
    assert_eq!((run.code, run.stdout.as_slice()), (22, &b""[..]));
    assert!(
        run.stderr.contains("404"),
        "-S shows the error: {}",
        run.stderr
    );
    let (report, run) = duet(&["--form", "title=holiday", &site.echo("/echo")]).report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let echo = echoed(&report);
    assert!(
        header(&echo["headers"], "content-type")
            .is_some_and(|t| t.starts_with("multipart/form-data; boundary=")),
        "{echo}"
    );
}

#[test]
fn form_fields_are_urlencoded() {
    let site = Site::start();
    let (report, _) = duet(&[
        "--field",
        "a=1",
        "--field",
        "b=x y&z",
        "--field",
        "a=",
        &site.echo("/echo"),
    ])
    .report();
    let echo = echoed(&report);
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["form"], json!([["a", "1"], ["b", "x y&z"], ["a", ""]]));
    assert_eq!(
        header(&echo["headers"], "content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[test]
fn multipart_text_and_file_parts() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let photo = file(dir.path(), "beach.jpg", [0xffu8, 0xd8, 0xff, 0xe0, 0, 1, 2]);
    let notes = file(dir.path(), "notes.txt", "hello");
    let (report, run) = duet(&[
        "-F",
        "title=holiday; 2024",
        "-F",
        &format!("photo=@{};type=image/png;filename=b.png", arg(&photo)),
        "--part",
        &format!("notes=@{}", arg(&notes)),
        // `<`: the file's content as the value, no file name (and no type unless given).
        "-F",
        &format!("inline=<{}", arg(&notes)),
        "-F",
        &format!("typed=<{};type=text/x-note", arg(&notes)),
        &site.echo("/echo"),
    ])
    .report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let echo = echoed(&report);
    assert!(
        header(&echo["headers"], "content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary="),
        "{echo}"
    );
    assert_eq!(
        echo["parts"],
        json!([
            {"name": "title", "filename": null, "content_type": null, "size": 13, "text": "holiday; 2024"},
            {"name": "photo", "filename": "b.png", "content_type": "image/png", "size": 7},
            {"name": "notes", "filename": "notes.txt", "content_type": "text/plain", "size": 5, "text": "hello"},
            {"name": "inline", "filename": null, "content_type": null, "size": 5, "text": "hello"},
            {"name": "typed", "filename": null, "content_type": "text/x-note", "size": 5, "text": "hello"},
        ])
    );
}

#[test]
fn json_as_given_from_text_and_file() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let url = site.echo("/echo");
    let (report, _) = duet(&["-j", r#"{"b": [1, 2.50], "a": null}"#, &url]).report();
    let echo = echoed(&report);
    assert_eq!(echo["method"], "POST");
    assert_eq!(
        echo["body"], r#"{"b": [1, 2.50], "a": null}"#,
        "sent as given"
    );
    assert_eq!(echo["json"], json!({"a": null, "b": [1, 2.5]}));
    assert_eq!(
        header(&echo["headers"], "content-type"),
        Some("application/json")
    );
    assert_eq!(
        header(&echo["headers"], "accept"),
        Some("application/json"),
        "JSON asked for back, as curl's --json"
    );
    let (report, _) = duet(&["-j", "{}", "-H", "Accept: text/plain", &url]).report();
    assert_eq!(
        header(&echoed(&report)["headers"], "accept"),
        Some("text/plain")
    );

    let doc = file(dir.path(), "doc.json", "[1, 2, 3]\n");
    let (report, _) = duet(&["--json", &format!("@{}", arg(&doc)), "-X", "PATCH", &url]).report();
    let echo = echoed(&report);
    assert_eq!(
        (echo["method"].clone(), echo["json"].clone()),
        (json!("PATCH"), json!([1, 2, 3]))
    );

    // A Content-Type of one's own is kept.
    let (report, _) = duet(&[
        "-j",
        "{}",
        "-H",
        "Content-Type: application/vnd.api+json",
        &url,
    ])
    .report();
    assert_eq!(
        header(&echoed(&report)["headers"], "content-type"),
        Some("application/vnd.api+json")
    );
}

#[test]
fn a_body_that_cannot_be_made_fails_before_anything_is_sent() {
    let site = Site::start();
    let url = site.echo("/echo");
    for args in [
        vec!["-j", "{not json", url.as_str()],
        vec!["-j", "@/nonexistent/duet.json", url.as_str()],
        vec!["-d", "@/nonexistent/duet.txt", url.as_str()],
        vec!["-F", "f=@/nonexistent/duet.bin", url.as_str()],
        vec!["-F", "f=</nonexistent/duet.txt", url.as_str()],
    ] {
        let (report, run) = duet(&args).report();
        assert_eq!(run.code, 1, "{args:?}");
        assert_eq!(report["error"]["kind"], "body", "{args:?}: {report}");
        assert!(run.stderr.starts_with("duet: body: "), "{}", run.stderr);
    }
    assert!(site.echo_server().requests().is_empty());
}

#[test]
fn only_one_kind_of_body() {
    for args in [
        &["-d", "x", "-j", "{}", "http://127.0.0.1:9/"][..],
        &["--field", "a=1", "-F", "b=2", "http://127.0.0.1:9/"],
        &["-F", "b", "http://127.0.0.1:9/"],
        &["-F", "b=@a;size=1", "http://127.0.0.1:9/"],
    ] {
        assert_eq!(duet(args).run().code, 2, "{args:?}");
    }
}
