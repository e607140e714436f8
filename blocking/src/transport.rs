//! Sockets: connecting with deadlines, TLS, and reads/writes that honour a deadline.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use duet_core::client::{Error, ErrorKind, Origin, TimeoutPhase, server_name};
use rustls::{ClientConnection, StreamOwned};

/// A connection's byte stream: plain TCP, or TLS over another stream (TCP, or a tunnel
/// through a TLS proxy).
#[derive(Debug)]
pub(crate) enum Stream {
    /// TCP, with the timeout last applied to the socket (reads and writes share it).
    Plain(TcpStream, Cell<Option<Duration>>),
    Tls(Box<StreamOwned<ClientConnection, Stream>>),
    /// A stream a mounted [`Transport`] opened.
    Custom(Box<dyn Io>),
}

/// A byte stream opened by a custom [`Transport`].
pub trait Io: Read + Write + Send + fmt::Debug {
    /// Applies read and write timeouts, when the stream supports them. The default does
    /// nothing: in-memory streams never wait.
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        let _ = (read, write);
        Ok(())
    }
}

/// A way to open connections other than TCP, mounted on URL patterns with
/// `ClientBuilder::mount` (as requests' `Session.mount`): Unix sockets, mocks, replays.
pub trait Transport: Send + Sync + fmt::Debug {
    /// Opens a connection for `origin` by `deadline`.
    fn connect(&self, origin: &Origin, deadline: Option<Instant>) -> Result<Box<dyn Io>, Error>;

    /// Whether the transport answers for https itself (a mock, a replay): then no TLS is
    /// started over it. Default `false`: https gets TLS over the stream, verified as usual.
    fn handles_tls(&self) -> bool {
        false
    }
}

impl Stream {
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Plain(s, applied) => {
                // A socket timeout only has to end a wait at about the deadline (1/64 late at
                // most); one shorter than needed just wakes the engine early, which waits again.
                // So the setsockopt calls are skipped while the applied timeout still fits.
                let fits = match (applied.get(), read) {
                    (Some(current), Some(left)) => {
                        current <= left + left / 64 && current >= left / 2
                    }
                    (None, None) => true,
                    _ => false,
                };
                if fits && read == write {
                    return Ok(());
                }
                s.set_read_timeout(read)?;
                s.set_write_timeout(write)?;
                applied.set(if read == write { read } else { None });
                Ok(())
            }
            Stream::Tls(s) => s.sock.set_timeouts(read, write),
            Stream::Custom(s) => s.set_timeouts(read, write),
        }
    }

    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s, _) => Some(s),
            Stream::Tls(s) => s.sock.tcp(),
            Stream::Custom(_) => None,
        }
    }

    /// Reads with the socket timeout set from `deadline` (as of `now`, a moment ago); a
    /// passed deadline is `TimedOut`.
    pub(crate) fn read_by(
        &mut self,
        buf: &mut [u8],
        deadline: Option<Instant>,
        now: Instant,
    ) -> io::Result<usize> {
        self.flush()?;
        let left = remaining(deadline, now)?;
        self.set_timeouts(left, left)?;
        self.read(buf)
    }

    /// Writes with the socket timeout set from `deadline` (as of `now`, a moment ago).
    pub(crate) fn write_by(
        &mut self,
        buf: &[u8],
        deadline: Option<Instant>,
        now: Instant,
    ) -> io::Result<usize> {
        let left = remaining(deadline, now)?;
        self.set_timeouts(left, left)?;
        self.write(buf)
    }

    /// Whether an idle pooled connection still looks usable: the server has neither closed
    /// it nor sent anything (a peek that would block means all is quiet).
    pub(crate) fn is_quiet(&self) -> bool {
        if let Stream::Tls(s) = self
            && s.conn.wants_write()
        {
            return false;
        }
        let Some(tcp) = self.tcp() else {
            return true; // custom streams have no peek; a dead one fails and is retried
        };
        peek_would_block(tcp)
    }
}

/// Whether a one-byte peek at `tcp` would block: the server has neither closed the
/// connection nor sent anything.
#[cfg(unix)]
fn peek_would_block(tcp: &TcpStream) -> bool {
    use rustix::net::{RecvFlags, recv};
    // One system call, without touching the socket's blocking mode.
    matches!(
        recv(tcp, &mut [0u8; 1], RecvFlags::PEEK | RecvFlags::DONTWAIT),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK
    )
}

/// Whether a one-byte peek at `tcp` would block (elsewhere: switch to non-blocking around
/// the peek).
#[cfg(not(unix))]
fn peek_would_block(tcp: &TcpStream) -> bool {
    if tcp.set_nonblocking(true).is_err() {
        return false;
    }
    let quiet = matches!(tcp.peek(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    tcp.set_nonblocking(false).is_ok() && quiet
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s, _) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Custom(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s, _) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Custom(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s, _) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Custom(s) => s.flush(),
        }
    }
}

/// The time left from `now` until `deadline` as a socket timeout; `TimedOut` once it has
/// passed.
fn remaining(deadline: Option<Instant>, now: Instant) -> io::Result<Option<Duration>> {
    match deadline {
        None => Ok(None),
        Some(d) => match d.checked_duration_since(now) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(io::ErrorKind::TimedOut.into()),
        },
    }
}

/// Whether an I/O error means a deadline passed.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// A TLS failure hidden inside an I/O error, if that is what it is.
pub(crate) fn tls_failure(e: &io::Error) -> Option<String> {
    let inner = e.get_ref()?;
    inner
        .downcast_ref::<rustls::Error>()
        .map(|tls| tls.to_string())
}

/// The first address `host` resolves to (for `socks5://`, which wants one). std offers no
/// resolver deadline; the connect deadline still bounds the whole connection.
pub(crate) fn resolve(
    host: &str,
    port: u16,
    _deadline: Option<Instant>,
) -> Result<std::net::IpAddr, Error> {
    let mut addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::new(ErrorKind::Connect, e))?;
    addrs
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| Error::msg(ErrorKind::Connect, format!("no address found for {host}")))
}

/// Resolves `host` and connects to each address in turn by `deadline`.
pub(crate) fn connect_tcp(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
) -> Result<(Stream, SocketAddr), Error> {
    let timeout = || Error::timeout(TimeoutPhase::Connect, None);
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::new(ErrorKind::Connect, e))?
        .collect();
    let mut last = None;
    for addr in &addrs {
        let attempt = match remaining(deadline, Instant::now()) {
            Ok(Some(left)) => TcpStream::connect_timeout(addr, left),
            Ok(None) => TcpStream::connect(addr),
            Err(_) => return Err(timeout()),
        };
        match attempt {
            Ok(tcp) => {
                tcp.set_nodelay(true)
                    .map_err(|e| Error::new(ErrorKind::Connect, e))?;
                return Ok((Stream::Plain(tcp, Cell::new(None)), *addr));
            }
            Err(e) if is_timeout(&e) => return Err(timeout()),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => Error::new(ErrorKind::Connect, e),
        None => Error::msg(ErrorKind::Connect, format!("no address found for {host}")),
    })
}

impl Stream {
    /// Runs a TLS handshake for `host` over this stream by `deadline`.
    pub(crate) fn start_tls(
        self,
        tls: &Arc<rustls::ClientConfig>,
        host: &str,
        deadline: Option<Instant>,
    ) -> Result<Stream, Error> {
        let timeout = || Error::timeout(TimeoutPhase::Connect, None);
        let mut conn = ClientConnection::new(tls.clone(), server_name(host)?)
            .map_err(|e| Error::new(ErrorKind::Tls, e))?;
        let mut inner = self;
        while conn.is_handshaking() {
            let left = remaining(deadline, Instant::now()).map_err(|_| timeout())?;
            let io = inner.set_timeouts(left, left);
            if let Err(e) = io.and_then(|()| conn.complete_io(&mut inner).map(|_| ())) {
                return Err(match tls_failure(&e) {
                    Some(message) => Error::msg(ErrorKind::Tls, message),
                    None if is_timeout(&e) => timeout(),
                    None if e.kind() == io::ErrorKind::UnexpectedEof => Error::msg(
                        ErrorKind::Tls,
                        "the server closed the connection during the TLS handshake",
                    ),
                    None => Error::new(ErrorKind::Connect, e),
                });
            }
        }
        Ok(Stream::Tls(Box::new(StreamOwned::new(conn, inner))))
    }
}
