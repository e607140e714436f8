//! Where a request goes: scheme, host and port, and what makes two connections interchangeable.

use std::fmt;
use std::sync::Arc;

use url::Url;

use super::error::{Error, ErrorKind};

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain TCP.
    Http,
    /// TLS over TCP.
    Https,
}

/// A scheme, host and port (RFC 6454 §4), the unit of connection reuse. Cheap to clone: every
/// request's pool key holds one, and so does each connection handed to the driver.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: Scheme,
    host: Arc<str>,
    port: u16,
}

impl Origin {
    /// The origin of `url`. Fails with [`ErrorKind::InvalidUrl`] for a scheme other than
    /// http/https or a URL without a host.
    pub fn of(url: &Url) -> Result<Origin, Error> {
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => {
                return Err(Error::msg(
                    ErrorKind::InvalidUrl,
                    format!("unsupported URL scheme {other:?}"),
                )
                .with_url(url));
            }
        };
        // The URL holds its host already serialized (an IPv6 address in brackets); taking
        // that text is much cheaper than formatting the address again.
        let host = match (url.host(), url.host_str()) {
            (Some(url::Host::Domain(d)), _) if !d.is_empty() => d,
            (Some(url::Host::Ipv4(_)), Some(text)) => text,
            (Some(url::Host::Ipv6(_)), Some(text)) => {
                text.trim_start_matches('[').trim_end_matches(']')
            }
            _ => return Err(Error::msg(ErrorKind::InvalidUrl, "URL has no host").with_url(url)),
        };
        let host = shared_host(host);
        let port = url
            .port_or_known_default()
            .unwrap_or(if scheme == Scheme::Https { 443 } else { 80 });
        Ok(Origin { scheme, host, port })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host to resolve and connect to, and the TLS server name: a domain, or an IP
    /// address without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the connection needs TLS.
    pub fn is_tls(&self) -> bool {
        self.scheme == Scheme::Https
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.is_tls() { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

thread_local! {
    /// The last host an origin was made for on this thread. Requests tend to go to the same
    /// host again and again: they then share one `Arc` (no allocation per request), and the
    /// pool's key comparisons find the same pointer before comparing text.
    static LAST_HOST: std::cell::RefCell<Option<Arc<str>>> = const { std::cell::RefCell::new(None) };
}

/// `host` as an `Arc`, the last one made on this thread when it is the same text.
fn shared_host(host: &str) -> Arc<str> {
    LAST_HOST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some(same) if **same == *host => Arc::clone(same),
            _ => {
                let made: Arc<str> = Arc::from(host);
                *last = Some(Arc::clone(&made));
                made
            }
        }
    })
}

/// Something that can be turned into a URL to request: `&str`, `String`, `Url`, `&Url`.
///
/// Parsing errors become [`ErrorKind::InvalidUrl`], reported when the request is sent. With a
/// client base URL, strings are joined to it (RFC 3986 §5), so `"/items"` and `"items?page=2"`
/// work; absolute strings and `Url`s are used as they are.
pub trait IntoUrl {
    /// The URL, or why it is invalid.
    fn into_url(self) -> Result<Url, Error>;

    /// The URL relative to `base`, when there is one.
    fn into_url_with(self, base: Option<&Url>) -> Result<Url, Error>
    where
        Self: Sized,
    {
        let _ = base;
        self.into_url()
    }

    /// [`into_url_with`](Self::into_url_with), shared: requests and their responses hold
    /// their URL behind an `Arc`, and a string parsed a moment ago on this thread (the same
    /// URL called again and again) is handed out again without a copy.
    fn into_shared_url(self, base: Option<&Url>) -> Result<Arc<Url>, Error>
    where
        Self: Sized,
    {
        self.into_url_with(base).map(Arc::new)
    }
}

impl IntoUrl for Url {
    fn into_url(self) -> Result<Url, Error> {
        Ok(self)
    }
}

impl IntoUrl for &Url {
    fn into_url(self) -> Result<Url, Error> {
        Ok(self.clone())
    }
}

impl IntoUrl for &str {
    fn into_url(self) -> Result<Url, Error> {
        self.into_url_with(None)
    }

    fn into_url_with(self, base: Option<&Url>) -> Result<Url, Error> {
        match base {
            Some(base) => base.join(self).map_err(|e| invalid_url(self, e)),
            None => parse_remembered(self).map(Arc::unwrap_or_clone),
        }
    }

    fn into_shared_url(self, base: Option<&Url>) -> Result<Arc<Url>, Error> {
        match base {
            Some(base) => Ok(Arc::new(self.into_url_with(Some(base))?)),
            None => parse_remembered(self),
        }
    }
}

fn invalid_url(input: &str, e: url::ParseError) -> Error {
    Error::msg(ErrorKind::InvalidUrl, format!("{input:?}: {e}"))
}

/// Inputs longer than this are parsed every time rather than remembered.
const REMEMBERED_URL_MAX: usize = 2048;

thread_local! {
    /// The last absolute URL parsed on this thread, by its exact input. Programs tend to call
    /// the same URL again and again, and parsing one (with its IDNA pass over the host) costs
    /// more than encoding the whole request head; parsing is a pure function, so the answer
    /// for the same input is the same `Url`.
    static LAST_PARSED: std::cell::RefCell<Option<(Box<str>, Arc<Url>)>> =
        const { std::cell::RefCell::new(None) };
}

/// `Url::parse(input)`, remembering the last answer on this thread.
fn parse_remembered(input: &str) -> Result<Arc<Url>, Error> {
    let hit = LAST_PARSED.with(|last| match &*last.borrow() {
        Some((key, url)) if **key == *input => Some(Arc::clone(url)),
        _ => None,
    });
    if let Some(url) = hit {
        return Ok(url);
    }
    let url = Arc::new(Url::parse(input).map_err(|e| invalid_url(input, e))?);
    if input.len() <= REMEMBERED_URL_MAX {
        LAST_PARSED.with(|last| *last.borrow_mut() = Some((input.into(), Arc::clone(&url))));
    }
    Ok(url)
}

impl IntoUrl for String {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }

    fn into_url_with(self, base: Option<&Url>) -> Result<Url, Error> {
        self.as_str().into_url_with(base)
    }

    fn into_shared_url(self, base: Option<&Url>) -> Result<Arc<Url>, Error> {
        self.as_str().into_shared_url(base)
    }
}

impl IntoUrl for &String {
    fn into_url(self) -> Result<Url, Error> {
        self.as_str().into_url()
    }

    fn into_url_with(self, base: Option<&Url>) -> Result<Url, Error> {
        self.as_str().into_url_with(base)
    }

    fn into_shared_url(self, base: Option<&Url>) -> Result<Arc<Url>, Error> {
        self.as_str().into_shared_url(base)
    }
}

/// Everything that makes one connection different from another: two requests with equal keys
/// may share a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    /// The origin connected to.
    pub origin: Origin,
    /// Which TLS settings the connection was made with (the driver numbers its TLS
    /// configurations; 0 for plain connections).
    pub tls_profile: u64,
    /// The proxy the connection goes through, credentials included.
    pub proxy: Option<crate::proxy::Proxy>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let o = Origin::of(&Url::parse("https://Example.COM/x").unwrap()).unwrap();
        assert_eq!(
            (o.scheme(), o.host(), o.port()),
            (Scheme::Https, "example.com", 443)
        );
        let o = Origin::of(&Url::parse("http://[::1]:8080/").unwrap()).unwrap();
        assert_eq!((o.host(), o.port()), ("::1", 8080));
        assert_eq!(o.to_string(), "http://[::1]:8080");
        let o = Origin::of(&Url::parse("http://127.0.0.1/").unwrap()).unwrap();
        assert_eq!(o.to_string(), "http://127.0.0.1:80");
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "data:text/plain,hi",
            "unix:/run/x",
        ] {
            let err = Origin::of(&Url::parse(bad).unwrap()).unwrap_err();
            assert!(err.is_invalid_url(), "{bad}");
        }
    }

    #[test]
    fn origins_of_the_same_host_share_its_text() {
        let of = |url: &str| Origin::of(&Url::parse(url).unwrap()).unwrap();
        let (a, b) = (of("http://a.example/x"), of("https://a.example:8443/y"));
        assert!(Arc::ptr_eq(&a.host, &b.host));
        assert_eq!(
            (a.host(), b.host(), b.port()),
            ("a.example", "a.example", 8443)
        );
        // Another host gets its own text, and becomes the one shared next.
        let (c, d) = (of("http://[::1]/"), of("http://[::1]:81/"));
        assert_eq!(c.host(), "::1");
        assert!(!Arc::ptr_eq(&a.host, &c.host) && Arc::ptr_eq(&c.host, &d.host));
        assert!(!Arc::ptr_eq(&of("http://a.example/").host, &a.host));
        assert_eq!(of("http://a.example/"), a);
    }

    #[test]
    fn remembered_parses_answer_as_parsing_does() {
        let inputs = [
            "http://127.0.0.1:8080/small",
            "HTTP://Example.COM/a/../b?q=1#f",
            "http://127.0.0.1:8080/small",
            "http://127.0.0.1:8080/other",
            "not a url",
            "http://127.0.0.1:8080/other",
            "https://münchen.example/",
            "https://münchen.example/",
        ];
        let remembered_key =
            || LAST_PARSED.with(|last| last.borrow().as_ref().map(|(key, _)| key.to_string()));
        for input in inputs {
            let before = remembered_key();
            match (input.into_url(), Url::parse(input)) {
                (Ok(remembered), Ok(parsed)) => {
                    assert_eq!(remembered, parsed, "{input}");
                    assert_eq!(remembered.as_str(), parsed.as_str(), "{input}");
                }
                (Err(e), Err(_)) => assert!(e.is_invalid_url(), "{input}"),
                (remembered, parsed) => panic!("{input}: {remembered:?} vs {parsed:?}"),
            }
            // A good input is remembered by its exact text; a bad one leaves the memory be.
            match Url::parse(input) {
                Ok(_) => assert_eq!(remembered_key().as_deref(), Some(input)),
                Err(_) => assert_eq!(remembered_key(), before),
            }
        }
        let long = format!("http://h.example/{}", "a".repeat(REMEMBERED_URL_MAX));
        assert_eq!(long.as_str().into_url().unwrap().as_str(), long);
        assert_eq!(
            remembered_key().as_deref(),
            Some("https://münchen.example/"),
            "an over-long input is not remembered"
        );
        // The same input again is the remembered URL itself, not a second parse of it; the
        // next input replaces it.
        let first = parse_remembered("http://127.0.0.1:8080/same").unwrap();
        let again = parse_remembered("http://127.0.0.1:8080/same").unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the same input is parsed again"
        );
        let other = parse_remembered("http://127.0.0.1:8080/else").unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
    }
}

/// Shows a URL with its password, if any, replaced by `***`: how errors and log records
/// print URLs, so credentials given in a URL (`http://user:secret@host/`) stay out of them.
/// The user name, host, path and query are shown as they are.
#[derive(Clone, Copy)]
pub struct RedactedUrl<'a>(pub &'a Url);

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.password().is_none() {
            return f.write_str(self.0.as_str());
        }
        let mut shown = self.0.clone();
        // A URL with a password has a host, so setting the password cannot fail.
        let _ = shown.set_password(Some("***"));
        f.write_str(shown.as_str())
    }
}

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}
