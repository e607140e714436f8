//! Tests for OAuth 1.0a signing, with the RFC 5849 examples.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use hmac::{Hmac, Mac};

use super::*;
use crate::Headers;
use crate::auth::{AuthResponse, AuthStep};

/// The client of RFC 5849 §1.2 (printer.example.com at photos.example.net).
fn photos() -> OAuth1 {
    OAuth1::new(
        "dpf43f3p2l4k3l03",
        "kd94hf93k423kf44",
        || 137131202,
        || "chapoH".to_owned(),
    )
    .token("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")
    .include_version(false)
}

/// Runs a flow over a request and returns its `Authorization` value.
fn sign(
    auth: &OAuth1,
    method: http::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<String, AuthError> {
    let url = Url::parse(url).unwrap();
    let mut h = Headers::new();
    for (name, value) in headers {
        h.append(name, value).unwrap();
    }
    let mut flow = auth.flow(&url).unwrap();
    assert!(flow.needs_request_body());
    let mut request = AuthRequest {
        method: &method,
        url: &url,
        headers: &mut h,
        body,
    };
    flow.authorize(&mut request)?;
    assert_eq!(request.headers.get_all("Authorization").count(), 1);
    Ok(request.headers.get_str("authorization").unwrap().to_owned())
}

/// The base string the flow would sign, for the given protocol parameters.
fn base(auth: &OAuth1, method: http::Method, url: &str, body: Option<&[u8]>) -> String {
    let params = auth.protocol_params((auth.clock)(), &(auth.nonce)());
    base_string(&method, &Url::parse(url).unwrap(), &params, body)
}

const PHOTOS_BASE: &str = "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26\
    oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3D\
    HMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal";

#[test]
fn rfc5849_3_4_1_1_base_string() {
    let auth = OAuth1::new(
        "9djdj82h48djs9d2",
        "unused",
        || 137131201,
        || "7d8f3e4a".to_owned(),
    )
    .token("kkk9d7dh3k39sjv7", "unused")
    .include_version(false);
    let url = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b";
    assert_eq!(
        base(&auth, http::Method::POST, url, Some(b"c2&a3=2+q")),
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D\
         %25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D\
         7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26\
         oauth_token%3Dkkk9d7dh3k39sjv7"
    );
}

#[test]
fn rfc5849_1_2_signature_and_header() {
    let auth = photos().realm("Photos");
    let url = "http://photos.example.net/photos?file=vacation.jpg&size=original";
    assert_eq!(base(&auth, http::Method::GET, url, None), PHOTOS_BASE);
    assert_eq!(
        sign(&auth, http::Method::GET, url, &[], None).unwrap(),
        "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", \
         oauth_token=\"nnch734d00sl2jdk\", oauth_signature_method=\"HMAC-SHA1\", \
         oauth_timestamp=\"137131202\", oauth_nonce=\"chapoH\", \
         oauth_signature=\"MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D\""
    );
}

#[test]
fn rfc5849_3_4_1_2_base_string_uri() {
    let uri = |s: &str| base_uri(&Url::parse(s).unwrap());
    assert_eq!(
        uri("HTTP://EXAMPLE.COM:80/r%20v/X?id=123"),
        "http://example.com/r%20v/X"
    );
    assert_eq!(
        uri("https://www.example.net:8080/?q=1"),
        "https://www.example.net:8080/"
    );
    assert_eq!(
        uri("https://user:pw@example.net:443#frag"),
        "https://example.net/"
    );
    assert_eq!(uri("http://[::1]:8080/a"), "http://[::1]:8080/a");
}

#[test]
fn hmac_sha256_matches_an_independent_computation() {
    let auth = photos().signature_method(SignatureMethod::HmacSha256);
    let url = "http://photos.example.net/photos?file=vacation.jpg&size=original";
    let expected_base = PHOTOS_BASE.replace("HMAC-SHA1", "HMAC-SHA256");
    assert_eq!(base(&auth, http::Method::GET, url, None), expected_base);

    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(b"kd94hf93k423kf44&pfkkdhi9sl3r4s00").unwrap();
    mac.update(expected_base.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    // The same value from Python's hmac module.
    assert_eq!(expected, "HtMwoX2zenlFjgGg/SNEoKEQmL7CzxYFEKzs7er044Y=");
    let header = sign(&auth, http::Method::GET, url, &[], None).unwrap();
    assert!(header.contains("oauth_signature_method=\"HMAC-SHA256\""));
    assert!(header.ends_with(&format!(
        "oauth_signature=\"{}\"",
        encode(expected.as_bytes())
    )));
}

#[test]
fn plaintext_signature_is_the_key() {
    let url = "https://photos.example.net/initiate";
    let auth = photos().signature_method(SignatureMethod::Plaintext);
    let header = sign(&auth, http::Method::POST, url, &[], None).unwrap();
    assert!(header.contains("oauth_signature_method=\"PLAINTEXT\""));
    assert!(header.ends_with("oauth_signature=\"kd94hf93k423kf44%26pfkkdhi9sl3r4s00\""));

    // Without token credentials the token secret is empty but the `&` stays (§3.4.4).
    let auth = OAuth1::new("key", "s&cret", || 1, || "n".to_owned())
        .signature_method(SignatureMethod::Plaintext);
    let header = sign(&auth, http::Method::POST, url, &[], None).unwrap();
    assert!(!header.contains("oauth_token"));
    assert!(header.ends_with("oauth_signature=\"s%2526cret%26\""));
}

#[test]
fn percent_encoding_follows_section_3_6() {
    assert_eq!(encode(b"a b"), "a%20b");
    assert_eq!(encode(b"AZaz09-._~"), "AZaz09-._~");
    assert_eq!(encode(b"*+/=&%!'()"), "%2A%2B%2F%3D%26%25%21%27%28%29");
    assert_eq!(encode("é☃".as_bytes()), "%C3%A9%E2%98%83");
    assert_eq!(encode(&[0x00, 0xff]), "%00%FF");
}

#[test]
fn parameters_are_decoded_then_re_encoded() {
    let pairs: Vec<_> = parse_form(b"a+b=c%20d&&e&%zz=%4&f=%e2%98%83").collect();
    assert_eq!(
        pairs,
        [
            (b"a b".to_vec(), b"c d".to_vec()),
            (b"e".to_vec(), b"".to_vec()),
            (b"%zz".to_vec(), b"%4".to_vec()),
            (b"f".to_vec(), "☃".as_bytes().to_vec()),
        ]
    );
    let auth = OAuth1::new("k", "s", || 1, || "n".to_owned()).include_version(false);
    let got = base(
        &auth,
        http::Method::GET,
        "http://h/p?q=x+y~z&u=%C3%A9",
        None,
    );
    assert!(got.ends_with("%26q%3Dx%2520y~z%26u%3D%25C3%25A9"), "{got}");
}

#[test]
fn parameters_sort_by_name_then_value() {
    let auth = OAuth1::new("k", "s", || 1, || "n".to_owned()).include_version(false);
    let got = base(&auth, http::Method::GET, "http://h/?b=2&a=z&a=y&A=1", None);
    assert!(
        got.starts_with("GET&http%3A%2F%2Fh%2F&A%3D1%26a%3Dy%26a%3Dz%26b%3D2%26oauth_"),
        "{got}"
    );
}

#[test]
fn form_body_parameters_are_signed() {
    let auth = photos();
    let url = "http://photos.example.net/photos";
    let form = sign(
        &auth,
        http::Method::POST,
        url,
        &[(
            "Content-Type",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        )],
        Some(b"file=vacation.jpg&size=original"),
    )
    .unwrap();
    // The same parameters in the query give the same base string, so the same signature.
    let query = sign(
        &auth,
        http::Method::POST,
        "http://photos.example.net/photos?file=vacation.jpg&size=original",
        &[],
        None,
    )
    .unwrap();
    assert_eq!(form, query);
    assert_ne!(
        form,
        sign(&auth, http::Method::POST, url, &[], None).unwrap()
    );
}

#[test]
fn non_form_bodies_are_not_signed() {
    let auth = photos();
    let url = "http://photos.example.net/photos";
    let bare = sign(&auth, http::Method::POST, url, &[], None).unwrap();
    for content_type in [
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let got = sign(
            &auth,
            http::Method::POST,
            url,
            &[("Content-Type", content_type)],
            Some(b"file=vacation.jpg"),
        )
        .unwrap();
        assert_eq!(got, bare, "{content_type}");
    }
    // No Content-Type and a body: not a form either.
    let got = sign(&auth, http::Method::POST, url, &[], Some(b"a=1")).unwrap();
    assert_eq!(got, bare);
}

#[test]
fn form_body_that_is_not_available_is_an_error() {
    let err = sign(
        &photos(),
        http::Method::POST,
        "http://photos.example.net/photos",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        None,
    );
    assert_eq!(err, Err(AuthError::BodyNotReplayable));
}

#[test]
fn callback_verifier_version_and_realm() {
    let auth = OAuth1::new("key", "secret", || 7, || "a b".to_owned())
        .callback("http://printer.example.com/ready")
        .verifier("hfdp7dh39dks9884")
        .realm("Say \"hi\" \\o/");
    let url = "https://photos.example.net/initiate";
    let header = sign(&auth, http::Method::POST, url, &[], None).unwrap();
    assert!(
        header.starts_with("OAuth realm=\"Say \\\"hi\\\" \\\\o/\", oauth_consumer_key=\"key\"")
    );
    assert!(header.contains(", oauth_nonce=\"a%20b\", oauth_version=\"1.0\", "));
    assert!(header.contains(", oauth_callback=\"http%3A%2F%2Fprinter.example.com%2Fready\", "));
    assert!(header.contains(", oauth_verifier=\"hfdp7dh39dks9884\", oauth_signature=\""));
    let base = base(&auth, http::Method::POST, url, None);
    assert!(base.contains("oauth_callback%3Dhttp%253A%252F%252Fprinter.example.com%252Fready"));
    assert!(base.contains("oauth_verifier%3Dhfdp7dh39dks9884%26oauth_version%3D1.0"));
    assert!(!base.contains("realm"));
}

#[test]
fn every_request_gets_a_fresh_timestamp_and_nonce_and_responses_are_final() {
    let counter = Arc::new(AtomicU64::new(100));
    let clock = Arc::clone(&counter);
    let auth = OAuth1::new(
        "k",
        "s",
        move || clock.fetch_add(1, Ordering::SeqCst),
        || "n".to_owned(),
    );
    let url = "http://h/";
    let first = sign(&auth, http::Method::GET, url, &[], None).unwrap();
    let second = sign(&auth, http::Method::GET, url, &[], None).unwrap();
    assert!(first.contains("oauth_timestamp=\"100\""));
    assert!(second.contains("oauth_timestamp=\"101\""));

    // Credentials for one origin: not offered to another host after a redirect. Form bodies
    // are signed, so the driver must keep the body.
    assert!(!auth.per_host());
    assert!(auth.needs_request_body());
    let url = Url::parse(url).unwrap();
    let mut flow = auth.flow(&url).unwrap();
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
}

#[test]
fn an_existing_authorization_is_replaced_and_secrets_stay_out_of_debug() {
    let auth = photos();
    let header = sign(
        &auth,
        http::Method::GET,
        "http://h/",
        &[
            ("Authorization", "Basic old"),
            ("authorization", "Basic older"),
        ],
        None,
    );
    assert!(header.unwrap().starts_with("OAuth "));
    let debug = format!(
        "{auth:?} {:?}",
        auth.flow(&Url::parse("http://h/").unwrap())
    );
    assert!(debug.contains("dpf43f3p2l4k3l03"));
    assert!(!debug.contains("kd94hf93k423kf44") && !debug.contains("pfkkdhi9sl3r4s00"));
}
