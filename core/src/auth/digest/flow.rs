//! One request's Digest flow: the state machine drawn in [`DigestAuth`](super::DigestAuth)'s docs.

use std::fmt;
use std::sync::{Arc, Mutex};

use http::StatusCode;

use super::challenge::{self, Challenge};
use super::response::{Answer, Qop, authorization, check_credentials};
use super::{Config, Spaces, lock};
use crate::auth::{AuthError, AuthFlow, AuthRequest, AuthResponse, AuthStep};
use crate::headers::Headers;
use crate::request::{TargetForm, target_for};

/// Whether answering `challenge` requires the request body: it offers `auth-int` only.
pub(super) fn only_integrity(challenge: &Challenge) -> bool {
    challenge.qop.is_some_and(|q| q.auth_int && !q.auth)
}

/// The flow [`DigestAuth`](super::DigestAuth) gives for one request.
pub(super) struct DigestFlow {
    config: Arc<Config>,
    spaces: Arc<Mutex<Spaces>>,
    /// The request's origin (ASCII serialization): half of the protection space's key.
    origin: String,
    /// The realm of the last `Authorization` this flow wrote, for `Authentication-Info`.
    sent_realm: Option<Vec<u8>>,
    /// A challenge received in this flow was answered: a later non-stale 401 means the
    /// credentials are wrong (RFC 7616 §3.3 `stale`).
    answered: bool,
    /// The one retry a `stale=true` challenge earns was taken.
    stale_retried: bool,
    /// The challenge in use offers `auth-int` only.
    needs_body: bool,
}

impl DigestFlow {
    pub(super) fn new(
        config: Arc<Config>,
        spaces: Arc<Mutex<Spaces>>,
        origin: String,
        needs_body: bool,
    ) -> Self {
        DigestFlow {
            config,
            spaces,
            origin,
            sent_realm: None,
            answered: false,
            stale_retried: false,
            needs_body,
        }
    }

    /// Everything that can refuse an answer before a nonce count is spent: notes whether
    /// the challenge needs the body, chooses the qop (§3.4.3) and checks the credentials.
    fn plan(
        &mut self,
        request: &AuthRequest<'_>,
        challenge: &Challenge,
    ) -> Result<Option<Qop>, AuthError> {
        self.needs_body = only_integrity(challenge);
        let config = &self.config;
        check_credentials(&config.username, &config.password)?;
        challenge
            .qop
            .map(|offer| offer.choose(config.prefer_integrity, request.body.is_some()))
            .transpose()
    }

    /// Writes the `Authorization` field answering `challenge` with nonce count `nc`.
    fn write(
        &mut self,
        request: &mut AuthRequest<'_>,
        challenge: &Challenge,
        qop: Option<Qop>,
        nc: u32,
    ) -> Result<(), AuthError> {
        let config = &self.config;
        let cnonce = if qop.is_some() {
            config.cnonce.next()
        } else {
            String::new()
        };
        // The digest-uri is the request line's target (RFC 7616 §3.4): a CONNECT's is the
        // authority, so a proxy asked for a tunnel never learns the path and query it hides.
        let form = match *request.method == http::Method::CONNECT {
            true => TargetForm::Authority,
            false => TargetForm::Origin,
        };
        let uri = target_for(request.url, form);
        let answer = Answer {
            challenge,
            qop,
            method: request.method.as_str(),
            uri: &uri,
            body: request.body.unwrap_or_default(),
            cnonce: &cnonce,
            nc,
        };
        let value = authorization(&config.username, &config.password, &answer)?;
        request
            .headers
            .insert("Authorization", value)
            .map_err(|e| AuthError::Other(e.to_string()))?;
        self.sent_realm = Some(challenge.realm.clone());
        Ok(())
    }

    /// Takes `nextnonce` from `Authentication-Info` (RFC 7616 §3.5) into the cache. A
    /// malformed field is ignored: it must not turn a success into an error.
    fn take_next_nonce(&self, headers: &Headers) {
        let (Some(realm), Some(info)) = (&self.sent_realm, headers.get("Authentication-Info"))
        else {
            return;
        };
        let Ok(params) = challenge::parse_params(info) else {
            return;
        };
        let next = params
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(b"nextnonce"));
        if let Some((_, nonce)) = next.filter(|(_, v)| !v.is_empty()) {
            lock(&self.spaces).next_nonce(&self.origin, realm, nonce);
        }
    }
}

impl AuthFlow for DigestFlow {
    /// Answers the origin's most recently used cached challenge with its next nonce count,
    /// or adds nothing when none is cached. Errors: `InvalidCredentials`, and
    /// `BodyNotReplayable` when the cached challenge needs `auth-int` and there is no body.
    fn authorize(&mut self, request: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        let cached = lock(&self.spaces).take_latest(&self.origin);
        match cached {
            Some((challenge, nc)) => {
                let qop = self.plan(request, &challenge)?;
                self.write(request, &challenge, qop, nc)
            }
            None => Ok(()),
        }
    }

    /// On a 401 with a Digest challenge: answers it and returns `Retry` the first time, and
    /// once more for `stale=true`; otherwise `Done`. A 401 without any challenge is `Done`.
    /// Errors (only when a retry would follow): `MalformedChallenge`, `Unsupported` (no
    /// answerable challenge), `InvalidCredentials`, `BodyNotReplayable`. On any other status,
    /// reads `Authentication-Info` and returns `Done`.
    fn respond(
        &mut self,
        request: &mut AuthRequest<'_>,
        response: &AuthResponse<'_>,
    ) -> Result<AuthStep, AuthError> {
        if response.status != StatusCode::UNAUTHORIZED {
            self.take_next_nonce(response.headers);
            return Ok(AuthStep::Done);
        }
        let challenge = if self.answered {
            // RFC 7616 §3.3: without stale=true the credentials were refused.
            match challenge::select(response.headers) {
                Ok(Some(c)) if c.stale && !self.stale_retried => c,
                _ => return Ok(AuthStep::Done),
            }
        } else {
            match challenge::select(response.headers)? {
                Some(c) => c,
                None => return Ok(AuthStep::Done),
            }
        };
        let qop = self.plan(request, &challenge)?;
        self.answered = true;
        self.stale_retried |= challenge.stale;
        let nc = lock(&self.spaces).answer(&self.origin, &challenge);
        self.write(request, &challenge, qop, nc)?;
        Ok(AuthStep::Retry)
    }

    /// True when [`DigestAuth::prefer_integrity`](super::DigestAuth::prefer_integrity) is set
    /// or the challenge in use offers only `auth-int` (RFC 7616 §3.4.3 hashes the body).
    fn needs_request_body(&self) -> bool {
        self.config.prefer_integrity || self.needs_body
    }
}

impl fmt::Debug for DigestFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestFlow")
            .field("origin", &self.origin)
            .field("answered", &self.answered)
            .field("stale_retried", &self.stale_retried)
            .field("needs_body", &self.needs_body)
            .finish_non_exhaustive()
    }
}
