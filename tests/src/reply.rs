//! [`Reply`]: what a handler answers, and how it goes on the wire.

use std::time::Duration;

/// A handler's answer. Built with [`Reply::new`] (or [`Reply::ok`], [`Reply::raw`]) and the
/// builder methods; written as: status line, the given headers in order and case, then
/// `Content-Length` (or `Transfer-Encoding: chunked`) unless the handler set framing itself or
/// the status has no body (1xx, 204, 304), then `Connection: close` when closing, then the body
/// (omitted for HEAD requests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    status: u16,
    reason: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    chunks: Option<Vec<Vec<u8>>>,
    trailers: Vec<(String, Vec<u8>)>,
    close: bool,
    delay: Option<Duration>,
    raw: Option<Vec<u8>>,
}

impl Reply {
    /// A reply with this status, no headers, empty body.
    pub fn new(status: u16) -> Self {
        Reply {
            status,
            reason: None,
            headers: Vec::new(),
            body: Vec::new(),
            chunks: None,
            trailers: Vec::new(),
            close: false,
            delay: None,
            raw: None,
        }
    }

    /// `200 OK` with this body.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Reply::new(200).body(body)
    }

    /// Writes exactly `bytes` instead of a built response (nothing added; `close`, `delay`
    /// still apply).
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Self {
        Reply {
            raw: Some(bytes.into()),
            ..Reply::new(0)
        }
    }

    /// A redirect with `Location: location`.
    pub fn redirect(status: u16, location: &str) -> Self {
        Reply::new(status).header("Location", location)
    }

    /// Sets the status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Sets the reason phrase (default: the usual one for the status, or empty).
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// Adds a header (repeat for several of one name).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// Sets the body (sent with `Content-Length`).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self.chunks = None;
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("Content-Type", "application/json")
            .body(value.to_string())
    }

    /// Sends the body as these chunks (empty ones are skipped) then the last chunk.
    pub fn chunked(mut self, chunks: Vec<Vec<u8>>) -> Self {
        self.chunks = Some(chunks);
        self
    }

    /// Adds a trailer field after the last chunk (for [`Reply::chunked`]).
    pub fn trailer(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.trailers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// Sends `Connection: close` (unless a Connection header was given) and closes after.
    pub fn close(mut self) -> Self {
        self.close = true;
        self
    }

    /// Waits this long before writing anything.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    pub(crate) fn closes(&self) -> bool {
        self.close
    }

    pub(crate) fn delay_time(&self) -> Option<Duration> {
        self.delay
    }

    /// The bytes this reply writes (as to a non-HEAD request, `close` as set).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode(false, self.close)
    }

    /// The bytes for a request; `head` omits the body, `close` adds `Connection: close`.
    pub(crate) fn encode(&self, head: bool, close: bool) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let reason = self
            .reason
            .as_deref()
            .unwrap_or_else(|| reason(self.status));
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason).into_bytes();
        for (name, value) in &self.headers {
            push_field(&mut out, name, value);
        }
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let framed = has("content-length") || has("transfer-encoding");
        let bodiless = self.status < 200 || self.status == 204 || self.status == 304;
        if !framed && !bodiless {
            match &self.chunks {
                Some(_) => push_field(&mut out, "Transfer-Encoding", b"chunked"),
                None => push_field(
                    &mut out,
                    "Content-Length",
                    self.body.len().to_string().as_bytes(),
                ),
            }
        }
        if close && !has("connection") {
            push_field(&mut out, "Connection", b"close");
        }
        out.extend_from_slice(b"\r\n");
        if head {
            return out;
        }
        match &self.chunks {
            None => out.extend_from_slice(&self.body),
            Some(chunks) => {
                for chunk in chunks.iter().filter(|c| !c.is_empty()) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                for (name, value) in &self.trailers {
                    push_field(&mut out, name, value);
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// The usual reason phrase for a status ("" if unknown).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}
