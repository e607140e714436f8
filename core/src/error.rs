//! Errors of the HTTP/1.1 engine.
//!
//! ```text
//! Error
//! ├── Remote(RemoteError)   the server broke the protocol: a malformed head, bad framing,
//! │                         a body cut short, a limit exceeded, bytes nobody asked for
//! └── Local(LocalError)     the caller broke the contract: an invalid method, target or
//!                           header, a body longer or shorter than declared, a call made
//!                           in the wrong state
//! ```
//!
//! Every error carries the numbers that explain it (the limit, what was expected, what was
//! received). A [`Connection`](crate::Connection) that returned an error is finished: every later
//! call returns the same error again, and the connection is never reusable.

use std::fmt;

/// An error from the HTTP/1.1 engine: either the remote peer or the local caller is to blame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server sent something HTTP/1.1 does not allow, or more than the [`Limits`] allow.
    ///
    /// [`Limits`]: crate::Limits
    #[error("server protocol error: {0}")]
    Remote(#[from] RemoteError),
    /// The caller asked for something invalid; nothing invalid was sent.
    #[error("invalid request: {0}")]
    Local(#[from] LocalError),
}

impl Error {
    /// True when the server is to blame.
    pub fn is_remote(&self) -> bool {
        matches!(self, Error::Remote(_))
    }

    /// True when the caller is to blame.
    pub fn is_local(&self) -> bool {
        matches!(self, Error::Local(_))
    }

    /// The server's protocol error, if that is what this is.
    pub fn as_remote(&self) -> Option<&RemoteError> {
        match self {
            Error::Remote(e) => Some(e),
            Error::Local(_) => None,
        }
    }

    /// The caller's error, if that is what this is.
    pub fn as_local(&self) -> Option<&LocalError> {
        match self {
            Error::Local(e) => Some(e),
            Error::Remote(_) => None,
        }
    }
}

/// Where in a chunked body the input stopped or went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkPhase {
    /// In a chunk-size line (the size, its extensions, or its CRLF).
    SizeLine,
    /// Inside chunk data; `missing` bytes of the chunk had not arrived.
    Data {
        /// Bytes of the current chunk that never arrived.
        missing: u64,
    },
    /// In the CRLF that must follow chunk data.
    DataEnd,
    /// In the trailer section after the last chunk.
    Trailers,
}

impl fmt::Display for ChunkPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkPhase::SizeLine => f.write_str("in a chunk-size line"),
            ChunkPhase::Data { missing } => write!(f, "inside chunk data, {missing} bytes missing"),
            ChunkPhase::DataEnd => f.write_str("in the CRLF after chunk data"),
            ChunkPhase::Trailers => f.write_str("in the trailer section"),
        }
    }
}

/// A protocol violation by the server (RFC 9110 / RFC 9112), or a [`Limits`] value exceeded.
///
/// [`Limits`]: crate::Limits
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The response head did not end within `limit` bytes.
    #[error("response head exceeds {limit} bytes")]
    HeadTooLarge {
        /// `Limits::max_head_bytes`.
        limit: usize,
    },
    /// One line of the head (or a chunk-size line) is longer than `limit` bytes.
    #[error("a line exceeds {limit} bytes")]
    LineTooLong {
        /// `Limits::max_line_bytes`.
        limit: usize,
    },
    /// The response head has more than `limit` header fields.
    #[error("response has more than {limit} header fields")]
    TooManyHeaders {
        /// `Limits::max_headers`.
        limit: usize,
    },
    /// The line after the status line starts with whitespace (RFC 9112 §2.2): there is no
    /// field for it to continue. (A whitespace-led line after a field is obsolete line
    /// folding, which is unfolded, RFC 9112 §5.2.)
    #[error("a line starting with whitespace right after the status line")]
    WhitespaceAfterStatusLine,
    /// The head is not valid HTTP/1.x syntax.
    #[error("malformed response head: {detail}")]
    MalformedHead {
        /// What the parser objected to.
        detail: &'static str,
    },
    /// The status code is outside 100..=999.
    #[error("invalid status code {code}")]
    InvalidStatus {
        /// The code as received.
        code: u16,
    },
    /// A Content-Length value is not a plain decimal number that fits in 64 bits.
    #[error("invalid Content-Length {value:?}")]
    InvalidContentLength {
        /// The value as received (lossily decoded).
        value: String,
    },
    /// Two Content-Length values disagree (RFC 9110 §8.6).
    #[error("conflicting Content-Length values {first} and {second}")]
    ConflictingContentLength {
        /// The first value.
        first: u64,
        /// A later, different value.
        second: u64,
    },
    /// More interim (1xx) responses than `Limits::max_interim_responses`.
    #[error("more than {limit} interim responses")]
    TooManyInterimResponses {
        /// `Limits::max_interim_responses`.
        limit: usize,
    },
    /// A 101 Switching Protocols arrived although the request asked for no upgrade.
    #[error("101 Switching Protocols without an Upgrade request")]
    UnexpectedSwitchingProtocols,
    /// Bytes arrived while no request was outstanding (or after the response ended).
    #[error("{len} unexpected bytes with no request outstanding")]
    UnexpectedData {
        /// How many bytes.
        len: usize,
    },
    /// The connection closed before any byte of a response arrived.
    ///
    /// On a reused connection this usually means the server closed it while idle.
    #[error("connection closed before the response started")]
    ClosedBeforeResponse,
    /// The connection closed in the middle of the response head.
    #[error("connection closed after {received} bytes of the response head")]
    IncompleteHead {
        /// Head bytes received before the close.
        received: usize,
    },
    /// The connection closed before the Content-Length body was complete.
    #[error("body ended early: received {received} of {expected} bytes")]
    IncompleteBody {
        /// Body bytes received.
        received: u64,
        /// The Content-Length.
        expected: u64,
    },
    /// The connection ended without the notice that it ends on purpose (TLS close_notify),
    /// and the body was framed by that end: it may be cut short, so it is not handed over as
    /// whole.
    #[error(
        "the connection ended without TLS close_notify: a body framed by the connection's end may be cut short"
    )]
    UncleanEnd,
    /// The connection closed before the last chunk of a chunked body.
    #[error("chunked body ended early after {received} bytes, {phase}")]
    IncompleteChunkedBody {
        /// Decoded body bytes received.
        received: u64,
        /// Where the decoder was.
        phase: ChunkPhase,
    },
    /// A chunk-size line is not hexadecimal digits, optionally followed by extensions.
    #[error("invalid chunk-size line (unexpected byte 0x{byte:02x})")]
    InvalidChunkSize {
        /// The offending byte.
        byte: u8,
    },
    /// A chunk size does not fit in 64 bits.
    #[error("chunk size overflows 64 bits")]
    ChunkSizeOverflow,
    /// A line in chunked framing did not end with CRLF (bare LF or other byte).
    #[error("expected CRLF {phase}, found byte 0x{found:02x}")]
    ExpectedCrlf {
        /// Where the CRLF was expected.
        phase: ChunkPhase,
        /// The byte found instead.
        found: u8,
    },
    /// Chunk extensions of one body exceed `limit` bytes in total.
    #[error("chunk extensions exceed {limit} bytes")]
    ChunkExtensionsTooLarge {
        /// `Limits::max_chunk_extension_bytes`.
        limit: usize,
    },
    /// The trailer section exceeds `limit` bytes.
    #[error("trailer section exceeds {limit} bytes")]
    TrailersTooLarge {
        /// `Limits::max_trailer_bytes`.
        limit: usize,
    },
    /// A trailer field line is malformed.
    #[error("malformed trailer field in line {line}")]
    InvalidTrailer {
        /// 1-based line number within the trailer section.
        line: usize,
    },
    /// The trailer section has more than `limit` fields.
    #[error("trailer section has more than {limit} fields")]
    TooManyTrailers {
        /// `Limits::max_headers`.
        limit: usize,
    },
}

/// A mistake by the caller, reported before any byte of it is produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// The request target contains a byte not allowed there (whitespace, control, non-ASCII).
    #[error("invalid byte 0x{byte:02x} at index {index} of the request target")]
    InvalidTarget {
        /// The byte.
        byte: u8,
        /// Its index.
        index: usize,
    },
    /// The request target is empty.
    #[error("empty request target")]
    EmptyTarget,
    /// A header name is not an RFC 9110 token.
    #[error("invalid header name {name:?}")]
    InvalidHeaderName {
        /// The name (lossily decoded).
        name: String,
    },
    /// A header value contains CR, LF, NUL or another forbidden control byte.
    ///
    /// The value itself is not echoed, since it may be a secret.
    #[error("invalid byte 0x{byte:02x} in the value of header {name:?}")]
    InvalidHeaderValue {
        /// The header's name.
        name: String,
        /// The forbidden byte.
        byte: u8,
    },
    /// HTTP/1.1 requires a Host header (RFC 9112 §3.2).
    #[error("request has no Host header")]
    MissingHost,
    /// More than one Host header (RFC 9112 §3.2 makes that a bad request).
    #[error("request has more than one Host header")]
    DuplicateHost,
    /// A framing header set by the caller contradicts the declared body.
    #[error("the {header} header contradicts the declared request body")]
    ConflictingFraming {
        /// `Content-Length` or `Transfer-Encoding`.
        header: &'static str,
    },
    /// More body bytes than the declared Content-Length.
    #[error("request body longer than its Content-Length: {attempted} of {declared} bytes")]
    BodyTooLong {
        /// The declared length.
        declared: u64,
        /// Bytes the caller tried to send in total.
        attempted: u64,
    },
    /// The body ended before the declared Content-Length.
    #[error("request body shorter than its Content-Length: {sent} of {declared} bytes")]
    BodyTooShort {
        /// The declared length.
        declared: u64,
        /// Bytes sent.
        sent: u64,
    },
    /// Trailers can only be sent with a chunked body.
    #[error("trailers need a chunked request body")]
    TrailersNeedChunked,
    /// A call that the connection's current state does not allow.
    #[error("{operation} is not allowed while {state}")]
    WrongState {
        /// The call.
        operation: &'static str,
        /// The state, in words.
        state: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_the_servers_or_the_callers_and_says_which() {
        let remote = Error::from(RemoteError::ClosedBeforeResponse);
        assert!(remote.is_remote() && !remote.is_local());
        assert_eq!(remote.as_remote(), Some(&RemoteError::ClosedBeforeResponse));
        assert_eq!(remote.as_local(), None);
        let local = Error::from(LocalError::EmptyTarget);
        assert!(local.is_local() && !local.is_remote());
        assert_eq!(local.as_local(), Some(&LocalError::EmptyTarget));
        assert_eq!(local.as_remote(), None);
    }

    #[test]
    fn chunk_phases_say_where_the_body_broke() {
        for (phase, words) in [
            (ChunkPhase::SizeLine, "in a chunk-size line"),
            (
                ChunkPhase::Data { missing: 7 },
                "inside chunk data, 7 bytes missing",
            ),
            (ChunkPhase::DataEnd, "in the CRLF after chunk data"),
            (ChunkPhase::Trailers, "in the trailer section"),
        ] {
            assert_eq!(phase.to_string(), words);
        }
    }
}
