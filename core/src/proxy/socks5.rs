//! The SOCKS5 client handshake (RFC 1928) with username/password authentication (RFC 1929),
//! as a sans-IO state machine.
//!
//! # Theory of operation
//!
//! Everything that changes the handshake's state is in this file. The client speaks in lock
//! step: it queues one message, then waits for the one reply that message asks for.
//!
//! | state          | waiting for                         | on success, queues   |
//! |----------------|-------------------------------------|----------------------|
//! | `Method`       | VER 5, METHOD (2 bytes, §3)         | auth or `CONNECT`    |
//! | `Auth`         | VER 1, STATUS (2 bytes, RFC 1929 §2)| `CONNECT`            |
//! | `Reply`        | VER 5, REP, RSV, ATYP, BND.ADDR, BND.PORT (§6) | nothing   |
//! | `Done`         | nothing: the tunnel is open         |                      |
//! | `Failed`       | nothing: every call repeats the error |                    |
//!
//! The reply being read is kept in `buf`; [`Socks5Handshake::handle_input`] takes exactly the
//! bytes it still needs (a reply's length is known once its ATYP, or a domain's length
//! octet, has arrived), so bytes after the final reply stay with the caller: they are the
//! tunnel's. Each byte is checked as soon as it arrives, so a proxy that sends a failure
//! code and closes is reported with that code, not as a truncated reply.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{ProxyError, Socks5Phase, Socks5Reply};

const VERSION: u8 = 0x05;
const AUTH_VERSION: u8 = 0x01;
const NO_AUTH: u8 = 0x00;
const USER_PASS: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xFF;
const CMD_CONNECT: u8 = 0x01;
const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;

/// Where the proxy should connect: what goes in DST.ADDR (RFC 1928 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Socks5Target {
    /// An IP address (ATYP 1 or 4): for `socks5://`, the driver resolved the host itself.
    Ip(IpAddr),
    /// A domain name (ATYP 3), resolved by the proxy: for `socks5h://`.
    Domain(String),
}

impl Socks5Target {
    /// The target for a URL host under `socks5h://`: an IP literal (IPv6 with or without
    /// brackets) is sent as an address, anything else as a domain name.
    pub fn from_host(host: &str) -> Socks5Target {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Socks5Target::Ip(ip),
            Err(_) => Socks5Target::Domain(host.to_owned()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Method,
    Auth,
    Reply,
    Done,
    Failed(ProxyError),
}

/// The client side of a SOCKS5 handshake that ends in a `CONNECT` tunnel (RFC 1928), with
/// optional username/password authentication (RFC 1929).
///
/// # A SOCKS5 handshake, byte for byte
///
/// ```text
///  new() ──> [greeting queued] ──method 0x00──────────────────────────> [request queued]
///                 │                                                          │
///                 └─method 0x02─> [auth queued] ──status 0x00───────────────>┤
///                                                                            │
///                                                       reply 0x00 ──> [done: tunnel open]
///  Any wrong byte, or EOF before the end ──> [failed] (sticky: every later call repeats it)
/// ```
///
/// ```
/// use duet_core::proxy::{Socks5Handshake, Socks5Target};
///
/// let target = Socks5Target::Domain("example.com".into());
/// let creds = Some(("alice".to_owned(), "s3cret".to_owned()));
/// let mut socks = Socks5Handshake::new(target, 443, creds).unwrap();
///
/// // Greeting: version 5, two methods: no authentication, username/password.
/// assert_eq!(socks.poll_transmit(), Some(&[5, 2, 0, 2][..]));
/// socks.advance_transmit(4);
/// assert_eq!(socks.handle_input(&[5, 2]).unwrap(), 2); // the proxy picks username/password
///
/// // RFC 1929 sub-negotiation.
/// assert_eq!(socks.poll_transmit(), Some(&b"\x01\x05alice\x06s3cret"[..]));
/// socks.advance_transmit(14);
/// assert_eq!(socks.handle_input(&[1, 0]).unwrap(), 2); // accepted
///
/// // CONNECT example.com:443 (ATYP 3, a domain name).
/// assert_eq!(socks.poll_transmit(), Some(&b"\x05\x01\x00\x03\x0bexample.com\x01\xbb"[..]));
/// socks.advance_transmit(18);
///
/// // Success, bound to 10.0.0.1:4321; the bytes after the reply belong to the tunnel.
/// let input = b"\x05\x00\x00\x01\x0a\x00\x00\x01\x10\xe1\x16\x03\x01";
/// assert_eq!(socks.handle_input(input).unwrap(), 10);
/// assert!(socks.is_done());
/// assert_eq!(socks.poll_transmit(), None);
/// ```
///
/// # A driver's loop for SOCKS5
///
/// 1. Connect to the proxy; [`Socks5Handshake::new`] with the target (for `socks5`, an IP
///    address the driver resolved; for `socks5h`, [`Socks5Target::from_host`]).
/// 2. Write out [`Socks5Handshake::poll_transmit`], report it with
///    [`Socks5Handshake::advance_transmit`].
/// 3. Until [`Socks5Handshake::is_done`]: read and pass the bytes to
///    [`Socks5Handshake::handle_input`] (on a read of 0 bytes, call
///    [`Socks5Handshake::handle_eof`]), then go back to 2.
/// 4. Bytes `handle_input` did not consume are the first bytes of the tunnel: give them to
///    TLS or the HTTP [`Connection`](crate::Connection).
///
/// Errors are sticky: after one, every call returns it again and nothing more is sent. The
/// connection to the proxy must then be closed. `Debug` never shows the credentials.
#[derive(Clone)]
pub struct Socks5Handshake {
    state: State,
    /// Queued bytes not yet reported written.
    transmit: Vec<u8>,
    /// The RFC 1929 request, sent if the proxy picks username/password.
    auth: Option<Vec<u8>>,
    /// The `CONNECT` request, sent once a method is settled.
    request: Vec<u8>,
    /// The bytes of the reply being read.
    buf: Vec<u8>,
    bound: Option<(Socks5Target, u16)>,
}

impl Socks5Handshake {
    /// A handshake asking the proxy to connect to `target` on `port`.
    ///
    /// With `credentials` the greeting offers "no authentication" and "username/password"
    /// (methods 0x00 and 0x02), otherwise only 0x00. The greeting is queued at once.
    ///
    /// Fails, before anything is sent, with [`ProxyError::InvalidDomainLength`] for a domain
    /// that is empty or over 255 bytes and [`ProxyError::CredentialTooLong`] for a user name
    /// or password over 255 bytes (one length octet each). An empty user name or password
    /// is sent as it is (length 0), as curl does.
    pub fn new(
        target: Socks5Target,
        port: u16,
        credentials: Option<(String, String)>,
    ) -> Result<Self, ProxyError> {
        let mut request = vec![VERSION, CMD_CONNECT, 0x00];
        match &target {
            Socks5Target::Ip(IpAddr::V4(ip)) => {
                request.push(ATYP_IPV4);
                request.extend_from_slice(&ip.octets());
            }
            Socks5Target::Ip(IpAddr::V6(ip)) => {
                request.push(ATYP_IPV6);
                request.extend_from_slice(&ip.octets());
            }
            Socks5Target::Domain(name) => {
                let len = u8::try_from(name.len())
                    .ok()
                    .filter(|&len| len > 0)
                    .ok_or(ProxyError::InvalidDomainLength { len: name.len() })?;
                request.push(ATYP_DOMAIN);
                request.push(len);
                request.extend_from_slice(name.as_bytes());
            }
        }
        request.extend_from_slice(&port.to_be_bytes());

        let auth = match credentials {
            Some((user, password)) => {
                let field_len = |field: &'static str, value: &str| {
                    u8::try_from(value.len()).map_err(|_| ProxyError::CredentialTooLong {
                        field,
                        len: value.len(),
                    })
                };
                let user_len = field_len("user name", &user)?;
                let password_len = field_len("password", &password)?;
                let mut auth = vec![AUTH_VERSION, user_len];
                auth.extend_from_slice(user.as_bytes());
                auth.push(password_len);
                auth.extend_from_slice(password.as_bytes());
                Some(auth)
            }
            None => None,
        };
        let transmit = match auth {
            Some(_) => vec![VERSION, 2, NO_AUTH, USER_PASS],
            None => vec![VERSION, 1, NO_AUTH],
        };
        Ok(Socks5Handshake {
            state: State::Method,
            transmit,
            auth,
            request,
            buf: Vec::with_capacity(22),
            bound: None,
        })
    }

    /// The bytes to write to the proxy now, or `None` when there are none (waiting for
    /// input, done, or failed). Report what was written with
    /// [`advance_transmit`](Self::advance_transmit).
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        (!self.transmit.is_empty()).then_some(self.transmit.as_slice())
    }

    /// Reports that the first `n` bytes of [`poll_transmit`](Self::poll_transmit) were
    /// written (more than are queued counts as all).
    pub fn advance_transmit(&mut self, n: usize) {
        self.transmit.drain(..n.min(self.transmit.len()));
    }

    /// Bytes read from the proxy. Returns how many were consumed: never more than the
    /// handshake needs, so when it returns with [`is_done`](Self::is_done) true the
    /// unconsumed rest of `input` is the first data of the tunnel. Before that, everything
    /// is consumed. Once done, consumes nothing.
    ///
    /// Each reply queues the next message (see [`poll_transmit`](Self::poll_transmit)).
    /// Errors (all fatal and sticky): [`ProxyError::BadVersion`],
    /// [`ProxyError::NoAcceptableMethod`], [`ProxyError::UnexpectedMethod`],
    /// [`ProxyError::AuthFailed`], [`ProxyError::ConnectFailed`],
    /// [`ProxyError::UnknownAddressType`]. The reserved byte of the reply is not checked,
    /// as curl does not.
    pub fn handle_input(&mut self, input: &[u8]) -> Result<usize, ProxyError> {
        let mut used = 0;
        loop {
            match &self.state {
                State::Failed(error) => return Err(error.clone()),
                State::Done => return Ok(used),
                _ if used == input.len() => return Ok(used),
                _ => {}
            }
            let take = (self.needed() - self.buf.len()).min(input.len() - used);
            self.buf.extend_from_slice(&input[used..used + take]);
            used += take;
            if let Err(error) = self.step() {
                self.fail(error.clone());
                return Err(error);
            }
        }
    }

    /// The proxy closed the connection (a read returned 0 bytes). `Ok` if the tunnel was
    /// already open; otherwise [`ProxyError::Truncated`] with what was expected and
    /// received (sticky).
    pub fn handle_eof(&mut self) -> Result<(), ProxyError> {
        let phase = match &self.state {
            State::Done => return Ok(()),
            State::Failed(error) => return Err(error.clone()),
            State::Method => Socks5Phase::MethodSelection,
            State::Auth => Socks5Phase::Authentication,
            State::Reply => Socks5Phase::Reply,
        };
        let error = ProxyError::Truncated {
            phase,
            expected: self.needed(),
            received: self.buf.len(),
        };
        self.fail(error.clone());
        Err(error)
    }

    /// True once the proxy has opened the tunnel: the connection now carries bytes to and
    /// from the target.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The address and port the proxy bound for the tunnel (BND.ADDR and BND.PORT), once
    /// done. A domain that is not UTF-8 is decoded lossily.
    pub fn bound_address(&self) -> Option<(&Socks5Target, u16)> {
        self.bound.as_ref().map(|(target, port)| (target, *port))
    }

    fn fail(&mut self, error: ProxyError) {
        self.transmit.clear();
        self.state = State::Failed(error);
    }

    /// How many bytes the current reply has, as far as the bytes so far tell.
    fn needed(&self) -> usize {
        match self.state {
            State::Method | State::Auth => 2,
            State::Reply => match (self.buf.get(3), reply_len(&self.buf)) {
                (_, Some(len)) => len,
                (Some(&ATYP_DOMAIN), None) => 5, // up to the domain's length octet
                _ => 4,
            },
            State::Done | State::Failed(_) => self.buf.len(),
        }
    }

    /// Checks the bytes of the current reply and, when it is complete, moves on.
    fn step(&mut self) -> Result<(), ProxyError> {
        let buf = &self.buf;
        match self.state {
            State::Method => {
                check_version(buf, Socks5Phase::MethodSelection, &[VERSION])?;
                let Some(&method) = buf.get(1) else {
                    return Ok(());
                };
                match method {
                    NO_AUTH => self.send_request(),
                    USER_PASS if self.auth.is_some() => {
                        self.transmit.extend(self.auth.take().unwrap_or_default());
                        self.buf.clear();
                        self.state = State::Auth;
                    }
                    NO_ACCEPTABLE => return Err(ProxyError::NoAcceptableMethod),
                    other => return Err(ProxyError::UnexpectedMethod(other)),
                }
            }
            State::Auth => {
                // RFC 1929 says version 1; some servers answer with 5, which curl accepts.
                check_version(buf, Socks5Phase::Authentication, &[AUTH_VERSION, VERSION])?;
                match buf.get(1) {
                    None => {}
                    Some(0) => self.send_request(),
                    Some(&status) => return Err(ProxyError::AuthFailed(status)),
                }
            }
            State::Reply => {
                check_version(buf, Socks5Phase::Reply, &[VERSION])?;
                match buf.get(1) {
                    Some(0) | None => {}
                    Some(&code) => {
                        return Err(ProxyError::ConnectFailed(Socks5Reply::from_code(code)));
                    }
                }
                if let Some(&atyp) = buf.get(3) {
                    if ![ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6].contains(&atyp) {
                        return Err(ProxyError::UnknownAddressType(atyp));
                    }
                }
                if reply_len(buf) == Some(buf.len()) {
                    self.bound = Some(bound_address(buf));
                    self.buf.clear();
                    self.state = State::Done;
                }
            }
            State::Done | State::Failed(_) => {}
        }
        Ok(())
    }

    fn send_request(&mut self) {
        self.auth = None;
        self.transmit.append(&mut self.request);
        self.buf.clear();
        self.state = State::Reply;
    }
}

fn check_version(buf: &[u8], phase: Socks5Phase, allowed: &[u8]) -> Result<(), ProxyError> {
    match buf.first() {
        Some(got) if !allowed.contains(got) => Err(ProxyError::BadVersion {
            phase,
            expected: allowed[0],
            got: *got,
        }),
        _ => Ok(()),
    }
}

/// The whole length of a `CONNECT` reply, once its first bytes tell it (RFC 1928 §6).
fn reply_len(buf: &[u8]) -> Option<usize> {
    let addr_len = match *buf.get(3)? {
        ATYP_IPV4 => 4,
        ATYP_IPV6 => 16,
        ATYP_DOMAIN => 1 + usize::from(*buf.get(4)?),
        _ => return None,
    };
    Some(4 + addr_len + 2)
}

/// BND.ADDR and BND.PORT of a complete reply.
fn bound_address(reply: &[u8]) -> (Socks5Target, u16) {
    let port = u16::from_be_bytes([reply[reply.len() - 2], reply[reply.len() - 1]]);
    let addr = &reply[4..reply.len() - 2];
    let target = match reply[3] {
        ATYP_IPV4 => {
            let octets: [u8; 4] = addr.try_into().unwrap_or_default();
            Socks5Target::Ip(IpAddr::V4(Ipv4Addr::from(octets)))
        }
        ATYP_IPV6 => {
            let octets: [u8; 16] = addr.try_into().unwrap_or_default();
            Socks5Target::Ip(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => Socks5Target::Domain(String::from_utf8_lossy(&addr[1..]).into_owned()),
    };
    (target, port)
}

impl fmt::Debug for Socks5Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socks5Handshake")
            .field("state", &self.state)
            .field("queued_bytes", &self.transmit.len())
            .field("received", &self.buf.len())
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "socks5_tests.rs"]
mod tests;
