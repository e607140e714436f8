//! Redirects (RFC 9110 §15.4): whether to follow a response, where to, and with which method,
//! body and header fields.
//!
//! # Theory of operation
//!
//! As in httpx, each rule is a small pure function: [`location`] decides the URL,
//! [`next_method`] and [`body_action`] the method and body, [`next_headers`] the header fields,
//! and [`referer`] the `Referer`. [`RedirectChain`] applies all of them to one request's chain
//! of hops: it counts hops against [`RedirectPolicy::max`], keeps the URLs visited, and keeps
//! credentials stripped once a hop has left the origin.
//!
//! ```text
//! response ── is_redirect(status)? ── no ───────────────▶ Ok(None): deliver it
//!                   │ yes
//!             location(..) ── no Location ──────────────▶ Ok(None): deliver it
//!                   │ url       └─ bad Location ────────▶ Err(..)
//!             hops < max? ── no ────────────────────────▶ Err(TooManyRedirects)
//!                   │ yes
//!             next_method, body_action, next_headers, referer ──▶ Ok(Some(NextHop))
//! ```
//!
//! # Decisions
//!
//! - **At most 20 hops by default**, as httpx and browsers (Chrome and Firefox stop at 20);
//!   requests allows 30 and curl 50. A chain a browser completes, duet completes; a loop fails
//!   after 20 cheap round trips. There is no separate loop detection: a loop runs into the limit.
//! - **A backslash in a Location is read as WHATWG URL parsing reads it** (the `url` crate):
//!   for `http`/`https` it is a `/`, so `/\evil.example/` and `\\evil.example` lead to
//!   `evil.example`. That is what browsers do, so the server's redirect means the same in duet
//!   as in a browser. The origin rules below compare the *resolved* URLs, so such a hop strips
//!   credentials like any other cross-origin hop.
//! - **The body goes along exactly when the method does**: 307/308 keep both (RFC 9110
//!   §15.4.8, §15.4.9); 301/302 turn only POST into a bodiless GET (§15.4.2, §15.4.3) and keep
//!   PUT, DELETE, ... with their body, as browsers (Fetch) and httpx do; 303 always drops the
//!   body (§15.4.4). (requests drops the body on every 301/302/303.)
//! - **Referer follows browsers' default policy, `strict-origin-when-cross-origin`**: the full
//!   previous URL (without fragment and userinfo, RFC 9110 §10.1.3) to the same origin, only
//!   its origin to another origin, and nothing from `https` to `http`. A query string (a token,
//!   an OAuth code) never leaks to another site.
//!
//! # A chain, step by step
//!
//! ```
//! use duet_core::redirect::{BodyAction, RedirectChain, RedirectPolicy};
//! use duet_core::{Headers, Method, StatusCode, Url};
//!
//! let first = Url::parse("https://example.com/login").unwrap();
//! let mut chain = RedirectChain::new(RedirectPolicy::default());
//! let mut request = Headers::new();
//! request.append("Authorization", "Bearer secret").unwrap();
//! request.append("Content-Type", "application/json").unwrap();
//!
//! // 303 See Other: the POST becomes a GET without its body.
//! let mut response = Headers::new();
//! response.append("Location", "/home").unwrap();
//! let hop = chain
//!     .next_hop(StatusCode::SEE_OTHER, &Method::POST, &first, &response, &mut request)
//!     .unwrap()
//!     .unwrap();
//! assert_eq!(hop.url.as_str(), "https://example.com/home");
//! assert_eq!((hop.method.clone(), hop.body), (Method::GET, BodyAction::Drop));
//! assert_eq!(hop.referer.as_deref(), Some("https://example.com/login"));
//! assert!(!request.contains("content-type") && request.contains("authorization"));
//!
//! // 302 to another host: the credentials are stripped.
//! let mut response = Headers::new();
//! response.append("Location", "https://cdn.example.net/home").unwrap();
//! let next = chain
//!     .next_hop(StatusCode::FOUND, &hop.method, &hop.url, &response, &mut request)
//!     .unwrap()
//!     .unwrap();
//! assert!(!request.contains("authorization"));
//! assert_eq!(next.referer.as_deref(), Some("https://example.com/"));
//! assert_eq!(chain.hops(), 2);
//!
//! // A 200 ends the chain: deliver it.
//! let none = chain.next_hop(StatusCode::OK, &next.method, &next.url, &Headers::new(), &mut request);
//! assert_eq!(none, Ok(None));
//! ```

use http::{Method, StatusCode};
use url::Url;

use crate::headers::Headers;

/// How redirects are followed: a client-wide default, which a request may override.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedirectPolicy {
    /// Whether to follow redirects at all; when false every 3xx is delivered as it is.
    /// Default: true.
    pub follow: bool,
    /// The most hops one request may take; one more is [`RedirectError::TooManyRedirects`].
    /// Default: 20, as httpx and browsers (see the [module docs](self#decisions)).
    pub max: usize,
    /// Refuse any hop to an `http://` URL ([`RedirectError::InsecureRedirect`]). Default: false.
    pub https_only: bool,
    /// Set `Referer` on each hop (RFC 9110 §10.1.3, see [`referer`]). Default: true.
    pub referer: bool,
}

impl RedirectPolicy {
    /// The default maximum number of hops.
    pub const DEFAULT_MAX: usize = 20;

    /// Never follow: every redirect response is delivered to the caller.
    pub fn none() -> Self {
        RedirectPolicy {
            follow: false,
            ..Self::default()
        }
    }

    /// Follow at most `max` hops (0: a redirect is [`RedirectError::TooManyRedirects`]).
    pub fn limited(max: usize) -> Self {
        RedirectPolicy {
            max,
            ..Self::default()
        }
    }
}

impl Default for RedirectPolicy {
    /// Follow up to 20 hops, to `http` and `https`, setting `Referer`.
    fn default() -> Self {
        RedirectPolicy {
            follow: true,
            max: Self::DEFAULT_MAX,
            https_only: false,
            referer: true,
        }
    }
}

/// Why a redirect could not be followed. All but `TooManyRedirects` are the server's doing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// The chain reached [`RedirectPolicy::max`] hops and the server redirected once more
    /// (a redirect loop ends here too).
    #[error("more than {max} redirects")]
    TooManyRedirects {
        /// The limit.
        max: usize,
    },
    /// The response has two different `Location` fields (RFC 9110 §10.2.2 allows one URI).
    #[error("conflicting Location headers {first:?} and {second:?}")]
    ConflictingLocation {
        /// The first value.
        first: String,
        /// A later, different value.
        second: String,
    },
    /// The `Location` is not a URI reference that resolves (RFC 3986 §4.1, §5).
    #[error("invalid Location {location:?}: {reason}")]
    InvalidLocation {
        /// The value as received.
        location: String,
        /// What the URL parser objected to.
        reason: String,
    },
    /// The `Location` leads to a scheme other than `http` or `https` (`ftp:`, `file:`,
    /// `javascript:`, `data:`, ...); no request is made.
    #[error("redirect to unsupported scheme {scheme:?}")]
    UnsupportedScheme {
        /// The scheme, lowercased.
        scheme: String,
    },
    /// [`RedirectPolicy::https_only`] is set and the `Location` leads to `http`.
    #[error("redirect to insecure URL {url} refused (https only)")]
    InsecureRedirect {
        /// The resolved target, without password.
        url: String,
    },
}

/// Whether a request body goes along to the next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyAction {
    /// Send the same body again (the method was kept).
    Keep,
    /// Send no body (the method became GET, or the status is 303).
    Drop,
}

/// Whether `status` is a redirect duet follows: 301, 302, 303, 307 or 308 (RFC 9110 §15.4).
///
/// 300 Multiple Choices and 305 Use Proxy are delivered as they are, as requests and httpx
/// do (§15.4.1 leaves the choice to the user; §15.4.6 deprecates 305). A redirect status is
/// followed only if it also carries a `Location`: see [`location`].
pub fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The target of a redirect: the `Location` field resolved against `current`.
///
/// Resolution follows RFC 9110 §10.2.2 and RFC 3986 §5 (relative, `//host/path` and absolute
/// references), through WHATWG URL parsing, so a `\` counts as `/` (see the
/// [module docs](self#decisions)). A `Location` without a fragment inherits `current`'s
/// (§10.2.2). A value that is not UTF-8 keeps its bytes, percent-encoded.
///
/// Returns `Ok(None)` when there is no `Location`, or it is empty: the response is not a
/// redirect to follow. Errors: [`RedirectError::ConflictingLocation`] for two different
/// values (identical repeats are fine), [`RedirectError::InvalidLocation`],
/// [`RedirectError::UnsupportedScheme`] for anything but `http`/`https`, and
/// [`RedirectError::InsecureRedirect`] for `http` under [`RedirectPolicy::https_only`].
pub fn location(
    current: &Url,
    headers: &Headers,
    policy: &RedirectPolicy,
) -> Result<Option<Url>, RedirectError> {
    let Some(raw) = single_location(headers)? else {
        return Ok(None);
    };
    let mut url = current
        .join(&raw)
        .map_err(|e| RedirectError::InvalidLocation {
            location: raw.clone(),
            reason: e.to_string(),
        })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(RedirectError::UnsupportedScheme {
            scheme: url.scheme().to_owned(),
        });
    }
    if url.fragment().is_none() {
        url.set_fragment(current.fragment());
    }
    if policy.https_only && url.scheme() != "https" {
        let mut shown = url;
        let _ = shown.set_password(None);
        return Err(RedirectError::InsecureRedirect { url: shown.into() });
    }
    Ok(Some(url))
}

/// The one `Location` value, trimmed; `None` when absent or empty.
fn single_location(headers: &Headers) -> Result<Option<String>, RedirectError> {
    let mut found: Option<&[u8]> = None;
    for value in headers.get_all("location").map(<[u8]>::trim_ascii) {
        match found {
            None => found = Some(value),
            Some(first) if first == value => {}
            Some(first) => {
                return Err(RedirectError::ConflictingLocation {
                    first: location_text(first),
                    second: location_text(value),
                });
            }
        }
    }
    Ok(found.filter(|v| !v.is_empty()).map(location_text))
}

/// A `Location` value as text: UTF-8 as it is (browsers read it so), otherwise every byte
/// above 0x7f percent-encoded so the server gets its bytes back.
fn location_text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text) => text.to_owned(),
        Err(_) => value
            .iter()
            .map(|&b| match b {
                0x80.. => format!("%{b:02X}"),
                _ => char::from(b).to_string(),
            })
            .collect(),
    }
}

/// The method of the next hop (RFC 9110 §15.4).
///
/// 301 and 302 turn POST into GET (§15.4.2, §15.4.3: "for historical reasons") and keep every
/// other method; 303 turns everything but HEAD into GET (§15.4.4); 307, 308 and any other
/// status keep the method (§15.4.8, §15.4.9).
pub fn next_method(status: StatusCode, method: &Method) -> Method {
    match status.as_u16() {
        301 | 302 if method == Method::POST => Method::GET,
        303 if method != Method::HEAD => Method::GET,
        _ => method.clone(),
    }
}

/// Whether the request body goes along to the next hop.
///
/// [`BodyAction::Drop`] on 303 (§15.4.4: the target is a different resource, retrieved) and
/// on 301/302 for POST (which becomes GET); [`BodyAction::Keep`] otherwise — 307/308, and
/// 301/302 with a method that is kept, as browsers and httpx do. A body that cannot be sent
/// again is the caller's problem to report.
pub fn body_action(status: StatusCode, method: &Method) -> BodyAction {
    match status.as_u16() {
        303 => BodyAction::Drop,
        301 | 302 if method == Method::POST => BodyAction::Drop,
        _ => BodyAction::Keep,
    }
}

/// Rewrites the request header fields for a hop from `from` to `to`, in place.
///
/// - `Host` is always removed: the next hop writes its own.
/// - With [`BodyAction::Drop`], every `Content-*` field, `Transfer-Encoding`, and `Expect`
///   (RFC 9110 §10.1.1: no `100-continue` without content) are removed, any case.
/// - When the origin (scheme, host, port; RFC 6454 §4) changes, `Authorization`, `Cookie`
///   and `Proxy-Authorization` are removed — except for an upgrade from `http` on port 80 to
///   `https` on port 443 of the same host, which keeps them, as requests and httpx do.
///
/// Returns whether the hop crossed origins (credentials removed, if there were any). The
/// caller must then keep credentials off the rest of the chain, even on a hop back to the
/// first origin; [`RedirectChain`] does that.
pub fn next_headers(from: &Url, to: &Url, headers: &mut Headers, body: BodyAction) -> bool {
    headers.remove("host");
    if body == BodyAction::Drop {
        let content: Vec<String> = headers
            .iter()
            .map(|(name, _)| name)
            .filter(|name| {
                name.len() >= 8 && name.as_bytes()[..8].eq_ignore_ascii_case(b"content-")
            })
            .map(str::to_owned)
            .collect();
        for name in content.iter().map(String::as_str) {
            headers.remove(name);
        }
        headers.remove("transfer-encoding");
        headers.remove("expect");
    }
    let crossed = crosses_origin(from, to);
    if crossed {
        remove_credentials(headers);
    }
    crossed
}

fn remove_credentials(headers: &mut Headers) {
    for name in ["authorization", "cookie", "proxy-authorization"] {
        headers.remove(name);
    }
}

/// Whether credentials must not follow a hop from `from` to `to`.
fn crosses_origin(from: &Url, to: &Url) -> bool {
    let upgrade = from.scheme() == "http"
        && to.scheme() == "https"
        && from.host() == to.host()
        && from.port_or_known_default() == Some(80)
        && to.port_or_known_default() == Some(443);
    from.origin() != to.origin() && !upgrade
}

/// The `Referer` for a hop from `from` to `to` (RFC 9110 §10.1.3), following browsers'
/// default `strict-origin-when-cross-origin` policy.
///
/// - `None` from `https` to anything else (§10.1.3: "MUST NOT send a Referer ... in an
///   unsecured HTTP request if the referring resource was accessed with a secure protocol"),
///   and from a URL that is not `http`/`https`.
/// - Same origin: `from` without fragment and userinfo (§10.1.3 forbids both).
/// - Another origin: only `from`'s origin, as `scheme://host[:port]/`.
///
/// [`RedirectPolicy::referer`] decides whether [`RedirectChain`] uses it at all.
pub fn referer(from: &Url, to: &Url) -> Option<String> {
    if !matches!(from.scheme(), "http" | "https")
        || (from.scheme() == "https" && to.scheme() != "https")
    {
        return None;
    }
    if from.origin() != to.origin() {
        return Some(from.origin().ascii_serialization() + "/");
    }
    let mut referer = from.clone();
    referer.set_fragment(None);
    let _ = referer.set_username("");
    let _ = referer.set_password(None);
    Some(referer.into())
}

/// One hop decided by [`RedirectChain::next_hop`]. The request header fields were already
/// rewritten for it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NextHop {
    /// Where to send the next request (see [`location`]).
    pub url: Url,
    /// Its method (see [`next_method`]).
    pub method: Method,
    /// Whether the body goes along (see [`body_action`]).
    pub body: BodyAction,
    /// The `Referer` written into the request header fields, if any (see [`referer`]).
    pub referer: Option<String>,
}

/// The redirect decisions for one request's whole chain of hops.
///
/// It counts hops against [`RedirectPolicy::max`], remembers every URL visited (the first
/// included), and once a hop has crossed origins keeps `Authorization`, `Cookie` and
/// `Proxy-Authorization` off every later hop, including one back to the first origin. Errors
/// are sticky: after one, every call returns it again.
#[derive(Debug, Clone)]
pub struct RedirectChain {
    policy: RedirectPolicy,
    hops: usize,
    credentials_stripped: bool,
    failed: Option<RedirectError>,
}

impl RedirectChain {
    /// A chain for one request, under `policy`.
    pub fn new(policy: RedirectPolicy) -> Self {
        RedirectChain {
            policy,
            hops: 0,
            credentials_stripped: false,
            failed: None,
        }
    }

    /// Decides what follows a response to a `method` request for `current`; call it for every
    /// final (non-1xx) response head.
    ///
    /// `Ok(None)`: not a redirect to follow (not a redirect status, no `Location`, or
    /// [`RedirectPolicy::follow`] is off) — deliver the response. `Ok(Some(hop))`: send
    /// `hop.method` to `hop.url`; `request_headers` were rewritten for it ([`next_headers`],
    /// the stay-stripped rule, and `Referer` when [`RedirectPolicy::referer`] is on, which
    /// replaces any earlier one). Errors: [`RedirectError::TooManyRedirects`] and those of
    /// [`location`]; all are final.
    pub fn next_hop(
        &mut self,
        status: StatusCode,
        method: &Method,
        current: &Url,
        response_headers: &Headers,
        request_headers: &mut Headers,
    ) -> Result<Option<NextHop>, RedirectError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.decide(status, method, current, response_headers, request_headers);
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    fn decide(
        &mut self,
        status: StatusCode,
        method: &Method,
        current: &Url,
        response_headers: &Headers,
        request_headers: &mut Headers,
    ) -> Result<Option<NextHop>, RedirectError> {
        if !self.policy.follow || !is_redirect(status) {
            return Ok(None);
        }
        let Some(url) = location(current, response_headers, &self.policy)? else {
            return Ok(None);
        };
        if self.hops() >= self.policy.max {
            return Err(RedirectError::TooManyRedirects {
                max: self.policy.max,
            });
        }
        let body = body_action(status, method);
        self.credentials_stripped |= next_headers(current, &url, request_headers, body);
        if self.credentials_stripped {
            remove_credentials(request_headers);
        }
        let mut referer_value = None;
        if self.policy.referer {
            request_headers.remove("referer");
            referer_value =
                referer(current, &url).filter(|r| request_headers.append("Referer", r).is_ok());
        }
        self.hops += 1;
        Ok(Some(NextHop {
            url,
            method: next_method(status, method),
            body,
            referer: referer_value,
        }))
    }

    /// How many hops were taken.
    pub fn hops(&self) -> usize {
        self.hops
    }

    /// Whether a hop crossed origins, so credentials stay off the rest of the chain.
    pub fn credentials_stripped(&self) -> bool {
        self.credentials_stripped
    }

    /// The policy the chain follows.
    pub fn policy(&self) -> &RedirectPolicy {
        &self.policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn headers(fields: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (name, value) in fields {
            h.append(name, value).unwrap();
        }
        h
    }

    fn names(h: &Headers) -> Vec<&str> {
        h.iter().map(|(n, _)| n).collect()
    }

    fn resolve(current: &str, loc: &str) -> Result<Option<Url>, RedirectError> {
        location(
            &url(current),
            &headers(&[("Location", loc)]),
            &RedirectPolicy::default(),
        )
    }

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn policy_defaults() {
        let p = RedirectPolicy::default();
        assert!(p.follow && p.referer && !p.https_only);
        assert_eq!(p.max, 20);
        assert!(!RedirectPolicy::none().follow);
        assert_eq!(RedirectPolicy::limited(3).max, 3);
        assert!(RedirectPolicy::limited(3).follow);
    }

    #[test]
    fn which_statuses_redirect() {
        for code in 100..600 {
            let expected = matches!(code, 301 | 302 | 303 | 307 | 308);
            assert_eq!(is_redirect(status(code)), expected, "{code}");
        }
    }

    #[test]
    fn method_and_body_for_every_status_and_method() {
        use BodyAction::{Drop, Keep};
        let methods = [
            "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND",
        ];
        // (status, method) -> (next method, body); "=" means the method is kept.
        let expect = |code: u16, m: &str| -> (&str, BodyAction) {
            match (code, m) {
                (301 | 302, "POST") => ("GET", Drop),
                (301 | 302, _) => ("=", Keep),
                (303, "HEAD") => ("=", Drop),
                (303, _) => ("GET", Drop),
                (307 | 308, _) => ("=", Keep),
                _ => unreachable!(),
            }
        };
        for code in [301, 302, 303, 307, 308] {
            for m in methods {
                let method = Method::from_bytes(m.as_bytes()).unwrap();
                let (next, body) = expect(code, m);
                let next = if next == "=" { m } else { next };
                assert_eq!(
                    next_method(status(code), &method).as_str(),
                    next,
                    "{code} {m}"
                );
                assert_eq!(body_action(status(code), &method), body, "{code} {m}");
            }
        }
        // Not a redirect: nothing changes.
        assert_eq!(next_method(StatusCode::OK, &Method::POST), Method::POST);
        assert_eq!(body_action(StatusCode::OK, &Method::POST), Keep);
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        let base = "https://good.example/a/b?q=1";
        for (loc, expected) in [
            ("c", "https://good.example/a/c"),
            ("../c?x=1", "https://good.example/c?x=1"),
            ("/root", "https://good.example/root"),
            ("?page=2", "https://good.example/a/b?page=2"),
            ("//other.example/p", "https://other.example/p"),
            ("http://other.example:8080/p", "http://other.example:8080/p"),
            ("HTTPS://Other.Example/P", "https://other.example/P"),
            ("  /trimmed  ", "https://good.example/trimmed"),
            ("/sp ace", "https://good.example/sp%20ace"),
            // WHATWG: a backslash is a slash in http(s) URLs, as in browsers.
            ("/\\evil.example/", "https://evil.example/"),
            ("\\\\evil.example", "https://evil.example/"),
            ("/a\\b", "https://good.example/a/b"),
        ] {
            assert_eq!(
                resolve(base, loc).unwrap().unwrap().as_str(),
                expected,
                "{loc}"
            );
        }
    }

    #[test]
    fn non_utf8_location_keeps_its_bytes() {
        let mut h = Headers::new();
        h.append("Location", b"/caf\xe9").unwrap();
        let to = location(&url("http://h/"), &h, &RedirectPolicy::default());
        assert_eq!(to.unwrap().unwrap().as_str(), "http://h/caf%E9");
        let mut h = Headers::new();
        h.append("Location", "/café").unwrap();
        let to = location(&url("http://h/"), &h, &RedirectPolicy::default());
        assert_eq!(to.unwrap().unwrap().as_str(), "http://h/caf%C3%A9");
    }

    #[test]
    fn fragments_are_inherited_unless_the_location_has_one() {
        let base = "http://h/a#section";
        let to = |loc| resolve(base, loc).unwrap().unwrap();
        assert_eq!(to("/b").as_str(), "http://h/b#section");
        assert_eq!(to("/b#other").as_str(), "http://h/b#other");
        assert_eq!(to("/b#").as_str(), "http://h/b#");
        assert_eq!(
            resolve("http://h/a", "/b").unwrap().unwrap().fragment(),
            None
        );
    }

    #[test]
    fn missing_and_empty_locations_are_not_redirects() {
        let p = RedirectPolicy::default();
        assert_eq!(location(&url("http://h/"), &Headers::new(), &p), Ok(None));
        assert_eq!(resolve("http://h/", ""), Ok(None));
        assert_eq!(resolve("http://h/", "   "), Ok(None));
    }

    #[test]
    fn conflicting_locations() {
        let p = RedirectPolicy::default();
        let h = headers(&[("Location", "/a"), ("location", " /a ")]);
        assert_eq!(
            location(&url("http://h/"), &h, &p)
                .unwrap()
                .unwrap()
                .as_str(),
            "http://h/a"
        );
        let h = headers(&[("Location", "/a"), ("LOCATION", "/b")]);
        assert_eq!(
            location(&url("http://h/"), &h, &p),
            Err(RedirectError::ConflictingLocation {
                first: "/a".into(),
                second: "/b".into()
            })
        );
    }

    #[test]
    fn invalid_locations() {
        for loc in ["http://", "http://[::1", "https://h:99999/"] {
            match resolve("http://h/", loc) {
                Err(RedirectError::InvalidLocation { location, reason }) => {
                    assert_eq!(location, loc);
                    assert!(!reason.is_empty());
                }
                other => panic!("{loc}: {other:?}"),
            }
        }
    }

    #[test]
    fn other_schemes_are_refused() {
        for (loc, scheme) in [
            ("ftp://files.example/x", "ftp"),
            ("javascript:alert(1)", "javascript"),
            ("JavaScript:alert(1)", "javascript"),
            ("file:///etc/passwd", "file"),
            ("data:text/html,<script>", "data"),
            ("mailto:a@example.com", "mailto"),
        ] {
            assert_eq!(
                resolve("https://h/", loc),
                Err(RedirectError::UnsupportedScheme {
                    scheme: scheme.into()
                }),
                "{loc}"
            );
        }
    }

    #[test]
    fn https_only_refuses_http_targets() {
        let p = RedirectPolicy {
            https_only: true,
            ..RedirectPolicy::default()
        };
        let to = |current: &str, loc| location(&url(current), &headers(&[("Location", loc)]), &p);
        assert_eq!(
            to("https://u:secret@h/", "http://u:pw@h/x"),
            Err(RedirectError::InsecureRedirect {
                url: "http://u@h/x".into()
            })
        );
        assert!(to("https://h/", "/x").unwrap().is_some());
        assert!(to("http://h/", "https://h/x").unwrap().is_some());
        assert!(matches!(
            to("http://h/", "/x"),
            Err(RedirectError::InsecureRedirect { .. })
        ));
    }

    const CREDENTIALS: [(&str, &str); 3] = [
        ("authorization", "Basic xyz"),
        ("COOKIE", "a=1"),
        ("Proxy-Authorization", "Basic p"),
    ];

    #[test]
    fn credentials_leave_on_cross_origin_hops() {
        for (from, to, crossed) in [
            ("http://a.example/x", "http://a.example/y", false),
            ("http://a.example/x", "http://A.EXAMPLE:80/y", false),
            ("http://a.example/x", "http://b.example/x", true),
            ("http://a.example/x", "http://a.example:8080/x", true),
            ("https://a.example/x", "http://a.example/x", true),
            ("http://a.example/x", "https://a.example/x", false),
            ("http://a.example/x", "https://a.example:8443/x", true),
            ("http://a.example:8080/x", "https://a.example/x", true),
            ("http://a.example/x", "https://b.example/x", true),
            ("http://a.example/x", "https://sub.a.example/x", true),
        ] {
            let mut h = headers(&CREDENTIALS);
            h.append("Accept", "*/*").unwrap();
            let result = next_headers(&url(from), &url(to), &mut h, BodyAction::Keep);
            assert_eq!(result, crossed, "{from} -> {to}");
            let expected: &[&str] = if crossed {
                &["Accept"]
            } else {
                &["authorization", "COOKIE", "Proxy-Authorization", "Accept"]
            };
            assert_eq!(names(&h), expected, "{from} -> {to}");
        }
    }

    #[test]
    fn body_fields_go_when_the_body_does() {
        let fields = [
            ("Host", "h"),
            ("Content-Type", "application/json"),
            ("content-length", "2"),
            ("CONTENT-ENCODING", "gzip"),
            ("Content-Language", "en"),
            ("Content-Location", "/x"),
            ("Content-MD5", "x"),
            ("Transfer-Encoding", "chunked"),
            ("Expect", "100-continue"),
            ("Accept", "*/*"),
            ("Contentious", "kept"),
        ];
        let (a, b) = (url("http://h/a"), url("http://h/b"));
        let mut h = headers(&fields);
        next_headers(&a, &b, &mut h, BodyAction::Drop);
        assert_eq!(names(&h), ["Accept", "Contentious"]);
        let mut h = headers(&fields);
        next_headers(&a, &b, &mut h, BodyAction::Keep);
        assert_eq!(names(&h).len(), fields.len() - 1);
        assert!(!h.contains("host"));
    }

    #[test]
    fn referer_rules() {
        for (from, to, expected) in [
            (
                "https://u:p@a.example/x?q=1#frag",
                "https://a.example/y",
                Some("https://a.example/x?q=1"),
            ),
            (
                "http://a.example/x?q=1",
                "http://a.example/y",
                Some("http://a.example/x?q=1"),
            ),
            (
                "https://a.example:8443/x?t=secret",
                "https://b.example/",
                Some("https://a.example:8443/"),
            ),
            (
                "http://a.example/x",
                "https://a.example/y",
                Some("http://a.example/"),
            ),
            ("https://a.example/x", "http://a.example/x", None),
            ("https://a.example/x", "http://b.example/x", None),
        ] {
            assert_eq!(
                referer(&url(from), &url(to)).as_deref(),
                expected,
                "{from} -> {to}"
            );
        }
        assert_eq!(referer(&url("file:///tmp/x"), &url("http://a/")), None);
    }

    fn redirect_to(loc: &str) -> Headers {
        headers(&[("Location", loc)])
    }

    /// Walks `chain` from `current` through each Location with a 302 GET.
    fn walk(
        chain: &mut RedirectChain,
        current: &str,
        locs: &[&str],
        req: &mut Headers,
    ) -> Vec<NextHop> {
        let mut current = url(current);
        let mut hops = Vec::new();
        for loc in locs {
            let hop = chain
                .next_hop(
                    StatusCode::FOUND,
                    &Method::GET,
                    &current,
                    &redirect_to(loc),
                    req,
                )
                .unwrap()
                .unwrap();
            current = hop.url.clone();
            hops.push(hop);
        }
        hops
    }

    #[test]
    fn credentials_stay_stripped_after_returning_to_the_first_origin() {
        let first = "https://a.example/1";
        let mut chain = RedirectChain::new(RedirectPolicy::default());
        let mut req = headers(&CREDENTIALS);
        let mut targets = walk(&mut chain, first, &["/2"], &mut req);
        assert_eq!(
            req.len(),
            4,
            "same origin keeps credentials (and gains Referer)"
        );
        assert!(!chain.credentials_stripped());
        targets.extend(walk(
            &mut chain,
            "https://a.example/2",
            &["https://b.example/3"],
            &mut req,
        ));
        assert!(chain.credentials_stripped());
        // The caller re-adds its configured credentials; the chain keeps them off.
        for (n, v) in CREDENTIALS {
            req.append(n, v).unwrap();
        }
        targets.extend(walk(
            &mut chain,
            "https://b.example/3",
            &["https://a.example/4"],
            &mut req,
        ));
        assert_eq!(names(&req), ["Referer"]);
        assert_eq!(chain.hops(), 3);
        let targets: Vec<&str> = targets.iter().map(|hop| hop.url.as_str()).collect();
        assert_eq!(
            targets,
            [
                "https://a.example/2",
                "https://b.example/3",
                "https://a.example/4"
            ]
        );
    }

    #[test]
    fn upgrade_to_https_keeps_credentials() {
        let first = "http://a.example/";
        let mut chain = RedirectChain::new(RedirectPolicy::default());
        let mut req = headers(&CREDENTIALS);
        let hops = walk(&mut chain, first, &["https://a.example/"], &mut req);
        assert!(!chain.credentials_stripped());
        assert_eq!(req.len(), 4);
        assert_eq!(hops[0].referer.as_deref(), Some("http://a.example/"));
        // ... but going back down to http is a different origin.
        walk(
            &mut chain,
            "https://a.example/",
            &["http://a.example/"],
            &mut req,
        );
        assert!(chain.credentials_stripped());
        assert_eq!(names(&req), Vec::<&str>::new());
    }

    #[test]
    fn backslash_location_is_cross_origin() {
        let first = url("https://good.example/login");
        let mut chain = RedirectChain::new(RedirectPolicy::default());
        let mut req = headers(&CREDENTIALS);
        let hop = chain
            .next_hop(
                StatusCode::FOUND,
                &Method::GET,
                &first,
                &redirect_to("/\\evil.example/"),
                &mut req,
            )
            .unwrap()
            .unwrap();
        assert_eq!(hop.url.host_str(), Some("evil.example"));
        assert!(chain.credentials_stripped());
        assert_eq!(names(&req), ["Referer"]);
        assert_eq!(hop.referer.as_deref(), Some("https://good.example/"));
    }

    #[test]
    fn post_303_drops_body_and_content_fields() {
        let first = url("http://h/form");
        let mut chain = RedirectChain::new(RedirectPolicy::default());
        let mut req = headers(&[
            ("Host", "h"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", "3"),
            ("Referer", "http://caller.example/"),
            ("Authorization", "Basic x"),
        ]);
        let hop = chain
            .next_hop(
                StatusCode::SEE_OTHER,
                &Method::POST,
                &first,
                &redirect_to("/done"),
                &mut req,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            hop,
            NextHop {
                url: url("http://h/done"),
                method: Method::GET,
                body: BodyAction::Drop,
                referer: Some("http://h/form".into()),
            }
        );
        assert_eq!(
            req.iter().collect::<Vec<_>>(),
            [
                ("Authorization", &b"Basic x"[..]),
                ("Referer", &b"http://h/form"[..])
            ]
        );
    }

    #[test]
    fn referer_off_leaves_the_callers_field() {
        let p = RedirectPolicy {
            referer: false,
            ..RedirectPolicy::default()
        };
        let first = url("http://h/a");
        let mut chain = RedirectChain::new(p);
        let mut req = headers(&[("Referer", "http://mine/")]);
        let hop = chain
            .next_hop(
                StatusCode::TEMPORARY_REDIRECT,
                &Method::PUT,
                &first,
                &redirect_to("/b"),
                &mut req,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            (hop.method, hop.body, hop.referer),
            (Method::PUT, BodyAction::Keep, None)
        );
        assert_eq!(req.get_str("referer"), Some("http://mine/"));
    }

    #[test]
    fn not_followed_when_not_a_redirect() {
        let first = url("http://h/");
        let loc = redirect_to("/x");
        let mut req = headers(&[("Host", "h")]);
        let mut chain = RedirectChain::new(RedirectPolicy::default());
        for code in [200, 300, 304, 305, 404] {
            assert_eq!(
                chain.next_hop(status(code), &Method::GET, &first, &loc, &mut req),
                Ok(None),
                "{code}"
            );
        }
        let none = Headers::new();
        assert_eq!(
            chain.next_hop(StatusCode::FOUND, &Method::GET, &first, &none, &mut req),
            Ok(None)
        );
        let mut off = RedirectChain::new(RedirectPolicy::none());
        assert_eq!(
            off.next_hop(StatusCode::FOUND, &Method::GET, &first, &loc, &mut req),
            Ok(None)
        );
        assert_eq!((chain.hops(), off.hops()), (0, 0));
        assert_eq!(names(&req), ["Host"], "untouched");
    }

    #[test]
    fn the_limit_and_a_loop() {
        let first = "http://h/a";
        let mut chain = RedirectChain::new(RedirectPolicy::limited(3));
        assert_eq!(chain.policy(), &RedirectPolicy::limited(3));
        let mut req = Headers::new();
        walk(&mut chain, first, &["/b", "/a", "/b"], &mut req);
        assert_eq!(chain.hops(), 3);
        let too_many = Err(RedirectError::TooManyRedirects { max: 3 });
        let mut next = || {
            chain.next_hop(
                StatusCode::FOUND,
                &Method::GET,
                &url("http://h/b"),
                &redirect_to("/a"),
                &mut req,
            )
        };
        assert_eq!(next(), too_many);
        assert_eq!(next(), too_many, "sticky");

        let mut zero = RedirectChain::new(RedirectPolicy::limited(0));
        let err = zero.next_hop(
            StatusCode::FOUND,
            &Method::GET,
            &url(first),
            &redirect_to("/b"),
            &mut Headers::new(),
        );
        assert_eq!(err, Err(RedirectError::TooManyRedirects { max: 0 }));
        assert_eq!(err.unwrap_err().to_string(), "more than 0 redirects");
    }

    #[test]
    fn the_default_limit_stops_a_loop_after_twenty_hops() {
        let first = "http://h/loop";
        let mut chain = RedirectChain::new(RedirectPolicy::default());
        let mut req = Headers::new();
        walk(&mut chain, first, &["/loop"; 20], &mut req);
        let err = chain.next_hop(
            StatusCode::MOVED_PERMANENTLY,
            &Method::GET,
            &url(first),
            &redirect_to("/loop"),
            &mut req,
        );
        assert_eq!(err, Err(RedirectError::TooManyRedirects { max: 20 }));
    }

    #[test]
    fn errors_from_the_location_are_sticky() {
        let first = url("http://h/");
        let mut chain = RedirectChain::new(RedirectPolicy::default());
        let mut req = Headers::new();
        let bad = redirect_to("javascript:alert(1)");
        let err = Err(RedirectError::UnsupportedScheme {
            scheme: "javascript".into(),
        });
        assert_eq!(
            chain.next_hop(StatusCode::FOUND, &Method::GET, &first, &bad, &mut req),
            err
        );
        let good = redirect_to("/ok");
        assert_eq!(
            chain.next_hop(StatusCode::FOUND, &Method::GET, &first, &good, &mut req),
            err
        );
        assert_eq!(chain.hops(), 0);
    }
}
