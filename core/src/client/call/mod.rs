//! One request's whole life as a state machine: the driver performs the [`Action`]s it asks for.
//!
//! # Theory of operation
//!
//! ```text
//!  Connect ──connected──▶ Sending ──(head, body written)──▶ AwaitingHead ──head──▶ Body ──end──▶ Finished
//!     ▲  ▲                  │                                   │
//!     │  └──── stale reused connection, safe to replay ─────────┘
//!     │                                                          │ redirect to follow
//!     └──────────── next hop ◀── Draining (body discarded) ◀─────┘
//! ```
//!
//! A request may take several hops. Each final response has its cookies stored and the
//! response hooks run; a redirect the policy follows is not handed to the driver: its body is
//! drained (up to `Limits::max_drain_bytes`, else its connection is dropped), the redirect
//! rules of [`crate::redirect`] rewrite method, body and headers, and the call asks for a
//! connection to the next URL. The response finally delivered carries the history.
//!
//! [`Call::poll_action`] says what to do next: get a connection, write bytes, supply body
//! bytes, read, hand out the response head or body data, or finish. Each I/O action carries
//! the deadline the driver must enforce; when it passes, the driver calls
//! [`Call::handle_timeout`], which either moves on (the `100 Continue` wait ended) or fails with
//! the phase that ran out. Every decision is here — which headers go out, when a failed reused
//! connection is retried, which timeout applies, whether the connection can be pooled — so
//! both drivers behave the same.
//!
//! The stale-connection rule: a pooled connection may have been closed by the server while it
//! sat idle. If the request went out on a reused connection and the connection failed before
//! any response byte arrived, the request is retried once on a fresh connection — but only
//! for idempotent methods (RFC 9110 §9.2.2) with a body that can be sent again. Otherwise the
//! error surfaces.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use sync_wrapper::SyncWrapper;

use http::Method;
use url::Url;

use super::config::{ClientConfig, Timeouts};
use super::error::{Error, ErrorKind, TimeoutPhase};
use super::origin::{Origin, PoolKey, RedactedUrl};
use super::retry::{Attempt, RetryDecision, RetryPolicy, RetryState};
use crate::auth::{Auth, AuthFlow, AuthStep, BasicAuth};
use crate::connection::{Connection, Output};
use crate::decode::ContentDecoder;
use crate::error::{Error as ProtocolError, RemoteError};
use crate::headers::Headers;
use crate::limits::Limits;
use crate::proxy::{Proxy, ProxyScheme};
use crate::redirect::{BodyAction, NextHop, RedirectPolicy};
use crate::request::{RequestBody, RequestHead};
use crate::response::ResponseHead;

mod auth;
mod hop;
mod tunnel;

pub use hop::HistoryEntry;
use hop::Session;
use tunnel::{Tunnel, TunnelStep};

/// How the request body will be sent, and whether it can be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPlan {
    /// The framing on the wire.
    pub framing: RequestBody,
    /// Whether the driver can produce the same bytes again (in-memory bodies can; a reader
    /// cannot).
    pub replayable: bool,
}

impl BodyPlan {
    /// No body.
    pub const NONE: BodyPlan = BodyPlan {
        framing: RequestBody::None,
        replayable: true,
    };
}

/// What the engine needs of a request: the driver's builder produces it.
#[derive(Debug, Clone)]
pub struct RequestParts {
    /// The method.
    pub method: Method,
    /// The absolute URL (its fragment and userinfo never reach the wire), shared with the
    /// response.
    pub url: Arc<Url>,
    /// The request's own headers; the client's defaults are added under them.
    pub headers: Headers,
    /// The body's framing.
    pub body: BodyPlan,
    /// Timeouts for this request instead of the client's.
    pub timeouts: Option<Timeouts>,
    /// A redirect policy for this request instead of the client's.
    pub redirect: Option<RedirectPolicy>,
    /// Cookies for this request only, sent to its own origin (never to another origin a
    /// redirect reaches) as if that origin had set them.
    pub cookies: Vec<(String, String)>,
    /// Credentials for this request instead of the client's.
    pub auth: Option<Arc<dyn Auth>>,
    /// The body's bytes when it is in memory, for auth schemes that sign or hash it.
    pub body_bytes: Option<bytes::Bytes>,
    /// A retry policy for this request instead of the client's.
    pub retry: Option<RetryPolicy>,
    /// The driver's CSPRNG, for retry jitter.
    pub entropy: fn() -> [u8; 16],
    /// The proxy for this request instead of the client's routing: `Some(None)` connects
    /// directly.
    pub proxy: Option<Option<Proxy>>,
    /// Header names (lowercase) duet must not add by itself to this request: a client
    /// default, `Accept-Encoding`, the jar's `Cookie`, an automatic `Expect`, a redirect's
    /// `Referer`.
    pub omit: Vec<String>,
}

impl RequestParts {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: impl Into<Arc<Url>>) -> Self {
        RequestParts {
            method,
            url: url.into(),
            headers: Headers::new(),
            body: BodyPlan::NONE,
            timeouts: None,
            redirect: None,
            cookies: Vec::new(),
            auth: None,
            body_bytes: None,
            retry: None,
            entropy: || [0; 16],
            proxy: None,
            omit: Vec::new(),
        }
    }
}

/// Where to get a connection, for [`Action::Connect`].
#[derive(Debug, Clone)]
pub struct ConnectTo {
    /// The pool key: reuse an idle connection with this key, or open one to its origin.
    pub key: PoolKey,
    /// Do not reuse an idle connection: open a new one (a retry after a stale connection).
    pub fresh: bool,
    /// The body must be produced again from its start (this is a retry).
    pub restart_body: bool,
    /// Give up waiting for a pool slot at this time.
    pub pool_deadline: Option<Instant>,
    /// Give up connecting (DNS, TCP and TLS) at this time.
    pub connect_deadline: Option<Instant>,
    /// On a new connection, resolve the origin's host too and pass the address to
    /// [`Call::set_resolved_target`]: a `socks5://` proxy wants an address, not a name.
    pub resolve_origin: bool,
}

/// What the driver should do next; see [`Call::poll_action`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Action<'a> {
    /// Get a connection (drop any current one, releasing its pool slot), then call
    /// [`Call::connected`].
    Connect(ConnectTo),
    /// Write these bytes, then call [`Call::transmitted`].
    Transmit {
        /// The bytes.
        bytes: &'a [u8],
        /// Fail with [`Call::handle_timeout`] if no byte can be written by then.
        deadline: Option<Instant>,
        /// While waiting for room to write, listen for the server too: the request is still
        /// going out and no answer has come ([`Call::listens_while_sending`] says what to do
        /// when the connection turns readable first).
        listen: bool,
    },
    /// Read the body source and pass bytes to [`Call::send_body`] (or, without a copy, read
    /// them into [`Call::body_room`] or hand them over with [`Call::send_body_shared`]), or
    /// call [`Call::send_end`] at its end. A driver that can stop waiting for the source
    /// gives up at [`Call::body_deadline`].
    SendBody,
    /// Read from the connection into [`Call::input_buffer`] and [`Call::commit_input`]
    /// ([`Call::handle_eof`] on end of stream). A driver reading body bytes for its caller
    /// asks [`Call::receive_into`] first: body bytes may go straight into the caller's buffer.
    Receive {
        /// Call [`Call::handle_timeout`] if nothing arrived by then.
        deadline: Option<Instant>,
    },
    /// The final response head.
    Response(ResponseHead),
    /// Body bytes.
    Data(&'a [u8]),
    /// The exchange is over: [`Call::take_connection`] says whether the connection goes back
    /// to the pool.
    Finished,
    /// The request is being sent again on the same connection (an authentication round):
    /// produce the body from its first byte again, then poll on.
    RestartBody,
    /// The tunnel through the proxy is open: start TLS with this origin host over the
    /// current stream (verifying its certificate for that name), then poll on.
    StartTls {
        /// The origin's host, for SNI and verification.
        host: String,
    },
    /// Wait until this time (a retry's backoff), then poll on. First hand back the failed
    /// attempt's connection ([`Call::take_connection`]: to the pool, or closed), so the wait
    /// does not hold it or its slot.
    Sleep {
        /// When to poll again.
        until: Instant,
    },
    /// The connection now carries another protocol (CONNECT tunnel, 101 upgrade).
    Upgraded,
}

/// Where a driver reads for [`Action::Receive`]; see [`Call::receive_into`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveInto {
    /// Straight into the caller's body buffer, at most `len` bytes. When `then` is not 0,
    /// the `then` bytes after those on the wire are framing (the end of a chunk and the next
    /// one's size line), and the same read may take them too: into
    /// [`Call::input_buffer`] by a vectored read, or past the `len` bytes and then copied
    /// there. Either way they are committed with [`Call::commit_input`] after the body bytes'
    /// [`Call::commit_direct`]. A read that takes only body bytes is right too.
    ///
    /// After all `then` framing bytes, the same read may go on with up to `more` bytes,
    /// placed in the caller's buffer right after the `len` body bytes (the framing left out,
    /// as a vectored read does): if the framing was the one foretold, they are the next
    /// chunk's data. [`Call::commit_direct_more`], after the framing's commit, says how many
    /// are, and takes the rest as input.
    Caller {
        /// Body bytes at most.
        len: usize,
        /// Framing bytes after them, at most.
        then: usize,
        /// Bytes after the framing, at most (0 unless `then` is not).
        more: usize,
    },
    /// Into [`Call::input_buffer`], at most this many bytes.
    Buffer(usize),
}

/// Why a response is being read to its end instead of delivered.
#[derive(Debug)]
enum Drain {
    /// A redirect the policy follows.
    Redirect(NextHop),
    /// An authentication round (or a 417's): the request goes out again, on the same
    /// connection only when the flow that asked is bound to it (`bound_to` names whose
    /// connection it is: the proxy's or the server's).
    Retry { bound_to: Option<&'static str> },
    /// The auth flow needs this body to decide.
    Respond(ResponseHead, Vec<u8>),
    /// A status the retry policy retries, once this time comes (the wait counted from the
    /// response's arrival).
    Backoff(Instant),
}

/// Why an exchange was given up before the response's end (kept a byte: a call stays small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abandoned {
    /// The caller stopped reading and the rest had not arrived.
    Unread,
    /// What had arrived of the rest was malformed.
    Malformed,
}

/// The deadline of an I/O action, and what passing it means.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    deadline: Instant,
    /// The phase that fails when the deadline passes: `Total` when the request's own deadline
    /// comes first.
    phase: TimeoutPhase,
    /// The phase the action was for.
    asked: TimeoutPhase,
    /// The driver woke before the deadline with nothing done (a socket timeout shorter than
    /// the wait, a signal): the same wait goes on, to the same deadline, not a fresh one.
    woke_early: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting out a retry's backoff.
    Backoff(Instant),
    Connect,
    Exchange,
    Finished,
    Failed,
}

/// One request's life, from getting a connection to the last body byte.
#[derive(Debug)]
pub struct Call {
    method: Method,
    url: Arc<Url>,
    key: PoolKey,
    head: RequestHead,
    /// The caller's headers as the redirect rules have left them.
    headers: Headers,
    body: BodyPlan,
    tls_profile: u64,
    session: Session,
    /// A response being drained before the call moves on, and how many bytes were. The
    /// fields a plain exchange leaves empty are boxed, so a call stays small enough for the
    /// allocator's fast path.
    draining: Option<Box<(Drain, u64)>>,
    /// The credential source for this request, and the flow for the current hop.
    auth: Option<Arc<dyn Auth>>,
    /// (The flows are wrapped so that a call is `Sync` whatever a flow's type: a call only
    /// ever uses them through `&mut`.)
    flow: Option<SyncWrapper<Box<dyn AuthFlow>>>,
    auth_rounds: usize,
    body_bytes: Option<bytes::Bytes>,
    /// Tell the driver to rewind its body before sending it again on this connection.
    rewind: bool,
    /// A delivered response's body that an auth flow already read, and how much was handed out.
    replay: Option<(Vec<u8>, usize)>,
    /// Retries by policy (failed attempts and retryable statuses), with the driver's entropy:
    /// the request's own policy if it has one (else the client's), and the state, made at
    /// the first decision.
    retry_policy: Option<Box<RetryPolicy>>,
    retry: Option<Box<RetryState>>,
    entropy: fn() -> [u8; 16],
    /// Whether any byte of the current attempt's request went out.
    sent_any: bool,
    /// The request's own routing, instead of the client's proxies (the current hop's proxy is
    /// the pool key's).
    proxy_override: Option<Box<Option<Proxy>>>,
    /// A tunnel being set up on a new connection to the proxy, and an error met while
    /// reading for it.
    tunnel: Option<Tunnel>,
    tunnel_error: Option<Box<Error>>,
    /// The origin's address resolved by the driver, for `socks5://` (local DNS).
    resolved_target: Option<std::net::IpAddr>,
    /// The flow answering the current proxy challenge (credentials are the client's).
    proxy_flow: Option<SyncWrapper<crate::auth::ProxyFlow>>,
    proxy_rounds: usize,
    /// The CONNECT head of the tunnel being set up (kept to send again after a 407).
    connect_head: Option<Box<RequestHead>>,
    /// A 407 to the CONNECT being read before the CONNECT goes again with credentials.
    connect_challenge: Option<tunnel::ConnectChallenge>,
    /// The proxy closed the connection after its 407: the CONNECT with the flow's answer
    /// goes on the next new connection to it.
    tunnel_reconnect: bool,
    /// `Expect: 100-continue` was added for credentials waiting for a challenge (see
    /// `expect_challenge`): a 417 to it sends the request again without.
    auto_expect: bool,
    /// A reusable connection left by an earlier hop, for the driver to pool.
    released: Option<Box<Connection>>,
    /// Why the exchange was given up before the response's end, for the log.
    abandoned: Option<Abandoned>,
    /// The driver must produce the body again from its start on the next connection.
    restart_body: bool,
    timeouts: Timeouts,
    total_deadline: Option<Instant>,
    state: State,
    /// Boxed: a connection moves between the pool and calls, and is a few hundred bytes.
    conn: Option<Box<Connection>>,
    /// The peer of the connection the driver is about to hand over, for the log.
    remote: Option<std::net::SocketAddr>,
    reused: bool,
    retried: bool,
    received_any: bool,
    got_head: bool,
    trailers: Option<Box<Headers>>,
    /// The deadline of the last I/O action handed out.
    waiting: Option<Waiting>,
    /// When the final response's head was handed out (the driver's clock).
    answered_at: Option<Instant>,
    /// The error that stopped the request being written (the server reset the connection),
    /// kept while the response it may have sent first is read; reported if none comes.
    unsent: Option<Box<Error>>,
    /// A success the server answered before it had the whole request, held back until the
    /// rest of the request has gone out.
    early: Option<Box<ResponseHead>>,
}

impl Call {
    /// The largest announced body (before content decoding) a driver appends through the
    /// engine's input buffer when its caller wants the body whole: for a small body one
    /// pass is cheapest; a larger one is read straight into the caller's buffer instead,
    /// sparing a copy.
    pub const WHOLE_BODY_AT_ONCE: u64 = 64 * 1024;

    /// Prepares `request` under `config` (default headers, `Accept-Encoding`, `Host`,
    /// cookies), with `tls_profile` for https pool keys. `now` is the driver's monotonic clock
    /// and `wall` the matching wall-clock time (for cookie lifetimes). Fails before any I/O on
    /// an unusable URL or header.
    ///
    /// The call comes boxed: it is about a KiB, and the drivers keep it in place while their
    /// exchange and its response move around.
    pub fn new(
        config: &Arc<ClientConfig>,
        request: RequestParts,
        tls_profile: u64,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Box<Call>, Error> {
        let RequestParts {
            method,
            url,
            headers,
            body,
            timeouts,
            redirect,
            cookies,
            auth,
            body_bytes,
            retry,
            entropy,
            proxy: proxy_override,
            omit,
        } = request;
        if config.https_only && url.scheme() != "https" {
            let message = format!("{} refused: the client is https only", url.scheme());
            return Err(Error::msg(ErrorKind::InvalidUrl, message).with_url(&url));
        }
        let proxy = route(config, proxy_override.as_ref(), &url);
        // Credentials: the request's own, else the URL's userinfo, else the client's.
        let auth = match (auth, BasicAuth::from_userinfo(&url)) {
            (Some(auth), _) => Some(auth),
            (None, Some(userinfo)) => {
                let basic = userinfo.map_err(|e| Error::new(ErrorKind::Auth, e).with_url(&url))?;
                Some(Arc::new(basic) as Arc<dyn Auth>)
            }
            (None, None) => config.auth.clone(),
        };
        let origin = Origin::of(&url)?;
        let session = Session::new(config, redirect, cookies, omit, &origin, now, wall);
        let head = session.head(&method, &url, &headers, now, proxy.as_ref())?;
        let timeouts = timeouts.unwrap_or(config.timeouts);
        let mut call = Box::new(Call {
            key: Self::key(origin, tls_profile, proxy),
            body: body_plan(&method, body, &headers),
            method,
            url,
            head,
            headers,
            tls_profile,
            session,
            draining: None,
            auth,
            flow: None,
            auth_rounds: 0,
            body_bytes,
            rewind: false,
            replay: None,
            retry_policy: retry.map(Box::new),
            retry: None,
            entropy,
            sent_any: false,
            proxy_override: proxy_override.map(Box::new),
            tunnel: None,
            tunnel_error: None,
            resolved_target: None,
            proxy_flow: None,
            proxy_rounds: 0,
            connect_head: None,
            connect_challenge: None,
            tunnel_reconnect: false,
            auto_expect: false,
            released: None,
            abandoned: None,
            restart_body: false,
            timeouts,
            // A timeout beyond what `Instant` holds is none.
            total_deadline: timeouts.total.and_then(|t| now.checked_add(t)),
            state: State::Connect,
            conn: None,
            remote: None,
            reused: false,
            retried: false,
            received_any: false,
            got_head: false,
            trailers: None,
            waiting: None,
            answered_at: None,
            unsent: None,
            early: None,
        });
        call.start_auth()?;
        Ok(call)
    }

    fn key(origin: Origin, tls_profile: u64, proxy: Option<Proxy>) -> PoolKey {
        let tls = origin.is_tls() || proxy.as_ref().is_some_and(|p| p.scheme().is_tls());
        PoolKey {
            origin,
            tls_profile: if tls { tls_profile } else { 0 },
            proxy,
        }
    }

    /// The origin's address, resolved by the driver for a `socks5://` proxy (which wants an
    /// address, not a name); call before [`connected`](Self::connected).
    pub fn set_resolved_target(&mut self, address: std::net::IpAddr) {
        self.resolved_target = Some(address);
    }

    /// The redirect responses followed so far, oldest first.
    pub fn history(&self) -> &[HistoryEntry] {
        &self.session.history
    }

    /// The URL requested.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The current URL, shared.
    pub(crate) fn shared_url(&self) -> Arc<Url> {
        Arc::clone(&self.url)
    }

    /// How long the call took to get its final response head: from [`Call::new`] (getting a
    /// connection, redirects and authentication rounds included) until
    /// [`Action::Response`] was handed out; zero until then.
    pub fn elapsed(&self) -> Duration {
        self.answered_at.map_or(Duration::ZERO, |at| {
            at.saturating_duration_since(self.session.started())
        })
    }

    /// The wall-clock time the call started at (the `wall` given to [`Call::new`]); add
    /// [`elapsed`](Self::elapsed) for the time its final response head arrived.
    pub fn started_wall_time(&self) -> SystemTime {
        self.session.started_wall()
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request head as it goes on the wire (after defaults were merged).
    pub fn request_head(&self) -> &RequestHead {
        &self.head
    }

    /// The protocol limits in force.
    pub fn limits(&self) -> &Limits {
        &self.session.config.limits
    }

    /// The pool key of the connection this call uses.
    pub fn pool_key(&self) -> &PoolKey {
        &self.key
    }

    /// How the response body is framed, once the response head has arrived.
    pub fn body_framing(&self) -> Option<crate::BodyFraming> {
        self.conn.as_deref().and_then(Connection::body_framing)
    }

    /// The response body's length as its framing announces it, before content decoding
    /// (`Content-Length`, or 0 for a body the status or method rules out); `None` when
    /// chunked, read to the close, or before the head.
    pub fn body_length(&self) -> Option<u64> {
        match self.body_framing()? {
            crate::BodyFraming::Length(n) => Some(n),
            crate::BodyFraming::None => Some(0),
            _ => None,
        }
    }

    /// The decoder for the delivered response's body (`head` is the one
    /// [`Action::Response`] handed out): `None` when the client does not decompress, when the
    /// body is empty by its framing, when its `Content-Encoding` asks for nothing to undo, or
    /// when it names a coding duet does not decode (a misconfigured `utf-8`, `br` without
    /// its feature): then the body is handed over as it came, its `Content-Encoding` intact,
    /// as requests, httpx and reqwest do. More codings than the limit allows is an
    /// [`ErrorKind::Decode`].
    pub fn content_decoder(&self, head: &ResponseHead) -> Result<Option<ContentDecoder>, Error> {
        if !self.session.config.decompress || self.body_length() == Some(0) {
            return Ok(None);
        }
        // The usual response names no coding: the parser saw neither field, so there is
        // nothing to look up.
        if !head.facts.content_encoding && !head.facts.transfer_encoding {
            return Ok(None);
        }
        match ContentDecoder::from_headers(head.headers(), self.limits()) {
            Err(crate::DecodeError::Unsupported { coding }) => {
                log::debug!(
                    "{} {}: the body is left as it came: duet does not decode the content coding {coding:?}",
                    self.method,
                    RedactedUrl(&self.url),
                );
                Ok(None)
            }
            decoder => decoder.map_err(|e| Error::new(ErrorKind::Decode, e).with_url(&self.url)),
        }
    }

    /// The trailer fields, once a chunked body with trailers has ended.
    pub fn trailers(&self) -> Option<&Headers> {
        self.trailers.as_deref()
    }

    /// The deadline for an action of `phase` handed out at `now`: `limit` from now, or the
    /// request's total deadline if that comes first. After an early wake-up from the same
    /// wait, the deadline it had: a wait that made no progress does not start over.
    fn deadline(
        &mut self,
        now: Instant,
        limit: Option<Duration>,
        asked: TimeoutPhase,
    ) -> Option<Instant> {
        if let Some(waiting) = self.waiting
            && waiting.woke_early
            && waiting.asked == asked
        {
            self.waiting = Some(Waiting {
                woke_early: false,
                ..waiting
            });
            return Some(waiting.deadline);
        }
        let own = limit.and_then(|d| now.checked_add(d));
        let (deadline, phase) = match (own, self.total_deadline) {
            (Some(a), Some(t)) if t < a => (Some(t), TimeoutPhase::Total),
            (None, Some(t)) => (Some(t), TimeoutPhase::Total),
            (a, _) => (a, asked),
        };
        self.waiting = deadline.map(|deadline| Waiting {
            deadline,
            phase,
            asked,
            woke_early: false,
        });
        deadline
    }

    fn fail<T>(&mut self, error: impl Into<Error>) -> Result<T, Error> {
        self.state = State::Failed;
        self.conn = None;
        Err(error.into().with_url(&self.url))
    }

    /// What to do next, at time `now`. Errors are final.
    pub fn poll_action(&mut self, now: Instant) -> Result<Action<'_>, Error> {
        self.poll_action_max(now, usize::MAX)
    }

    /// Like [`poll_action`](Self::poll_action), with [`Action::Data`] at most `max_data` bytes
    /// long, so a driver can copy it straight into its caller's buffer.
    pub fn poll_action_max(&mut self, now: Instant, max_data: usize) -> Result<Action<'_>, Error> {
        match self.state {
            State::Failed => {
                Err(Error::msg(ErrorKind::Io, "the request already failed").with_url(&self.url))
            }
            State::Finished => Ok(Action::Finished),
            State::Backoff(until) if now < until => Ok(Action::Sleep { until }),
            State::Backoff(_) => {
                // The retry goes out with the cookies the jar holds now (the answer retried
                // may have set one), and with credentials written anew by fresh flows: a
                // Digest answer counts on rather than replaying the last one (a server may
                // refuse a count it saw), and the retry's own challenge is a round of its own.
                if let Err(e) =
                    self.session
                        .refresh_cookie(&mut self.head, &self.url, &self.headers, now)
                {
                    return self.fail(e);
                }
                self.start_flows()?;
                self.state = State::Connect;
                self.poll_action_max(now, max_data)
            }
            State::Connect => {
                let pool_deadline = self.deadline(now, self.timeouts.pool, TimeoutPhase::Pool);
                let connect_deadline =
                    self.deadline(now, self.timeouts.connect, TimeoutPhase::Connect);
                Ok(Action::Connect(ConnectTo {
                    key: self.key.clone(),
                    fresh: self.retried,
                    restart_body: self.restart_body,
                    pool_deadline,
                    connect_deadline,
                    resolve_origin: self
                        .key
                        .proxy
                        .as_ref()
                        .is_some_and(|p| p.scheme() == ProxyScheme::Socks5),
                }))
            }
            State::Exchange => self.exchange_action(now, max_data),
        }
    }

    fn exchange_action(&mut self, now: Instant, max_data: usize) -> Result<Action<'_>, Error> {
        if self.tunnel.is_some() {
            match self.tunnel_step(now) {
                Err(e) => return self.fail(e),
                Ok(TunnelStep::Transmit(deadline)) => {
                    return Ok(Action::Transmit {
                        bytes: self.tunnel_bytes(),
                        deadline,
                        listen: false,
                    });
                }
                Ok(TunnelStep::Receive(deadline)) => return Ok(Action::Receive { deadline }),
                Ok(TunnelStep::StartTls(host)) => return Ok(Action::StartTls { host }),
                Ok(TunnelStep::Open) => self.begin_exchange(None, now)?,
                Ok(TunnelStep::Reconnect) => {
                    self.state = State::Connect;
                    self.reused = false;
                    self.waiting = None;
                    return self.poll_action_max(now, max_data);
                }
            }
        }
        if std::mem::take(&mut self.rewind) {
            return Ok(Action::RestartBody);
        }
        if let Some((body, sent)) = &mut self.replay {
            if *sent < body.len() {
                let start = *sent;
                *sent = (start + max_data.max(1)).min(body.len());
                let end = *sent;
                return Ok(Action::Data(
                    &self.replay.as_ref().expect("just checked").0[start..end],
                ));
            }
            self.replay = None;
            self.state = State::Finished;
            return Ok(Action::Finished);
        }
        let Some(conn) = self.conn.as_mut() else {
            // Not reachable through the actions; guarded so a confused driver gets an error.
            return self.fail(Error::msg(ErrorKind::Io, "the request has no connection"));
        };
        // An answer that came while the request was still going out (the driver listened:
        // see `listens_while_sending`) is looked at before sending more; a success held back
        // waits for the rest to go out.
        let early = !self.got_head && self.early.is_none() && conn.has_input();
        if !early {
            if conn.poll_transmit().is_some() {
                return Ok(self.transmit_action(now));
            }
            if conn.send_state() == crate::SendState::Body {
                return Ok(self.send_body_action(now));
            }
        }
        loop {
            let conn = self.conn.as_mut().expect("connected");
            let polled = match self.early.take() {
                // The request has gone out (or been cut short): a success held back is next.
                Some(head) => Ok(Some(Output::Response(*head))),
                None => conn.poll_output(max_data),
            };
            let output = match polled {
                Ok(output) => output,
                Err(e)
                    if e == ProtocolError::Remote(RemoteError::ClosedBeforeResponse)
                        && self.may_retry() =>
                {
                    self.log_stale_retry(&e);
                    self.retry();
                    return self.poll_action_max(now, max_data);
                }
                Err(e) => {
                    // A server that closed after the request could not be written: the
                    // write's error says more.
                    let error = match self.unsent.take() {
                        Some(unsent) => *unsent,
                        None => Error::from(e),
                    };
                    self.attempt_failed(error, now)?;
                    return self.poll_action_max(now, max_data);
                }
            };
            match output {
                Some(Output::Interim(_)) => continue, // 100 Continue already released the body
                Some(Output::Response(head)) => {
                    if conn.poll_transmit().is_some() || conn.send_state() == crate::SendState::Body
                    {
                        // The server answered before taking the whole request (RFC 9112
                        // §9.5). An error means it does not want the rest: the rest is not
                        // sent, and the connection is not reused. A success (a server that
                        // writes its head first and reads on) gets the rest first, and is
                        // handed out after it; curl does the same.
                        if head.status().is_success() {
                            log::debug!(
                                "{} {}: the server answered {} before the request was sent to its end; the rest is sent first",
                                self.method,
                                RedactedUrl(&self.url),
                                head.status(),
                            );
                            self.early = Some(Box::new(head));
                            return self.poll_action_max(now, max_data);
                        }
                        log::debug!(
                            "{} {}: the server answered before the request was sent to its end; the rest is not sent",
                            self.method,
                            RedactedUrl(&self.url),
                        );
                        conn.abandon_request();
                    }
                    self.got_head = true;
                    // An answer came after all: a later error is the body's own.
                    self.unsent = None;
                    log::debug!(
                        "{} {}: {}",
                        self.method,
                        RedactedUrl(&self.url),
                        head.status()
                    );
                    self.session.received(&self.url, &head, now);
                    if let Some(wait) = self.retry_status(&head, now) {
                        // The policy retries only after a wait the clock can hold.
                        self.draining = Some(Box::new((Drain::Backoff(now + wait), 0)));
                        continue;
                    }
                    if self.auth_wants_body(&head) {
                        self.draining = Some(Box::new((Drain::Respond(head, Vec::new()), 0)));
                        continue;
                    }
                    if head.status() == http::StatusCode::EXPECTATION_FAILED
                        && std::mem::take(&mut self.auto_expect)
                        && self.body_can_go_again()
                    {
                        // A server that refuses the 100-continue duet asked for on its own
                        // gets the request again without it, as curl sends it.
                        log::debug!(
                            "{} {}: 417: the server refuses Expect: 100-continue; sending the request again without it",
                            self.method,
                            RedactedUrl(&self.url),
                        );
                        self.head.headers_mut().remove("expect");
                        let bound_to = self.bound_to_connection(&head);
                        self.draining = Some(Box::new((Drain::Retry { bound_to }, 0)));
                        continue;
                    }
                    if self.auth_step(&head, None)? == AuthStep::Retry {
                        let bound_to = self.bound_to_connection(&head);
                        self.draining = Some(Box::new((Drain::Retry { bound_to }, 0)));
                        continue;
                    }
                    match self.session.chain.next_hop(
                        head.status(),
                        &self.method,
                        &self.url,
                        head.headers(),
                        &mut self.headers,
                    ) {
                        Ok(None) => {
                            self.answered_at = Some(now);
                            return Ok(Action::Response(head));
                        }
                        Ok(Some(next)) => {
                            if next.body == BodyAction::Keep && !self.body_can_go_again() {
                                let status = head.status().as_u16();
                                let message = format!(
                                    "a {status} redirect needs the request body again, and it cannot be replayed"
                                );
                                let error = Error::msg(ErrorKind::Redirect, message)
                                    .with_history(self.session.history.clone());
                                return self.fail(error);
                            }
                            log::debug!(
                                "{} {}: following the redirect to {} {}",
                                self.method,
                                RedactedUrl(&self.url),
                                next.method,
                                RedactedUrl(&next.url)
                            );
                            self.session.record(&self.url, &head);
                            self.draining = Some(Box::new((Drain::Redirect(next), 0)));
                        }
                        Err(e) => {
                            let error = self.session.redirect_error(e, &self.url);
                            return self.fail(error);
                        }
                    }
                }
                Some(Output::Data(range)) => {
                    let Some((drain, drained)) = self.draining.as_deref_mut() else {
                        return Ok(Action::Data(
                            self.conn.as_ref().expect("connected").output_data(range),
                        ));
                    };
                    *drained += range.len() as u64;
                    let over = *drained > self.session.config.limits.max_drain_bytes;
                    if let Drain::Respond(_, body) = drain {
                        if over {
                            return self.fail(auth::challenge_too_large());
                        }
                        body.extend_from_slice(
                            self.conn.as_ref().expect("connected").output_data(range),
                        );
                    } else if over {
                        self.conn = None; // too much to drain: close it instead
                        self.after_drain(now)?;
                        return self.poll_action_max(now, max_data);
                    }
                }
                Some(Output::Trailers(trailers)) => self.trailers = Some(Box::new(trailers)),
                Some(Output::End) if self.draining.is_some() => {
                    if let Some(head) = self.after_drain(now)? {
                        self.answered_at = Some(now);
                        return Ok(Action::Response(head));
                    }
                    return self.poll_action_max(now, max_data);
                }
                Some(Output::End) => {
                    self.state = State::Finished;
                    self.waiting = None;
                    return Ok(Action::Finished);
                }
                Some(Output::Upgraded) if self.draining.is_some() => {
                    self.conn = None;
                    if let Some(head) = self.after_drain(now)? {
                        self.answered_at = Some(now);
                        return Ok(Action::Response(head));
                    }
                    return self.poll_action_max(now, max_data);
                }
                Some(Output::Upgraded) => {
                    self.state = State::Finished;
                    return Ok(Action::Upgraded);
                }
                None => break,
            }
        }
        let conn = self.conn.as_ref().expect("connected");
        if conn.poll_transmit().is_some() {
            return Ok(self.transmit_action(now)); // what came early was no answer yet
        }
        if conn.send_state() == crate::SendState::Body {
            return Ok(self.send_body_action(now)); // the 100 Continue just arrived
        }
        let phase = if self.got_head {
            TimeoutPhase::ReadBody
        } else {
            TimeoutPhase::ReadHead
        };
        let mut deadline = self.deadline(now, self.timeouts.read, phase);
        if let Some(cont) = self.conn.as_deref().and_then(Connection::poll_timeout)
            && deadline.is_none_or(|d| cont < d)
        {
            deadline = Some(cont); // handle_timeout will release the body, not fail
        }
        Ok(Action::Receive { deadline })
    }

    /// A drained response is behind us: follow the redirect, send the request again for the
    /// auth flow, or (a flow that read the body and was satisfied) deliver the response, whose
    /// buffered body is then replayed.
    fn after_drain(&mut self, now: Instant) -> Result<Option<ResponseHead>, Error> {
        match self.draining.take().expect("a drained response").0 {
            Drain::Redirect(next) => {
                self.released = self
                    .conn
                    .take()
                    .and_then(|mut c| c.start_next_cycle().is_ok().then_some(c));
                self.next_hop(next, now)?;
                Ok(None)
            }
            Drain::Retry { bound_to } => {
                self.resend(now, bound_to)?;
                Ok(None)
            }
            Drain::Backoff(until) => {
                self.released = self
                    .conn
                    .take()
                    .and_then(|mut c| c.start_next_cycle().is_ok().then_some(c));
                self.schedule_retry(until);
                Ok(None)
            }
            Drain::Respond(head, body) => match self.auth_step(&head, Some(&body))? {
                AuthStep::Retry => {
                    let bound_to = self.bound_to_connection(&head);
                    self.resend(now, bound_to)?;
                    Ok(None)
                }
                AuthStep::Done => {
                    self.replay = Some((body, 0));
                    Ok(Some(head))
                }
            },
        }
    }

    /// Moves to the redirect target decided while draining: new URL, method, body and head.
    fn next_hop(&mut self, next: NextHop, now: Instant) -> Result<(), Error> {
        let origin = match Origin::of(&next.url) {
            Ok(origin) => origin,
            Err(e) => return self.fail(e),
        };
        let proxy = route(
            &self.session.config,
            self.proxy_override.as_deref(),
            &next.url,
        );
        let head =
            match self
                .session
                .head(&next.method, &next.url, &self.headers, now, proxy.as_ref())
            {
                Ok(head) => head,
                Err(e) => return self.fail(e),
            };
        self.body = match next.body {
            BodyAction::Keep => self.body,
            BodyAction::Drop => body_plan(&next.method, BodyPlan::NONE, &self.headers),
        };
        self.restart_body = next.body == BodyAction::Keep;
        self.key = Self::key(origin, self.tls_profile, proxy);
        self.resolved_target = None;
        self.head = head;
        self.method = next.method;
        self.url = Arc::new(next.url);
        self.state = State::Connect;
        self.reused = false;
        self.retried = false;
        self.got_head = false;
        self.trailers = None;
        self.waiting = None;
        self.start_auth()
    }

    fn may_retry(&self) -> bool {
        self.reused && !self.retried && !self.received_any && self.retry_safe()
    }

    /// Whether the request may go out twice: an idempotent method (RFC 9110 §9.2.2) and a
    /// body that can be sent again.
    fn retry_safe(&self) -> bool {
        let idempotent = matches!(
            self.method,
            Method::GET
                | Method::HEAD
                | Method::PUT
                | Method::DELETE
                | Method::OPTIONS
                | Method::TRACE
        );
        idempotent && self.body.replayable
    }

    fn log_stale_retry(&self, why: &dyn std::fmt::Display) {
        log::debug!(
            "{} {}: the reused connection failed before any answer ({why}); sending the request again on a new connection",
            self.method,
            RedactedUrl(&self.url),
        );
    }

    fn retry(&mut self) {
        self.unsent = None;
        self.early = None;
        self.retried = true;
        self.restart_body = true;
        self.reused = false;
        self.conn = None;
        self.state = State::Connect;
        self.waiting = None;
    }

    /// The address of the peer (the server, or the proxy) the connection about to be passed
    /// to [`connected`](Self::connected) goes to, when it has one (not a Unix socket or a
    /// mounted transport): the log names it, as curl's "Connected to" does.
    pub fn set_remote_addr(&mut self, remote: Option<std::net::SocketAddr>) {
        self.remote = remote;
    }

    /// The driver has a connection: `Some` pooled one (reused) or `None` for a new socket.
    pub fn connected(&mut self, conn: Option<Box<Connection>>, now: Instant) -> Result<(), Error> {
        if self.state != State::Connect {
            return self.fail(Error::msg(
                ErrorKind::Io,
                "connected() without a Connect action",
            ));
        }
        self.reused = conn.is_some();
        if self.reused {
            self.tunnel_reconnect = false; // a pooled tunnel needs no CONNECT
        }
        log::debug!(
            "{} {}: {} connection to {}{}{}",
            self.method,
            RedactedUrl(&self.url),
            if self.reused { "reusing a" } else { "a new" },
            self.key.origin,
            match &self.key.proxy {
                Some(proxy) => format!(" through the proxy {proxy}"),
                None => String::new(),
            },
            match self.remote {
                Some(remote) => format!(" ({remote})"),
                None => String::new(),
            },
        );
        self.state = State::Exchange;
        self.received_any = false;
        self.restart_body = false;
        self.sent_any = false;
        self.unsent = None;
        self.early = None;
        if conn.is_none() && self.needs_tunnel() {
            // A new connection to the proxy becomes a tunnel first (see `tunnel`).
            self.conn = None;
            if let Err(e) = self.start_tunnel(now) {
                return self.fail(e);
            }
            return Ok(());
        }
        self.begin_exchange(conn, now)
    }

    /// Sends the request on `conn` (a pooled one) or a new connection state.
    fn begin_exchange(&mut self, conn: Option<Box<Connection>>, now: Instant) -> Result<(), Error> {
        let mut conn =
            conn.unwrap_or_else(|| Box::new(Connection::new(self.session.config.limits.clone())));
        if let Err(e) = conn.send_request(&self.head, self.body.framing, now) {
            return self.fail(e);
        }
        self.session
            .sending(&self.url, &self.head, self.body.framing);
        self.conn = Some(conn);
        Ok(())
    }

    /// `n` bytes of a [`Action::Transmit`] were written.
    pub fn transmitted(&mut self, n: usize) {
        if self.tunnel.is_some() {
            return self.tunnel_transmitted(n);
        }
        self.sent_any |= n > 0;
        if let Some(conn) = &mut self.conn {
            conn.advance_transmit(n);
        }
    }

    /// Body bytes for [`Action::SendBody`].
    pub fn send_body(&mut self, data: &[u8]) -> Result<(), Error> {
        match self.conn.as_mut().map(|c| c.send_body(data)) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => self.fail(e),
            None => self.fail(Error::msg(ErrorKind::Body, "no request is being sent")),
        }
    }

    /// Body bytes for [`Action::SendBody`] that the driver holds in a shared buffer: queued
    /// without a copy (an in-memory body, a stream's pieces).
    pub fn send_body_shared(&mut self, data: bytes::Bytes) -> Result<(), Error> {
        match self.conn.as_mut().map(|c| c.send_body_shared(data)) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => self.fail(e),
            None => self.fail(Error::msg(ErrorKind::Body, "no request is being sent")),
        }
    }

    /// Room for up to `max` bytes of the next body piece, for [`Action::SendBody`] without a
    /// copy: read the source into it, then call [`body_filled`](Self::body_filled) (or
    /// [`send_end`](Self::send_end) when the source is exhausted). Asking again before that
    /// is harmless.
    pub fn body_room(&mut self, max: usize) -> Result<&mut [u8], Error> {
        let sending = self
            .conn
            .as_deref()
            .is_some_and(|c| c.error().is_none() && c.send_state() == crate::SendState::Body);
        if !sending {
            return self.fail(Error::msg(ErrorKind::Body, "no request body is being sent"));
        }
        Ok(self
            .conn
            .as_deref_mut()
            .and_then(|c| c.body_room(max))
            .unwrap_or_default())
    }

    /// The first `n` bytes of the last [`body_room`](Self::body_room) are body bytes.
    pub fn body_filled(&mut self, n: usize) -> Result<(), Error> {
        match self.conn.as_mut().map(|c| c.body_filled(n)) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => self.fail(e),
            None => self.fail(Error::msg(ErrorKind::Body, "no request is being sent")),
        }
    }

    /// The body source ended.
    pub fn send_end(&mut self) -> Result<(), Error> {
        match self.conn.as_mut().map(|c| c.send_end(None)) {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => self.fail(e),
            None => self.fail(Error::msg(ErrorKind::Body, "no request is being sent")),
        }
    }

    /// The body source failed; the request fails with [`ErrorKind::Body`].
    pub fn body_failed(&mut self, error: io::Error) -> Error {
        self.fail::<()>(Error::new(ErrorKind::Body, error))
            .unwrap_err()
    }

    /// A buffer of at least `min` bytes to read into, for [`Action::Receive`].
    pub fn input_buffer(&mut self, min: usize) -> &mut [u8] {
        if self.tunnel.is_some() {
            return self.tunnel_input_buffer(min);
        }
        self.conn
            .as_mut()
            .expect("receive without a connection")
            .input_buffer(min)
    }

    /// Where to read for [`Action::Receive`] when the caller gave a buffer of `caller` bytes
    /// for body data (0 when it gave none), and how much: [`ReceiveInto::Caller`] when the
    /// body bytes that come next on the wire have no framing in between and go to the caller
    /// as they are, else [`ReceiveInto::Buffer`] with how much to read into
    /// [`input_buffer`](Self::input_buffer): at most `default`, as
    /// [`Connection::read_len`] sizes it.
    ///
    /// A read of `n > 0` bytes into the caller's buffer is reported with
    /// [`commit_direct`](Self::commit_direct) and is the caller's data (no
    /// [`Action::Data`] follows for it); a read of 0 is [`handle_eof`](Self::handle_eof).
    pub fn receive_into(&self, caller: usize, default: usize) -> ReceiveInto {
        let conn = match &self.conn {
            Some(conn) if self.tunnel.is_none() => conn,
            _ => return ReceiveInto::Buffer(default),
        };
        let direct = caller > 0
            && self.state == State::Exchange
            && self.draining.is_none()
            && self.replay.is_none();
        if !direct {
            return ReceiveInto::Buffer(conn.read_len(default));
        }
        match usize::try_from(conn.direct_body_len()).unwrap_or(usize::MAX) {
            0 => ReceiveInto::Buffer(conn.read_len(default)),
            n => {
                let len = n.min(caller);
                let then = conn.framing_after_direct(len as u64);
                let more = if then > 0 { caller - len } else { 0 };
                ReceiveInto::Caller { len, then, more }
            }
        }
    }

    /// `n` body bytes were read straight into the caller's buffer, as
    /// [`receive_into`](Self::receive_into) allowed.
    ///
    /// # Panics
    /// If `n` is more than [`receive_into`](Self::receive_into) allowed.
    pub fn commit_direct(&mut self, n: usize) {
        let conn = self
            .conn
            .as_mut()
            .expect("a direct read without a connection");
        conn.commit_direct_body(n);
        self.received_any |= n > 0;
    }

    /// A read allowed by [`ReceiveInto::Caller`] took all its `then` framing bytes (already
    /// given to [`commit_input`](Self::commit_input)) and the bytes `after` them, put in the
    /// caller's buffer right after the body bytes: how many of those, from the start, are
    /// body data, the caller's as [`commit_direct`](Self::commit_direct)'s are. The rest are
    /// not: they are copied in as input here, and the driver drops them from the caller's
    /// buffer.
    ///
    /// # Panics
    /// Without a connection (no read was allowed).
    pub fn commit_direct_more(&mut self, after: &[u8]) -> usize {
        let conn = self
            .conn
            .as_mut()
            .expect("a direct read without a connection");
        conn.commit_direct_more(after)
    }

    /// `n` bytes were read into [`input_buffer`](Self::input_buffer).
    pub fn commit_input(&mut self, n: usize) {
        if self.tunnel.is_some() {
            return self.tunnel_commit_input(n);
        }
        if let Some(conn) = &mut self.conn {
            conn.commit_input(n);
            self.received_any |= n > 0;
        }
    }

    /// A read for [`Action::Receive`] put `n` bytes into [`input_buffer`](Self::input_buffer):
    /// [`commit_input`](Self::commit_input), or [`handle_eof`](Self::handle_eof) for 0.
    pub fn commit_read(&mut self, n: usize) {
        match n {
            0 => self.handle_eof(),
            n => self.commit_input(n),
        }
    }

    /// The connection reached end of stream.
    pub fn handle_eof(&mut self) {
        if self.tunnel.is_some() {
            return self.tunnel_eof();
        }
        if let Some(conn) = &mut self.conn {
            conn.handle_eof();
        }
    }

    /// A deadline from the last action passed at `now`. Ends the `100 Continue` wait, or fails
    /// with [`ErrorKind::Timeout`] naming the phase (or `Total` for the request's deadline).
    /// Called before the deadline (a socket timeout that fired early, a signal), it does
    /// nothing, and the action handed out next waits on to the same deadline.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if let Some(conn) = &mut self.conn
            && conn.poll_timeout().is_some_and(|d| now >= d)
        {
            conn.handle_timeout(now);
            return Ok(());
        }
        match self.waiting {
            Some(waiting) if now < waiting.deadline => {
                self.waiting = Some(Waiting {
                    woke_early: true,
                    ..waiting
                });
                Ok(())
            }
            Some(Waiting { phase, .. }) => {
                let after = match phase {
                    TimeoutPhase::Pool => self.timeouts.pool,
                    TimeoutPhase::Connect => self.timeouts.connect,
                    TimeoutPhase::Write => self.timeouts.write,
                    TimeoutPhase::ReadHead | TimeoutPhase::ReadBody => self.timeouts.read,
                    TimeoutPhase::Total => self.timeouts.total,
                };
                self.attempt_failed(Error::timeout(phase, after), now)
            }
            None => Ok(()),
        }
    }

    /// The deadline for finishing the connection (DNS, TCP, TLS, the proxy tunnel).
    pub fn connect_deadline(&self) -> Option<Instant> {
        self.waiting.map(|waiting| waiting.deadline)
    }

    /// How long to wait for the body source after [`Action::SendBody`]: the request's total
    /// deadline, if it has one (no other timeout covers the caller's source). When it passes
    /// with no data, call [`handle_timeout`](Self::handle_timeout), which fails the request.
    pub fn body_deadline(&self) -> Option<Instant> {
        self.waiting.map(|waiting| waiting.deadline)
    }

    /// Writing what the connection has queued, under the write timeout.
    fn transmit_action(&mut self, now: Instant) -> Action<'_> {
        let deadline = self.deadline(now, self.timeouts.write, TimeoutPhase::Write);
        let listen = self.listens_while_sending();
        let bytes = self
            .conn
            .as_deref()
            .and_then(Connection::poll_transmit)
            .unwrap_or_default();
        Action::Transmit {
            bytes,
            deadline,
            listen,
        }
    }

    /// Whether the driver should listen for the server while the pending
    /// [`Action::Transmit`] waits for room (its `listen`): the request is still going out, no
    /// answer has come and the server has not closed. A server may answer before it takes
    /// the whole request (a 413 to an upload too large) and then read no more; RFC 9112 §9.5
    /// asks a client to watch for that. When the connection turns readable before writable,
    /// read what is there without waiting into [`input_buffer`](Self::input_buffer) and report
    /// it ([`commit_input`](Self::commit_input), [`handle_eof`](Self::handle_eof) or
    /// [`io_failed`](Self::io_failed)) instead of writing; the next action says what to do
    /// (an error answer ends the upload; a success is handed out once the rest has gone out,
    /// and nothing more is listened for; a 1xx changes nothing). Listening is optional: a
    /// driver that cannot still sees such an answer when the server resets the connection.
    pub fn listens_while_sending(&self) -> bool {
        self.sending_before_answer()
            && self.early.is_none()
            && self.conn.as_deref().is_some_and(|c| !c.is_closed_by_peer())
    }

    /// Whether the request body can go with the next request: it can be replayed, or none of
    /// it was sent (the server answered while `100 Continue` was awaited), so a stream is
    /// still whole.
    fn body_can_go_again(&self) -> bool {
        self.body.replayable || self.conn.as_deref().is_some_and(Connection::body_withheld)
    }

    /// Whether no more of the request will be sent: the server answered before taking it
    /// whole, or writing it failed. What a driver's transport still holds of it (TLS records
    /// not yet written) is then best dropped before the next read, which would otherwise
    /// write it first, to a server that may read no more.
    pub fn request_cut_short(&self) -> bool {
        self.conn
            .as_deref()
            .is_some_and(|c| c.send_state() == crate::SendState::Cancelled)
    }

    /// Whether the request is still being written (bytes wait to go out) and no answer has
    /// come: when the server may answer early.
    fn sending_before_answer(&self) -> bool {
        self.state == State::Exchange
            && self.tunnel.is_none()
            && !self.got_head
            && self
                .conn
                .as_deref()
                .is_some_and(|c| c.poll_transmit().is_some())
    }

    /// [`Action::SendBody`], with the wait for the source bounded by the total deadline.
    fn send_body_action(&mut self, now: Instant) -> Action<'static> {
        self.deadline(now, None, TimeoutPhase::Total);
        Action::SendBody
    }

    /// The driver failed to start TLS over the tunnel: the request fails with `error`.
    pub fn fail_with(&mut self, error: Error) -> Error {
        self.fail::<()>(error).unwrap_err()
    }

    /// Getting a connection failed (connect, TLS, pool). Returns `Ok` when the retry policy
    /// sends the request again (poll on), else the error to report.
    ///
    /// When the connection was to a proxy, the error says so: "connection refused" alone
    /// would blame the server of the URL (a proxy left in the environment is a usual cause).
    pub fn connect_failed(&mut self, error: Error, now: Instant) -> Result<(), Error> {
        let to_proxy = error.is_connect() || error.timeout_phase() == Some(TimeoutPhase::Connect);
        let error = match &self.key.proxy {
            Some(proxy) if to_proxy => {
                error.with_context(format!("connecting to the proxy {proxy}"))
            }
            _ => error,
        };
        self.attempt_failed(error, now)
    }

    /// Reading or writing the connection failed. Returns `Ok` when the request will be sent
    /// again (a stale pooled connection, or the retry policy) or a response may still be
    /// read (below), else the error to report.
    ///
    /// A server may answer before it has read the whole request and then stop reading,
    /// resetting the connection: a 413 to an upload too large, a 401 before the body. The
    /// answer is then already received when writing the rest fails. So a write that fails
    /// with a reset or a broken pipe before any response abandons the request and reads
    /// what the server sent, as urllib3 and httpx do; the write's error is reported only
    /// when no response comes.
    ///
    /// An `UnexpectedEof` error (rustls's TLS end without close_notify) is taken as the
    /// connection's end, as [`handle_eof`](Self::handle_eof), except that a body framed by
    /// that end fails with [`RemoteError::UncleanEnd`](crate::RemoteError::UncleanEnd).
    pub fn io_failed(&mut self, error: io::Error, now: Instant) -> Result<(), Error> {
        if error.kind() == io::ErrorKind::UnexpectedEof && self.end_uncleanly() {
            return Ok(());
        }
        let phase = self.waiting.map_or(TimeoutPhase::ReadHead, |w| w.phase);
        if self.unsent.is_none() && self.may_have_answered(&error) {
            log::debug!(
                "{} {}: the server stopped reading the request ({error}); reading the answer it may have sent",
                self.method,
                RedactedUrl(&self.url),
            );
            self.unsent = Some(Box::new(Error::from_io(error, phase)));
            if let Some(conn) = &mut self.conn {
                conn.abandon_request();
            }
            return Ok(());
        }
        if self.may_retry() {
            self.log_stale_retry(&error);
            self.retry();
            return Ok(());
        }
        let error = match self.unsent.take() {
            Some(unsent) => *unsent,
            None => Error::from_io(error, phase),
        };
        self.attempt_failed(error, now)
    }

    /// An `UnexpectedEof` error is rustls's word for a peer that closed without close_notify,
    /// which many servers do: the connection's end, judged by the response's framing like
    /// any other end, except that a body framed by the end fails
    /// ([`Connection::handle_unclean_eof`]). False (an I/O error after all) once the end is
    /// known, or through a tunnel still being set up.
    fn end_uncleanly(&mut self) -> bool {
        match (&self.tunnel, &mut self.conn) {
            (None, Some(conn)) if !conn.is_closed_by_peer() => {
                conn.handle_unclean_eof();
                true
            }
            _ => false,
        }
    }

    /// Whether `error`, met while the request was being written and before any response,
    /// leaves a response to look for: the server reset the connection, and may have
    /// answered first.
    fn may_have_answered(&self, error: &io::Error) -> bool {
        super::is_reset(error) && self.sending_before_answer()
    }

    /// A failed attempt: the retry policy may send the request again after a wait.
    fn attempt_failed(&mut self, error: Error, now: Instant) -> Result<(), Error> {
        if self.state == State::Failed {
            return Err(error.with_url(&self.url));
        }
        // A server that closed before answering is an I/O failure to the policy.
        let closed = error.protocol_error()
            == Some(&crate::Error::Remote(RemoteError::ClosedBeforeResponse));
        let kind = if closed { ErrorKind::Io } else { error.kind() };
        let attempt = Attempt::Error {
            kind,
            request_sent: self.sent_any,
        };
        match self.decide_retry(attempt, now) {
            RetryDecision::RetryAfter(wait) => {
                log::debug!(
                    "{} {}: {error}; the retry policy tries again in {wait:?}",
                    self.method,
                    RedactedUrl(&self.url),
                );
                self.schedule_retry(now + wait);
                Ok(())
            }
            RetryDecision::GiveUp => self.fail(error),
        }
    }

    /// What the retry policy makes of `attempt`, with fresh entropy for the jitter. A wait
    /// that would end at or past the request's total deadline is a `GiveUp`: sleeping into a
    /// timeout would only trade the last response or error for a later timeout.
    fn decide_retry(&mut self, attempt: Attempt<'_>, now: Instant) -> RetryDecision {
        let random = u64::from_le_bytes((self.entropy)()[..8].try_into().expect("8 bytes"));
        let wall = self.session.wall(now);
        let state = Self::retry_state(&mut self.retry, &mut self.retry_policy, &self.session);
        let decision = state.decide(
            &self.method,
            self.body.replayable,
            attempt,
            now,
            wall,
            random,
        );
        match (decision, self.total_deadline) {
            (RetryDecision::RetryAfter(wait), Some(deadline))
                if now.checked_add(wait).is_none_or(|until| until >= deadline) =>
            {
                log::debug!(
                    "{} {}: the retry policy would wait {wait:?}, past the request's deadline; \
                     no retry",
                    self.method,
                    RedactedUrl(&self.url),
                );
                RetryDecision::GiveUp
            }
            (decision, _) => decision,
        }
    }

    /// The retry state, made at the first decision: the policy, and the request's start
    /// for its time budget.
    fn retry_state<'a>(
        state: &'a mut Option<Box<RetryState>>,
        own: &mut Option<Box<RetryPolicy>>,
        session: &Session,
    ) -> &'a mut RetryState {
        state.get_or_insert_with(|| {
            let policy = own
                .take()
                .map_or_else(|| session.config.retry.clone(), |own| *own);
            Box::new(RetryState::new(policy, session.started()))
        })
    }

    /// The wait before retrying a response with this status, if the policy retries it.
    fn retry_status(&mut self, head: &ResponseHead, now: Instant) -> Option<Duration> {
        let policy = match (self.retry.as_deref(), self.retry_policy.as_deref()) {
            (Some(state), _) => state.policy(),
            (None, Some(own)) => own,
            (None, None) => &self.session.config.retry,
        };
        if !policy.statuses.contains(&head.status().as_u16()) {
            return None;
        }
        let attempt = Attempt::Response {
            status: head.status(),
            headers: head.headers(),
        };
        match self.decide_retry(attempt, now) {
            RetryDecision::RetryAfter(wait) => {
                log::debug!(
                    "{} {}: {}; the retry policy tries again in {wait:?}",
                    self.method,
                    RedactedUrl(&self.url),
                    head.status()
                );
                Some(wait)
            }
            RetryDecision::GiveUp => None,
        }
    }

    /// Starts the next attempt after a wait: the body from its start, a connection anew.
    fn schedule_retry(&mut self, until: Instant) {
        self.unsent = None;
        self.early = None;
        self.conn = None;
        // A tunnel being set up was the failed connection's: the next one may come tunneled
        // from the pool.
        self.tunnel = None;
        self.state = State::Backoff(until);
        self.restart_body = true;
        self.reused = false;
        self.got_head = false;
        self.trailers = None;
        self.waiting = None;
        self.sent_any = false;
    }

    /// After [`Action::Finished`]: the connection, ready for the next request, if it may be
    /// reused; `None` means close it.
    ///
    /// On an [`Action::Connect`] for a later hop, it returns the previous hop's connection
    /// when that one may be reused (its key is the previous hop's); so it does on an
    /// [`Action::Sleep`] before a retry, for the connection of the attempt that failed, which
    /// is not to be held through the wait.
    pub fn take_connection(&mut self) -> Option<Box<Connection>> {
        if let Some(conn) = self.released.take() {
            return Some(conn);
        }
        let reason = match self.state {
            State::Finished => self.conn.as_ref()?.not_reusable_because(),
            State::Exchange | State::Failed if self.conn.is_some() => Some(match self.abandoned {
                Some(Abandoned::Unread) => "the response was not read to its end",
                Some(Abandoned::Malformed) => "the rest of the response was malformed",
                None => "the exchange did not complete",
            }),
            _ => return None,
        };
        if let Some(reason) = reason {
            log::debug!(
                "{} {}: the connection to {} is closed, not reused: {reason}",
                self.method,
                RedactedUrl(&self.url),
                self.key.origin
            );
            if self.state == State::Finished {
                self.conn = None; // done with, and not for the pool
            }
            return None;
        }
        let mut conn = self.conn.take()?;
        conn.start_next_cycle().ok()?;
        Some(conn)
    }

    /// The caller stopped reading the body: consume whatever response bytes are already
    /// buffered, without more I/O. Returns whether the response completed that way (then
    /// [`take_connection`](Self::take_connection) may return it for reuse).
    pub fn finish_buffered(&mut self) -> bool {
        if self.state != State::Exchange {
            return self.state == State::Finished;
        }
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        if conn.send_state() != crate::SendState::Done {
            return false;
        }
        loop {
            match conn.poll_output(usize::MAX) {
                Ok(Some(Output::End)) => {
                    self.state = State::Finished;
                    return true;
                }
                Ok(Some(Output::Trailers(t))) => self.trailers = Some(Box::new(t)),
                Ok(Some(_)) => {}
                Ok(None) => return self.abandon(Abandoned::Unread),
                Err(_) => return self.abandon(Abandoned::Malformed),
            }
        }
    }

    /// Gives the exchange up (`false`: the connection is not reused), saying why in the log.
    fn abandon(&mut self, why: Abandoned) -> bool {
        self.state = State::Failed;
        self.abandoned = Some(why);
        false
    }
}

/// The proxy a hop to `url` goes through: the request's own choice (`Some(None)`: direct),
/// else the client's proxies for that URL.
fn route(config: &ClientConfig, own: Option<&Option<Proxy>>, url: &Url) -> Option<Proxy> {
    selected_proxy(config, own, url).cloned()
}

/// [`route`]'s proxy, borrowed.
fn selected_proxy<'a>(
    config: &'a ClientConfig,
    own: Option<&'a Option<Proxy>>,
    url: &Url,
) -> Option<&'a Proxy> {
    // A mounted transport is the way to its URLs (the driver takes it before any proxy).
    if config.mounted.iter().any(|m| m.matches(url)) {
        return None;
    }
    match own {
        Some(chosen) => chosen.as_ref(),
        None => config.proxies.as_ref().and_then(|p| p.select(url)),
    }
}

/// Whether a request to `url` reaches its proxy in absolute form (an http origin through an
/// HTTP(S) proxy, no tunnel): then a proxy's challenge is answered on the request itself, body
/// and all. `own` is the request's own routing, as for [`route`].
pub(crate) fn through_forward_proxy(
    config: &ClientConfig,
    own: Option<&Option<Proxy>>,
    url: &Url,
) -> bool {
    tunnel::absolute_form(selected_proxy(config, own, url), url.scheme() == "https")
}

/// The framing a request goes out with. RFC 9110 §8.6: a method that defines a meaning for
/// content gets `Content-Length: 0` rather than no framing at all when it has no body
/// (servers may otherwise wait for one). A body of known length goes chunked when the
/// caller's own headers say `Transfer-Encoding: chunked` (that one coding, nothing else), as
/// curl and hyper send it: the header then tells the truth; any other mix of framing headers
/// is refused when the head is written ([`LocalError::ConflictingFraming`]).
///
/// [`LocalError::ConflictingFraming`]: crate::LocalError::ConflictingFraming
fn body_plan(method: &Method, body: BodyPlan, headers: &Headers) -> BodyPlan {
    match (body.framing, method) {
        (RequestBody::None, &Method::POST | &Method::PUT | &Method::PATCH) => BodyPlan {
            framing: chunked_if_asked(RequestBody::Length(0), headers),
            replayable: true,
        },
        (framing, _) => BodyPlan {
            framing: chunked_if_asked(framing, headers),
            ..body
        },
    }
}

/// `framing`, or `Chunked` for a body of known length whose headers ask for it
/// ([`crate::request::asks_for_chunked`]).
fn chunked_if_asked(framing: RequestBody, headers: &Headers) -> RequestBody {
    match framing {
        RequestBody::Length(_) if crate::request::asks_for_chunked(headers) => RequestBody::Chunked,
        framing => framing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_http_origin_reaches_an_http_proxy_in_absolute_form() {
        let mut config = ClientConfig::default();
        let proxy = Proxy::parse("http://proxy.test:3128").unwrap();
        config.proxies = Some(crate::proxy::ProxyConfig::all(proxy));
        let http = Url::parse("http://example.test/").unwrap();
        let https = Url::parse("https://example.test/").unwrap();
        assert!(through_forward_proxy(&config, None, &http));
        assert!(!through_forward_proxy(&config, None, &https), "tunneled");
        assert!(
            !through_forward_proxy(&config, Some(&None), &http),
            "direct"
        );
    }
}
