//! Scenarios of the storage model (RFC 6265bis §5.7) and the `Cookie` header (§5.8.3), one
//! rule per test, with an injected clock: where cookies go (`scope.rs`), and how long they
//! live, how many fit and how they are sent (`lifecycle.rs`).

mod lifecycle;
mod scope;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

use super::*;

const T0: u64 = 1_700_000_000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn now() -> SystemTime {
    at(T0)
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

/// A jar with each `Set-Cookie` stored from `from` at `now()`; panics on a rejection.
fn jar_with(from: &str, set_cookies: &[&str]) -> CookieJar {
    let mut jar = CookieJar::new();
    for set_cookie in set_cookies {
        jar.store(&url(from), set_cookie, now())
            .unwrap_or_else(|e| panic!("{set_cookie:?}: {e}"));
    }
    jar
}

fn header(jar: &mut CookieJar, to: &str) -> Option<String> {
    jar.cookie_header(&url(to), now())
}

fn rejected(from: &str, set_cookie: &str) -> CookieRejected {
    CookieJar::new()
        .store(&url(from), set_cookie, now())
        .unwrap_err()
}
