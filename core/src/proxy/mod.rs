//! Proxies: which one a request goes through, and the SOCKS5 handshake that opens a tunnel.
//!
//! **In scope**: parsing proxy URLs ([`Proxy`]), the `no_proxy` bypass rules ([`NoProxy`]),
//! choosing a proxy for a request URL ([`ProxyConfig::select`]) from explicit settings and an
//! environment snapshot ([`ProxyConfig::from_env`]), and the SOCKS5 client handshake
//! (RFC 1928, with RFC 1929 username/password authentication) as a sans-IO state machine
//! ([`Socks5Handshake`]).
//!
//! **Out of scope**: reading the environment (the driver reads `std::env` and passes a
//! snapshot of name/value pairs), DNS (a `socks5://` proxy needs the target resolved by the
//! driver; `socks5h://` sends the name), sockets and TLS to the proxy.
//!
//! ## How a request picks its proxy
//!
//! [`ProxyConfig::select`] answers, in this order (the first answer wins):
//!
//! 1. Host rules ([`ProxyConfig::for_host`]), in the order they were added: an exact host or
//!    a `*.suffix` pattern, naming a proxy or "direct".
//! 2. The `no_proxy` rules ([`NoProxy`]): a match means a direct connection.
//! 3. The proxy for the URL's scheme: `http` (and `ws`) URLs use the HTTP proxy, `https` (and
//!    `wss`) URLs the HTTPS proxy. Otherwise the connection is direct.
//!
//! What the driver then does depends on [`ProxyScheme`]: through an `http`/`https` proxy an
//! `http://` request is sent in absolute-form (RFC 9112 §3.2.2) and an `https://` request
//! goes through a `CONNECT` tunnel (RFC 9110 §9.3.6); through a SOCKS5 proxy every request
//! goes through the tunnel that [`Socks5Handshake`] opens.
//!
//! ## A SOCKS5 handshake, byte for byte
//!
//! ```text
//!  new() ──> [greeting queued] ──method 0x00──────────────────────────> [request queued]
//!                 │                                                          │
//!                 └─method 0x02─> [auth queued] ──status 0x00───────────────>┤
//!                                                                            │
//!                                                       reply 0x00 ──> [done: tunnel open]
//!  Any wrong byte, or EOF before the end ──> [failed] (sticky: every later call repeats it)
//! ```
//!
//! ```
//! use duet_core::proxy::{Socks5Handshake, Socks5Target};
//!
//! let target = Socks5Target::Domain("example.com".into());
//! let creds = Some(("alice".to_owned(), "s3cret".to_owned()));
//! let mut socks = Socks5Handshake::new(target, 443, creds).unwrap();
//!
//! // Greeting: version 5, two methods: no authentication, username/password.
//! assert_eq!(socks.poll_transmit(), Some(&[5, 2, 0, 2][..]));
//! socks.advance_transmit(4);
//! assert_eq!(socks.handle_input(&[5, 2]).unwrap(), 2); // the proxy picks username/password
//!
//! // RFC 1929 sub-negotiation.
//! assert_eq!(socks.poll_transmit(), Some(&b"\x01\x05alice\x06s3cret"[..]));
//! socks.advance_transmit(14);
//! assert_eq!(socks.handle_input(&[1, 0]).unwrap(), 2); // accepted
//!
//! // CONNECT example.com:443 (ATYP 3, a domain name).
//! assert_eq!(socks.poll_transmit(), Some(&b"\x05\x01\x00\x03\x0bexample.com\x01\xbb"[..]));
//! socks.advance_transmit(18);
//!
//! // Success, bound to 10.0.0.1:4321; the bytes after the reply belong to the tunnel.
//! let input = b"\x05\x00\x00\x01\x0a\x00\x00\x01\x10\xe1\x16\x03\x01";
//! assert_eq!(socks.handle_input(input).unwrap(), 10);
//! assert!(socks.is_done());
//! assert_eq!(socks.poll_transmit(), None);
//! ```
//!
//! ## A driver's loop for SOCKS5
//!
//! 1. Connect to the proxy; [`Socks5Handshake::new`] with the target (for `socks5`, an IP
//!    address the driver resolved; for `socks5h`, [`Socks5Target::from_host`]).
//! 2. Write out [`Socks5Handshake::poll_transmit`], report it with
//!    [`Socks5Handshake::advance_transmit`].
//! 3. Until [`Socks5Handshake::is_done`]: read and pass the bytes to
//!    [`Socks5Handshake::handle_input`] (on a read of 0 bytes, call
//!    [`Socks5Handshake::handle_eof`]), then go back to 2.
//! 4. Bytes `handle_input` did not consume are the first bytes of the tunnel: give them to
//!    TLS or the HTTP [`Connection`](crate::Connection).

mod config;
mod env;
mod no_proxy;
mod proxy_url;
mod socks5;

#[cfg(test)]
mod tests;

pub use config::ProxyConfig;
pub use no_proxy::NoProxy;
pub use proxy_url::{Proxy, ProxyScheme};
pub use socks5::{Socks5Handshake, Socks5Phase, Socks5Reply, Socks5Target};

/// Why a proxy setting is invalid, or why a SOCKS5 proxy did not open a tunnel.
///
/// Configuration errors (the caller's) come from [`Proxy::parse`] and
/// [`Socks5Handshake::new`]; protocol errors (the proxy's, [`ProxyError::is_remote`]) come
/// from [`Socks5Handshake::handle_input`] and [`Socks5Handshake::handle_eof`]. Messages never
/// contain the proxy URL, so they cannot leak its password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL cannot be parsed (the reason, without the URL).
    #[error("invalid proxy URL: {0}")]
    InvalidUrl(String),
    /// A scheme other than `http`, `https`, `socks5` and `socks5h`.
    #[error("unsupported proxy scheme {0:?} (supported: http, https, socks5, socks5h)")]
    UnsupportedScheme(String),
    /// The proxy URL has no host.
    #[error("proxy URL has no host")]
    MissingHost,
    /// The percent-decoded user name or password is not UTF-8.
    #[error("proxy credentials are not valid UTF-8 once percent-decoded")]
    CredentialsNotUtf8,
    /// A SOCKS5 target domain name is empty or longer than 255 bytes (RFC 1928 §5: one
    /// length octet).
    #[error("SOCKS5 target domain name is {len} bytes; it must be 1 to 255")]
    InvalidDomainLength {
        /// Its length in bytes.
        len: usize,
    },
    /// A SOCKS5 user name or password is longer than 255 bytes (RFC 1929 §2: one length
    /// octet).
    #[error("SOCKS5 {field} is {len} bytes; at most 255 are allowed (RFC 1929)")]
    CredentialTooLong {
        /// `"user name"` or `"password"`.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The proxy sent a version byte other than the one the phase requires.
    #[error("SOCKS5 proxy sent version {got:#04x} in its {phase}, expected {expected:#04x}")]
    BadVersion {
        /// Which reply.
        phase: Socks5Phase,
        /// The version the RFC requires there.
        expected: u8,
        /// The version received.
        got: u8,
    },
    /// The proxy accepted none of the offered methods (method `0xFF`, RFC 1928 §3). Without
    /// credentials only "no authentication" is offered, so this often means the proxy wants
    /// a user name and password.
    #[error("SOCKS5 proxy accepted none of the offered authentication methods")]
    NoAcceptableMethod,
    /// The proxy chose a method that was not offered.
    #[error("SOCKS5 proxy chose authentication method {0:#04x}, which was not offered")]
    UnexpectedMethod(u8),
    /// The proxy rejected the user name and password (RFC 1929 §2: a status other than 0).
    #[error("SOCKS5 proxy rejected the user name and password (status {0:#04x})")]
    AuthFailed(u8),
    /// The proxy could not open the connection (RFC 1928 §6: REP other than 0).
    #[error("SOCKS5 proxy could not connect: {0}")]
    ConnectFailed(Socks5Reply),
    /// The reply's bound address has an address type other than 1, 3 or 4.
    #[error("SOCKS5 proxy replied with unknown address type {0:#04x}")]
    UnknownAddressType(u8),
    /// The proxy closed the connection before the handshake finished.
    #[error(
        "SOCKS5 proxy closed the connection in its {phase}: expected {expected} bytes, \
         received {received}"
    )]
    Truncated {
        /// Which reply was cut short.
        phase: Socks5Phase,
        /// The bytes that reply needs, as far as they were known (the length of a bound
        /// address is known only once its type has arrived).
        expected: usize,
        /// The bytes of it that arrived.
        received: usize,
    },
}

impl ProxyError {
    /// True when the proxy broke the protocol or refused; false for invalid settings.
    pub fn is_remote(&self) -> bool {
        matches!(
            self,
            ProxyError::BadVersion { .. }
                | ProxyError::NoAcceptableMethod
                | ProxyError::UnexpectedMethod(_)
                | ProxyError::AuthFailed(_)
                | ProxyError::ConnectFailed(_)
                | ProxyError::UnknownAddressType(_)
                | ProxyError::Truncated { .. }
        )
    }
}
