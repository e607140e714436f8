//! Tests of the multipart/form-data encoder (kept beside `multipart.rs` to keep it short).

use super::*;

const ENTROPY: [u8; 16] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0xff,
];
const BOUNDARY: &str = "duet-000102030405060708090a0b0c0d0eff";

/// Plays the driver: writes bytes, copies sources (here, `Vec<u8>`), checks the alternation.
fn encode(form: Form<Vec<u8>>) -> (Vec<u8>, usize) {
    let mut body = Vec::new();
    let mut count = 0;
    let mut last_was_bytes = false;
    for segment in form.into_encoder() {
        count += 1;
        match segment {
            Segment::Bytes(bytes) => {
                assert!(!last_was_bytes, "two Bytes segments in a row");
                assert!(!bytes.is_empty());
                body.extend_from_slice(&bytes);
                last_was_bytes = true;
            }
            Segment::Source(source) => {
                assert!(last_was_bytes, "a source not preceded by its part head");
                body.extend_from_slice(&source);
                last_was_bytes = false;
            }
        }
    }
    assert!(
        last_was_bytes,
        "the body must end with the closing delimiter"
    );
    (body, count)
}

/// Splits a body at its delimiters into (header lines, content) per part, checking the framing.
fn parse(body: &[u8], boundary: &str) -> Vec<(Vec<String>, Vec<u8>)> {
    let text = body.to_vec();
    let close = format!("\r\n--{boundary}--\r\n");
    assert!(text.ends_with(close.as_bytes()), "no closing delimiter");
    let first = format!("--{boundary}\r\n");
    assert!(text.starts_with(first.as_bytes()), "no opening delimiter");
    let inner = &text[first.len()..text.len() - close.len()];
    let delimiter = format!("\r\n--{boundary}\r\n");
    split(inner, delimiter.as_bytes())
        .into_iter()
        .map(|part| {
            let end = find(part, b"\r\n\r\n").expect("no blank line after the part headers");
            let head = std::str::from_utf8(&part[..end]).unwrap();
            let lines = head.split("\r\n").map(str::to_owned).collect();
            (lines, part[end + 4..].to_vec())
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut bytes: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    while let Some(at) = find(bytes, separator) {
        pieces.push(&bytes[..at]);
        bytes = &bytes[at + separator.len()..];
    }
    pieces.push(bytes);
    pieces
}

#[test]
fn boundary_and_content_type_come_from_the_entropy() {
    let form: Form<()> = Form::new(ENTROPY);
    assert_eq!(form.boundary(), BOUNDARY);
    assert_eq!(
        form.content_type(),
        format!("multipart/form-data; boundary={BOUNDARY}")
    );
    let other: Form<()> = Form::new([0xff; 16]);
    assert_eq!(other.boundary(), format!("duet-{}", "f".repeat(32)));
}

#[test]
fn exact_bytes_of_a_small_form() {
    let form = Form::new(ENTROPY)
        .text("a", "1")
        .text("a", "2 two")
        .part("f", Part::bytes("hi\r\n").file_name("x.txt"));
    assert_eq!(
        form.content_length(),
        Some(encode(form.clone()).0.len() as u64)
    );
    let (body, segments) = encode(form);
    assert_eq!(segments, 1);
    let b = BOUNDARY;
    let expected = format!(
        "--{b}\r\n\
         Content-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
         --{b}\r\n\
         Content-Disposition: form-data; name=\"a\"\r\n\r\n2 two\r\n\
         --{b}\r\n\
         Content-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nhi\r\n\r\n\
         --{b}--\r\n"
    );
    assert_eq!(String::from_utf8(body).unwrap(), expected);
}

#[test]
fn empty_form_is_only_the_close_delimiter() {
    let form: Form<Vec<u8>> = Form::new(ENTROPY);
    assert_eq!(form.content_length(), Some(BOUNDARY.len() as u64 + 6));
    assert_eq!(
        encode(form),
        (format!("--{BOUNDARY}--\r\n").into_bytes(), 1)
    );
}

#[test]
fn file_names_guess_the_content_type() {
    let guess = |name: &str| {
        Part::<()>::bytes("")
            .file_name(name)
            .content_type()
            .map(<[u8]>::to_vec)
    };
    assert_eq!(guess("report.csv").as_deref(), Some(&b"text/csv"[..]));
    assert_eq!(guess("photo.PNG").as_deref(), Some(&b"image/png"[..]));
    assert_eq!(
        guess("dir/archive.tar.gz").as_deref(),
        Some(&b"application/gzip"[..])
    );
    assert_eq!(
        guess("no-extension").as_deref(),
        Some(&b"application/octet-stream"[..])
    );
    // An explicit type wins, whether set before or after the file name.
    let before = Part::<()>::bytes("")
        .mime("text/x-custom")
        .unwrap()
        .file_name("a.png");
    assert_eq!(before.content_type(), Some(&b"text/x-custom"[..]));
    let after = Part::<()>::bytes("")
        .file_name("a.png")
        .mime("image/webp")
        .unwrap();
    assert_eq!(after.content_type(), Some(&b"image/webp"[..]));
    assert_eq!(after.get_file_name(), Some("a.png"));
    // Plain bytes without a file name send no Content-Type.
    assert_eq!(Part::<()>::bytes("x").content_type(), None);
}

#[test]
fn sources_are_yielded_between_merged_bytes() {
    let form = Form::new(ENTROPY)
        .text("t", "v")
        .part(
            "one",
            Part::source(b"ONE".to_vec(), Some(3)).file_name("1.bin"),
        )
        .part("two", Part::source(b"TWO!".to_vec(), Some(4)))
        .text("u", "w");
    let length = form.content_length();
    let mut encoder = form.clone().into_encoder();
    let kinds: Vec<_> = encoder
        .by_ref()
        .map(|s| match s {
            Segment::Bytes(_) => "bytes".to_string(),
            Segment::Source(s) => String::from_utf8(s).unwrap(),
        })
        .collect();
    assert_eq!(kinds, ["bytes", "ONE", "bytes", "TWO!", "bytes"]);
    assert!(encoder.next_segment().is_none());
    let (body, segments) = encode(form);
    assert_eq!(segments, 5);
    assert_eq!(length, Some(body.len() as u64));
}

#[test]
fn a_source_of_unknown_length_makes_the_length_unknown() {
    let form = Form::new(ENTROPY)
        .text("t", "v")
        .part("s", Part::source(b"stream".to_vec(), None));
    assert_eq!(form.content_length(), None);
    let parts = parse(&encode(form).0, BOUNDARY);
    assert_eq!(parts[1].1, b"stream");
    let known = Form::new(ENTROPY).part("s", Part::source(Vec::<u8>::new(), Some(0)));
    assert!(known.content_length().is_some());
}

#[test]
fn content_length_is_exact_with_file_names_headers_and_escapes() {
    let form = Form::new(ENTROPY)
        .text("plain", "value")
        .text("quo\"te\r\n", "multi\r\nline")
        .part(
            "upload",
            Part::source(vec![7u8; 1000], Some(1000))
                .file_name("résumé \"final\".pdf")
                .header("X-Checksum", "abc")
                .unwrap()
                .header("Content-Transfer-Encoding", "binary")
                .unwrap(),
        )
        .part("empty", Part::bytes(Vec::new()).file_name(""))
        .part(
            "雪",
            Part::bytes(vec![0u8, 255, b'\r', b'\n'])
                .mime("application/x-raw")
                .unwrap(),
        );
    let expected = form.content_length().unwrap();
    let (body, _) = encode(form);
    assert_eq!(expected, body.len() as u64);
}

#[test]
fn names_and_file_names_are_escaped_as_browsers_do() {
    let form: Form<Vec<u8>> =
        Form::new(ENTROPY).part("a\"b\rc\nd%22", Part::bytes("x").file_name("e\"f\r\ng.txt"));
    let parts = parse(&encode(form).0, BOUNDARY);
    assert_eq!(
        parts[0].0[0],
        "Content-Disposition: form-data; name=\"a%22b%0Dc%0Ad%22\"; filename=\"e%22f%0D%0Ag.txt\""
    );
}

#[test]
fn non_ascii_file_names_are_raw_utf8() {
    let form: Form<Vec<u8>> =
        Form::new(ENTROPY).part("файл", Part::bytes("x").file_name("naïve 雪.txt"));
    let (body, _) = encode(form);
    let needle = "name=\"файл\"; filename=\"naïve 雪.txt\"\r\n";
    assert!(find(&body, needle.as_bytes()).is_some());
}

#[test]
fn invalid_types_and_headers_are_refused() {
    for bad in ["text/plain\r\nX: 1", "a\nb", "nul\0", "\x7f"] {
        assert!(
            matches!(
                Part::<()>::bytes("").mime(bad),
                Err(LocalError::InvalidHeaderValue { .. })
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        Part::<()>::bytes("").header("X-A", "v\r\n").unwrap_err(),
        LocalError::InvalidHeaderValue {
            name: "X-A".into(),
            byte: b'\r'
        }
    );
    for name in [
        "",
        "Bad Name",
        "a:b",
        "Content-Disposition",
        "content-disposition",
    ] {
        assert!(
            matches!(
                Part::<()>::bytes("").header(name, "v"),
                Err(LocalError::InvalidHeaderName { .. })
            ),
            "{name:?}"
        );
    }
    assert!(
        Part::<()>::bytes("")
            .header("Content-Type", "a\nb")
            .is_err()
    );
}

#[test]
fn a_content_type_header_sets_the_type_once() {
    let part = Part::<Vec<u8>>::bytes("x")
        .file_name("a.png")
        .header("content-type", "image/avif")
        .unwrap()
        .header("X-Extra", "1")
        .unwrap();
    assert_eq!(part.content_type(), Some(&b"image/avif"[..]));
    assert_eq!(part.headers().len(), 1);
    let parts = parse(&encode(Form::new(ENTROPY).part("p", part)).0, BOUNDARY);
    let head = &parts[0].0;
    assert_eq!(
        head.iter()
            .filter(|l| l.to_ascii_lowercase().starts_with("content-type"))
            .count(),
        1
    );
    assert_eq!(head[1], "Content-Type: image/avif");
    assert_eq!(head[2], "X-Extra: 1");
}

#[test]
fn parse_back_every_part() {
    let mut form = Form::new(ENTROPY).text("name", "duet");
    form.add_text("tag", "a");
    form.add_text("tag", "b");
    form.add_part(
        "doc",
        Part::source(b"%PDF-1.7\r\n...".to_vec(), None).file_name("doc.pdf"),
    );
    form.add_part("blob", Part::bytes(b"\r\n--not-a-boundary\r\n".to_vec()));
    let names: Vec<_> = form.parts().map(|(n, _)| n.to_owned()).collect();
    assert_eq!(names, ["name", "tag", "tag", "doc", "blob"]);
    let parts = parse(&encode(form).0, BOUNDARY);
    let disposition = |name: &str| format!("Content-Disposition: form-data; name=\"{name}\"");
    let expected: Vec<(Vec<String>, &[u8])> = vec![
        (vec![disposition("name")], b"duet"),
        (vec![disposition("tag")], b"a"),
        (vec![disposition("tag")], b"b"),
        (
            vec![
                format!("{}; filename=\"doc.pdf\"", disposition("doc")),
                "Content-Type: application/pdf".into(),
            ],
            b"%PDF-1.7\r\n...",
        ),
        (vec![disposition("blob")], b"\r\n--not-a-boundary\r\n"),
    ];
    assert_eq!(parts.len(), expected.len());
    for ((head, content), (want_head, want_content)) in parts.iter().zip(&expected) {
        assert_eq!(head, want_head);
        assert_eq!(content, want_content);
    }
}

#[test]
fn content_reports_its_length() {
    assert_eq!(Content::<()>::Bytes(b"abc"[..].into()).len(), Some(3));
    assert!(Content::<()>::Bytes(bytes::Bytes::new()).is_empty());
    assert_eq!(
        Content::Source {
            source: (),
            len: None
        }
        .len(),
        None
    );
    assert!(
        !Content::Source {
            source: (),
            len: None
        }
        .is_empty()
    );
    assert!(matches!(
        Part::source((), Some(9)).content(),
        Content::Source { len: Some(9), .. }
    ));
}

#[test]
fn a_copy_encodes_to_the_same_body_with_its_own_sources() {
    fn form<S>(source: impl Fn(&str) -> S) -> Form<S> {
        Form::new(ENTROPY)
            .text("t", "v")
            .part(
                "one",
                Part::source(source("one"), Some(3))
                    .file_name("1.txt")
                    .header("X-Part", "1")
                    .unwrap(),
            )
            .part("two", Part::bytes("TWO!").file_name("2.bin"))
            .part("three", Part::source(source("three"), None))
    }
    let original = form(str::to_owned);
    // Each source is made again (here: its text in capitals, as a reader opened anew).
    let copy = original
        .try_copy(|name: &String| Some(name.to_uppercase().into_bytes()))
        .unwrap();
    assert_eq!(copy.content_length(), original.content_length());
    let (body, _) = encode(copy);
    assert_eq!(body, encode(form(|s| s.to_uppercase().into_bytes())).0);
    let contents: Vec<_> = parse(&body, BOUNDARY).into_iter().map(|(_, c)| c).collect();
    assert_eq!(contents, [&b"v"[..], b"ONE", b"TWO!", b"THREE"]);
    // One source that cannot be made again: no copy.
    let mut calls = 0;
    let none = original.try_copy(|name: &String| {
        calls += 1;
        (name != "one").then_some(())
    });
    assert!(none.is_none());
    assert_eq!(calls, 1, "stops at the first failure");
}
