//! Tests for `.netrc` parsing, lookup and the Basic flow.

use super::*;
use crate::Headers;
use crate::auth::{AuthResponse, AuthStep};
use base64::Engine as _;

fn parse(text: &str) -> Netrc {
    Netrc::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> (usize, String) {
    let e = Netrc::parse(text).unwrap_err();
    (e.line, e.reason)
}

/// Runs the flow `NetrcAuth` gives for `url`; `None` when it has no credentials there.
fn authorize(auth: &NetrcAuth, url: &str) -> Option<Result<String, AuthError>> {
    let url = Url::parse(url).unwrap();
    let mut flow = auth.flow(&url)?;
    let mut headers = Headers::new();
    headers.append("Authorization", "Bearer stale").unwrap();
    let mut request = AuthRequest {
        method: &http::Method::GET,
        url: &url,
        headers: &mut headers,
        body: None,
    };
    Some(
        flow.authorize(&mut request)
            .map(|()| request.headers.get_str("Authorization").unwrap().to_owned()),
    )
}

#[test]
fn machines_and_default() {
    let netrc = parse(
        "machine one.example login alice password a1\n\
         machine two.example\n\tlogin bob\n\tpassword b2 account ignored\n\
         default login anon password guest\n",
    );
    assert_eq!(netrc.credentials("one.example"), Some(("alice", "a1")));
    assert_eq!(netrc.credentials("two.example"), Some(("bob", "b2")));
    assert_eq!(netrc.credentials("three.example"), Some(("anon", "guest")));
}

#[test]
fn no_match_without_default() {
    let netrc = parse("machine one.example login alice password a1");
    assert_eq!(netrc.credentials("one.example.org"), None);
    assert_eq!(netrc.credentials("example"), None);
    assert_eq!(parse("").credentials("one.example"), None);
    assert_eq!(
        parse("  \n# only a comment\n").credentials("one.example"),
        None
    );
}

#[test]
fn hosts_match_case_insensitively_and_exactly() {
    let netrc = parse("machine Example.COM login u password p\nmachine ::1 login six password v6");
    assert_eq!(netrc.credentials("example.com"), Some(("u", "p")));
    assert_eq!(netrc.credentials("EXAMPLE.com"), Some(("u", "p")));
    assert_eq!(netrc.credentials("www.example.com"), None);
    assert_eq!(netrc.credentials("[::1]"), Some(("six", "v6")));
}

#[test]
fn first_entry_wins_and_default_applies_only_without_a_machine() {
    let netrc = parse(
        "machine h login first password 1\n\
         default login d1 password x\n\
         machine h login second password 2\n\
         machine late login l password 3\n\
         default login d2 password y\n",
    );
    assert_eq!(netrc.credentials("h"), Some(("first", "1")));
    assert_eq!(netrc.credentials("late"), Some(("l", "3")));
    assert_eq!(netrc.credentials("other"), Some(("d1", "x")));
    // Ignored duplicates are not kept at all.
    assert_eq!(
        parse("machine h login a\nmachine H login b\ndefault login d\ndefault login e"),
        parse("machine h login a\ndefault login d")
    );
}

#[test]
fn missing_fields_are_empty_never_mixed() {
    let netrc = parse(
        "machine nopass login alice\n\
         machine nologin password token\n\
         machine empty\n\
         default login d password dp\n",
    );
    assert_eq!(netrc.credentials("nopass"), Some(("alice", "")));
    assert_eq!(netrc.credentials("nologin"), Some(("", "token")));
    // A matching entry is never completed from `default`.
    assert_eq!(netrc.credentials("empty"), None);
    let netrc = parse("machine h login a password 1 login b password 2");
    assert_eq!(netrc.credentials("h"), Some(("b", "2")));
}

#[test]
fn macdef_bodies_are_skipped() {
    let netrc = parse(
        "machine a login x password y\n\
         macdef init\n\
         machine evil login no password no\n\
         cd /pub\n\
         \n\
         machine b login u password v\n\
         macdef last\n\
         password at-eof-in-macro",
    );
    assert_eq!(netrc.credentials("a"), Some(("x", "y")));
    assert_eq!(netrc.credentials("evil"), None);
    assert_eq!(netrc.credentials("b"), Some(("u", "v")));
    // A blank line (spaces only) also ends the body.
    let netrc = parse("macdef m\nbody\n  \t\nmachine c login l password p\n");
    assert_eq!(netrc.credentials("c"), Some(("l", "p")));
}

#[test]
fn comments_run_to_the_end_of_the_line() {
    let netrc = parse(
        "# leading comment machine x login x password x\n\
         machine h # trailing comment login wrong\n\
         login user #another\n\
         password #secret\n\
         #machine commented login c password c\n",
    );
    assert_eq!(netrc.credentials("h"), Some(("user", "#secret")));
    assert_eq!(netrc.credentials("commented"), None);
    assert_eq!(netrc.credentials("x"), None);
    let netrc = parse("machine h login u password pa#ss");
    assert_eq!(netrc.credentials("h"), Some(("u", "pa#ss")));
}

#[test]
fn quoted_tokens_and_escapes() {
    let netrc = parse(
        "machine h login \"john doe\" password \"p a\\\"s\\\\s\\tw\\nd\\x\"\n\
         machine \"#q\" login \"\" password \"\"\n",
    );
    assert_eq!(
        netrc.credentials("h"),
        Some(("john doe", "p a\"s\\s\tw\ndx"))
    );
    assert_eq!(netrc.credentials("#q"), Some(("", "")));
    // Keywords are case-insensitive (as curl).
    let netrc = parse("MACHINE h LOGIN u Password p");
    assert_eq!(netrc.credentials("h"), Some(("u", "p")));
}

#[test]
fn utf8_credentials_and_crlf_lines() {
    let netrc = parse("machine h\r\n login jürgen\r\n password pässwörd☃\r\n");
    assert_eq!(netrc.credentials("h"), Some(("jürgen", "pässwörd☃")));
    let auth = NetrcAuth::new(netrc);
    assert_eq!(
        authorize(&auth, "http://h/").unwrap().unwrap(),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("jürgen:pässwörd☃")
        )
    );
}

#[test]
fn malformed_files_name_their_line() {
    let value = |k: &str| format!("`{k}` without a value at the end of the file");
    assert_eq!(error("machine h login u\npassword"), (2, value("password")));
    assert_eq!(error("\n\nmachine"), (3, value("machine")));
    assert_eq!(error("machine h\nlogin"), (2, value("login")));
    assert_eq!(error("machine h\naccount"), (2, value("account")));
    assert_eq!(
        error("machine h login u\n\n  passwd p"),
        (3, "unknown keyword `passwd`".to_owned())
    );
    assert_eq!(
        error("\nlogin u password p\nmachine h"),
        (2, "`login` before any `machine` or `default`".to_owned())
    );
    assert_eq!(
        error("password p"),
        (1, "`password` before any `machine` or `default`".to_owned())
    );
    // macdef ends the entry before it.
    assert_eq!(
        error("machine h\nmacdef m\nbody\n\nlogin u"),
        (5, "`login` before any `machine` or `default`".to_owned())
    );
    assert_eq!(
        error("machine h\nmacdef\nbody"),
        (2, "`macdef` without a macro name".to_owned())
    );
    assert_eq!(
        error("machine h login u\npassword \"abc\nmachine x"),
        (2, "unterminated quoted token".to_owned())
    );
    assert_eq!(
        error("machine h password \"abc\\"),
        (1, "unterminated quoted token".to_owned())
    );
    let e = Netrc::parse("machine h\nfoo").unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed netrc, line 2: unknown keyword `foo`"
    );
}

#[test]
fn basic_header_for_the_host_of_each_hop() {
    let auth = NetrcAuth::new(parse(
        "machine example.com login user password pass\nmachine other.example login o",
    ));
    assert!(auth.per_host());
    assert_eq!(
        authorize(&auth, "https://example.com/a").unwrap().unwrap(),
        "Basic dXNlcjpwYXNz"
    );
    // The URL's userinfo never decides; the port does not matter.
    assert_eq!(
        authorize(&auth, "http://someone:else@EXAMPLE.com:8080/")
            .unwrap()
            .unwrap(),
        "Basic dXNlcjpwYXNz"
    );
    assert!(authorize(&auth, "https://example.org/").is_none());
    assert!(authorize(&auth, "https://other.example/").is_some());
    assert!(authorize(&auth, "data:text/plain,hi").is_none());
}

#[test]
fn unsendable_credentials_are_an_error() {
    let auth = NetrcAuth::new(parse(
        "machine h login a:b password p\nmachine c login u password \"a\\nb\"",
    ));
    // The reasons are Basic's own (RFC 7617 §2).
    assert!(matches!(
        authorize(&auth, "http://h/"),
        Some(Err(AuthError::InvalidCredentials(why))) if why.contains("':'")
    ));
    assert!(matches!(
        authorize(&auth, "http://c/"),
        Some(Err(AuthError::InvalidCredentials(why))) if why.contains("control character")
    ));
    // The refusing flow prints as what it is, and shows neither the login nor the password.
    let flow = auth.flow(&Url::parse("http://h/").unwrap()).unwrap();
    assert_eq!(format!("{flow:?}"), "Unsendable { .. }");
}

#[test]
fn responses_are_final_and_debug_hides_passwords() {
    let auth = NetrcAuth::new(parse("machine h login user password hunter2"));
    let url = Url::parse("http://h/").unwrap();
    let mut flow = auth.flow(&url).unwrap();
    assert!(!flow.needs_request_body());
    let mut headers = Headers::new();
    let response_headers = Headers::new();
    let mut request = AuthRequest {
        method: &http::Method::GET,
        url: &url,
        headers: &mut headers,
        body: None,
    };
    let response = AuthResponse {
        status: http::StatusCode::UNAUTHORIZED,
        headers: &response_headers,
        body: None,
    };
    assert_eq!(flow.respond(&mut request, &response), Ok(AuthStep::Done));
    let debug = format!("{auth:?} {flow:?}");
    assert!(debug.contains("user") && debug.ends_with(" HeaderFlow(..)"));
    assert!(!debug.contains("hunter2") && !debug.contains("aHVudGVyMg"));
}
