//! Proxies: which one a request goes through, and the SOCKS5 handshake that opens a tunnel.
//!
//! **In scope**: parsing proxy URLs ([`Proxy`]), the `no_proxy` bypass rules ([`NoProxy`]),
//! choosing a proxy for a request URL ([`ProxyConfig::select`]) from explicit settings and an
//! environment snapshot ([`ProxyConfig::from_env`]), and, with the `socks` feature, the
//! SOCKS5 client handshake (RFC 1928, with RFC 1929 username/password authentication) as a
//! sans-IO state machine (`Socks5Handshake`).
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
//! goes through the tunnel that `Socks5Handshake` opens. Without the `socks` feature,
//! [`Proxy::parse`] refuses `socks5://` and `socks5h://` URLs.

mod config;
mod env;
mod no_proxy;
mod proxy_url;
#[cfg(feature = "socks")]
mod socks5;
mod socks5_reply;

#[cfg(test)]
mod tests;

pub use config::ProxyConfig;
pub use no_proxy::NoProxy;
pub use proxy_url::{Proxy, ProxyScheme};
#[cfg(feature = "socks")]
pub use socks5::{Socks5Handshake, Socks5Target};
pub use socks5_reply::{Socks5Phase, Socks5Reply};

/// Why a proxy setting is invalid, or why a SOCKS5 proxy did not open a tunnel.
///
/// Configuration errors (the caller's) come from [`Proxy::parse`] and
/// `Socks5Handshake::new`; protocol errors (the proxy's, [`ProxyError::is_remote`]) come
/// from `Socks5Handshake::handle_input` and `Socks5Handshake::handle_eof` (the `socks`
/// feature). Messages never contain the proxy URL, so they cannot leak its password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL cannot be parsed (the reason, without the URL).
    #[error("invalid proxy URL: {0}")]
    InvalidUrl(String),
    /// A scheme other than `http`, `https`, `socks5` and `socks5h`.
    #[error("unsupported proxy scheme {0:?} (supported: http, https, socks5, socks5h)")]
    UnsupportedScheme(String),
    /// A `socks5://` or `socks5h://` proxy (the scheme) in a build without duet's `socks`
    /// feature.
    #[error("{0} proxies need duet's `socks` feature (enable it on duet-blocking or duet-async)")]
    SocksDisabled(String),
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
