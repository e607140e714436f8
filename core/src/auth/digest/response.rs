//! Computing the answer to a Digest challenge (RFC 7616 §3.4.1–§3.4.4) and writing the
//! `Authorization` field (§3.4) with every value quoted so that nothing a user or a server
//! supplied can break out of it.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512, Sha512_256};

use super::challenge::Challenge;
use crate::auth::AuthError;

/// The hash algorithms of RFC 7616 §3.3 (and MD5 from RFC 2617), and the two names beyond
/// the RFC that requests and httpx answer too: `SHA` (SHA-1) and `SHA-512`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Algorithm {
    /// `MD5`.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA` (SHA-1; not in RFC 7616).
    Sha1,
    /// `SHA-sess` (not in RFC 7616).
    Sha1Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256` (SHA-512/256 of FIPS 180-4).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
    /// `SHA-512` (not in RFC 7616).
    Sha512,
    /// `SHA-512-sess` (not in RFC 7616).
    Sha512Sess,
}

impl Algorithm {
    const ALL: [Algorithm; 10] = [
        Algorithm::Md5,
        Algorithm::Md5Sess,
        Algorithm::Sha1,
        Algorithm::Sha1Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
        Algorithm::Sha512_256,
        Algorithm::Sha512_256Sess,
        Algorithm::Sha512,
        Algorithm::Sha512Sess,
    ];

    /// The algorithm a challenge names (compared case-insensitively), if supported.
    pub fn parse(name: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// The name as RFC 7616 §6.1 registers it (or as requests and httpx spell the others).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha1 => "SHA",
            Algorithm::Sha1Sess => "SHA-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
            Algorithm::Sha512 => "SHA-512",
            Algorithm::Sha512Sess => "SHA-512-sess",
        }
    }

    /// The rank used to choose among challenges: the hash's strength (a `-sess` variant
    /// ranks with its hash).
    pub fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha1 | Algorithm::Sha1Sess => 2,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 3,
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => 4,
            Algorithm::Sha512 | Algorithm::Sha512Sess => 5,
        }
    }

    fn is_session(self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess
                | Algorithm::Sha1Sess
                | Algorithm::Sha256Sess
                | Algorithm::Sha512_256Sess
                | Algorithm::Sha512Sess
        )
    }

    /// H(parts joined by ":"), as lowercase hex (§3.4.1: "the hexadecimal representation").
    pub fn h(self, parts: &[&[u8]]) -> String {
        fn run<D: Digest>(parts: &[&[u8]]) -> String {
            let mut d = D::new();
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    d.update(b":");
                }
                d.update(part);
            }
            hex(&d.finalize())
        }
        match self.strength() {
            1 => run::<Md5>(parts),
            2 => run::<Sha1>(parts),
            3 => run::<Sha256>(parts),
            4 => run::<Sha512_256>(parts),
            _ => run::<Sha512>(parts),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Lowercase hex of 16 entropy bytes: the client nonce a driver's CSPRNG gives.
pub(super) fn hex16(bytes: [u8; 16]) -> String {
    hex(&bytes)
}

/// The qop options a challenge offers (§3.3 `qop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct QopOptions {
    /// `auth` offered.
    pub auth: bool,
    /// `auth-int` offered.
    pub auth_int: bool,
}

impl QopOptions {
    /// Reads a comma-separated qop list; `None` when it offers neither `auth` nor `auth-int`.
    pub fn parse(list: &[u8]) -> Option<Self> {
        let mut offer = QopOptions {
            auth: false,
            auth_int: false,
        };
        for item in list.split(|&b| b == b',') {
            match item.trim_ascii() {
                b"auth" => offer.auth = true,
                b"auth-int" => offer.auth_int = true,
                _ => {}
            }
        }
        (offer.auth || offer.auth_int).then_some(offer)
    }

    /// The qop to use: `auth-int` when the caller prefers integrity (or it is the only one
    /// offered) and the body is at hand; otherwise `auth`. Fails with `BodyNotReplayable`
    /// when only `auth-int` is offered and the body is not available.
    pub fn choose(self, prefer_integrity: bool, body_available: bool) -> Result<Qop, AuthError> {
        let want_int = self.auth_int && (prefer_integrity || !self.auth);
        match (want_int && body_available, self.auth) {
            (true, _) => Ok(Qop::AuthInt),
            (false, true) => Ok(Qop::Auth),
            (false, false) => Err(AuthError::BodyNotReplayable),
        }
    }
}

/// The quality of protection used in one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Qop {
    /// `auth`: method and URI are protected.
    Auth,
    /// `auth-int`: the entity body is hashed in as well (§3.4.3).
    AuthInt,
}

impl Qop {
    fn name(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

/// Everything one answer depends on besides the password.
#[derive(Debug)]
pub(super) struct Answer<'a> {
    /// The challenge answered.
    pub challenge: &'a Challenge,
    /// `None` for the RFC 2069 form (no qop, no cnonce, no nc).
    pub qop: Option<Qop>,
    /// The request method.
    pub method: &'a str,
    /// The request-target, sent as `uri` (§3.4.6).
    pub uri: &'a str,
    /// The entity body (hashed for `auth-int` only).
    pub body: &'a [u8],
    /// The client nonce (ignored without qop).
    pub cnonce: &'a str,
    /// The nonce count (ignored without qop).
    pub nc: u32,
}

/// Refuses credentials that cannot be hashed or written safely: a username with any control
/// byte but HTAB (it is written into the field), a password with CR, LF or NUL.
pub(super) fn check_credentials(username: &str, password: &str) -> Result<(), AuthError> {
    if username
        .bytes()
        .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        let reason = "the username holds a control character";
        return Err(AuthError::InvalidCredentials(reason.into()));
    }
    if password.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        let reason = "the password holds CR, LF or NUL";
        return Err(AuthError::InvalidCredentials(reason.into()));
    }
    Ok(())
}

/// A hash over parts joined by ":", as lowercase hex: [`Algorithm::h`] outside tests.
type HashFn<'h> = &'h dyn Fn(&[&[u8]]) -> String;

/// The `response` value: KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2)) (§3.4.1), or
/// H(H(A1) ":" nonce ":" H(A2)) in the RFC 2069 form.
fn response(h: HashFn<'_>, username: &str, password: &str, answer: &Answer<'_>) -> String {
    let c = answer.challenge;
    let mut ha1 = h(&[username.as_bytes(), &c.realm, password.as_bytes()]);
    if c.algorithm.is_session() {
        // §3.4.2: A1 = H(user ":" realm ":" passwd) ":" nonce ":" cnonce.
        ha1 = h(&[ha1.as_bytes(), &c.nonce, answer.cnonce.as_bytes()]);
    }
    let method = answer.method.as_bytes();
    let uri = answer.uri.as_bytes();
    let ha2 = match answer.qop {
        // §3.4.3: A2 = Method ":" request-uri ":" H(entity-body).
        Some(Qop::AuthInt) => h(&[method, uri, h(&[answer.body]).as_bytes()]),
        _ => h(&[method, uri]),
    };
    match answer.qop {
        None => h(&[ha1.as_bytes(), &c.nonce, ha2.as_bytes()]),
        Some(qop) => h(&[
            ha1.as_bytes(),
            &c.nonce,
            format!("{:08x}", answer.nc).as_bytes(),
            answer.cnonce.as_bytes(),
            qop.name().as_bytes(),
            ha2.as_bytes(),
        ]),
    }
}

/// Appends `"value"` with `"` and `\` escaped (RFC 9110 §5.6.4). Callers guarantee that
/// `value` holds no CR, LF or other control byte but HTAB (the parser refuses them in what a
/// server sends, [`check_credentials`] in what the user gives).
fn quoted_value(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'"');
    for &b in value {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn quoted(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(format!(", {name}=").as_bytes());
    quoted_value(out, value);
}

fn token(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(format!(", {name}={value}").as_bytes());
}

/// RFC 8187 §3.2.1 ext-value `UTF-8''` with every byte outside attr-char percent-encoded.
fn ext_value(value: &str) -> String {
    let mut out = String::from("UTF-8''");
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The whole `Authorization` field value for one answer (§3.4).
///
/// The username goes out as H(username ":" realm) with `userhash=true` when the challenge
/// asked for it (§3.4.4); as `username*` in RFC 8187 form when it is not ASCII (§3.4.4);
/// otherwise quoted. Fails with `InvalidCredentials` for credentials [`check_credentials`]
/// refuses, and when the cnonce holds anything but visible ASCII.
pub(super) fn authorization(
    username: &str,
    password: &str,
    answer: &Answer<'_>,
) -> Result<Vec<u8>, AuthError> {
    let algorithm = answer.challenge.algorithm;
    authorization_with(&|parts| algorithm.h(parts), username, password, answer)
}

/// [`authorization`] with the hash given.
fn authorization_with(
    h: HashFn<'_>,
    username: &str,
    password: &str,
    answer: &Answer<'_>,
) -> Result<Vec<u8>, AuthError> {
    check_credentials(username, password)?;
    let cnonce_ok =
        !answer.cnonce.is_empty() && answer.cnonce.bytes().all(|b| b.is_ascii_graphic());
    if answer.qop.is_some() && !cnonce_ok {
        let reason = "the client nonce source gave an empty value or one with spaces or controls";
        return Err(AuthError::InvalidCredentials(reason.into()));
    }
    let c = answer.challenge;
    let mut out = b"Digest ".to_vec();
    if c.userhash {
        let hashed = h(&[username.as_bytes(), &c.realm]);
        out.extend_from_slice(format!("username=\"{hashed}\"").as_bytes());
    } else if username.is_ascii() {
        out.extend_from_slice(b"username=");
        quoted_value(&mut out, username.as_bytes());
    } else {
        out.extend_from_slice(format!("username*={}", ext_value(username)).as_bytes());
    }
    quoted(&mut out, "realm", &c.realm);
    quoted(&mut out, "uri", answer.uri.as_bytes());
    token(&mut out, "algorithm", c.algorithm.name());
    quoted(&mut out, "nonce", &c.nonce);
    if let Some(qop) = answer.qop {
        token(&mut out, "nc", &format!("{:08x}", answer.nc));
        quoted(&mut out, "cnonce", answer.cnonce.as_bytes());
        token(&mut out, "qop", qop.name());
    }
    quoted(
        &mut out,
        "response",
        response(h, username, password, answer).as_bytes(),
    );
    if let Some(opaque) = &c.opaque {
        quoted(&mut out, "opaque", opaque);
    }
    if c.userhash {
        token(&mut out, "userhash", "true");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_challenge(realm: &str, nonce: &str, opaque: &str, algorithm: Algorithm) -> Challenge {
        Challenge {
            realm: realm.into(),
            nonce: nonce.into(),
            opaque: Some(opaque.into()),
            algorithm,
            qop: Some(QopOptions {
                auth: true,
                auth_int: true,
            }),
            stale: false,
            userhash: false,
        }
    }

    fn answer<'a>(challenge: &'a Challenge, uri: &'a str, cnonce: &'a str) -> Answer<'a> {
        Answer {
            challenge,
            qop: Some(Qop::Auth),
            method: "GET",
            uri,
            body: b"",
            cnonce,
            nc: 1,
        }
    }

    /// RFC 7616 §3.9.1: Mufasa, with MD5 and with SHA-256.
    #[test]
    fn rfc_7616_example_3_9_1() {
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
        let opaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        let md5 = rfc_challenge("http-auth@example.org", nonce, opaque, Algorithm::Md5);
        let a = answer(&md5, "/dir/index.html", cnonce);
        assert_eq!(
            response(&|p| Algorithm::Md5.h(p), "Mufasa", "Circle of Life", &a),
            "8ca523f5e9506fed4657c9700eebdbec"
        );

        let sha = rfc_challenge("http-auth@example.org", nonce, opaque, Algorithm::Sha256);
        let a = answer(&sha, "/dir/index.html", cnonce);
        let header = authorization("Mufasa", "Circle of Life", &a).unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", \
             algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
             nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
             response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
    }

    /// RFC 7616 §3.9.2: SHA-512-256 with userhash and a non-ASCII username.
    ///
    /// The RFC's hex values were computed with SHA-512 cut to its first 256 bits, not with
    /// SHA-512/256 (FIPS 180-4 §6.7: its own initial hash value) that §3.2 names. With that
    /// hash this construction reproduces the RFC's field byte for byte; with SHA-512/256 it
    /// gives the values other independent implementations get for these inputs.
    #[test]
    fn rfc_7616_example_3_9_2() {
        let mut c = rfc_challenge(
            "api@example.org",
            "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
            "HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS",
            Algorithm::Sha512_256,
        );
        c.userhash = true;
        let a = answer(
            &c,
            "/doe.json",
            "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
        );
        let (user, pass) = ("J\u{e4}s\u{f8}n Doe", "Secret, or not?");
        let truncated_sha512 = |parts: &[&[u8]]| {
            let mut d = sha2::Sha512::new();
            d.update(parts.join(&b":"[..]));
            hex(&d.finalize()[..32])
        };
        let header = authorization_with(&truncated_sha512, user, pass, &a).unwrap();
        assert_eq!(
            String::from_utf8(header).unwrap(),
            "Digest username=\"488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec\", \
             realm=\"api@example.org\", uri=\"/doe.json\", algorithm=SHA-512-256, \
             nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\", nc=00000001, \
             cnonce=\"NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v\", qop=auth, \
             response=\"ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd\", \
             opaque=\"HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS\", userhash=true"
        );

        let header = String::from_utf8(authorization(user, pass, &a).unwrap()).unwrap();
        let fips = "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b";
        assert!(header.starts_with(&format!("Digest username=\"{fips}\", realm=")));
        let fips = "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5";
        assert!(header.contains(&format!(", response=\"{fips}\", ")));
    }

    #[test]
    fn algorithm_names_and_hashes() {
        for a in Algorithm::ALL {
            assert_eq!(
                Algorithm::parse(a.name().to_ascii_lowercase().as_bytes()),
                Some(a)
            );
        }
        for unknown in [&b"SHA-384"[..], b"SHA512", b"SHA-512-sess-256", b""] {
            assert_eq!(Algorithm::parse(unknown), None);
        }
        assert_eq!(
            Algorithm::Sha1.h(&[b"abc"]),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            Algorithm::Sha512Sess.h(&[b"abc"]),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(Algorithm::Md5.h(&[b""]), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            Algorithm::Sha512_256.h(&[b"abc"]),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
        );
        assert_eq!(hex16([0xab; 16]), "ab".repeat(16));
    }

    #[test]
    fn qop_choice() {
        let both = QopOptions::parse(b" auth-int , auth ").unwrap();
        assert_eq!(both.choose(false, true), Ok(Qop::Auth));
        assert_eq!(both.choose(true, true), Ok(Qop::AuthInt));
        assert_eq!(both.choose(true, false), Ok(Qop::Auth));
        let int = QopOptions::parse(b"auth-int").unwrap();
        assert_eq!(int.choose(false, true), Ok(Qop::AuthInt));
        assert_eq!(int.choose(false, false), Err(AuthError::BodyNotReplayable));
        assert_eq!(QopOptions::parse(b"auth-conf, x"), None);
    }

    #[test]
    fn values_are_escaped_and_credentials_checked() {
        let mut c = rfc_challenge("a \"quoted\" \\ realm", "n", "o", Algorithm::Md5);
        c.opaque = None;
        let a = answer(&c, "/", "c");
        let header = String::from_utf8(authorization("us\"er\\", "p", &a).unwrap()).unwrap();
        assert!(header.starts_with(r#"Digest username="us\"er\\", realm="a \"quoted\" \\ realm""#));
        for (user, pass) in [
            ("a\rb", "p"),
            ("a\nb", "p"),
            ("a\0b", "p"),
            ("a\x01", "p"),
            ("u", "x\ny"),
        ] {
            let err = authorization(user, pass, &a).unwrap_err();
            assert!(
                matches!(err, AuthError::InvalidCredentials(_)),
                "{user:?} {pass:?}"
            );
        }
        assert!(authorization("u", "tab\tand \"quotes\" are fine", &a).is_ok());
        let bad_cnonce = Answer {
            cnonce: "has space",
            ..answer(&c, "/", "")
        };
        assert!(matches!(
            authorization("u", "p", &bad_cnonce),
            Err(AuthError::InvalidCredentials(_))
        ));
    }

    #[test]
    fn username_star_for_non_ascii() {
        let c = rfc_challenge("r", "n", "o", Algorithm::Sha256);
        let header = authorization("J\u{e4}s\u{f8}n Doe", "p", &answer(&c, "/", "c")).unwrap();
        let header = String::from_utf8(header).unwrap();
        assert!(header.starts_with("Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"r\""));
        assert!(!header.contains("username=") && !header.contains("userhash"));
    }
}
