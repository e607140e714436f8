//! Authentication rounds of a [`Call`]: a flow per hop, consulted on each response.
//!
//! Each hop asks the request's [`Auth`](crate::auth::Auth) for a flow — only while the chain
//! has not left the first origin, unless the source decides per host (netrc) — and lets it
//! authorize the head. A final response goes to the flow first: `Retry` drains the response
//! and sends the edited request again, on the same connection when it can be reused (the
//! driver is told to rewind the body), else on a new one; more than
//! `Limits::max_auth_rounds` retries deliver the last response as it is. A forward proxy's 407
//! goes to the proxy's flow, with its own count of rounds. A retry the request body cannot go
//! with (a stream already sent) fails the call, as a redirect's does.

use std::time::Instant;
use sync_wrapper::SyncWrapper;

use super::{Call, State};
use crate::auth::{AuthError, AuthFlow, AuthRequest, AuthResponse, AuthStep, ProxyFlow};
use crate::client::error::{Error, ErrorKind};
use crate::response::ResponseHead;

/// The body size from which credentials still waiting for a challenge ask for `100 Continue`
/// first (curl's threshold for uploads).
const EXPECT_THRESHOLD: u64 = 1024 * 1024;

impl Call {
    /// Gives the hop just prepared its flows, lets them authorize the head, and asks for
    /// `100 Continue` before a large body when they have yet to answer a challenge.
    pub(super) fn start_auth(&mut self) -> Result<(), Error> {
        self.start_flows()?;
        self.expect_challenge();
        Ok(())
    }

    /// A large body (at least [`EXPECT_THRESHOLD`] bytes, or of unknown length) going with
    /// credentials that have not answered yet (Digest before its first challenge) is sent
    /// with `Expect: 100-continue`: the 401 or 407 then comes before the body, which goes
    /// once, with the answer, and a server or proxy that refuses and closes at once (as squid
    /// does) cannot cut the upload short. curl sends the same for large uploads. A server that
    /// sends no `100 Continue` gets the body after `Limits::expect_continue_timeout`.
    fn expect_challenge(&mut self) {
        self.auto_expect = false;
        let headers = self.head.headers();
        let origin_waits = self.flow.is_some() && !headers.contains("authorization");
        let proxy_waits = self.proxy_flow.is_some() && !headers.contains("proxy-authorization");
        let large = match self.body.framing {
            crate::RequestBody::Length(n) => n >= EXPECT_THRESHOLD,
            crate::RequestBody::Chunked => true,
            crate::RequestBody::None => false,
        };
        if (origin_waits || proxy_waits)
            && large
            && !headers.contains("expect")
            && !self.session.omits(b"expect")
        {
            self.head
                .headers_mut()
                .push_unchecked(b"Expect", b"100-continue");
            self.auto_expect = true;
        }
    }

    /// Gives the hop just prepared (or about to be retried) its flows, and lets them
    /// authorize the head.
    pub(super) fn start_flows(&mut self) -> Result<(), Error> {
        self.flow = None;
        self.auth_rounds = 0;
        self.start_proxy_auth()?;
        let Some(auth) = &self.auth else {
            return Ok(());
        };
        if self.session.chain.credentials_stripped() && !auth.per_host() {
            return Ok(()); // these credentials belong to an origin the chain has left
        }
        let Some(mut flow) = auth.flow(&self.url) else {
            return Ok(());
        };
        self.first_authorization(&mut *flow)?;
        self.flow = Some(SyncWrapper::new(flow));
        Ok(())
    }

    /// Lets a hop's new `flow` authorize its head, with the body when it needs one.
    fn first_authorization(&mut self, flow: &mut dyn AuthFlow) -> Result<(), Error> {
        let body = auth_body(self.body_bytes.as_deref(), self.body.framing);
        if flow.needs_request_body() && body.is_none() {
            return self.fail(auth_error(AuthError::BodyNotReplayable));
        }
        let mut request = AuthRequest {
            method: &self.method,
            url: &self.url,
            headers: self.head.headers_mut(),
            body,
        };
        match flow.authorize(&mut request) {
            Ok(()) => Ok(()),
            Err(e) => self.fail(auth_error(e)),
        }
    }

    /// A proxy flow for this hop, when the proxy is challenged through the request itself (a
    /// forward proxy for an http origin); tunnels authorize their CONNECT instead.
    fn start_proxy_auth(&mut self) -> Result<(), Error> {
        self.proxy_flow = None;
        self.proxy_rounds = 0;
        let forward =
            super::tunnel::absolute_form(self.key.proxy.as_ref(), self.key.origin.is_tls());
        let (Some(auth), true) = (&self.session.config.proxy_auth, forward) else {
            return Ok(());
        };
        let Some(inner) = auth.flow(&self.url) else {
            return Ok(());
        };
        let mut flow = crate::auth::ProxyFlow::new(inner);
        self.first_authorization(&mut flow)?;
        self.proxy_flow = Some(SyncWrapper::new(flow));
        Ok(())
    }

    /// Whether `head` goes to the forward proxy's flow (its 407, when it has credentials)
    /// rather than the origin's.
    fn for_the_proxy(&self, head: &ResponseHead) -> bool {
        head.status() == http::StatusCode::PROXY_AUTHENTICATION_REQUIRED
            && self.proxy_flow.is_some()
    }

    /// Whether the flow that decides on this response needs its body first.
    pub(super) fn auth_wants_body(&mut self, head: &ResponseHead) -> bool {
        let proxy = self.for_the_proxy(head);
        deciding(&mut self.flow, &mut self.proxy_flow, proxy)
            .is_some_and(|f| f.needs_response_body())
            && is_challenge(head)
    }

    /// Lets the flow decide on a response: a forward proxy's flow on its 407, the origin's on
    /// anything else. `Retry` (within the round limit, each flow counting its own) means the
    /// caller drains the response and [`resend`](Self::resend)s; a retry the body cannot go
    /// with (a stream already sent) fails the call, as a redirect's does.
    pub(super) fn auth_step(
        &mut self,
        head: &ResponseHead,
        body: Option<&[u8]>,
    ) -> Result<AuthStep, Error> {
        let proxy = self.for_the_proxy(head);
        let Some(flow) = deciding(&mut self.flow, &mut self.proxy_flow, proxy) else {
            return Ok(AuthStep::Done);
        };
        let response = AuthResponse {
            status: head.status(),
            headers: head.headers(),
            body,
        };
        let mut request = AuthRequest {
            method: &self.method,
            url: &self.url,
            headers: self.head.headers_mut(),
            body: auth_body(self.body_bytes.as_deref(), self.body.framing),
        };
        let step = flow.respond(&mut request, &response);
        let rounds = if proxy {
            &mut self.proxy_rounds
        } else {
            &mut self.auth_rounds
        };
        match step {
            Ok(AuthStep::Retry) if *rounds < self.session.config.limits.max_auth_rounds => {
                *rounds += 1;
                if self.body_can_go_again() {
                    Ok(AuthStep::Retry)
                } else {
                    self.fail(auth_error(AuthError::BodyNotReplayable))
                }
            }
            Ok(_) => Ok(AuthStep::Done),
            Err(e) => self.fail(auth_error(e)),
        }
    }

    /// Whose connection the flow that decides on this response is bound to ("proxy" or
    /// "server"), if it is (its handshake authenticates the connection, not the request).
    pub(super) fn bound_to_connection(&mut self, head: &ResponseHead) -> Option<&'static str> {
        let proxy = self.for_the_proxy(head);
        deciding(&mut self.flow, &mut self.proxy_flow, proxy)
            .is_some_and(|f| f.same_connection())
            .then_some(if proxy { "proxy" } else { "server" })
    }

    /// Sends the (re-authorized) request again after its previous response was drained: on
    /// the same connection when it may carry another exchange, else on a new one unless the
    /// flow that asked for this round is bound to the connection (`bound_to` names whose it
    /// is, for the error when it closed).
    pub(super) fn resend(&mut self, now: Instant, bound_to: Option<&str>) -> Result<(), Error> {
        log::debug!(
            "{} {}: sending the request again with the authentication flow's answer",
            self.method,
            super::RedactedUrl(&self.url),
        );
        if let Err(e) = self
            .session
            .refresh_cookie(&mut self.head, &self.url, &self.headers, now)
        {
            return self.fail(e);
        }
        let reusable = self.conn.as_mut().and_then(|c| c.start_next_cycle().ok());
        match (reusable, self.conn.take()) {
            (Some(()), Some(mut conn)) => {
                if let Err(e) = conn.send_request(&self.head, self.body.framing, now) {
                    return self.fail(e);
                }
                self.session
                    .sending(&self.url, &self.head, self.body.framing);
                self.conn = Some(conn);
                self.rewind = self.body.framing != crate::RequestBody::None;
                self.got_head = false;
                self.received_any = false;
                self.waiting = None;
                Ok(())
            }
            _ => match bound_to {
                Some(who) => self.fail(bound_connection_closed(who)),
                None => {
                    self.state = State::Connect;
                    self.restart_body = true;
                    self.reused = false;
                    self.got_head = false;
                    self.waiting = None;
                    Ok(())
                }
            },
        }
    }
}

/// The forward proxy's flow (`proxy`), or the origin's.
fn deciding<'a>(
    flow: &'a mut Option<SyncWrapper<Box<dyn AuthFlow>>>,
    proxy_flow: &'a mut Option<SyncWrapper<ProxyFlow>>,
    proxy: bool,
) -> Option<&'a mut (dyn AuthFlow + 'static)> {
    if proxy {
        proxy_flow
            .as_mut()
            .map(|f| f.get_mut() as &mut dyn AuthFlow)
    } else {
        flow.as_mut().map(|f| &mut **f.get_mut())
    }
}

/// 401 asks for `WWW-Authenticate` credentials, 407 for `Proxy-Authenticate` ones.
fn is_challenge(head: &ResponseHead) -> bool {
    matches!(head.status().as_u16(), 401 | 407)
}

/// A challenge's body past `Limits::max_drain_bytes`, for a flow that wants it whole.
pub(super) fn challenge_too_large() -> Error {
    Error::msg(
        ErrorKind::Auth,
        "the challenge's body is too large for the authentication flow",
    )
}

/// The `server` (or proxy) closed the connection a flow's rounds must stay on.
pub(super) fn bound_connection_closed(server: &str) -> Error {
    let message =
        format!("the {server} closed the connection this authentication scheme is bound to");
    Error::msg(ErrorKind::Auth, message)
}

fn auth_error(error: AuthError) -> Error {
    Error::new(ErrorKind::Auth, error)
}

/// The request body for an auth flow: its bytes when in memory, and empty when the request
/// has none (Digest `auth-int` hashes the empty body of a GET, RFC 7616 §3.4.3).
fn auth_body(bytes: Option<&[u8]>, framing: crate::RequestBody) -> Option<&[u8]> {
    match (bytes, framing) {
        (None, crate::RequestBody::None) => Some(&[]),
        (bytes, _) => bytes,
    }
}
