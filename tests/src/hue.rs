//! [`HueServer`]: a test server that logs users in the way Hue does, that is Django's
//! `CsrfViewMiddleware` and auth views, so a client can be tested on the browser's login dance.
//!
//! What it reproduces (Django 4.1+):
//!
//! - `GET /hue/accounts/login/?next=...`: the login form, with the CSRF token *masked* in the
//!   hidden `csrfmiddlewaretoken` input (a fresh salt each time, so it differs from the cookie
//!   but unmasks to it), and `Set-Cookie: csrftoken=<secret>` unless the client already has a
//!   valid one, which is kept.
//! - Every unsafe request (POST, PUT, PATCH, DELETE) goes through the CSRF check first: an
//!   `Origin` header, when present, must be this server's origin; over HTTPS without one, the
//!   `Referer` is required and must be an `https` URL of this host and port; then the
//!   `csrftoken` cookie must be present and the `csrfmiddlewaretoken` form field (or the
//!   `X-CSRFToken` header) must be the secret itself or a masked form of it. A failure is
//!   `403` with Django's "CSRF verification failed. Request aborted." page and its reason.
//! - `POST /hue/accounts/login/` with `username`, `password` (and `next`): wrong credentials
//!   give `200` and the form again with Django's error message; right ones rotate the CSRF
//!   secret (a new `csrftoken` cookie), start a session (`sessionid`, `HttpOnly`, `Secure`
//!   over HTTPS) and redirect `302` to `next` if it is a local path, else to `/`.
//! - `/`, [`METADATA_PATH`] and [`PREFERENCES_PATH`] need a session: without one they redirect
//!   `302` to `/hue/accounts/login/?next=<path>` like Django's `login_required`; with one they
//!   answer (the last two with JSON).
//! - `POST /hue/accounts/logout/` ends the session and deletes the cookie (`Max-Age=0`).
//!
//! ```
//! use duet_tests::hue::*;
//!
//! let hue = HueServer::start();
//! let client = duet_blocking::Client::new();
//! client.get(hue.login_url("/")).send()?.bytes()?;
//! let csrf = client.cookies().unwrap().get(CSRF_COOKIE).unwrap().value;
//! let home = client
//!     .post(hue.url(LOGIN_PATH))
//!     .form(&[("username", USER), ("password", PASSWORD), (CSRF_FIELD, &csrf), ("next", "/")])
//!     .header("Referer", hue.login_url("/"))
//!     .send()?;
//! assert_eq!(home.url().path(), "/");
//! let metadata: serde_json::Value = client.get(hue.url(METADATA_PATH)).send()?.json()?;
//! assert_eq!(metadata["database"], "default");
//! # Ok::<(), duet_blocking::Error>(())
//! ```

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::core::Url;
use crate::server::{Cert, Reply, Request, Server};

/// The login view.
pub const LOGIN_PATH: &str = "/hue/accounts/login/";
/// The logout view (POST only).
pub const LOGOUT_PATH: &str = "/hue/accounts/logout/";
/// A JSON API endpoint that needs a session: the `default` database's metadata.
pub const METADATA_PATH: &str = "/metastore/databases/default/metadata";
/// Another JSON API endpoint that needs a session: the user's preferences.
pub const PREFERENCES_PATH: &str = "/desktop/api2/user_preferences";
/// The user the server knows.
pub const USER: &str = "hue";
/// [`USER`]'s password.
pub const PASSWORD: &str = "secret";
/// The CSRF cookie's name (Django's `CSRF_COOKIE_NAME`).
pub const CSRF_COOKIE: &str = "csrftoken";
/// The session cookie's name (Django's `SESSION_COOKIE_NAME`).
pub const SESSION_COOKIE: &str = "sessionid";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrfmiddlewaretoken";
/// The header that may carry the CSRF token instead (Django's `CSRF_HEADER_NAME`).
pub const CSRF_HEADER: &str = "X-CSRFToken";
/// Django's message for wrong credentials, shown in the form.
pub const BAD_LOGIN_MESSAGE: &str =
    "Please enter a correct username and password. Note that both fields may be case-sensitive.";

/// Length of a CSRF secret (`CSRF_SECRET_LENGTH`); a masked token is twice as long.
const SECRET_LEN: usize = 32;
/// `CSRF_ALLOWED_CHARS`: ASCII letters and digits.
const CSRF_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// The characters of a session key.
const SESSION_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// `CSRF_COOKIE_AGE`: 52 weeks.
const CSRF_COOKIE_AGE: u64 = 60 * 60 * 24 * 7 * 52;
/// `SESSION_COOKIE_AGE`: two weeks.
const SESSION_COOKIE_AGE: u64 = 60 * 60 * 24 * 7 * 2;

/// A running Hue-like server (plain or TLS) on 127.0.0.1; stops when dropped.
pub struct HueServer {
    server: Server,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Session key → user name.
    sessions: HashMap<String, String>,
    /// Successful logins so far.
    logins: usize,
}

impl HueServer {
    /// A plain HTTP server: `http://127.0.0.1:PORT`.
    pub fn start() -> HueServer {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = Server::http(move |req| handle(&shared, false, req));
        HueServer { server, state }
    }

    /// An HTTPS server with the test CA's [`Cert::Localhost`]: `https://localhost:PORT` (trust
    /// it with [`crate::tls::ca_pem`]). Unsafe requests need a same-origin `Referer`.
    pub fn start_https() -> HueServer {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = Server::https(Cert::Localhost, move |req| handle(&shared, true, req));
        HueServer { server, state }
    }

    /// The URL of `path` (which may carry a query) on this server.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// The login page's URL with `next` as Django writes it (`/hue/accounts/login/?next=/`).
    pub fn login_url(&self, next: &str) -> String {
        self.url(&format!("{LOGIN_PATH}?next={}", quote(next)))
    }

    /// The underlying test server (connections, errors, ...).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Every request read so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    /// How many sessions are open (logged in and not logged out).
    pub fn sessions(&self) -> usize {
        lock(&self.state).sessions.len()
    }

    /// How many logins succeeded so far.
    pub fn logins(&self) -> usize {
        lock(&self.state).logins
    }

    /// The user a session key belongs to, if it is open.
    pub fn session_user(&self, session: &str) -> Option<String> {
        lock(&self.state).sessions.get(session).cloned()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which view a path resolves to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    Login,
    Logout,
    Home,
    Metadata,
    Preferences,
}

fn handle(state: &Mutex<State>, secure: bool, req: &Request) -> Reply {
    // URL resolution comes first: an unknown path is a 404 whatever the method.
    let view = match req.path() {
        LOGIN_PATH => View::Login,
        LOGOUT_PATH => View::Logout,
        "/" => View::Home,
        METADATA_PATH => View::Metadata,
        PREFERENCES_PATH => View::Preferences,
        _ => {
            return html(
                404,
                "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>",
            );
        }
    };
    let cookies = cookies(req);
    // CsrfViewMiddleware.process_view: every unsafe method, before the view.
    if !matches!(req.method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE") {
        if let Err(reason) = check_csrf(req, secure, &cookies) {
            return csrf_failure(&reason);
        }
    }
    let session = cookies.get(SESSION_COOKIE).cloned();
    let user = session
        .as_ref()
        .and_then(|key| lock(state).sessions.get(key).cloned());
    let method = req.method.as_str();
    match (view, method) {
        (View::Login, "GET" | "HEAD") => {
            let next = param(&query_pairs(req.query().unwrap_or("")), "next");
            let (secret, fresh) = match cookies.get(CSRF_COOKIE).and_then(|c| cookie_secret(c)) {
                Some(secret) => (secret, false),
                None => (random(SECRET_LEN, CSRF_CHARS), true),
            };
            let reply = html(200, &login_form(&mask(&secret), &next, "", None));
            if fresh {
                reply.header("Set-Cookie", csrf_cookie(&secret))
            } else {
                reply
            }
        }
        (View::Login, "POST") => login(state, secure, req, &cookies, session),
        (View::Logout, "POST") => {
            if let Some(key) = session {
                lock(state).sessions.remove(&key);
            }
            Reply::redirect(302, LOGIN_PATH)
                .header("Content-Type", "text/html; charset=utf-8")
                .header("Vary", "Cookie")
                .header(
                    "Set-Cookie",
                    format!(
                        "{SESSION_COOKIE}=\"\"; expires={}; Max-Age=0; Path=/; SameSite=Lax",
                        http_date(UNIX_EPOCH)
                    ),
                )
        }
        (View::Login, _) => not_allowed("GET, HEAD, POST"),
        (View::Logout, _) => not_allowed("POST"),
        (_, "GET" | "HEAD" | "POST") => match user {
            None => {
                let location = format!("{LOGIN_PATH}?next={}", quote(&req.target));
                Reply::redirect(302, &location)
                    .header("Content-Type", "text/html; charset=utf-8")
                    .header("Vary", "Cookie")
            }
            Some(user) => match view {
                View::Metadata => json(&serde_json::json!({
                    "status": 0,
                    "database": "default",
                    "owner": USER,
                    "owner_type": "USER",
                    "comment": "Default Hive database",
                    "location": "hdfs://namenode:8020/user/hive/warehouse",
                    "parameters": {},
                })),
                View::Preferences => json(&serde_json::json!({
                    "status": 0,
                    "user": user,
                    "data": {"default_app": "editor", "theme": "light"},
                })),
                _ => html(
                    200,
                    &format!(
                        "<title>Hue - Welcome</title><p>Welcome to Hue, {}.</p>",
                        escape(&user)
                    ),
                ),
            },
        },
        _ => not_allowed("GET, HEAD, POST"),
    }
}

/// LoginView.post: the CSRF check has passed.
fn login(
    state: &Mutex<State>,
    secure: bool,
    req: &Request,
    cookies: &HashMap<String, String>,
    old_session: Option<String>,
) -> Reply {
    let form = form(req);
    let (username, password) = (param(&form, "username"), param(&form, "password"));
    // LoginView reads `next` from the form, then from the query.
    let mut next = param(&form, "next");
    if next.is_empty() {
        next = param(&query_pairs(req.query().unwrap_or("")), "next");
    }
    if username != USER || password != PASSWORD {
        // The CSRF check passed, so the cookie holds a valid secret.
        let secret = cookies
            .get(CSRF_COOKIE)
            .and_then(|c| cookie_secret(c))
            .unwrap_or_default();
        return html(
            200,
            &login_form(&mask(&secret), &next, &username, Some(BAD_LOGIN_MESSAGE)),
        );
    }
    let key = random(32, SESSION_CHARS);
    {
        let mut state = lock(state);
        // cycle_key: the old session (if any) does not survive a login.
        if let Some(old) = old_session {
            state.sessions.remove(&old);
        }
        state.sessions.insert(key.clone(), username.to_owned());
        state.logins += 1;
    }
    let location = if is_local_path(&next) {
        next.as_str()
    } else {
        "/"
    };
    let expires = http_date(SystemTime::now() + Duration::from_secs(SESSION_COOKIE_AGE));
    let secure_attr = if secure { "; Secure" } else { "" };
    Reply::redirect(302, location)
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Vary", "Cookie")
        // rotate_token: a login gets a new CSRF secret.
        .header("Set-Cookie", csrf_cookie(&random(SECRET_LEN, CSRF_CHARS)))
        .header(
            "Set-Cookie",
            format!(
                "{SESSION_COOKIE}={key}; expires={expires}; HttpOnly; Max-Age={SESSION_COOKIE_AGE}; Path=/; SameSite=Lax{secure_attr}"
            ),
        )
}

/// CsrfViewMiddleware's checks for an unsafe request, with Django's reasons.
fn check_csrf(
    req: &Request,
    secure: bool,
    cookies: &HashMap<String, String>,
) -> Result<(), String> {
    let host = req.header_str("host").unwrap_or("").to_ascii_lowercase();
    if let Some(origin) = req.header_str("origin") {
        let good = format!("{}://{host}", if secure { "https" } else { "http" });
        if !origin.eq_ignore_ascii_case(&good) {
            return Err(format!(
                "Origin checking failed - {origin} does not match any trusted origins."
            ));
        }
    } else if secure {
        let referer = req
            .header_str("referer")
            .ok_or("Referer checking failed - no Referer.")?;
        let url = Url::parse(referer)
            .ok()
            .filter(|u| u.host_str().is_some())
            .ok_or("Referer checking failed - Referer is malformed.")?;
        if url.scheme() != "https" {
            return Err(
                "Referer checking failed - Referer is insecure while host is secure.".into(),
            );
        }
        let netloc = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
            None => url.host_str().unwrap_or("").to_owned(),
        };
        if netloc != host {
            return Err(format!(
                "Referer checking failed - {referer} does not match any trusted origins."
            ));
        }
    }
    let cookie = cookies.get(CSRF_COOKIE).ok_or("CSRF cookie not set.")?;
    let secret =
        cookie_secret(cookie).ok_or("CSRF cookie has incorrect length or invalid characters.")?;
    let from_form = if req.method == "POST" {
        Some(param(&form(req), CSRF_FIELD)).filter(|v| !v.is_empty())
    } else {
        None
    };
    let (token, source) = match from_form {
        Some(token) => (token, "POST"),
        None => (
            req.header_str(CSRF_HEADER)
                .ok_or("CSRF token missing.")?
                .to_owned(),
            "the 'X-Csrftoken' HTTP header",
        ),
    };
    let unmasked = match token.len() {
        SECRET_LEN if valid_chars(&token) => token,
        n if n == 2 * SECRET_LEN && valid_chars(&token) => unmask(&token),
        SECRET_LEN | 64 => return Err(format!("CSRF token from {source} has invalid characters.")),
        _ => return Err(format!("CSRF token from {source} has incorrect length.")),
    };
    if unmasked != secret {
        return Err(format!("CSRF token from {source} incorrect."));
    }
    Ok(())
}

/// The secret a `csrftoken` cookie holds: the secret itself, or (older Djangos) a masked token.
fn cookie_secret(cookie: &str) -> Option<String> {
    if !valid_chars(cookie) {
        return None;
    }
    match cookie.len() {
        SECRET_LEN => Some(cookie.to_owned()),
        n if n == 2 * SECRET_LEN => Some(unmask(cookie)),
        _ => None,
    }
}

fn valid_chars(s: &str) -> bool {
    s.bytes().all(|b| CSRF_CHARS.contains(&b))
}

fn index(c: u8) -> usize {
    CSRF_CHARS.iter().position(|&x| x == c).unwrap_or(0)
}

/// Django's `_mask_cipher_secret`: a random salt, then each secret character shifted by the
/// salt's character at the same place (mod 62); the token is salt + cipher.
pub fn mask(secret: &str) -> String {
    let salt = random(SECRET_LEN, CSRF_CHARS);
    let cipher: String = secret
        .bytes()
        .zip(salt.bytes())
        .map(|(s, k)| CSRF_CHARS[(index(s) + index(k)) % CSRF_CHARS.len()] as char)
        .collect();
    salt + &cipher
}

/// Django's `_unmask_cipher_token`: the secret behind a 64-character masked token.
pub fn unmask(token: &str) -> String {
    let (salt, cipher) = token.split_at(token.len().min(SECRET_LEN));
    let n = CSRF_CHARS.len();
    cipher
        .bytes()
        .zip(salt.bytes())
        .map(|(c, k)| CSRF_CHARS[(n + index(c) - index(k)) % n] as char)
        .collect()
}

/// The value of the hidden `<input name="NAME" value="...">` in `html`, as Django writes it.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(unescape(&html[start..start + end]))
}

fn csrf_cookie(secret: &str) -> String {
    let expires = http_date(SystemTime::now() + Duration::from_secs(CSRF_COOKIE_AGE));
    format!(
        "{CSRF_COOKIE}={secret}; expires={expires}; Max-Age={CSRF_COOKIE_AGE}; Path=/; SameSite=Lax"
    )
}

fn login_form(token: &str, next: &str, username: &str, error: Option<&str>) -> String {
    let errors = error.map_or(String::new(), |e| {
        format!(
            "    <ul class=\"errorlist nonfield\"><li>{}</li></ul>\n",
            escape(e)
        )
    });
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Hue - Sign In</title></head>\n<body>\n  \
         <form method=\"POST\" action=\"{LOGIN_PATH}\">\n    \
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{token}\">\n{errors}    \
         <input type=\"text\" name=\"username\" value=\"{}\" autofocus required>\n    \
         <input type=\"password\" name=\"password\" required>\n    \
         <input type=\"hidden\" name=\"next\" value=\"{}\">\n    \
         <input type=\"submit\" value=\"Sign in\">\n  </form>\n</body>\n</html>\n",
        escape(username),
        escape(next),
    )
}

fn csrf_failure(reason: &str) -> Reply {
    html(
        403,
        &format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>403 Forbidden</title></head>\n<body>\n  \
             <h1>Forbidden <span>(403)</span></h1>\n  <p>CSRF verification failed. Request aborted.</p>\n  \
             <p>Reason given for failure:</p>\n  <pre>\n    {}\n  </pre>\n</body>\n</html>\n",
            escape(reason)
        ),
    )
}

fn not_allowed(allow: &str) -> Reply {
    Reply::new(405)
        .header("Allow", allow)
        .header("Content-Type", "text/html; charset=utf-8")
}

fn html(status: u16, body: &str) -> Reply {
    Reply::new(status)
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Vary", "Cookie")
        .header("X-Frame-Options", "SAMEORIGIN")
        .body(body)
}

fn json(value: &serde_json::Value) -> Reply {
    Reply::new(200).json(value).header("Vary", "Cookie")
}

/// The request's cookies by name (the first of a name wins, as in Django).
fn cookies(req: &Request) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for header in req.header_all("cookie") {
        for pair in String::from_utf8_lossy(header).split(';') {
            let (name, value) = pair.split_once('=').unwrap_or(("", pair));
            out.entry(name.trim().to_owned())
                .or_insert_with(|| value.trim().to_owned());
        }
    }
    out
}

/// The request's `application/x-www-form-urlencoded` body, decoded.
fn form(req: &Request) -> Vec<(String, String)> {
    let is_form = req.header_str("content-type").is_some_and(|ct| {
        ct.trim()
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if is_form {
        query_pairs(&req.body_str())
    } else {
        Vec::new()
    }
}

/// The first value of `name` in decoded pairs, or "".
fn param(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Decodes `a=1&b=x+y` with the `url` crate's form decoder.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let mut url = Url::parse("http://form.invalid/").expect("a valid base URL");
    url.set_query(Some(query));
    url.query_pairs().into_owned().collect()
}

/// `url_has_allowed_host_and_scheme` for local redirects: a path on this site, not `//host`
/// nor `/\host` (which browsers read as another host).
fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control())
}

/// Percent-encodes all but unreserved characters and `/` (Django's `urlencode(safe="/")`).
fn quote(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// `len` characters of `alphabet`, unpredictable enough for a test server: std's randomly
/// keyed hasher over a process-wide counter.
fn random(len: usize, alphabet: &[u8]) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = RandomState::new();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    (0..len)
        .map(|i| {
            let mut hasher = state.build_hasher();
            hasher.write_u64(n);
            hasher.write_usize(i);
            alphabet[(hasher.finish() % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

/// An IMF-fixdate (`Thu, 01 Jan 1970 00:00:00 GMT`), as Django writes cookie expiry times.
fn http_date(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_round_trips_and_differs_each_time() {
        let secret = random(SECRET_LEN, CSRF_CHARS);
        let (a, b) = (mask(&secret), mask(&secret));
        assert_eq!(
            (a.len(), unmask(&a), unmask(&b)),
            (64, secret.clone(), secret.clone())
        );
        assert_ne!(a, b);
        assert!(!a.contains(&secret));
    }

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_661); // 2000-02-29
        assert_eq!(http_date(t), "Tue, 29 Feb 2000 01:01:01 GMT");
        let t = UNIX_EPOCH + Duration::from_secs(1_784_000_000);
        assert_eq!(http_date(t), "Tue, 14 Jul 2026 03:33:20 GMT");
    }

    #[test]
    fn next_must_be_local() {
        assert!(is_local_path("/metastore/?a=1"));
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "",
            "x",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
        assert_eq!(quote("/a b?c=1&d"), "/a%20b%3Fc%3D1%26d");
    }
}
