//! What a test server records ([`Request`]), and the server side of HTTP/1.1 request framing.

use std::borrow::Cow;

use crate::conn::Conn;

/// The largest request head a test server accepts.
const MAX_HEAD: usize = 1024 * 1024;
/// The largest request body a test server accepts.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// A request as a test server received it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The method, as sent (`GET`).
    pub method: String,
    /// The request target, as sent: `/path?query`, `http://host/path` (proxy form) or
    /// `host:port` (CONNECT).
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Header fields in wire order and case (values with surrounding whitespace trimmed).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body, with chunked framing removed (empty when none, or not read yet).
    pub body: Vec<u8>,
    /// Whether the body came with chunked framing.
    pub chunked: bool,
    /// Trailer fields of a chunked body, in wire order and case.
    pub trailers: Vec<(String, Vec<u8>)>,
    /// Whether the whole request arrived, its body to the end its framing gives: false for
    /// a head whose body was cut short (the connection ended, or the body was malformed) or
    /// never read (an `Expect` the server refused, or a head not followed by a body read).
    pub complete: bool,
    /// The exact bytes received for this request: head, then body with its framing.
    pub raw: Vec<u8>,
    /// The connection it arrived on: 0, 1, 2… in accept order.
    pub conn: usize,
    /// Its position on that connection: 0, 1, 2…
    pub index: usize,
    /// TLS details when it arrived over TLS.
    pub tls: Option<TlsInfo>,
    /// The client's address (the connection's other end).
    pub peer: Option<std::net::SocketAddr>,
}

/// What the TLS handshake of a connection negotiated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// The SNI name the client sent (none for IP addresses).
    pub sni: Option<String>,
    /// The ALPN protocol agreed on.
    pub alpn: Option<Vec<u8>>,
    /// The protocol version, e.g. `TLSv1_3`.
    pub version: String,
    /// The client certificate (DER), if the client presented one.
    pub client_cert: Option<Vec<u8>>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &v[..])
    }

    /// The first value of header `name` as text (None if absent or not UTF-8).
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of header `name`, in order.
    pub fn header_all(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &v[..])
            .collect()
    }

    /// Whether header `name` is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The target without its query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The query (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// The body as text (lossy).
    pub fn body_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The exact head bytes (request line through the empty line; CRLF line ends assumed).
    pub fn raw_head(&self) -> &[u8] {
        let start = self
            .raw
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let end = self.raw[start..].windows(4).position(|w| w == b"\r\n\r\n");
        &self.raw[..end.map_or(self.raw.len(), |p| start + p + 4)]
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_all(name).iter().any(|v| {
            String::from_utf8_lossy(v)
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    }

    /// Whether the client asked for `100 Continue` (and has a body to send after it).
    pub fn expects_continue(&self) -> bool {
        self.version == "HTTP/1.1"
            && self
                .header_str("expect")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
            && !matches!(framing(self), Ok(Framing::Length(0)) | Ok(Framing::None))
    }

    /// Whether the connection ends after this request (Connection: close, or HTTP/1.0
    /// without keep-alive).
    pub fn wants_close(&self) -> bool {
        self.has_token("connection", "close")
            || (self.version != "HTTP/1.1" && !self.has_token("connection", "keep-alive"))
    }
}

/// Why a request could not be read.
pub(crate) enum ReadError {
    /// The socket failed (or timed out) or closed in mid-request.
    Io(String),
    /// The bytes are not a valid request.
    Bad(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "connection: {e}"),
            ReadError::Bad(e) => write!(f, "bad request: {e}"),
        }
    }
}

fn fill(conn: &mut Conn, what: &str) -> Result<(), ReadError> {
    match conn.fill() {
        Ok(0) => Err(ReadError::Io(format!("closed in the middle of the {what}"))),
        Ok(_) => Ok(()),
        Err(e) => Err(ReadError::Io(format!("{what}: {e}"))),
    }
}

/// Reads one request head; `Ok(None)` when the client closed (or went idle past the safety
/// timeout) before sending anything. Empty lines before the request line are skipped (and kept
/// in `raw`).
pub(crate) fn read_head(conn: &mut Conn) -> Result<Option<Request>, ReadError> {
    conn.raw.clear();
    loop {
        let blank = conn
            .buf
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        conn.take(blank);
        if !conn.buf.is_empty() {
            break;
        }
        match conn.fill() {
            Ok(0) if conn.raw.is_empty() => return Ok(None),
            Err(_) if conn.raw.is_empty() && conn.buf.is_empty() => return Ok(None),
            Ok(0) => return Err(ReadError::Io("closed in the middle of the head".into())),
            Ok(_) => {}
            Err(e) => return Err(ReadError::Io(format!("head: {e}"))),
        }
    }
    loop {
        let mut headers = vec![httparse::EMPTY_HEADER; 1024];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&conn.buf) {
            Ok(httparse::Status::Complete(n)) => {
                let req = Request {
                    method: parsed.method.unwrap_or_default().to_owned(),
                    target: parsed.path.unwrap_or_default().to_owned(),
                    version: format!("HTTP/1.{}", parsed.version.unwrap_or(1)),
                    headers: parsed
                        .headers
                        .iter()
                        .map(|h| (h.name.to_owned(), h.value.to_vec()))
                        .collect(),
                    conn: conn.index,
                    index: conn.next,
                    tls: conn.tls.clone(),
                    peer: conn.peer,
                    ..Request::default()
                };
                conn.take(n);
                conn.next += 1;
                let mut req = req;
                req.raw = std::mem::take(&mut conn.raw);
                return Ok(Some(req));
            }
            Ok(httparse::Status::Partial) if conn.buf.len() > MAX_HEAD => {
                return Err(ReadError::Bad(format!("head longer than {MAX_HEAD} bytes")));
            }
            Ok(httparse::Status::Partial) => fill(conn, "head")?,
            Err(e) => return Err(ReadError::Bad(format!("head: {e}"))),
        }
    }
}

/// How a request body is delimited.
pub(crate) enum Framing {
    None,
    Length(u64),
    Chunked,
}

pub(crate) fn framing(req: &Request) -> Result<Framing, String> {
    let te = req.header_all("transfer-encoding");
    if !te.is_empty() {
        let joined = te
            .iter()
            .map(|v| String::from_utf8_lossy(v))
            .collect::<Vec<_>>()
            .join(",");
        let last = joined
            .rsplit(',')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        return if last == "chunked" {
            Ok(Framing::Chunked)
        } else {
            Err(format!(
                "Transfer-Encoding {joined:?} does not end in chunked"
            ))
        };
    }
    let mut length = None;
    for v in req.header_all("content-length") {
        let text = String::from_utf8_lossy(v);
        for part in text.split(',') {
            let n: u64 = part
                .trim()
                .parse()
                .map_err(|_| format!("bad Content-Length {text:?}"))?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length values".into());
            }
            length = Some(n);
        }
    }
    Ok(length.map_or(Framing::None, Framing::Length))
}

/// Reads the body of `req` (whose head was just read) into `req.body`, appending the bytes to
/// `req.raw`.
pub(crate) fn read_body(conn: &mut Conn, req: &mut Request) -> Result<(), ReadError> {
    conn.raw.clear();
    let result = match framing(req).map_err(ReadError::Bad)? {
        Framing::None => Ok(()),
        Framing::Length(n) if n > MAX_BODY => Err(ReadError::Bad(format!("body of {n} bytes"))),
        Framing::Length(n) => read_exact(conn, n as usize, "body").map(|b| req.body = b),
        Framing::Chunked => {
            req.chunked = true;
            read_chunked(conn, req)
        }
    };
    req.raw.append(&mut conn.raw);
    req.complete = result.is_ok();
    result
}

fn read_exact(conn: &mut Conn, n: usize, what: &str) -> Result<Vec<u8>, ReadError> {
    while conn.buf.len() < n {
        fill(conn, what)?;
    }
    Ok(conn.take(n))
}

fn read_line(conn: &mut Conn, what: &str) -> Result<Vec<u8>, ReadError> {
    loop {
        if let Some(p) = conn.buf.iter().position(|&b| b == b'\n') {
            let mut line = conn.take(p + 1);
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(line);
        }
        if conn.buf.len() > MAX_HEAD {
            return Err(ReadError::Bad(format!("{what} line too long")));
        }
        fill(conn, what)?;
    }
}

fn read_chunked(conn: &mut Conn, req: &mut Request) -> Result<(), ReadError> {
    loop {
        let line = read_line(conn, "chunk size")?;
        let line = String::from_utf8_lossy(&line);
        let size = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size, 16)
            .ok()
            .filter(|_| !size.is_empty() && !size.starts_with('+'))
            .ok_or_else(|| ReadError::Bad(format!("bad chunk size line {line:?}")))?;
        if size == 0 {
            break;
        }
        if req.body.len() as u64 + size > MAX_BODY {
            return Err(ReadError::Bad("chunked body too large".into()));
        }
        let data = read_exact(conn, size as usize, "chunk")?;
        req.body.extend_from_slice(&data);
        if !read_line(conn, "chunk end")?.is_empty() {
            return Err(ReadError::Bad("chunk data not followed by CRLF".into()));
        }
    }
    loop {
        let line = read_line(conn, "trailer")?;
        if line.is_empty() {
            return Ok(());
        }
        let colon = line.iter().position(|&b| b == b':');
        let colon = colon.ok_or_else(|| ReadError::Bad("trailer line without colon".into()))?;
        let name = String::from_utf8_lossy(&line[..colon]).into_owned();
        let value = line[colon + 1..].trim_ascii().to_vec();
        req.trailers.push((name, value));
    }
}
