//! The parsers of header fields a server chooses: `Set-Cookie` (the cookie jar),
//! `WWW-Authenticate` (a Digest flow answering a 401), `Link` (pagination), `Content-Type`
//! (the charset a body's text is decoded by) and `Content-Disposition` (a file's name).
//!
//! The whole input is one field value, given to each. Nothing may panic, and what each
//! accepts must be usable: a cookie the jar stored goes out in a `Cookie` header that is a
//! valid field value, storing the same `Set-Cookie` again replaces rather than adds, a Digest
//! answer is one valid `Authorization` field, every parsed link has a relation type, a
//! charset found is not empty, a body (the input again) decoded piece by piece, split
//! anywhere, gives the text and encoding that decoding it whole gives, and a file name found
//! is not empty.

#![no_main]

use std::time::{Duration, SystemTime};

use duet_core::auth::{Auth, AuthRequest, AuthResponse, AuthStep, CnonceSource, DigestAuth};
use duet_core::cookies::CookieJar;
use duet_core::link::parse_link_headers;
use duet_core::{
    Headers, Method, StatusCode, TextDecoder, Url, charset_of, decode_text, disposition_filename,
};
use libfuzzer_sys::fuzz_target;

fn cookies(value: &str) {
    let url = Url::parse("https://www.example.com/app/page").unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut jar = CookieJar::new();
    if jar.store(&url, value, now).is_err() {
        assert!(jar.is_empty(), "a refused cookie changed the jar");
        return;
    }
    let stored = jar.len();
    assert!(stored <= 1, "one Set-Cookie stored {stored} cookies");
    assert!(
        jar.store(&url, value, now).is_ok(),
        "the same cookie was refused the second time"
    );
    assert_eq!(jar.len(), stored, "storing the same cookie again added one");
    for target in [
        "https://www.example.com/app/page",
        "https://www.example.com/",
        "http://example.com/app/x",
    ] {
        let target = Url::parse(target).unwrap();
        if let Some(header) = jar.cookie_header(&target, now) {
            let mut headers = Headers::new();
            headers
                .append("Cookie", &header)
                .unwrap_or_else(|e| panic!("stored cookie is not sendable: {e}: {header:?}"));
        }
    }
}

fn digest(value: &[u8], integrity: bool) {
    let mut challenge = Headers::new();
    if challenge.append("WWW-Authenticate", value).is_err() {
        return; // not a field value a parsed response can carry
    }
    let auth = DigestAuth::new(
        "Mufasa",
        "Circle of Life",
        CnonceSource::from_bytes(|| [7; 16]),
    )
    .prefer_integrity(integrity);
    let url = Url::parse("http://example.org/dir/index.html?q=1").unwrap();
    let mut flow = auth.flow(&url).expect("an http URL has an origin");
    let mut headers = Headers::new();
    let mut request = AuthRequest {
        method: &Method::POST,
        url: &url,
        headers: &mut headers,
        body: Some(b"x=1"),
    };
    flow.authorize(&mut request)
        .expect("nothing known yet, nothing to fail");
    let response = AuthResponse {
        status: StatusCode::UNAUTHORIZED,
        headers: &challenge,
        body: None,
    };
    if let Ok(AuthStep::Retry) = flow.respond(&mut request, &response) {
        let sent: Vec<_> = request.headers.get_all("Authorization").collect();
        assert_eq!(sent.len(), 1, "a retry must carry one Authorization field");
        assert!(
            sent[0].starts_with(b"Digest "),
            "not a Digest answer: {:?}",
            sent[0]
        );
    }
}

fn links(value: &[u8]) {
    let mut headers = Headers::new();
    if headers.append("Link", value).is_err() {
        return;
    }
    let base = Url::parse("https://api.example.com/items?page=1").unwrap();
    for link in parse_link_headers(&base, &headers) {
        assert!(!link.rel.is_empty(), "a link without a relation type");
    }
}

fn content_type(value: &[u8]) {
    if let Some(charset) = charset_of(value) {
        assert!(!charset.is_empty(), "an empty charset");
    }
    let (whole, encoding) = decode_text(value, Some(value));
    // Split where the first byte says, so that every split point is tried.
    let at = value
        .first()
        .map_or(0, |&b| usize::from(b) % (value.len() + 1));
    let mut decoder = TextDecoder::new(Some(value));
    let mut pieces = String::new();
    decoder.decode(&value[..at], &mut pieces);
    decoder.decode(&value[at..], &mut pieces);
    let streamed_encoding = decoder.encoding_name();
    decoder.finish(&mut pieces);
    assert_eq!(pieces, whole, "split at {at}");
    if value.len() >= 3 {
        assert_eq!(streamed_encoding, encoding);
    }
}

fn content_disposition(value: &[u8]) {
    if let Some(name) = disposition_filename(value) {
        assert!(!name.is_empty(), "an empty file name");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        cookies(text);
    }
    digest(data, false);
    digest(data, true);
    links(data);
    content_type(data);
    content_disposition(data);
});
