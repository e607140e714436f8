//! A cookie jar following RFC 6265bis (draft-ietf-httpbis-rfc6265bis), with the clock injected.
//!
//! ## Theory of operation
//!
//! A [`CookieJar`] is plain data: a list of [`Cookie`]s in insertion order and the
//! [`CookieLimits`] it enforces. Nothing in it reads a clock; every call that needs the time
//! takes `now: SystemTime` from the caller (a driver passes `SystemTime::now()`, tests pass
//! `UNIX_EPOCH + Duration`).
//!
//! 1. A response arrives: the driver calls [`CookieJar::store_response`] with the request URL,
//!    the response headers and `now`. Each `Set-Cookie` value is parsed (§5.6, in `parse.rs`;
//!    `Expires` dates with the §5.1.1 algorithm in `date.rs`) and then run through the storage
//!    model (§5.7, in `jar.rs`), which decides the cookie's domain, path, flags and expiry, or
//!    rejects it with a [`CookieRejected`] that says which step refused it. [`CookieJar::store`]
//!    does the same for one value and returns that reason.
//! 2. A request is about to be sent: the driver calls [`CookieJar::cookie_header`] with the
//!    request URL and `now`, and sends the `Cookie` header it returns (§5.8.3), if any.
//! 3. Between runs, a jar is saved and loaded as JSON ([`CookieJar::to_json`],
//!    [`CookieJar::from_json`]) or as curl's `cookies.txt` ([`CookieJar::to_netscape`],
//!    [`CookieJar::from_netscape`]), in `files.rs`.
//! 4. Clients that share one jar across threads hold a [`SharedJar`].
//!
//! Domain and path matching (§5.1.3, §5.1.4) and the public-suffix check (§5.7 step 9, with
//! the `psl` crate) live in `matching.rs`.
//!
//! ## What duet does not do
//!
//! - **SameSite enforcement.** `SameSite` is a browser matter (it needs to know which site
//!   started a request). duet parses it, stores it in [`Cookie::same_site`], saves and loads it,
//!   and rejects `SameSite=None` without `Secure` (§5.7 step 19); it does not withhold cookies
//!   from "cross-site" requests, because an HTTP client has no notion of a site that started one.
//! - **Non-HTTP APIs.** Every cookie comes from an HTTP response, so `HttpOnly` is stored and
//!   reported ([`Cookie::http_only`]) and such cookies are sent as any other (§5.8.3).
//! - **Non-UTF-8 cookies.** `Set-Cookie` values that are not UTF-8 are rejected
//!   ([`CookieRejected::NotUtf8`]).
//!
//! ## Deviations from the draft, on purpose
//!
//! - A cookie is identified by (name, domain, path), as in RFC 6265 and curl: a host-only and a
//!   domain cookie with the same name, domain and path replace each other instead of living side
//!   by side (§5.7 step 23 adds the host-only flag to the key). Nobody can then be sent two
//!   cookies of one name from one jar entry, and [`CookieJar::get_for`] and
//!   [`CookieJar::remove`] need no flag.
//! - A `Domain` attribute equal to an IP-address host makes a host-only cookie (an IP address
//!   has no subdomains, so this only changes how the cookie is reported and saved).
//! - A loopback host (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`) counts as a secure
//!   origin over plain `http` too, for setting and sending `Secure` cookies and the
//!   `__Secure-` and `__Host-` prefixes, as browsers and curl hold (the draft leaves "secure"
//!   to the user agent). requests and httpx store such a cookie but never send it back.
//!
//! ## Limits, in one place
//!
//! | What                                   | Number     | Where it comes from             |
//! |----------------------------------------|------------|---------------------------------|
//! | name + value bytes of one cookie       | 4096       | [`MAX_NAME_VALUE_BYTES`], §5.6  |
//! | bytes of one attribute value           | 1024       | [`MAX_ATTRIBUTE_VALUE_BYTES`], §5.6 (longer ones are ignored) |
//! | lifetime of a cookie                   | 400 days   | [`MAX_LIFETIME`], §5.5 / §5.6.1–2 |
//! | cookies with one domain field          | 50         | [`CookieLimits::max_cookies_per_domain`] |
//! | cookies in the jar                     | 3000       | [`CookieLimits::max_cookies`]   |
//! | bytes of one `Cookie` header value     | 8192       | [`CookieLimits::max_header_bytes`] |
//!
//! When a domain or the jar is over its cap, the cookies used least recently (oldest
//! last-access time, then oldest creation time) are evicted first (§5.7, "remove excess
//! cookies"). When the matching cookies do not fit in one `Cookie` header, the lowest-priority
//! ones (the end of the §5.8.3 order: shortest path, newest) are left out.
//!
//! ## Why not the `cookie` crate
//!
//! `cookie` 0.18 parses for servers: it refuses nameless cookies (`Set-Cookie: foo`, which
//! §5.6 stores with an empty name), accepts control bytes in values, and reads `Expires` with
//! three fixed formats instead of the §5.1.1 algorithm (so `Expires=21 Oct 2015 7:28:00`, which
//! browsers accept, is lost). The §5.6 parser is short, so duet follows the draft directly.
//!
//! ## Example
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use duet_core::cookies::CookieJar;
//!
//! let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let url = url::Url::parse("https://www.example.com/docs/page").unwrap();
//! let mut jar = CookieJar::new();
//! jar.store(&url, "sid=abc; Domain=example.com; Path=/; Secure; HttpOnly", now).unwrap();
//! jar.store(&url, "lang=en", now).unwrap(); // host-only, path /docs
//!
//! let next = url::Url::parse("https://www.example.com/docs/other").unwrap();
//! assert_eq!(jar.cookie_header(&next, now).as_deref(), Some("lang=en; sid=abc"));
//! let api = url::Url::parse("https://api.example.com/").unwrap();
//! assert_eq!(jar.cookie_header(&api, now).as_deref(), Some("sid=abc"));
//! let plain = url::Url::parse("http://www.example.com/").unwrap();
//! assert_eq!(jar.cookie_header(&plain, now), None); // Secure cookies never go over http
//! ```

mod cookie;
mod date;
mod error;
mod files;
mod jar;
mod matching;
mod parse;
mod shared;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use cookie::{Cookie, SameSite};
pub use date::parse_cookie_date;
pub use error::{CookieFileError, CookieRejected};
pub use jar::CookieJar;
pub use shared::SharedJar;

/// The most bytes a cookie's name and value may have together; longer cookies are rejected
/// (RFC 6265bis §5.6 and §5.7 step 4).
pub const MAX_NAME_VALUE_BYTES: usize = 4096;

/// The most bytes an attribute value may have; a longer attribute is ignored as if absent
/// (RFC 6265bis §5.6).
pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;

/// The longest a cookie may live: `Max-Age` and `Expires` are capped at 400 days from the time
/// the cookie is received, and loaded cookies at 400 days from the time of loading
/// (RFC 6265bis §5.5, §5.6.1, §5.6.2).
pub const MAX_LIFETIME: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// The caps a [`CookieJar`] enforces, with documented defaults (see the table in the
/// [module docs](self)).
///
/// ```
/// let mut limits = duet_core::cookies::CookieLimits::default();
/// limits.max_cookies_per_domain = 20;
/// let jar = duet_core::cookies::CookieJar::with_limits(limits);
/// assert_eq!(jar.limits().max_cookies, 3000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieLimits {
    /// Cookies that share one domain field; the least recently used are evicted beyond it.
    /// Default 50.
    pub max_cookies_per_domain: usize,
    /// Cookies in the whole jar; the least recently used are evicted beyond it. Default 3000.
    pub max_cookies: usize,
    /// Bytes of one `Cookie` header value. Default 8192. Cookies are taken in §5.8.3 order
    /// while they fit; the rest (the lowest-priority ones) are left out of that request.
    pub max_header_bytes: usize,
}

impl Default for CookieLimits {
    fn default() -> Self {
        CookieLimits {
            max_cookies_per_domain: 50,
            max_cookies: 3000,
            max_header_bytes: 8192,
        }
    }
}
