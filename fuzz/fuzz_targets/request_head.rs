//! What the caller gives a request (method, URL, header fields) and what goes on the wire.
//!
//! Input layout: byte 0 is the number of header fields (mod 9); then length-prefixed pieces
//! (one length byte, then that many bytes): the method, the URL, then each field's name and
//! value. Missing pieces are empty.
//!
//! Checked: a field is accepted exactly when RFC 9110 allows it (a name of token characters;
//! a value without CR, LF, NUL or another control byte but HTAB); a request the engine
//! refuses is refused before any byte goes out, as an invalid URL, header or credentials; and a request it
//! accepts goes out as exactly one request head that httparse reads back whole, with the
//! method, a target for the URL, one `Host`, and every field the caller set that the engine
//! does not manage itself, value for value. Nothing may panic.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use duet_core::client::{Action, Call, ClientConfig, ErrorKind, RequestParts};
use duet_core::{Headers, Method, Url};
use libfuzzer_sys::fuzz_target;

fn t0() -> Instant {
    static NOW: OnceLock<Instant> = OnceLock::new();
    *NOW.get_or_init(Instant::now)
}

/// Fields the engine writes or rewrites itself (framing, connection management, the ones
/// it fills from the URL, the session or the client's defaults).
const MANAGED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "cookie",
    "authorization",
    "proxy-authorization",
    "proxy-connection",
    "user-agent",
    "accept",
    "accept-encoding",
];

struct Pieces<'a>(&'a [u8]);

impl<'a> Pieces<'a> {
    fn next(&mut self) -> &'a [u8] {
        let Some((&len, rest)) = self.0.split_first() else {
            return &[];
        };
        let (piece, rest) = rest.split_at(usize::from(len).min(rest.len()));
        self.0 = rest;
        piece
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn field_allowed(name: &[u8], value: &[u8]) -> bool {
    !name.is_empty()
        && name.iter().all(|&b| is_tchar(b))
        && value
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value.iter().position(|&b| b != b' ' && b != b'\t');
    let Some(start) = start else {
        return &[];
    };
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .unwrap();
    &value[start..=end]
}

/// A refused request: refused before any byte went out, as a caller's bad input (its URL, a
/// header, or the credentials in its URL's userinfo).
fn check_refused(error: &duet_core::client::Error, wire: &[u8]) {
    assert!(wire.is_empty(), "refused after writing: {error}");
    assert!(
        matches!(
            error.kind(),
            ErrorKind::InvalidUrl | ErrorKind::InvalidHeader | ErrorKind::Auth
        ),
        "a caller's request refused as {:?}: {error}",
        error.kind()
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let mut pieces = Pieces(rest);
    let Ok(method) = Method::from_bytes(pieces.next()) else {
        return; // the http crate's method parser is not ours to test
    };
    let url_text = String::from_utf8_lossy(pieces.next()).into_owned();
    let Ok(url) = Url::parse(&url_text) else {
        return; // nor the url crate's
    };
    let mut headers = Headers::new();
    let mut fields = Vec::new();
    for _ in 0..count % 9 {
        let (name, value) = (pieces.next(), pieces.next());
        let appended = headers.append(name, value).is_ok();
        assert_eq!(
            appended,
            field_allowed(name, value),
            "field {:?}: {:?}",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(value)
        );
        if appended {
            fields.push((name.to_ascii_lowercase(), trim_ows(value).to_vec()));
        }
    }

    let mut request = RequestParts::new(method.clone(), url.clone());
    request.headers = headers;
    let config = Arc::new(ClientConfig::default());
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut call = match Call::new(&config, request, 1, t0(), wall) {
        Ok(call) => call,
        Err(e) => return check_refused(&e, &[]),
    };

    let mut wire = Vec::new();
    let mut sent = false;
    for _ in 0..1000 {
        match call.poll_action(t0()) {
            Ok(Action::Connect(_)) => {
                if let Err(e) = call.connected(None, t0()) {
                    return check_refused(&e, &wire);
                }
            }
            Ok(Action::Transmit { bytes, .. }) => {
                wire.extend_from_slice(bytes);
                let n = bytes.len();
                call.transmitted(n);
            }
            Ok(Action::SendBody) => call.send_end().expect("an empty body ends"),
            Ok(Action::Receive { .. }) => {
                sent = true;
                break;
            }
            Ok(other) => panic!("unexpected {other:?} before the response"),
            Err(e) => return check_refused(&e, &wire),
        }
    }

    assert!(sent, "the request was not sent within 1000 steps");
    let mut parsed = [httparse::EMPTY_HEADER; 64];
    let mut head = httparse::Request::new(&mut parsed);
    let status = head
        .parse(&wire)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&wire)));
    let httparse::Status::Complete(len) = status else {
        panic!("a partial head: {:?}", String::from_utf8_lossy(&wire));
    };
    assert_eq!(len, wire.len(), "more than one request head went out");
    assert_eq!(head.method, Some(method.as_str()));
    let target = head.path.expect("a target");
    let expected = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    assert!(
        target == expected || (method == Method::OPTIONS && target == "*"),
        "target {target:?} for {url}"
    );
    let sent: Vec<(Vec<u8>, &[u8])> = head
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase().into_bytes(), h.value))
        .collect();
    let hosts = sent.iter().filter(|(name, _)| name == b"host").count();
    assert_eq!(hosts, 1, "{:?}", String::from_utf8_lossy(&wire));
    for (name, value) in &fields {
        if MANAGED.iter().any(|m| m.as_bytes() == name.as_slice()) {
            continue;
        }
        assert!(
            sent.iter()
                .any(|(n, v)| n == name && *v == value.as_slice()),
            "{:?}: {:?} did not go out: {:?}",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(value),
            String::from_utf8_lossy(&wire)
        );
    }
});
