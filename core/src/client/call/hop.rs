//! What changes from one hop of a request to the next.
//!
//! A request may take several hops (redirects). Each hop sends a head built from the client's
//! default headers, the caller's headers as the redirect rules left them, and the cookies the
//! jar holds for that hop's URL. Each final response has its cookies stored and the hooks run,
//! then it is either delivered or followed (RFC 9110 §15.4, via [`RedirectChain`]).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::{Method, StatusCode, Version};
use url::Url;

use super::super::config::{ClientConfig, accept_encoding};
use super::super::error::{Error, ErrorKind};
use super::super::origin::Origin;
use crate::cookies::SharedJar;
use crate::headers::Headers;
use crate::proxy::Proxy;
use crate::redirect::{RedirectChain, RedirectError, RedirectPolicy};
use crate::request::{RequestBody, RequestHead, TargetForm};
use crate::response::ResponseHead;

/// One redirect response of a request's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The redirect status.
    pub status: StatusCode,
    /// The HTTP version of its status line.
    pub version: Version,
    /// Its reason phrase as received (may be empty, and need not be UTF-8).
    pub reason: Vec<u8>,
    /// The URL that answered with it.
    pub url: Url,
    /// Its header fields.
    pub headers: Headers,
}

/// The per-request state that outlives a hop.
#[derive(Debug)]
pub(super) struct Session {
    /// The client's settings (default headers, hooks, proxies, limits, retry policy).
    pub config: Arc<ClientConfig>,
    jar: SharedJar,
    /// Cookies given for this request only: sent to the first URL's origin alone (kept
    /// only when there are some).
    request_cookies: Vec<(String, String)>,
    first_origin: Option<Origin>,
    /// Header names (lowercase) not to add by duet's own rules (a default, `Accept-Encoding`,
    /// the jar's `Cookie`, an automatic `Expect`, a redirect's `Referer`).
    omit: Vec<String>,
    pub chain: RedirectChain,
    pub history: Vec<HistoryEntry>,
    /// Wall-clock time at `started`, for cookie lifetimes.
    wall: SystemTime,
    started: Instant,
}

impl Session {
    pub fn new(
        config: &Arc<ClientConfig>,
        policy: Option<RedirectPolicy>,
        request_cookies: Vec<(String, String)>,
        omit: Vec<String>,
        origin: &Origin,
        now: Instant,
        wall: SystemTime,
    ) -> Self {
        let mut policy = policy.unwrap_or_else(|| config.redirect.clone());
        policy.https_only |= config.https_only;
        // Nor a `Referer` on each hop, when the request leaves it out.
        policy.referer &= !lists(&omit, b"referer");
        let first_origin = (!request_cookies.is_empty()).then(|| origin.clone());
        Session {
            config: config.clone(),
            // Without a session jar, cookies still live for this request's redirect chain.
            jar: config.cookies.clone().unwrap_or_default(),
            request_cookies,
            first_origin,
            omit,
            chain: RedirectChain::new(policy),
            history: Vec::new(),
            wall,
            started: now,
        }
    }

    /// Whether duet leaves out the header `name` (any case) wherever it would add it itself.
    pub fn omits(&self, name: &[u8]) -> bool {
        lists(&self.omit, name)
    }

    /// When the request started (the driver's clock).
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The wall-clock time when the request started.
    pub fn started_wall(&self) -> SystemTime {
        self.wall
    }

    /// The wall-clock time at the monotonic `now`.
    pub fn wall(&self, now: Instant) -> SystemTime {
        self.wall + now.saturating_duration_since(self.started)
    }

    /// The head for a hop: request line and Host for `url`, the client's defaults the caller
    /// did not override, `Accept-Encoding` (unless the request asks for a range), the
    /// caller's headers, then `Cookie`; none of duet's own that the request omits.
    pub fn head(
        &self,
        method: &Method,
        url: &Url,
        headers: &Headers,
        now: Instant,
        proxy: Option<&Proxy>,
    ) -> Result<RequestHead, Error> {
        let absolute = super::tunnel::absolute_form(proxy, url.scheme() == "https");
        let form = if absolute {
            TargetForm::Absolute
        } else {
            TargetForm::Origin
        };
        let mut head = RequestHead::from_url(method.clone(), url, form)
            .map_err(|e| Error::from(e).with_url(url))?;
        let merged = head.headers_mut();
        for (name, value) in self.config.default_headers.iter_bytes() {
            if !headers.contains_bytes(name) && !self.omits(name) {
                merged.push_unchecked(name, value);
            }
        }
        // Not with a `Range`: a range of an encoded body cannot be decoded alone, and a server
        // that compresses on the fly answers a range of it with the whole body (nginx does).
        if self.config.decompress
            && !headers.contains("accept-encoding")
            && !headers.contains("range")
            && !self.omits(b"accept-encoding")
        {
            merged.push_unchecked(b"Accept-Encoding", accept_encoding().as_bytes());
        }
        if headers.contains("host") {
            merged.remove("host");
        }
        for (name, value) in headers.iter_bytes() {
            merged.push_unchecked(name, value);
        }
        // Through an HTTP proxy without a tunnel, the proxy's credentials go with each request
        // (and only then: on a tunnel they go on the CONNECT, never to the origin).
        if let Some(credentials) = proxy
            .filter(|_| absolute)
            .and_then(Proxy::basic_authorization)
        {
            head.headers_mut()
                .append("Proxy-Authorization", credentials)
                .map_err(|e| Error::from(e).with_url(url))?;
        }
        if self.sets_cookie(headers) {
            let cookie = self.cookie(url, now);
            if !cookie.is_empty() {
                head.headers_mut()
                    .append("Cookie", cookie)
                    .map_err(|e| Error::from(e).with_url(url))?;
            }
        }
        Ok(head)
    }

    /// Brings the `Cookie` field of a head going out again (an authentication round, a retry)
    /// up to date with the jar: a cookie the answer that asked for another round set goes
    /// with it, as requests and httpx send one a 401 set with their Digest answer, and one it
    /// removed does not. `headers` are the caller's, as for [`head`](Self::head).
    pub fn refresh_cookie(
        &self,
        head: &mut RequestHead,
        url: &Url,
        headers: &Headers,
        now: Instant,
    ) -> Result<(), Error> {
        if !self.sets_cookie(headers) {
            return Ok(());
        }
        let cookie = self.cookie(url, now);
        let fields = head.headers_mut();
        match cookie.is_empty() {
            true => {
                fields.remove("cookie");
                Ok(())
            }
            false => fields
                .insert("Cookie", cookie)
                .map_err(|e| Error::from(e).with_url(url)),
        }
    }

    /// Whether duet writes the `Cookie` field: not when the caller wrote one (it wins over the
    /// jar, as in requests) or the request omits it.
    fn sets_cookie(&self, headers: &Headers) -> bool {
        !headers.contains("cookie") && !self.omits(b"cookie")
    }

    /// The `Cookie` value for `url` at `now` (empty for none): the jar's cookies, then the
    /// request's own when `url` is on the origin it was made for.
    fn cookie(&self, url: &Url, now: Instant) -> String {
        // The wall clock only for a jar that holds something.
        let mut cookie = {
            let mut jar = self.jar.lock();
            if jar.is_empty() {
                String::new()
            } else {
                jar.cookie_header(url, self.wall(now)).unwrap_or_default()
            }
        };
        // `first_origin` is kept only when there are cookies for this request.
        let to_first_origin = self
            .first_origin
            .as_ref()
            .is_some_and(|first| Origin::of(url).is_ok_and(|o| o == *first));
        if to_first_origin {
            for (name, value) in &self.request_cookies {
                if !cookie.is_empty() {
                    cookie.push_str("; ");
                }
                cookie.push_str(name);
                cookie.push('=');
                cookie.push_str(value);
            }
        }
        cookie
    }

    /// Runs the request hooks on a head going out with a body framed as `framing`: they see
    /// it as written, the framing field duet adds included.
    pub fn sending(&self, url: &Url, head: &RequestHead, framing: RequestBody) {
        if self.config.hooks.on_request.is_empty() {
            return;
        }
        let head = head.with_framing(framing);
        for hook in &self.config.hooks.on_request {
            hook(url, &head);
        }
    }

    /// A response head arrived for `url` (interim responses excluded): store its cookies and
    /// run the response hooks.
    pub fn received(&self, url: &Url, head: &ResponseHead, now: Instant) {
        if head.headers().contains("set-cookie") {
            self.jar.store_response(url, head.headers(), self.wall(now));
        }
        for hook in &self.config.hooks.on_response {
            hook(url, head);
        }
    }

    /// Records a followed redirect.
    pub fn record(&mut self, url: &Url, head: &ResponseHead) {
        self.history.push(HistoryEntry {
            status: head.status(),
            version: head.version(),
            reason: head.reason().to_vec(),
            url: url.clone(),
            headers: head.headers().clone(),
        });
    }

    /// The client error for a redirect that cannot be followed, with the history so far.
    pub fn redirect_error(&self, error: RedirectError, url: &Url) -> Error {
        let kind = match error {
            RedirectError::TooManyRedirects { .. } => ErrorKind::TooManyRedirects,
            _ => ErrorKind::Redirect,
        };
        Error::new(kind, error)
            .with_url(url)
            .with_history(self.history.clone())
    }
}

/// Whether `names` (lowercase) holds the header name `name`, in any case.
fn lists(names: &[String], name: &[u8]) -> bool {
    names
        .iter()
        .any(|n| n.as_bytes().eq_ignore_ascii_case(name))
}
