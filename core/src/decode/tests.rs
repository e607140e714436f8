//! Tests of content decoding: every coding whole, one byte at a time and at every split point;
//! stacking, limits, and every error variant. The helpers here are shared with the `br` and
//! `zstd` tests at the bottom of their own files.

use std::io::Write;

use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

use super::*;

/// Deterministic text of `len` bytes: compressible, but not trivially.
pub(super) fn sample(len: usize) -> Vec<u8> {
    const WORDS: [&str; 8] = [
        "duet ",
        "decodes ",
        "gzip, ",
        "brotli ",
        "and zstd ",
        "bodies\n",
        "0123 ",
        "é ",
    ];
    let mut state = 0x2545_f491_u32;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        out.extend_from_slice(WORDS[(state >> 16) as usize % WORDS.len()].as_bytes());
    }
    out.truncate(len);
    out
}

pub(super) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub(super) fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub(super) fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[cfg(feature = "brotli")]
pub(super) fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = ::brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).unwrap();
    }
    out
}

#[cfg(feature = "zstd")]
pub(super) fn zstd(data: &[u8]) -> Vec<u8> {
    ::zstd::encode_all(data, 3).unwrap()
}

pub(super) fn headers(fields: &[&str]) -> Headers {
    let mut h = Headers::new();
    for value in fields {
        h.append("Content-Encoding", value).unwrap();
    }
    h
}

pub(super) fn decoder(coding: &str, limits: &Limits) -> ContentDecoder {
    ContentDecoder::from_headers(&headers(&[coding]), limits)
        .unwrap()
        .unwrap()
}

/// Decodes `body` fed in pieces of `step` bytes, then finishes.
pub(super) fn decode_in_steps(
    coding: &str,
    body: &[u8],
    step: usize,
) -> Result<Vec<u8>, DecodeError> {
    let mut d = decoder(coding, &Limits::default());
    let mut out = Vec::new();
    for piece in body.chunks(step.max(1)) {
        d.decode(piece, &mut out)?;
    }
    d.finish(&mut out)?;
    assert_eq!(d.decoded_len(), out.len() as u64);
    Ok(out)
}

/// Decodes `body` cut into two pieces at `at`.
pub(super) fn decode_split_at(
    coding: &str,
    body: &[u8],
    at: usize,
) -> Result<Vec<u8>, DecodeError> {
    let mut d = decoder(coding, &Limits::default());
    let mut out = Vec::new();
    d.decode(&body[..at], &mut out)?;
    d.decode(&body[at..], &mut out)?;
    d.finish(&mut out)?;
    Ok(out)
}

/// Whole, one byte at a time, in odd pieces, and (for short bodies) at every split point.
pub(super) fn assert_round_trip(coding: &str, body: &[u8], expected: &[u8]) {
    assert_eq!(decode_in_steps(coding, body, body.len()).unwrap(), expected);
    assert_eq!(decode_in_steps(coding, body, 1).unwrap(), expected);
    assert_eq!(decode_in_steps(coding, body, 7).unwrap(), expected);
    if body.len() <= 2048 {
        for at in 0..=body.len() {
            assert_eq!(
                decode_split_at(coding, body, at).unwrap(),
                expected,
                "split at {at}"
            );
        }
    }
}

/// Every proper, non-empty prefix decodes without error and then fails at `finish`.
pub(super) fn assert_prefixes_truncated(coding: &str, body: &[u8], name: &'static str) {
    for len in 1..body.len() {
        let result = decode_in_steps(coding, &body[..len], 3);
        assert_eq!(
            result,
            Err(DecodeError::Truncated { coding: name }),
            "prefix {len}"
        );
    }
}

#[test]
fn nothing_to_decode() {
    let limits = Limits::default();
    assert!(matches!(
        ContentDecoder::from_headers(&Headers::new(), &limits),
        Ok(None)
    ));
    let h = headers(&["identity", " Identity , "]);
    assert!(matches!(
        ContentDecoder::from_headers(&h, &limits),
        Ok(None)
    ));
}

#[test]
fn gzip_round_trips_at_every_split() {
    let data = sample(100_000);
    assert_round_trip("gzip", &gzip(&data), &data);
    let small = sample(300);
    for coding in ["gzip", "x-gzip", "GZip", "X-GZIP"] {
        assert_round_trip(coding, &gzip(&small), &small);
    }
    assert_round_trip("gzip", &gzip(b""), b"");
}

#[test]
fn deflate_accepts_zlib_and_raw() {
    let data = sample(100_000);
    assert_round_trip("deflate", &zlib(&data), &data);
    assert_round_trip("deflate", &raw_deflate(&data), &data);
    let small = sample(200);
    assert_round_trip("Deflate", &zlib(&small), &small);
    assert_round_trip("deflate", &raw_deflate(&small), &small);
    // The shortest raw stream: one empty final fixed-Huffman block, two bytes.
    assert_round_trip("deflate", &raw_deflate(b""), b"");
    assert!(is_zlib_start(&zlib(b"x")) && !is_zlib_start(&raw_deflate(&small)));
}

/// Raw deflate streams of stored blocks (RFC 1951 §3.2.4) whose first two bytes pass some of
/// the zlib header checks of RFC 1950 §2.2 (method 8, a window of at most 32 KiB, a multiple
/// of 31) but not all three: they are raw deflate, not zlib.
#[test]
fn only_a_complete_zlib_header_makes_a_zlib_stream() {
    /// A stored block of `data`; the padding after its 3 header bits is `padding` (ignored).
    fn stored(last: bool, padding: u8, data: &[u8]) -> Vec<u8> {
        let len = data.len() as u16;
        let mut block = vec![u8::from(last) | padding << 3];
        block.extend(len.to_le_bytes());
        block.extend((!len).to_le_bytes());
        block.extend(data);
        block
    }
    let header_check = |body: &[u8]| (u16::from(body[0]) * 256 + u16::from(body[1])) % 31 == 0;
    let data = sample(40);
    let cases = [
        // Method 1, but 0x01 0x17 is a multiple of 31.
        stored(true, 0, &data[..23]),
        // Method 8 and a 256-byte window, but 0x08 0x05 is no multiple of 31.
        [stored(false, 1, &data[..5]), stored(true, 0, &data[5..])].concat(),
        // Method 8 and 0x88 0x1c a multiple of 31, but a 64 KiB window (CINFO 8).
        [
            stored(false, 0x11, &data[..28]),
            stored(true, 0, &data[28..]),
        ]
        .concat(),
    ];
    assert!(header_check(&cases[0]) && cases[0][0] & 0x0f != 8);
    assert!(!header_check(&cases[1]) && cases[1][0] == 0x08);
    assert!(header_check(&cases[2]) && cases[2][0] == 0x88);
    for (i, body) in cases.iter().enumerate() {
        let expected = if i == 0 { &data[..23] } else { &data[..] };
        assert_round_trip("deflate", body, expected);
    }
}

fn is_zlib_start(body: &[u8]) -> bool {
    (u16::from(body[0]) * 256 + u16::from(body[1])) % 31 == 0 && body[0] & 0x0f == 8
}

/// A body that inflates to many times its size: one input piece yields several scratch
/// pieces of output, and the inflater must be drained of them before it is given more.
#[test]
fn highly_compressible_bodies_decode_in_any_pieces() {
    let zeros = vec![0u8; 1 << 20];
    for (coding, body) in [
        ("deflate", zlib(&zeros)),
        ("deflate", raw_deflate(&zeros)),
        ("gzip", gzip(&zeros)),
    ] {
        for step in [1, 64, 1000, body.len()] {
            let out = decode_in_steps(coding, &body, step);
            assert_eq!(out.map(|v| v == zeros), Ok(true), "{coding}, step {step}");
        }
    }
    // Four pieces of output at most from a body of about a hundred bytes, at every prefix.
    let zeros = vec![0u8; 4 * PIECE];
    for (coding, body) in [("deflate", zlib(&zeros)), ("gzip", gzip(&zeros))] {
        assert_nothing_held_back(coding, &body);
    }
}

/// A body of many output pieces from little input (`encode`d for `coding`) decodes whole,
/// each piece let out before more input comes.
#[cfg(any(feature = "brotli", feature = "zstd"))]
pub(super) fn assert_much_from_little_comes_out_at_once(
    coding: &str,
    encode: fn(&[u8]) -> Vec<u8>,
) {
    let data = vec![b'a'; 8 * PIECE];
    let body = encode(&data);
    assert!(body.len() < 1024, "{coding}: {} bytes", body.len());
    assert_round_trip(coding, &body, &data);
    assert_nothing_held_back(coding, &body);
}

/// Whatever a prefix of `body` decodes to is out before more input comes (a streamed body
/// is not held back), so every prefix gives as much output at once as byte by byte.
pub(super) fn assert_nothing_held_back(coding: &str, body: &[u8]) {
    let limits = Limits::default();
    for n in 1..body.len() {
        let (mut at_once, mut by_bytes) = (Vec::new(), Vec::new());
        decoder(coding, &limits)
            .decode(&body[..n], &mut at_once)
            .unwrap();
        let mut d = decoder(coding, &limits);
        for byte in body[..n].chunks(1) {
            d.decode(byte, &mut by_bytes).unwrap();
        }
        assert_eq!(at_once.len(), by_bytes.len(), "{coding}: prefix {n}");
    }
}

#[test]
fn multi_member_gzip_decodes_as_one() {
    let (a, b) = (sample(5000), b"second member".to_vec());
    let mut body = gzip(&a);
    body.extend(gzip(&b));
    body.extend(gzip(b""));
    assert_round_trip("gzip", &body, &[a, b].concat());
}

/// A member with every optional header field, built by hand (flate2 writes no FHCRC).
fn gzip_with_all_header_fields(data: &[u8], break_header_crc: bool) -> Vec<u8> {
    gzip_with_header_fields(0x02 | 0x04 | 0x08 | 0x10, b"abc", data, break_header_crc)
}

/// A member with the optional header fields of `flags` (FHCRC 0x02, FEXTRA 0x04 with `extra`,
/// FNAME 0x08, FCOMMENT 0x10), built by hand.
fn gzip_with_header_fields(flags: u8, extra: &[u8], data: &[u8], break_crc: bool) -> Vec<u8> {
    let mut body = vec![0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 255];
    if flags & 0x04 != 0 {
        body.extend((extra.len() as u16).to_le_bytes());
        body.extend(extra);
    }
    if flags & 0x08 != 0 {
        body.extend(b"name.txt\0");
    }
    if flags & 0x10 != 0 {
        body.extend(b"a comment\0");
    }
    if flags & 0x02 != 0 {
        let mut crc = flate2::Crc::new();
        crc.update(&body);
        let crc16 = (crc.sum() & 0xffff) as u16 ^ u16::from(break_crc);
        body.extend(crc16.to_le_bytes());
    }
    body.extend(raw_deflate(data));
    let mut crc = flate2::Crc::new();
    crc.update(data);
    body.extend(crc.sum().to_le_bytes());
    body.extend((data.len() as u32).to_le_bytes());
    body
}

/// Every combination of optional header fields, with extra fields that are empty or hold
/// zero bytes (which end a name or a comment, but not an extra field).
#[test]
fn gzip_header_fields_in_every_combination() {
    let data = sample(200);
    for flags in (0..16u8).map(|bits| bits << 1) {
        for extra in [&b""[..], b"\0", b"a\0b", &[0; 300]] {
            let body = gzip_with_header_fields(flags, extra, &data, false);
            assert_eq!(
                decode_in_steps("gzip", &body, body.len()),
                Ok(data.clone()),
                "flags {flags:#04x}, extra {} bytes",
                extra.len()
            );
            assert_eq!(decode_in_steps("gzip", &body, 1), Ok(data.clone()));
        }
    }
}

#[test]
fn gzip_header_fields_are_skipped_and_checked() {
    let data = sample(1000);
    assert_round_trip("gzip", &gzip_with_all_header_fields(&data, false), &data);
    let bad = gzip_with_all_header_fields(&data, true);
    assert_eq!(
        decode_in_steps("gzip", &bad, 1),
        Err(DecodeError::Corrupt {
            coding: "gzip",
            detail: "header checksum mismatch".into()
        })
    );
}

#[test]
fn truncated_streams_fail_at_finish() {
    let data = sample(500);
    assert_prefixes_truncated("gzip", &gzip(&data), "gzip");
    assert_prefixes_truncated("gzip", &gzip_with_all_header_fields(&data, false), "gzip");
    assert_prefixes_truncated("deflate", &zlib(&data), "deflate");
    assert_prefixes_truncated("deflate", &raw_deflate(&data), "deflate");
    // A second member that only started.
    let mut two = gzip(&data);
    two.extend(&gzip(b"")[..4]);
    let result = decode_in_steps("gzip", &two, 1);
    assert_eq!(result, Err(DecodeError::Truncated { coding: "gzip" }));
}

#[test]
fn empty_bodies_decode_to_nothing() {
    for coding in ["gzip", "deflate"] {
        assert_eq!(decode_in_steps(coding, b"", 1).unwrap(), b"");
    }
}

pub(super) fn corrupt(coding: &'static str, detail: &str) -> DecodeError {
    DecodeError::Corrupt {
        coding,
        detail: detail.into(),
    }
}

#[test]
fn garbage_and_trailing_data_are_corrupt() {
    let wrong_magic = corrupt("gzip", "not a gzip member (wrong magic bytes)");
    assert_eq!(decode_in_steps("gzip", b"plain text", 1), Err(wrong_magic));
    let data = sample(300);
    for step in [1, 5, 10_000] {
        let mut body = gzip(&data);
        body.extend(b"junk");
        let after = corrupt("gzip", "data after the end of the gzip stream");
        assert_eq!(decode_in_steps("gzip", &body, step), Err(after));
        for mut body in [zlib(&data), raw_deflate(&data)] {
            body.push(0);
            let after = corrupt("deflate", "data after the end of the deflate stream");
            assert_eq!(decode_in_steps("deflate", &body, step), Err(after));
        }
    }
    // BFINAL = 1 with the reserved block type 3 (RFC 1951 §3.2.3).
    let reserved = decode_in_steps("deflate", &[0x07, 0x00, 0x00], 1);
    assert!(matches!(
        reserved,
        Err(DecodeError::Corrupt {
            coding: "deflate",
            ..
        })
    ));
    let mut method = gzip(&data);
    method[2] = 7;
    let result = decode_in_steps("gzip", &method, 1);
    assert_eq!(result, Err(corrupt("gzip", "unknown compression method 7")));
    // RFC 1952 §2.3.1: the three high flag bits are reserved and must be zero.
    for flag in [0x20, 0x40, 0x80] {
        let mut reserved = gzip(&data);
        reserved[3] |= flag;
        let detail = format!("reserved header flags {flag:#04x}");
        assert_eq!(
            decode_in_steps("gzip", &reserved, 1),
            Err(corrupt("gzip", &detail))
        );
    }
}

#[test]
fn checksums_are_verified() {
    let data = sample(300);
    let mut body = gzip(&data);
    let n = body.len();
    body[n - 8] ^= 1;
    let result = decode_in_steps("gzip", &body, 1);
    assert_eq!(result, Err(corrupt("gzip", "CRC32 mismatch")));
    let mut body = gzip(&data);
    body[n - 4] ^= 1;
    let result = decode_in_steps("gzip", &body, 1);
    assert_eq!(
        result,
        Err(corrupt("gzip", "decoded length differs from ISIZE"))
    );
    let mut body = zlib(&data);
    let n = body.len();
    body[n - 1] ^= 1; // the Adler-32
    let result = decode_in_steps("deflate", &body, 1);
    assert!(matches!(
        result,
        Err(DecodeError::Corrupt {
            coding: "deflate",
            ..
        })
    ));
}

#[test]
fn errors_are_sticky_and_data_after_finish_is_refused() {
    let mut d = decoder("gzip", &Limits::default());
    let mut out = Vec::new();
    let err = d.decode(b"nope", &mut out).unwrap_err();
    assert_eq!(d.decode(&gzip(b"ok"), &mut out), Err(err.clone()));
    assert_eq!(d.finish(&mut out), Err(err));

    let mut d = decoder("gzip", &Limits::default());
    d.decode(&gzip(b"ok"), &mut out).unwrap();
    d.finish(&mut out).unwrap();
    d.finish(&mut out).unwrap();
    let after = corrupt("gzip", "data after the end of the body");
    assert_eq!(d.decode(b"x", &mut out), Err(after));
    assert_eq!(out, b"ok");
}

#[test]
fn stacked_codings_decode_in_reverse_order() {
    let data = sample(20_000);
    // `gzip, deflate`: gzip was applied first, so deflate is undone first.
    let body = zlib(&gzip(&data));
    let limits = Limits::default();
    for fields in [
        &["gzip, deflate"][..],
        &["gzip", "deflate"],
        &["identity,gzip", "deflate"],
    ] {
        let mut d = ContentDecoder::from_headers(&headers(fields), &limits)
            .unwrap()
            .unwrap();
        let mut out = Vec::new();
        for byte in body.chunks(1) {
            d.decode(byte, &mut out).unwrap();
        }
        d.finish(&mut out).unwrap();
        assert_eq!(out, data);
    }
}

#[test]
fn transfer_codings_before_chunked_are_undone_before_the_content_codings() {
    let data = sample(20_000);
    let limits = Limits::default();
    let decode_all = |h: &Headers, body: &[u8]| {
        let mut d = ContentDecoder::from_headers(h, &limits).unwrap().unwrap();
        let mut out = Vec::new();
        d.decode(body, &mut out).unwrap();
        d.finish(&mut out).unwrap();
        out
    };
    let with = |te: &str, ce: Option<&str>| {
        let mut h = Headers::new();
        h.append("Transfer-Encoding", te).unwrap();
        if let Some(ce) = ce {
            h.append("Content-Encoding", ce).unwrap();
        }
        h
    };
    // Content coded with deflate, then transfer coded with gzip: gzip comes off first.
    let body = gzip(&zlib(&data));
    assert_eq!(
        decode_all(&with("gzip, chunked", Some("deflate")), &body),
        data
    );
    assert_eq!(
        decode_all(&with("gzip", Some("deflate")), &body),
        data,
        "no chunked: to the close"
    );
    assert_eq!(
        decode_all(&with("Identity, GZIP ,chunked", None), &gzip(&data)),
        data
    );
    // Nothing to undo: the bare chunked framing, or a chunked before the end (the body then
    // runs to the close as it came).
    for te in [
        "chunked",
        "identity, chunked",
        "chunked, gzip",
        "gzip, chunked, chunked",
    ] {
        assert!(
            ContentDecoder::from_headers(&with(te, None), &limits)
                .unwrap()
                .is_none(),
            "{te}"
        );
    }
    // Transfer and content codings count together against the limit.
    assert_eq!(
        ContentDecoder::from_headers(&with("gzip, chunked", Some("gzip, deflate")), &limits)
            .unwrap_err(),
        DecodeError::TooManyEncodings { count: 3, limit: 2 }
    );
}

#[test]
fn too_many_encodings() {
    let limits = Limits::default();
    let h = headers(&["gzip, identity, deflate", "gzip"]);
    assert_eq!(
        ContentDecoder::from_headers(&h, &limits).unwrap_err(),
        DecodeError::TooManyEncodings { count: 3, limit: 2 }
    );
    let limits = Limits {
        max_content_encodings: 0,
        ..Limits::default()
    };
    let result = ContentDecoder::from_headers(&headers(&["gzip"]), &limits);
    assert_eq!(
        result.unwrap_err(),
        DecodeError::TooManyEncodings { count: 1, limit: 0 }
    );
}

#[test]
fn unsupported_codings() {
    let limits = Limits::default();
    let result = ContentDecoder::from_headers(&headers(&["gzip, compress"]), &limits);
    let expected = DecodeError::Unsupported {
        coding: "compress".into(),
    };
    assert_eq!(result.unwrap_err(), expected);
    #[cfg(not(feature = "brotli"))]
    assert_eq!(
        ContentDecoder::from_headers(&headers(&["br"]), &limits).unwrap_err(),
        DecodeError::Unsupported {
            coding: "br".into()
        }
    );
    #[cfg(not(feature = "zstd"))]
    assert_eq!(
        ContentDecoder::from_headers(&headers(&["ZSTD"]), &limits).unwrap_err(),
        DecodeError::Unsupported {
            coding: "ZSTD".into()
        }
    );
}

#[test]
fn the_limit_is_inclusive() {
    let data = sample(50_000);
    let body = gzip(&data);
    for (limit, ok) in [(50_000, true), (49_999, false)] {
        let limits = Limits {
            max_decoded_body_bytes: limit,
            ..Limits::default()
        };
        let mut d = decoder("gzip", &limits);
        let mut out = Vec::new();
        let result = d.decode(&body, &mut out).and_then(|()| d.finish(&mut out));
        assert_eq!(result.is_ok(), ok, "limit {limit}");
        if !ok {
            assert_eq!(result, Err(DecodeError::TooLarge { limit }));
            assert!(out.len() as u64 <= limit && d.decoded_len() == out.len() as u64);
        }
    }
}

#[test]
fn gzip_bomb_stops_at_the_limit() {
    const ZEROS: usize = 20 << 20;
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    let block = vec![0u8; 1 << 20];
    for _ in 0..ZEROS / block.len() {
        e.write_all(&block).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < ZEROS / 100);

    let limits = Limits {
        max_decoded_body_bytes: 1 << 20,
        ..Limits::default()
    };
    for body in [bomb.clone(), zlib(&zlib(&vec![0; 1 << 21]))] {
        let coding = if body == bomb {
            "gzip"
        } else {
            "deflate, deflate"
        };
        let h = headers(&[coding]);
        let mut d = ContentDecoder::from_headers(&h, &limits).unwrap().unwrap();
        let mut out = Vec::new();
        let result = body
            .chunks(64 * 1024)
            .try_for_each(|p| d.decode(p, &mut out));
        assert_eq!(result, Err(DecodeError::TooLarge { limit: 1 << 20 }));
        assert!(out.len() <= 1 << 20 && out.capacity() <= 4 << 20);
        assert!(d.decoded_len() <= 1 << 20);
        let sticky = d.decode(b"more", &mut out);
        assert_eq!(sticky, Err(DecodeError::TooLarge { limit: 1 << 20 }));
    }
}

#[test]
fn decoder_is_send_and_debug() {
    fn assert_send<T: Send>(_: &T) {}
    let d = decoder("gzip, deflate", &Limits::default());
    assert_send(&d);
    let shown = format!("{d:?}");
    assert!(shown.contains(r#"["deflate", "gzip"]"#), "{shown}");
}

/// The whole outcome of decoding `body` in pieces of `step` bytes: output, then the result.
fn outcome(coding: &str, body: &[u8], step: usize) -> (Vec<u8>, Result<(), DecodeError>) {
    let mut d = decoder(coding, &Limits::default());
    let mut out = Vec::new();
    let result = body
        .chunks(step.max(1))
        .try_for_each(|piece| d.decode(piece, &mut out))
        .and_then(|()| d.finish(&mut out));
    (out, result)
}

fn encoded(coding: &str, data: &[u8]) -> Vec<u8> {
    match coding {
        "gzip" => gzip(data),
        "deflate" => zlib(data),
        #[cfg(feature = "brotli")]
        "br" => brotli(data),
        #[cfg(feature = "zstd")]
        "zstd" => zstd(data),
        _ => raw_deflate(data),
    }
}

proptest::proptest! {
    /// Damaged streams: never a panic, and the same result however they are split.
    #[test]
    fn damaged_streams_decode_the_same_at_any_split(
        which in 0usize..5,
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
        flips in proptest::collection::vec((proptest::prelude::any::<usize>(), 1u8..), 0..3),
        cut in proptest::prelude::any::<usize>(),
        step in 1usize..50,
    ) {
        let coding = ["gzip", "deflate", "br", "zstd", "raw"][which];
        if (coding == "br" && cfg!(not(feature = "brotli")))
            || (coding == "zstd" && cfg!(not(feature = "zstd")))
        {
            return Ok(());
        }
        let mut body = encoded(coding, &data);
        for (at, mask) in flips {
            let i = at % body.len();
            body[i] ^= mask;
        }
        body.truncate(body.len().saturating_sub(cut % 4)); // brotli of nothing is one byte
        let coding = if coding == "raw" { "deflate" } else { coding };
        let whole = outcome(coding, &body, body.len());
        for split in [outcome(coding, &body, 1), outcome(coding, &body, step)] {
            proptest::prop_assert_eq!(&split.1, &whole.1);
            if whole.1.is_ok() {
                proptest::prop_assert_eq!(&split.0, &whole.0);
            } else {
                // Before an error, a split body may have decoded more (or less) of the data.
                let n = split.0.len().min(whole.0.len());
                proptest::prop_assert_eq!(&split.0[..n], &whole.0[..n]);
            }
        }
    }
}
