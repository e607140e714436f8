//! HTTP Digest access authentication (RFC 7616), as a pure [`AuthFlow`]: see [`DigestAuth`]
//! for the state machine and the decisions it makes. `challenge.rs` reads challenges
//! (RFC 9110 §11), `response.rs` computes and writes answers (RFC 7616 §3.4), `flow.rs` is
//! the per-request machine, this file the credentials and the cache shared across requests.

mod challenge;
mod flow;
mod response;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use url::Url;

use self::challenge::Challenge;
use crate::auth::{Auth, AuthFlow};

/// How many protection spaces one [`DigestAuth`] remembers; the least recently used goes
/// first.
const MAX_SPACES: usize = 64;

/// Where client nonces (`cnonce`, RFC 7616 §3.4) come from: the driver's CSPRNG, since
/// duet-core has no randomness of its own.
///
/// Drivers use [`CnonceSource::from_bytes`] (16 random bytes, sent as 32 hex digits); tests
/// and callers that must send an exact cnonce (such as the RFC 7616 §3.9 examples) use
/// [`CnonceSource::from_text`].
#[derive(Clone)]
pub struct CnonceSource(Arc<dyn Fn() -> String + Send + Sync>);

impl CnonceSource {
    /// A source that hex-encodes 16 bytes from `entropy` for every cnonce (RFC 7616 §5.12:
    /// the protocol's security depends on the randomness of its nonces).
    pub fn from_bytes(entropy: impl Fn() -> [u8; 16] + Send + Sync + 'static) -> Self {
        CnonceSource(Arc::new(move || response::hex16(entropy())))
    }

    /// A source that gives each cnonce as text. The text is sent in a quoted-string, so it
    /// must be non-empty visible ASCII; anything else makes the answer fail with
    /// [`AuthError::InvalidCredentials`](crate::auth::AuthError::InvalidCredentials).
    pub fn from_text(source: impl Fn() -> String + Send + Sync + 'static) -> Self {
        CnonceSource(Arc::new(source))
    }

    fn next(&self) -> String {
        (self.0)()
    }
}

impl From<Arc<dyn Fn() -> [u8; 16] + Send + Sync>> for CnonceSource {
    fn from(entropy: Arc<dyn Fn() -> [u8; 16] + Send + Sync>) -> Self {
        CnonceSource::from_bytes(move || entropy())
    }
}

impl fmt::Debug for CnonceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CnonceSource(..)")
    }
}

/// What every flow of one [`DigestAuth`] reads.
#[derive(Clone)]
struct Config {
    username: String,
    password: String,
    cnonce: CnonceSource,
    prefer_integrity: bool,
}

/// One remembered protection space: the last challenge of (origin, realm) and how many
/// requests went out with its nonce.
#[derive(Debug)]
struct Space {
    origin: String,
    challenge: Challenge,
    nc: u32,
}

/// The protection spaces seen so far, least recently used first.
#[derive(Debug, Default)]
struct Spaces(Vec<Space>);

impl Spaces {
    fn position(&self, origin: &str, realm: &[u8]) -> Option<usize> {
        self.0
            .iter()
            .position(|s| s.origin == origin && s.challenge.realm == realm)
    }

    /// The most recently used challenge of `origin`, if any.
    fn latest(&self, origin: &str) -> Option<&Challenge> {
        self.0
            .iter()
            .rev()
            .find(|s| s.origin == origin)
            .map(|s| &s.challenge)
    }

    /// Takes the next nonce count for the latest space of `origin` (RFC 7616 §3.4: nc counts
    /// the requests sent with one nonce, starting at 1) and marks the space used. `None`
    /// when no space is cached or the count is exhausted (the next 401 brings a new nonce).
    fn take_latest(&mut self, origin: &str) -> Option<(Challenge, u32)> {
        let i = self.0.iter().rposition(|s| s.origin == origin)?;
        let mut space = self.0.remove(i);
        let nc = space.nc.checked_add(1);
        space.nc = nc.unwrap_or(u32::MAX);
        let challenge = space.challenge.clone();
        self.0.push(space);
        Some((challenge, nc?))
    }

    /// Records `challenge` as the space's current one and takes its next nonce count: the
    /// count goes on when the nonce is the one already cached, and restarts at 1 otherwise.
    fn answer(&mut self, origin: &str, challenge: &Challenge) -> u32 {
        let nc = match self.position(origin, &challenge.realm) {
            Some(i) => {
                let old = self.0.remove(i);
                if old.challenge.nonce == challenge.nonce {
                    old.nc.saturating_add(1)
                } else {
                    1
                }
            }
            None => 1,
        };
        if self.0.len() == MAX_SPACES {
            self.0.remove(0);
        }
        let (origin, challenge) = (origin.to_owned(), challenge.clone());
        self.0.push(Space {
            origin,
            challenge,
            nc,
        });
        nc
    }

    /// Installs the `nextnonce` of `Authentication-Info` (RFC 7616 §3.5): the next request
    /// uses it with nc 00000001.
    fn next_nonce(&mut self, origin: &str, realm: &[u8], nonce: Vec<u8>) {
        if let Some(i) = self.position(origin, realm) {
            let space = &mut self.0[i];
            if space.challenge.nonce != nonce {
                space.challenge.nonce = nonce;
                space.challenge.stale = false;
                space.nc = 0;
            }
        }
    }
}

/// Digest credentials (RFC 7616): an [`Auth`] that gives one flow per request and keeps,
/// across requests, the last challenge per protection space and its nonce count, so later
/// requests to the same space are answered without a new 401 (preemptive reuse with an
/// incremented nonce count, RFC 7616 §3.4).
///
/// Cloning shares the cache.
///
/// # Theory of operation
///
/// A `DigestAuth` holds the credentials, a source of client nonces and a small cache of
/// protection spaces shared by every request of a client. For each request it gives a
/// flow (through [`Auth::flow`]) that runs this machine:
///
/// ```text
///  authorize ─┬─ a space of this origin cached ─▶ answer its challenge with the next nc
///             └─ none ──────────────────────────▶ send nothing
///  respond(401, WWW-Authenticate: Digest …)
///     ├─ the first challenge this flow sees ─────▶ answer it, Retry
///     ├─ answered already, stale=true (once) ────▶ answer the new nonce, Retry
///     └─ answered already, not stale ────────────▶ Done: the credentials were refused
///  respond(any other status) ─▶ take Authentication-Info nextnonce (nc back to 1), Done
/// ```
///
/// So a wrong password costs exactly one retry, an expired nonce one silent retry more, and
/// after the first 401 of an origin later requests go out answered (RFC 7616 §3.4: the client
/// may reuse a nonce with an incremented nonce count) with no further round trip.
///
/// # Decisions
///
/// - **Protection space.** RFC 9110 §11.5 ties a space to a realm on an origin; RFC 7616
///   §3.3's `domain` may widen it. This cache keys spaces by (origin, realm) and, once any
///   realm of an origin was seen, answers every request to that origin with the most
///   recently used one; `domain` is not consulted. A request into another realm then costs
///   one 401, and that 401 is answered, not taken for a wrong password. At most 64 spaces
///   are kept (the least recently used is dropped).
/// - **Choice of challenge.** The strongest hash among every Digest challenge of every
///   `WWW-Authenticate` field wins: SHA-512 > SHA-512-256 > SHA-256 > SHA > MD5, a `-sess`
///   variant ranking with its hash; among equals the first listed. `SHA` (SHA-1) and
///   `SHA-512` are not in RFC 7616, but servers offer them and requests and httpx answer
///   them, so this flow does too. Challenges with an unknown algorithm, or that do not
///   parse, are skipped when another one is usable.
/// - **qop.** `auth` when both `auth` and `auth-int` are offered, unless
///   [`prefer_integrity`](Self::prefer_integrity) was set; `auth-int` when it is the only
///   one offered. A challenge without qop is answered in the RFC 2069 form, for MD5 only
///   (RFC 7616 §3.3 requires qop for the others).
/// - **auth-int and the body.** `auth-int` hashes the request body (§3.4.3), so
///   [`AuthFlow::needs_request_body`] is true when
///   [`prefer_integrity`](Self::prefer_integrity) is set or the challenge this flow answers
///   (cached, or just received) offers only `auth-int`. The engine must then pass the body
///   (`Some(b"")` for a bodiless request). When it cannot, the flow falls back to `auth` if
///   offered, and fails with
///   [`AuthError::BodyNotReplayable`](crate::auth::AuthError::BodyNotReplayable) if not. A
///   first request to an origin that speaks only `auth-int` learns this from the 401, so an
///   engine that asks `needs_request_body` only before the first send must keep the body at
///   hand for the retry.
/// - **Usernames.** With `userhash=true` the username is H(username ":" realm) (§3.4.4);
///   otherwise a non-ASCII username is sent as `username*` in RFC 8187 form (§3.4.4), an
///   ASCII one as a quoted-string. Credentials are hashed as UTF-8.
/// - **SHA-512-256** is SHA-512/256 of FIPS 180-4, as §3.2 names it. The hex values printed
///   in the §3.9.2 example were computed with SHA-512 cut to 256 bits instead; the tests
///   show the construction reproduces them with that hash.
/// - **Client nonces** come from the [`CnonceSource`] the driver gives (16 CSPRNG bytes as
///   hex); core has no randomness. A fresh cnonce is drawn for every answer.
/// - **Not done:** `rspauth` in `Authentication-Info` is not verified (mutual
///   authentication, §3.5); the `uri` is the origin-form target even when the engine sends
///   absolute-form through a proxy; `Proxy-Authenticate` is not answered by this flow.
///
/// # Example
///
/// ```
/// use duet_core::auth::{Auth, AuthRequest, AuthResponse, AuthStep, CnonceSource, DigestAuth};
/// use duet_core::{Headers, Method, StatusCode, Url};
///
/// let cnonces = CnonceSource::from_bytes(|| [7; 16]); // a driver passes its CSPRNG
/// let auth = DigestAuth::new("Mufasa", "Circle of Life", cnonces);
/// let url = Url::parse("http://example.org/dir/index.html").unwrap();
/// let mut flow = auth.flow(&url).unwrap();
/// let mut headers = Headers::new();
/// let (method, body) = (&Method::GET, None);
/// let mut request = AuthRequest { method, url: &url, headers: &mut headers, body };
/// flow.authorize(&mut request).unwrap();
/// assert!(!request.headers.contains("Authorization")); // nothing known yet
///
/// let mut challenge = Headers::new();
/// challenge.append("WWW-Authenticate", r#"Digest realm="r", nonce="n", qop="auth""#).unwrap();
/// let status = StatusCode::UNAUTHORIZED;
/// let response = AuthResponse { status, headers: &challenge, body: None };
/// assert_eq!(flow.respond(&mut request, &response).unwrap(), AuthStep::Retry);
/// let sent = request.headers.get_str("Authorization").unwrap();
/// assert!(sent.starts_with(r#"Digest username="Mufasa", realm="r", uri="/dir/index.html""#));
/// assert!(sent.contains(r#"nc=00000001, cnonce="07070707070707070707070707070707""#));
/// ```
#[derive(Clone)]
pub struct DigestAuth {
    config: Arc<Config>,
    spaces: Arc<Mutex<Spaces>>,
}

impl DigestAuth {
    /// Credentials for Digest authentication, with the source of client nonces (RFC 7616
    /// §3.4 `cnonce`): pass a [`CnonceSource`], or an
    /// `Arc<dyn Fn() -> [u8; 16] + Send + Sync>` over the driver's CSPRNG.
    ///
    /// Credentials are checked when first used: CR, LF or NUL in either (or another control
    /// character in the username) make the flow fail with
    /// [`AuthError::InvalidCredentials`](crate::auth::AuthError::InvalidCredentials) and
    /// nothing is written.
    pub fn new(
        username: impl Into<String>,
        password: impl Into<String>,
        entropy: impl Into<CnonceSource>,
    ) -> Self {
        let config = Config {
            username: username.into(),
            password: password.into(),
            cnonce: entropy.into(),
            prefer_integrity: false,
        };
        DigestAuth {
            config: Arc::new(config),
            spaces: Arc::default(),
        }
    }

    /// Whether to choose `qop=auth-int` (RFC 7616 §3.4.3: the request body is hashed in)
    /// when a challenge offers both `auth` and `auth-int`. Off by default. When on,
    /// [`AuthFlow::needs_request_body`] is true for every flow, so the engine buffers the body.
    pub fn prefer_integrity(mut self, prefer: bool) -> Self {
        Arc::make_mut(&mut self.config).prefer_integrity = prefer;
        self
    }

    fn spaces(&self) -> MutexGuard<'_, Spaces> {
        lock(&self.spaces)
    }
}

/// Locks the cache; a panic elsewhere while it was held cannot leave it inconsistent (each
/// update is one push or field write), so a poisoned lock is used as is.
fn lock(spaces: &Mutex<Spaces>) -> MutexGuard<'_, Spaces> {
    spaces.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Auth for DigestAuth {
    /// With [`prefer_integrity`](Self::prefer_integrity), every answer may hash the body, so
    /// a driver buffers a streamed body first. Otherwise only a server offering `auth-int`
    /// alone needs it, and a body in memory is at hand for that.
    fn needs_request_body(&self) -> bool {
        self.config.prefer_integrity
    }

    /// A flow for `url`: every URL with a (scheme, host, port) origin gets one, which sends
    /// nothing until it knows a challenge for that origin; `None` for opaque origins.
    fn flow(&self, url: &Url) -> Option<Box<dyn AuthFlow>> {
        let origin = url.origin();
        if !origin.is_tuple() {
            return None;
        }
        let origin = origin.ascii_serialization();
        let needs_body = self
            .spaces()
            .latest(&origin)
            .is_some_and(flow::only_integrity);
        Some(Box::new(flow::DigestFlow::new(
            Arc::clone(&self.config),
            Arc::clone(&self.spaces),
            origin,
            needs_body,
        )))
    }
}

impl fmt::Debug for DigestAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestAuth")
            .field("username", &self.config.username)
            .field("password", &"<redacted>")
            .field("prefer_integrity", &self.config.prefer_integrity)
            .field("spaces", &self.spaces.try_lock().map(|s| s.0.len()).ok())
            .finish()
    }
}
