//! Text from a response body: the charset of `Content-Type`, and decoding bytes to a `String`.
//!
//! The encoding is chosen as browsers and requests/httpx users expect:
//!
//! 1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE) wins, and is not part of the text;
//! 2. else the `charset` parameter of `Content-Type` (RFC 9110 §8.3.2), looked up by the
//!    WHATWG Encoding Standard's label rules (`latin1` and `iso-8859-1` mean windows-1252);
//! 3. else, or for an unknown label, UTF-8.
//!
//! Malformed sequences become U+FFFD; decoding never fails. Labels that WHATWG maps to its
//! "replacement" encoding (such as `iso-2022-kr`), which turns a whole document into one
//! U+FFFD to protect browsers from script injection, are treated as unknown here instead.

use std::borrow::Cow;
use std::fmt;

use encoding_rs::{CoderResult, Encoding, UTF_8};

/// The `charset` parameter of a `Content-Type` value, if it has a non-empty one.
///
/// Parameters follow RFC 9110 §8.3.1 and §5.6.6: `;`-separated `name=value` pairs after the
/// media type, names matched ignoring case, values a token or a quoted-string (§5.6.4, with
/// `\` escapes undone). The first `charset` parameter wins. Call it with the raw field value;
/// `None` when there is no such parameter or its value is not UTF-8.
///
/// ```
/// use duet_core::charset_of;
/// assert_eq!(charset_of(b"text/html; charset=\"ISO-8859-1\"").as_deref(), Some("ISO-8859-1"));
/// assert_eq!(charset_of(b"application/json").as_deref(), None);
/// ```
pub fn charset_of(content_type: &[u8]) -> Option<Cow<'_, str>> {
    let (_, value) = parameters(content_type)
        .find(|(name, value)| name.eq_ignore_ascii_case(b"charset") && !value.is_empty())?;
    match value {
        Cow::Borrowed(v) => std::str::from_utf8(v).ok().map(Cow::Borrowed),
        Cow::Owned(v) => String::from_utf8(v).ok().map(Cow::Owned),
    }
}

/// The file name a `Content-Disposition` value gives (RFC 6266 §4.3), as received: a
/// `filename*` parameter (an RFC 8187 ext-value, `UTF-8` or `ISO-8859-1`, percent-decoded)
/// wins over `filename` (a token or a quoted-string; bytes that are not UTF-8 read as
/// ISO-8859-1). `None` when there is neither, or it is empty.
///
/// The name is the server's: it may hold `/`, `..` or anything else, so a caller that saves
/// a file under it must make it safe first (curl keeps what follows the last `/` or `\`).
///
/// ```
/// use duet_core::disposition_filename;
/// let header = b"attachment; filename=\"plain.txt\"; filename*=UTF-8''caf%C3%A9.txt";
/// assert_eq!(disposition_filename(header).as_deref(), Some("caf\u{e9}.txt"));
/// assert_eq!(disposition_filename(b"inline").as_deref(), None);
/// ```
pub fn disposition_filename(content_disposition: &[u8]) -> Option<String> {
    let mut plain = None;
    for (name, value) in parameters(content_disposition) {
        if name.eq_ignore_ascii_case(b"filename*") {
            if let Some(name) = ext_value(&value).filter(|n| !n.is_empty()) {
                return Some(name);
            }
        } else if name.eq_ignore_ascii_case(b"filename") && plain.is_none() {
            plain = Some(match std::str::from_utf8(&value) {
                Ok(text) => text.to_owned(),
                Err(_) => encoding_rs::mem::decode_latin1(&value).into_owned(),
            });
        }
    }
    plain.filter(|n| !n.is_empty())
}

/// An RFC 8187 ext-value (`charset'language'percent-encoded`) in UTF-8 or ISO-8859-1, decoded.
fn ext_value(value: &[u8]) -> Option<String> {
    let mut parts = value.splitn(3, |&b| b == b'\'');
    let (charset, _language, encoded) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes: Vec<u8> = percent_encoding::percent_decode(encoded).collect();
    if charset.eq_ignore_ascii_case(b"UTF-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case(b"ISO-8859-1") {
        Some(encoding_rs::mem::decode_latin1(&bytes).into_owned())
    } else {
        None
    }
}

/// The parameters of a field value (RFC 9110 §5.6.6), after its first item (a media type, a
/// disposition type): `;`-separated `name=value` pairs, each name trimmed, each value a token
/// (trimmed) or a quoted-string (§5.6.4, `\` escapes undone; unterminated, it runs to the
/// end). A parameter without `=` is skipped, and whatever follows a value up to the next `;`
/// is ignored.
fn parameters(value: &[u8]) -> Parameters<'_> {
    let start = value.iter().position(|&b| b == b';');
    Parameters {
        rest: start.map(|at| &value[at + 1..]),
    }
}

/// The iterator [`parameters`] returns.
struct Parameters<'a> {
    /// The input after the last `;` read, `None` once there is none left.
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Parameters<'a> {
    type Item = (&'a [u8], Cow<'a, [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest.take()?;
            let name_end = rest.iter().position(|&b| b == b'=' || b == b';')?;
            let name = rest[..name_end].trim_ascii();
            let after_name = &rest[name_end + 1..];
            if rest[name_end] == b';' {
                self.rest = Some(after_name); // a parameter without a value: skipped
                continue;
            }
            let (value, after_value) = match after_name.split_first() {
                Some((b'"', quoted)) => quoted_string(quoted),
                _ => {
                    let end = after_name.iter().position(|&b| b == b';');
                    let end = end.unwrap_or(after_name.len());
                    (
                        Cow::Borrowed(after_name[..end].trim_ascii()),
                        &after_name[end..],
                    )
                }
            };
            self.rest = after_value
                .iter()
                .position(|&b| b == b';')
                .map(|at| &after_value[at + 1..]);
            return Some((name, value));
        }
    }
}

/// Reads a quoted-string after its opening quote: returns its content (unescaped) and the
/// input after the closing quote. An unterminated string runs to the end of the input.
fn quoted_string(input: &[u8]) -> (Cow<'_, [u8]>, &[u8]) {
    let mut unescaped: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'"' => {
                let value = unescaped.map_or(Cow::Borrowed(&input[..i]), Cow::Owned);
                return (value, &input[i + 1..]);
            }
            b'\\' if i + 1 < input.len() => {
                let buf = unescaped.get_or_insert_with(|| input[..i].to_vec());
                buf.push(input[i + 1]);
                i += 2;
            }
            byte => {
                if let Some(buf) = &mut unescaped {
                    buf.push(byte);
                }
                i += 1;
            }
        }
    }
    (unescaped.map_or(Cow::Borrowed(input), Cow::Owned), &[])
}

/// The encoding a `Content-Type` value names, or UTF-8 (BOM sniffing comes on top).
fn encoding_for(content_type: Option<&[u8]>) -> &'static Encoding {
    named_encoding(content_type).unwrap_or(UTF_8)
}

/// The encoding a `Content-Type` value names, if it names a known one.
fn named_encoding(content_type: Option<&[u8]>) -> Option<&'static Encoding> {
    content_type
        .and_then(charset_of)
        .and_then(|label| Encoding::for_label_no_replacement(label.as_bytes()))
}

/// Decodes a whole body to text; returns the text and the name of the encoding used (as the
/// WHATWG Encoding Standard spells it: `UTF-8`, `windows-1252`, `Shift_JIS`, `UTF-16LE`...).
///
/// Call it with the body after content decoding and the response's `Content-Type` value, if
/// any. A BOM wins over the charset, the charset over the UTF-8 default; see the
/// module docs. Malformed sequences become U+FFFD, so this never fails.
///
/// ```
/// let (text, encoding) = duet_core::decode_text(b"caf\xe9", Some(b"text/plain; charset=latin1"));
/// assert_eq!((text.as_str(), encoding), ("café", "windows-1252"));
/// ```
pub fn decode_text(body: &[u8], content_type: Option<&[u8]>) -> (String, &'static str) {
    decode_as(body, encoding_for(content_type))
}

/// `body` decoded as `encoding` (a BOM wins), and the name of the encoding used.
fn decode_as(body: &[u8], encoding: &'static Encoding) -> (String, &'static str) {
    let (text, encoding, _malformed) = encoding.decode(body);
    (text.into_owned(), encoding.name())
}

/// Like [`decode_text`], with `default` (an encoding label such as `iso-8859-1` or
/// `shift_jis`) in place of UTF-8 when `Content-Type` names no known charset: for servers
/// known to send another encoding without saying so. A BOM and a named charset still win;
/// an unknown `default` label means UTF-8.
///
/// ```
/// let (text, encoding) = duet_core::decode_text_with_default(b"caf\xe9", None, "latin1");
/// assert_eq!((text.as_str(), encoding), ("café", "windows-1252"));
/// ```
pub fn decode_text_with_default(
    body: &[u8],
    content_type: Option<&[u8]>,
    default: &str,
) -> (String, &'static str) {
    let encoding = named_encoding(content_type)
        .or_else(|| Encoding::for_label_no_replacement(default.as_bytes()))
        .unwrap_or(UTF_8);
    decode_as(body, encoding)
}

/// The bytes of a JSON body to parse, as UTF-8: a UTF-8 byte order mark is dropped, and
/// UTF-16 (known by its BOM, or by the zero bytes of its first characters, RFC 4627 §3) is
/// transcoded. Anything else is returned as it is, for the parser to judge.
///
/// RFC 8259 §8.1 forbids sending a BOM but lets parsers ignore one, and some servers do send
/// it; requests and httpx parse such bodies, and so does duet. The `charset` of
/// `Content-Type` plays no part (JSON has none). UTF-32, which the Encoding Standard does
/// not define, is not recognised.
///
/// ```
/// assert_eq!(&*duet_core::json_text(b"\xef\xbb\xbf[1]"), b"[1]");
/// assert_eq!(&*duet_core::json_text(b"[\x001\x00]\x00"), b"[1]");
/// ```
pub fn json_text(body: &[u8]) -> Cow<'_, [u8]> {
    let encoding = match Encoding::for_bom(body) {
        Some((encoding, bom)) if encoding == UTF_8 => return Cow::Borrowed(&body[bom..]),
        Some((encoding, _)) => encoding,
        // JSON text starts with an ASCII character: in UTF-16 one of its two bytes is zero.
        None => match body {
            [0, second, ..] if *second != 0 => encoding_rs::UTF_16BE,
            [first, 0, rest @ ..] if *first != 0 && rest.first() != Some(&0) => {
                encoding_rs::UTF_16LE
            }
            _ => return Cow::Borrowed(body),
        },
    };
    let (text, _malformed) = encoding.decode_with_bom_removal(body);
    Cow::Owned(text.into_owned().into_bytes())
}

/// Decodes a body to text piece by piece, with the same rules as [`decode_text`]; a
/// multi-byte sequence may be split across pieces. Use it to read lines or text from a body
/// as it streams in.
///
/// ```
/// let mut decoder = duet_core::TextDecoder::new(Some(b"text/plain; charset=utf-8"));
/// let mut text = String::new();
/// for byte in "héllo".as_bytes() {
///     decoder.decode(std::slice::from_ref(byte), &mut text);
/// }
/// decoder.finish(&mut text);
/// assert_eq!(text, "héllo");
/// ```
pub struct TextDecoder {
    inner: encoding_rs::Decoder,
}

impl TextDecoder {
    /// A decoder for a body with this `Content-Type` value (`None` when the response has none).
    pub fn new(content_type: Option<&[u8]>) -> Self {
        TextDecoder {
            inner: encoding_for(content_type).new_decoder(),
        }
    }

    /// Decodes the next piece of the body, appending complete characters to `out`; an
    /// incomplete sequence at the end is kept for the next call. Never fails.
    pub fn decode(&mut self, bytes: &[u8], out: &mut String) {
        self.run(bytes, out, false);
    }

    /// The body ended: appends U+FFFD if it stopped inside a multi-byte sequence.
    pub fn finish(mut self, out: &mut String) {
        self.run(&[], out, true);
    }

    /// The name of the encoding in use. It becomes the BOM's encoding once the first bytes
    /// show a BOM, so ask after the first [`TextDecoder::decode`] with at least 3 bytes.
    pub fn encoding_name(&self) -> &'static str {
        self.inner.encoding().name()
    }

    fn run(&mut self, mut bytes: &[u8], out: &mut String, last: bool) {
        loop {
            let room = self.inner.max_utf8_buffer_length(bytes.len());
            out.reserve(room.unwrap_or(1024));
            let (result, read, _malformed) = self.inner.decode_to_string(bytes, out, last);
            bytes = &bytes[read..];
            if result == CoderResult::InputEmpty {
                return;
            }
        }
    }
}

impl fmt::Debug for TextDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextDecoder")
            .field("encoding", &self.encoding_name())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charset(value: &str) -> Option<String> {
        charset_of(value.as_bytes()).map(Cow::into_owned)
    }

    #[test]
    fn disposition_file_names() {
        for (value, name) in [
            (&b"attachment; filename=\"a b.txt\""[..], Some("a b.txt")),
            (b"attachment; filename=plain.txt", Some("plain.txt")),
            (b"attachment;filename=\"esc\\\"aped\"", Some("esc\"aped")),
            (
                b"attachment; FILENAME=\"../../etc/passwd\"",
                Some("../../etc/passwd"),
            ),
            // filename* wins, wherever it stands.
            (
                b"attachment; filename*=UTF-8''caf%C3%A9.txt; filename=\"fallback\"",
                Some("caf\u{e9}.txt"),
            ),
            (
                b"attachment; filename=\"fallback\"; filename*=utf-8'en'a%20b",
                Some("a b"),
            ),
            (
                b"attachment; filename*=iso-8859-1''%E9t%E9.txt",
                Some("\u{e9}t\u{e9}.txt"),
            ),
            // One that does not decode, in a charset not taken, or empty: filename instead.
            (
                b"attachment; filename*=UTF-8''%FF.txt; filename=ok.txt",
                Some("ok.txt"),
            ),
            (b"attachment; filename*=KOI8-R''x; filename=y", Some("y")),
            (b"attachment; filename*=UTF-8''; filename=z", Some("z")),
            (b"attachment; filename*=no-quotes; filename=w", Some("w")),
            // Bytes that are not UTF-8 read as ISO-8859-1.
            (b"attachment; filename=caf\xe9.txt", Some("caf\u{e9}.txt")),
            (b"attachment; filename=\"\"", None),
            (b"attachment; filename*=UTF-8''", None),
            (b"inline", None),
            (b"filename=no-type-first", None),
        ] {
            assert_eq!(
                disposition_filename(value).as_deref(),
                name,
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn charset_parameter_parsing() {
        let cases = [
            ("text/html; charset=\"ISO-8859-1\"", Some("ISO-8859-1")),
            ("text/plain;CHARSET=utf-8", Some("utf-8")),
            (
                "text/plain; format=flowed; Charset=Shift_JIS ; x=y",
                Some("Shift_JIS"),
            ),
            (
                "text/plain; a=\"x;charset=bad\"; charset=good",
                Some("good"),
            ),
            ("text/plain; charset=\"utf\\-8\"", Some("utf-8")),
            ("text/plain; charset=\"unterminated", Some("unterminated")),
            ("text/plain; a=b;charset=utf-8", Some("utf-8")),
            // A backslash with nothing after it is kept.
            ("text/plain; charset=\"utf-8\\", Some("utf-8\\")),
            ("text/plain; charset=first; charset=second", Some("first")),
            ("text/plain; flag; charset=koi8-r", Some("koi8-r")),
            ("text/plain; charset=\"a\" junk; charset=b", Some("a")),
            ("text/plain; charset=", None),
            ("text/plain; charset=\"\"", None),
            ("text/plain; charset", None),
            ("text/plain; xcharset=utf-8", None),
            // No media type: the parameters still count (the name starts right after `;`).
            (";charset=utf-8", Some("utf-8")),
            ("text/plain", None),
            ("", None),
            (";;;", None),
        ];
        for (value, expected) in cases {
            assert_eq!(charset(value).as_deref(), expected, "{value}");
        }
        assert_eq!(charset_of(b"text/plain; charset=\xff"), None);
        assert!(matches!(
            charset_of(b"a/b; charset=x"),
            Some(Cow::Borrowed("x"))
        ));
    }

    #[test]
    fn latin1_means_windows_1252() {
        for label in ["iso-8859-1", "ISO-8859-1", "\"latin1\"", "windows-1252"] {
            let ct = format!("text/plain; charset={label}");
            let decoded = decode_text(b"caf\xe9 \x80", Some(ct.as_bytes()));
            assert_eq!(decoded, ("café €".to_string(), "windows-1252"), "{label}");
        }
    }

    #[test]
    fn json_text_drops_a_bom_and_reads_utf16() {
        let same = |body: &[u8]| matches!(json_text(body), Cow::Borrowed(b) if b == body);
        for plain in [
            &b"{\"a\": 1}"[..],
            b"",
            b"1",
            b"\"\xc3\xa9\"",
            b"\x00",
            b"x\x00\x00\x00",
            // UTF-32 (big-endian here) is not UTF-16.
            b"\x00\x00\x00[\x00\x00\x00]",
        ] {
            assert!(same(plain), "{plain:?} is left to the parser");
        }
        assert_eq!(
            &*json_text(b"\xef\xbb\xbf{\"a\": \"\xc3\xa9\"}"),
            "{\"a\": \"é\"}".as_bytes()
        );
        // After a UTF-8 BOM the rest is the parser's as it is, invalid bytes too (not copied
        // through a decoder that would hide them behind U+FFFD).
        assert!(matches!(
            json_text(b"\xef\xbb\xbf[\"\xff\"]"),
            Cow::Borrowed(b"[\"\xff\"]")
        ));
        let utf16 = |big: bool, bom: bool| {
            let mut out: Vec<u8> = Vec::new();
            if bom {
                out.extend(if big { [0xfe, 0xff] } else { [0xff, 0xfe] });
            }
            for unit in "{\"é\": 1}".encode_utf16() {
                out.extend(if big {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            out
        };
        for big in [true, false] {
            for bom in [true, false] {
                assert_eq!(
                    &*json_text(&utf16(big, bom)),
                    "{\"é\": 1}".as_bytes(),
                    "big {big} bom {bom}"
                );
            }
        }
        assert_eq!(&*json_text(b"\x001"), b"1", "one character, big-endian");
        assert_eq!(&*json_text(b"1\x00"), b"1", "one character, little-endian");
    }

    #[test]
    fn utf8_default_and_boms() {
        assert_eq!(
            decode_text("héllo".as_bytes(), None),
            ("héllo".into(), "UTF-8")
        );
        let with_bom = b"\xef\xbb\xbfh\xc3\xa9";
        let latin1 = Some(&b"text/plain; charset=iso-8859-1"[..]);
        assert_eq!(decode_text(with_bom, latin1), ("hé".into(), "UTF-8"));
        let utf16le = b"\xff\xfeh\x00\xe9\x00";
        assert_eq!(decode_text(utf16le, None), ("hé".into(), "UTF-16LE"));
        let utf16be = b"\xfe\xff\x00h\x00\xe9";
        assert_eq!(decode_text(utf16be, latin1), ("hé".into(), "UTF-16BE"));
        assert_eq!(decode_text(b"a\xffb", None), ("a\u{fffd}b".into(), "UTF-8"));
        // A default applies only where the response names no known charset.
        let with_default = |body, ct| decode_text_with_default(body, ct, "shift_jis");
        assert_eq!(
            with_default(b"\x82\xa0", None),
            ("\u{3042}".into(), "Shift_JIS")
        );
        let unknown = Some(&b"text/plain; charset=klingon"[..]);
        assert_eq!(
            with_default(b"\x82\xa0", unknown),
            ("\u{3042}".into(), "Shift_JIS")
        );
        assert_eq!(
            with_default("hé".as_bytes(), Some(b"text/plain; charset=utf-8")),
            ("hé".into(), "UTF-8")
        );
        assert_eq!(with_default(with_bom, None), ("hé".into(), "UTF-8"));
        let nonsense = decode_text_with_default("hé".as_bytes(), None, "no-such-label");
        assert_eq!(nonsense, ("hé".into(), "UTF-8"));
        assert_eq!(decode_text(b"", None), (String::new(), "UTF-8"));
    }

    #[test]
    fn shift_jis_and_unknown_labels() {
        let sjis = b"\x93\xfa\x96\x7b\x8c\xea";
        let ct = Some(&b"text/html; charset=shift_jis"[..]);
        assert_eq!(decode_text(sjis, ct), ("日本語".into(), "Shift_JIS"));
        for unknown in ["no-such-charset", "iso-2022-kr"] {
            let ct = format!("text/plain; charset={unknown}");
            let decoded = decode_text("ok é".as_bytes(), Some(ct.as_bytes()));
            assert_eq!(decoded, ("ok é".into(), "UTF-8"), "{unknown}");
        }
    }

    /// Every split of `bytes` into single bytes and into two pieces gives `expected`.
    fn assert_streams(bytes: &[u8], content_type: Option<&[u8]>, expected: &str, name: &str) {
        let mut decoder = TextDecoder::new(content_type);
        let mut text = String::new();
        for byte in bytes.chunks(1) {
            decoder.decode(byte, &mut text);
        }
        assert_eq!(decoder.encoding_name(), name);
        decoder.finish(&mut text);
        assert_eq!(text, expected);
        for at in 0..=bytes.len() {
            let mut decoder = TextDecoder::new(content_type);
            let mut text = String::new();
            decoder.decode(&bytes[..at], &mut text);
            decoder.decode(&bytes[at..], &mut text);
            decoder.finish(&mut text);
            assert_eq!(text, expected, "split at {at}");
        }
    }

    #[test]
    fn streaming_handles_split_sequences() {
        let mixed = "héllo wörld 日本 🎉\nline two\n";
        assert_streams(mixed.as_bytes(), None, mixed, "UTF-8");
        let with_bom = [&b"\xef\xbb\xbf"[..], mixed.as_bytes()].concat();
        assert_streams(&with_bom, None, mixed, "UTF-8");
        let sjis = Some(&b"text/plain; charset=Shift_JIS"[..]);
        assert_streams(b"\x93\xfa\x96\x7b\x8c\xea", sjis, "日本語", "Shift_JIS");
        let utf16 = [&b"\xff\xfe"[..], &[0x3c, 0xd8, 0x89, 0xdf, b'a', 0]].concat();
        assert_streams(&utf16, None, "🎉a", "UTF-16LE");
        let latin1 = Some(&b"text/plain; charset=latin1"[..]);
        assert_streams(b"caf\xe9", latin1, "café", "windows-1252");
    }

    #[test]
    fn an_incomplete_sequence_at_the_end_becomes_a_replacement() {
        let mut decoder = TextDecoder::new(None);
        let mut text = String::new();
        decoder.decode(b"ok\xe6\x97", &mut text);
        assert_eq!(text, "ok");
        decoder.finish(&mut text);
        assert_eq!(text, "ok\u{fffd}");
        assert_eq!(
            format!("{:?}", TextDecoder::new(None)),
            "TextDecoder { encoding: \"UTF-8\" }"
        );
    }
}
