//! Both clients route by the proxy environment variables, in a child copy of this binary
//! started with them set (the environment is process-wide).

use std::process::Command;

use duet_tests::server::*;

const MODE: &str = "DUET_PROXY_ENV_MODE";

#[test]
fn proxy_environment_variables_are_honoured_by_both_clients() {
    if let Ok(mode) = std::env::var(MODE) {
        return child(&mode);
    }
    let proxy = Server::http(|r| Reply::ok(format!("proxied {}", r.target)));
    let origin = Server::http(|_| Reply::ok("direct"));
    let run = |mode: &str, vars: &[(&str, String)]| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args([
            "proxy_environment_variables_are_honoured_by_both_clients",
            "--exact",
            "--nocapture",
        ]);
        for var in [
            "http_proxy",
            "HTTP_PROXY",
            "https_proxy",
            "HTTPS_PROXY",
            "all_proxy",
            "ALL_PROXY",
            "no_proxy",
            "NO_PROXY",
            "REQUEST_METHOD",
        ] {
            command.env_remove(var);
        }
        command.env(MODE, mode).env("ORIGIN", origin.url("/"));
        for (name, value) in vars {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let proxy_url = format!("http://{}", proxy.addr());
    run("proxied", &[("http_proxy", proxy_url.clone())]);
    run(
        "direct",
        &[
            ("http_proxy", proxy_url.clone()),
            ("no_proxy", "127.0.0.1".into()),
        ],
    );
    run(
        "direct",
        &[
            ("HTTP_PROXY", proxy_url.clone()),
            ("REQUEST_METHOD", "GET".into()),
        ],
    );
    run("proxied", &[("ALL_PROXY", proxy_url)]);
    assert!(!proxy.requests().is_empty());
}

fn child(mode: &str) {
    let origin = std::env::var("ORIGIN").unwrap();
    let expected = if mode == "proxied" {
        format!("proxied {origin}")
    } else {
        "direct".to_owned()
    };
    let blocking = duet_blocking::Client::new()
        .get(&origin)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(blocking, expected, "blocking");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let text = runtime.block_on(async {
        duet_async::Client::new()
            .get(&origin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(text, expected, "async");
    let ignoring = duet_blocking::Client::builder().no_proxy().build().unwrap();
    assert_eq!(
        ignoring.get(&origin).send().unwrap().text().unwrap(),
        "direct",
        "no_proxy() ignores the environment"
    );
    let distrusting = duet_blocking::Client::builder()
        .trust_env(false)
        .build()
        .unwrap();
    assert_eq!(
        distrusting.get(&origin).send().unwrap().text().unwrap(),
        "direct",
        "trust_env(false) ignores the environment"
    );
    let text = runtime.block_on(async {
        let client = duet_async::Client::builder()
            .trust_env(false)
            .build()
            .unwrap();
        client
            .get(&origin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(text, "direct", "async, trust_env(false)");
}
