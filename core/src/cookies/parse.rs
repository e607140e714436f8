//! Parsing one `Set-Cookie` value into a name, a value and its attributes, following the
//! steps of RFC 6265bis §5.6. Deciding what to store is the storage model's job (`jar.rs`).

use std::time::SystemTime;

use super::cookie::{check_name_value, is_ctl};
use super::date::parse_cookie_date;
use super::{CookieRejected, MAX_ATTRIBUTE_VALUE_BYTES, SameSite};

/// The `Path` attribute, as the storage model needs it (§5.6.4, §5.7 steps 11 and 21).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PathAttribute<'a> {
    /// No `Path` attribute: the default path.
    Absent,
    /// A `Path` attribute that is empty or does not start with `/`: the default path, but the
    /// attribute counts as present.
    Default,
    /// A `Path` attribute starting with `/`.
    Given(&'a str),
}

/// A parsed `Set-Cookie` value (§5.6): the last valid attribute of each kind wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SetCookie<'a> {
    pub name: &'a str,
    pub value: &'a str,
    /// The last valid `Max-Age`, in seconds (§5.6.2); it wins over `Expires`.
    pub max_age: Option<i64>,
    /// The last `Expires` that is a valid cookie date (§5.6.1).
    pub expires: Option<SystemTime>,
    /// The last non-empty `Domain`, without one leading dot, lowercase (§5.6.3).
    pub domain: Option<String>,
    pub path: PathAttribute<'a>,
    pub secure: bool,
    pub http_only: bool,
    /// The last `SameSite`; an unrecognised value is the draft's "Default", `None`.
    pub same_site: Option<SameSite>,
}

/// WSP = SP / HTAB.
fn trim_wsp(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// §5.6.2: an optional `-` and then digits only; anything else is ignored. Saturates.
fn parse_max_age(value: &str) -> Option<i64> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, value),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |n, b| {
        n.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// Parses one `Set-Cookie` field value (§5.6). Fails only where the draft says to ignore the
/// whole value: a control byte (step 1), an empty name and value, or more than
/// [`MAX_NAME_VALUE_BYTES`](super::MAX_NAME_VALUE_BYTES) of them. A malformed attribute is
/// ignored, as is one whose value is longer than [`MAX_ATTRIBUTE_VALUE_BYTES`].
pub(super) fn parse_set_cookie(text: &str) -> Result<SetCookie<'_>, CookieRejected> {
    if let Some(byte) = text.bytes().find(|&b| is_ctl(b)) {
        return Err(CookieRejected::ControlCharacter { byte });
    }
    let (name_value, attributes) = match text.split_once(';') {
        Some((name_value, attributes)) => (name_value, Some(attributes)),
        None => (text, None),
    };
    let (name, value) = name_value.split_once('=').unwrap_or(("", name_value));
    let (name, value) = (trim_wsp(name), trim_wsp(value));
    check_name_value(name, value)?;

    let mut cookie = SetCookie {
        name,
        value,
        max_age: None,
        expires: None,
        domain: None,
        path: PathAttribute::Absent,
        secure: false,
        http_only: false,
        same_site: None,
    };
    for av in attributes.into_iter().flat_map(|a| a.split(';')) {
        let (key, value) = av.split_once('=').unwrap_or((av, ""));
        let (key, value) = (trim_wsp(key), trim_wsp(value));
        if value.len() > MAX_ATTRIBUTE_VALUE_BYTES {
            continue;
        }
        cookie.apply(key, value);
    }
    Ok(cookie)
}

impl<'a> SetCookie<'a> {
    /// One cookie-av (§5.6.1–§5.6.7); unknown attribute names are ignored.
    fn apply(&mut self, key: &str, value: &'a str) {
        let is = |name: &str| key.eq_ignore_ascii_case(name);
        if is("expires") {
            if let Some(expires) = parse_cookie_date(value) {
                self.expires = Some(expires);
            }
        } else if is("max-age") {
            if let Some(max_age) = parse_max_age(value) {
                self.max_age = Some(max_age);
            }
        } else if is("domain") {
            // An empty Domain is ignored (RFC 6265 §5.2.3); "Domain=." leaves the empty
            // domain-attribute, which makes a host-only cookie (§5.7 step 10).
            if !value.is_empty() {
                let domain = value.strip_prefix('.').unwrap_or(value);
                self.domain = (!domain.is_empty()).then(|| domain.to_ascii_lowercase());
            }
        } else if is("path") {
            self.path = match value.starts_with('/') {
                true => PathAttribute::Given(value),
                false => PathAttribute::Default,
            };
        } else if is("secure") {
            self.secure = true;
        } else if is("httponly") {
            self.http_only = true;
        } else if is("samesite") {
            self.same_site = SameSite::parse(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn parse(text: &str) -> SetCookie<'_> {
        parse_set_cookie(text).unwrap()
    }

    #[test]
    fn name_and_value() {
        let c = parse("sid=abc");
        assert_eq!((c.name, c.value), ("sid", "abc"));
        let c = parse("  sid \t=  a b c  ; Path=/");
        assert_eq!((c.name, c.value), ("sid", "a b c"));
        let c = parse("token=a=b==");
        assert_eq!((c.name, c.value), ("token", "a=b=="));
        let c = parse("q=\"quoted\"");
        assert_eq!(c.value, "\"quoted\"");
        let c = parse("empty=");
        assert_eq!((c.name, c.value), ("empty", ""));
    }

    #[test]
    fn nameless_cookies() {
        let c = parse("foo");
        assert_eq!((c.name, c.value), ("", "foo"));
        let c = parse("=foo; Secure");
        assert_eq!((c.name, c.value, c.secure), ("", "foo", true));
        assert_eq!(parse_set_cookie("="), Err(CookieRejected::Empty));
        assert_eq!(parse_set_cookie(""), Err(CookieRejected::Empty));
        assert_eq!(parse_set_cookie(" ; Path=/"), Err(CookieRejected::Empty));
    }

    #[test]
    fn control_bytes_refuse_the_whole_value() {
        for bad in ["a=b\x00", "a\x01=b", "a=b; Path=/\x7f", "a=b\nc", "a=b\r"] {
            assert!(
                matches!(
                    parse_set_cookie(bad),
                    Err(CookieRejected::ControlCharacter { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(parse("a=b\tc").value, "b\tc");
    }

    #[test]
    fn name_and_value_size() {
        let ok = format!("{}={}", "n".repeat(96), "v".repeat(4000));
        assert!(parse_set_cookie(&ok).is_ok());
        let big = format!("{}={}", "n".repeat(96), "v".repeat(4001));
        assert_eq!(
            parse_set_cookie(&big),
            Err(CookieRejected::TooLarge {
                size: 4097,
                limit: 4096
            })
        );
    }

    #[test]
    fn attributes_ignore_case_and_the_last_one_wins() {
        let c = parse(
            "a=b; SECURE; httponly; domain=.Example.COM; PATH=/x; path=/y; \
             SameSite=strict; Max-Age=10; max-age=20",
        );
        assert!(c.secure && c.http_only);
        assert_eq!(c.domain.as_deref(), Some("example.com"));
        assert_eq!(c.path, PathAttribute::Given("/y"));
        assert_eq!(c.same_site, Some(SameSite::Strict));
        assert_eq!(c.max_age, Some(20));
        let c = parse("a=b; Secure=yes; Unknown=1; ; =; Domain=");
        assert!(c.secure);
        assert_eq!(c.domain, None);
        assert_eq!(
            parse("a=b; Domain=example.com; Domain=").domain.as_deref(),
            Some("example.com")
        );
        assert_eq!(parse("a=b; Domain=example.com; Domain=.").domain, None);
    }

    #[test]
    fn over_long_attribute_values_are_ignored() {
        let long = "x".repeat(1021);
        let text = format!("a=b; Domain=ok.com; Domain={long}.com");
        assert_eq!(parse(&text).domain.as_deref(), Some("ok.com"));
        let text = format!("a=b; Path=/{}", "p".repeat(1023));
        assert!(matches!(parse(&text).path, PathAttribute::Given(p) if p.len() == 1024));
        let text = format!("a=b; Path=/{}", "p".repeat(1024));
        assert_eq!(parse(&text).path, PathAttribute::Absent);
    }

    #[test]
    fn path_without_a_slash_means_the_default() {
        assert_eq!(parse("a=b; Path=docs").path, PathAttribute::Default);
        assert_eq!(parse("a=b; Path=").path, PathAttribute::Default);
        assert_eq!(parse("a=b").path, PathAttribute::Absent);
    }

    #[test]
    fn max_age_values() {
        assert_eq!(parse_max_age("3600"), Some(3600));
        assert_eq!(parse_max_age("0"), Some(0));
        assert_eq!(parse_max_age("-1"), Some(-1));
        assert_eq!(parse_max_age("99999999999999999999999"), Some(i64::MAX));
        for bad in ["", "-", "+5", "1.5", "10s", " 10", "abc"] {
            assert_eq!(parse_max_age(bad), None, "{bad:?}");
        }
        // An invalid Max-Age is ignored, leaving an earlier valid one.
        assert_eq!(parse("a=b; Max-Age=5; Max-Age=soon").max_age, Some(5));
    }

    #[test]
    fn expires_uses_the_cookie_date_algorithm() {
        let c = parse("a=b; Expires=Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(
            c.expires,
            Some(UNIX_EPOCH + Duration::from_secs(1_445_412_480))
        );
        assert_eq!(parse("a=b; Expires=never").expires, None);
        let c = parse("a=b; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Expires=bogus");
        assert!(c.expires.is_some());
    }

    #[test]
    fn same_site_unrecognised_is_default() {
        assert_eq!(parse("a=b; SameSite=LAX").same_site, Some(SameSite::Lax));
        assert_eq!(parse("a=b; SameSite=Lax; SameSite=bogus").same_site, None);
        assert_eq!(parse("a=b; SameSite").same_site, None);
    }
}
