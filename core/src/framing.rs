//! How long a response body is, and whether the connection survives it: decided here and
//! nowhere else, following RFC 9112 §6.3 step by step.

use http::{StatusCode, Version};

use crate::error::RemoteError;
use crate::headers::{Headers, list_items};
use crate::response::ResponseHead;

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body (HEAD, 1xx, 204, 304).
    None,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the server closes the connection.
    CloseDelimited,
    /// No HTTP body: the connection now carries another protocol (a 2xx to CONNECT, a 101).
    Upgraded,
}

/// What the framing decision needs to know about the request: the request head's encoding
/// notes it ([`RequestHead::encode`](crate::request::RequestHead::encode)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RequestFacts {
    pub is_head: bool,
    pub is_connect: bool,
    /// An `Upgrade` field.
    pub wants_upgrade: bool,
    /// A `close` token in `Connection`.
    pub close: bool,
}

/// The framing of a final response (status >= 200, or a 101 the request asked for), and
/// whether the connection may carry another exchange once this one is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub framing: BodyFraming,
    /// Why the connection carries no other exchange after this one; `None`: it may.
    pub close: Option<&'static str>,
}

/// RFC 9112 §6.3, in its order.
pub(crate) fn decide(req: RequestFacts, head: &ResponseHead) -> Result<Decision, RemoteError> {
    let status = head.status();
    let headers = head.headers();
    let mut close = persistent(req, head).err();
    let decision = |framing, close| Ok(Decision { framing, close });

    if status == StatusCode::SWITCHING_PROTOCOLS {
        return decision(BodyFraming::Upgraded, Some(UPGRADED));
    }
    // 1. HEAD, 1xx, 204 and 304 responses end with their head.
    if req.is_head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return decision(BodyFraming::None, close);
    }
    // 2. A 2xx to CONNECT turns the connection into a tunnel.
    if req.is_connect && status.is_success() {
        return decision(BodyFraming::Upgraded, Some(UPGRADED));
    }
    // 3. Transfer-Encoding overrides Content-Length.
    if head.facts.transfer_encoding {
        if head.version() == Version::HTTP_10 {
            // §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing; read to
            // the close and never reuse.
            return decision(
                BodyFraming::CloseDelimited,
                Some("an HTTP/1.0 response with Transfer-Encoding runs to the close"),
            );
        }
        if head.facts.content_length > 0 {
            // §6.1: possible smuggling; do not reuse the connection.
            close = Some("the response had both Transfer-Encoding and Content-Length");
        }
        if transfer_codings(headers).chunked {
            return decision(BodyFraming::Chunked, close);
        }
        // Chunked not last (or repeated): the body runs to the close.
        return decision(BodyFraming::CloseDelimited, Some(TO_THE_CLOSE));
    }
    // 4-5. Content-Length, if valid.
    let length = match head.facts.content_length {
        0 => Ok(None),
        1 => {
            let value = head.facts.content_length_value(head);
            // Most often bare digits: no list to split, nothing to trim.
            match parse_decimal(value) {
                Some(n) => Ok(Some(n)),
                None => content_length_of(std::iter::once(value)),
            }
        }
        _ => content_length(headers),
    };
    if let Some(length) = length? {
        return decision(BodyFraming::Length(length), close);
    }
    // 7. Otherwise the body runs until the server closes.
    decision(BodyFraming::CloseDelimited, Some(TO_THE_CLOSE))
}

/// What a response's `Transfer-Encoding` fields list (RFC 9112 §6.1).
pub(crate) struct TransferCodings<'a> {
    /// One `chunked`, listed last: the body is chunked. (Otherwise it runs to the close.)
    pub chunked: bool,
    /// The codings to undo (`identity` left out), in the order they were applied: those
    /// before the final `chunked`, or all of them when there is no `chunked`. None when a `chunked` is listed
    /// anywhere else (the body then runs to the close as it came).
    pub to_undo: Vec<&'a [u8]>,
}

/// Reads the `Transfer-Encoding` fields of `headers`, for the framing and for the decoder:
/// one reading for both. No allocation for the usual bare `chunked`.
pub(crate) fn transfer_codings(headers: &Headers) -> TransferCodings<'_> {
    let (mut chunked_count, mut chunked_last) = (0, false);
    let mut applied = Vec::new();
    for coding in headers.get_all("transfer-encoding").flat_map(list_items) {
        // (`identity` undoes nothing, but it still stands where it is listed: `chunked,
        // identity` does not end with `chunked`.)
        chunked_last = coding.eq_ignore_ascii_case(b"chunked");
        if chunked_last {
            chunked_count += 1;
        } else if !coding.eq_ignore_ascii_case(b"identity") {
            applied.push(coding);
        }
    }
    let chunked = chunked_last && chunked_count == 1;
    TransferCodings {
        chunked,
        to_undo: match chunked || chunked_count == 0 {
            true => applied,
            false => Vec::new(),
        },
    }
}

const UPGRADED: &str = "the connection now carries another protocol";
const TO_THE_CLOSE: &str = "the response body ran to the close";

/// Whether the connection persists after this exchange as far as the headers say
/// (RFC 9112 §9.3): `Connection: close` on either side ends it; HTTP/1.0 needs keep-alive.
/// `Err` says why not.
fn persistent(req: RequestFacts, head: &ResponseHead) -> Result<(), &'static str> {
    if req.close {
        return Err("the request said Connection: close");
    }
    if head.facts.close {
        return Err("the response said Connection: close");
    }
    match head.version() == Version::HTTP_11 || head.facts.keep_alive {
        true => Ok(()),
        false => Err("an HTTP/1.0 response without keep-alive"),
    }
}

/// The Content-Length, if present: 1*DIGIT only (no sign, no hex, no overflow). Repeated
/// fields or list items must all be equal (RFC 9110 §8.6).
pub(crate) fn content_length(headers: &Headers) -> Result<Option<u64>, RemoteError> {
    content_length_of(headers.get_all("content-length"))
}

fn content_length_of<'a>(
    values: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<u64>, RemoteError> {
    let mut found: Option<u64> = None;
    for value in values {
        for item in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            let n = parse_decimal(item).ok_or_else(|| RemoteError::InvalidContentLength {
                value: String::from_utf8_lossy(value).into_owned(),
            })?;
            match found {
                Some(first) if first != n => {
                    return Err(RemoteError::ConflictingContentLength { first, second: n });
                }
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{HeadScanner, parse_head};

    fn head(bytes: &str) -> ResponseHead {
        let found = HeadScanner::default()
            .scan(bytes.as_bytes(), &crate::Limits::default())
            .unwrap()
            .unwrap();
        parse_head(&bytes.as_bytes()[..found.len], found.header_lines).unwrap()
    }

    fn get() -> RequestFacts {
        RequestFacts::default()
    }

    fn decide_str(req: RequestFacts, bytes: &str) -> Result<(BodyFraming, bool), RemoteError> {
        decide(req, &head(bytes)).map(|d| (d.framing, d.close.is_none()))
    }

    #[test]
    fn no_body_for_head_204_304() {
        let head_req = RequestFacts {
            is_head: true,
            ..get()
        };
        let cases = [
            (head_req, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"),
            (
                head_req,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            ),
            (
                get(),
                "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            ),
            (
                get(),
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
            ),
        ];
        for (req, bytes) in cases {
            assert_eq!(
                decide_str(req, bytes),
                Ok((BodyFraming::None, true)),
                "{bytes}"
            );
        }
    }

    #[test]
    fn connect_success_is_a_tunnel_but_failure_has_a_body() {
        let connect = RequestFacts {
            is_connect: true,
            ..get()
        };
        let ok = "HTTP/1.1 200 Connection established\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(decide_str(connect, ok), Ok((BodyFraming::Upgraded, false)));
        let denied = "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(
            decide_str(connect, denied),
            Ok((BodyFraming::Length(5), true))
        );
    }

    #[test]
    fn transfer_encoding_rules() {
        let chunked = |te: &str| format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {te}\r\n\r\n");
        assert_eq!(
            decide_str(get(), &chunked("chunked")),
            Ok((BodyFraming::Chunked, true))
        );
        assert_eq!(
            decide_str(get(), &chunked("gzip, CHUNKED")),
            Ok((BodyFraming::Chunked, true))
        );
        assert_eq!(
            decide_str(get(), &chunked("chunked, gzip")),
            Ok((BodyFraming::CloseDelimited, false))
        );
        assert_eq!(
            decide_str(get(), &chunked("chunked, chunked")),
            Ok((BodyFraming::CloseDelimited, false))
        );
        assert_eq!(
            decide_str(get(), &chunked("gzip")),
            Ok((BodyFraming::CloseDelimited, false))
        );
        assert_eq!(
            decide_str(get(), &chunked("chunked, identity")),
            Ok((BodyFraming::CloseDelimited, false)),
            "identity still stands after chunked"
        );
        let split =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(decide_str(get(), split), Ok((BodyFraming::Chunked, true)));
        // Chunked wins over Content-Length, and the connection is not reused.
        let both = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(decide_str(get(), both), Ok((BodyFraming::Chunked, false)));
        // HTTP/1.0 with Transfer-Encoding is faulty framing.
        let old = "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
        assert_eq!(
            decide_str(get(), old),
            Ok((BodyFraming::CloseDelimited, false))
        );
    }

    #[test]
    fn content_length_rules() {
        let cl = |v: &str| format!("HTTP/1.1 200 OK\r\nContent-Length: {v}\r\n\r\n");
        assert_eq!(
            decide_str(get(), &cl("0")),
            Ok((BodyFraming::Length(0), true))
        );
        assert_eq!(
            decide_str(get(), &cl("007")),
            Ok((BodyFraming::Length(7), true))
        );
        assert_eq!(
            decide_str(get(), &cl("5, 5")),
            Ok((BodyFraming::Length(5), true))
        );
        assert_eq!(
            decide_str(get(), &cl("18446744073709551615")),
            Ok((BodyFraming::Length(u64::MAX), true))
        );
        for bad in [
            "+5",
            "-5",
            "0x10",
            "5a",
            "",
            "5 5",
            "18446744073709551616",
            "1.0",
            "5,",
        ] {
            assert_eq!(
                decide_str(get(), &cl(bad)),
                Err(RemoteError::InvalidContentLength {
                    value: bad.trim().into()
                }),
                "{bad:?}"
            );
        }
        let two = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(decide_str(get(), two), Ok((BodyFraming::Length(5), true)));
        let differ = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
        assert_eq!(
            decide_str(get(), differ),
            Err(RemoteError::ConflictingContentLength {
                first: 5,
                second: 6
            })
        );
        assert_eq!(
            decide_str(get(), &cl("5, 7")),
            Err(RemoteError::ConflictingContentLength {
                first: 5,
                second: 7
            })
        );
    }

    #[test]
    fn close_delimited_without_framing_headers() {
        assert_eq!(
            decide_str(get(), "HTTP/1.1 200 OK\r\n\r\n"),
            Ok((BodyFraming::CloseDelimited, false))
        );
    }

    #[test]
    fn keep_alive_rules() {
        let len = "Content-Length: 1\r\n";
        let keep = |bytes: &str, req| decide_str(req, bytes).unwrap().1;
        assert!(keep(&format!("HTTP/1.1 200 OK\r\n{len}\r\n"), get()));
        assert!(!keep(
            &format!("HTTP/1.1 200 OK\r\nConnection: close\r\n{len}\r\n"),
            get()
        ));
        assert!(!keep(
            &format!("HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\n{len}\r\n"),
            get()
        ));
        assert!(!keep(
            &format!("HTTP/1.1 200 OK\r\n{len}\r\n"),
            RequestFacts {
                close: true,
                ..get()
            }
        ));
        assert!(!keep(&format!("HTTP/1.0 200 OK\r\n{len}\r\n"), get()));
        assert!(keep(
            &format!("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n{len}\r\n"),
            get()
        ));
    }

    #[test]
    fn upgrade_response() {
        let up = RequestFacts {
            wants_upgrade: true,
            ..get()
        };
        let bytes =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        assert_eq!(decide_str(up, bytes), Ok((BodyFraming::Upgraded, false)));
    }
}
