//! Sockets: connecting with deadlines, TLS, and reads/writes that honour a deadline.

use std::fmt;
use std::io::{self, IoSliceMut, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};
use sync_wrapper::SyncWrapper;

#[cfg(target_os = "linux")]
use duet_core::client::DialStep;
use duet_core::client::{Dial, DialConfig, Error, ErrorKind, Origin, TimeoutPhase, server_name};
use rustls::{ClientConnection, StreamOwned};

use crate::resolver::Resolver;

/// A connection's byte stream: plain TCP, or TLS over another stream (TCP, or a tunnel
/// through a TLS proxy).
#[derive(Debug)]
pub(crate) enum Stream {
    /// TCP, with the timeouts last applied to the socket.
    Plain(TcpStream, Applied),
    Tls(Box<StreamOwned<ClientConnection, Stream>>),
    /// A stream a mounted [`Transport`] opened.
    /// (Wrapped so that a stream is `Sync` whatever the transport's type: it is only ever
    /// used through `&mut`.)
    Custom(SyncWrapper<Box<dyn Io>>),
}

/// A byte stream opened by a custom [`Transport`].
pub trait Io: Read + Write + Send + fmt::Debug {
    /// Applies read and write timeouts, when the stream supports them. The default does
    /// nothing: in-memory streams never wait.
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        let _ = (read, write);
        Ok(())
    }

    /// Whether the connection, idle in the pool, still looks usable: the other end has
    /// neither closed it nor sent anything since the last answer. It is asked before the
    /// connection is reused, so that stray bytes are never read as the next answer; it must
    /// not wait. The default, `true`, is for streams that cannot tell (in-memory ones): a
    /// closed one then fails the next request, which is sent again if it may go twice.
    fn is_quiet(&self) -> bool {
        true
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

/// The timeouts last applied to a TCP socket (`None`: none, as a new socket has).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Applied {
    read: Option<Duration>,
    write: Option<Duration>,
}

/// Whether a socket timeout of `current` serves a wait that may last `wanted`. A socket
/// timeout only has to end a wait at about the deadline (1/64 late at most); one shorter
/// than needed just wakes the engine early, which waits again. So the setsockopt calls are
/// skipped while the applied timeout still fits.
fn fits(current: Option<Duration>, wanted: Option<Duration>) -> bool {
    match (current, wanted) {
        (Some(current), Some(left)) => current <= left + left / 64 && current >= left / 2,
        (None, None) => true,
        _ => false,
    }
}

impl Applied {
    /// Sets the read timeout of `tcp` to `left`, unless the one applied still fits.
    fn read(&mut self, tcp: &TcpStream, left: Option<Duration>) -> io::Result<()> {
        if !fits(self.read, left) {
            tcp.set_read_timeout(left)?;
            self.read = left;
        }
        Ok(())
    }

    /// Sets the write timeout of `tcp` to `left`, unless the one applied still fits.
    fn write(&mut self, tcp: &TcpStream, left: Option<Duration>) -> io::Result<()> {
        if !fits(self.write, left) {
            tcp.set_write_timeout(left)?;
            self.write = left;
        }
        Ok(())
    }
}

impl Stream {
    /// A stream a mounted transport opened.
    pub(crate) fn custom(io: Box<dyn Io>) -> Stream {
        Stream::Custom(SyncWrapper::new(io))
    }

    fn set_timeouts(&mut self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Plain(s, applied) => {
                applied.read(s, read)?;
                applied.write(s, write)
            }
            Stream::Tls(s) => s.sock.set_timeouts(read, write),
            Stream::Custom(s) => s.get_mut().set_timeouts(read, write),
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
        self.read_vectored_by(&mut [IoSliceMut::new(buf)], deadline, now)
    }

    /// [`read_by`](Self::read_by) into `bufs` in turn: in one read where the stream can (a
    /// plain TCP one), else into the first that has room.
    pub(crate) fn read_vectored_by(
        &mut self,
        bufs: &mut [IoSliceMut<'_>],
        deadline: Option<Instant>,
        now: Instant,
    ) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        if let Some(n) = self.read_listening(bufs, deadline)? {
            return Ok(n);
        }
        if let Err(e) = self.flush() {
            self.drop_unsent_if_gone(e)?;
        }
        let left = remaining(deadline, now)?;
        match self {
            // A plain read never writes: only the read timeout matters.
            Stream::Plain(s, applied) => applied.read(s, left)?,
            _ => self.set_timeouts(left, left)?,
        }
        self.read_vectored(bufs)
    }

    /// A read while TLS still holds bytes for the server (the end of a request), at any
    /// layer: they go out as the socket takes them, while listening; the read takes the
    /// server's answer as soon as it comes, even if the rest never goes. Flushing it all
    /// first would wait forever on a server that answered before reading the whole request
    /// and reads no more. `None` when TLS holds nothing (any more), or there is no socket to
    /// listen on (a mounted transport's stream): the caller reads as usual.
    #[cfg(target_os = "linux")]
    fn read_listening(
        &mut self,
        bufs: &mut [IoSliceMut<'_>],
        deadline: Option<Instant>,
    ) -> io::Result<Option<usize>> {
        if !matches!(self, Stream::Tls(_)) || self.tcp().is_none() {
            return Ok(None);
        }
        loop {
            match self.push_now() {
                Ok(true) => return Ok(None),
                Ok(false) => {}
                Err(e) => {
                    // The usual read then takes what the server sent before it went.
                    self.drop_unsent_if_gone(e)?;
                    return Ok(None);
                }
            }
            let tcp = self.tcp().expect("a socket under the TLS");
            if !ready_by(tcp, deadline, true)? {
                continue;
            }
            let Some(buf) = bufs.iter_mut().find(|b| !b.is_empty()) else {
                return Ok(Some(0));
            };
            // Part of a record only: listen again.
            if let Some(n) = self.read_now(buf)? {
                return Ok(Some(n));
            }
        }
    }

    /// Pushes what TLS holds for the server toward the socket, at every layer, as far as it
    /// goes without waiting: whether all of it went. (Only for a stream over TCP.)
    #[cfg(target_os = "linux")]
    fn push_now(&mut self) -> io::Result<bool> {
        let Stream::Tls(s) = self else {
            return Ok(true);
        };
        loop {
            // The layer below takes more only once it has sent what it holds.
            if !s.sock.push_now()? {
                return Ok(false);
            }
            if !s.conn.wants_write() {
                return Ok(true);
            }
            match s.conn.write_tls(&mut NowInto(&mut s.sock)) {
                Ok(0) => return Ok(false),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes what this stream takes at once, without waiting: `WouldBlock` when it takes
    /// nothing. TLS takes `buf` only once everything it held before has gone out, so what
    /// waits in TLS stays bounded (its own limit, at each layer).
    #[cfg(target_os = "linux")]
    fn write_now(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp, _) => write_now(tcp, buf),
            Stream::Tls(_) => {
                if !self.push_now()? {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let Stream::Tls(s) = self else {
                    unreachable!("matched above")
                };
                let n = s.conn.writer().write(buf)?;
                // As far as it goes now; what is left goes first next time. (An error here
                // shows then too: the bytes are taken, as rustls's own write does.)
                let _ = self.push_now();
                Ok(n)
            }
            Stream::Custom(_) => Err(io::ErrorKind::Unsupported.into()),
        }
    }

    /// Whether TLS holds bytes for the server at any layer.
    fn holds_unsent(&self) -> bool {
        match self {
            Stream::Tls(s) => s.conn.wants_write() || s.sock.holds_unsent(),
            Stream::Plain(..) | Stream::Custom(_) => false,
        }
    }

    /// After a write of what TLS holds failed with `e`: when the server is gone (a reset),
    /// what TLS holds for it can never arrive, and is dropped, so that a read takes what
    /// the server sent before it went (an early answer to a request it stopped reading).
    /// Any other error stands.
    fn drop_unsent_if_gone(&mut self, e: io::Error) -> io::Result<()> {
        if !duet_core::client::is_reset(&e) {
            return Err(e);
        }
        self.drop_unsent();
        Ok(())
    }

    /// Drops the bytes TLS has queued for the server (at every layer, a tunnel's too).
    pub(crate) fn drop_unsent(&mut self) {
        if let Stream::Tls(s) = self {
            while s.conn.wants_write() {
                if s.conn.write_tls(&mut io::sink()).is_err() {
                    break;
                }
            }
            s.sock.drop_unsent();
        }
    }

    /// Writes with the socket timeout set from `deadline` (as of `now`, a moment ago). With
    /// `listen` (on Linux), a write that has to wait also listens for the server: when the
    /// connection turns readable first, nothing more is written and the answer is
    /// [`Wrote::Answer`]. TLS over TCP, at any depth, waits by polling the socket (see
    /// [`write_tls_by`](Self::write_tls_by)). (A mounted transport's stream has no socket
    /// to listen on: it only writes, under its own timeouts.)
    pub(crate) fn write_by(
        &mut self,
        buf: &[u8],
        deadline: Option<Instant>,
        now: Instant,
        listen: bool,
    ) -> io::Result<Wrote> {
        let left = remaining(deadline, now)?;
        let Stream::Plain(s, applied) = self else {
            #[cfg(target_os = "linux")]
            if self.tcp().is_some() {
                return self.write_tls_by(buf, deadline, listen);
            }
            // A mounted transport's stream (and TLS anywhere but Linux) writes blocking,
            // under these timeouts; so does what TLS still holds, with the flush before a
            // read.
            self.set_timeouts(left, left)?;
            return self.write(buf).map(Wrote::Bytes);
        };
        // A plain write never reads: only the write timeout matters. One that fits in the
        // socket's buffer does not wait, so it needs none: a request on a new connection is
        // sent without the setsockopt call. One that has to wait listens, when asked.
        if listen || !fits(applied.write, left) {
            match write_now(s, buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return done.map(Wrote::Bytes),
            }
            #[cfg(target_os = "linux")]
            if listen {
                return listen_then_write(s, buf, deadline);
            }
            applied.write(s, left)?;
        }
        s.write(buf).map(Wrote::Bytes)
    }

    /// A TLS write over TCP (at any depth of TLS) by `deadline`: what TLS holds from before
    /// goes out first, then TLS takes what it can of `buf` and sends what goes at once. Each
    /// wait is a poll by the deadline (rustls's own write waits under a timeout per system
    /// call, and past its first error). With `listen`, a wait also listens for the server:
    /// when the connection turns readable first, nothing more is written and the answer is
    /// [`Wrote::Answer`].
    #[cfg(target_os = "linux")]
    fn write_tls_by(
        &mut self,
        buf: &[u8],
        deadline: Option<Instant>,
        listen: bool,
    ) -> io::Result<Wrote> {
        loop {
            match self.write_now(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return done.map(Wrote::Bytes),
            }
            let tcp = self.tcp().expect("a socket under the TLS");
            if ready_by(tcp, deadline, listen)? {
                return Ok(Wrote::Answer);
            }
        }
    }

    /// Reads what has arrived, without waiting: `None` when nothing has (or only part of a
    /// TLS record). Only for the streams [`write_by`](Self::write_by) listens on (elsewhere
    /// than Linux, none).
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn read_now(&mut self, _: &mut [u8]) -> io::Result<Option<usize>> {
        Ok(None)
    }

    /// Reads what has arrived, without waiting: `None` when nothing has (or only part of a
    /// TLS record). Only for the streams [`write_by`](Self::write_by) listens on. A TLS
    /// connection closed without close_notify is an `UnexpectedEof` error, as for an
    /// ordinary read. Through every layer of TLS, none of which writes (rustls's own read
    /// writes what TLS holds first, and waits).
    #[cfg(target_os = "linux")]
    pub(crate) fn read_now(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let nothing = |e: &io::Error| e.kind() == io::ErrorKind::WouldBlock;
        match self {
            Stream::Plain(tcp, _) => match NowReader(tcp).read(buf) {
                Err(e) if nothing(&e) => Ok(None),
                read => read.map(Some),
            },
            Stream::Tls(s) => loop {
                match s.conn.reader().read(buf) {
                    Ok(n) => return Ok(Some(n)),
                    Err(e) if nothing(&e) => {}
                    Err(e) => return Err(e),
                }
                match s.conn.read_tls(&mut ArrivedFrom(&mut s.sock)) {
                    Err(e) if nothing(&e) => return Ok(None),
                    Err(e) => return Err(e),
                    Ok(_) => {}
                }
                s.conn
                    .process_new_packets()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            },
            Stream::Custom(_) => Ok(None),
        }
    }

    /// Whether an idle pooled connection still looks usable: the server has neither closed
    /// it nor sent anything (a peek that would block means all is quiet).
    pub(crate) fn is_quiet(&mut self) -> bool {
        if self.holds_unsent() {
            return false;
        }
        match self {
            Stream::Plain(tcp, _) => peek_would_block(tcp),
            Stream::Tls(s) => duet_core::client::tls_is_quiet(&mut s.conn) && s.sock.is_quiet(),
            Stream::Custom(io) => io.get_mut().is_quiet(),
        }
    }
}

/// What [`Stream::write_by`] did.
pub(crate) enum Wrote {
    /// This many bytes went out.
    Bytes(usize),
    /// Nothing more went out: the write had to wait, and the server sent something meanwhile.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))] // only Linux listens
    Answer,
}

/// After a write to `tcp` found no room: waits for room, then writes, unless the server
/// speaks first ([`Wrote::Answer`]).
#[cfg(target_os = "linux")]
#[cold]
fn listen_then_write(tcp: &TcpStream, buf: &[u8], deadline: Option<Instant>) -> io::Result<Wrote> {
    loop {
        if ready_by(tcp, deadline, true)? {
            return Ok(Wrote::Answer);
        }
        match write_now(tcp, buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            done => return done.map(Wrote::Bytes),
        }
    }
}

/// Waits by `deadline` until `tcp` is writable, or with `listen` readable: whether it
/// turned readable (then it may be writable too: writable wins when it is not).
#[cfg(target_os = "linux")]
fn ready_by(tcp: &TcpStream, deadline: Option<Instant>, listen: bool) -> io::Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let wanted = match listen {
        true => PollFlags::IN | PollFlags::OUT,
        false => PollFlags::OUT,
    };
    loop {
        let timeout = remaining(deadline, Instant::now())?
            .map(Timespec::try_from)
            .transpose()
            .map_err(|_| io::ErrorKind::InvalidInput)?;
        let mut fds = [PollFd::new(tcp, wanted)];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) => return Err(io::ErrorKind::TimedOut.into()),
            Ok(_) => {
                let got = fds[0].revents();
                // Writable wins: a reset shows as both, and the write reports it.
                return Ok(
                    listen && !got.intersects(PollFlags::OUT | PollFlags::ERR | PollFlags::HUP)
                );
            }
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// A stream's [`Stream::write_now`] as a writer (for TLS's records to the layer below).
#[cfg(target_os = "linux")]
struct NowInto<'a>(&'a mut Stream);

#[cfg(target_os = "linux")]
impl Write for NowInto<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_now(buf)
    }

    /// TLS's records in one system call over TCP (see [`Stream::write_vectored`]).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self.0 {
            Stream::Plain(tcp, _) => send_vectored(tcp, bufs, rustix::net::SendFlags::DONTWAIT),
            _ => {
                let first = bufs.iter().find(|b| !b.is_empty());
                self.0.write_now(first.map_or(&[][..], |b| &b[..]))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A stream's [`Stream::read_now`] as a reader (`WouldBlock` when nothing has
/// arrived), for TLS's records from the layer below.
#[cfg(target_os = "linux")]
struct ArrivedFrom<'a>(&'a mut Stream);

#[cfg(target_os = "linux")]
impl Read for ArrivedFrom<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read_now(buf)?
            .ok_or_else(|| io::ErrorKind::WouldBlock.into())
    }
}

/// Reads from a TCP stream without waiting (`WouldBlock` when nothing has arrived).
#[cfg(target_os = "linux")]
struct NowReader<'a>(&'a TcpStream);

#[cfg(target_os = "linux")]
impl Read for NowReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use rustix::net::{RecvFlags, recv};
        Ok(recv(self.0, buf, RecvFlags::DONTWAIT)?.0)
    }
}

/// Writes what `tcp` takes at once without waiting; `WouldBlock` when it takes nothing.
#[cfg(target_os = "linux")]
fn write_now(tcp: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    use rustix::net::{SendFlags, send};
    // One system call, without touching the socket's blocking mode (as std, no SIGPIPE).
    Ok(send(tcp, buf, SendFlags::DONTWAIT | SendFlags::NOSIGNAL)?)
}

/// Writes `bufs` to `tcp` in one system call, as std's vectored write but without SIGPIPE
/// (as std's plain write and [`write_now`]), whatever the process does with that signal.
#[cfg(unix)]
fn send_vectored(
    tcp: &TcpStream,
    bufs: &[io::IoSlice<'_>],
    flags: rustix::net::SendFlags,
) -> io::Result<usize> {
    use rustix::net::{SendAncillaryBuffer, SendFlags, sendmsg};
    let flags = flags | SendFlags::NOSIGNAL;
    loop {
        match sendmsg(tcp, bufs, &mut SendAncillaryBuffer::default(), flags) {
            Err(rustix::io::Errno::INTR) => continue,
            done => return Ok(done?),
        }
    }
}

/// A blocking vectored write to `tcp` under its timeouts (see [`send_vectored`]).
fn write_vectored(tcp: &mut TcpStream, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    #[cfg(unix)]
    return send_vectored(tcp, bufs, rustix::net::SendFlags::empty());
    #[cfg(not(unix))]
    return tcp.write_vectored(bufs);
}

/// Elsewhere: `WouldBlock`, so the write waits under the socket's timeout.
#[cfg(not(target_os = "linux"))]
fn write_now(_: &TcpStream, _: &[u8]) -> io::Result<usize> {
    Err(io::ErrorKind::WouldBlock.into())
}

/// Whether a one-byte peek at `tcp` would block: the server has neither closed the
/// connection nor sent anything.
#[cfg(unix)]
pub(crate) fn peek_would_block(tcp: &impl std::os::fd::AsFd) -> bool {
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
            Stream::Custom(s) => s.get_mut().read(buf),
        }
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match self {
            // One buffer with room (a body read with no framing after it): `recv`, which
            // the kernel handles with less work than `readv`.
            Stream::Plain(s, _) => match bufs {
                [buf, rest @ ..] if rest.iter().all(|b| b.is_empty()) => s.read(buf),
                _ => s.read_vectored(bufs),
            },
            Stream::Tls(s) => s.read_vectored(bufs),
            Stream::Custom(s) => s.get_mut().read_vectored(bufs),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s, _) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Custom(s) => s.get_mut().write(buf),
        }
    }

    /// Vectored, so that TLS sends the records it holds (a handshake flight) in one system
    /// call: fewer calls and packets, and no write left to fail in the middle of a flight
    /// when a server answers its first record with an alert and closes.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Plain(s, _) => write_vectored(s, bufs),
            Stream::Tls(s) => s.write_vectored(bufs),
            Stream::Custom(s) => s.get_mut().write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s, _) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Custom(s) => s.get_mut().flush(),
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
        .map(duet_core::client::describe_tls_error)
}

/// The addresses `host` stands for, by `deadline`: the ones the client fixed for it, or
/// those the client's `resolver` finds (the system's without one).
fn lookup(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
    dial: &DialConfig,
    resolver: Option<&Resolver>,
) -> Result<Vec<SocketAddr>, Error> {
    if let Some(addrs) = dial.fixed_addrs(host, port) {
        return Ok(addrs);
    }
    let found = match (resolver, deadline) {
        (Some(resolver), _) => resolver.lookup(host, port, deadline),
        (None, None) => (host, port).to_socket_addrs().map(Iterator::collect),
        // On a helper thread, shared with other requests for the name (see `resolver`).
        (None, Some(deadline)) => crate::resolver::lookup(host, port, deadline),
    };
    found.map_err(|e| match is_timeout(&e) {
        true => Error::timeout(TimeoutPhase::Connect, None),
        false => Error::new(ErrorKind::Connect, e),
    })
}

/// The address a `socks5://` proxy is given for `host` (see [`DialConfig::socks_address`]).
pub(crate) fn resolve(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
    dial: &DialConfig,
    resolver: Option<&Resolver>,
) -> Result<std::net::IpAddr, Error> {
    let addrs = lookup(host, port, deadline, dial, resolver)?;
    dial.socks_address(host, &addrs)
}

/// Connects to `addr` within `left` (until `deadline`), and says which timeouts that left
/// on the socket.
///
/// On Linux a blocking connect honours the socket's send timeout and reports its expiry as
/// `EINPROGRESS` (socket(7)), so this takes one system call where std's `connect_timeout`
/// takes four (non-blocking mode on, connect, poll, non-blocking mode off).
#[cfg(target_os = "linux")]
fn connect_within(
    addr: &SocketAddr,
    left: Duration,
    deadline: Instant,
    source: Source<'_>,
) -> io::Result<(TcpStream, Applied)> {
    use rustix::io::Errno;
    use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    source.bind(socket2::SockRef::from(&fd))?;
    sockopt::set_socket_timeout(&fd, sockopt::Timeout::Send, Some(left))?;
    let applied = Applied {
        read: None,
        write: Some(left),
    };
    match rustix::net::connect(&fd, addr) {
        Ok(()) => Ok((TcpStream::from(fd), applied)),
        Err(Errno::INPROGRESS) => Err(io::ErrorKind::TimedOut.into()),
        // A signal ended the wait, not the handshake: wait for that as std does.
        Err(Errno::INTR) => {
            finish_connect(&fd, deadline)?;
            Ok((TcpStream::from(fd), applied))
        }
        Err(e) => Err(e.into()),
    }
}

/// Elsewhere: a non-blocking connect and a wait (std's `connect_timeout`, or socket2's to
/// bind first).
#[cfg(not(target_os = "linux"))]
fn connect_within(
    addr: &SocketAddr,
    left: Duration,
    _deadline: Instant,
    source: Source<'_>,
) -> io::Result<(TcpStream, Applied)> {
    let tcp = match source.is_any() {
        true => TcpStream::connect_timeout(addr, left)?,
        false => connect_bound(addr, source, Some(left))?,
    };
    Ok((tcp, Applied::default()))
}

/// Waits by `deadline` for a connect already under way on `fd` to finish, and reports how.
#[cfg(target_os = "linux")]
fn finish_connect(fd: &std::os::fd::OwnedFd, deadline: Instant) -> io::Result<()> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    loop {
        let left = remaining(Some(deadline), Instant::now())?.unwrap_or_default();
        let timeout = Timespec::try_from(left).map_err(|_| io::ErrorKind::InvalidInput)?;
        let mut fds = [PollFd::new(fd, PollFlags::OUT)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => return Err(io::ErrorKind::TimedOut.into()),
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    match rustix::net::sockopt::socket_error(fd)? {
        Ok(()) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Resolves `host` and connects to one of its addresses by `deadline`: one address is
/// connected to directly; several are raced as [`Dial`] schedules them.
pub(crate) fn connect_tcp(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
    dial: &DialConfig,
    resolver: Option<&Resolver>,
) -> Result<(Stream, SocketAddr), Error> {
    let addrs = dial.candidates(host, lookup(host, port, deadline, dial, resolver)?)?;
    let source = Source {
        ip: dial.local_address,
        interface: dial.interface.as_deref(),
        send_buffer: dial.send_buffer_size,
        recv_buffer: dial.recv_buffer_size,
    };
    let connected = match addrs[..] {
        [addr] => connect_one(&addr, deadline, source).map(|(tcp, applied)| (tcp, applied, addr)),
        _ => race(Dial::new(addrs, dial.attempt_delay), deadline, source),
    };
    match connected {
        Ok((tcp, applied, addr)) => {
            tcp.set_nodelay(true)
                .and_then(|()| match dial.keepalive_idle() {
                    Some(idle) => keepalive(&tcp, idle),
                    None => Ok(()),
                })
                .map_err(|e| Error::new(ErrorKind::Connect, e))?;
            Ok((Stream::Plain(tcp, applied), addr))
        }
        Err(e) if is_timeout(&e) => Err(Error::timeout(TimeoutPhase::Connect, None)),
        Err(e) => Err(Error::new(ErrorKind::Connect, e)),
    }
}

/// Turns on TCP keep-alive, the first probe after `idle` without traffic.
fn keepalive(tcp: &TcpStream, idle: Duration) -> io::Result<()> {
    socket2::SockRef::from(tcp).set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(idle))
}

/// Where connections are made from (a local address, a network interface) and the buffer
/// sizes of their sockets, each when the client names one.
#[derive(Debug, Clone, Copy, Default)]
struct Source<'a> {
    ip: Option<IpAddr>,
    interface: Option<&'a str>,
    send_buffer: Option<usize>,
    recv_buffer: Option<usize>,
}

impl Source<'_> {
    /// Whether the system chooses everything.
    fn is_any(&self) -> bool {
        self.ip.is_none()
            && self.interface.is_none()
            && self.send_buffer.is_none()
            && self.recv_buffer.is_none()
    }

    /// Sets `socket` up before it connects: its buffer sizes, then the interface and the
    /// local address it is bound to.
    fn bind(&self, socket: socket2::SockRef<'_>) -> io::Result<()> {
        if let Some(bytes) = self.send_buffer {
            socket.set_send_buffer_size(bytes)?;
        }
        if let Some(bytes) = self.recv_buffer {
            socket.set_recv_buffer_size(bytes)?;
        }
        if let Some(name) = self.interface {
            bind_interface(&socket, name).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("binding to the network interface {name:?}: {e}"),
                )
            })?;
        }
        if let Some(ip) = self.ip {
            socket.bind(&SocketAddr::new(ip, 0).into())?;
        }
        Ok(())
    }
}

/// Binds `socket` to the network interface `name` (`SO_BINDTODEVICE`).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
fn bind_interface(socket: &socket2::SockRef<'_>, name: &str) -> io::Result<()> {
    socket.bind_device(Some(name.as_bytes()))
}

/// Elsewhere there is no binding to an interface by name.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "fuchsia")))]
fn bind_interface(_: &socket2::SockRef<'_>, _: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "only Linux binds a connection to an interface by name",
    ))
}

/// Connects to `addr` from `source` (std's sockets cannot be bound before connecting),
/// within `left` when given.
fn connect_bound(
    addr: &SocketAddr,
    source: Source<'_>,
    left: Option<Duration>,
) -> io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    source.bind(socket2::SockRef::from(&socket))?;
    match left {
        Some(left) => socket.connect_timeout(&(*addr).into(), left)?,
        None => socket.connect(&(*addr).into())?,
    }
    Ok(socket.into())
}

/// Connects to `addr` (from `source`) by `deadline`.
fn connect_one(
    addr: &SocketAddr,
    deadline: Option<Instant>,
    source: Source<'_>,
) -> io::Result<(TcpStream, Applied)> {
    match deadline {
        None => match source.is_any() {
            true => TcpStream::connect(addr),
            false => connect_bound(addr, source, None),
        }
        .map(|tcp| (tcp, Applied::default())),
        Some(deadline) => match remaining(Some(deadline), Instant::now())? {
            Some(left) => connect_within(addr, left, deadline, source),
            None => Err(io::ErrorKind::TimedOut.into()),
        },
    }
}

/// Connects to the first of `dial`'s addresses to answer by `deadline`, starting attempts as
/// it schedules them, each on a non-blocking socket; the others are closed.
#[cfg(target_os = "linux")]
fn race(
    mut dial: Dial,
    deadline: Option<Instant>,
    source: Source<'_>,
) -> io::Result<(TcpStream, Applied, SocketAddr)> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut running: Vec<(SocketAddr, std::os::fd::OwnedFd)> = Vec::new();
    let mut last: Option<io::Error> = None;
    loop {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let until = match dial.poll(now) {
            DialStep::Start(addr) => {
                match start_connect(&addr, source) {
                    Ok((fd, false)) => running.push((addr, fd)),
                    Ok((fd, true)) => return connected(fd, addr),
                    Err(e) => {
                        last = Some(e);
                        dial.failed(now);
                    }
                }
                continue;
            }
            DialStep::Exhausted => {
                return Err(last.unwrap_or_else(|| io::ErrorKind::NotConnected.into()));
            }
            DialStep::Wait(until) => match (until, deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        };
        let timeout = until
            .map(|t| Timespec::try_from(t.saturating_duration_since(now)))
            .transpose()
            .map_err(|_| io::ErrorKind::InvalidInput)?;
        let mut fds: Vec<PollFd<'_>> = running
            .iter()
            .map(|(_, fd)| PollFd::new(fd, PollFlags::OUT))
            .collect();
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<usize> = (fds.iter().enumerate())
            .filter(|(_, fd)| !fd.revents().is_empty())
            .map(|(i, _)| i)
            .collect();
        drop(fds);
        let now = Instant::now();
        for i in ready.into_iter().rev() {
            let (addr, fd) = running.swap_remove(i);
            match rustix::net::sockopt::socket_error(&fd)? {
                Ok(()) => return connected(fd, addr),
                Err(e) => {
                    last = Some(e.into());
                    dial.failed(now);
                }
            }
        }
    }
}

/// A non-blocking socket for `addr` (bound as `source` asks) with a connect under way:
/// `true` if it connected at once.
#[cfg(target_os = "linux")]
fn start_connect(
    addr: &SocketAddr,
    source: Source<'_>,
) -> io::Result<(std::os::fd::OwnedFd, bool)> {
    use rustix::io::Errno;
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
    let fd = rustix::net::socket_with(family, SocketType::STREAM, flags, None)?;
    source.bind(socket2::SockRef::from(&fd))?;
    match rustix::net::connect(&fd, addr) {
        Ok(()) => Ok((fd, true)),
        Err(Errno::INPROGRESS | Errno::INTR) => Ok((fd, false)),
        Err(e) => Err(e.into()),
    }
}

/// The socket of the attempt that won, back in blocking mode.
#[cfg(target_os = "linux")]
fn connected(
    fd: std::os::fd::OwnedFd,
    addr: SocketAddr,
) -> io::Result<(TcpStream, Applied, SocketAddr)> {
    let tcp = TcpStream::from(fd);
    tcp.set_nonblocking(false)?;
    Ok((tcp, Applied::default(), addr))
}

/// Elsewhere: each address in turn, the first that answers by `deadline`.
#[cfg(not(target_os = "linux"))]
fn race(
    dial: Dial,
    deadline: Option<Instant>,
    source: Source<'_>,
) -> io::Result<(TcpStream, Applied, SocketAddr)> {
    let mut last = None;
    for addr in dial.addrs() {
        match connect_one(addr, deadline, source) {
            Ok((tcp, applied)) => return Ok((tcp, applied, *addr)),
            Err(e) if is_timeout(&e) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::ErrorKind::NotConnected.into()))
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    use rustix::io::Errno;
    use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};

    use super::*;

    /// Connects to a listener on 127.0.0.1 as `dial` says, through each way a connection is
    /// opened: one address with and without a deadline, and several raced. (An array, so
    /// that a test's loop over them always has all three.)
    fn connect_every_way(dial: &DialConfig) -> [TcpStream; 3] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let soon = Some(Instant::now() + Duration::from_secs(5));
        let mut raced = dial.clone();
        raced.add_override("raced.test", vec![refused_addr(), addr]);
        [
            connect_tcp("127.0.0.1", addr.port(), soon, dial, None),
            connect_tcp("127.0.0.1", addr.port(), None, dial, None),
            connect_tcp("raced.test", addr.port(), soon, &raced, None),
        ]
        .map(|connected| match connected.unwrap() {
            (Stream::Plain(tcp, _), remote) => {
                assert_eq!(remote, addr);
                tcp
            }
            _ => unreachable!("a plain connection"),
        })
    }

    /// An address on this machine that refuses connections.
    fn refused_addr() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }

    #[test]
    fn connections_are_made_from_the_local_address_given() {
        let dial = DialConfig {
            local_address: Some("127.0.0.2".parse().unwrap()),
            ..DialConfig::default()
        };
        for tcp in connect_every_way(&dial) {
            assert_eq!(tcp.local_addr().unwrap().ip().to_string(), "127.0.0.2");
        }
        // Without one, the system picks the loopback address it always picks.
        for tcp in connect_every_way(&DialConfig::default()) {
            assert_eq!(tcp.local_addr().unwrap().ip().to_string(), "127.0.0.1");
        }
    }

    #[test]
    fn connections_are_bound_to_the_interface_named() {
        let dial = DialConfig {
            interface: Some("lo".into()),
            local_address: Some("127.0.0.2".parse().unwrap()),
            ..DialConfig::default()
        };
        for tcp in connect_every_way(&dial) {
            let device = socket2::SockRef::from(&tcp).device().unwrap();
            assert_eq!(device.as_deref(), Some(&b"lo"[..]));
            assert_eq!(tcp.local_addr().unwrap().ip().to_string(), "127.0.0.2");
        }
        for tcp in connect_every_way(&DialConfig::default()) {
            assert_eq!(socket2::SockRef::from(&tcp).device().unwrap(), None);
        }
    }

    #[test]
    fn tcp_keepalive_is_on_with_the_idle_time_given_and_off_by_default() {
        // A time the system would refuse is brought within its bounds, not a failed connect.
        for (given, taken) in [(42, 42), (0, 1), (u64::MAX, 32_767)] {
            let dial = DialConfig {
                tcp_keepalive: Some(Duration::from_secs(given)),
                ..DialConfig::default()
            };
            for tcp in connect_every_way(&dial) {
                assert!(sockopt::socket_keepalive(&tcp).unwrap());
                assert_eq!(
                    sockopt::tcp_keepidle(&tcp).unwrap(),
                    Duration::from_secs(taken)
                );
            }
        }
        for tcp in connect_every_way(&DialConfig::default()) {
            assert!(!sockopt::socket_keepalive(&tcp).unwrap());
        }
    }

    #[test]
    fn socket_buffers_have_the_sizes_given() {
        let dial = DialConfig {
            send_buffer_size: Some(20_000),
            recv_buffer_size: Some(30_000),
            ..DialConfig::default()
        };
        for tcp in connect_every_way(&dial) {
            // Linux doubles what it is asked for (socket(7)).
            let sock = socket2::SockRef::from(&tcp);
            assert_eq!(sock.send_buffer_size().unwrap(), 40_000);
            assert_eq!(sock.recv_buffer_size().unwrap(), 60_000);
        }
        for tcp in connect_every_way(&DialConfig::default()) {
            let sock = socket2::SockRef::from(&tcp);
            assert_ne!(sock.send_buffer_size().unwrap(), 40_000);
            assert_ne!(sock.recv_buffer_size().unwrap(), 60_000);
        }
    }

    #[test]
    fn lookups_answer_localhost_and_ip_literals_without_the_resolver() {
        // (The resolver's deadline is `resolver`'s tests' business: a name that needs it would
        // send a query off this machine.)
        let dial = DialConfig::default();
        let passed = Some(Instant::now());
        let addrs = lookup("app.localhost", 8080, passed, &dial, None).unwrap();
        let loopback: Vec<SocketAddr> = vec![
            "[::1]:8080".parse().unwrap(),
            "127.0.0.1:8080".parse().unwrap(),
        ];
        assert_eq!(addrs, loopback);
        let addrs = lookup("127.0.0.1", 80, passed, &dial, None).unwrap();
        assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
    }

    /// Starts a non-blocking connect to `addr`, as a connect interrupted by a signal leaves
    /// it: under way, or already refused.
    fn connect_started(addr: &SocketAddr) -> Result<std::os::fd::OwnedFd, Errno> {
        let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
        let fd =
            rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, flags, None).unwrap();
        match rustix::net::connect(&fd, addr) {
            Ok(()) | Err(Errno::INPROGRESS) => Ok(fd),
            Err(e) => Err(e),
        }
    }

    #[test]
    fn a_connect_under_way_is_waited_for() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let fd = connect_started(&addr).unwrap();
        let soon = Instant::now() + Duration::from_secs(5);
        finish_connect(&fd, soon).unwrap();
        let accepted = listener.accept().unwrap().1;
        assert_eq!(accepted, TcpStream::from(fd).local_addr().unwrap());
    }

    #[test]
    fn a_refused_connect_under_way_is_an_error() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        // The listener is gone: the connect is refused, at once or (on loopback, usually)
        // while it is waited for.
        match connect_started(&addr) {
            Ok(fd) => {
                let soon = Instant::now() + Duration::from_secs(5);
                let err = finish_connect(&fd, soon).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
            }
            Err(e) => assert_eq!(e, Errno::CONNREFUSED),
        }
    }

    #[test]
    fn a_passed_deadline_ends_the_wait() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = connect_started(&listener.local_addr().unwrap()).unwrap();
        let err = finish_connect(&fd, Instant::now()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn a_connect_leaves_its_send_timeout_on_the_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let left = Duration::from_secs(3);
        let (tcp, applied) =
            connect_within(&addr, left, Instant::now() + left, Source::default()).unwrap();
        assert_eq!(applied.write, Some(left));
        assert_eq!(applied.read, None);
        assert_eq!(tcp.write_timeout().unwrap(), Some(left));
        assert_eq!(tcp.read_timeout().unwrap(), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_listening_write_that_waits_hears_the_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut stream = Stream::Plain(
            TcpStream::connect(listener.local_addr().unwrap()).unwrap(),
            Applied::default(),
        );
        let (mut server, _) = listener.accept().unwrap();
        let deadline = Some(Instant::now() + Duration::from_secs(5));
        // The server speaks and reads nothing: writes go out until the buffers are full;
        // the one that would wait hears it.
        server.write_all(b"413").unwrap();
        let piece = vec![b'x'; 64 * 1024];
        let mut answered = false;
        for _ in 0..10_000 {
            match stream
                .write_by(&piece, deadline, Instant::now(), true)
                .unwrap()
            {
                Wrote::Bytes(n) => assert!(n > 0),
                Wrote::Answer => {
                    answered = true;
                    break;
                }
            }
        }
        assert!(answered, "the write heard the server");
        let mut buf = [0u8; 8];
        assert_eq!(stream.read_now(&mut buf).unwrap(), Some(3));
        assert_eq!(&buf[..3], b"413");
        assert_eq!(stream.read_now(&mut buf).unwrap(), None, "nothing more yet");
    }

    #[test]
    fn a_write_that_does_not_wait_sets_no_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let left = Duration::from_secs(3);
        let (tcp, applied) =
            connect_within(&addr, left, Instant::now() + left, Source::default()).unwrap();
        let mut stream = Stream::Plain(tcp, applied);
        let now = Instant::now();
        let deadline = Some(now + Duration::from_secs(30));
        let wrote = stream
            .write_by(b"GET / HTTP/1.1\r\n\r\n", deadline, now, false)
            .unwrap();
        assert!(matches!(wrote, Wrote::Bytes(18)));
        assert_eq!(stream.tcp().unwrap().write_timeout().unwrap(), Some(left));
        // A read waits, so it takes its timeout from the deadline.
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"x").unwrap();
        assert_eq!(stream.read_by(&mut [0; 4], deadline, now).unwrap(), 1);
        let read = stream.tcp().unwrap().read_timeout().unwrap().unwrap();
        assert!(read > Duration::from_secs(29), "{read:?}");
    }
}
