//! Reading challenges: the generic grammar of RFC 9110 §11, then the Digest challenge of
//! RFC 7616 §3.3 on top of it.
//!
//! ```text
//! WWW-Authenticate = #challenge                                  RFC 9110 §11.6.1
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]   §11.3
//! auth-param       = token BWS "=" BWS ( token / quoted-string )      §11.2
//! token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! Commas separate both challenges and the parameters of one challenge, so after a comma the
//! parser looks ahead: `token BWS "="` continues the current challenge, anything else starts
//! the next one. Everything a server sends is bounded ([`MAX_FIELD_BYTES`], [`MAX_FIELDS`],
//! [`MAX_CHALLENGES`], [`MAX_PARAMS`]) and every malformed input is an error value, never a
//! panic.

use super::response::{Algorithm, QopOptions};
use crate::auth::AuthError;
use crate::headers::Headers;

/// The longest `WWW-Authenticate` field read; longer fields are rejected as malformed.
pub(super) const MAX_FIELD_BYTES: usize = 16 * 1024;
/// How many `WWW-Authenticate` fields of one response are read; later ones are ignored.
pub(super) const MAX_FIELDS: usize = 16;
/// How many challenges one field may hold.
pub(super) const MAX_CHALLENGES: usize = 32;
/// How many parameters one challenge (or one `Authentication-Info`) may hold.
pub(super) const MAX_PARAMS: usize = 32;

const HEADER: &str = "WWW-Authenticate";

/// One auth-param: its name as sent and its value unquoted.
pub(super) type Param<'a> = (&'a [u8], Vec<u8>);

/// One challenge as RFC 9110 §11.3 writes it, before any scheme looks at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawChallenge<'a> {
    /// The auth-scheme, as sent (compare case-insensitively, RFC 9110 §11.1).
    pub scheme: &'a [u8],
    /// The token68 form, when the challenge used it.
    pub token68: Option<&'a [u8]>,
    /// The auth-params: names as sent, values unquoted.
    pub params: Vec<Param<'a>>,
}

/// A byte cursor over one field value.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Skips optional whitespace (RFC 9110 §5.6.3); returns how much was skipped.
    fn skip_ows(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Skips whitespace and empty list elements (RFC 9110 §5.6.1 lets recipients ignore them).
    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.pos += 1;
        }
        &self.bytes[start..self.pos]
    }

    fn token(&mut self, what: &str) -> Result<&'a [u8], String> {
        match self.take_while(is_tchar) {
            [] => Err(self.unexpected(what)),
            token => Ok(token),
        }
    }

    fn unexpected(&self, what: &str) -> String {
        match self.peek() {
            Some(b) => format!(
                "expected {what} at byte {}, found {:?}",
                self.pos, b as char
            ),
            None => format!("expected {what} at byte {}, found the end", self.pos),
        }
    }

    /// `"` *( qdtext / quoted-pair ) `"` (RFC 9110 §5.6.4), unescaped. Control bytes other
    /// than HTAB are refused, so an unquoted value can never carry CR, LF or NUL.
    fn quoted_string(&mut self) -> Result<Vec<u8>, String> {
        let open = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(format!("unterminated quoted-string opened at byte {open}"));
            };
            self.pos += 1;
            let b = match b {
                b'"' => return Ok(out),
                b'\\' => match self.peek() {
                    Some(escaped) => {
                        self.pos += 1;
                        escaped
                    }
                    None => {
                        return Err(format!("unterminated quoted-string opened at byte {open}"));
                    }
                },
                b => b,
            };
            if (b < 0x20 && b != b'\t') || b == 0x7f {
                return Err(format!("control byte 0x{b:02x} in a quoted-string"));
            }
            out.push(b);
        }
    }

    /// A parameter value: a quoted-string, or (leniently, as servers send nonces unquoted)
    /// a run of visible ASCII other than `,`, `"` and `\`.
    fn value(&mut self) -> Result<Vec<u8>, String> {
        if self.peek() == Some(b'"') {
            return self.quoted_string();
        }
        match self.take_while(|b| b.is_ascii_graphic() && !b",\"\\".contains(&b)) {
            [] => Err(self.unexpected("a token or quoted-string")),
            value => Ok(value.to_vec()),
        }
    }

    /// Whether `token BWS "="` follows, i.e. an auth-param rather than a new challenge.
    fn at_param(&self) -> bool {
        let mut probe = Cursor {
            bytes: self.bytes,
            pos: self.pos,
        };
        if probe.take_while(is_tchar).is_empty() {
            return false;
        }
        probe.skip_ows();
        probe.peek() == Some(b'=')
    }

    /// A token68 that fills the rest of the challenge (up to a comma or the end).
    fn token68(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        if self.take_while(is_token68_char).is_empty() {
            return None;
        }
        self.take_while(|b| b == b'=');
        let end = self.pos;
        self.skip_ows();
        if self.at_end() || self.peek() == Some(b',') {
            Some(&self.bytes[start..end])
        } else {
            self.pos = start;
            None
        }
    }

    /// `#auth-param` up to the end or to the start of the next challenge.
    fn params(&mut self, out: &mut Vec<Param<'a>>) -> Result<(), String> {
        loop {
            let name = self.token("a parameter name")?;
            self.skip_ows();
            if self.peek() != Some(b'=') {
                return Err(self.unexpected("'='"));
            }
            self.pos += 1;
            self.skip_ows();
            let value = self.value()?;
            if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                // RFC 9110 §11.2: each parameter name MUST only occur once per challenge.
                return Err(format!(
                    "parameter {:?} repeated",
                    String::from_utf8_lossy(name)
                ));
            }
            if out.len() == MAX_PARAMS {
                return Err(format!("more than {MAX_PARAMS} parameters"));
            }
            out.push((name, value));
            self.skip_ows();
            if self.at_end() {
                return Ok(());
            }
            if self.peek() != Some(b',') {
                return Err(self.unexpected("',' or the end"));
            }
            self.skip_separators();
            if self.at_end() || !self.at_param() {
                return Ok(());
            }
        }
    }
}

/// Parses one `WWW-Authenticate` field value into its challenges (RFC 9110 §11.6.1).
pub(super) fn parse_challenges(field: &[u8]) -> Result<Vec<RawChallenge<'_>>, String> {
    if field.len() > MAX_FIELD_BYTES {
        return Err(format!(
            "field is {} bytes, over the {MAX_FIELD_BYTES}-byte limit",
            field.len()
        ));
    }
    let mut cursor = Cursor {
        bytes: field,
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        cursor.skip_separators();
        if cursor.at_end() {
            return Ok(out);
        }
        if out.len() == MAX_CHALLENGES {
            return Err(format!("more than {MAX_CHALLENGES} challenges"));
        }
        let scheme = cursor.token("an auth-scheme")?;
        let mut challenge = RawChallenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        let spaced = cursor.skip_ows() > 0;
        if !(cursor.at_end() || cursor.peek() == Some(b',')) {
            if !spaced {
                return Err(cursor.unexpected("a space after the auth-scheme"));
            }
            match cursor.token68() {
                Some(token68) => challenge.token68 = Some(token68),
                None => cursor.params(&mut challenge.params)?,
            }
        }
        out.push(challenge);
    }
}

/// Parses a bare `#auth-param` list, as in `Authentication-Info` (RFC 7616 §3.5).
pub(super) fn parse_params(field: &[u8]) -> Result<Vec<Param<'_>>, String> {
    if field.len() > MAX_FIELD_BYTES {
        return Err(format!("field is {} bytes, over the limit", field.len()));
    }
    let mut cursor = Cursor {
        bytes: field,
        pos: 0,
    };
    let mut out = Vec::new();
    cursor.skip_separators();
    if !cursor.at_end() {
        cursor.params(&mut out)?;
        if !cursor.at_end() {
            return Err(cursor.unexpected("a parameter"));
        }
    }
    Ok(out)
}

/// A Digest challenge the flow can answer (RFC 7616 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    /// `realm`: names the protection space; echoed and hashed into A1.
    pub realm: Vec<u8>,
    /// `nonce`: the server's nonce.
    pub nonce: Vec<u8>,
    /// `opaque`: echoed unchanged when present.
    pub opaque: Option<Vec<u8>>,
    /// `algorithm` (MD5 when absent).
    pub algorithm: Algorithm,
    /// `qop` options; `None` is the RFC 2069 form (MD5 only).
    pub qop: Option<QopOptions>,
    /// `stale=true`: the nonce expired, the credentials were right (§3.3).
    pub stale: bool,
    /// `userhash=true`: send H(username ":" realm) as the username (§3.4.4).
    pub userhash: bool,
}

/// Why a Digest challenge cannot be answered.
enum Rejection {
    Malformed(String),
    Unsupported(String),
}

fn param<'p>(raw: &'p RawChallenge<'_>, name: &str) -> Option<&'p [u8]> {
    raw.params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v.as_slice())
}

impl Challenge {
    fn from_raw(raw: &RawChallenge<'_>) -> Result<Self, Rejection> {
        if raw.token68.is_some() {
            return Err(Rejection::Malformed(
                "Digest takes auth-params, not a token68".into(),
            ));
        }
        let required = |name: &str| {
            param(raw, name)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| Rejection::Malformed(format!("Digest challenge without {name}")))
        };
        let realm = required("realm")?;
        let nonce = required("nonce")?;
        let algorithm = match param(raw, "algorithm") {
            None => Algorithm::Md5,
            Some(name) => Algorithm::parse(name).ok_or_else(|| {
                Rejection::Unsupported(format!(
                    "Digest algorithm={}",
                    String::from_utf8_lossy(name)
                ))
            })?,
        };
        let qop = match param(raw, "qop") {
            None if algorithm == Algorithm::Md5 => None,
            None => {
                let reason = format!("Digest algorithm={} without qop", algorithm.name());
                return Err(Rejection::Unsupported(reason));
            }
            Some(list) => Some(QopOptions::parse(list).ok_or_else(|| {
                Rejection::Unsupported(format!("Digest qop=\"{}\"", String::from_utf8_lossy(list)))
            })?),
        };
        let flag = |name: &str| param(raw, name).is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
        Ok(Challenge {
            realm,
            nonce,
            opaque: param(raw, "opaque").map(<[u8]>::to_vec),
            algorithm,
            qop,
            stale: flag("stale"),
            userhash: flag("userhash"),
        })
    }
}

/// Notes an unsupported offer for the error message, keeping the message bounded: at most
/// eight offers of at most 64 characters each.
fn note(unsupported: &mut Vec<String>, mut what: String) {
    if unsupported.len() < 8 {
        if let Some((cut, _)) = what.char_indices().nth(64) {
            what.truncate(cut);
            what.push('…');
        }
        unsupported.push(what);
    }
}

/// Picks the challenge to answer among every `WWW-Authenticate` field of a 401.
///
/// The strongest hash wins (SHA-512 > SHA-512-256 > SHA-256 > SHA > MD5, `-sess` ranking
/// with its hash); among equals, the first listed. Fields or challenges that do not parse
/// are skipped when another Digest challenge is usable.
///
/// `Ok(None)`: the response carries no challenge at all. Errors: `MalformedChallenge` when
/// a Digest challenge (or a field) was unusable and no other was, `Unsupported` when only
/// unknown algorithms or other schemes were offered.
pub(super) fn select(headers: &Headers) -> Result<Option<Challenge>, AuthError> {
    let mut best: Option<Challenge> = None;
    let mut malformed: Option<String> = None;
    let mut unsupported: Vec<String> = Vec::new();
    for field in headers.get_all(HEADER).take(MAX_FIELDS) {
        let challenges = match parse_challenges(field) {
            Ok(challenges) => challenges,
            Err(reason) => {
                malformed.get_or_insert(reason);
                continue;
            }
        };
        for raw in &challenges {
            if !raw.scheme.eq_ignore_ascii_case(b"Digest") {
                note(
                    &mut unsupported,
                    String::from_utf8_lossy(raw.scheme).into_owned(),
                );
                continue;
            }
            match Challenge::from_raw(raw) {
                Ok(c) => {
                    if best
                        .as_ref()
                        .is_none_or(|b| c.algorithm.strength() > b.algorithm.strength())
                    {
                        best = Some(c);
                    }
                }
                Err(Rejection::Malformed(reason)) => {
                    malformed.get_or_insert(reason);
                }
                Err(Rejection::Unsupported(what)) => note(&mut unsupported, what),
            }
        }
    }
    match (best, malformed) {
        (Some(best), _) => Ok(Some(best)),
        (None, Some(reason)) => Err(AuthError::MalformedChallenge {
            header: HEADER,
            reason,
        }),
        (None, None) if unsupported.is_empty() => Ok(None),
        (None, None) => Err(AuthError::Unsupported {
            schemes: unsupported.join(", "),
        }),
    }
}
