//! The error both clients return.
//!
//! ```text
//! Error { kind, url, source }
//!   kind:
//!   ├── Connect        DNS, TCP connect refused/unreachable
//!   ├── Timeout(phase) pool acquire, connect, write, read of head or body, total deadline
//!   ├── Tls            handshake or certificate failure
//!   ├── Protocol       the server broke HTTP/1.1 (source: duet_core::Error)
//!   ├── Status(code)   error_for_status() on a 4xx/5xx
//!   ├── Decode         Content-Encoding or charset/JSON decoding failed
//!   ├── Body           the request body could not be read, replayed, or had the wrong length
//!   ├── InvalidUrl     the URL cannot be requested (scheme, host)
//!   ├── InvalidHeader  a header name or value the caller gave is invalid
//!   ├── Redirect       a redirect could not be followed; TooManyRedirects past the limit
//!   ├── Proxy          the proxy refused or failed
//!   ├── Auth           an authentication flow failed
//!   └── Io             any other I/O failure
//! ```
//!
//! The kind survives a trip through `std::io::Error` (reading a body through `Read` or
//! `AsyncRead`): [`Error::from_io`] recovers it.

use std::fmt;
use std::time::Duration;

use http::StatusCode;
use url::Url;

use super::origin::RedactedUrl;
use crate::error::{Error as ProtocolError, LocalError};

/// Which step of a request ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Waiting for a free connection from the pool.
    Pool,
    /// Resolving, connecting, or the TLS handshake.
    Connect,
    /// Writing the request.
    Write,
    /// Waiting for the response head.
    ReadHead,
    /// Waiting for more of the response body.
    ReadBody,
    /// The whole request's deadline.
    Total,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Pool => "waiting for a pooled connection",
            TimeoutPhase::Connect => "connecting",
            TimeoutPhase::Write => "sending the request",
            TimeoutPhase::ReadHead => "waiting for the response",
            TimeoutPhase::ReadBody => "reading the response body",
            TimeoutPhase::Total => "the request as a whole",
        })
    }
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Could not connect (DNS, refused, unreachable).
    Connect,
    /// A timeout, in this phase.
    Timeout(TimeoutPhase),
    /// TLS handshake or certificate verification failed.
    Tls,
    /// The server broke the HTTP/1.1 protocol.
    Protocol,
    /// An error status, from `error_for_status`.
    Status(StatusCode),
    /// The body could not be decoded (content coding, charset, JSON).
    Decode,
    /// The request body failed: unreadable, not replayable, wrong length.
    Body,
    /// The URL cannot be requested.
    InvalidUrl,
    /// An invalid header name or value from the caller.
    InvalidHeader,
    /// A redirect could not be followed.
    Redirect,
    /// More redirects than allowed.
    TooManyRedirects,
    /// The proxy failed or refused.
    Proxy,
    /// Authentication failed.
    Auth,
    /// Another I/O failure.
    Io,
}

/// An error from a duet client: a kind, the URL involved, and the underlying cause.
///
/// Its `Display` and `Debug` show URLs with any password as `***` (see
/// [`RedactedUrl`](super::RedactedUrl)); [`url`](Error::url) gives the URL as it was.
pub struct Error(Box<Inner>);

/// What an [`Error`] holds, behind one pointer: results of duet's calls carry an error
/// rarely, and a `Result` that is one word wide costs every call less.
struct Inner {
    kind: ErrorKind,
    url: Option<Url>,
    history: Vec<super::HistoryEntry>,
    status: Option<StatusCode>,
    message: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of `kind` with an underlying cause.
    pub fn new(
        kind: ErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error(Box::new(Inner {
            kind,
            url: None,
            history: Vec::new(),
            status: None,
            message: None,
            source: Some(source.into()),
        }))
    }

    /// An error of `kind` described by `message`.
    pub fn msg(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            kind,
            url: None,
            history: Vec::new(),
            status: None,
            message: Some(message.into()),
            source: None,
        }))
    }

    /// A timeout in `phase` after `after`.
    pub fn timeout(phase: TimeoutPhase, after: Option<Duration>) -> Self {
        let message = match after {
            Some(d) => format!("timed out {phase} (after {d:?})"),
            None => format!("timed out {phase}"),
        };
        Error::msg(ErrorKind::Timeout(phase), message)
    }

    /// Attaches the URL the error happened on (kept if one is already set).
    pub fn with_url(mut self, url: &Url) -> Self {
        if self.0.url.is_none() {
            self.0.url = Some(url.clone());
        }
        self
    }

    /// Puts `context` before the message (the cause still follows).
    pub(crate) fn with_context(mut self, context: String) -> Self {
        self.0.message = Some(match self.0.message.take() {
            Some(message) => format!("{context}: {message}"),
            None => context,
        });
        self
    }

    /// Attaches the redirects followed before the error.
    pub fn with_history(mut self, history: Vec<super::HistoryEntry>) -> Self {
        self.0.history = history;
        self
    }

    /// The redirect responses that came before the error (for `TooManyRedirects`, every
    /// hop of the loop).
    pub fn history(&self) -> &[super::HistoryEntry] {
        &self.0.history
    }

    /// The message given to [`Error::msg`], if any.
    #[cfg(feature = "rustls")]
    pub(crate) fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The URL involved, if known.
    pub fn url(&self) -> Option<&Url> {
        self.0.url.as_ref()
    }

    /// Attaches a status code (a proxy's refusal of a tunnel, say).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.0.status = Some(status);
        self
    }

    /// The status code: for [`ErrorKind::Status`], and for a proxy that refused the tunnel.
    pub fn status(&self) -> Option<StatusCode> {
        match self.0.kind {
            ErrorKind::Status(s) => Some(s),
            _ => self.0.status,
        }
    }

    /// The phase, for [`ErrorKind::Timeout`].
    pub fn timeout_phase(&self) -> Option<TimeoutPhase> {
        match self.0.kind {
            ErrorKind::Timeout(p) => Some(p),
            _ => None,
        }
    }

    /// The engine's protocol error, when that is the cause.
    pub fn protocol_error(&self) -> Option<&ProtocolError> {
        self.0.source.as_ref()?.downcast_ref::<ProtocolError>()
    }

    /// Whether this is a connect error.
    pub fn is_connect(&self) -> bool {
        self.0.kind == ErrorKind::Connect
    }
    /// Whether this is a timeout, in any phase.
    pub fn is_timeout(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Timeout(_))
    }
    /// Whether this is a TLS error.
    pub fn is_tls(&self) -> bool {
        self.0.kind == ErrorKind::Tls
    }
    /// Whether the server broke the protocol.
    pub fn is_protocol(&self) -> bool {
        self.0.kind == ErrorKind::Protocol
    }
    /// Whether this came from `error_for_status`.
    pub fn is_status(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Status(_))
    }
    /// Whether decoding the body failed.
    pub fn is_decode(&self) -> bool {
        self.0.kind == ErrorKind::Decode
    }
    /// Whether the request body failed.
    pub fn is_body(&self) -> bool {
        self.0.kind == ErrorKind::Body
    }
    /// Whether the URL was invalid.
    pub fn is_invalid_url(&self) -> bool {
        self.0.kind == ErrorKind::InvalidUrl
    }
    /// Whether a header was invalid.
    pub fn is_invalid_header(&self) -> bool {
        self.0.kind == ErrorKind::InvalidHeader
    }
    /// Whether a redirect failed or there were too many.
    pub fn is_redirect(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::Redirect | ErrorKind::TooManyRedirects
        )
    }
    /// Whether the proxy failed.
    pub fn is_proxy(&self) -> bool {
        self.0.kind == ErrorKind::Proxy
    }
    /// Whether authentication failed.
    pub fn is_auth(&self) -> bool {
        self.0.kind == ErrorKind::Auth
    }
    /// Whether this is another I/O error.
    pub fn is_io(&self) -> bool {
        self.0.kind == ErrorKind::Io
    }

    /// Wraps this error in an `io::Error` (for `Read`/`AsyncRead`), keeping it recoverable with
    /// [`Error::from_io`]. Timeouts become `TimedOut`.
    pub fn into_io(self) -> std::io::Error {
        let kind = match self.0.kind {
            ErrorKind::Timeout(_) => std::io::ErrorKind::TimedOut,
            ErrorKind::Protocol | ErrorKind::Decode => std::io::ErrorKind::InvalidData,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, self)
    }

    /// Recovers a duet error from an `io::Error` made by [`into_io`](Self::into_io); any other
    /// I/O error becomes [`ErrorKind::Io`] (or `Timeout(phase)` when it timed out).
    pub fn from_io(error: std::io::Error, timeout_phase: TimeoutPhase) -> Self {
        if error.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            let inner = error.into_inner().expect("checked above");
            return *inner.downcast::<Error>().expect("checked above");
        }
        match error.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                Error::new(ErrorKind::Timeout(timeout_phase), error)
            }
            _ => Error::new(ErrorKind::Io, error),
        }
    }
}

/// Whether an I/O error says the server reset the connection or stopped reading it (a reset,
/// a broken pipe): what it sent before may still be waiting to be read.
pub fn is_reset(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
    )
}

impl From<ProtocolError> for Error {
    /// A server's protocol error is `Protocol`; a caller's is `InvalidHeader`, `InvalidUrl` or
    /// `Body` depending on what was wrong.
    fn from(error: ProtocolError) -> Self {
        let kind = match &error {
            ProtocolError::Local(
                LocalError::InvalidHeaderName { .. }
                | LocalError::InvalidHeaderValue { .. }
                | LocalError::MissingHost
                | LocalError::DuplicateHost
                | LocalError::ConflictingFraming { .. },
            ) => ErrorKind::InvalidHeader,
            ProtocolError::Local(LocalError::InvalidTarget { .. } | LocalError::EmptyTarget) => {
                ErrorKind::InvalidUrl
            }
            ProtocolError::Local(
                LocalError::BodyTooLong { .. }
                | LocalError::BodyTooShort { .. }
                | LocalError::TrailersNeedChunked,
            ) => ErrorKind::Body,
            _ => ErrorKind::Protocol,
        };
        Error::new(kind, error)
    }
}

impl From<LocalError> for Error {
    fn from(error: LocalError) -> Self {
        Error::from(ProtocolError::Local(error))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let history: Vec<_> = self
            .0
            .history
            .iter()
            .map(|hop| (hop.status, RedactedUrl(&hop.url)))
            .collect();
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("url", &self.0.url.as_ref().map(RedactedUrl))
            .field("history", &history)
            .field("status", &self.0.status)
            .field("message", &self.0.message)
            .field("source", &self.0.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.kind {
            ErrorKind::Connect => f.write_str("connect error")?,
            ErrorKind::Timeout(_) => f.write_str("timeout")?,
            ErrorKind::Tls => f.write_str("TLS error")?,
            ErrorKind::Protocol => f.write_str("protocol error")?,
            ErrorKind::Status(s) => write!(f, "HTTP status {s}")?,
            ErrorKind::Decode => f.write_str("decode error")?,
            ErrorKind::Body => f.write_str("request body error")?,
            ErrorKind::InvalidUrl => f.write_str("invalid URL")?,
            ErrorKind::InvalidHeader => f.write_str("invalid header")?,
            ErrorKind::Redirect => f.write_str("redirect error")?,
            ErrorKind::TooManyRedirects => f.write_str("too many redirects")?,
            ErrorKind::Proxy => f.write_str("proxy error")?,
            ErrorKind::Auth => f.write_str("authentication error")?,
            ErrorKind::Io => f.write_str("I/O error")?,
        }
        if let Some(url) = &self.0.url {
            write!(f, " for {}", RedactedUrl(url))?;
        }
        if let Some(message) = &self.0.message {
            write!(f, ": {message}")?;
        }
        if let Some(source) = &self.0.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RemoteError;

    #[test]
    fn kinds_from_engine_errors() {
        let remote: Error = ProtocolError::Remote(RemoteError::ClosedBeforeResponse).into();
        assert!(remote.is_protocol());
        assert!(remote.protocol_error().is_some());
        let header: Error = LocalError::InvalidHeaderValue {
            name: "X".into(),
            byte: b'\n',
        }
        .into();
        assert!(header.is_invalid_header());
        let body: Error = LocalError::BodyTooShort {
            declared: 3,
            sent: 1,
        }
        .into();
        assert!(body.is_body());
        let target: Error = LocalError::EmptyTarget.into();
        assert!(target.is_invalid_url());
    }

    #[test]
    fn a_result_with_this_error_is_one_word() {
        // What the boxing is for: every step of a call returns a `Result`.
        let word = std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<Error>(), word);
        assert_eq!(std::mem::size_of::<Result<(), Error>>(), word);
    }

    #[test]
    fn urls_show_no_password() {
        let url = Url::parse("http://user:s3cret@example.test/x?q=1").unwrap();
        let hop = Url::parse("http://me:hunter2@example.test/old").unwrap();
        let error = Error::msg(ErrorKind::Connect, "refused")
            .with_url(&url)
            .with_history(vec![crate::client::HistoryEntry {
                status: StatusCode::FOUND,
                version: http::Version::HTTP_11,
                reason: b"Found".to_vec(),
                url: hop,
                headers: crate::Headers::new(),
            }]);
        assert_eq!(
            error.to_string(),
            "connect error for http://user:***@example.test/x?q=1: refused"
        );
        let debug = format!("{error:?}");
        assert!(
            debug.contains("\"http://user:***@example.test/x?q=1\""),
            "{debug}"
        );
        assert!(debug.contains("me:***@"), "{debug}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("hunter2"),
            "{debug}"
        );
        assert_eq!(error.url(), Some(&url), "the URL itself is kept whole");
        let plain = Url::parse("http://user@example.test/").unwrap();
        assert_eq!(RedactedUrl(&plain).to_string(), "http://user@example.test/");
    }

    /// Each kind answers exactly its own `is_*` question, keeps its status, and goes through
    /// `io::Error` as the kind of I/O error it is most like.
    #[test]
    fn each_kind_answers_only_its_own_question() {
        use std::io::ErrorKind as Io;
        type Question = (&'static str, fn(&Error) -> bool);
        let questions: [Question; 13] = [
            ("connect", Error::is_connect),
            ("timeout", Error::is_timeout),
            ("tls", Error::is_tls),
            ("protocol", Error::is_protocol),
            ("status", Error::is_status),
            ("decode", Error::is_decode),
            ("body", Error::is_body),
            ("invalid_url", Error::is_invalid_url),
            ("invalid_header", Error::is_invalid_header),
            ("redirect", Error::is_redirect),
            ("proxy", Error::is_proxy),
            ("auth", Error::is_auth),
            ("io", Error::is_io),
        ];
        let not_found = StatusCode::NOT_FOUND;
        for (kind, answer, io) in [
            (ErrorKind::Connect, "connect", Io::Other),
            (
                ErrorKind::Timeout(TimeoutPhase::Write),
                "timeout",
                Io::TimedOut,
            ),
            (ErrorKind::Tls, "tls", Io::Other),
            (ErrorKind::Protocol, "protocol", Io::InvalidData),
            (ErrorKind::Status(not_found), "status", Io::Other),
            (ErrorKind::Decode, "decode", Io::InvalidData),
            (ErrorKind::Body, "body", Io::Other),
            (ErrorKind::InvalidUrl, "invalid_url", Io::Other),
            (ErrorKind::InvalidHeader, "invalid_header", Io::Other),
            (ErrorKind::Redirect, "redirect", Io::Other),
            (ErrorKind::TooManyRedirects, "redirect", Io::Other),
            (ErrorKind::Proxy, "proxy", Io::Other),
            (ErrorKind::Auth, "auth", Io::Other),
            (ErrorKind::Io, "io", Io::Other),
        ] {
            let error = Error::msg(kind, "what happened");
            let yes: Vec<_> = questions
                .iter()
                .filter(|(_, asks)| asks(&error))
                .map(|(name, _)| *name)
                .collect();
            assert_eq!(yes, [answer], "{kind:?}");
            let status = matches!(kind, ErrorKind::Status(_)).then_some(not_found);
            assert_eq!(error.status(), status, "{kind:?}");
            assert_eq!(error.into_io().kind(), io, "{kind:?}");
        }
        // A status attached to another kind (a proxy's refusal of a tunnel) is its status too.
        let refused = Error::msg(ErrorKind::Proxy, "refused").with_status(StatusCode::FORBIDDEN);
        assert_eq!(refused.status(), Some(StatusCode::FORBIDDEN));
        // The cause is the source, for error reporters that walk the chain.
        use std::error::Error as _;
        let caused = Error::new(ErrorKind::Io, std::io::Error::other("the cause"));
        let source = caused.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("the cause"));
        assert!(refused.source().is_none());
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn the_message_is_the_one_given() {
        assert_eq!(
            Error::msg(ErrorKind::Tls, "bad PEM").message(),
            Some("bad PEM")
        );
        assert_eq!(Error::new(ErrorKind::Tls, "a cause").message(), None);
    }

    #[test]
    fn survives_io_round_trip() {
        let url = Url::parse("http://example.test/x").unwrap();
        let original =
            Error::timeout(TimeoutPhase::ReadBody, Some(Duration::from_secs(3))).with_url(&url);
        let io = original.into_io();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
        let back = Error::from_io(io, TimeoutPhase::ReadHead);
        assert_eq!(back.timeout_phase(), Some(TimeoutPhase::ReadBody));
        assert_eq!(back.url(), Some(&url));
        assert_eq!(
            back.to_string(),
            "timeout for http://example.test/x: timed out reading the response body (after 3s)"
        );
        let plain = Error::from_io(
            std::io::Error::from(std::io::ErrorKind::WouldBlock),
            TimeoutPhase::Write,
        );
        assert_eq!(plain.kind(), ErrorKind::Timeout(TimeoutPhase::Write));
        let other = Error::from_io(
            std::io::Error::from(std::io::ErrorKind::BrokenPipe),
            TimeoutPhase::Write,
        );
        assert!(other.is_io());
    }
}
