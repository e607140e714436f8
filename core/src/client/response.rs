//! What both clients say about a response besides its body.

use std::net::SocketAddr;

use http::{StatusCode, Version};
use url::Url;

use super::call::HistoryEntry;
use super::error::{Error, ErrorKind};
use crate::headers::Headers;
use crate::link::{Link, find_rel, parse_link_headers};
use crate::response::ResponseHead;

/// A response's status, headers, final URL, server address and redirect history. Both
/// clients' `Response` dereference to it, so these accessors are the same in each.
#[derive(Debug, Clone)]
pub struct ResponseInfo {
    head: ResponseHead,
    url: Url,
    remote_addr: Option<SocketAddr>,
    history: Vec<HistoryEntry>,
}

impl ResponseInfo {
    /// Drivers build one when the final response head arrives.
    pub fn new(
        head: ResponseHead,
        url: Url,
        remote_addr: Option<SocketAddr>,
        history: Vec<HistoryEntry>,
    ) -> Self {
        ResponseInfo {
            head,
            url,
            remote_addr,
            history,
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
