//! Sending a failed request again: the [`RetryPolicy`] a caller opts into, and the decision
//! for one request, [`RetryState::decide`].
//!
//! # Theory of operation
//!
//! A retry changes what a server sees — one `POST` becomes two orders — so retries are off
//! unless the caller asks ([`RetryPolicy::none`] is the default; [`RetryPolicy::default_safe`]
//! is the conservative policy most callers want, like urllib3's `Retry` under requests and
//! httpx's transport `retries`). After every failed attempt (an error, or a response whose
//! status the policy lists) the engine describes it as an [`Attempt`] and asks
//! [`RetryState::decide`]. The answer is [`RetryDecision::GiveUp`] (deliver the error or the
//! response) or [`RetryDecision::RetryAfter`]: wait that long, then send the request again
//! from its first byte on a new connection, the body produced again from its start.
//!
//! The rules, and how long each retry waits, are documented on [`RetryPolicy`].
//!
//! This is separate from the [`Call`](super::Call)'s own stale-connection rule, which resends
//! an idempotent request once when a reused pooled connection turns out to be closed.

use std::time::{Duration, Instant, SystemTime};

use http::{Method, StatusCode};

use super::error::{ErrorKind, TimeoutPhase};
use crate::headers::Headers;

mod date;

/// When a failed request is sent again, decided per request by [`RetryState::decide`].
///
/// Off by default ([`RetryPolicy::none`]): retries change what a server sees, so the caller
/// opts in with [`RetryPolicy::default_safe`] and adjusts its fields. The two differ only in
/// `max_retries`; the defaults given for the other fields are those of both.
///
/// Whether an attempt may be retried:
///
/// ```text
///  attempt                           retried when                                 policy switch
///  ───────────────────────────────── ──────────────────────────────────────────── ───────────────────────
///  any, request_sent, body not       never: the body cannot be sent again
///    replayable
///  Connect (DNS, refused)            always: nothing reached the server           retry_on_connect_errors
///  Timeout(Connect)                  always: nothing reached the server           retry_on_timeouts
///  Timeout(Write | ReadHead)         nothing sent, or the method is in `methods`  retry_on_timeouts
///  Io (reset, broken pipe)           nothing sent, or the method is in `methods`  retry_on_connect_errors
///  Response with a listed status     the method is in `methods`                   statuses
///  Timeout(Pool)                     never: the client's own connections were
///                                      busy all along; another wait for them
///                                      would stretch the pool timeout the caller
///                                      chose (nor do urllib3 and httpx retry it)
///  Timeout(ReadBody | Total), Tls,   never: the response was already delivered,
///    Protocol, Status, Decode, Body,   the deadline is over, or trying again
///    InvalidUrl, InvalidHeader,        cannot change the outcome
///    Redirect, TooManyRedirects,
///    Proxy, Auth; unlisted statuses
/// ```
///
/// "The method is in `methods`" is how a request that may have reached the server is judged
/// safe to repeat: by default the idempotent methods of RFC 9110 §9.2.2, whose intended effect
/// is the same however often they arrive. `request_sent` means any byte of the request went
/// out; a request that never left the client is safe to send for any method.
///
/// How long to wait: a listed status carrying `Retry-After` (RFC 9110 §10.2.3, typically with
/// 503 and 429) waits exactly what the server asked — `delta-seconds`, or until an `HTTP-date`
/// read against the caller's wall clock. A wait longer than
/// [`retry_after_max`](Self::retry_after_max) is a `GiveUp`: the server said the resource
/// will not be ready sooner, and silently blocking a call for an hour is worse than returning
/// the 503. Everything else backs off exponentially with "full jitter" (AWS Architecture
/// Blog, "Exponential Backoff and Jitter"): retry `n` waits a uniformly random time in
/// `[0, min(backoff_base * 2^(n-1), backoff_max)]`, from the entropy the driver passes in,
/// so clients that failed together do not return together. Finally no more than
/// [`max_retries`](Self::max_retries) retries happen, none whose wait would end past
/// [`total_budget`](Self::total_budget) from the first attempt, and none whose wait would
/// end at or past the request's total timeout (the last response or error is delivered
/// then, rather than a timeout after the wait).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 turns retrying off. Default 0;
    /// [`default_safe`](Self::default_safe): 3, as urllib3's `Retry`.
    pub max_retries: usize,
    /// Retry connect errors ([`ErrorKind::Connect`]: DNS, refused, unreachable), always safe
    /// since no byte was sent, and I/O errors ([`ErrorKind::Io`]: reset, broken pipe), which
    /// after the request went out only for methods in [`methods`](Self::methods). Default
    /// true.
    pub retry_on_connect_errors: bool,
    /// Retry timeouts: connecting, always (nothing was sent); writing the request or waiting
    /// for the response head, only when nothing was sent or the method is in
    /// [`methods`](Self::methods). A timeout waiting for the pool, reading the body or of the
    /// whole request is never retried. Default true.
    pub retry_on_timeouts: bool,
    /// Response statuses that are retried, for methods in [`methods`](Self::methods).
    /// Default 429 Too Many Requests (RFC 6585 §4), 502 Bad Gateway, 503 Service Unavailable,
    /// 504 Gateway Timeout (RFC 9110 §15.6.3-5): the ones that say "not now" rather than
    /// "no". Not 500 (usually the same on a retry) nor 413 Content Too Large (RFC 9110
    /// §15.5.14; the same body stays too large).
    pub statuses: Vec<u16>,
    /// Methods that may be retried after the request (may have) reached the server: a
    /// listed status, or an error once any byte was sent. Default the idempotent methods of
    /// RFC 9110 §9.2.2: GET, HEAD, PUT, DELETE, OPTIONS, TRACE. Add POST only for an API
    /// that makes it idempotent (an idempotency key).
    pub methods: Vec<Method>,
    /// The backoff before the first retry; retry `n` waits up to `backoff_base * 2^(n-1)`,
    /// jittered. Default 500 ms.
    pub backoff_base: Duration,
    /// The longest backoff before jitter. Default 30 s, the default read timeout.
    pub backoff_max: Duration,
    /// Whether a backoff is jittered ("full jitter", see above). Default true; false waits
    /// the backoff exactly, as curl's `--retry-delay` does (with `backoff_base` and
    /// `backoff_max` both set to the delay: the same wait before every retry).
    pub jitter: bool,
    /// Wait as long as a listed status's `Retry-After` field asks (RFC 9110 §10.2.3) instead
    /// of backing off. Default true.
    pub respect_retry_after: bool,
    /// The longest `Retry-After` honoured: a server asking for a longer wait gets
    /// [`RetryDecision::GiveUp`] (its response is delivered) rather than a client that hangs.
    /// Default 60 s.
    pub retry_after_max: Duration,
    /// No retry whose wait would end later than this after the first attempt started; `None`
    /// for no budget. Default 120 s (room for the retries and a `Retry-After` at its cap).
    pub total_budget: Option<Duration>,
}

impl RetryPolicy {
    /// Never retry: [`default_safe`](Self::default_safe) with `max_retries` 0, so setting
    /// `max_retries` alone turns the safe rules on. The default.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default_safe()
        }
    }

    /// The conservative policy: 3 retries of connect errors and timeouts, and of 429, 502,
    /// 503 and 504 for the idempotent methods (RFC 9110 §9.2.2), backing off 0.5 s, 1 s, 2 s
    /// (jittered) unless `Retry-After` says otherwise (up to 60 s), within 120 s in all.
    pub fn default_safe() -> Self {
        RetryPolicy {
            max_retries: 3,
            retry_on_connect_errors: true,
            retry_on_timeouts: true,
            statuses: vec![429, 502, 503, 504],
            methods: vec![
                Method::GET,
                Method::HEAD,
                Method::PUT,
                Method::DELETE,
                Method::OPTIONS,
                Method::TRACE,
            ],
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            jitter: true,
            respect_retry_after: true,
            retry_after_max: Duration::from_secs(60),
            total_budget: Some(Duration::from_secs(120)),
        }
    }

    /// The backoff before retry number `retry` (1 for the first) before jitter:
    /// `backoff_base * 2^(retry-1)`, at most `backoff_max`.
    pub fn backoff(&self, retry: usize) -> Duration {
        let doublings = u32::try_from(retry.saturating_sub(1)).unwrap_or(u32::MAX);
        2u32.checked_pow(doublings)
            .and_then(|factor| self.backoff_base.checked_mul(factor))
            .map_or(self.backoff_max, |delay| delay.min(self.backoff_max))
    }

    /// Whether a request that may have reached the server can be sent again.
    fn may_resend(&self, method: &Method, replayable: bool) -> bool {
        replayable && self.methods.contains(method)
    }
}

impl Default for RetryPolicy {
    /// [`RetryPolicy::none`].
    fn default() -> Self {
        Self::none()
    }
}

/// What [`RetryState::decide`] says about a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Do not retry: deliver the error or the response.
    GiveUp,
    /// Wait this long, then send the request again, its body from the first byte (after a
    /// response, read or drop that response's body first).
    RetryAfter(Duration),
}

/// What happened on one attempt, as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub enum Attempt<'a> {
    /// The attempt failed before a response was delivered.
    Error {
        /// What kind of failure.
        kind: ErrorKind,
        /// Whether any byte of the request went out (the server may have acted on it).
        request_sent: bool,
    },
    /// A complete response head arrived.
    Response {
        /// Its status.
        status: StatusCode,
        /// Its header fields (for `Retry-After`).
        headers: &'a Headers,
    },
}

/// One request's retries: how many so far and when the first attempt started.
///
/// ```
/// # #![allow(clippy::disallowed_methods)]
/// use std::time::{Duration, Instant, SystemTime};
/// use duet_core::client::{Attempt, ErrorKind, RetryDecision, RetryPolicy, RetryState};
/// use duet_core::{Headers, Method, StatusCode};
///
/// let started = Instant::now(); // the driver's clocks and entropy; duet-core reads none
/// let mut retries = RetryState::new(RetryPolicy::default_safe(), started);
/// let mut headers = Headers::new();
/// headers.append("Retry-After", "2").unwrap();
/// let busy = Attempt::Response { status: StatusCode::SERVICE_UNAVAILABLE, headers: &headers };
/// let decision = retries.decide(&Method::GET, true, busy, started, SystemTime::now(), 7);
/// assert_eq!(decision, RetryDecision::RetryAfter(Duration::from_secs(2)));
///
/// // The request reached the server and POST is not idempotent: the error is final.
/// let reset = Attempt::Error { kind: ErrorKind::Io, request_sent: true };
/// let decision = retries.decide(&Method::POST, true, reset, started, SystemTime::now(), 7);
/// assert_eq!(decision, RetryDecision::GiveUp);
/// assert_eq!(retries.retries(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct RetryState {
    policy: RetryPolicy,
    started: Instant,
    retries: usize,
}

/// How an attempt may be retried, before counting and budgets.
enum Wait {
    /// Exponential backoff with jitter.
    Backoff,
    /// What the server's `Retry-After` asks, else backoff.
    RetryAfter(Option<Duration>),
}

impl RetryState {
    /// The state for a request whose first attempt starts at `started` (the driver's clock).
    pub fn new(policy: RetryPolicy, started: Instant) -> Self {
        RetryState {
            policy,
            started,
            retries: 0,
        }
    }

    /// Whether to retry a failed `attempt` of a `method` request, and how long to wait first.
    /// Call it once per failed attempt; a `RetryAfter` counts as one retry.
    ///
    /// `replayable`: whether the body can be produced again (a request that went out is never
    /// retried without it). `now`: the driver's monotonic clock, for the budget. `wall_now`:
    /// the wall clock, for a `Retry-After` `HTTP-date`. `random`: 64 bits of entropy for the
    /// jitter. The same inputs always give the same answer.
    pub fn decide(
        &mut self,
        method: &Method,
        replayable: bool,
        attempt: Attempt<'_>,
        now: Instant,
        wall_now: SystemTime,
        random: u64,
    ) -> RetryDecision {
        let Some(wait) = self.classify(method, replayable, attempt, wall_now) else {
            return RetryDecision::GiveUp;
        };
        if self.retries >= self.policy.max_retries {
            return RetryDecision::GiveUp;
        }
        let wait = match wait {
            Wait::RetryAfter(Some(asked)) if asked > self.policy.retry_after_max => {
                return RetryDecision::GiveUp;
            }
            Wait::RetryAfter(Some(asked)) => asked,
            Wait::Backoff | Wait::RetryAfter(None) => {
                let backoff = self.policy.backoff(self.retries + 1);
                match self.policy.jitter {
                    true => full_jitter(backoff, random),
                    false => backoff,
                }
            }
        };
        if now.checked_add(wait).is_none() {
            return RetryDecision::GiveUp; // a wait beyond what the clock can hold is forever
        }
        if let Some(budget) = self.policy.total_budget {
            let elapsed = now.saturating_duration_since(self.started);
            if elapsed.checked_add(wait).is_none_or(|end| end > budget) {
                return RetryDecision::GiveUp;
            }
        }
        self.retries += 1;
        RetryDecision::RetryAfter(wait)
    }

    /// Retries decided so far.
    pub fn retries(&self) -> usize {
        self.retries
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// `None` when the rules (see the module docs) forbid retrying this attempt at all.
    fn classify(
        &self,
        method: &Method,
        replayable: bool,
        attempt: Attempt<'_>,
        wall_now: SystemTime,
    ) -> Option<Wait> {
        let policy = &self.policy;
        match attempt {
            Attempt::Error { kind, request_sent } => {
                if request_sent && !replayable {
                    return None;
                }
                let safe = !request_sent || policy.may_resend(method, replayable);
                let retry = match kind {
                    ErrorKind::Connect | ErrorKind::Io => policy.retry_on_connect_errors && safe,
                    ErrorKind::Timeout(
                        TimeoutPhase::Connect | TimeoutPhase::Write | TimeoutPhase::ReadHead,
                    ) => policy.retry_on_timeouts && safe,
                    ErrorKind::Timeout(
                        TimeoutPhase::Pool | TimeoutPhase::ReadBody | TimeoutPhase::Total,
                    )
                    | ErrorKind::Tls
                    | ErrorKind::Protocol
                    | ErrorKind::Status(_)
                    | ErrorKind::Decode
                    | ErrorKind::Body
                    | ErrorKind::InvalidUrl
                    | ErrorKind::InvalidHeader
                    | ErrorKind::Redirect
                    | ErrorKind::TooManyRedirects
                    | ErrorKind::Proxy
                    | ErrorKind::Auth => false,
                };
                retry.then_some(Wait::Backoff)
            }
            Attempt::Response { status, headers } => {
                if !policy.statuses.contains(&status.as_u16())
                    || !policy.may_resend(method, replayable)
                {
                    return None;
                }
                // RFC 9110 §10.2.3; an unreadable value is ignored in favour of backoff.
                let asked = headers
                    .get_str("retry-after")
                    .filter(|_| policy.respect_retry_after)
                    .and_then(|value| date::retry_after(value, wall_now));
                Some(Wait::RetryAfter(asked))
            }
        }
    }
}

/// "Full jitter": a uniformly distributed time in `[0, delay]`, picked by `random`
/// (`random * (delay + 1) / 2^64`, in nanoseconds).
fn full_jitter(delay: Duration, random: u64) -> Duration {
    let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
    let picked = (u128::from(random) * (u128::from(nanos) + 1)) >> 64;
    Duration::from_nanos(u64::try_from(picked).unwrap_or(nanos))
}

#[cfg(test)]
mod tests;
