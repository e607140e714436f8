//! Both clients route by the proxy environment variables, in a child copy of this binary
//! started with them set (the environment is process-wide).

use duet_async::Client as Async;
use duet_blocking::Client as Blocking;
use duet_tests::child;
use duet_tests::server::*;

const MODE: &str = "DUET_PROXY_ENV_MODE";

#[test]
fn proxy_environment_variables_are_honoured_by_both_clients() {
    let _watchdog = duet_tests::watchdog!();
    if let Ok(mode) = std::env::var(MODE) {
        return check_child(&mode);
    }
    let proxy = Server::http(|r| Reply::ok(format!("proxied {}", r.target)));
    let origin = Server::http(|_| Reply::ok("direct"));
    let run = |mode: &str, vars: &[(&str, String)]| {
        let mut set = vec![(MODE, mode.into()), ("ORIGIN", origin.url("/").into())];
        set.extend(vars.iter().map(|(name, value)| (*name, value.into())));
        let unset = [
            "http_proxy",
            "HTTP_PROXY",
            "https_proxy",
            "HTTPS_PROXY",
            "all_proxy",
            "ALL_PROXY",
            "no_proxy",
            "NO_PROXY",
            "REQUEST_METHOD",
        ];
        child::rerun(
            "proxy_environment_variables_are_honoured_by_both_clients",
            &set,
            &unset,
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

fn check_child(mode: &str) {
    let origin = std::env::var("ORIGIN").unwrap();
    let expected = if mode == "proxied" {
        format!("proxied {origin}")
    } else {
        "direct".to_owned()
    };
    let routed = child::texts(&origin, Blocking::builder(), Async::builder());
    assert_eq!(routed, [expected.clone(), expected]);
    let ignoring = Blocking::builder().no_proxy().build().unwrap();
    assert_eq!(
        ignoring.get(&origin).send().unwrap().text().unwrap(),
        "direct",
        "no_proxy() ignores the environment"
    );
    let distrusting = child::texts(
        &origin,
        Blocking::builder().trust_env(false),
        Async::builder().trust_env(false),
    );
    assert_eq!(
        distrusting,
        ["direct", "direct"],
        "trust_env(false) ignores the environment"
    );
}
