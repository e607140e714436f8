//! One stored cookie (RFC 6265bis §5.7, the cookie store's fields) and how it is written as JSON.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{CookieRejected, MAX_NAME_VALUE_BYTES};

/// The `SameSite` attribute of a cookie (RFC 6265bis §4.1.2.7, §5.6.7).
///
/// duet stores and reports it; enforcing it is a browser matter (see the
/// [module docs](super)). A missing or unrecognised value is the draft's "Default", which duet
/// keeps as `None` in [`Cookie::same_site`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SameSite {
    /// `SameSite=Strict`: sent only with same-site requests.
    Strict,
    /// `SameSite=Lax`: also sent with top-level navigations by a safe method.
    Lax,
    /// `SameSite=None`: sent with cross-site requests too; requires `Secure` (§5.7 step 19).
    None,
}

impl SameSite {
    /// Parses an attribute value, ignoring ASCII case; anything else is `None` (the draft's
    /// "Default", §5.6.7).
    pub fn parse(value: &str) -> Option<SameSite> {
        [
            ("strict", SameSite::Strict),
            ("lax", SameSite::Lax),
            ("none", SameSite::None),
        ]
        .into_iter()
        .find(|(name, _)| value.eq_ignore_ascii_case(name))
        .map(|(_, same_site)| same_site)
    }

    /// The attribute value as written in a `Set-Cookie` header: `Strict`, `Lax` or `None`.
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// One cookie in a [`CookieJar`](super::CookieJar), with the fields of the RFC 6265bis §5.7
/// cookie store.
///
/// A jar only holds cookies that pass [`Cookie::check`]; [`CookieJar::insert`] drops others.
/// As JSON (serde), times are whole Unix seconds and `expires` is `null` for a session cookie:
///
/// ```json
/// {"name":"sid","value":"abc","domain":"example.com","host_only":false,"path":"/",
///  "secure":true,"http_only":true,"same_site":"Lax","expires":1700003600,
///  "created":1700000000,"last_access":1700000000}
/// ```
///
/// [`CookieJar::insert`]: super::CookieJar::insert
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cookie {
    /// The cookie's name; may be empty for a nameless cookie (`Set-Cookie: foo`, §5.6).
    pub name: String,
    /// The cookie's value, as received (quotes, if any, are part of it).
    pub value: String,
    /// The host (host-only cookie) or the domain (domain cookie) the cookie belongs to,
    /// lowercase, with no leading dot.
    pub domain: String,
    /// True when the cookie is sent only to [`domain`](Self::domain) itself, false when it is
    /// also sent to its subdomains (§5.7 step 10).
    pub host_only: bool,
    /// The cookie's path; it is sent to request paths that path-match it (§5.1.4).
    pub path: String,
    /// Sent only over `https`/`wss`, and set only from them (§5.7 steps 12–13).
    pub secure: bool,
    /// `HttpOnly`: stored and reported; an HTTP client sends such cookies as any other.
    pub http_only: bool,
    /// The `SameSite` attribute; `None` when absent or unrecognised (the draft's "Default").
    pub same_site: Option<SameSite>,
    /// When the cookie expires; `None` for a session cookie (no `Max-Age`/`Expires`).
    #[serde(with = "unix_secs_opt")]
    pub expires: Option<SystemTime>,
    /// When the cookie was first stored; kept when a cookie of the same name, domain and path
    /// replaces it (§5.7 step 23). Orders cookies of equal path length (§5.8.3).
    #[serde(with = "unix_secs")]
    pub created: SystemTime,
    /// When the cookie was last sent (§5.8.3 step 3) or stored; the least recently used are
    /// evicted first.
    #[serde(with = "unix_secs")]
    pub last_access: SystemTime,
}

impl Cookie {
    /// A session cookie for `domain` (host-only, path `/`, no flags) created at `now`.
    ///
    /// ```
    /// use std::time::UNIX_EPOCH;
    /// let cookie = duet_core::cookies::Cookie::new("sid", "abc", "example.com", UNIX_EPOCH);
    /// assert!(cookie.host_only && cookie.path == "/" && cookie.expires.is_none());
    /// ```
    pub fn new(
        name: impl Into<String>,
        value: impl Into<String>,
        domain: impl Into<String>,
        now: SystemTime,
    ) -> Cookie {
        Cookie {
            name: name.into(),
            value: value.into(),
            domain: domain.into(),
            host_only: true,
            path: "/".to_owned(),
            secure: false,
            http_only: false,
            same_site: None,
            expires: None,
            created: now,
            last_access: now,
        }
    }

    /// True for a session cookie (no expiry time): it lives until the jar is dropped, and is
    /// saved only when asked.
    pub fn is_session(&self) -> bool {
        self.expires.is_none()
    }

    /// True when the cookie's expiry time is at or before `now`: it is never sent or saved.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|expires| expires <= now)
    }

    /// Checks what a jar requires of every cookie it holds, so that a `Cookie` header built
    /// from it is always a valid header value:
    ///
    /// - name and value are not both empty ([`CookieRejected::Empty`]) and are together at
    ///   most [`MAX_NAME_VALUE_BYTES`] ([`CookieRejected::TooLarge`]);
    /// - no control byte but HTAB in either ([`CookieRejected::ControlCharacter`], §5.7 step 3);
    /// - no `;` or `=` in the name and no `;` in the value, which would change how the
    ///   `Cookie` header splits ([`CookieRejected::InvalidCharacter`]);
    /// - a non-empty ASCII domain ([`CookieRejected::NoDomain`],
    ///   [`CookieRejected::NonAsciiDomain`]) and a path starting with `/`
    ///   ([`CookieRejected::InvalidPath`]).
    pub fn check(&self) -> Result<(), CookieRejected> {
        check_name_value(&self.name, &self.value)?;
        for (part, text, forbidden) in [
            ("name", &self.name, &[';', '='][..]),
            ("value", &self.value, &[';'][..]),
        ] {
            if let Some(ch) = text.chars().find(|ch| forbidden.contains(ch)) {
                return Err(CookieRejected::InvalidCharacter { part, ch });
            }
        }
        if self.domain.is_empty() {
            return Err(CookieRejected::NoDomain);
        }
        if !self.domain.is_ascii() || self.domain.bytes().any(is_ctl) {
            return Err(CookieRejected::NonAsciiDomain {
                domain: self.domain.clone(),
            });
        }
        if !self.path.starts_with('/') || self.path.bytes().any(is_ctl) {
            return Err(CookieRejected::InvalidPath {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// The key that identifies a cookie in a jar: (name, domain, path).
    pub(super) fn same_key(&self, domain: &str, path: &str, name: &str) -> bool {
        self.name == name && self.domain == domain && self.path == path
    }
}

/// A control byte that no cookie may hold: %x00-08 / %x0A-1F / %x7F (CTLs but HTAB,
/// RFC 6265bis §5.6 step 1, §5.7 step 3).
pub(super) fn is_ctl(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t') || byte == 0x7f
}

/// §5.7 steps 2–4: not both empty, no CTLs but HTAB, name + value within the limit.
pub(super) fn check_name_value(name: &str, value: &str) -> Result<(), CookieRejected> {
    if name.is_empty() && value.is_empty() {
        return Err(CookieRejected::Empty);
    }
    if let Some(byte) = name.bytes().chain(value.bytes()).find(|&b| is_ctl(b)) {
        return Err(CookieRejected::ControlCharacter { byte });
    }
    let size = name.len() + value.len();
    if size > MAX_NAME_VALUE_BYTES {
        return Err(CookieRejected::TooLarge {
            size,
            limit: MAX_NAME_VALUE_BYTES,
        });
    }
    Ok(())
}

pub(super) use crate::calendar::{from_unix_secs, unix_secs as to_unix_secs};

/// serde: a `SystemTime` as whole Unix seconds.
mod unix_secs {
    use super::*;
    use serde::{Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(to_unix_secs(*time))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let secs = i64::deserialize(d)?;
        from_unix_secs(secs).ok_or_else(|| D::Error::custom(format!("time {secs} out of range")))
    }
}

/// serde: an optional `SystemTime` as whole Unix seconds or `null`.
pub(super) mod unix_secs_opt {
    use super::*;
    use serde::{Deserializer, Serializer, de::Error};

    pub(in super::super) fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => s.serialize_some(&to_unix_secs(*time)),
            None => s.serialize_none(),
        }
    }

    pub(in super::super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        match Option::<i64>::deserialize(d)? {
            Some(secs) => from_unix_secs(secs)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("time {secs} out of range"))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn same_site_parses_ignoring_case() {
        assert_eq!(SameSite::parse("STRICT"), Some(SameSite::Strict));
        assert_eq!(SameSite::parse("lax"), Some(SameSite::Lax));
        assert_eq!(SameSite::parse("None"), Some(SameSite::None));
        assert_eq!(SameSite::parse("bogus"), None);
        assert_eq!(SameSite::parse(""), None);
        assert_eq!(SameSite::Lax.as_str(), "Lax");
    }

    #[test]
    fn expiry_is_inclusive_of_now() {
        let mut cookie = Cookie::new("a", "b", "example.com", at(0));
        assert!(cookie.is_session() && !cookie.is_expired(at(10)));
        cookie.expires = Some(at(10));
        assert!(!cookie.is_expired(at(9)));
        assert!(cookie.is_expired(at(10)));
    }

    #[test]
    fn check_refuses_what_would_break_a_cookie_header() {
        let ok = Cookie::new("a", "b c\td=e", "example.com", at(0));
        assert_eq!(ok.check(), Ok(()));
        let with = |f: &dyn Fn(&mut Cookie)| {
            let mut c = ok.clone();
            f(&mut c);
            c.check()
        };
        assert_eq!(
            with(&|c| c.value = "x;y".into()),
            Err(CookieRejected::InvalidCharacter {
                part: "value",
                ch: ';'
            })
        );
        assert_eq!(
            with(&|c| c.name = "a=b".into()),
            Err(CookieRejected::InvalidCharacter {
                part: "name",
                ch: '='
            })
        );
        assert_eq!(
            with(&|c| c.value = "x\r\ny".into()),
            Err(CookieRejected::ControlCharacter { byte: b'\r' })
        );
        assert_eq!(
            with(&|c| {
                c.name.clear();
                c.value.clear()
            }),
            Err(CookieRejected::Empty)
        );
        assert_eq!(
            with(&|c| c.value = "v".repeat(4096)),
            Err(CookieRejected::TooLarge {
                size: 4097,
                limit: 4096
            })
        );
        assert_eq!(with(&|c| c.domain.clear()), Err(CookieRejected::NoDomain));
        assert!(matches!(
            with(&|c| c.domain = "bücher.de".into()),
            Err(CookieRejected::NonAsciiDomain { .. })
        ));
        assert!(matches!(
            with(&|c| c.path = "docs".into()),
            Err(CookieRejected::InvalidPath { .. })
        ));
    }

    #[test]
    fn serde_writes_unix_seconds() {
        let mut cookie = Cookie::new("sid", "abc", "example.com", at(100));
        cookie.expires = Some(at(200));
        cookie.same_site = Some(SameSite::Lax);
        let json = serde_json::to_string(&cookie).unwrap();
        assert_eq!(
            json,
            r#"{"name":"sid","value":"abc","domain":"example.com","host_only":true,"path":"/","secure":false,"http_only":false,"same_site":"Lax","expires":200,"created":100,"last_access":100}"#
        );
        assert_eq!(serde_json::from_str::<Cookie>(&json).unwrap(), cookie);
        cookie.expires = None;
        let json = serde_json::to_string(&cookie).unwrap();
        assert!(json.contains(r#""expires":null"#));
        assert_eq!(serde_json::from_str::<Cookie>(&json).unwrap(), cookie);
    }
}
