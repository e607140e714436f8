//! The request head and how it is written (RFC 9112 §3).

use http::Method;
use url::{Position, Url};

use crate::error::LocalError;
use crate::framing::RequestFacts;
use crate::headers::{Headers, list_has};

/// Which form of request target to write (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`: the normal form, straight to the origin.
    Origin,
    /// `http://host:port/path?query`: to a forward proxy for an `http://` URL.
    Absolute,
    /// `host:port`: for `CONNECT`.
    Authority,
    /// `*`: for a server-wide `OPTIONS`.
    Asterisk,
}

/// How the request body is framed on the wire (RFC 9112 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestBody {
    /// No body and no framing header (the usual GET, HEAD, DELETE).
    None,
    /// A body of exactly this many bytes, sent with `Content-Length` (which may be 0).
    Length(u64),
    /// A body of unknown length, sent with `Transfer-Encoding: chunked`; trailers allowed.
    Chunked,
}

/// A request line and header fields, checked when built so that writing them cannot fail.
///
/// ```
/// use duet_core::{RequestHead, TargetForm};
/// let url = url::Url::parse("http://example.com:8080/a?b=1#frag").unwrap();
/// let head = RequestHead::from_url(http::Method::GET, &url, TargetForm::Origin).unwrap();
/// assert_eq!(head.target(), "/a?b=1");
/// assert_eq!(head.headers().get("host"), Some(&b"example.com:8080"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    method: Method,
    target: String,
    headers: Headers,
}

impl RequestHead {
    /// A head with this method and target and no headers yet (add at least `Host`).
    ///
    /// The target must be non-empty visible ASCII (no space, control byte or non-ASCII byte;
    /// percent-encode those): otherwise [`LocalError::InvalidTarget`] or
    /// [`LocalError::EmptyTarget`].
    pub fn new(method: Method, target: impl Into<String>) -> Result<Self, LocalError> {
        let target = target.into();
        if target.is_empty() {
            return Err(LocalError::EmptyTarget);
        }
        if let Some(index) = target.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
            return Err(LocalError::InvalidTarget {
                byte: target.as_bytes()[index],
                index,
            });
        }
        Ok(RequestHead {
            method,
            target,
            headers: Headers::new(),
        })
    }

    /// A head for `url` in the given target form, with its `Host` header set.
    ///
    /// Userinfo and fragment never reach the wire. `Authority` form always carries the port.
    pub fn from_url(method: Method, url: &Url, form: TargetForm) -> Result<Self, LocalError> {
        // The target is checked like any other: a URL without a host keeps spaces in its
        // path (`mailto:a b`). Its host cannot hold a space or control byte (the parser
        // percent-encodes or refuses them), so Host goes in unchecked.
        let mut head = RequestHead::new(method, target_for(url, form))?;
        // Room for a usual head's fields, so building it does not grow the lists again and again.
        head.headers = Headers::with_capacity(8, 256);
        head.headers
            .push_with_unchecked(b"Host", |value| write_host(url, value));
        Ok(head)
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target as written on the wire.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The header fields, in wire order (`Host` is always written first).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The header fields, to add or change some.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// Whether the caller asked for `Expect: 100-continue`.
    pub(crate) fn expects_continue(&self) -> bool {
        self.headers.has_token("expect", "100-continue")
    }

    /// Appends the head for `body` to `out`: request line, `Host` first, the caller's fields in
    /// their order and case, then the framing header unless the caller already wrote the same.
    ///
    /// Returns what the connection needs to know of the request for reading the response,
    /// found in the same pass over the fields as the framing and `Host`.
    pub(crate) fn encode(
        &self,
        body: RequestBody,
        out: &mut Vec<u8>,
    ) -> Result<RequestFacts, LocalError> {
        let scan = Scan::of(&self.headers);
        let framing = scan.framing_header(body)?;
        let (host, (host_name, host_value)) = match scan.host {
            Fields::None => return Err(LocalError::MissingHost),
            Fields::One(host) => host,
            Fields::Several => return Err(LocalError::DuplicateHost),
        };
        out.reserve(self.method.as_str().len() + self.target.len() + self.headers.wire_len() + 48);
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        write_field(out, host_name, host_value);
        for (i, (name, value)) in self.headers.iter_bytes().enumerate() {
            if i != host {
                write_field(out, name, value);
            }
        }
        match framing {
            Some(RequestBody::Length(n)) => {
                out.extend_from_slice(b"Content-Length: ");
                push_decimal(out, n);
                out.extend_from_slice(b"\r\n");
            }
            Some(RequestBody::Chunked) => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            Some(RequestBody::None) | None => {}
        }
        out.extend_from_slice(b"\r\n");
        Ok(RequestFacts {
            is_head: self.method == Method::HEAD,
            is_connect: self.method == Method::CONNECT,
            wants_upgrade: scan.upgrade,
            close: scan.close,
        })
    }

    /// This head as [`encode`](Self::encode) writes it for `body`: with the framing field
    /// duet adds (`Content-Length` or `Transfer-Encoding: chunked`) at the end, the way the
    /// hooks see it. Borrowed when there is none to add (or the framing is in conflict, which
    /// sending reports).
    pub(crate) fn with_framing(&self, body: RequestBody) -> std::borrow::Cow<'_, RequestHead> {
        use std::borrow::Cow;
        let mut head = match Scan::of(&self.headers).framing_header(body) {
            Ok(Some(RequestBody::Length(_) | RequestBody::Chunked)) => self.clone(),
            _ => return Cow::Borrowed(self),
        };
        match body {
            RequestBody::Length(n) => {
                head.headers
                    .push_unchecked(b"Content-Length", n.to_string().as_bytes());
            }
            RequestBody::Chunked => head
                .headers
                .push_unchecked(b"Transfer-Encoding", b"chunked"),
            RequestBody::None => {}
        }
        Cow::Owned(head)
    }
}

/// What one pass over a request head's fields finds: its `Host` field (with its place), its
/// framing fields, whether it asks for an upgrade and whether it asks to close the connection
/// (a `close` token in `Connection`).
struct Scan<'a> {
    host: Fields<(usize, Field<'a>)>,
    lengths: Fields<&'a [u8]>,
    codings: Fields<&'a [u8]>,
    upgrade: bool,
    close: bool,
}

/// A field's name and value.
type Field<'a> = (&'a [u8], &'a [u8]);

/// How many fields of one name a head holds: none, one, or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fields<T> {
    None,
    One(T),
    Several,
}

impl<T> Fields<T> {
    /// One more field of this name.
    fn add(&mut self, field: T) {
        *self = match self {
            Fields::None => Fields::One(field),
            _ => Fields::Several,
        };
    }

    fn is_none(&self) -> bool {
        matches!(self, Fields::None)
    }
}

impl<'a> Scan<'a> {
    fn of(headers: &'a Headers) -> Self {
        let mut scan = Scan {
            host: Fields::None,
            lengths: Fields::None,
            codings: Fields::None,
            upgrade: false,
            close: false,
        };
        for (i, (name, value)) in headers.iter_bytes().enumerate() {
            // The length first: most fields are none of these.
            match name.len() {
                4 if name.eq_ignore_ascii_case(b"host") => scan.host.add((i, (name, value))),
                7 if name.eq_ignore_ascii_case(b"upgrade") => scan.upgrade = true,
                10 if name.eq_ignore_ascii_case(b"connection") => {
                    scan.close |= list_has(value, b"close")
                }
                14 if name.eq_ignore_ascii_case(b"content-length") => scan.lengths.add(value),
                17 if name.eq_ignore_ascii_case(b"transfer-encoding") => scan.codings.add(value),
                _ => {}
            }
        }
        scan
    }

    /// Whether the caller's headers carry the framing of a chunked body themselves: one
    /// `Transfer-Encoding` field, `chunked` (the only coding a request body gets here).
    fn asks_for_chunked(&self) -> bool {
        matches!(self.codings, Fields::One(one) if one.trim_ascii().eq_ignore_ascii_case(b"chunked"))
    }

    /// The framing header duet must add, after checking the caller's own framing headers
    /// agree with `body` (RFC 9112 §6.1-6.2: never both, never a mismatch).
    fn framing_header(&self, body: RequestBody) -> Result<Option<RequestBody>, LocalError> {
        let (lengths, codings) = (self.lengths, self.codings);
        let conflict = |header| Err(LocalError::ConflictingFraming { header });
        match body {
            RequestBody::Chunked => {
                if !lengths.is_none() {
                    return conflict("Content-Length");
                }
                match codings {
                    Fields::None => Ok(Some(body)),
                    _ if self.asks_for_chunked() => Ok(None),
                    _ => conflict("Transfer-Encoding"),
                }
            }
            RequestBody::Length(_) | RequestBody::None if !codings.is_none() => {
                conflict("Transfer-Encoding")
            }
            RequestBody::Length(n) => match lengths {
                Fields::None => Ok(Some(body)),
                Fields::One(one) if one.trim_ascii() == n.to_string().as_bytes() => Ok(None),
                _ => conflict("Content-Length"),
            },
            RequestBody::None => match lengths {
                Fields::None => Ok(None),
                Fields::One(one) if one.trim_ascii() == b"0" => Ok(None),
                _ => conflict("Content-Length"),
            },
        }
    }
}

/// Whether `headers` ask for a chunked body themselves ([`Scan`]'s rule, the one the head is
/// checked by): the body then goes chunked whatever its length.
pub(crate) fn asks_for_chunked(headers: &Headers) -> bool {
    Scan::of(headers).asks_for_chunked()
}

fn write_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal without allocating.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The request target for `url` in `form`; never the userinfo or the fragment.
pub fn target_for(url: &Url, form: TargetForm) -> String {
    match form {
        TargetForm::Origin => {
            // The path and the query stand together in the URL's text, the fragment after.
            let text = &url[Position::BeforePath..Position::AfterQuery];
            match text.as_bytes().first() {
                // An empty path (possible outside http and https) is written `/`.
                None | Some(b'?') => format!("/{text}"),
                Some(_) => text.to_owned(),
            }
        }
        TargetForm::Absolute => {
            let mut t = String::from(url.scheme());
            t.push_str("://");
            t.push_str(&host_header(url));
            t.push_str(&target_for(url, TargetForm::Origin));
            t
        }
        TargetForm::Authority => {
            let host = url.host_str().unwrap_or_default();
            match url.port_or_known_default() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            }
        }
        TargetForm::Asterisk => "*".to_owned(),
    }
}

/// The `Host` header value for `url` (RFC 9110 §7.2): host, plus the port when it is not the
/// scheme's default. IPv6 literals keep their brackets.
pub fn host_header(url: &Url) -> String {
    let mut value = Vec::new();
    write_host(url, &mut value);
    // A URL's host is ASCII (url applies IDNA), and so is a port.
    String::from_utf8(value).unwrap_or_default()
}

/// Appends the `Host` value for `url` to `out` ([`host_header`] without a `String`: `format!`
/// cost more than the rest of a request head's building).
fn write_host(url: &Url, out: &mut Vec<u8>) {
    // The URL's text holds exactly that: the host as serialized (IPv6 in brackets), then
    // `:port` unless the port is the scheme's default (which the parser leaves out).
    out.extend_from_slice(url[Position::BeforeHost..Position::AfterPort].as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(head: &RequestHead, body: RequestBody) -> Result<String, LocalError> {
        let mut out = Vec::new();
        head.encode(body, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    /// URLs holding bytes a request line or a `Host` field cannot carry as they are (the URL
    /// parser percent-encodes or refuses them), for the tests of what heads take from URLs.
    const ODD_URLS: &[&str] = &[
        "http://example.com/a b?c d=e\tf#g h",
        "http://example.com/\u{7f}\u{1}?\u{7f}\u{1}",
        "http://m\u{fc}nchen.example/\u{e9}t\u{e9}?q=\u{1f600}",
        "http://[::1]:8080/\"<>`{}|^",
        "http://user:p%20w@10.0.0.1:1/%zz?%%",
        "foo://opaque.host/x y",
        "http://h/a\tb\nc\rd",
    ];

    #[test]
    fn host_and_target_are_taken_from_the_url_text_as_its_parts_give_them() {
        // Host and the origin-form target are slices of the URL's text: they must be what
        // its parsed parts say, for every shape of URL.
        let inputs = [
            "http://example.com",
            "http://example.com/a/b?c=d#e",
            "http://user:pass@example.com:8080/p?q",
            "http://example.com:80/default-port",
            "https://example.com:443/",
            "https://example.com:8443/x?",
            "http://[::1]:8080/v6",
            "http://[::1]/v6-default",
            "http://127.0.0.1:45867/small",
            "http://Bücher.example/ä?ö=ü",
            "http://example.com/a%20b?x%20y#frag?not-query",
            "http://example.com/?",
            "foo://host?only-query",
            "foo://host",
            "foo://host:99/path",
            "mailto:someone@example.com",
            "data:text/plain,hi?q",
        ];
        for input in inputs.iter().chain(ODD_URLS) {
            let url = Url::parse(input).unwrap();
            let mut host = url.host_str().unwrap_or_default().to_owned();
            if let Some(port) = url.port() {
                host.push_str(&format!(":{port}"));
            }
            assert_eq!(host_header(&url), host, "{input}");
            let mut target = match url.path() {
                "" => "/".to_owned(),
                path => path.to_owned(),
            };
            if let Some(query) = url.query() {
                target.push('?');
                target.push_str(query);
            }
            assert_eq!(target_for(&url, TargetForm::Origin), target, "{input}");
        }
    }

    #[test]
    fn encoding_notes_what_reading_the_response_needs() {
        // The facts come from the pass that finds the framing; they must say what the
        // general field lookups say, whatever the case, order or number of the fields.
        let cases: &[(Method, &[(&str, &str)])] = &[
            (Method::GET, &[]),
            (Method::HEAD, &[]),
            (Method::CONNECT, &[]),
            (Method::GET, &[("Connection", "close")]),
            (Method::GET, &[("connection", "keep-alive, CLOSE ")]),
            (
                Method::GET,
                &[("Connection", "keep-alive"), ("CONNECTION", "Close")],
            ),
            (
                Method::GET,
                &[("Connection", "close"), ("Connection", "keep-alive")],
            ),
            (
                Method::GET,
                &[("Connection", "closed, x-close, keep-alive")],
            ),
            (Method::GET, &[("Connection", ",, close,")]),
            (
                Method::GET,
                &[("Connection", "upgrade"), ("Upgrade", "websocket")],
            ),
            (Method::GET, &[("UPGRADE", "h2c")]),
            (Method::GET, &[("Upgrades", "x"), ("Connections", "close")]),
            // Names as long as the ones looked for: the scan goes by length first.
            (Method::GET, &[("Referer", "x"), ("Keep-Alive", "close")]),
        ];
        for (method, fields) in cases {
            let mut head = RequestHead::new(method.clone(), "/").unwrap();
            head.headers_mut().append("Host", "example.com").unwrap();
            for (name, value) in *fields {
                head.headers_mut().append(*name, *value).unwrap();
            }
            let facts = head.encode(RequestBody::None, &mut Vec::new()).unwrap();
            let expected = RequestFacts {
                is_head: *method == Method::HEAD,
                is_connect: *method == Method::CONNECT,
                wants_upgrade: head.headers().contains("upgrade"),
                close: head.headers().has_token("connection", "close"),
            };
            assert_eq!(facts, expected, "{method} {fields:?}");
        }
        // The lookups themselves, for the cases that matter most.
        let facts = |fields: &[(&str, &str)]| {
            let mut head = RequestHead::new(Method::GET, "/").unwrap();
            head.headers_mut().append("Host", "example.com").unwrap();
            for (name, value) in fields {
                head.headers_mut().append(*name, *value).unwrap();
            }
            head.encode(RequestBody::None, &mut Vec::new()).unwrap()
        };
        assert!(facts(&[("connection", "keep-alive, CLOSE ")]).close);
        assert!(!facts(&[("Connection", "closed, x-close")]).close);
        assert!(facts(&[("Upgrade", "websocket")]).wants_upgrade);
        assert!(!facts(&[("Upgrades", "x")]).wants_upgrade);
    }

    #[test]
    fn heads_from_urls_hold_only_what_the_checks_accept() {
        // `from_url` writes Host unchecked: whatever the input held, it must be what the
        // checked constructor accepts, and so must the target.
        for input in ODD_URLS {
            let url = Url::parse(input).unwrap();
            for form in [
                TargetForm::Origin,
                TargetForm::Absolute,
                TargetForm::Authority,
            ] {
                let head = RequestHead::from_url(Method::GET, &url, form).unwrap();
                assert!(
                    RequestHead::new(Method::GET, head.target()).is_ok(),
                    "{input}"
                );
                let host = head.headers().get("host").unwrap();
                assert!(Headers::new().append("Host", host).is_ok(), "{input}");
            }
        }
        // A URL without a host keeps spaces in its path: refused, not written.
        let url = Url::parse("mailto:a b").unwrap();
        assert_eq!(
            RequestHead::from_url(Method::GET, &url, TargetForm::Origin),
            Err(LocalError::InvalidTarget {
                byte: b' ',
                index: 1
            })
        );
    }

    #[test]
    fn host_first_then_caller_order_and_case() {
        let mut head = RequestHead::new(Method::POST, "/submit?x=1").unwrap();
        head.headers_mut().append("X-Custom-CASE", "1").unwrap();
        head.headers_mut().append("accept", "*/*").unwrap();
        head.headers_mut().append("HoSt", "example.org").unwrap();
        assert_eq!(
            encode(&head, RequestBody::Length(5)).unwrap(),
            "POST /submit?x=1 HTTP/1.1\r\nHoSt: example.org\r\nX-Custom-CASE: 1\r\naccept: */*\r\n\
             Content-Length: 5\r\n\r\n"
        );
        assert!(
            encode(&head, RequestBody::Chunked)
                .unwrap()
                .ends_with("Transfer-Encoding: chunked\r\n\r\n")
        );
        assert!(
            encode(&head, RequestBody::None)
                .unwrap()
                .ends_with("accept: */*\r\n\r\n")
        );
        assert!(
            encode(&head, RequestBody::Length(0))
                .unwrap()
                .ends_with("Content-Length: 0\r\n\r\n")
        );
    }

    #[test]
    fn with_framing_shows_the_field_encode_adds() {
        let mut head = RequestHead::new(Method::POST, "/").unwrap();
        head.headers_mut().append("Host", "h").unwrap();
        for body in [
            RequestBody::None,
            RequestBody::Length(0),
            RequestBody::Length(12),
            RequestBody::Chunked,
        ] {
            let shown = head.with_framing(body);
            let wire = encode(&head, body).unwrap();
            let mut fields = String::from("POST / HTTP/1.1\r\n");
            for (name, value) in shown.headers().iter() {
                fields.push_str(&format!("{name}: {}\r\n", String::from_utf8_lossy(value)));
            }
            fields.push_str("\r\n");
            assert_eq!(fields, wire, "{body:?}");
            // Encoding the shown head adds nothing more.
            assert_eq!(encode(&shown, body).unwrap(), fields);
        }
        head.headers_mut().append("Content-Length", "3").unwrap();
        assert!(matches!(
            head.with_framing(RequestBody::Length(3)),
            std::borrow::Cow::Borrowed(_)
        ));
        assert!(matches!(
            head.with_framing(RequestBody::Chunked),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn targets_from_urls() {
        let url = Url::parse("http://user:pw@[::1]:8080/p%20q?a=b&c#frag").unwrap();
        assert_eq!(target_for(&url, TargetForm::Origin), "/p%20q?a=b&c");
        assert_eq!(
            target_for(&url, TargetForm::Absolute),
            "http://[::1]:8080/p%20q?a=b&c"
        );
        assert_eq!(target_for(&url, TargetForm::Authority), "[::1]:8080");
        assert_eq!(target_for(&url, TargetForm::Asterisk), "*");
        assert_eq!(host_header(&url), "[::1]:8080");
        let url = Url::parse("https://example.com/").unwrap();
        assert_eq!(target_for(&url, TargetForm::Authority), "example.com:443");
        assert_eq!(host_header(&url), "example.com");
        let url = Url::parse("https://example.com").unwrap();
        assert_eq!(target_for(&url, TargetForm::Origin), "/");
        let head = RequestHead::from_url(Method::DELETE, &url, TargetForm::Absolute).unwrap();
        assert_eq!(
            (head.method(), head.target()),
            (&Method::DELETE, "https://example.com/")
        );
    }

    #[test]
    fn host_header_ports_are_written_in_decimal() {
        for port in [0u16, 1, 9, 10, 99, 100, 443, 8080, 10000, 65535] {
            let url = Url::parse(&format!("https://h.example:{port}/")).unwrap();
            let expected = match port {
                443 => "h.example".to_owned(), // the scheme's default is left out
                _ => format!("h.example:{port}"),
            };
            assert_eq!(host_header(&url), expected);
            let head = RequestHead::from_url(Method::GET, &url, TargetForm::Origin).unwrap();
            assert_eq!(head.headers().get("host"), Some(expected.as_bytes()));
        }
    }

    #[test]
    fn bad_targets_are_refused() {
        for (target, byte, index) in [
            ("/a b", b' ', 2),
            ("/a\r\n", b'\r', 2),
            ("/\0", 0, 1),
            ("/é", 0xc3, 1),
        ] {
            assert_eq!(
                RequestHead::new(Method::GET, target),
                Err(LocalError::InvalidTarget { byte, index })
            );
        }
        assert_eq!(
            RequestHead::new(Method::GET, ""),
            Err(LocalError::EmptyTarget)
        );
    }

    #[test]
    fn host_is_required_once() {
        let mut head = RequestHead::new(Method::GET, "/").unwrap();
        assert_eq!(
            encode(&head, RequestBody::None),
            Err(LocalError::MissingHost)
        );
        head.headers_mut().append("Host", "a").unwrap();
        head.headers_mut().append("host", "b").unwrap();
        assert_eq!(
            encode(&head, RequestBody::None),
            Err(LocalError::DuplicateHost)
        );
    }

    #[test]
    fn caller_framing_headers_must_agree() {
        let mut head = RequestHead::new(Method::PUT, "/").unwrap();
        head.headers_mut().append("Host", "h").unwrap();
        // The caller's framing fields (name, value, how many times) for a body.
        let with = |name: &str, value: &str, times: usize| {
            let mut h = head.clone();
            for _ in 0..times {
                h.headers_mut().append(name, value).unwrap();
            }
            h
        };
        // Agreeing headers are written once, as given.
        let out = encode(&with("content-length", "3", 1), RequestBody::Length(3)).unwrap();
        assert_eq!(out.matches("ength").count(), 1);
        let out = encode(
            &with("Transfer-Encoding", "chunked", 1),
            RequestBody::Chunked,
        )
        .unwrap();
        assert_eq!(out.matches("chunked").count(), 1);
        assert!(encode(&with("Content-Length", "0", 1), RequestBody::None).is_ok());
        // Fields as long as the framing ones are none of them (the scan goes by length first).
        for (name, value) in [("Accept-Charset", "7"), ("X-Forwarded-Proto", "gzip")] {
            for body in [
                RequestBody::None,
                RequestBody::Length(3),
                RequestBody::Chunked,
            ] {
                assert!(
                    encode(&with(name, value, 1), body).is_ok(),
                    "{name} {body:?}"
                );
            }
        }
        // Disagreeing ones are errors naming the field, and so are two fields even when each
        // agrees.
        let cases = [
            ("Content-Length", "4", 1, RequestBody::Length(3)),
            ("Content-Length", "4", 1, RequestBody::Chunked),
            ("Content-Length", "4", 1, RequestBody::None),
            ("Transfer-Encoding", "gzip", 1, RequestBody::Chunked),
            ("Transfer-Encoding", "chunked", 1, RequestBody::Length(1)),
            ("Transfer-Encoding", "chunked", 1, RequestBody::None),
            ("Content-Length", "3", 2, RequestBody::Length(3)),
            ("Content-Length", "0", 2, RequestBody::None),
            ("Transfer-Encoding", "chunked", 2, RequestBody::Chunked),
        ];
        for (name, value, times, body) in cases {
            assert_eq!(
                encode(&with(name, value, times), body),
                Err(LocalError::ConflictingFraming { header: name }),
                "{times} x {name}: {value} for {body:?}"
            );
        }
    }

    #[test]
    fn extension_methods_are_written_as_given() {
        let method = Method::from_bytes(b"PROPFIND").unwrap();
        let mut head = RequestHead::new(method, "*").unwrap();
        head.headers_mut().append("Host", "h").unwrap();
        assert!(
            encode(&head, RequestBody::None)
                .unwrap()
                .starts_with("PROPFIND * HTTP/1.1\r\n")
        );
        assert!(Method::from_bytes(b"GET\r\n").is_err());
    }

    #[test]
    fn decimal() {
        for n in [0u64, 7, 10, 12345, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
