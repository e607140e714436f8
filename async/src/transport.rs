//! Sockets: connecting with deadlines, TLS, and reads/writes that honour a deadline.

use std::fmt;
use std::future::Future;
use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use sync_wrapper::SyncWrapper;

use duet_core::client::{
    Dial, DialConfig, DialStep, Error, ErrorKind, Origin, TimeoutPhase, server_name,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::resolver::Resolve;

/// What [`Stream::write_by`] did.
pub(crate) enum Wrote {
    /// This many bytes went out.
    Bytes(usize),
    /// Nothing went out: the write had to wait, and the server sent something meanwhile.
    Answer,
}

/// A connection's byte stream: plain TCP, or TLS over another stream (TCP, or a tunnel
/// through a TLS proxy).
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<Stream>>),
    /// A stream a mounted [`Transport`] opened.
    /// (Wrapped so that a stream is `Sync` whatever the transport's type: it is only ever
    /// used through `&mut`.)
    Custom(SyncWrapper<Box<dyn Io>>),
}

/// A byte stream opened by a custom [`Transport`].
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + fmt::Debug {
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
/// `ClientBuilder::mount` (as httpx's `mounts`): Unix sockets, mocks, replays.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Opens a connection for `origin` by `deadline`.
    async fn connect(
        &self,
        origin: &Origin,
        deadline: Option<Instant>,
    ) -> Result<Box<dyn Io>, Error>;

    /// Whether the transport answers for https itself (a mock, a replay): then no TLS is
    /// started over it. Default `false`: https gets TLS over the stream, verified as usual.
    fn handles_tls(&self) -> bool {
        false
    }
}

impl Stream {
    /// A stream a mounted transport opened.
    pub(crate) fn custom(io: Box<dyn Io>) -> Stream {
        Stream::Custom(SyncWrapper::new(io))
    }

    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::Tls(s) => s.get_ref().0.tcp(),
            Stream::Custom(_) => None,
        }
    }

    /// Reads by `deadline`: `TimedOut` when it would have to wait past it. What TLS still
    /// holds for the server goes out meanwhile (see the `AsyncRead` impl).
    pub(crate) fn read_by<'a>(
        &'a mut self,
        buf: &'a mut [u8],
        deadline: Option<Instant>,
        timer: &'a mut Timer,
    ) -> IoWithin<'a, impl Future<Output = io::Result<usize>> + 'a> {
        io_within(deadline, timer, self.read(buf))
    }

    /// [`read_by`](Self::read_by) onto the end of `buf` (its uninitialised space is filled
    /// without zeroing it first).
    pub(crate) fn read_buf_by<'a, B: bytes::BufMut>(
        &'a mut self,
        buf: &'a mut B,
        deadline: Option<Instant>,
        timer: &'a mut Timer,
    ) -> IoWithin<'a, impl Future<Output = io::Result<usize>> + 'a> {
        io_within(deadline, timer, self.read_buf(buf))
    }

    /// Whether TLS holds bytes for the server at any layer.
    fn holds_unsent(&self) -> bool {
        match self {
            Stream::Tls(s) => s.get_ref().1.wants_write() || s.get_ref().0.holds_unsent(),
            Stream::Plain(_) | Stream::Custom(_) => false,
        }
    }

    /// Drops the bytes TLS has queued for the server (at every layer, a tunnel's too).
    pub(crate) fn drop_unsent(&mut self) {
        if let Stream::Tls(s) = self {
            drop_unsent(s);
        }
    }

    /// Writes by `deadline`: `TimedOut` when it would have to wait past it. With `listen`,
    /// a write that has to wait also listens for the server: when the connection turns
    /// readable first, nothing is written and the answer is [`Wrote::Answer`]. (A mounted
    /// transport's stream has no socket to listen on: it only writes.)
    pub(crate) fn write_by<'a>(
        &'a mut self,
        buf: &'a [u8],
        deadline: Option<Instant>,
        listen: bool,
        timer: &'a mut Timer,
    ) -> IoWithin<'a, impl Future<Output = io::Result<Wrote>> + 'a> {
        io_within(
            deadline,
            timer,
            poll_fn(move |cx| {
                if let Poll::Ready(written) = Pin::new(&mut *self).poll_write(cx, buf) {
                    return Poll::Ready(written.map(Wrote::Bytes));
                }
                match self.tcp().filter(|_| listen) {
                    Some(tcp) => tcp.poll_read_ready(cx).map_ok(|()| Wrote::Answer),
                    None => Poll::Pending,
                }
            }),
        )
    }

    /// Reads what has arrived, without waiting: `None` when nothing has (or only part of a
    /// TLS record).
    pub(crate) async fn read_now(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        poll_fn(|cx| {
            let mut read = ReadBuf::new(&mut *buf);
            match Pin::new(&mut *self).poll_read(cx, &mut read) {
                Poll::Ready(done) => Poll::Ready(done.map(|()| Some(read.filled().len()))),
                Poll::Pending => Poll::Ready(Ok(None)),
            }
        })
        .await
    }

    /// Whether an idle pooled connection still looks usable: the server has neither closed
    /// it nor sent anything (a peek that would wait means all is quiet). Never waits.
    ///
    /// The socket itself is asked, not tokio's record of its readiness: that is only as new
    /// as the I/O driver's last look, and a task that kept its thread since (or a runtime
    /// busy elsewhere) would reuse a connection whose server's stray bytes had arrived
    /// meanwhile, and take them for the next answer.
    pub(crate) fn is_quiet(&mut self) -> bool {
        if self.holds_unsent() {
            return false;
        }
        match self {
            Stream::Plain(tcp) => peek_would_block(tcp),
            Stream::Tls(s) => {
                let (stream, conn) = s.get_mut();
                duet_core::client::tls_is_quiet(conn) && stream.is_quiet()
            }
            Stream::Custom(io) => io.get_mut().is_quiet(),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => {
                // What TLS still holds for the server (the end of a request) goes out as the
                // socket takes it, while the read waits for the answer. Flushing it all
                // first would wait forever on a server that answered before reading the
                // whole request and reads no more.
                if s.get_ref().1.wants_write() {
                    match Pin::new(&mut **s).poll_flush(cx) {
                        // The server is gone: what is queued for it can never arrive, but
                        // what it sent before it went can still be read.
                        Poll::Ready(Err(e)) if duet_core::client::is_reset(&e) => drop_unsent(s),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Ready(Ok(())) | Poll::Pending => {}
                    }
                }
                Pin::new(s).poll_read(cx, buf)
            }
            Stream::Custom(s) => {
                // A mounted transport's stream may hold what was written until it is flushed
                // (a buffered writer): that goes out while the read waits, as above.
                match Pin::new(s.get_mut()).poll_flush(cx) {
                    Poll::Ready(Err(e)) if !duet_core::client::is_reset(&e) => {
                        return Poll::Ready(Err(e));
                    }
                    Poll::Ready(_) | Poll::Pending => {}
                }
                Pin::new(s.get_mut()).poll_read(cx, buf)
            }
        }
    }
}

/// Whether a one-byte peek at `socket` would wait: the other end has neither closed the
/// connection nor sent anything. One system call; tokio's sockets do not block.
#[cfg(unix)]
pub(crate) fn peek_would_block(socket: &impl std::os::fd::AsFd) -> bool {
    peek_ref_would_block(socket2::SockRef::from(socket))
}

/// Whether a one-byte peek at `socket` would wait (see the Unix version).
#[cfg(windows)]
pub(crate) fn peek_would_block(socket: &impl std::os::windows::io::AsSocket) -> bool {
    peek_ref_would_block(socket2::SockRef::from(socket))
}

fn peek_ref_would_block(socket: socket2::SockRef<'_>) -> bool {
    let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
    matches!(socket.peek(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Drops the bytes `tls` has queued for the server (at every layer, a tunnel's too).
fn drop_unsent(tls: &mut TlsStream<Stream>) {
    let (inner, conn) = tls.get_mut();
    while conn.wants_write() {
        if conn.write_tls(&mut io::sink()).is_err() {
            break;
        }
    }
    inner.drop_unsent();
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Custom(s) => Pin::new(s.get_mut()).poll_write(cx, buf),
        }
    }

    /// Vectored, so that TLS sends the records it holds (a handshake flight) in one system
    /// call: fewer calls and packets, and no write left to fail in the middle of a flight
    /// when a server answers its first record with an alert and closes.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Custom(s) => Pin::new(s.get_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
            // (Behind `&self` the wrapper shows nothing: a custom stream's vectored write
            // still works, as its own default or override.)
            Stream::Custom(_) => false,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
            Stream::Custom(s) => Pin::new(s.get_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Custom(s) => Pin::new(s.get_mut()).poll_shutdown(cx),
        }
    }
}

/// Runs `io` until `deadline`; `TimedOut` once it has passed (without starting `io` when it
/// already has): for TLS handshakes, and connects that bind first or race addresses.
async fn within<T>(
    deadline: Option<Instant>,
    io: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match deadline {
        None => io.await,
        Some(d) if d <= crate::now() => Err(io::ErrorKind::TimedOut.into()),
        Some(d) => tokio::time::timeout_at(d.into(), io)
            .await
            .unwrap_or_else(|_elapsed| Err(io::ErrorKind::TimedOut.into())),
    }
}

/// The timer a connection's waits share for their deadlines (its name lookup and direct
/// connect, then its reads and writes), kept with the connection (pooled with it). It is
/// built the first time something has to wait, then moved to each later deadline: tokio takes
/// a registered timer's move to a later deadline without touching its timer wheel, where
/// building one per wait registered it and dropping it removed it again.
#[derive(Debug, Default)]
pub(crate) struct Timer(Option<Pin<Box<tokio::time::Sleep>>>);

impl Timer {
    /// Ready once `deadline` has passed; until then, the task is woken at it.
    fn poll_until(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = tokio::time::Instant::from_std(deadline);
        let sleep = match &mut self.0 {
            Some(sleep) => {
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            None => self.0.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        sleep.as_mut().poll(cx)
    }
}

pin_project_lite::pin_project! {
    /// A read or write by `deadline`: `TimedOut` once it has passed and `io` is still
    /// waiting. Most reads and writes complete at once, so `io` is tried first: only one that
    /// has to wait arms the connection's [`Timer`]. A future of its own rather than an
    /// `async fn`, which would keep `io` twice (argument and pinned local) in every
    /// exchange's future.
    pub(crate) struct IoWithin<'a, F> {
        #[pin]
        io: F,
        timer: &'a mut Timer,
        deadline: Option<Instant>,
    }
}

/// [`IoWithin`] for `io` by `deadline`, waiting on `timer`.
fn io_within<F>(deadline: Option<Instant>, timer: &mut Timer, io: F) -> IoWithin<'_, F> {
    IoWithin {
        io,
        timer,
        deadline,
    }
}

impl<T, F: Future<Output = io::Result<T>>> Future for IoWithin<'_, F> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let this = self.project();
        if let Poll::Ready(done) = this.io.poll(cx) {
            return Poll::Ready(done);
        }
        let Some(deadline) = *this.deadline else {
            return Poll::Pending;
        };
        // `io` has registered for a wake-up; the timer waits beside it. A deadline already
        // passed is ready at once.
        match this.timer.poll_until(deadline, cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
            Poll::Pending => Poll::Pending,
        }
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
async fn lookup(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
    dial: &DialConfig,
    resolver: Option<&dyn Resolve>,
    timer: &mut Timer,
) -> Result<Vec<SocketAddr>, Error> {
    if let Some(addrs) = dial.fixed_addrs(host, port) {
        return Ok(addrs);
    }
    let found = match resolver {
        Some(resolver) => {
            let lookup = crate::resolver::lookup_with(resolver, host, port);
            io_within(deadline, timer, lookup).await
        }
        None => io_within(deadline, timer, crate::resolver::lookup(host, port)).await,
    };
    match found {
        Ok(addrs) => Ok(addrs),
        Err(e) if is_timeout(&e) => Err(Error::timeout(TimeoutPhase::Connect, None)),
        Err(e) => Err(Error::new(ErrorKind::Connect, e)),
    }
}

/// The address a `socks5://` proxy is given for `host`, by `deadline` (see
/// [`DialConfig::socks_address`]).
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
    dial: &DialConfig,
    resolver: Option<&dyn Resolve>,
    timer: &mut Timer,
) -> Result<std::net::IpAddr, Error> {
    let addrs = lookup(host, port, deadline, dial, resolver, timer).await?;
    dial.socks_address(host, &addrs)
}

/// Resolves `host` and connects to one of its addresses by `deadline`: one address is
/// connected to directly; several are raced as [`Dial`] schedules them. The lookup and a
/// direct connect wait on `timer`, the connection's.
pub(crate) async fn connect_tcp(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
    dial: &DialConfig,
    resolver: Option<&dyn Resolve>,
    timer: &mut Timer,
) -> Result<(Stream, SocketAddr), Error> {
    let lookup = lookup(host, port, deadline, dial, resolver, timer).await?;
    let addrs = dial.candidates(host, lookup)?;
    let source = Source {
        ip: dial.local_address,
        interface: dial.interface.clone(),
        send_buffer: dial.send_buffer_size,
        recv_buffer: dial.recv_buffer_size,
    };
    let connected = match addrs[..] {
        [addr] if source.is_any() => io_within(deadline, timer, TcpStream::connect(addr))
            .await
            .map(|tcp| (tcp, addr)),
        // Boxed: binding first, and the race, are rare and hold more state than a request
        // should carry inline.
        [addr] => Box::pin(within(deadline, connect_from(addr, source)))
            .await
            .map(|tcp| (tcp, addr)),
        _ => {
            let schedule = Dial::new(addrs, dial.attempt_delay);
            Box::pin(within(deadline, race(schedule, source))).await
        }
    };
    match connected {
        Ok((tcp, addr)) => {
            tcp.set_nodelay(true)
                .and_then(|()| match dial.keepalive_idle() {
                    Some(idle) => keepalive(&tcp, idle),
                    None => Ok(()),
                })
                .map_err(|e| Error::new(ErrorKind::Connect, e))?;
            Ok((Stream::Plain(tcp), addr))
        }
        Err(e) if is_timeout(&e) => Err(Error::timeout(TimeoutPhase::Connect, None)),
        Err(e) => Err(Error::new(ErrorKind::Connect, e)),
    }
}

/// Where connections are made from (a local address, a network interface) and the buffer
/// sizes of their sockets, each when the client names one.
#[derive(Debug, Clone)]
struct Source {
    ip: Option<IpAddr>,
    interface: Option<String>,
    send_buffer: Option<usize>,
    recv_buffer: Option<usize>,
}

impl Source {
    /// Whether the system chooses everything.
    fn is_any(&self) -> bool {
        self.ip.is_none()
            && self.interface.is_none()
            && self.send_buffer.is_none()
            && self.recv_buffer.is_none()
    }

    /// A socket for `addr` with the buffer sizes asked for, bound to the interface and the
    /// local address asked for.
    fn socket_for(&self, addr: SocketAddr) -> io::Result<TcpSocket> {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        let sock = socket2::SockRef::from(&socket);
        if let Some(bytes) = self.send_buffer {
            sock.set_send_buffer_size(bytes)?;
        }
        if let Some(bytes) = self.recv_buffer {
            sock.set_recv_buffer_size(bytes)?;
        }
        if let Some(name) = &self.interface {
            bind_interface(&socket, name).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("binding to the network interface {name:?}: {e}"),
                )
            })?;
        }
        if let Some(ip) = self.ip {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        Ok(socket)
    }
}

/// Binds `socket` to the network interface `name` (`SO_BINDTODEVICE`).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
fn bind_interface(socket: &TcpSocket, name: &str) -> io::Result<()> {
    socket.bind_device(Some(name.as_bytes()))
}

/// Elsewhere there is no binding to an interface by name.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "fuchsia")))]
fn bind_interface(_: &TcpSocket, _: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "only Linux binds a connection to an interface by name",
    ))
}

/// Connects to `addr` from `source`.
async fn connect_from(addr: SocketAddr, source: Source) -> io::Result<TcpStream> {
    source.socket_for(addr)?.connect(addr).await
}

/// Turns on TCP keep-alive, the first probe after `idle` without traffic.
fn keepalive(tcp: &TcpStream, idle: Duration) -> io::Result<()> {
    socket2::SockRef::from(tcp).set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(idle))
}

/// A connection attempt under way.
type Attempt = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// Connects to the first of `dial`'s addresses to answer, starting attempts as it schedules
/// them; the others are dropped (closed).
async fn race(mut dial: Dial, source: Source) -> io::Result<(TcpStream, SocketAddr)> {
    let mut running: Vec<(SocketAddr, Attempt)> = Vec::new();
    let mut last: Option<io::Error> = None;
    loop {
        let until = match dial.poll(crate::now()) {
            DialStep::Start(addr) => {
                let attempt: Attempt = match source.is_any() {
                    true => Box::pin(TcpStream::connect(addr)),
                    false => Box::pin(connect_from(addr, source.clone())),
                };
                running.push((addr, attempt));
                continue;
            }
            DialStep::Exhausted => {
                return Err(last.unwrap_or_else(|| io::ErrorKind::NotConnected.into()));
            }
            DialStep::Wait(until) => until,
        };
        let mut timer = until.map(|t| Box::pin(tokio::time::sleep_until(t.into())));
        let finished = poll_fn(|cx| {
            for (i, (_, attempt)) in running.iter_mut().enumerate() {
                if let Poll::Ready(result) = attempt.as_mut().poll(cx) {
                    return Poll::Ready(Some((i, result)));
                }
            }
            match timer.as_mut().map(|t| t.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(None),
                _ => Poll::Pending,
            }
        })
        .await;
        if let Some((i, result)) = finished {
            let (addr, _) = running.swap_remove(i);
            match result {
                Ok(tcp) => return Ok((tcp, addr)),
                Err(e) => {
                    last = Some(e);
                    dial.failed(crate::now());
                }
            }
        }
    }
}

impl Stream {
    /// Runs a TLS handshake for `host` over this stream by `deadline`.
    pub(crate) async fn start_tls(
        self,
        tls: &Arc<rustls::ClientConfig>,
        host: &str,
        deadline: Option<Instant>,
    ) -> Result<Stream, Error> {
        let name = server_name(host)?;
        let handshake = TlsConnector::from(tls.clone()).connect(name, self);
        match within(deadline, handshake).await {
            Ok(stream) => Ok(Stream::Tls(Box::new(stream))),
            Err(e) => Err(match tls_failure(&e) {
                Some(message) => Error::msg(ErrorKind::Tls, message),
                None if is_timeout(&e) => Error::timeout(TimeoutPhase::Connect, None),
                None if e.kind() == io::ErrorKind::UnexpectedEof => Error::msg(
                    ErrorKind::Tls,
                    "the server closed the connection during the TLS handshake",
                ),
                None => Error::new(ErrorKind::Connect, e),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::Duration;

    use super::*;

    /// Connects to a listener on 127.0.0.1 as `dial` says, through each way a connection is
    /// opened: one address, and several raced. (An array, so that a test's loop over them
    /// always has both.)
    async fn connect_every_way(dial: &DialConfig) -> [TcpStream; 2] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let refused = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut raced = dial.clone();
        raced.add_override("raced.test", vec![refused, addr]);
        let soon = Some(crate::now() + Duration::from_secs(5));
        let mut out = Vec::new();
        for (host, dial) in [("127.0.0.1", dial), ("raced.test", &raced)] {
            match connect_tcp(host, addr.port(), soon, dial, None, &mut Timer::default())
                .await
                .unwrap()
            {
                (Stream::Plain(tcp), remote) => {
                    assert_eq!(remote, addr);
                    out.push(tcp);
                }
                _ => unreachable!("a plain connection"),
            }
        }
        out.try_into().expect("one connection each way")
    }

    #[tokio::test]
    async fn connections_are_made_from_the_local_address_given() {
        let dial = DialConfig {
            local_address: Some("127.0.0.2".parse().unwrap()),
            ..DialConfig::default()
        };
        for tcp in connect_every_way(&dial).await {
            assert_eq!(tcp.local_addr().unwrap().ip().to_string(), "127.0.0.2");
        }
        for tcp in connect_every_way(&DialConfig::default()).await {
            assert_eq!(tcp.local_addr().unwrap().ip().to_string(), "127.0.0.1");
        }
    }

    #[tokio::test]
    async fn connections_are_bound_to_the_interface_named() {
        let dial = DialConfig {
            interface: Some("lo".into()),
            local_address: Some("127.0.0.2".parse().unwrap()),
            ..DialConfig::default()
        };
        for tcp in connect_every_way(&dial).await {
            let device = socket2::SockRef::from(&tcp).device().unwrap();
            assert_eq!(device.as_deref(), Some(&b"lo"[..]));
            assert_eq!(tcp.local_addr().unwrap().ip().to_string(), "127.0.0.2");
        }
        for tcp in connect_every_way(&DialConfig::default()).await {
            assert_eq!(socket2::SockRef::from(&tcp).device().unwrap(), None);
        }
    }

    #[tokio::test]
    async fn tcp_keepalive_is_on_with_the_idle_time_given_and_off_by_default() {
        // A time the system would refuse is brought within its bounds, not a failed connect.
        for (given, taken) in [(42, 42), (0, 1), (u64::MAX, 32_767)] {
            let dial = DialConfig {
                tcp_keepalive: Some(Duration::from_secs(given)),
                ..DialConfig::default()
            };
            for tcp in connect_every_way(&dial).await {
                let sock = socket2::SockRef::from(&tcp);
                assert!(sock.keepalive().unwrap());
                assert_eq!(
                    sock.tcp_keepalive_time().unwrap(),
                    Duration::from_secs(taken)
                );
            }
        }
        for tcp in connect_every_way(&DialConfig::default()).await {
            assert!(!socket2::SockRef::from(&tcp).keepalive().unwrap());
        }
    }

    #[cfg(target_os = "linux")] // the sizes read back are Linux's doubling
    #[tokio::test]
    async fn socket_buffers_have_the_sizes_given() {
        let dial = DialConfig {
            send_buffer_size: Some(20_000),
            recv_buffer_size: Some(30_000),
            ..DialConfig::default()
        };
        for tcp in connect_every_way(&dial).await {
            // Linux doubles what it is asked for (socket(7)).
            let sock = socket2::SockRef::from(&tcp);
            assert_eq!(sock.send_buffer_size().unwrap(), 40_000);
            assert_eq!(sock.recv_buffer_size().unwrap(), 60_000);
        }
        for tcp in connect_every_way(&DialConfig::default()).await {
            let sock = socket2::SockRef::from(&tcp);
            assert_ne!(sock.send_buffer_size().unwrap(), 40_000);
            assert_ne!(sock.recv_buffer_size().unwrap(), 60_000);
        }
    }
}
