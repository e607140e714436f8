//! Cookies: `-b` for the request's own origin, and `-c` across calls (the Hue login).

use duet_cli::demo::Site;
use duet_tests::hue::*;
use duet_tests::server::{Reply, Server};
use serde_json::{Value, json};

use crate::harness::*;

fn jar(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("the jar was saved");
    serde_json::from_str(&text).expect("the jar is JSON")
}

fn value(jar: &[Value], name: &str) -> String {
    jar.iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["value"].as_str())
        .unwrap_or_else(|| panic!("no {name} in {jar:?}"))
        .to_owned()
}

/// The README's story: the login page, the form with the token from the jar, the API.
#[test]
fn hue_login_in_three_calls_sharing_a_cookie_jar() {
    let hue = HueServer::start();
    let dir = tempfile::tempdir().unwrap();
    let jar_path = dir.path().join("jar.json");
    let jar_arg = arg(&jar_path);

    let run = duet(&["-c", &jar_arg, &hue.login_url("/")]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.out().contains("csrfmiddlewaretoken"));
    let csrf = value(&jar(&jar_path), CSRF_COOKIE);

    let login = hue.url(LOGIN_PATH);
    let run = duet(&[
        "-c",
        &jar_arg,
        "-H",
        &format!("Referer: {login}"),
        "--field",
        &format!("username={USER}"),
        "--field",
        &format!("password={PASSWORD}"),
        "--field",
        &format!("{CSRF_FIELD}={csrf}"),
        "--field",
        "next=/",
        &login,
    ])
    .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.out().contains("Welcome to Hue, hue."), "{}", run.out());
    let saved = jar(&jar_path);
    let session = saved.iter().find(|c| c["name"] == SESSION_COOKIE).unwrap();
    assert_eq!(session["http_only"], true);
    assert_ne!(value(&saved, CSRF_COOKIE), csrf, "rotated at login");
    assert_eq!(hue.logins(), 1);

    let (report, run) = duet(&["-c", &jar_arg, &hue.url(METADATA_PATH)]).report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        report["history"],
        json!([]),
        "logged in: no redirect to the login page"
    );
    let metadata: Value = serde_json::from_str(report["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (metadata["database"].clone(), metadata["owner"].clone()),
        (json!("default"), json!("hue"))
    );
    let names: Vec<&str> = report["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [CSRF_COOKIE, SESSION_COOKIE]);
}

#[test]
fn without_the_jar_the_api_redirects_to_the_login_page() {
    let hue = HueServer::start();
    let (report, _) = duet(&[&hue.url(METADATA_PATH)]).report();
    assert_eq!(report["history"][0]["status"], 302);
    assert!(report["url"].as_str().unwrap().contains(LOGIN_PATH));
}

#[test]
fn the_jar_file_and_the_report_have_the_same_cookie_fields() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jar.json");
    let (report, _) = duet(&["-c", &arg(&path), &site.echo("/cookies/set?theme=dark")]).report();
    let cookie = &report["cookies"][0];
    assert_eq!(
        *cookie,
        json!({"name": "theme", "value": "dark", "domain": "127.0.0.1", "path": "/",
               "secure": false, "http_only": false, "expires": null})
    );
    let saved = &jar(&path)[0];
    for field in [
        "name",
        "value",
        "domain",
        "path",
        "secure",
        "http_only",
        "expires",
    ] {
        assert_eq!(saved[field], cookie[field], "{field}");
    }
}

#[test]
fn a_jar_with_only_the_report_fields_loads() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "jar.json",
        r#"[{"name": "sid", "value": "abc", "domain": "127.0.0.1", "path": "/",
             "secure": false, "http_only": true, "expires": null},
            {"name": "other", "value": "x", "domain": "example.com"}]"#,
    );
    let (report, _) = duet(&["-c", &arg(&path), &site.echo("/echo")]).report();
    assert_eq!(
        header(&echoed(&report)["headers"], "cookie"),
        Some("sid=abc")
    );
    assert_eq!(report["cookies"].as_array().unwrap().len(), 2);
    assert_eq!(jar(&path).len(), 2, "saved back");
}

#[test]
fn a_broken_jar_is_an_io_error_and_is_left_alone() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "jar.json", "not json");
    let (report, run) = duet(&["-c", &arg(&path), &site.echo("/echo")]).report();
    assert_eq!(
        (run.code, report["error"]["kind"].clone()),
        (1, json!("io"))
    );
    assert!(run.stderr.contains("jar.json"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
    assert!(site.echo_server().requests().is_empty());
}

#[test]
fn cookie_flags_go_to_the_first_origin_only() {
    let other = Server::http(|_| Reply::ok("other"));
    let target = other.url("/landing");
    let first = Server::http(move |_| Reply::redirect(302, &target));
    // Several in one flag, as a Cookie header has them (browsers' "copy as cURL" writes so).
    let (report, run) = duet(&[
        "-b",
        "sid=1; theme=dark;tz=a=b",
        "--cookie",
        "lang=en",
        &first.url("/"),
    ])
    .report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["body"], "other");
    assert_eq!(
        first.requests()[0].header_str("cookie"),
        Some("sid=1; theme=dark; tz=a=b; lang=en")
    );
    assert_eq!(other.requests()[0].header_str("cookie"), None);
    assert_eq!(report["cookies"], json!([]), "not stored in the jar");
}

#[test]
fn a_bad_cookie_is_an_invalid_header() {
    let site = Site::start();
    let (report, run) = duet(&["-b", "a b=1", &site.echo("/echo")]).report();
    assert_eq!(
        (run.code, report["error"]["kind"].clone()),
        (1, json!("invalid_header"))
    );
    for usage in ["", "a=1; nameless"] {
        assert_eq!(
            duet(&["-b", usage, "http://127.0.0.1:9/"]).run().code,
            2,
            "{usage:?}"
        );
    }
}

/// curl's habits: `-b FILE` reads a cookie file (curl's format or duet's) without writing
/// it, and `-c` keeps a jar in curl's format when the file is curl's or is named `*.txt`.
#[test]
fn curls_cookie_files_with_b_and_c() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let curl_file = "# Netscape HTTP Cookie File\n\
                     #HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tabc\n\
                     example.com\tTRUE\t/\tFALSE\t0\tother\tx\n";
    let path = file(dir.path(), "from-curl", curl_file);
    let (report, run) = duet(&["-b", &arg(&path), &site.echo("/echo")]).report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        header(&echoed(&report)["headers"], "cookie"),
        Some("sid=abc")
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        curl_file,
        "-b only reads"
    );
    let missing = dir.path().join("missing.txt");
    let (report, run) = duet(&["-b", &arg(&missing), &site.echo("/echo")]).report();
    assert_eq!(
        (run.code, header(&echoed(&report)["headers"], "cookie")),
        (0, None)
    );
    assert!(!missing.exists());
    // Read from one file, kept in another: a new `.txt` jar is written as curl writes.
    let kept = dir.path().join("cookies.txt");
    let run = duet(&[
        "-b",
        &arg(&path),
        "-c",
        &arg(&kept),
        &site.echo("/cookies/set?theme=dark"),
    ])
    .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let saved = std::fs::read_to_string(&kept).unwrap();
    assert!(saved.starts_with("# Netscape HTTP Cookie File"), "{saved}");
    for line in [
        "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tabc",
        "\ttheme\tdark",
    ] {
        assert!(saved.contains(line), "{line:?} in {saved}");
    }
}
