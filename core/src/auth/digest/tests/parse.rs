//! The challenge grammar of RFC 9110 §11 on its own: several challenges per field, bare
//! schemes, token68, quoted-strings, and the bounds on what is read.

use super::super::challenge::{
    MAX_CHALLENGES, MAX_FIELD_BYTES, MAX_PARAMS, RawChallenge, parse_challenges, parse_params,
    select,
};
use crate::Headers;
use crate::auth::AuthError;

fn params<'a>(c: &'a RawChallenge<'_>) -> Vec<(&'a str, &'a str)> {
    c.params
        .iter()
        .map(|(n, v)| {
            (
                std::str::from_utf8(n).unwrap(),
                std::str::from_utf8(v).unwrap(),
            )
        })
        .collect()
}

#[test]
fn several_challenges_in_one_field() {
    let field = concat!(
        r#"Newauth realm="apps", type=1, title="Login to \"apps\"", "#,
        r#"Basic realm="simple", Bearer abc.def/+==, Digest nonce=x"#
    )
    .as_bytes();
    let c = parse_challenges(field).unwrap();
    assert_eq!(c.len(), 4);
    assert_eq!(c[0].scheme, b"Newauth");
    assert_eq!(
        params(&c[0]),
        [
            ("realm", "apps"),
            ("type", "1"),
            ("title", "Login to \"apps\"")
        ]
    );
    assert_eq!(params(&c[1]), [("realm", "simple")]);
    assert_eq!(c[2].token68, Some(&b"abc.def/+=="[..]));
    assert_eq!(params(&c[3]), [("nonce", "x")]);
}

#[test]
fn bare_schemes_empty_elements_and_bws() {
    let c = parse_challenges(b" , Negotiate,  ,Digest realm = \"r\" ,, nonce=\"n\" , ").unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].scheme, b"Negotiate");
    assert!(c[0].params.is_empty() && c[0].token68.is_none());
    assert_eq!(params(&c[1]), [("realm", "r"), ("nonce", "n")]);
}

#[test]
fn malformed_fields_are_errors() {
    for bad in [
        &b"Digest realm=\"unterminated"[..],
        b"Digest realm=\"ends in backslash\\",
        b"Digest realm=\"a\rb\", nonce=\"n\"",
        b"Digest realm=\"a\x00b\"",
        b"Digest realm=\"a\" nonce=\"b\"",
        b"Digest realm=\"a\", realm=\"b\"",
        b"Digest\"x\"",
        b"Basic/abc=", // a token68 with no space before it
        b"=x",
    ] {
        assert!(
            parse_challenges(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(
        parse_challenges(b"Digest\"x\"").unwrap_err(),
        "expected a space after the auth-scheme at byte 6, found '\"'"
    );
    // `realm=` alone reads as a token68, which Digest then refuses.
    assert_eq!(
        parse_challenges(b"Digest realm=").unwrap()[0].token68,
        Some(&b"realm="[..])
    );
}

#[test]
fn bounds() {
    // Both parsers take a field exactly at the size limit and refuse one byte more.
    type Parse = fn(&[u8]) -> Result<(), String>;
    let parsers: [(Parse, &[u8]); 2] = [
        (|f| parse_challenges(f).map(drop), b"Digest realm=\""),
        (|f| parse_params(f).map(drop), b"realm=\""),
    ];
    for (parse, opening) in parsers {
        let mut field = opening.to_vec();
        field.resize(MAX_FIELD_BYTES - 1, b'a');
        field.push(b'"');
        assert!(parse(&field).is_ok(), "at the limit");
        field.insert(opening.len(), b'a');
        assert!(parse(&field).unwrap_err().contains("limit"));
    }
    let many = "Basic, ".repeat(MAX_CHALLENGES + 1);
    assert!(parse_challenges(many.as_bytes()).is_err());
    let params: String = (0..=MAX_PARAMS).map(|i| format!("p{i}=v,")).collect();
    assert!(parse_challenges(format!("Digest {params}").as_bytes()).is_err());
}

#[test]
fn authentication_info_params() {
    let p = parse_params(br#"qop=auth, rspauth="abc", cnonce="c", nc=00000001, nextnonce="n2""#)
        .unwrap();
    assert_eq!(p.len(), 5);
    assert_eq!(p[4], (&b"nextnonce"[..], b"n2".to_vec()));
    assert!(parse_params(b"nextnonce=\"x").is_err());
    assert!(parse_params(b"").unwrap().is_empty());
}

#[test]
fn among_equally_strong_challenges_the_first_listed_is_answered() {
    let mut h = Headers::new();
    for realm in ["one", "two"] {
        let field = format!(r#"Digest realm="{realm}", nonce="n", qop="auth", algorithm=SHA-256"#);
        h.append("WWW-Authenticate", field).unwrap();
    }
    assert_eq!(select(&h).unwrap().unwrap().realm, b"one");
}

#[test]
fn an_unsupported_error_names_at_most_eight_offers() {
    let offers: Vec<String> = (0..10).map(|i| format!("Scheme{i}")).collect();
    let mut h = Headers::new();
    h.append("WWW-Authenticate", offers.join(", ")).unwrap();
    match select(&h) {
        Err(AuthError::Unsupported { schemes }) => assert_eq!(schemes, offers[..8].join(", ")),
        other => panic!("{other:?}"),
    }
}
