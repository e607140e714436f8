//! Authentication as pure state machines, written once for both clients.
//!
//! httpx models an auth flow as a generator: it yields a request, receives the response, and
//! yields again or finishes. Here that generator is an [`AuthFlow`]: the engine calls
//! [`AuthFlow::authorize`] before a request goes out and [`AuthFlow::respond`] with each
//! response; the flow edits the request's headers and says whether to send it again. A flow
//! does no I/O, so every built-in scheme runs unchanged in duet-blocking and duet-async.
//!
//! An [`Auth`] is what a client or request is configured with: for each hop it is asked for
//! a flow for that hop's URL, so credentials are decided again for every origin a redirect
//! reaches (a password given for one host is never sent to another). Auth that needs its own
//! I/O — a token read from disk, refreshed under a lock — implements the driver's own trait
//! instead, which hands the engine a pure flow once the I/O is done.
//!
//! ```text
//!   hop starts ──▶ Auth::flow(url) ──▶ authorize(request) ──▶ send
//!                                                               │
//!               respond(request, response) ◀────────────────────┘
//!                 ├── Done: deliver the response
//!                 └── Retry: send the edited request again (at most Limits::max_auth_rounds)
//! ```

use std::fmt;

use http::{Method, StatusCode};
use url::Url;

use crate::headers::Headers;

mod basic;
mod digest;
mod netrc;
mod oauth1;
mod proxy;

pub use basic::{BasicAuth, BearerAuth, basic_header};
pub use digest::{CnonceSource, DigestAuth};
pub use netrc::{Netrc, NetrcAuth, NetrcError};
pub use oauth1::{OAuth1, SignatureMethod};
pub use proxy::ProxyFlow;

/// The request an [`AuthFlow`] may edit: its headers, and its body when the flow asked for it.
#[derive(Debug)]
pub struct AuthRequest<'a> {
    /// The method.
    pub method: &'a Method,
    /// The URL (its userinfo and fragment never reach the wire).
    pub url: &'a Url,
    /// The headers the request will carry; add `Authorization` (or `Proxy-Authorization`).
    pub headers: &'a mut Headers,
    /// The body, when [`AuthFlow::needs_request_body`] is true and the body is in memory.
    pub body: Option<&'a [u8]>,
}

impl AuthRequest<'_> {
    /// Sets the `Authorization` field to `value`, replacing any; a value that cannot be a
    /// field value (a CR or LF in it) is [`AuthError::InvalidCredentials`].
    pub fn set_authorization(&mut self, value: impl AsRef<[u8]>) -> Result<(), AuthError> {
        self.headers
            .insert("Authorization", value)
            .map_err(|e| AuthError::InvalidCredentials(e.to_string()))
    }
}

/// The response an [`AuthFlow`] decides on.
#[derive(Debug, Clone, Copy)]
pub struct AuthResponse<'a> {
    /// The status.
    pub status: StatusCode,
    /// The header fields (challenges are in `WWW-Authenticate` / `Proxy-Authenticate`).
    pub headers: &'a Headers,
    /// The body, when [`AuthFlow::needs_response_body`] is true (bounded by
    /// `Limits::max_drain_bytes`).
    pub body: Option<&'a [u8]>,
}

/// What a flow decided about a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStep {
    /// Deliver this response to the caller.
    Done,
    /// Send the request again with the edited headers.
    Retry,
}

/// Why authentication could not proceed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The server's challenge is malformed.
    #[error("malformed {header} challenge: {reason}")]
    MalformedChallenge {
        /// `WWW-Authenticate` or `Proxy-Authenticate`.
        header: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The server asked only for schemes this flow cannot answer.
    #[error("unsupported authentication scheme(s): {schemes}")]
    Unsupported {
        /// The schemes offered.
        schemes: String,
    },
    /// A credential cannot be put into a header (a control character, say).
    #[error("invalid credentials: {0}")]
    InvalidCredentials(String),
    /// The flow needs the request body, and the body is a stream that cannot be buffered.
    #[error("the authentication scheme needs the request body, which cannot be read twice")]
    BodyNotReplayable,
    /// Something else, described.
    #[error("{0}")]
    Other(String),
}

/// One request's authentication, as a state machine (httpx's `auth_flow`). See the
/// [module docs](self).
pub trait AuthFlow: Send + fmt::Debug {
    /// Adds credentials to a request before it is first sent (it may add none and wait for a
    /// challenge, as Digest does).
    fn authorize(&mut self, request: &mut AuthRequest<'_>) -> Result<(), AuthError>;

    /// Decides on a response: `Retry` after editing `request` to send it again, or `Done`.
    /// The default is `Done`: a flow that only adds credentials (Basic, Bearer, a
    /// signature) is over once they went out.
    fn respond(
        &mut self,
        _request: &mut AuthRequest<'_>,
        _response: &AuthResponse<'_>,
    ) -> Result<AuthStep, AuthError> {
        Ok(AuthStep::Done)
    }

    /// Whether [`authorize`](Self::authorize) needs the request body (Digest `auth-int`,
    /// OAuth 1.0a form parameters). The driver then buffers a streamed body first.
    fn needs_request_body(&self) -> bool {
        false
    }

    /// Whether [`respond`](Self::respond) needs the body of a challenge (a 401, or a proxy's
    /// 407, to CONNECT too): the engine then reads it, up to `Limits::max_drain_bytes`, before
    /// the flow decides. Other responses reach the flow without theirs.
    fn needs_response_body(&self) -> bool {
        false
    }

    /// Whether later rounds must use the same connection (connection-bound schemes such as
    /// NTLM and Negotiate). The engine then keeps the connection between rounds, or fails if
    /// the server (or, for a proxy's flow, the proxy) closed it.
    fn same_connection(&self) -> bool {
        false
    }
}

/// A configured credential source: gives a flow per hop. Shared by every request of a client,
/// so it may keep state across requests (Digest nonce counts) behind a lock.
pub trait Auth: Send + Sync + fmt::Debug {
    /// A flow for a request to `url`, or `None` when this source has no credentials for it.
    fn flow(&self, url: &Url) -> Option<Box<dyn AuthFlow>>;

    /// Whether this source picks its credentials by the host of each hop's URL, as
    /// [`NetrcAuth`] does, rather than holding credentials meant for one origin.
    ///
    /// `true` asks the engine to call [`flow`](Self::flow) on every hop, including hops a
    /// redirect takes to another host: the source itself decides what (if anything) that host
    /// gets, and never from the URL's userinfo or a previous hop. The default `false` means the
    /// credentials belong to the origin they were configured for, so they are not offered
    /// after a redirect to another host (requests' `rebuild_auth`).
    fn per_host(&self) -> bool {
        false
    }

    /// Whether flows of this source need the request body (OAuth 1.0a signs form bodies):
    /// the driver then buffers a streamed body before sending.
    fn needs_request_body(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A custom scheme that writes only what it must: one header, once.
    #[derive(Debug)]
    struct Token;

    impl AuthFlow for Token {
        fn authorize(&mut self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
            request
                .headers
                .append("Authorization", "Token t")
                .map_err(|e| AuthError::Other(e.to_string()))
        }
    }

    impl Auth for Token {
        fn flow(&self, _: &Url) -> Option<Box<dyn AuthFlow>> {
            Some(Box::new(Token))
        }
    }

    /// What a custom scheme gets without asking: it is done after its first round, reads no
    /// body, keeps no connection, and belongs to the origin it was configured for. Each of
    /// these makes the engine do more (buffer a body, read a challenge's, hold a connection,
    /// offer credentials to another host), so none is on unless the scheme says so.
    #[test]
    fn a_custom_scheme_asks_for_nothing_it_did_not_ask_for() {
        let url = Url::parse("http://127.0.0.1/").unwrap();
        assert!(!Token.per_host() && !Auth::needs_request_body(&Token));
        let mut flow = Token.flow(&url).unwrap();
        assert!(!flow.needs_request_body());
        assert!(!flow.needs_response_body());
        assert!(!flow.same_connection());
        let mut headers = Headers::new();
        let mut request = AuthRequest {
            method: &Method::GET,
            url: &url,
            headers: &mut headers,
            body: None,
        };
        flow.authorize(&mut request).unwrap();
        let challenge = Headers::new();
        let response = AuthResponse {
            status: StatusCode::UNAUTHORIZED,
            headers: &challenge,
            body: None,
        };
        assert_eq!(flow.respond(&mut request, &response), Ok(AuthStep::Done));
        assert_eq!(headers.get_str("Authorization"), Some("Token t"));
    }
}
