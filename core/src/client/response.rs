//! What both clients say about a response besides its body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{StatusCode, Version};
use url::Url;

use super::call::{Call, HistoryEntry};
use super::error::{Error, ErrorKind};
use crate::cookies::{Cookie, CookieJar};
use crate::headers::Headers;
use crate::link::{Link, find_rel, parse_link_headers};
use crate::response::ResponseHead;

/// A response's status, headers, final URL, server address, redirect history, timing and
/// cookies. Both clients' `Response` dereference to it, so these accessors are the same in
/// each.
#[derive(Debug, Clone)]
pub struct ResponseInfo {
    head: ResponseHead,
    url: Arc<Url>,
    remote_addr: Option<SocketAddr>,
    history: Vec<HistoryEntry>,
    elapsed: Duration,
    /// The wall-clock time the request started at.
    started: SystemTime,
}

impl ResponseInfo {
    /// Drivers build one from the call when it hands out [`Action::Response`](super::Action).
    pub fn new(head: ResponseHead, call: &Call, remote_addr: Option<SocketAddr>) -> Self {
        ResponseInfo {
            head,
            url: call.shared_url(),
            remote_addr,
            history: call.history().to_vec(),
            elapsed: call.elapsed(),
            started: call.started_wall_time(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.head.status()
    }

    /// The HTTP version the server answered with.
    pub fn version(&self) -> Version {
        self.head.version()
    }

    /// The reason phrase, as received (it may not be UTF-8).
    pub fn reason(&self) -> &[u8] {
        self.head.reason()
    }

    /// The header fields, names as the server wrote them.
    pub fn headers(&self) -> &Headers {
        self.head.headers()
    }

    /// The first value of a header, if it is valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.headers().get_str(name)
    }

    /// The `charset` parameter of `Content-Type`, as the server gave it (quotes removed), if
    /// any (httpx's `charset_encoding`; requests' `encoding` from the headers). `text()`
    /// decodes with it when it names a known encoding and no BOM says otherwise.
    pub fn charset(&self) -> Option<String> {
        let content_type = self.head.headers().get("content-type")?;
        crate::charset_of(content_type).map(std::borrow::Cow::into_owned)
    }

    /// The URL that answered: after redirects, the last one.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The server's address.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The redirects followed to get here, oldest first (empty without redirects).
    pub fn history(&self) -> &[HistoryEntry] {
        &self.history
    }

    /// How long the request took until this response's head arrived: from the start of the
    /// request, getting a connection, redirects and authentication rounds included. Reading
    /// the body is not counted. (requests' `elapsed` also stops at the head, but counts only
    /// the last hop; httpx's runs until the body is closed.)
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The cookies this response sets (its `Set-Cookie` fields), as a cookie jar stores them
    /// for [`url`](Self::url) when the head arrived: cookies a jar refuses (for another site,
    /// for a public suffix, with a broken prefix) and ones already expired are left out, and a
    /// name set twice keeps its last value. Redirect responses' cookies are not included (see
    /// [`history`](Self::history)). A client with a session jar has stored these already.
    pub fn cookies(&self) -> Vec<Cookie> {
        let mut jar = CookieJar::new();
        jar.store_response(&self.url, self.headers(), self.started + self.elapsed);
        jar.iter().cloned().collect()
    }

    /// The links of the `Link` headers (RFC 8288), targets resolved against [`url`](Self::url).
    pub fn links(&self) -> Vec<Link> {
        parse_link_headers(&self.url, self.headers())
    }

    /// The `rel="next"` link's target, for following paginated APIs.
    pub fn next_link(&self) -> Option<Url> {
        find_rel(&self.links(), "next").map(|link| link.target.clone())
    }

    /// The error `error_for_status` would give: [`ErrorKind::Status`] for 4xx and 5xx.
    pub fn error_for_status_ref(&self) -> Option<Error> {
        let status = self.status();
        (status.is_client_error() || status.is_server_error()).then(|| {
            let class = if status.is_client_error() {
                "client error"
            } else {
                "server error"
            };
            Error::msg(ErrorKind::Status(status), class).with_url(&self.url)
        })
    }
}
