//! What a mock server reads and writes: a complete [`MockRequest`] and a [`MockResponse`].

use std::fmt::Write as _;

use http::{Method, StatusCode, Version};
use url::Url;

use crate::error::LocalError;
use crate::headers::{Headers, check_value};

/// A complete request as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockRequest {
    /// The method.
    pub method: Method,
    /// The request target as written: `/path?query`, or absolute, authority or `*` form.
    pub target: String,
    /// The whole URL: the target itself in absolute form; for an origin-form target, rebuilt
    /// from the connection's scheme and the `Host` header. `None` for authority and asterisk
    /// forms or without a usable `Host`.
    pub url: Option<Url>,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: Version,
    /// The header fields, as written.
    pub headers: Headers,
    /// The body, with its transfer coding (chunked) removed; content codings are left alone.
    pub body: Vec<u8>,
    /// The trailer fields of a chunked body (usually none).
    pub trailers: Headers,
}

impl MockRequest {
    /// The first value of a header field, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }

    /// The body as UTF-8 text, if it is valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// Whether the client asked to close the connection after this exchange: `Connection:
    /// close`, or HTTP/1.0 without `Connection: keep-alive` (RFC 9112 §9.3).
    pub fn wants_close(&self) -> bool {
        self.headers.has_token("connection", "close")
            || (self.version == Version::HTTP_10
                && !self.headers.has_token("connection", "keep-alive"))
    }
}

/// A response for a mock to send, built in steps.
///
/// ```
/// use duet_core::transport::MockResponse;
/// let response = MockResponse::new(201).header("X-Id", "7").unwrap().text("made");
/// assert_eq!(
///     response.to_bytes(false),
///     b"HTTP/1.1 201 Created\r\nX-Id: 7\r\nContent-Type: text/plain; charset=utf-8\r\n\
///       Content-Length: 4\r\n\r\nmade"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockResponse {
    status: u16,
    reason: Option<String>,
    headers: Headers,
    body: Vec<u8>,
}

impl MockResponse {
    /// A response with this status, no header fields and an empty body.
    ///
    /// The status is written as given, so a mock may also send a malformed one (say, 1000) to
    /// test how a client copes; a 1xx status makes the client wait for another response.
    pub fn new(status: u16) -> Self {
        MockResponse {
            status,
            reason: None,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// Appends a header field. Fails with [`LocalError::InvalidHeaderName`] or
    /// [`LocalError::InvalidHeaderValue`], as [`Headers::append`].
    pub fn header(
        mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<Self, LocalError> {
        self.headers.append(name, value)?;
        Ok(self)
    }

    /// Sets the reason phrase (by default the status's canonical one, or none). Fails with
    /// [`LocalError::InvalidHeaderValue`] (named `reason-phrase`) on a control byte.
    pub fn reason(mut self, reason: &str) -> Result<Self, LocalError> {
        check_value(b"reason-phrase", reason.as_bytes())?;
        self.reason = Some(reason.to_owned());
        Ok(self)
    }

    /// Sets the body. `Content-Length` is added when the response is written unless a
    /// `Content-Length` or `Transfer-Encoding` field was set (then the body is written as
    /// given: a chunked body must already be chunked).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a text body, and `Content-Type: text/plain; charset=utf-8` unless a
    /// `Content-Type` was set.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        if !self.headers.contains("content-type") {
            self.headers
                .push_unchecked(b"Content-Type", b"text/plain; charset=utf-8");
        }
        self.body = text.into().into_bytes();
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The header fields, to change.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }

    /// The response on the wire: status line, fields, `Content-Length` unless set (see
    /// [`MockResponse::body`]; never for 1xx and 204, RFC 9110 §8.6, nor for 304), the blank
    /// line, and the body — none for a response to HEAD (`head_request`) or with status 1xx,
    /// 204 or 304 (RFC 9112 §6.3 rule 1). A HEAD response keeps the `Content-Length` a GET
    /// would get.
    pub fn to_bytes(&self, head_request: bool) -> Vec<u8> {
        let status = self.status;
        let bodiless_status = (100..200).contains(&status) || status == 204 || status == 304;
        let reason = match &self.reason {
            Some(reason) => reason.as_str(),
            None => StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or(""),
        };
        let mut head = format!("HTTP/1.1 {status:03} {reason}\r\n").into_bytes();
        for (name, value) in self.headers.iter() {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
        let framed =
            self.headers.contains("content-length") || self.headers.contains("transfer-encoding");
        if !framed && !bodiless_status {
            let mut line = String::new();
            let _ = write!(line, "Content-Length: {}\r\n", self.body.len());
            head.extend_from_slice(line.as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        if !head_request && !bodiless_status {
            head.extend_from_slice(&self.body);
        }
        head
    }
}
