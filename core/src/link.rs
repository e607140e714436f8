//! `Link` header fields (RFC 8288 §3): typed links such as pagination's `rel="next"`.
//!
//! ```text
//! Link       = #link-value                                   (RFC 8288 §3)
//! link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
//! link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
//! ```
//!
//! The parser is forgiving and never panics: a malformed link-value (no `<target>`, a
//! parameter that is not a token, a target that does not resolve, no relation type) is
//! skipped and parsing resumes at the next comma that separates links; commas inside `<...>`
//! and inside quoted strings do not separate links. An unterminated `<` or quoted string ends
//! that field. Unquoted values are taken up to the next `;`, `,` or whitespace, so the common
//! `type=text/html` (not a token) is accepted.
//!
//! ```
//! use duet_core::link::{find_rel, parse_link_headers};
//! use duet_core::{Headers, Url};
//!
//! let base = Url::parse("https://api.github.com/repos?page=1").unwrap();
//! let mut headers = Headers::new();
//! headers
//!     .append(
//!         "Link",
//!         r#"<https://api.github.com/repos?page=2>; rel="next", </repos?page=5>; rel="last""#,
//!     )
//!     .unwrap();
//! let links = parse_link_headers(&base, &headers);
//! let next = find_rel(&links, "next").unwrap();
//! assert_eq!(next.target.as_str(), "https://api.github.com/repos?page=2");
//! assert_eq!(find_rel(&links, "LAST").unwrap().target.query(), Some("page=5"));
//! assert!(find_rel(&links, "prev").is_none());
//! ```

use url::Url;

use crate::headers::{Headers, is_tchar};

/// One link from a `Link` field (RFC 8288 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// The target, resolved against the response's URL (RFC 8288 §3.1, RFC 3986 §5).
    pub target: Url,
    /// The relation types of the `rel` parameter, lowercased (they compare case-insensitively,
    /// RFC 8288 §2.1), in order, without repeats. Never empty. Only the first `rel` parameter
    /// counts (§3.3).
    pub rel: Vec<String>,
    /// The other parameters in order: names lowercased, quoted-string values unescaped
    /// (RFC 9110 §5.6.4), an empty value for a parameter without one. Extended values such as
    /// `title*` (RFC 8288 §3.4.1, RFC 8187) are kept raw, e.g. `UTF-8'de'n%c3%a4chstes`.
    pub params: Vec<(String, String)>,
}

impl Link {
    /// Whether one of the link's relation types is `rel` (case-insensitive).
    pub fn has_rel(&self, rel: &str) -> bool {
        self.rel.iter().any(|r| r.eq_ignore_ascii_case(rel))
    }

    /// The value of the first parameter named `name` (case-insensitive), e.g. `title`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Every link of every `Link` field in `headers`, in order, with targets resolved against
/// `base` (the URL of the response). Malformed links are skipped (see the
/// [module docs](self)); a field that is not UTF-8 is read with replacement characters.
pub fn parse_link_headers(base: &Url, headers: &Headers) -> Vec<Link> {
    let mut links = Vec::new();
    for value in headers.get_all("link") {
        let text = String::from_utf8_lossy(value);
        let mut parser = Parser {
            text: &text,
            pos: 0,
        };
        parser.links(base, &mut links);
    }
    links
}

/// The first link with relation type `rel` (case-insensitive), e.g. `"next"` to page on.
pub fn find_rel<'a>(links: &'a [Link], rel: &str) -> Option<&'a Link> {
    links.iter().find(|link| link.has_rel(rel))
}

/// What to do after a malformed link-value.
enum Malformed {
    /// Skip to the next comma that separates links.
    SkipToComma,
    /// Start over at the current position (a `<` that begins the next link).
    Resume,
    /// Give up on the rest of the field.
    Stop,
}

/// A cursor over one field value. Positions only ever stop at ASCII bytes or the end, so
/// slicing `text` at them is always on a character boundary.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_while(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
    }

    fn skip_ows(&mut self) {
        self.skip_while(|b| b == b' ' || b == b'\t');
    }

    /// The links of the field, appended to `out` (RFC 9110 §5.6.1: empty list items ignored).
    fn links(&mut self, base: &Url, out: &mut Vec<Link>) {
        loop {
            self.skip_while(|b| b == b',' || b == b' ' || b == b'\t');
            if self.peek().is_none() {
                return;
            }
            match self.link_value(base) {
                Ok(Some(link)) => out.push(link),
                Ok(None) | Err(Malformed::Resume) => {}
                Err(Malformed::SkipToComma) => self.skip_to_comma(),
                Err(Malformed::Stop) => return,
            }
        }
    }

    /// One link-value; `Ok(None)` when well-formed but unusable (no rel, bad target).
    fn link_value(&mut self, base: &Url) -> Result<Option<Link>, Malformed> {
        if self.peek() != Some(b'<') {
            return Err(Malformed::SkipToComma);
        }
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.peek() {
                None => return Err(Malformed::Stop),
                Some(b'>') => break,
                // A URI reference never holds `<`: this one was not closed and the next begins.
                Some(b'<') => return Err(Malformed::Resume),
                Some(_) => self.pos += 1,
            }
        }
        let target = self.text[start..self.pos].trim_matches([' ', '\t']);
        self.pos += 1;
        let mut rel: Option<Vec<String>> = None;
        let mut params = Vec::new();
        while let Some((name, value)) = self.param()? {
            if name != "rel" {
                params.push((name, value));
            } else if rel.is_none() {
                let mut types: Vec<String> = Vec::new();
                for t in value.split_ascii_whitespace().map(str::to_ascii_lowercase) {
                    if !types.contains(&t) {
                        types.push(t);
                    }
                }
                rel = Some(types);
            }
        }
        let (Some(rel), Ok(target)) = (rel.filter(|r| !r.is_empty()), base.join(target)) else {
            return Ok(None);
        };
        Ok(Some(Link {
            target,
            rel,
            params,
        }))
    }

    /// The next `; name[=value]` of a link-value, or `None` at its end (a `,` or the end).
    fn param(&mut self) -> Result<Option<(String, String)>, Malformed> {
        loop {
            self.skip_ows();
            match self.peek() {
                None | Some(b',') => return Ok(None),
                Some(b';') => self.pos += 1,
                Some(_) => return Err(Malformed::SkipToComma),
            }
            self.skip_ows();
            let start = self.pos;
            self.skip_while(is_tchar);
            let name = self.text[start..self.pos].to_ascii_lowercase();
            self.skip_ows();
            if name.is_empty() {
                // `;;` or a trailing `;` carry nothing; anything else is not a parameter.
                match self.peek() {
                    None | Some(b',' | b';') => continue,
                    Some(_) => return Err(Malformed::SkipToComma),
                }
            }
            if self.peek() != Some(b'=') {
                return Ok(Some((name, String::new())));
            }
            self.pos += 1;
            self.skip_ows();
            let value = if self.peek() == Some(b'"') {
                self.quoted_string()?
            } else {
                let start = self.pos;
                self.skip_while(|b| !matches!(b, b';' | b',' | b' ' | b'\t' | b'"'));
                self.text[start..self.pos].to_owned()
            };
            return Ok(Some((name, value)));
        }
    }

    /// A quoted-string starting at `"`, unescaped (RFC 9110 §5.6.4).
    fn quoted_string(&mut self) -> Result<String, Malformed> {
        let mut value = String::new();
        let mut chars = self.text[self.pos + 1..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += 1 + i + 1;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                c => value.push(c),
            }
        }
        Err(Malformed::Stop)
    }

    /// Moves past the next comma outside `<...>` and quoted strings (or to the end).
    fn skip_to_comma(&mut self) {
        let (mut in_quotes, mut in_target, mut escaped) = (false, false, false);
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                _ if escaped => escaped = false,
                b'\\' if in_quotes => escaped = true,
                b'"' if !in_target => in_quotes = !in_quotes,
                b'<' if !in_quotes => in_target = true,
                b'>' if !in_quotes => in_target = false,
                b',' if !in_quotes && !in_target => return,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(base: &str, fields: &[&str]) -> Vec<Link> {
        let mut headers = Headers::new();
        for field in fields {
            headers.append("Link", field).unwrap();
        }
        parse_link_headers(&Url::parse(base).unwrap(), &headers)
    }

    /// (target, rel) of each link.
    fn summary(links: &[Link]) -> Vec<(String, String)> {
        links
            .iter()
            .map(|l| (l.target.to_string(), l.rel.join(" ")))
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn github_pagination() {
        let field = "<https://api.github.com/repositories/1/issues?page=2>; rel=\"next\", \
                     <https://api.github.com/repositories/1/issues?page=5>; rel=\"last\", \
                     <https://api.github.com/repositories/1/issues?page=1>; rel=\"first\"";
        let links = parse("https://api.github.com/repos/o/r/issues", &[field]);
        assert_eq!(links.len(), 3);
        let page = |rel| find_rel(&links, rel).map(|l| l.target.query().unwrap().to_owned());
        assert_eq!(page("next").as_deref(), Some("page=2"));
        assert_eq!(page("last").as_deref(), Some("page=5"));
        assert_eq!(page("first").as_deref(), Some("page=1"));
        assert_eq!(page("prev"), None);
    }

    #[test]
    fn relative_targets_resolve_against_the_response_url() {
        let links = parse(
            "https://example.com/a/b?x=1",
            &["</c>; rel=next, <d?p=2>; rel=prev, <//cdn.example/x>; rel=preload, <>; rel=self"],
        );
        assert_eq!(
            summary(&links),
            pairs(&[
                ("https://example.com/c", "next"),
                ("https://example.com/a/d?p=2", "prev"),
                ("https://cdn.example/x", "preload"),
                ("https://example.com/a/b?x=1", "self"),
            ])
        );
    }

    #[test]
    fn several_rel_values_and_case() {
        let links = parse(
            "http://h/",
            &["</a>; REL=\"Next  Alternate next\"; rel=ignored, </b>; rel=PREV"],
        );
        assert_eq!(links[0].rel, ["next", "alternate"]);
        assert!(links[0].has_rel("ALTERNATE"));
        assert!(links[0].params.is_empty(), "a second rel is ignored");
        assert_eq!(find_rel(&links, "Prev").unwrap().target.path(), "/b");
        assert_eq!(find_rel(&links, "alternate").unwrap().target.path(), "/a");
    }

    #[test]
    fn params_quoted_strings_commas_and_semicolons() {
        let links = parse(
            "http://h/",
            &[
                r#"</a,b;c>; rel="next"; Title="One, two; \"three\"\\"; type=text/html; crossorigin; title*=UTF-8'de'n%c3%a4chstes"#,
                r#"</d>;rel=last;;"#,
            ],
        );
        assert_eq!(
            summary(&links),
            pairs(&[("http://h/a,b;c", "next"), ("http://h/d", "last")])
        );
        assert_eq!(
            links[0].params,
            pairs(&[
                ("title", r#"One, two; "three"\"#),
                ("type", "text/html"),
                ("crossorigin", ""),
                ("title*", "UTF-8'de'n%c3%a4chstes"),
            ])
        );
        assert_eq!(links[0].param("TITLE"), Some(r#"One, two; "three"\"#));
        assert_eq!(links[0].param("anchor"), None);
    }

    #[test]
    fn several_link_fields_in_order() {
        let links = parse(
            "http://h/",
            &["</1>; rel=a", "</2>; rel=b, </3>; rel=c", "", "</4>; rel=d"],
        );
        let targets: Vec<&str> = links.iter().map(|l| l.target.path()).collect();
        assert_eq!(targets, ["/1", "/2", "/3", "/4"]);
    }

    #[test]
    fn malformed_links_are_skipped() {
        for (field, expected) in [
            // Unterminated `<`: the next link still counts.
            ("</a; rel=next, </b>; rel=prev", vec!["/b prev"]),
            ("</a; rel=next", vec![]),
            // No rel, or an empty one.
            (
                "</a>, </b>; title=x, </c>; rel=\"\", </d>; rel=ok",
                vec!["/d ok"],
            ),
            // Not a link-value, then a good one.
            ("junk, </b>; rel=next", vec!["/b next"]),
            ("junk \"a,b\" <c,d>, </e>; rel=next", vec!["/e next"]),
            // An escaped quote does not end a skipped quoted string; outside one a backslash
            // escapes nothing.
            ("junk \"a\\\",b\", </e>; rel=next", vec!["/e next"]),
            ("junk\\, </e>; rel=next", vec!["/e next"]),
            // Commas inside quotes or `<...>` do not end a skipped link-value, whatever they
            // enclose; a quote inside `<...>` and a `<` inside quotes are plain.
            (
                "junk \"a, </b>; rel=x, c\", </e>; rel=next",
                vec!["/e next"],
            ),
            ("junk <a, </b>; rel=x, c>, </e>; rel=next", vec!["/e next"]),
            ("junk <a\"b>, </e>; rel=next", vec!["/e next"]),
            ("junk \"<\", </e>; rel=next", vec!["/e next"]),
            // Garbage after the target or a parameter.
            ("</a> x; rel=next, </b>; rel=n", vec!["/b n"]),
            ("</a>; rel=next x, </b>; rel=n", vec!["/b n"]),
            ("</a>; =x, </b>; rel=n", vec!["/b n"]),
            // Unterminated quoted string: the rest of the field is gone.
            ("</a>; rel=\"next, </b>; rel=n", vec![]),
            ("</a>; rel=n; title=\"x\\", vec![]),
            // A target that does not resolve.
            ("<http://[::1>; rel=n, </b>; rel=m", vec!["/b m"]),
            ("", vec![]),
            (",,, ,", vec![]),
            ("<", vec![]),
            (">", vec![]),
            (";", vec![]),
        ] {
            let got: Vec<String> = parse("http://h/", &[field])
                .iter()
                .map(|l| format!("{} {}", l.target.path(), l.rel.join(" ")))
                .collect();
            assert_eq!(got, expected, "{field:?}");
        }
    }

    #[test]
    fn non_ascii_never_panics() {
        let mut headers = Headers::new();
        headers
            .append(
                "Link",
                b"</\xc3\xa9>; rel=n; title=\"\xe9\xff\", <\xff>; rel=m",
            )
            .unwrap();
        let links = parse_link_headers(&Url::parse("http://h/").unwrap(), &headers);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].target.path(), "/%C3%A9");
        let links = parse(
            "http://h/",
            &["</é>; rel=\"é\"; t=é, <€>; title=\"€\\€\"; rel=m"],
        );
        assert_eq!(links.len(), 2);
        assert_eq!(links[1].param("title"), Some("€€"));
    }
}
