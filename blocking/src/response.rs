//! Responses: status, headers, and the body as bytes, text, JSON, or a stream.

use std::fmt;
use std::io::{self, Read};

use duet_core::client::{Call, Error, ErrorKind, ResponseInfo, TimeoutPhase};
use duet_core::{ContentDecoder, Headers, ResponseHead};

use crate::exchange::Exchange;

/// Raw bytes read at a time while decoding.
const DECODE_READ: usize = 16 * 1024;

/// A response whose head has arrived; the body is read on demand.
///
/// `Response` implements [`Read`] (decoded body bytes). Errors read through it keep their
/// kind: `duet_blocking::Error::from_io` recovers them.
pub struct Response {
    info: ResponseInfo,
    body: BodyReader,
}

struct BodyReader {
    exchange: Exchange,
    /// Boxed: most bodies have no content coding, and a response moves by value.
    decoding: Option<Box<Decoding>>,
}

/// A body with content coding being decoded.
struct Decoding {
    decoder: ContentDecoder,
    decoded: Vec<u8>,
    decoded_pos: usize,
    raw: Vec<u8>,
    done: bool,
}

impl Response {
    pub(crate) fn new(head: ResponseHead, exchange: Exchange) -> Result<Self, Error> {
        let decoder = exchange.call().content_decoder(&head)?;
        let info = ResponseInfo::new(head, exchange.call(), exchange.remote_addr());
        let decoding = decoder.map(|decoder| {
            Box::new(Decoding {
                decoder,
                decoded: Vec::new(),
                decoded_pos: 0,
                raw: Vec::new(),
                done: false,
            })
        });
        let body = BodyReader { exchange, decoding };
        Ok(Response { info, body })
    }

    /// The body length announced by the server (before content decoding), if any.
    pub fn content_length(&self) -> Option<u64> {
        self.body.exchange.call().body_length()
    }

    /// The trailer fields of a chunked body, once it has been read to the end.
    pub fn trailers(&self) -> Option<&Headers> {
        self.body.exchange.call().trailers()
    }

    /// `Err` with [`ErrorKind::Status`] for a 4xx or 5xx status, else the response itself.
    pub fn error_for_status(self) -> Result<Self, Error> {
        match self.error_for_status_ref() {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }

    /// The whole (decoded) body.
    pub fn bytes(mut self) -> Result<Vec<u8>, Error> {
        let length = self.content_length();
        let mut out = Vec::with_capacity(length.unwrap_or(0).min(1 << 20) as usize);
        match (&self.body.decoding, length) {
            // A small body, as most are, is appended as it arrives. A larger one is read
            // straight into `out` (`read_to_end` lends its spare room), saving a copy.
            (None, Some(n)) if n <= Call::WHOLE_BODY_AT_ONCE => {
                self.body.exchange.read_body_to_end(&mut out)?
            }
            _ => {
                self.read_to_end(&mut out)
                    .map_err(|e| Error::from_io(e, TimeoutPhase::ReadBody))?;
            }
        }
        Ok(out)
    }

    /// The whole body as text, decoded by the `Content-Type` charset (a BOM wins; UTF-8 when
    /// none is given); malformed sequences become U+FFFD.
    pub fn text(self) -> Result<String, Error> {
        self.text_with_charset("utf-8")
    }

    /// Like [`text`](Self::text), with `default` (an encoding label such as `iso-8859-1`) in
    /// place of UTF-8 when the `Content-Type` names no known charset (reqwest's
    /// `text_with_charset`). A BOM and a named charset still win.
    pub fn text_with_charset(self, default: &str) -> Result<String, Error> {
        let content_type = self.headers().get("content-type").map(<[u8]>::to_vec);
        let body = self.bytes()?;
        Ok(duet_core::decode_text_with_default(&body, content_type.as_deref(), default).0)
    }

    /// The whole body parsed as JSON (UTF-8; a BOM is ignored and UTF-16 read, see
    /// [`duet_core::json_text`]).
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, Error> {
        let url = self.info.url().clone();
        let body = self.bytes()?;
        serde_json::from_slice(&duet_core::json_text(&body))
            .map_err(|e| Error::new(ErrorKind::Decode, e).with_url(&url))
    }

    /// The body in pieces as they arrive (each at most `size` bytes).
    pub fn chunks(self, size: usize) -> Chunks {
        Chunks {
            response: self,
            size: size.max(1),
            done: false,
        }
    }

    /// The body as lines of text (LF or CRLF endings removed), decoded by the charset.
    /// Line splitting assumes an ASCII-compatible charset (every one but UTF-16).
    pub fn lines(self) -> Lines {
        let content_type = self.headers().get("content-type").map(<[u8]>::to_vec);
        Lines {
            reader: io::BufReader::new(self),
            content_type,
            done: false,
        }
    }

    fn read_decoded(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let BodyReader { exchange, decoding } = &mut self.body;
        let Some(body) = decoding.as_deref_mut() else {
            return exchange.read_body(buf);
        };
        loop {
            if body.decoded_pos < body.decoded.len() {
                let n = (body.decoded.len() - body.decoded_pos).min(buf.len());
                buf[..n].copy_from_slice(&body.decoded[body.decoded_pos..body.decoded_pos + n]);
                body.decoded_pos += n;
                return Ok(n);
            }
            if body.done {
                return Ok(0);
            }
            body.decoded.clear();
            body.decoded_pos = 0;
            body.raw.resize(DECODE_READ, 0);
            let n = exchange.read_body(&mut body.raw)?;
            let result = if n == 0 {
                body.done = true;
                body.decoder.finish(&mut body.decoded)
            } else {
                body.decoder.decode(&body.raw[..n], &mut body.decoded)
            };
            result.map_err(|e| Error::new(ErrorKind::Decode, e).with_url(self.info.url()))?;
        }
    }
}

impl Read for Response {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.read_decoded(buf).map_err(Error::into_io)
    }
}

impl std::ops::Deref for Response {
    type Target = ResponseInfo;

    /// Status, headers, URL, history and links: see [`ResponseInfo`].
    fn deref(&self) -> &ResponseInfo {
        &self.info
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.info.url().as_str())
            .field("status", &self.status())
            .field("version", &self.version())
            .field("headers", self.headers())
            .finish()
    }
}

/// The body in pieces; see [`Response::chunks`].
#[derive(Debug)]
pub struct Chunks {
    response: Response,
    size: usize,
    done: bool,
}

impl Iterator for Chunks {
    type Item = Result<Vec<u8>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut buf = vec![0; self.size];
        match self.response.read_decoded(&mut buf) {
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(n) => {
                buf.truncate(n);
                Some(Ok(buf))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The body as lines; see [`Response::lines`].
#[derive(Debug)]
pub struct Lines {
    reader: io::BufReader<Response>,
    content_type: Option<Vec<u8>>,
    done: bool,
}

impl Iterator for Lines {
    type Item = Result<String, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        use io::BufRead;
        if self.done {
            return None;
        }
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(_) => {
                if line.ends_with(b"\n") {
                    line.pop();
                    if line.ends_with(b"\r") {
                        line.pop();
                    }
                }
                Some(Ok(duet_core::decode_text(
                    &line,
                    self.content_type.as_deref(),
                )
                .0))
            }
            Err(e) => {
                self.done = true;
                Some(Err(Error::from_io(e, TimeoutPhase::ReadBody)))
            }
        }
    }
}
