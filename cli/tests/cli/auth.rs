//! Credentials: `-u` (Basic, Digest), `--bearer`, `--netrc`, `--netrc-file`.

use duet_cli::demo::Site;
use duet_cli::demo::site::{PASSWORD, USER};

use crate::harness::*;

fn user() -> String {
    format!("{USER}:{PASSWORD}")
}

#[test]
fn basic_credentials() {
    let site = Site::start();
    let (report, run) = duet(&["-u", &user(), &site.echo("/basic")]).report();
    assert_eq!((run.code, report["status"].clone()), (0, 200.into()));
    assert_eq!(report["body"], format!("hello {USER}"));
    let (report, run) = duet(&[
        "--user",
        &format!("{USER}:wrong"),
        "--auth-type",
        "basic",
        &site.echo("/basic"),
    ])
    .report();
    assert_eq!(
        (run.code, report["status"].clone()),
        (0, 401.into()),
        "a 401 is a response"
    );
    assert_eq!(report["error"], serde_json::Value::Null);
}

#[test]
fn digest_credentials_answer_the_challenge() {
    let site = Site::start();
    let (report, run) = duet(&[
        "-u",
        &user(),
        "--auth-type",
        "digest",
        &site.echo("/digest"),
    ])
    .report();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["status"], 200);
    assert!(
        report["body"].as_str().unwrap().starts_with("hello ada"),
        "{report}"
    );
    let requests = site.echo_server().requests();
    assert_eq!(requests.len(), 2, "challenge, then the answer");
    assert!(
        requests[1]
            .header_str("authorization")
            .unwrap()
            .starts_with("Digest ")
    );

    let (report, _) = duet(&[
        "-u",
        "ada:nope",
        "--auth-type",
        "digest",
        &site.echo("/digest"),
    ])
    .report();
    assert_eq!(report["status"], 401);
}

#[test]
fn a_bearer_token() {
    let site = Site::start();
    let (report, _) = duet(&["--bearer", "t0k3n", &site.echo("/echo")]).report();
    assert_eq!(
        header(&echoed(&report)["headers"], "authorization"),
        Some("Bearer t0k3n")
    );
}

#[test]
fn credentials_from_a_netrc_file() {
    let site = Site::start();
    let dir = tempfile::tempdir().unwrap();
    let netrc = file(
        dir.path(),
        "netrc",
        format!("machine 127.0.0.1 login {USER} password {PASSWORD}\n"),
    );
    let url = site.echo("/basic");
    let (report, _) = duet(&["--netrc-file", &arg(&netrc), &url]).report();
    assert_eq!(report["status"], 200);
    // --netrc reads $NETRC (or ~/.netrc); without the flag no file is read.
    let (report, _) = duet(&["--netrc", &url]).env("NETRC", &netrc).report();
    assert_eq!(report["status"], 200);
    let (report, _) = duet(&[&url]).env("NETRC", &netrc).report();
    assert_eq!(report["status"], 401);
    // ~/.netrc
    let home = tempfile::tempdir().unwrap();
    file(
        home.path(),
        ".netrc",
        format!("default login {USER} password {PASSWORD}\n"),
    );
    let (report, _) = duet(&["--netrc", &url]).env("HOME", home.path()).report();
    assert_eq!(report["status"], 200);
    let (report, _) = duet(&["-n", &url]).env("HOME", home.path()).report();
    assert_eq!(report["status"], 200, "curl's -n");
}

#[test]
fn a_malformed_netrc_file_is_an_auth_error() {
    let dir = tempfile::tempdir().unwrap();
    let netrc = file(dir.path(), "netrc", "machine\n");
    let (report, run) = duet(&["--netrc-file", &arg(&netrc), "http://127.0.0.1:9/"]).report();
    assert_eq!(run.code, 1);
    assert_eq!(report["error"]["kind"], "auth", "{report}");
    let missing = dir.path().join("missing");
    let (report, _) = duet(&["--netrc-file", &arg(&missing), "http://127.0.0.1:9/"]).report();
    assert_eq!(report["error"]["kind"], "auth", "{report}");
}

#[test]
fn credentials_flags_are_checked() {
    for args in [
        &["-u", "ada", "http://127.0.0.1:9/"][..],
        &["-u", "ada:x", "--bearer", "t", "http://127.0.0.1:9/"],
        &["-u", "ada:x", "--auth-type", "ntlm", "http://127.0.0.1:9/"],
    ] {
        assert_eq!(duet(args).run().code, 2, "{args:?}");
    }
}
