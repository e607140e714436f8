//! Response body decoding (`Content-Encoding`) on arbitrary bytes, with every coding duet
//! decodes, stacked, under a small or the default size limit.
//!
//! Input layout: byte 0 picks the codings, byte 1 the limit, the rest is the body.
//!
//! ```text
//! byte 0   bits 0-1 and 2-3: two codings out of gzip, deflate, br, zstd; bit 4: use
//!          the second one too (applied after the first, so decoded first)
//! byte 1   0: a limit of 4 MiB; otherwise a limit of byte 1 * 16 decoded bytes
//! ```
//!
//! The large limit is not `Limits::default()`'s 1 GiB: a few KiB of gzip inside gzip decode
//! to that much, which this target collects twice, past libFuzzer's 2 GiB memory limit. The
//! decoder's code is the same whatever the number.
//!
//! The body is decoded (a) whole and (b) one byte at a time, each followed by `finish`. Both
//! must succeed or fail together, and when they succeed give the same bytes. Always: nothing
//! panics, nothing decoded goes past the limit, `decoded_len` counts what was handed out, and
//! an error is returned again by every later call.

#![no_main]

use duet_core::{ContentDecoder, DecodeError, Headers, Limits};
use libfuzzer_sys::fuzz_target;

const CODINGS: [&str; 4] = ["gzip", "deflate", "br", "zstd"];

/// The limit when byte 1 is 0.
const LARGE_LIMIT: u64 = 4 << 20;

/// Decodes `body` offered `step` bytes at a time; the bytes decoded, and the error if any.
fn decode(
    headers: &Headers,
    limits: &Limits,
    body: &[u8],
    step: usize,
) -> (Vec<u8>, Option<DecodeError>) {
    let mut decoder = ContentDecoder::from_headers(headers, limits)
        .expect("codings duet decodes")
        .expect("at least one coding");
    let mut out = Vec::new();
    let mut result = Ok(());
    for piece in body.chunks(step) {
        result = decoder.decode(piece, &mut out);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = decoder.finish(&mut out);
    }
    assert!(
        out.len() as u64 <= limits.max_decoded_body_bytes,
        "decoded past the limit"
    );
    assert_eq!(
        decoder.decoded_len(),
        out.len() as u64,
        "decoded_len is off"
    );
    let error = result.err();
    if let Some(e) = &error {
        let mut more = Vec::new();
        assert_eq!(
            decoder.decode(b"x", &mut more).as_ref(),
            Err(e),
            "not sticky"
        );
        assert_eq!(decoder.finish(&mut more).as_ref(), Err(e), "not sticky");
        assert!(more.is_empty(), "output after an error");
    }
    (out, error)
}

fuzz_target!(|data: &[u8]| {
    let [codings, limit, body @ ..] = data else {
        return;
    };
    let first = CODINGS[usize::from(codings & 3)];
    let second = CODINGS[usize::from((codings >> 2) & 3)];
    let mut headers = Headers::new();
    headers
        .append("Content-Encoding", first)
        .expect("a valid field");
    if codings & 0x10 != 0 {
        headers
            .append("Content-Encoding", second)
            .expect("a valid field");
    }
    let mut limits = Limits::default();
    limits.max_decoded_body_bytes = match *limit {
        0 => LARGE_LIMIT,
        n => u64::from(n) * 16,
    };
    let (whole, whole_error) = decode(&headers, &limits, body, body.len().max(1));
    let (bytewise, bytewise_error) = decode(&headers, &limits, body, 1);
    assert_eq!(
        whole_error.is_some(),
        bytewise_error.is_some(),
        "whole: {whole_error:?}, byte at a time: {bytewise_error:?}"
    );
    if whole_error.is_none() {
        assert_eq!(whole, bytewise, "the two runs decoded different bytes");
    }
});
