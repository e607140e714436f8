//! In-process test servers on 127.0.0.1: [`Server::http`] / [`Server::https`] answer with a
//! handler, [`Server::scripted`] / [`Server::scripted_tls`] run a script per connection (see
//! [`ScriptConn`]). Each runs on std threads (one accept thread, one thread per connection),
//! records every request it reads, and stops when its handle is dropped.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::ServerConfig;

use crate::conn::{Conn, IO_TIMEOUT, Shared, lock};
use crate::http::{ReadError, read_body, read_head};

pub use crate::http::{Request, TlsInfo};
pub use crate::reply::Reply;
pub use crate::script::ScriptConn;
pub use crate::tls::{Cert, ClientAuth, Tls};

/// What a handler server does with `Expect: 100-continue` (on an HTTP/1.1 request with a body).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expect {
    /// Sends `HTTP/1.1 100 Continue`, then reads the body (the default).
    #[default]
    Continue,
    /// Sends nothing and waits for the body, like a server that ignores Expect.
    Ignore,
    /// Answers with this final status and `Connection: close` without reading the body, then
    /// closes. The request is recorded with an empty body; the handler is not called.
    Reject(u16),
}

/// Server behaviour settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Handling of `Expect: 100-continue` (also used by [`ScriptConn::read_request`]).
    pub expect: Expect,
    /// Connections as narrow as the kernel allows (see [`Options::narrow`]).
    pub narrow: bool,
}

impl Options {
    /// Sets the `Expect: 100-continue` handling.
    pub fn expect(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }

    /// Accepts connections with a small segment size (536 bytes, the classic floor) and the
    /// smallest receive buffer the kernel allows. A client's sends then wait after far less
    /// in flight: on loopback its send buffer is otherwise sized from 64 KiB segments, to
    /// megabytes. With a small send buffer on the client too (`tcp_send_buffer_size`), it is
    /// a few KiB, so a script can stop reading and know where the client's writes are stuck.
    pub fn narrow(mut self) -> Self {
        self.narrow = true;
        self
    }
}

/// A request handler.
pub type Handler = dyn Fn(&Request) -> Reply + Send + Sync + 'static;

/// A running test server. Dropping it stops it: the accept thread ends, open connections are
/// shut down, all threads are joined. If a handler or script panicked, the drop panics too
/// (unless the test is already panicking), so assertions made inside them are not lost.
pub struct Server {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// A plain HTTP server answering every request with `handler`.
    pub fn http(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        Server::http_with(Options::default(), handler)
    }

    /// [`Server::http`] with options.
    pub fn http_with(
        options: Options,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Server {
        Server::start(None, options, move |mut conn| {
            serve(&mut conn, options, &handler)
        })
    }

    /// An HTTPS server (see [`Tls`]; a [`Cert`] will do) answering with `handler`.
    pub fn https(
        tls: impl Into<Tls>,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Server {
        Server::https_with(tls, Options::default(), handler)
    }

    /// [`Server::https`] with options.
    pub fn https_with(
        tls: impl Into<Tls>,
        options: Options,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let config = tls.into().server_config();
        Server::start(Some(config), options, move |mut conn| {
            serve(&mut conn, options, &handler)
        })
    }

    /// A plain server running `script` on each accepted connection (on its own thread). The
    /// connection is closed gracefully when the script returns.
    pub fn scripted(script: impl Fn(&mut ScriptConn) + Send + Sync + 'static) -> Server {
        Server::scripted_with(Options::default(), script)
    }

    /// [`Server::scripted`] with options.
    pub fn scripted_with(
        options: Options,
        script: impl Fn(&mut ScriptConn) + Send + Sync + 'static,
    ) -> Server {
        Server::start(None, options, move |conn| {
            script(&mut ScriptConn::new(conn, options))
        })
    }

    /// A TLS server running `script` on each connection once the handshake has succeeded (a
    /// failed handshake is recorded in [`Server::errors`] and the script is not run).
    pub fn scripted_tls(
        tls: impl Into<Tls>,
        script: impl Fn(&mut ScriptConn) + Send + Sync + 'static,
    ) -> Server {
        Server::scripted_tls_with(tls, Options::default(), script)
    }

    /// [`Server::scripted_tls`] with options.
    pub fn scripted_tls_with(
        tls: impl Into<Tls>,
        options: Options,
        script: impl Fn(&mut ScriptConn) + Send + Sync + 'static,
    ) -> Server {
        let config = tls.into().server_config();
        Server::start(Some(config), options, move |conn| {
            script(&mut ScriptConn::new(conn, options))
        })
    }

    fn start(
        tls: Option<Arc<ServerConfig>>,
        options: Options,
        service: impl Fn(Conn) + Send + Sync + 'static,
    ) -> Server {
        let listener = listen(options.narrow);
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared::default());
        let is_tls = tls.is_some();
        let service: Arc<dyn Fn(Conn) + Send + Sync> = Arc::new(service);
        let state = shared.clone();
        let accept = thread::Builder::new()
            .name(format!("test-server-{}", addr.port()))
            .spawn(move || accept_loop(listener, state, tls, service))
            .expect("spawn accept thread");
        Server {
            addr,
            tls: is_tls,
            shared,
            accept: Some(accept),
        }
    }

    /// The listening address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Whether this server speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The authority of [`Server::url`]: `127.0.0.1:PORT`, or `localhost:PORT` for TLS.
    pub fn authority(&self) -> String {
        let host = if self.tls { "localhost" } else { "127.0.0.1" };
        format!("{host}:{}", self.port())
    }

    /// `http://127.0.0.1:PORT/path`, or `https://localhost:PORT/path` for TLS (a `/` is added
    /// before `path` if missing). A client of a TLS server connects `localhost` to 127.0.0.1
    /// with `.resolve("localhost", tls::LOOPBACK)` (see [`crate::tls::LOOPBACK`]).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.authority(), slash(path))
    }

    /// `http(s)://127.0.0.1:PORT/path`: the URL by IP address (the TLS leaf covers it too).
    pub fn url_ip(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{}", self.port(), slash(path))
    }

    /// Every request read so far, in the order they were read.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// Waits (up to `timeout`) until at least `n` requests were read, then returns them all.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Request> {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if requests.len() >= n || Instant::now() >= deadline {
                return requests;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits (up to `timeout`) until at least `n` connections were accepted and every one
    /// accepted has ended, its requests recorded; returns whether that happened in time. A
    /// connection ends when the client closes it or it breaks (or after the server's I/O
    /// timeout with nothing from the client).
    pub fn wait_for_connections_to_end(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let accepted = self.connections();
            let threads = lock(&self.shared.threads);
            // A thread is listed just after its connection is counted.
            if accepted >= n && threads.len() == accepted && threads.iter().all(|t| t.is_finished())
            {
                return true;
            }
            drop(threads);
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// How many TCP connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Closes every open connection from the server side (FIN) while the server keeps
    /// accepting new ones: makes a client's pooled connections stale.
    pub fn close_connections(&self) {
        for socket in lock(&self.shared.live).values() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// Problems seen so far: malformed requests, connections lost mid-request, failed TLS
    /// handshakes, panics (each prefixed with its connection number).
    pub fn errors(&self) -> Vec<String> {
        lock(&self.shared.errors).clone()
    }
}

/// A listener on 127.0.0.1 (any port); `narrow`: see [`Options::narrow`].
fn listen(narrow: bool) -> TcpListener {
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    if narrow {
        // Set before listening: accepted connections inherit both, and the segment size is
        // announced in the handshake (the kernel raises each to its floor).
        socket.set_tcp_mss(536).expect("TCP_MAXSEG");
        socket.set_recv_buffer_size(1).expect("SO_RCVBUF");
    }
    // As std's `TcpListener::bind` does.
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    socket.bind(&addr.into()).expect("bind 127.0.0.1:0");
    socket.listen(128).expect("listen");
    socket.into()
}

fn slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// A loopback address where nothing listens: a connect to it is refused at once.
pub fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address")
    // The listener closes here; nothing takes the port again this soon.
}

/// A loopback listener that never accepts, with its backlog full: the kernel drops further
/// SYNs, so a connect to it hangs until the client gives up.
pub struct BlackHole {
    addr: SocketAddr,
    _listener: socket2::Socket,
    _fillers: Vec<TcpStream>,
}

impl BlackHole {
    /// A new black hole on 127.0.0.1.
    pub fn new() -> BlackHole {
        use socket2::{Domain, Socket, Type};
        let listener = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        let any: SocketAddr = "127.0.0.1:0".parse().expect("address");
        listener.bind(&any.into()).expect("bind");
        listener.listen(0).expect("listen");
        let addr = listener
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("local address");
        let mut fillers = Vec::new();
        for _ in 0..4 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
                Ok(stream) => fillers.push(stream),
                Err(_) => break, // the queue is full
            }
        }
        BlackHole {
            addr,
            _listener: listener,
            _fillers: fillers,
        }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Default for BlackHole {
    fn default() -> Self {
        BlackHole::new()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop();
        // Wake the accept thread; it sees the stop flag and returns.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(accept) = self.accept.take().filter(|_| woke) {
            let _ = accept.join();
        }
        self.close_connections();
        let threads = std::mem::take(&mut *lock(&self.shared.threads));
        for thread in threads {
            let _ = thread.join();
        }
        let panics = lock(&self.shared.panics).clone();
        if !panics.is_empty() && !thread::panicking() {
            panic!("test server on {}: {}", self.addr, panics.join("; "));
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<Arc<ServerConfig>>,
    service: Arc<dyn Fn(Conn) + Send + Sync>,
) {
    for accepted in listener.incoming() {
        if shared.is_stopped() {
            return;
        }
        let Ok(tcp) = accepted else {
            thread::sleep(Duration::from_millis(1));
            continue;
        };
        let index = shared.connections.fetch_add(1, Ordering::SeqCst);
        let _ = tcp.set_nodelay(true);
        let _ = tcp.set_read_timeout(Some(IO_TIMEOUT));
        let _ = tcp.set_write_timeout(Some(IO_TIMEOUT));
        if let Ok(clone) = tcp.try_clone() {
            lock(&shared.live).insert(index, clone);
        }
        let (state, tls, service) = (shared.clone(), tls.clone(), service.clone());
        let spawned = thread::Builder::new()
            .name(format!("test-conn-{index}"))
            .spawn(move || {
                let conn = match Conn::new(tcp, tls, state.clone(), index) {
                    Ok(conn) => conn,
                    Err(e) => return state.error(format!("connection {index}: {e}")),
                };
                // A script that panics because the server is being dropped under it (say,
                // `read_request().unwrap()`) is not a failure of the test.
                let result = catch_unwind(AssertUnwindSafe(|| service(conn)));
                if let (Err(panic), false) = (result, state.is_stopped()) {
                    let msg = format!("connection {index}: panicked: {}", panic_message(&*panic));
                    state.error(msg.clone());
                    lock(&state.panics).push(msg);
                }
            });
        match spawned {
            Ok(handle) => lock(&shared.threads).push(handle),
            Err(e) => shared.error(format!("connection {index}: spawn: {e}")),
        }
    }
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic)".into()
    }
}

/// Serves requests on `conn` with `handler` until the client closes, a request or reply asks
/// to close, or something breaks; then closes the connection gracefully.
pub(crate) fn serve(conn: &mut Conn, options: Options, handler: &dyn Fn(&Request) -> Reply) {
    serve_requests(conn, options, handler);
    conn.close(true);
}

fn serve_requests(conn: &mut Conn, options: Options, handler: &dyn Fn(&Request) -> Reply) {
    let shared = conn.shared.clone();
    let index = conn.index;
    let fail = |conn: &mut Conn, e: ReadError| {
        shared.error(format!("connection {index}: {e}"));
        if let ReadError::Bad(_) = e {
            let _ = conn.write_all(&Reply::new(400).encode(false, true));
        }
    };
    while conn.is_open() {
        let mut req = match read_head(conn) {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(e) => return fail(conn, e),
        };
        if req.expects_continue() {
            match options.expect {
                Expect::Continue => {
                    if conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
                        return shared.record(&req);
                    }
                }
                Expect::Ignore => {}
                Expect::Reject(status) => {
                    shared.record(&req);
                    let _ = conn.write_all(&Reply::new(status).encode(false, true));
                    return;
                }
            }
        }
        let body = read_body(conn, &mut req);
        shared.record(&req);
        if let Err(e) = body {
            return fail(conn, e);
        }
        let reply = match catch_unwind(AssertUnwindSafe(|| handler(&req))) {
            Ok(reply) => reply,
            Err(panic) => {
                let msg = format!(
                    "connection {index}: handler panicked: {}",
                    panic_message(&*panic)
                );
                shared.error(msg.clone());
                lock(&shared.panics).push(msg);
                Reply::new(500).close()
            }
        };
        if let Some(delay) = reply.delay_time() {
            if !shared.sleep(delay) {
                return;
            }
        }
        let close = reply.closes() || req.wants_close();
        if conn
            .write_all(&reply.encode(req.method == "HEAD", close))
            .is_err()
            || close
        {
            return;
        }
    }
}
