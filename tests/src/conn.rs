//! One accepted connection (plain or TLS) with a read buffer, and the state a server shares
//! with its connection threads.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::http::{Request, TlsInfo};

/// Safety net: an accepted socket that stays silent (or unwritable) this long is given up.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a graceful close keeps reading (and discarding) what the client still sends.
const LINGER: Duration = Duration::from_secs(1);

/// Locks, ignoring poisoning (a panicking handler must not break the recording).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// State shared by a server handle, its accept thread and its connection threads.
#[derive(Default)]
pub(crate) struct Shared {
    pub requests: Mutex<Vec<Request>>,
    pub errors: Mutex<Vec<String>>,
    /// Messages of handlers or scripts that panicked.
    pub panics: Mutex<Vec<String>>,
    pub connections: AtomicUsize,
    /// Clones of the live sockets, so that dropping the server can shut them down.
    pub live: Mutex<HashMap<usize, TcpStream>>,
    pub threads: Mutex<Vec<JoinHandle<()>>>,
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    pub fn record(&self, req: &Request) {
        let mut reqs = lock(&self.requests);
        match reqs
            .iter_mut()
            .find(|r| r.conn == req.conn && r.index == req.index)
        {
            Some(old) => *old = req.clone(),
            None => reqs.push(req.clone()),
        }
    }

    pub fn error(&self, msg: String) {
        if !self.is_stopped() {
            lock(&self.errors).push(msg);
        }
    }

    pub fn is_stopped(&self) -> bool {
        *lock(&self.stopped)
    }

    pub fn stop(&self) {
        *lock(&self.stopped) = true;
        self.wake.notify_all();
    }

    /// Sleeps `d`, or less if the server stops; returns false if it stopped.
    pub fn sleep(&self, d: Duration) -> bool {
        let guard = lock(&self.stopped);
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, d, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        !*guard
    }
}

enum Io {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Io {
    fn tcp(&self) -> &TcpStream {
        match self {
            Io::Plain(s) => s,
            Io::Tls(s) => &s.sock,
        }
    }
}

fn handshake(config: Arc<ServerConfig>, tcp: &mut TcpStream) -> Result<ServerConnection, String> {
    let mut tls = ServerConnection::new(config).map_err(|e| e.to_string())?;
    while tls.is_handshaking() {
        match tls.complete_io(tcp) {
            Ok((0, 0)) if tls.is_handshaking() => {
                return Err("TLS handshake: connection closed".into());
            }
            Ok(_) => {}
            Err(e) => return Err(format!("TLS handshake: {e}")),
        }
    }
    Ok(tls)
}

/// An accepted connection. Dropping it closes gracefully.
pub(crate) struct Conn {
    io: Option<Io>,
    /// Received, not yet consumed.
    pub buf: Vec<u8>,
    /// Everything consumed since the last `start_raw`.
    pub raw: Vec<u8>,
    pub shared: Arc<Shared>,
    pub index: usize,
    /// The index the next request on this connection gets.
    pub next: usize,
    pub tls: Option<TlsInfo>,
    /// The client's address.
    pub peer: Option<std::net::SocketAddr>,
}

impl Conn {
    /// Wraps an accepted socket, doing the TLS handshake first when `tls` is given.
    pub fn new(
        tcp: TcpStream,
        tls: Option<Arc<ServerConfig>>,
        shared: Arc<Shared>,
        index: usize,
    ) -> Result<Conn, String> {
        let mut conn = Conn {
            io: None,
            buf: Vec::new(),
            raw: Vec::new(),
            shared,
            index,
            next: 0,
            tls: None,
            peer: tcp.peer_addr().ok(),
        };
        let Some(config) = tls else {
            conn.io = Some(Io::Plain(tcp));
            return Ok(conn);
        };
        let mut tcp = tcp;
        let tls = match handshake(config, &mut tcp) {
            Ok(tls) => tls,
            Err(e) => {
                // The socket goes through `close`, which also drops the registry's clone.
                conn.io = Some(Io::Plain(tcp));
                return Err(e);
            }
        };
        conn.tls = Some(TlsInfo {
            sni: tls.server_name().map(str::to_owned),
            alpn: tls.alpn_protocol().map(<[u8]>::to_vec),
            version: tls
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default(),
            client_cert: tls
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec()),
        });
        conn.io = Some(Io::Tls(Box::new(StreamOwned::new(tls, tcp))));
        Ok(conn)
    }

    pub fn is_open(&self) -> bool {
        self.io.is_some()
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.io, Some(Io::Tls(_)))
    }

    /// Reads more into `buf`; `Ok(0)` at end of stream (a TLS peer that closed without
    /// close_notify counts as end of stream too).
    pub fn fill(&mut self) -> io::Result<usize> {
        let Some(io) = self.io.as_mut() else {
            return Ok(0);
        };
        let mut tmp = [0u8; 16 * 1024];
        loop {
            let r = match io {
                Io::Plain(s) => s.read(&mut tmp),
                Io::Tls(s) => s.read(&mut tmp),
            };
            match r {
                Ok(n) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves `n` buffered bytes into `raw` and returns them.
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let bytes: Vec<u8> = self.buf.drain(..n).collect();
        self.raw.extend_from_slice(&bytes);
        bytes
    }

    /// Writes and flushes all of `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.io.as_mut() {
            None => Err(io::ErrorKind::NotConnected.into()),
            Some(Io::Plain(s)) => s.write_all(bytes).and_then(|()| s.flush()),
            Some(Io::Tls(s)) => s.write_all(bytes).and_then(|()| s.flush()),
        }
    }

    pub fn tcp(&self) -> Option<&TcpStream> {
        self.io.as_ref().map(Io::tcp)
    }

    /// Sends FIN (after close_notify on TLS, if `notify`), reads and discards what the client
    /// still sends for up to a second (so that unread data does not turn the close into a
    /// reset), then closes.
    pub fn close(&mut self, notify: bool) {
        let Some(mut io) = self.io.take() else { return };
        if let (Io::Tls(s), true) = (&mut io, notify) {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let mut tcp = io.tcp();
        let _ = tcp.shutdown(Shutdown::Write);
        let deadline = Instant::now() + LINGER;
        let mut tmp = [0u8; 16 * 1024];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if left.is_zero() || tcp.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match tcp.read(&mut tmp) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.release(io);
    }

    /// Closes with a TCP reset (SO_LINGER 0).
    pub fn reset(&mut self) {
        let Some(io) = self.io.take() else { return };
        let _ = socket2::SockRef::from(io.tcp()).set_linger(Some(Duration::ZERO));
        self.release(io);
    }

    /// Sends FIN; the connection stays readable.
    pub fn shutdown_write(&mut self) {
        if let Some(tcp) = self.tcp() {
            let _ = tcp.shutdown(Shutdown::Write);
        }
    }

    /// TLS connections only: relays bytes both ways between the client (through this
    /// connection's TLS) and `up` until both sides are done or stay silent for
    /// [`IO_TIMEOUT`], on this thread (the TLS state cannot be shared between two). What is
    /// buffered goes `up` first. False if this is not a TLS connection.
    pub fn tunnel_tls(&mut self, up: TcpStream) -> bool {
        let Some(Io::Tls(s)) = self.io.as_mut() else {
            return false;
        };
        let to_up = std::mem::take(&mut self.buf);
        if s.sock.set_nonblocking(true).is_ok() && up.set_nonblocking(true).is_ok() {
            relay_tls(s, &up, to_up, &self.shared);
        }
        let _ = s.sock.set_nonblocking(false);
        true
    }

    /// Drops the registry's clone first, so that dropping `io` really closes the socket.
    fn release(&mut self, io: Io) {
        lock(&self.shared.live).remove(&self.index);
        drop(io);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.close(true);
    }
}

/// The loop of [`Conn::tunnel_tls`], over non-blocking sockets: `to_up` is what goes `up`
/// first. Ends early when the server stops.
fn relay_tls(
    s: &mut StreamOwned<ServerConnection, TcpStream>,
    up: &TcpStream,
    mut to_up: Vec<u8>,
    shared: &Shared,
) {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut up_io = up;
    let would_block = |e: &io::Error| e.kind() == io::ErrorKind::WouldBlock;
    // Short waits, to see the server stop; silence for IO_TIMEOUT ends the relay.
    let slice = Duration::from_millis(50);
    let timeout = Timespec::try_from(slice).expect("a timeout");
    let mut silent = Duration::ZERO;
    let (mut client_done, mut up_done, mut up_shut, mut client_shut) = (false, false, false, false);
    let mut tmp = [0u8; 16 * 1024];
    loop {
        while s.conn.wants_write() {
            match s.conn.write_tls(&mut s.sock) {
                Ok(_) => {}
                Err(e) if would_block(&e) => break,
                Err(_) => return,
            }
        }
        while !to_up.is_empty() {
            match up_io.write(&to_up) {
                Ok(n) => drop(to_up.drain(..n)),
                Err(e) if would_block(&e) => break,
                Err(_) => return,
            }
        }
        if client_done && to_up.is_empty() && !up_shut {
            let _ = up.shutdown(Shutdown::Write);
            up_shut = true;
        }
        if up_done && !client_shut {
            s.conn.send_close_notify();
            client_shut = true;
            continue;
        }
        if client_done && up_done && to_up.is_empty() && !s.conn.wants_write() {
            return;
        }
        // Each direction reads only while the other end keeps up.
        let mut client_wants = PollFlags::empty();
        if !client_done && to_up.len() < 64 * 1024 {
            client_wants |= PollFlags::IN;
        }
        if s.conn.wants_write() {
            client_wants |= PollFlags::OUT;
        }
        let mut up_wants = PollFlags::empty();
        if !up_done && !s.conn.wants_write() {
            up_wants |= PollFlags::IN;
        }
        if !to_up.is_empty() {
            up_wants |= PollFlags::OUT;
        }
        // A side that is done is left out: it would report its hang-up at once, every time.
        let client_fd = PollFd::new(&s.sock, client_wants);
        let up_fd = PollFd::new(&up, up_wants);
        let with_client = !client_done || s.conn.wants_write();
        let with_up = !up_done || !to_up.is_empty();
        let mut fds: Vec<PollFd<'_>> = [(with_client, client_fd), (with_up, up_fd)]
            .into_iter()
            .filter_map(|(with, fd)| with.then_some(fd))
            .collect();
        if fds.is_empty() {
            return;
        }
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) if !shared.is_stopped() && silent < IO_TIMEOUT => {
                silent += slice;
                continue;
            }
            Ok(0) | Err(_) => return,
            Ok(_) if shared.is_stopped() => return,
            Ok(_) => silent = Duration::ZERO,
        }
        let client_ready = match with_client {
            true => fds[0].revents(),
            false => PollFlags::empty(),
        };
        let up_ready = match with_up {
            true => fds[fds.len() - 1].revents(),
            false => PollFlags::empty(),
        };
        let readable = PollFlags::IN | PollFlags::HUP | PollFlags::ERR;
        if client_ready.intersects(readable) && !client_done {
            match s.conn.read_tls(&mut s.sock) {
                Ok(0) => client_done = true,
                Ok(_) => {
                    if s.conn.process_new_packets().is_err() {
                        return;
                    }
                }
                Err(e) if would_block(&e) => {}
                Err(_) => return,
            }
            loop {
                match s.conn.reader().read(&mut tmp) {
                    Ok(0) => {
                        client_done = true;
                        break;
                    }
                    Ok(n) => to_up.extend_from_slice(&tmp[..n]),
                    Err(e) if would_block(&e) => break,
                    Err(_) => {
                        client_done = true;
                        break;
                    }
                }
            }
        }
        if up_ready.intersects(readable) && !up_done {
            match up_io.read(&mut tmp) {
                Ok(0) => up_done = true,
                Ok(n) => {
                    if s.conn.writer().write_all(&tmp[..n]).is_err() {
                        return;
                    }
                }
                Err(e) if would_block(&e) => {}
                Err(_) => up_done = true,
            }
        }
    }
}
