//! The server side of HTTP/1.1 over bytes, so a mock transport can answer a client's requests
//! from a function with no socket.
//!
//! A driver's mock transport hands what the client writes to a [`MockServerConnection`], takes
//! each complete [`MockRequest`] to the user's handler, and gives the [`MockResponse`] it returns
//! back to the connection, whose bytes the client then reads:
//!
//! 1. [`MockServerConnection::handle_input`] with the bytes the client wrote
//!    ([`MockServerConnection::handle_eof`] when it closed its side).
//! 2. [`MockServerConnection::poll_request`] until it returns `Ok(None)`; answer each request
//!    with [`MockServerConnection::respond`]. If it returns `Ok(None)` while
//!    [`MockServerConnection::wants_continue`], call [`MockServerConnection::send_continue`]
//!    (or leave it, and the client sends its body after its own wait).
//! 3. Hand [`MockServerConnection::poll_output`] to the client's reads; once
//!    [`MockServerConnection::is_closed`], the client reads end of file.
//!
//! Request bodies are framed as RFC 9112 §6.3 says for requests: `Transfer-Encoding` ending in
//! `chunked` (decoded with the client's own [`ChunkedDecoder`]), else `Content-Length`, else no
//! body. A request with both, a bad `Content-Length` or a transfer coding that does not end in
//! `chunked` is a [`MockError`], as a head httparse refuses is.

use http::{Method, Version};
use url::Url;

use super::message::{MockRequest, MockResponse};
use crate::chunked::{ChunkedDecoder, Decoded};
use crate::client::Scheme;
use crate::error::RemoteError;
use crate::headers::{Headers, list_items};
use crate::limits::Limits;

/// Why the bytes a client wrote are not a request the mock can read. Sticky: once returned,
/// every later [`MockServerConnection::poll_request`] returns it again and the connection is
/// closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The request line or a header line is malformed.
    #[error("malformed request head: {reason}")]
    InvalidHead {
        /// What the parser found wrong.
        reason: String,
    },
    /// The head is longer than [`Limits::max_head_bytes`].
    #[error("request head longer than {limit} bytes")]
    HeadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The head has more fields than [`Limits::max_headers`].
    #[error("request head has more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// `Content-Length` is not a decimal number, or holds different numbers.
    #[error("invalid Content-Length {value:?}")]
    InvalidContentLength {
        /// The field values, joined with ", ".
        value: String,
    },
    /// The request has both `Transfer-Encoding` and `Content-Length` (RFC 9112 §6.3 rule 3
    /// says this "ought to be handled as an error": it is how requests are smuggled).
    #[error("request has both Transfer-Encoding and Content-Length")]
    ContentLengthWithTransferEncoding,
    /// `Transfer-Encoding` whose last coding is not `chunked` (RFC 9112 §6.3 rule 4).
    #[error("request Transfer-Encoding {value:?} does not end in chunked")]
    UnsupportedTransferEncoding {
        /// The field values, joined with ", ".
        value: String,
    },
    /// The chunked request body is malformed, or ended early.
    #[error("chunked request body: {0}")]
    Chunked(#[from] RemoteError),
    /// The client closed its side in the middle of a request head.
    #[error("client closed after {received} bytes of a request head")]
    IncompleteHead {
        /// Bytes of the head received.
        received: usize,
    },
    /// The client closed its side before sending the whole `Content-Length` body.
    #[error("client closed after {received} of {expected} request body bytes")]
    IncompleteBody {
        /// Body bytes received.
        received: u64,
        /// The `Content-Length`.
        expected: u64,
    },
}

/// How the rest of the current request body arrives.
#[derive(Debug)]
enum BodyReader {
    /// This many bytes, of `expected`.
    Length {
        remaining: u64,
        expected: u64,
    },
    Chunked(ChunkedDecoder),
}

/// What the connection is reading.
#[derive(Debug)]
enum Reading {
    Head,
    Body(Box<MockRequest>, BodyReader),
}

/// Reads requests out of the bytes a client writes, one at a time, and turns a handler's
/// answers into the bytes the client reads: the server half of HTTP/1.1 for mock transports.
///
/// Bodies framed by `Content-Length` or chunked (with trailers) are read whole; requests on
/// a kept-alive connection follow each other in one byte stream, split anywhere.
/// `Expect: 100-continue` is left to the caller ([`MockServerConnection::wants_continue`]).
///
/// ```
/// use duet_core::transport::{MockResponse, MockServerConnection};
/// let mut server = MockServerConnection::new();
/// server.handle_input(b"GET /hi HTTP/1.1\r\nHost: example.com\r\n\r\n");
/// let request = server.poll_request().unwrap().unwrap();
/// assert_eq!(request.url.as_ref().unwrap().as_str(), "http://example.com/hi");
/// server.respond(&request, &MockResponse::new(200).text("hello"));
/// let bytes = server.poll_output().unwrap();
/// assert!(bytes.starts_with(b"HTTP/1.1 200 OK\r\n") && bytes.ends_with(b"\r\n\r\nhello"));
/// assert_eq!(server.poll_request(), Ok(None));
/// assert!(!server.is_closed());
/// ```
#[derive(Debug)]
pub struct MockServerConnection {
    scheme: Scheme,
    limits: Limits,
    input: Vec<u8>,
    /// How far `input` was searched for the end of a head, so the search stays linear.
    searched: usize,
    reading: Reading,
    continue_wanted: bool,
    output: Vec<u8>,
    /// Close once `output` is drained.
    closing: bool,
    eof: bool,
    error: Option<MockError>,
}

impl Default for MockServerConnection {
    fn default() -> Self {
        MockServerConnection {
            scheme: Scheme::Http,
            limits: Limits::default(),
            input: Vec::new(),
            searched: 0,
            reading: Reading::Head,
            continue_wanted: false,
            output: Vec::new(),
            closing: false,
            eof: false,
            error: None,
        }
    }
}

impl MockServerConnection {
    /// A connection waiting for its first request, on `http`, with the default [`Limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the scheme used to rebuild [`MockRequest::url`] (the connection's origin's).
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Sets the limits on request heads: [`Limits::max_head_bytes`], [`Limits::max_headers`],
    /// and the chunked-body limits.
    pub fn with_limits(mut self, limits: &Limits) -> Self {
        self.limits = limits.clone();
        self
    }

    /// Takes bytes the client wrote. Ignored once the connection is closing.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if !self.closing {
            self.input.extend_from_slice(bytes);
        }
    }

    /// The client closed its side: a request cut short becomes an error; otherwise the
    /// connection closes once its output is read.
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// The next complete request, or `Ok(None)` when more input is needed (or the connection
    /// is closing). Errors are sticky and close the connection.
    pub fn poll_request(&mut self) -> Result<Option<MockRequest>, MockError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if self.closing {
            return Ok(None);
        }
        let result = self.read_request();
        if let Err(error) = &result {
            self.error = Some(error.clone());
            self.closing = true;
        }
        result
    }

    /// Whether the request being read asked for `Expect: 100-continue` and its body has not
    /// started arriving: the caller may answer with [`MockServerConnection::send_continue`].
    pub fn wants_continue(&self) -> bool {
        self.continue_wanted
    }

    /// Queues `HTTP/1.1 100 Continue` for a request that
    /// [`MockServerConnection::wants_continue`]; does nothing otherwise.
    pub fn send_continue(&mut self) {
        if std::mem::take(&mut self.continue_wanted) {
            self.output
                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
    }

    /// Queues the response to `request` (answer requests in the order they came). When the
    /// request or the response says the connection closes (`Connection: close`, or an HTTP/1.0
    /// request without keep-alive), the response carries `Connection: close` and the
    /// connection closes after it; later input is ignored.
    pub fn respond(&mut self, request: &MockRequest, response: &MockResponse) {
        let response_closes = response.headers().has_token("connection", "close");
        let head_request = request.method == Method::HEAD;
        if request.wants_close() && !response_closes {
            let mut response = response.clone();
            response
                .headers_mut()
                .push_unchecked(b"Connection", b"close");
            self.output.extend(response.to_bytes(head_request));
        } else {
            self.output.extend(response.to_bytes(head_request));
        }
        if request.wants_close() || response_closes {
            self.closing = true;
            self.input.clear();
        }
    }

    /// The bytes queued for the client to read, all at once; `None` when there are none.
    pub fn poll_output(&mut self) -> Option<Vec<u8>> {
        (!self.output.is_empty()).then(|| std::mem::take(&mut self.output))
    }

    /// Whether the connection is closed and its output read: the client's next read is end of
    /// file. True after a response that closes the connection, an error, or the client's end
    /// of file between requests.
    pub fn is_closed(&self) -> bool {
        self.closing && self.output.is_empty()
    }

    fn read_request(&mut self) -> Result<Option<MockRequest>, MockError> {
        if let Reading::Head = self.reading {
            let Some(end) = self.find_head_end() else {
                if self.input.len() > self.limits.max_head_bytes {
                    return Err(MockError::HeadTooLarge {
                        limit: self.limits.max_head_bytes,
                    });
                }
                if self.eof && !self.input.is_empty() {
                    return Err(MockError::IncompleteHead {
                        received: self.input.len(),
                    });
                }
                self.closing |= self.eof;
                return Ok(None);
            };
            if end > self.limits.max_head_bytes {
                return Err(MockError::HeadTooLarge {
                    limit: self.limits.max_head_bytes,
                });
            }
            let (request, reader) = self.parse_head(end)?;
            self.input.drain(..end);
            self.searched = 0;
            let Some(reader) = reader else {
                return Ok(Some(request));
            };
            self.continue_wanted = request.version == Version::HTTP_11
                && request
                    .headers
                    .get("expect")
                    .is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"100-continue"));
            self.reading = Reading::Body(Box::new(request), reader);
        }
        self.read_body()
    }

    /// The end of the head (after its blank line) in `input`, if it has arrived.
    fn find_head_end(&mut self) -> Option<usize> {
        match memchr::memmem::find(&self.input[self.searched..], b"\r\n\r\n") {
            Some(at) => Some(self.searched + at + 4),
            None => {
                self.searched = self.input.len().saturating_sub(3);
                None
            }
        }
    }

    /// Parses the head in `input[..end]` and decides how its body is framed.
    fn parse_head(&self, end: usize) -> Result<(MockRequest, Option<BodyReader>), MockError> {
        let mut fields = vec![httparse::EMPTY_HEADER; self.limits.max_headers];
        let mut parsed = httparse::Request::new(&mut fields);
        match parsed.parse(&self.input[..end]) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(MockError::InvalidHead {
                    reason: "incomplete head".into(),
                });
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(MockError::TooManyHeaders {
                    limit: self.limits.max_headers,
                });
            }
            Err(e) => {
                return Err(MockError::InvalidHead {
                    reason: e.to_string(),
                });
            }
        }
        let invalid = |reason: String| MockError::InvalidHead { reason };
        let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
            .map_err(|e| invalid(e.to_string()))?;
        let target = parsed.path.unwrap_or_default().to_owned();
        let version = match parsed.version {
            Some(0) => Version::HTTP_10,
            _ => Version::HTTP_11,
        };
        let mut headers = Headers::new();
        for field in parsed.headers.iter() {
            headers
                .append(field.name, field.value)
                .map_err(|e| invalid(e.to_string()))?;
        }
        let reader = self.body_reader(&headers)?;
        let url = rebuild_url(self.scheme, &target, &headers);
        let request = MockRequest {
            method,
            target,
            url,
            version,
            headers,
            body: Vec::new(),
            trailers: Headers::new(),
        };
        Ok((request, reader))
    }

    /// How the request body is framed (RFC 9112 §6.3, the rules that apply to requests).
    fn body_reader(&self, headers: &Headers) -> Result<Option<BodyReader>, MockError> {
        let joined = |name| {
            let values: Vec<_> = headers
                .get_all(name)
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect();
            values.join(", ")
        };
        if headers.contains("transfer-encoding") {
            // Rule 3: Transfer-Encoding with Content-Length ought to be handled as an error.
            if headers.contains("content-length") {
                return Err(MockError::ContentLengthWithTransferEncoding);
            }
            // Rule 4: chunked must be the final coding, or the length cannot be determined.
            let last = headers
                .get_all("transfer-encoding")
                .flat_map(list_items)
                .last();
            if !last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")) {
                return Err(MockError::UnsupportedTransferEncoding {
                    value: joined("transfer-encoding"),
                });
            }
            return Ok(Some(BodyReader::Chunked(ChunkedDecoder::new(&self.limits))));
        }
        if !headers.contains("content-length") {
            // Rule 6: a request with neither has no body.
            return Ok(None);
        }
        // Rule 5: one length, possibly repeated ("5, 5"), decimal digits only.
        let mut length = None;
        for item in headers.get_all("content-length").flat_map(list_items) {
            let n = std::str::from_utf8(item)
                .ok()
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok());
            match (n, length) {
                (Some(n), None) => length = Some(n),
                (Some(n), Some(m)) if n == m => {}
                _ => {
                    return Err(MockError::InvalidContentLength {
                        value: joined("content-length"),
                    });
                }
            }
        }
        match length {
            None => Err(MockError::InvalidContentLength {
                value: joined("content-length"),
            }),
            Some(0) => Ok(None),
            Some(n) => Ok(Some(BodyReader::Length {
                remaining: n,
                expected: n,
            })),
        }
    }

    /// Reads body bytes from `input`; the request once its body is whole.
    fn read_body(&mut self) -> Result<Option<MockRequest>, MockError> {
        let Reading::Body(request, reader) = &mut self.reading else {
            return Ok(None);
        };
        if !self.input.is_empty() {
            self.continue_wanted = false;
        }
        let done = match reader {
            BodyReader::Length {
                remaining,
                expected,
            } => {
                let n = self
                    .input
                    .len()
                    .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                request.body.extend(self.input.drain(..n));
                *remaining -= n as u64;
                if *remaining > 0 && self.eof {
                    return Err(MockError::IncompleteBody {
                        received: *expected - *remaining,
                        expected: *expected,
                    });
                }
                *remaining == 0
            }
            BodyReader::Chunked(decoder) => {
                let mut done = false;
                let mut used = 0;
                while used < self.input.len() && !done {
                    let (n, out) = decoder.decode(&self.input[used..], usize::MAX)?;
                    match out {
                        Some(Decoded::Data(range)) => {
                            request.body.extend_from_slice(&self.input[used..][range])
                        }
                        Some(Decoded::End(trailers)) => {
                            request.trailers = trailers;
                            done = true;
                        }
                        None => {}
                    }
                    used += n;
                }
                self.input.drain(..used);
                if !done
                    && self.eof
                    && let Some(error) = decoder.eof_error()
                {
                    return Err(error.into());
                }
                done
            }
        };
        if !done {
            return Ok(None);
        }
        self.continue_wanted = false;
        match std::mem::replace(&mut self.reading, Reading::Head) {
            Reading::Body(request, _) => Ok(Some(*request)),
            Reading::Head => Ok(None),
        }
    }
}

/// The URL of a request: its absolute-form target, or the scheme, `Host` and an origin-form
/// target (RFC 9112 §3.3). `None` for other forms or a `Host` that is not a plain authority.
fn rebuild_url(scheme: Scheme, target: &str, headers: &Headers) -> Option<Url> {
    if target.starts_with('/') {
        let host = headers.get_str("host")?;
        if host.is_empty() || host.contains(['/', '?', '#', '@', '\\']) {
            return None;
        }
        let scheme = match scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        Url::parse(&format!("{scheme}://{host}{target}")).ok()
    } else if target.contains("://") {
        Url::parse(target).ok()
    } else {
        None
    }
}
