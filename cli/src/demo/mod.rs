//! `duet` without a URL: a local demo site on 127.0.0.1 and a walk through a login and a
//! few features, each step one `duet` command sent with both clients; and
//! `duet --serve-demo`, the same site left running to try commands against.
//!
//! The demo touches no address but 127.0.0.1 and no file outside a temporary directory it
//! removes; it stops the site when done and exits with 0 when both clients gave the same
//! results at every step.

pub mod site;
mod story;

use std::process::ExitCode;

use duet_tests::hue::{LOGIN_PATH, METADATA_PATH, PASSWORD, USER};

pub use site::Site;

/// Runs the demo: starts the site, walks the steps with both clients, stops the site.
pub fn run() -> ExitCode {
    let site = Site::start();
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("duet: io: a temporary directory for the demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("duet demo: a local site, and each step one duet command sent with both clients");
    println!("  Hue-like login with CSRF, JSON API  {}", site.hue("/"));
    println!("  echo endpoints                      {}", site.echo("/"));
    let agreed = story::walk(&site, dir.path());
    drop(site);
    println!();
    if agreed {
        println!("duet-blocking and duet-async gave the same result at every step.");
        println!(
            "The demo site is stopped; `duet --serve-demo` keeps one running to try commands."
        );
        ExitCode::SUCCESS
    } else {
        println!("duet-blocking and duet-async disagreed (see above).");
        ExitCode::FAILURE
    }
}

/// Serves the demo site until the process is stopped, printing its URLs and the login in
/// three calls.
pub fn serve() -> ExitCode {
    let site = Site::start();
    let hue = site.hue("").trim_end_matches('/').to_owned();
    println!("duet demo site on 127.0.0.1 (Ctrl-C to stop)");
    println!("  Hue-like login with CSRF, JSON API  {hue}  (user {USER}, password {PASSWORD})");
    println!(
        "  echo endpoints                      {}  (/echo /redirect/N /gzip /basic /digest /slow /status/N /bytes/N /cookies/set)",
        site.echo("").trim_end_matches('/')
    );
    println!();
    println!("Log in with three calls sharing a cookie jar:");
    println!("  HUE={hue}");
    println!("  duet -c jar.json \"$HUE{LOGIN_PATH}?next=/\" > /dev/null");
    println!(
        "  duet -c jar.json -H \"Referer: $HUE{LOGIN_PATH}\" -d username={USER} -d password={PASSWORD} \\"
    );
    println!(
        "       -d csrfmiddlewaretoken=\"$(jq -r '.[] | select(.name == \"csrftoken\") | .value' jar.json)\" \\"
    );
    println!("       -d next=/ \"$HUE{LOGIN_PATH}\"");
    println!("  duet -c jar.json \"$HUE{METADATA_PATH}\"");
    loop {
        std::thread::park();
    }
}
