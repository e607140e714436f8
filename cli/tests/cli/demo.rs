//! `duet` without a URL runs the demo; `duet --serve-demo` keeps the site up.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

#[test]
fn the_demo_walks_every_step_with_both_clients_and_exits_0() {
    let started = Instant::now();
    let cwd = tempfile::tempdir().unwrap();
    let run = duet::<&str>(&[]).current_dir(cwd.path()).run();
    let out = run.out();
    assert_eq!(run.code, 0, "{out}\n{}", run.stderr);
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "the jars and the upload stay in the demo's own directory"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    for expected in [
        "1. The login page hands out a CSRF cookie",
        "Django says: CSRF token missing.",
        "302 → 200 OK · \"Welcome to Hue, hue.\", cookies: csrftoken, sessionid",
        "database \"default\", owner \"hue\"",
        "302 → 302 → 302 → 200 OK · via /redirect/3 /redirect/2 /redirect/1 to /echo",
        "gzip bytes became",
        "hello ada, your Digest response checks out",
        "\"photo\" (beach.png, \"image/png\", 1008 bytes)",
        "error timeout",
        "duet-blocking and duet-async gave the same result at every step.",
    ] {
        assert!(out.contains(expected), "{expected:?} in\n{out}");
    }
    // Each step shows its command as a reader would type it (the jar, the file and the
    // token by name), just before the first client's result.
    for shown in [
        "$ duet -c jar.json 'http://127.0.0.1:",
        "-d username=hue -d password=secret -d csrfmiddlewaretoken=\"$CSRF\" -d next=/ http://",
        "$ duet -F title=holiday -F 'photo=@beach.png;type=image/png' http://",
    ] {
        assert!(out.contains(shown), "{shown:?} in\n{out}");
    }
    let lines: Vec<&str> = out.lines().collect();
    for pair in lines.windows(2) {
        if pair[1].starts_with("   blocking  ") {
            assert!(pair[0].starts_with("   $ duet "), "{pair:?}");
        }
    }
    assert_eq!(out.matches("\n   $ CSRF=$(jq ").count(), 1, "{out}");
    assert_eq!(out.matches("\n   blocking  ").count(), 9, "{out}");
    assert_eq!(out.matches("\n   async     ").count(), 9, "{out}");
    for line in out.lines().filter(|l| l.contains("http://")) {
        assert!(
            line.split("http://")
                .skip(1)
                .all(|rest| rest.starts_with("127.0.0.1:")),
            "only 127.0.0.1: {line}"
        );
    }
}

#[test]
fn serve_demo_prints_the_site_and_the_login_commands() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_duet"))
        .arg("--serve-demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut hue = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("  HUE=") {
            hue = Some(url.to_owned());
            break;
        }
    }
    let hue = hue.expect("the site's URL");
    let (report, _) = duet(&[format!("{hue}/hue/accounts/login/?next=/")]).report();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(report["status"], 200, "{report}");
    assert!(hue.starts_with("http://127.0.0.1:"));
}
