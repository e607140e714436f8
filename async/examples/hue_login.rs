//! Logs in to Hue (a Django site) the way a browser does, then calls its JSON API.
//!
//! 1. GET the login page: Django sets the `csrftoken` cookie.
//! 2. POST the login form with `username`, `password`, `csrfmiddlewaretoken` (the cookie's
//!    value), `next`, and the login page as `Referer` (Django insists on one over HTTPS).
//!    Django answers `302` to `next` with a `sessionid` cookie; the client follows it.
//! 3. GET a JSON endpoint with the session cookies and decode it.
//!
//! ```sh
//! HUE_PASSWORD=secret cargo run -p duet-async --features json --example hue_login_async -- \
//!     http://127.0.0.1:8888 hue
//! ```
//!
//! Arguments: `BASE_URL USER PASSWORD`; each may come from `HUE_URL`, `HUE_USER`,
//! `HUE_PASSWORD` instead (the environment keeps the password out of the process list). The
//! base URL defaults to `http://127.0.0.1:8888`.

use std::error::Error;
use std::process::ExitCode;

use duet_async::{Client, SharedJar};

const LOGIN_PATH: &str = "/hue/accounts/login/";
const API_PATH: &str = "/metastore/databases/default/metadata";

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut setting = |var: &str| args.next().or_else(|| std::env::var(var).ok());
    let base = setting("HUE_URL").unwrap_or_else(|| "http://127.0.0.1:8888".to_owned());
    let (Some(user), Some(password)) = (setting("HUE_USER"), setting("HUE_PASSWORD")) else {
        eprintln!(
            "usage: hue_login_async [BASE_URL [USER [PASSWORD]]]  (or HUE_URL, HUE_USER, HUE_PASSWORD)"
        );
        return ExitCode::from(2);
    };
    match log_in_and_fetch(base.trim_end_matches('/'), &user, &password).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn log_in_and_fetch(base: &str, user: &str, password: &str) -> Result<(), Box<dyn Error>> {
    let client = Client::new();
    let jar = client.cookies().ok_or("the client keeps no cookies")?;

    // 1. The login page sets the CSRF cookie.
    let login_url = format!("{base}{LOGIN_PATH}?next=/");
    let page = client.get(&login_url).send().await?.error_for_status()?;
    println!("GET  {login_url} -> {}", page.status());
    page.bytes().await?; // the form itself is not needed: the token is in the cookie
    print_cookies(jar);
    let csrf = jar
        .get("csrftoken")
        .ok_or("the login page did not set a csrftoken cookie")?
        .value;

    // 2. The login form. Django redirects to `next`; the client follows and keeps the cookies.
    let response = client
        .post(format!("{base}{LOGIN_PATH}"))
        .header("Referer", &login_url)
        .form(&[
            ("username", user),
            ("password", password),
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("next", "/"),
        ])
        .send()
        .await?
        .error_for_status()?;
    let mut method = "POST";
    for hop in response.history() {
        println!("{method:<4} {} -> {}", hop.url, hop.status);
        method = "GET"; // Django's 302 after a POST is followed with a GET
    }
    println!("{method:<4} {} -> {}", response.url(), response.status());
    // Wrong credentials: Django shows the form again (200, no redirect, no session).
    if response.history().is_empty() || jar.get("sessionid").is_none() {
        return Err(format!("login as {user:?} failed: wrong username or password?").into());
    }
    response.bytes().await?;
    print_cookies(jar);

    // 3. The JSON API, with the session.
    let api_url = format!("{base}{API_PATH}");
    let response = client.get(&api_url).send().await?.error_for_status()?;
    println!("GET  {api_url} -> {}", response.status());
    if response.url().path() == LOGIN_PATH {
        return Err("the API sent us back to the login page: the session was not accepted".into());
    }
    let metadata: serde_json::Value = response.json().await?;
    println!("{}", serde_json::to_string_pretty(&metadata)?);
    Ok(())
}

/// Lists the jar's cookies, values shortened (they are secrets).
fn print_cookies(jar: &SharedJar) {
    for cookie in jar.snapshot().iter() {
        let shown: String = cookie.value.chars().take(6).collect();
        println!(
            "     cookie {}={shown}... (path {}{}{})",
            cookie.name,
            cookie.path,
            if cookie.http_only { ", HttpOnly" } else { "" },
            if cookie.secure { ", Secure" } else { "" },
        );
    }
}
