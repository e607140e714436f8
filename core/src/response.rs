//! Finding and parsing a response head (RFC 9112 §2, §4, §5).
//!
//! httparse parses a head from its first byte every time it is called, so calling it on every
//! arrival would be quadratic for a head sent a byte at a time. Instead [`HeadScanner`] looks for
//! the blank line that ends the head, remembering how far it searched, and checks the line,
//! header-count and head-size limits as it goes. httparse runs once, on the complete head.
//!
//! Every limit is reported at the byte where it is first exceeded, so a head gives the same
//! result however its bytes are split.

use std::mem::MaybeUninit;
use std::ops::Range;

use http::{StatusCode, Version};

use crate::error::RemoteError;
use crate::headers::Headers;
use crate::limits::Limits;

/// A response head: status line and header fields, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    status: StatusCode,
    version: Version,
    reason: Range<usize>,
    headers: Headers,
    pub(crate) facts: HeadFacts,
}

/// What framing and the content decoder need from the header fields, gathered in the
/// parser's one pass over them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HeadFacts {
    pub transfer_encoding: bool,
    /// A `Content-Encoding` field is there (the content decoder reads it; a response without
    /// one or `Transfer-Encoding` needs no decoder, and most have neither).
    pub content_encoding: bool,
    /// How many Content-Length fields, and where the last one's value is in the head.
    pub content_length: usize,
    pub content_length_at: Range<usize>,
    pub close: bool,
    pub keep_alive: bool,
    /// The `timeout` parameter of `Keep-Alive` (the smallest, if repeated): how many seconds
    /// the server says it keeps an idle connection open.
    pub keep_alive_timeout: Option<u64>,
}

impl HeadFacts {
    pub fn content_length_value<'a>(&self, head: &'a ResponseHead) -> &'a [u8] {
        &head.headers.raw()[self.content_length_at.clone()]
    }
}

impl ResponseHead {
    /// The status code (100..=999).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `HTTP_11` or `HTTP_10`.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The reason phrase as received; it may not be UTF-8 (RFC 9112 §4 allows obs-text).
    pub fn reason(&self) -> &[u8] {
        &self.headers.raw()[self.reason.clone()]
    }

    /// The header fields, names as received.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

/// Searches a growing buffer for the end of a response head, checking limits on the way.
#[derive(Debug, Default, Clone)]
pub(crate) struct HeadScanner {
    /// Bytes before this index have been searched.
    pub searched: usize,
    /// Where the current (incomplete) line starts.
    line_start: usize,
    /// Non-empty lines seen: the status line and the header lines.
    lines: usize,
}

/// A head located by the scanner.
pub(crate) struct FoundHead {
    /// Bytes of the head including its blank line.
    pub len: usize,
    /// Header lines (the status line not counted).
    pub header_lines: usize,
}

impl HeadScanner {
    /// Searches `buf` (the bytes received since the head began) for the end of the head.
    pub fn scan(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<FoundHead>, RemoteError> {
        while let Some(i) = memchr::memchr(b'\n', &buf[self.searched..]) {
            let lf = self.searched + i;
            self.searched = lf + 1;
            let raw_len = lf - self.line_start;
            // The line limit is on a line without its end (CRLF or LF). A line exceeds it at
            // byte `line_start + max_line + 1`, or one later when that byte is a CR (which
            // could have ended the line), the head at byte `max_head + 1`; report whichever a
            // byte-at-a-time reader would meet first.
            let max_line = limits.max_line_bytes;
            let line_over = (raw_len > max_line
                && raw_len - usize::from(buf[lf - 1] == b'\r') > max_line)
                .then(|| {
                    let at = self.line_start + max_line;
                    at + 1 + usize::from(buf[at] == b'\r')
                });
            let head_over = (lf + 1 > limits.max_head_bytes).then(|| limits.max_head_bytes + 1);
            match (line_over, head_over) {
                (Some(l), Some(h)) if l <= h => {
                    return Err(RemoteError::LineTooLong {
                        limit: limits.max_line_bytes,
                    });
                }
                (Some(_), None) => {
                    return Err(RemoteError::LineTooLong {
                        limit: limits.max_line_bytes,
                    });
                }
                (_, Some(_)) => {
                    return Err(RemoteError::HeadTooLarge {
                        limit: limits.max_head_bytes,
                    });
                }
                (None, None) => {}
            }
            let line = &buf[self.line_start..lf];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            self.line_start = lf + 1;
            if line.is_empty() {
                if self.lines == 0 {
                    continue; // empty lines before the status line are ignored (RFC 9112 §2.2)
                }
                return Ok(Some(FoundHead {
                    len: lf + 1,
                    header_lines: self.lines - 1,
                }));
            }
            if self.lines > 0 && matches!(line[0], b' ' | b'\t') {
                // Obsolete line folding continues the field above (RFC 9112 §5.2), unfolded
                // when the head is parsed; right after the status line there is none.
                if self.lines == 1 {
                    return Err(RemoteError::WhitespaceAfterStatusLine);
                }
                continue;
            }
            self.lines += 1;
            if self.lines - 1 > limits.max_headers {
                return Err(RemoteError::TooManyHeaders {
                    limit: limits.max_headers,
                });
            }
        }
        self.searched = buf.len();
        let pending = buf.len() - self.line_start;
        // One byte over may be the CR of the line's end.
        if pending > limits.max_line_bytes
            && !(pending - 1 == limits.max_line_bytes && buf.last() == Some(&b'\r'))
        {
            return Err(RemoteError::LineTooLong {
                limit: limits.max_line_bytes,
            });
        }
        if buf.len() > limits.max_head_bytes {
            return Err(RemoteError::HeadTooLarge {
                limit: limits.max_head_bytes,
            });
        }
        Ok(None)
    }
}

const STACK_HEADERS: usize = 32;

/// Parses a complete head found by [`HeadScanner`]; `bytes` is exactly the head.
pub(crate) fn parse_head(bytes: &[u8], header_lines: usize) -> Result<ResponseHead, RemoteError> {
    if let Some(unfolded) = unfold(bytes) {
        return parse_unfolded(&unfolded, header_lines);
    }
    parse_unfolded(bytes, header_lines)
}

/// The head with each obsolete line folding (a line break followed by spaces or tabs inside
/// the fields) turned into spaces, as a user agent must before reading the field (RFC 9112
/// §5.2: "replace each received obs-fold with one or more SP octets"); the length stays the
/// same. `None` when the head has none. (The scanner has refused whitespace right after the
/// status line, so every such line break here ends a field line.)
fn unfold(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut unfolded: Option<Vec<u8>> = None;
    for i in memchr::memchr_iter(b'\n', bytes) {
        if matches!(bytes.get(i + 1), Some(b' ' | b'\t')) {
            let out = unfolded.get_or_insert_with(|| bytes.to_vec());
            out[i] = b' ';
            if i > 0 && out[i - 1] == b'\r' {
                out[i - 1] = b' ';
            }
            // The whitespace that starts the continuation is part of the fold too.
            for byte in out[i + 1..]
                .iter_mut()
                .take_while(|b| matches!(b, b' ' | b'\t'))
            {
                *byte = b' ';
            }
        }
    }
    unfolded
}

fn parse_unfolded(bytes: &[u8], header_lines: usize) -> Result<ResponseHead, RemoteError> {
    if header_lines <= STACK_HEADERS {
        let mut slots = [httparse::EMPTY_HEADER; STACK_HEADERS];
        parse_with(bytes, &mut slots[..header_lines])
    } else {
        parse_with(bytes, &mut vec![httparse::EMPTY_HEADER; header_lines])
    }
}

/// The fast path: when the first bytes of a head already hold all of it, httparse finds its
/// end directly. Only taken when no limit can be exceeded (then the scanner would have found
/// the same end and no error); otherwise `None` and the scanner runs.
pub(crate) fn parse_buffered(
    buf: &[u8],
    limits: &Limits,
) -> Option<(usize, Result<ResponseHead, RemoteError>)> {
    // Uninitialised slots: httparse writes only those it uses, so no 2 KiB to clear first.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 64];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut slots,
    );
    let Ok(httparse::Status::Complete(len)) = parsed else {
        return None;
    };
    if len > limits.max_line_bytes.min(limits.max_head_bytes)
        || response.headers.len() > limits.max_headers
    {
        return None;
    }
    Some((len, finish(&buf[..len], &response)))
}

fn parse_with<'b>(
    bytes: &'b [u8],
    slots: &mut [httparse::Header<'b>],
) -> Result<ResponseHead, RemoteError> {
    let mut response = httparse::Response::new(slots);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(RemoteError::MalformedHead {
                detail: "incomplete head",
            });
        }
        Err(e) => {
            return Err(RemoteError::MalformedHead {
                detail: describe(e),
            });
        }
    }
    finish(bytes, &response)
}

fn finish(
    bytes: &[u8],
    response: &httparse::Response<'_, '_>,
) -> Result<ResponseHead, RemoteError> {
    let code = response.code.unwrap_or(0);
    let status = match StatusCode::from_u16(code) {
        Ok(status) if code >= 100 => status,
        _ => return Err(RemoteError::InvalidStatus { code }),
    };
    let version = if response.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    // One copy of the head; header names and values become ranges into it.
    let buf = bytes.to_vec();
    let base = bytes.as_ptr() as usize;
    let offset = |s: &[u8]| s.as_ptr() as usize - base;
    let ranges = response.headers.iter().map(|h| {
        let n = offset(h.name.as_bytes());
        let v = offset(h.value);
        (n..n + h.name.len(), v..v + h.value.len())
    });
    let mut facts = HeadFacts::default();
    for h in response.headers.iter() {
        let name = h.name.as_bytes();
        match name.len() {
            10 if name.eq_ignore_ascii_case(b"keep-alive") => {
                if let Some(secs) = keep_alive_timeout(h.value) {
                    facts.keep_alive_timeout =
                        Some(facts.keep_alive_timeout.map_or(secs, |t| t.min(secs)));
                }
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                if h.value.eq_ignore_ascii_case(b"keep-alive") {
                    facts.keep_alive = true;
                    continue;
                }
                for item in crate::headers::list_items(h.value) {
                    facts.close |= item.eq_ignore_ascii_case(b"close");
                    facts.keep_alive |= item.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                facts.content_length += 1;
                let v = h.value.as_ptr() as usize - base;
                facts.content_length_at = v..v + h.value.len();
            }
            16 if name.eq_ignore_ascii_case(b"content-encoding") => {
                facts.content_encoding = true;
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                facts.transfer_encoding = true;
            }
            _ => {}
        }
    }
    let reason = reason_range(bytes);
    let headers = Headers::from_parts(buf, ranges.collect::<Vec<_>>());
    Ok(ResponseHead {
        status,
        version,
        reason,
        headers,
        facts,
    })
}

/// The `timeout=N` parameter of a `Keep-Alive` field value (`timeout=5, max=100`, as
/// Apache, Node.js and nginx send; RFC 2068 §19.7.1.1), in seconds; `None` when absent or not
/// a decimal number (quotes allowed).
fn keep_alive_timeout(value: &[u8]) -> Option<u64> {
    crate::headers::list_items(value).find_map(|item| {
        let (name, secs) = item.split_at(memchr::memchr(b'=', item)?);
        if !name.trim_ascii().eq_ignore_ascii_case(b"timeout") {
            return None;
        }
        let secs = secs[1..].trim_ascii();
        let secs = secs
            .strip_prefix(b"\"")
            .and_then(|s| s.strip_suffix(b"\""))
            .unwrap_or(secs);
        crate::framing::parse_decimal(secs)
    })
}

/// The reason phrase's range, read from the status line httparse has already validated
/// (`HTTP/1.x SSS[ reason]`), because httparse drops reason phrases that are not UTF-8.
fn reason_range(bytes: &[u8]) -> Range<usize> {
    let start = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let end = start + memchr::memchr(b'\n', &bytes[start..]).unwrap_or(bytes.len() - start);
    let end = if end > start && bytes[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    let reason_start = (start + 13).min(end);
    reason_start..end
}

fn describe(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name (or whitespace before the colon)",
        httparse::Error::HeaderValue => "invalid byte in a header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Token => "invalid token",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid or unsupported HTTP version",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(bytes: &[u8], limits: &Limits) -> Result<Option<(usize, usize)>, RemoteError> {
        HeadScanner::default()
            .scan(bytes, limits)
            .map(|f| f.map(|f| (f.len, f.header_lines)))
    }

    fn scan_bytewise(bytes: &[u8], limits: &Limits) -> Result<Option<(usize, usize)>, RemoteError> {
        let mut scanner = HeadScanner::default();
        for end in 1..=bytes.len() {
            if let Some(found) = scanner.scan(&bytes[..end], limits)? {
                return Ok(Some((found.len, found.header_lines)));
            }
        }
        Ok(None)
    }

    #[test]
    fn finds_the_end_with_crlf_or_bare_lf_and_skips_leading_blank_lines() {
        let limits = Limits::default();
        for (bytes, expect) in [
            (&b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"[..], Some((25, 1))),
            (b"HTTP/1.1 200 OK\nA: b\n\nbody", Some((22, 1))),
            (b"\r\n\nHTTP/1.1 204 No Content\r\n\r\n", Some((30, 0))),
            (b"HTTP/1.1 200 OK\r\nA: b\r\n", None),
        ] {
            assert_eq!(scan_all(bytes, &limits).unwrap(), expect);
            assert_eq!(scan_bytewise(bytes, &limits).unwrap(), expect);
        }
    }

    #[test]
    fn limits_give_the_same_error_however_split() {
        let mut limits = Limits {
            max_line_bytes: 20,
            max_head_bytes: 60,
            max_headers: 2,
            ..Limits::default()
        };
        let blank_lines = b"\r\n".repeat(31);
        let cases: [(&[u8], RemoteError); 4] = [
            (
                b"HTTP/1.1 200 OK\r\nX: 0123456789012345678\r\n\r\n",
                RemoteError::LineTooLong { limit: 20 },
            ),
            (
                b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                RemoteError::TooManyHeaders { limit: 2 },
            ),
            (
                b"HTTP/1.1 200 OK\r\n folded\r\nA: 1\r\n\r\n",
                RemoteError::WhitespaceAfterStatusLine,
            ),
            (&blank_lines, RemoteError::HeadTooLarge { limit: 60 }),
        ];
        for (bytes, err) in cases {
            assert_eq!(
                scan_all(bytes, &limits),
                Err(err.clone()),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
            assert_eq!(
                scan_bytewise(bytes, &limits),
                Err(err),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        // A head of exactly the limit passes; one byte more fails.
        let exact = b"HTTP/1.1 200 OK\r\nA: 0123456789\r\nB: 0123456789\r\nCC: 12345\r\n\r\n";
        assert_eq!(exact.len(), 60);
        limits.max_headers = 3;
        assert_eq!(scan_all(exact, &limits).unwrap(), Some((60, 3)));
        let over = b"HTTP/1.1 200 OK\r\nA: 0123456789\r\nB: 0123456789\r\nCC: 123456\r\n\r\n";
        assert_eq!(
            scan_all(over, &limits),
            Err(RemoteError::HeadTooLarge { limit: 60 })
        );
        assert_eq!(
            scan_bytewise(over, &limits),
            Err(RemoteError::HeadTooLarge { limit: 60 })
        );
    }

    #[test]
    fn a_line_limit_counts_the_line_without_its_end_and_the_first_limit_met_wins() {
        let status = "HTTP/1.1 200 OK\r\n"; // 17 bytes: the field line starts at 17
        let head = |field: &str, end: &str| format!("{status}{field}{end}{end}");
        let x = |n: usize| "x".repeat(n);
        let limits = |max_head_bytes: usize| Limits {
            max_line_bytes: 20,
            max_head_bytes,
            ..Limits::default()
        };
        let line = Err(RemoteError::LineTooLong { limit: 20 });
        let cases = [
            // 20 bytes before the line end pass, with CRLF or LF; 21 do not.
            (
                head(&format!("X: {}", x(17)), "\r\n"),
                200,
                Ok(Some((41, 1))),
            ),
            (head(&format!("X: {}", x(17)), "\n"), 200, Ok(Some((39, 1)))),
            (head(&format!("X: {}", x(18)), "\r\n"), 200, line.clone()),
            (head(&format!("X: {}", x(18)), "\n"), 200, line.clone()),
            // A CR inside the line is part of it.
            (head(&format!("X: {}\ry", x(17)), "\r\n"), 200, line.clone()),
            // A 25-byte line is over at byte 17 + 21 = 38: the head limit first when it is
            // met at that byte or before.
            (head(&format!("X: {}", x(22)), "\r\n"), 37, line.clone()),
            (
                head(&format!("X: {}", x(22)), "\r\n"),
                36,
                Err(RemoteError::HeadTooLarge { limit: 36 }),
            ),
            (
                head(&format!("X: {}", x(22)), "\r\n"),
                30,
                Err(RemoteError::HeadTooLarge { limit: 30 }),
            ),
            // With a CR as its 21st byte, the line is over only at the byte after it (39).
            (
                head(&format!("X: {}\ryyy", x(17)), "\r\n"),
                38,
                line.clone(),
            ),
            (
                head(&format!("X: {}\ryyy", x(17)), "\r\n"),
                37,
                Err(RemoteError::HeadTooLarge { limit: 37 }),
            ),
        ];
        for (bytes, max_head, expected) in cases {
            let limits = limits(max_head);
            let shown = format!("{bytes:?} within {max_head}");
            assert_eq!(scan_all(bytes.as_bytes(), &limits), expected, "{shown}");
            assert_eq!(
                scan_bytewise(bytes.as_bytes(), &limits),
                expected,
                "{shown}"
            );
        }
    }

    #[test]
    fn limits_may_be_as_large_as_usize_holds() {
        let limits = Limits {
            max_line_bytes: usize::MAX,
            max_head_bytes: usize::MAX,
            ..Limits::default()
        };
        let bytes = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
        assert_eq!(scan_bytewise(bytes, &limits), Ok(Some((bytes.len(), 1))));
        assert!(parse_buffered(bytes, &limits).is_some());
    }

    #[test]
    fn a_head_over_its_limit_is_refused_before_its_line_ends() {
        let limits = Limits {
            max_head_bytes: 60,
            ..Limits::default()
        };
        let mut bytes = b"HTTP/1.1 200 OK\r\nA: ".to_vec();
        bytes.resize(60, b'x');
        assert_eq!(
            scan_all(&bytes, &limits),
            Ok(None),
            "at the limit, the head may still end"
        );
        bytes.resize(90, b'x');
        assert_eq!(
            scan_all(&bytes, &limits),
            Err(RemoteError::HeadTooLarge { limit: 60 })
        );
    }

    #[test]
    fn whitespace_starting_the_first_line_is_no_folding() {
        // Only a field line can be continued: the first line is the status line whatever it
        // starts with (and then fails to parse), not a continuation to skip.
        for bytes in [
            &b" HTTP/1.1 200 OK\r\n\r\n"[..],
            b"\n HTTP/1.1 200 OK\r\n\r\n",
        ] {
            let (len, lines) = scan_all(bytes, &Limits::default()).unwrap().unwrap();
            assert_eq!((len, lines), (bytes.len(), 0));
            assert!(parse_head(&bytes[..len], lines).is_err());
        }
    }

    #[test]
    fn parses_status_version_reason_and_headers() {
        let bytes = b"HTTP/1.0 404 Not \xe9 Found\r\nContent-Type: text/plain\r\nX-Empty:\r\n\r\n";
        let head = parse_head(bytes, 2).unwrap();
        assert_eq!(head.status(), StatusCode::NOT_FOUND);
        assert_eq!(head.version(), Version::HTTP_10);
        assert_eq!(head.reason(), b"Not \xe9 Found");
        assert_eq!(head.headers().get("content-type"), Some(&b"text/plain"[..]));
        assert_eq!(head.headers().get("x-empty"), Some(&b""[..]));
        assert_eq!(
            parse_head(b"HTTP/1.1 200\r\n\r\n", 0).unwrap().reason(),
            b""
        );
        assert_eq!(
            parse_head(b"\nHTTP/1.1 200 OK\n\n", 0).unwrap().reason(),
            b"OK"
        );
    }

    #[test]
    fn the_parser_notes_which_coding_fields_a_head_has() {
        let facts = |bytes: &[u8]| {
            let head = parse_head(bytes, bytes.split(|&b| b == b'\n').count() - 3).unwrap();
            (head.facts.content_encoding, head.facts.transfer_encoding)
        };
        assert_eq!(
            facts(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"),
            (false, false)
        );
        assert_eq!(
            facts(b"HTTP/1.1 200 OK\r\ncontent-ENCODING: gzip\r\n\r\n"),
            (true, false)
        );
        assert_eq!(
            facts(b"HTTP/1.1 200 OK\r\nX: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            (false, true)
        );
        // A name that only starts alike is another field.
        assert_eq!(
            facts(b"HTTP/1.1 200 OK\r\nContent-Encodings: x\r\n\r\n"),
            (false, false)
        );
    }

    #[test]
    fn the_facts_say_what_the_field_lookups_say() {
        // The facts come from one pass that goes by name length first; they must agree with
        // the general lookups whatever the case, order, number or neighbours of the fields.
        let cases: &[&[&str]] = &[
            &[],
            &["Connection: close"],
            &["connection: keep-alive"],
            &["Connection: Upgrade, Keep-Alive"],
            &["Connection: keep-alive, CLOSE"],
            &["Connection: keep-alive", "Connection: close"],
            &["Content-Length: 3", "content-length: 3"],
            &["Content-Encoding: gzip", "Transfer-Encoding: chunked"],
            // Names as long as the ones looked for, and one that only starts alike.
            &["X-Abcdefgh: close, keep-alive", "Accept-Charset: 5"],
            &["Content-Language: gzip", "X-Forwarded-Proto: chunked"],
            &["Keep-Alive: timeout=5", "Connections: close"],
        ];
        for fields in cases {
            let mut bytes = b"HTTP/1.1 200 OK\r\n".to_vec();
            for field in *fields {
                bytes.extend_from_slice(format!("{field}\r\n").as_bytes());
            }
            bytes.extend_from_slice(b"\r\n");
            let head = parse_head(&bytes, fields.len()).unwrap();
            let (h, f) = (head.headers(), &head.facts);
            let lengths: Vec<_> = h.get_all("content-length").collect();
            assert_eq!(
                (
                    f.close,
                    f.keep_alive,
                    f.content_length,
                    f.content_encoding,
                    f.transfer_encoding
                ),
                (
                    h.has_token("connection", "close"),
                    h.has_token("connection", "keep-alive"),
                    lengths.len(),
                    h.contains("content-encoding"),
                    h.contains("transfer-encoding"),
                ),
                "{fields:?}"
            );
            if let Some(last) = lengths.last() {
                assert_eq!(f.content_length_value(&head), *last);
            }
        }
    }

    #[test]
    fn the_fast_path_leaves_heads_over_a_limit_to_the_scanner() {
        let limits = Limits {
            max_headers: 2,
            ..Limits::default()
        };
        let head = |fields: usize| {
            let mut bytes = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..fields {
                bytes.extend_from_slice(format!("H{i}: x\r\n").as_bytes());
            }
            bytes.extend_from_slice(b"\r\n");
            bytes
        };
        for fields in 0..=2 {
            let bytes = head(fields);
            let (len, parsed) = parse_buffered(&bytes, &limits).unwrap();
            assert_eq!(
                (len, parsed.unwrap().headers().len()),
                (bytes.len(), fields)
            );
        }
        assert!(
            parse_buffered(&head(3), &limits).is_none(),
            "one field too many"
        );
        assert!(
            parse_buffered(&head(4), &limits).is_none(),
            "two fields too many"
        );
    }

    #[test]
    fn many_headers_use_the_heap_path() {
        let mut bytes = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..40 {
            bytes.extend_from_slice(format!("H{i}: {i}\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        let head = parse_head(&bytes, 40).unwrap();
        assert_eq!(head.headers().len(), 40);
        assert_eq!(head.headers().get("h39"), Some(&b"39"[..]));
    }

    #[test]
    fn malformed_heads() {
        let bad: [(&[u8], RemoteError); 7] = [
            (
                b"HTTP/1.1 099 Low\r\n\r\n",
                RemoteError::InvalidStatus { code: 99 },
            ),
            (
                b"HTTP/2.0 200 OK\r\n\r\n",
                RemoteError::MalformedHead {
                    detail: describe(httparse::Error::Version),
                },
            ),
            (
                b"HTTP/1.1 20 OK\r\n\r\n",
                RemoteError::MalformedHead {
                    detail: describe(httparse::Error::Status),
                },
            ),
            (
                b"HTTP/1.1 200 OK\r\nA : b\r\n\r\n",
                RemoteError::MalformedHead {
                    detail: describe(httparse::Error::HeaderName),
                },
            ),
            (
                b"HTTP/1.1 200 OK\r\nA: b\0\r\n\r\n",
                RemoteError::MalformedHead {
                    detail: describe(httparse::Error::HeaderValue),
                },
            ),
            (
                b"HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
                RemoteError::MalformedHead {
                    detail: describe(httparse::Error::HeaderValue),
                },
            ),
            (
                b"HTTP/1.1 200 OK\r\n: b\r\n\r\n",
                RemoteError::MalformedHead {
                    detail: describe(httparse::Error::HeaderName),
                },
            ),
        ];
        for (bytes, err) in bad {
            let found = HeadScanner::default()
                .scan(bytes, &Limits::default())
                .unwrap()
                .unwrap();
            assert_eq!(
                parse_head(&bytes[..found.len], found.header_lines),
                Err(err),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
