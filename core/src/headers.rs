//! An ordered header list that keeps names exactly as written.
//!
//! `http::HeaderMap` lowercases names and groups them; on the wire duet writes the caller's case
//! and order unchanged, so requests and responses carry a [`Headers`] list instead. Conversions
//! to and from `http::HeaderMap` are provided.

use std::fmt;
use std::ops::Range;

use crate::error::LocalError;

/// Whether `b` may appear in an RFC 9110 token (header names, methods, codings).
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Checks a header name: a non-empty token (RFC 9110 §5.1).
pub(crate) fn check_name(name: &[u8]) -> Result<(), LocalError> {
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(LocalError::InvalidHeaderName {
            name: String::from_utf8_lossy(name).into_owned(),
        });
    }
    Ok(())
}

/// Checks a header value: visible ASCII, obs-text, SP and HTAB only (RFC 9110 §5.5).
/// CR, LF, NUL and every other control byte are refused, so a value can never end the line.
pub(crate) fn check_value(name: &[u8], value: &[u8]) -> Result<(), LocalError> {
    match value
        .iter()
        .find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        Some(&byte) => Err(LocalError::InvalidHeaderValue {
            name: String::from_utf8_lossy(name).into_owned(),
            byte,
        }),
        None => Ok(()),
    }
}

#[derive(Clone, Debug)]
struct Entry {
    name: Range<usize>,
    value: Range<usize>,
}

/// An ordered list of header fields; names keep their case, lookups ignore it.
///
/// Two lists are equal when they hold the same fields in the same order, names compared
/// ignoring case (as lookups do) and values byte for byte.
///
/// Every name is a token and no value holds CR, LF, NUL or another control byte: the
/// constructors check this, so a `Headers` can always be written to the wire as it is.
///
/// ```
/// let mut h = duet_core::Headers::new();
/// h.append("X-Trace-ID", "abc").unwrap();
/// h.append("accept", "text/html").unwrap();
/// assert_eq!(h.get("x-trace-id"), Some(&b"abc"[..]));
/// assert_eq!(h.iter().next().unwrap().0, "X-Trace-ID");
/// assert!(h.append("Bad", "a\r\nInjected: 1").is_err());
/// ```
#[derive(Clone, Default)]
pub struct Headers {
    buf: Vec<u8>,
    entries: Vec<Entry>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list with room for `fields` fields of `bytes` bytes of names and values in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Headers {
            buf: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(fields),
        }
    }

    /// Builds from a buffer and already-validated ranges into it (the response parser's path).
    pub(crate) fn from_parts(
        buf: Vec<u8>,
        ranges: impl IntoIterator<Item = (Range<usize>, Range<usize>)>,
    ) -> Self {
        let entries = ranges
            .into_iter()
            .map(|(name, value)| Entry { name, value })
            .collect();
        Headers { buf, entries }
    }

    /// The buffer that names and values index into (the whole head, for a parsed response).
    pub(crate) fn raw(&self) -> &[u8] {
        &self.buf
    }

    /// Appends a field after the existing ones, keeping any with the same name.
    ///
    /// Fails with [`LocalError::InvalidHeaderName`] or [`LocalError::InvalidHeaderValue`].
    pub fn append(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), LocalError> {
        let (name, value) = (name.as_ref(), value.as_ref());
        check_name(name)?;
        check_value(name, value)?;
        self.push_unchecked(name, value);
        Ok(())
    }

    /// Appends a field whose value `write` puts straight into the list's buffer (no value
    /// built elsewhere first), unchecked: for a name and value that are valid by
    /// construction (a `Host` written from a parsed URL).
    pub(crate) fn push_with_unchecked(&mut self, name: &[u8], write: impl FnOnce(&mut Vec<u8>)) {
        debug_assert!(check_name(name).is_ok());
        let start = self.buf.len();
        self.buf.extend_from_slice(name);
        let mid = self.buf.len();
        write(&mut self.buf);
        debug_assert!(check_value(name, &self.buf[mid..]).is_ok());
        self.entries.push(Entry {
            name: start..mid,
            value: mid..self.buf.len(),
        });
    }

    /// Sets a field: replaces every field of that name with one, at the first one's place
    /// (or at the end when there was none).
    pub fn insert(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), LocalError> {
        let (name, value) = (name.as_ref(), value.as_ref());
        check_name(name)?;
        check_value(name, value)?;
        let first = self.position(name);
        self.push_unchecked(name, value);
        if let Some(first) = first {
            let new = self.entries.pop().expect("just pushed");
            self.entries[first] = new;
            let mut index = 0;
            self.entries.retain(|e| {
                index += 1;
                index - 1 == first || !self.buf[e.name.clone()].eq_ignore_ascii_case(name)
            });
        }
        Ok(())
    }

    pub(crate) fn push_unchecked(&mut self, name: &[u8], value: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(value);
        let mid = start + name.len();
        self.entries.push(Entry {
            name: start..mid,
            value: mid..self.buf.len(),
        });
    }

    /// Removes every field with this name; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.entries.len();
        let buf = &self.buf;
        self.entries
            .retain(|e| !buf[e.name.clone()].eq_ignore_ascii_case(name.as_bytes()));
        before - self.entries.len()
    }

    fn position(&self, name: &[u8]) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| self.buf[e.name.clone()].eq_ignore_ascii_case(name))
    }

    /// The value of the first field with this name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.position(name.as_bytes())
            .map(|i| &self.buf[self.entries[i].value.clone()])
    }

    /// The value of the first field with this name, if it is valid UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of fields with this name, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |e| self.buf[e.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(move |e| &self.buf[e.value.clone()])
    }

    /// Whether a field with this name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name.as_bytes()).is_some()
    }

    /// Whether any field with this name holds `token` in its comma-separated list, ignoring case
    /// (as in `Connection: keep-alive, Upgrade`).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|v| list_has(v, token.as_bytes()))
    }

    /// The fields in order, names as written.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|e| {
            // Names are tokens (checked on the way in), hence ASCII.
            let name = std::str::from_utf8(&self.buf[e.name.clone()]).unwrap_or_default();
            (name, &self.buf[e.value.clone()])
        })
    }

    /// The fields in order, names as raw bytes (no UTF-8 check: for writing them out).
    pub(crate) fn iter_bytes(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries
            .iter()
            .map(|e| (&self.buf[e.name.clone()], &self.buf[e.value.clone()]))
    }

    /// Whether a field with this name (as bytes) is present.
    pub(crate) fn contains_bytes(&self, name: &[u8]) -> bool {
        self.position(name).is_some()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes the fields take on the wire, `Name: value\r\n` each.
    pub(crate) fn wire_len(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.name.len() + e.value.len() + 4)
            .sum()
    }

    /// A lowercased `http::HeaderMap` with the same fields in the same order per name.
    pub fn to_header_map(&self) -> http::HeaderMap {
        let mut map = http::HeaderMap::with_capacity(self.len());
        for (name, value) in self.iter() {
            // Both always convert: names are tokens and values have no control bytes.
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value),
            ) {
                map.append(n, v);
            }
        }
        map
    }
}

impl TryFrom<&http::HeaderMap> for Headers {
    type Error = LocalError;

    /// Copies a `HeaderMap` (lowercase names). Fails only on a value with a control byte,
    /// which `HeaderValue` allows for HTAB-free obs-text but duet refuses.
    fn try_from(map: &http::HeaderMap) -> Result<Self, LocalError> {
        let mut headers = Headers::new();
        for (name, value) in map {
            headers.append(name.as_str(), value.as_bytes())?;
        }
        Ok(headers)
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(n, v)| (n, String::from_utf8_lossy(v))))
            .finish()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .iter_bytes()
                .zip(other.iter_bytes())
                .all(|((n, v), (m, w))| n.eq_ignore_ascii_case(m) && v == w)
    }
}

impl Eq for Headers {}

/// Whether a comma-separated field value lists `token`, ignoring case.
pub(crate) fn list_has(value: &[u8], token: &[u8]) -> bool {
    list_items(value).any(|item| item.eq_ignore_ascii_case(token))
}

/// The items of a comma-separated field value (RFC 9110 §5.6.1), trimmed, empty ones skipped.
pub(crate) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|item| item.trim_ascii())
        .filter(|item| !item.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_capacity_makes_room_for_the_fields_up_front() {
        // A request head is built with room for its usual fields, so adding them does not
        // reallocate as it goes.
        let mut h = Headers::with_capacity(8, 256);
        assert!(h.is_empty());
        let (buf, entries) = (h.buf.capacity(), h.entries.capacity());
        assert!(
            buf >= 256 && entries >= 8,
            "room for {entries} fields, {buf} bytes"
        );
        for i in 0..8 {
            h.append(format!("x-field-{i}"), "a value of some length")
                .unwrap();
        }
        assert_eq!((h.buf.capacity(), h.entries.capacity()), (buf, entries));
    }

    #[test]
    fn keeps_case_and_order_and_finds_case_insensitively() {
        let mut h = Headers::new();
        h.append("X-B", "2").unwrap();
        h.append("x-a", "1").unwrap();
        h.append("X-b", "3").unwrap();
        let names: Vec<_> = h.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["X-B", "x-a", "X-b"]);
        assert_eq!(h.get_all("x-b").collect::<Vec<_>>(), [b"2", b"3"]);
        assert_eq!(h.get_str("X-A"), Some("1"));
        assert!(h.contains("X-A") && !h.contains("x-c"));
    }

    #[test]
    fn insert_replaces_in_place_and_remove_counts() {
        let mut h = Headers::new();
        h.append("A", "1").unwrap();
        h.append("B", "2").unwrap();
        h.append("a", "3").unwrap();
        h.insert("A", "9").unwrap();
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("A", &b"9"[..]), ("B", &b"2"[..])]
        );
        h.insert("C", "4").unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(h.remove("c"), 1);
        assert_eq!(h.remove("c"), 0);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn refuses_bad_names_and_values() {
        let mut h = Headers::new();
        for name in ["", "a b", "a:b", "a\r\nb", "a\0", "é"] {
            assert!(
                matches!(
                    h.append(name, "v"),
                    Err(LocalError::InvalidHeaderName { .. })
                ),
                "{name:?}"
            );
        }
        for (value, byte) in [
            ("a\rb", b'\r'),
            ("a\nb", b'\n'),
            ("a\0b", 0),
            ("\x7f", 0x7f),
            ("\x01", 1),
        ] {
            assert_eq!(
                h.append("N", value),
                Err(LocalError::InvalidHeaderValue {
                    name: "N".into(),
                    byte
                }),
                "{value:?}"
            );
        }
        assert!(h.insert("N", "a\nb").is_err());
        assert!(h.is_empty());
        h.append("N", "tab\tand obs-text \u{e9}").unwrap();
    }

    #[test]
    fn tokens_in_lists() {
        let mut h = Headers::new();
        h.append("Connection", "keep-alive, Upgrade").unwrap();
        h.append("connection", " ,CLOSE ,").unwrap();
        assert!(h.has_token("connection", "upgrade"));
        assert!(h.has_token("Connection", "close"));
        assert!(!h.has_token("Connection", "keep"));
    }

    #[test]
    fn equal_only_field_for_field_in_order() {
        let mut a = Headers::new();
        a.append("Accept", "*/*").unwrap();
        a.append("X-Id", "7").unwrap();
        let mut b = a.clone();
        assert_eq!(a, b);
        b.insert("X-Id", "8").unwrap();
        assert_ne!(a, b, "a value differs");
        let mut c = Headers::new();
        c.append("X-Id", "7").unwrap();
        c.append("Accept", "*/*").unwrap();
        assert_ne!(a, c, "the order differs");
        assert_ne!(a, Headers::new());
        let mut d = Headers::new();
        d.append("accept", "*/*").unwrap();
        d.append("X-ID", "7").unwrap();
        assert_eq!(a, d, "names compare as lookups do, ignoring case");
        d.insert("x-id", "7 ").unwrap();
        assert_ne!(a, d, "values compare byte for byte");
        let mut e = a.clone();
        e.append("X-Id", "7").unwrap();
        assert_ne!(a, e, "a field more");
        assert_ne!(e, a, "a field fewer");
        assert_eq!(format!("{a:?}"), r#"[("Accept", "*/*"), ("X-Id", "7")]"#);
        assert_eq!(a.wire_len(), "Accept: */*\r\nX-Id: 7\r\n".len());
    }

    #[test]
    fn header_map_round_trip() {
        let mut h = Headers::new();
        h.append("Set-Cookie", "a=1").unwrap();
        h.append("set-cookie", "b=2").unwrap();
        let map = h.to_header_map();
        assert_eq!(map.get_all("set-cookie").iter().count(), 2);
        let back = Headers::try_from(&map).unwrap();
        assert_eq!(
            back.get_all("Set-Cookie").collect::<Vec<_>>(),
            [b"a=1", b"b=2"]
        );
    }
}
