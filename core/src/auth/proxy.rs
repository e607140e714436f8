//! Any auth flow, answering a proxy instead of an origin (RFC 9110 §11.7).
//!
//! A proxy challenges with `407` and `Proxy-Authenticate` and reads `Proxy-Authorization`;
//! an origin uses `401`, `WWW-Authenticate` and `Authorization`. Every scheme is otherwise the
//! same, so [`ProxyFlow`] runs an ordinary [`AuthFlow`] against a view of the exchange in
//! which the proxy's fields carry the origin's names, and moves the credentials it writes to
//! the proxy's header. Basic, Digest or a custom flow thus answer proxies unchanged.

use super::{AuthError, AuthFlow, AuthRequest, AuthResponse, AuthStep};
use crate::headers::Headers;
use http::StatusCode;

/// An [`AuthFlow`] speaking to a proxy (RFC 9110 §11.7).
///
/// A proxy challenges with `407` and `Proxy-Authenticate` and reads `Proxy-Authorization`;
/// an origin uses `401`, `WWW-Authenticate` and `Authorization`. This runs the inner flow
/// against a view of the exchange in which the proxy's fields carry the origin's names, and
/// moves the credentials it writes to the proxy's header, so Basic, Digest or a custom flow
/// answer proxies unchanged.
#[derive(Debug)]
pub struct ProxyFlow {
    inner: Box<dyn AuthFlow>,
}

impl ProxyFlow {
    /// Wraps `inner` for a proxy.
    pub fn new(inner: Box<dyn AuthFlow>) -> Self {
        ProxyFlow { inner }
    }
}

/// Moves what the inner flow wrote as `Authorization` into `Proxy-Authorization`.
fn carry_credentials(written: &Headers, headers: &mut Headers) -> Result<(), AuthError> {
    if let Some(value) = written.get("authorization") {
        headers
            .insert("Proxy-Authorization", value)
            .map_err(|e| AuthError::InvalidCredentials(e.to_string()))?;
    }
    Ok(())
}

impl AuthFlow for ProxyFlow {
    fn authorize(&mut self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        let mut written = Headers::new();
        let mut view = AuthRequest {
            method: request.method,
            url: request.url,
            headers: &mut written,
            body: request.body,
        };
        self.inner.authorize(&mut view)?;
        carry_credentials(&written, request.headers)
    }

    fn respond(
        &mut self,
        request: &mut AuthRequest<'_>,
        response: &AuthResponse<'_>,
    ) -> Result<AuthStep, AuthError> {
        if response.status != StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            return Ok(AuthStep::Done);
        }
        let mut challenges = Headers::new();
        for value in response.headers.get_all("proxy-authenticate") {
            challenges
                .append("WWW-Authenticate", value)
                .map_err(|e| AuthError::Other(e.to_string()))?;
        }
        let view_response = AuthResponse {
            status: StatusCode::UNAUTHORIZED,
            headers: &challenges,
            body: response.body,
        };
        let mut written = Headers::new();
        let mut view = AuthRequest {
            method: request.method,
            url: request.url,
            headers: &mut written,
            body: request.body,
        };
        let step = self.inner.respond(&mut view, &view_response)?;
        carry_credentials(&written, request.headers)?;
        Ok(step)
    }

    fn needs_request_body(&self) -> bool {
        self.inner.needs_request_body()
    }

    fn needs_response_body(&self) -> bool {
        self.inner.needs_response_body()
    }

    fn same_connection(&self) -> bool {
        self.inner.same_connection()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Auth, BasicAuth};

    #[test]
    fn basic_goes_to_proxy_authorization() {
        let url = url::Url::parse("http://a.test/").unwrap();
        let mut flow = ProxyFlow::new(BasicAuth::new("u", "p").unwrap().flow(&url).unwrap());
        let mut headers = Headers::new();
        let method = http::Method::GET;
        flow.authorize(&mut AuthRequest {
            method: &method,
            url: &url,
            headers: &mut headers,
            body: None,
        })
        .unwrap();
        assert_eq!(headers.get_str("proxy-authorization"), Some("Basic dTpw"));
        assert!(!headers.contains("authorization"));
        let response = Headers::new();
        let ok = AuthResponse {
            status: StatusCode::OK,
            headers: &response,
            body: None,
        };
        let step = flow.respond(
            &mut AuthRequest {
                method: &method,
                url: &url,
                headers: &mut headers,
                body: None,
            },
            &ok,
        );
        assert_eq!(step, Ok(AuthStep::Done));
    }
}

#[cfg(test)]
mod digest_through_the_adapter {
    use super::*;
    use crate::auth::{Auth, CnonceSource, DigestAuth};

    #[test]
    fn digest_answers_a_proxy_challenge_in_proxy_headers() {
        let url = url::Url::parse("http://a.test/p").unwrap();
        let digest = DigestAuth::new("u", "p", CnonceSource::from_text(|| "c".into()));
        let mut flow = ProxyFlow::new(digest.flow(&url).unwrap());
        let mut headers = Headers::new();
        let method = http::Method::GET;
        flow.authorize(&mut AuthRequest {
            method: &method,
            url: &url,
            headers: &mut headers,
            body: None,
        })
        .unwrap();
        let mut challenge = Headers::new();
        challenge
            .append(
                "Proxy-Authenticate",
                "Digest realm=\"proxy\", nonce=\"n\", qop=\"auth\"",
            )
            .unwrap();
        let response = AuthResponse {
            status: StatusCode::PROXY_AUTHENTICATION_REQUIRED,
            headers: &challenge,
            body: None,
        };
        let step = flow.respond(
            &mut AuthRequest {
                method: &method,
                url: &url,
                headers: &mut headers,
                body: None,
            },
            &response,
        );
        assert_eq!(step, Ok(AuthStep::Retry));
        let answer = headers.get_str("proxy-authorization").unwrap();
        assert!(
            answer.starts_with("Digest ") && answer.contains("realm=\"proxy\""),
            "{answer}"
        );
        assert!(
            !headers.contains("authorization"),
            "the origin's header is untouched"
        );
    }
}
