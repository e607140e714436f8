//! Basic (RFC 7617) and Bearer (RFC 6750) credentials: one header, sent with the request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use url::Url;

use super::{Auth, AuthError, AuthFlow, AuthRequest};

/// The `Basic` header value for a user and password: `user:password` in UTF-8, base64
/// (RFC 7617 §2, with the UTF-8 charset of §2.1).
pub fn basic_header(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// Basic authentication (RFC 7617): `Authorization: Basic base64(user:password)` on each
/// request to the origin it was given for. A 401 is delivered as it is (no retry).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    header: String,
}

impl BasicAuth {
    /// Credentials for `user` and `password` (UTF-8). A user-id may not contain `:` (RFC 7617
    /// §2), and neither may hold a control character: [`AuthError::InvalidCredentials`].
    pub fn new(user: &str, password: &str) -> Result<Self, AuthError> {
        if user.contains(':') {
            return Err(AuthError::InvalidCredentials(
                "a Basic user-id cannot contain ':'".into(),
            ));
        }
        if user.chars().chain(password.chars()).any(char::is_control) {
            return Err(AuthError::InvalidCredentials(
                "control character in Basic credentials".into(),
            ));
        }
        Ok(BasicAuth {
            header: basic_header(user, password),
        })
    }

    /// Credentials from a URL's userinfo (`http://user:pa%20ss@host/`), percent-decoded as
    /// UTF-8; `None` when the URL has no user name.
    pub fn from_userinfo(url: &Url) -> Option<Result<Self, AuthError>> {
        if url.username().is_empty() {
            return None;
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
        };
        let user = decode(url.username());
        let password = decode(url.password().unwrap_or_default());
        Some(match (user, password) {
            (Ok(user), Ok(password)) => BasicAuth::new(&user, &password),
            _ => Err(AuthError::InvalidCredentials(
                "URL userinfo is not UTF-8".into(),
            )),
        })
    }
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BasicAuth(..)") // never print credentials
    }
}

impl Auth for BasicAuth {
    fn flow(&self, _url: &Url) -> Option<Box<dyn AuthFlow>> {
        Some(Box::new(HeaderFlow {
            header: self.header.clone(),
        }))
    }
}

/// Bearer tokens (RFC 6750 §2.1): `Authorization: Bearer <token>`.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerAuth {
    header: String,
}

impl BearerAuth {
    /// A bearer token. A control character (CR, LF...) is [`AuthError::InvalidCredentials`].
    pub fn new(token: &str) -> Result<Self, AuthError> {
        if token.chars().any(char::is_control) {
            return Err(AuthError::InvalidCredentials(
                "control character in a bearer token".into(),
            ));
        }
        Ok(BearerAuth {
            header: format!("Bearer {token}"),
        })
    }
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerAuth(..)")
    }
}

impl Auth for BearerAuth {
    fn flow(&self, _url: &Url) -> Option<Box<dyn AuthFlow>> {
        Some(Box::new(HeaderFlow {
            header: self.header.clone(),
        }))
    }
}

/// A flow that sets one `Authorization` value and accepts whatever comes back.
#[derive(Clone)]
pub(crate) struct HeaderFlow {
    pub header: String,
}

impl std::fmt::Debug for HeaderFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeaderFlow(..)")
    }
}

impl AuthFlow for HeaderFlow {
    fn authorize(&mut self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        request.set_authorization(&self.header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Headers;

    fn authorize(auth: &dyn Auth) -> String {
        let url = Url::parse("http://a.test/").unwrap();
        let mut headers = Headers::new();
        let mut flow = auth.flow(&url).unwrap();
        let method = http::Method::GET;
        flow.authorize(&mut AuthRequest {
            method: &method,
            url: &url,
            headers: &mut headers,
            body: None,
        })
        .unwrap();
        headers.get_str("authorization").unwrap().to_owned()
    }

    #[test]
    fn basic_per_rfc_7617() {
        // RFC 7617 §2 example, and §2.1's UTF-8 example ("test" / "123£").
        assert_eq!(
            authorize(&BasicAuth::new("Aladdin", "open sesame").unwrap()),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(
            authorize(&BasicAuth::new("test", "123\u{a3}").unwrap()),
            "Basic dGVzdDoxMjPCow=="
        );
        assert!(BasicAuth::new("a:b", "x").is_err());
        assert!(BasicAuth::new("a", "x\r\nInjected: 1").is_err());
        assert_eq!(
            format!("{:?}", BasicAuth::new("a", "secret").unwrap()),
            "BasicAuth(..)"
        );
    }

    #[test]
    fn basic_from_userinfo() {
        let url = Url::parse("http://us%C3%A9r:p%40ss%20w@a.test/").unwrap();
        let auth = BasicAuth::from_userinfo(&url).unwrap().unwrap();
        assert_eq!(auth, BasicAuth::new("usér", "p@ss w").unwrap());
        let plus = Url::parse("http://u:a+b@a.test/").unwrap();
        assert_eq!(
            BasicAuth::from_userinfo(&plus).unwrap().unwrap(),
            BasicAuth::new("u", "a+b").unwrap()
        );
        assert!(BasicAuth::from_userinfo(&Url::parse("http://a.test/").unwrap()).is_none());
        let bad = Url::parse("http://u:%FF@a.test/").unwrap();
        assert!(BasicAuth::from_userinfo(&bad).unwrap().is_err());
    }

    #[test]
    fn bearer() {
        assert_eq!(
            authorize(&BearerAuth::new("mF_9.B5f-4.1JqM").unwrap()),
            "Bearer mF_9.B5f-4.1JqM"
        );
        assert!(BearerAuth::new("a\nb").is_err());
    }

    #[test]
    fn debug_never_shows_the_credentials() {
        let url = Url::parse("http://a.test/").unwrap();
        let bearer = BearerAuth::new("t0ken").unwrap();
        let basic = BasicAuth::new("user", "pw").unwrap();
        assert_eq!(format!("{bearer:?}"), "BearerAuth(..)");
        for auth in [&bearer as &dyn Auth, &basic] {
            assert_eq!(format!("{:?}", auth.flow(&url).unwrap()), "HeaderFlow(..)");
        }
    }

    /// A custom flow that only adds a header: the trait's defaults end it after the first
    /// response, and a value no header can hold is refused before anything is sent.
    #[test]
    fn a_one_shot_custom_flow_needs_only_authorize() {
        #[derive(Debug)]
        struct Token(&'static str);
        impl AuthFlow for Token {
            fn authorize(&mut self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
                request.set_authorization(self.0)
            }
        }
        let url = Url::parse("http://a.test/").unwrap();
        let method = http::Method::GET;
        let mut headers = Headers::new();
        headers.append("Authorization", "stale").unwrap();
        let mut request = AuthRequest {
            method: &method,
            url: &url,
            headers: &mut headers,
            body: None,
        };
        Token("Token t1").authorize(&mut request).unwrap();
        let none = Headers::new();
        let unauthorized = super::super::AuthResponse {
            status: http::StatusCode::UNAUTHORIZED,
            headers: &none,
            body: None,
        };
        assert_eq!(
            Token("Token t1").respond(&mut request, &unauthorized),
            Ok(super::super::AuthStep::Done)
        );
        assert!(matches!(
            Token("Token a\r\nInjected: 1").authorize(&mut request),
            Err(AuthError::InvalidCredentials(_))
        ));
        let values: Vec<&[u8]> = headers.get_all("authorization").collect();
        assert_eq!(values, [b"Token t1"]);
    }
}
