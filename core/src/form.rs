//! `application/x-www-form-urlencoded`: query strings and form bodies.
//!
//! Both follow the WHATWG URL Standard's `application/x-www-form-urlencoded` serializer (§5.2),
//! which is what browsers send and what the `url` crate implements: a space becomes `+`, bytes
//! other than ASCII alphanumerics and `*-._` become `%XX` of their UTF-8 encoding, pairs are
//! joined with `&`, and repeated keys are kept in the order given. This is what requests and
//! httpx produce too, except that Python's `urlencode` leaves `~` as is and escapes `*`; every
//! form decoder reads both spellings the same.

use std::borrow::Borrow;

/// The `Content-Type` of a body made by [`urlencoded`].
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Appends `pairs` to the query of `url`, after any parameters it already has.
///
/// Call it while building a request, before the request head is written (like `params=` in
/// requests). Existing parameters and the fragment are kept unchanged; repeated keys are all
/// kept, in order. An empty `pairs` leaves `url` exactly as it was (no trailing `?`).
///
/// `pairs` is anything that iterates over `(key, value)` tuples or references to them: a slice,
/// an array, a `Vec`, a map's `iter()`.
///
/// ```
/// let mut url = url::Url::parse("https://example.com/search?q=rust#top").unwrap();
/// duet_core::append_query(&mut url, &[("tag", "http client"), ("tag", "a&b")]);
/// assert_eq!(url.as_str(), "https://example.com/search?q=rust&tag=http+client&tag=a%26b#top");
/// ```
pub fn append_query<I, K, V>(url: &mut url::Url, pairs: I)
where
    I: IntoIterator,
    I::Item: Borrow<(K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut pairs = pairs.into_iter().peekable();
    if pairs.peek().is_none() {
        return;
    }
    url.query_pairs_mut().extend_pairs(pairs);
}

/// Encodes `pairs` as an `application/x-www-form-urlencoded` body (like `data=` in requests).
///
/// Send it with `Content-Type: ` [`FORM_CONTENT_TYPE`]. Returns `a=1&b=x+y&b=%26` for
/// `[("a", "1"), ("b", "x y"), ("b", "&")]`: repeated keys are kept in order, and no pairs give
/// an empty string. `pairs` is taken as in [`append_query`].
///
/// ```
/// let body = duet_core::urlencoded([("a", "1"), ("b", "x y"), ("b", "&")]);
/// assert_eq!(body, "a=1&b=x+y&b=%26");
/// ```
pub fn urlencoded<I, K, V>(pairs: I) -> String
where
    I: IntoIterator,
    I::Item: Borrow<(K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn body_keeps_repeated_keys_in_order_and_escapes() {
        assert_eq!(
            urlencoded([("a", "1"), ("b", "x y"), ("b", "&")]),
            "a=1&b=x+y&b=%26"
        );
        assert_eq!(
            urlencoded(&[("k=", "+%/?#"), ("é", "雪"), ("", "")]),
            "k%3D=%2B%25%2F%3F%23&%C3%A9=%E9%9B%AA&="
        );
        assert_eq!(urlencoded([("*-._~", "\r\n")]), "*-._%7E=%0D%0A");
    }

    #[test]
    fn body_of_no_pairs_is_empty() {
        assert_eq!(urlencoded(Vec::<(String, String)>::new()), "");
    }

    #[test]
    fn body_takes_owned_strings_and_map_iterators() {
        let owned = vec![("x".to_string(), "1".to_string())];
        assert_eq!(urlencoded(&owned), "x=1");
        assert_eq!(urlencoded(owned), "x=1");
        let map = BTreeMap::from([("b", "2"), ("a", "1")]);
        assert_eq!(urlencoded(map.iter()), "a=1&b=2");
    }

    #[test]
    fn query_appends_after_existing_parameters() {
        let mut u = url("http://h/p?a=1&a=2");
        append_query(&mut u, &[("a", "3"), ("b", "x y")]);
        assert_eq!(u.as_str(), "http://h/p?a=1&a=2&a=3&b=x+y");
        let pairs: Vec<_> = u.query_pairs().into_owned().collect();
        assert_eq!(pairs.len(), 4);
        assert_eq!(pairs[3], ("b".to_string(), "x y".to_string()));
    }

    #[test]
    fn query_added_to_url_without_one_keeps_fragment() {
        let mut u = url("https://h/p#frag");
        append_query(&mut u, [("q", "é&")]);
        assert_eq!(u.as_str(), "https://h/p?q=%C3%A9%26#frag");
    }

    #[test]
    fn empty_pairs_leave_url_unchanged() {
        for s in ["http://h/p", "http://h/p?", "http://h/p?a=1#f"] {
            let mut u = url(s);
            append_query(&mut u, Vec::<(&str, &str)>::new());
            assert_eq!(u.as_str(), s);
        }
    }

    #[test]
    fn query_after_empty_query_has_no_leading_ampersand() {
        let mut u = url("http://h/p?");
        append_query(&mut u, [("a", "")]);
        assert_eq!(u.as_str(), "http://h/p?a=");
    }
}
