//! Cases about the environment (`SSL_CERT_FILE`, `SSLKEYLOGFILE`, proxy variables): the
//! environment is process-wide, so such a case runs its clients in a child copy of its test
//! binary started with the variables set, and the child checks what each client does.

use std::ffi::OsString;
use std::process::Command;

/// Runs the test `test` (by its exact name) of this test binary again, in a child process
/// with the variables `set` and without those in `unset`; panics with the child's stderr
/// unless it passes.
pub fn rerun(test: &str, set: &[(&str, OsString)], unset: &[&str]) {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command.args([test, "--exact", "--nocapture"]);
    for name in unset {
        command.env_remove(name);
    }
    for (name, value) in set {
        command.env(name, value);
    }
    let output = command.output().expect("the child test ran");
    assert!(
        output.status.success(),
        "{test} with {set:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The body of a GET of `url` as text from a client of each flavour, built from these
/// builders (blocking first): what a child checks.
pub fn texts(
    url: &str,
    blocking: duet_blocking::ClientBuilder,
    asynchronous: duet_async::ClientBuilder,
) -> [String; 2] {
    let client = blocking.build().expect("a blocking client");
    let first = client.get(url).send().unwrap().text().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let second = runtime.block_on(async {
        let client = asynchronous.build().expect("an async client");
        client.get(url).send().await.unwrap().text().await.unwrap()
    });
    [first, second]
}
