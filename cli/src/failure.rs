//! What went wrong, in the words of the report: a [`Kind`] and a message, and the exit code
//! each kind gives.

use std::fmt;

use duet_blocking::core::RemoteError;
use duet_blocking::{Error, ErrorKind, HistoryEntry, Url};
use serde::Serialize;

/// The `kind` of a failure in the report (`error.kind`) and on stderr (`duet: <kind>: ...`).
///
/// The names are part of the command-line interface; they follow the clients' [`ErrorKind`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Could not connect (DNS, refused, unreachable).
    Connect,
    /// A timeout, in any phase (the message names it).
    Timeout,
    /// TLS handshake or certificate failure, or unreadable TLS material (`--cacert`, ...).
    Tls,
    /// The server broke HTTP/1.1.
    Protocol,
    /// More redirects than `--max-redirects` (default 20).
    TooManyRedirects,
    /// A redirect that could not be followed.
    Redirect,
    /// The response body could not be decoded.
    Decode,
    /// The request body could not be made or read (`-d @FILE`, `-j` that is not JSON, ...).
    Body,
    /// The URL cannot be requested.
    InvalidUrl,
    /// A header name or value (`-H`, `-b`) is invalid.
    InvalidHeader,
    /// The proxy failed, or a proxy flag is not supported yet.
    Proxy,
    /// Authentication failed (bad credentials for the scheme, a malformed netrc file).
    Auth,
    /// Any other I/O failure: writing the output, reading or saving the cookie jar.
    Io,
    /// `--fail` and a 4xx or 5xx status.
    Status,
    /// `-C`: the server sent the whole body instead of the rest (it does not serve ranges).
    Resume,
    /// `--max-filesize`: the body is larger than allowed.
    TooLarge,
}

impl Kind {
    /// The kind's name, as in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Connect => "connect",
            Kind::Timeout => "timeout",
            Kind::Tls => "tls",
            Kind::Protocol => "protocol",
            Kind::TooManyRedirects => "too_many_redirects",
            Kind::Redirect => "redirect",
            Kind::Decode => "decode",
            Kind::Body => "body",
            Kind::InvalidUrl => "invalid_url",
            Kind::InvalidHeader => "invalid_header",
            Kind::Proxy => "proxy",
            Kind::Auth => "auth",
            Kind::Io => "io",
            Kind::Status => "status",
            Kind::Resume => "resume",
            Kind::TooLarge => "too_large",
        }
    }

    /// The process exit code for a failure of this kind: curl's number where curl has one
    /// that scripts check (7 connect, 22 `--fail`, 28 timeout, 33 `-C` not resumed, 35 TLS,
    /// 47 redirects, 63 `--max-filesize`), else 1.
    /// A wrong command line exits with 2 (from the argument parser).
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Connect => 7,
            Kind::Status => 22,
            Kind::Timeout => 28,
            Kind::Resume => 33,
            Kind::Tls => 35,
            Kind::TooManyRedirects => 47,
            Kind::TooLarge => 63,
            _ => 1,
        }
    }
}

impl From<ErrorKind> for Kind {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Connect => Kind::Connect,
            ErrorKind::Timeout(_) => Kind::Timeout,
            ErrorKind::Tls => Kind::Tls,
            ErrorKind::Protocol => Kind::Protocol,
            ErrorKind::Status(_) => Kind::Status,
            ErrorKind::Decode => Kind::Decode,
            ErrorKind::Body => Kind::Body,
            ErrorKind::InvalidUrl => Kind::InvalidUrl,
            ErrorKind::InvalidHeader => Kind::InvalidHeader,
            ErrorKind::Redirect => Kind::Redirect,
            ErrorKind::TooManyRedirects => Kind::TooManyRedirects,
            ErrorKind::Proxy => Kind::Proxy,
            ErrorKind::Auth => Kind::Auth,
            ErrorKind::Io => Kind::Io,
            // `ErrorKind` is non-exhaustive: a kind added later reads as a plain I/O failure
            // until it gets a name here.
            _ => Kind::Io,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request, or a failure around it (files, output): what the report's `error` says,
/// plus what a client error knew about the redirects and URL before it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The kind.
    pub kind: Kind,
    /// One line saying what happened.
    pub message: String,
    /// The URL the client was at, when the error came from a client.
    pub url: Option<Box<Url>>,
    /// The redirects followed before the error.
    pub history: Vec<HistoryEntry>,
    /// A finer exit code than the kind's, where curl has one for the cause (see
    /// [`exit_code`](Failure::exit_code)).
    code: Option<u8>,
}

impl Failure {
    /// A failure of `kind` described by `message`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            url: None,
            history: Vec::new(),
            code: None,
        }
    }

    /// The process exit code: the kind's ([`Kind::exit_code`]), or curl's finer number for
    /// the cause where curl has one: 3 for a malformed URL (an unsupported scheme stays 1,
    /// as curl's), 18 for a body cut short, 52 for a server that closed without answering,
    /// 61 for a body whose content coding does not decode.
    pub fn exit_code(&self) -> u8 {
        self.code.unwrap_or_else(|| self.kind.exit_code())
    }

    /// The line printed on stderr: `duet: <kind>: <message>`.
    pub fn line(&self) -> String {
        format!("duet: {self}")
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            kind: error.kind().into(),
            message: error.to_string(),
            url: error.url().cloned().map(Box::new),
            history: error.history().to_vec(),
            code: curl_code(&error),
        }
    }
}

/// curl's exit code for what caused `error`, where it is finer than the kind's.
fn curl_code(error: &Error) -> Option<u8> {
    match error.kind() {
        ErrorKind::InvalidUrl => {
            let scheme = error.url().map(Url::scheme);
            let unsupported = scheme.is_some_and(|s| s != "http" && s != "https");
            Some(if unsupported { 1 } else { 3 })
        }
        ErrorKind::Decode => Some(61),
        ErrorKind::Protocol => match error.protocol_error()?.as_remote()? {
            RemoteError::IncompleteBody { .. } | RemoteError::IncompleteChunkedBody { .. } => {
                Some(18)
            }
            RemoteError::ClosedBeforeResponse => Some(52),
            _ => None,
        },
        _ => None,
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duet_blocking::{StatusCode, TimeoutPhase};

    #[test]
    fn every_client_error_kind_has_a_report_name() {
        for (kind, name, code) in [
            (ErrorKind::Connect, "connect", 7),
            (ErrorKind::Timeout(TimeoutPhase::ReadHead), "timeout", 28),
            (ErrorKind::Tls, "tls", 35),
            (ErrorKind::Protocol, "protocol", 1),
            (ErrorKind::Status(StatusCode::NOT_FOUND), "status", 22),
            (ErrorKind::Decode, "decode", 1),
            (ErrorKind::Body, "body", 1),
            (ErrorKind::InvalidUrl, "invalid_url", 1),
            (ErrorKind::InvalidHeader, "invalid_header", 1),
            (ErrorKind::Redirect, "redirect", 1),
            (ErrorKind::TooManyRedirects, "too_many_redirects", 47),
            (ErrorKind::Proxy, "proxy", 1),
            (ErrorKind::Auth, "auth", 1),
            (ErrorKind::Io, "io", 1),
        ] {
            let kind = Kind::from(kind);
            assert_eq!((kind.as_str(), kind.exit_code()), (name, code));
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
        for (kind, name, code) in [
            (Kind::Resume, "resume", 33),
            (Kind::TooLarge, "too_large", 63),
        ] {
            assert_eq!((kind.as_str(), kind.exit_code()), (name, code));
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
    }

    #[test]
    fn a_client_error_keeps_its_message_and_url() {
        let url = Url::parse("http://127.0.0.1:1/x").unwrap();
        let failure = Failure::from(Error::msg(ErrorKind::Connect, "refused").with_url(&url));
        assert_eq!(failure.url.as_deref(), Some(&url));
        assert_eq!(
            failure.line(),
            "duet: connect: connect error for http://127.0.0.1:1/x: refused"
        );
    }
}
