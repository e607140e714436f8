//! [`ScriptConn`]: one connection of a scripted server, driven step by step to play exact,
//! slow, broken or hostile behaviour.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use crate::conn::{Conn, IO_TIMEOUT};
use crate::http::{ReadError, Request, TlsInfo, read_body, read_head};
use crate::reply::Reply;
use crate::server::{Expect, Options, serve};

/// One accepted connection handed to a script (see [`crate::server::Server::scripted`]).
///
/// Reads record what they read in the server's [`requests`](crate::server::Server::requests).
/// Writes return whether they succeeded (a client that went away is not an error for a
/// script). Use [`ScriptConn::sleep`] rather than `thread::sleep`: it ends early when the
/// server is dropped. The connection is closed gracefully when the script returns.
pub struct ScriptConn {
    conn: Conn,
    options: Options,
}

impl ScriptConn {
    pub(crate) fn new(conn: Conn, options: Options) -> Self {
        ScriptConn { conn, options }
    }

    /// This connection's number: 0, 1, 2… in accept order.
    pub fn index(&self) -> usize {
        self.conn.index
    }

    /// What the TLS handshake negotiated (None on a plain connection).
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.conn.tls.as_ref()
    }

    /// Whether the connection is still open on this side.
    pub fn is_open(&self) -> bool {
        self.conn.is_open()
    }

    fn failed(&self, e: ReadError) {
        self.conn
            .shared
            .error(format!("connection {}: {e}", self.conn.index));
    }

    /// Reads one whole request (head and body), answering `Expect: 100-continue` as the
    /// server's [`Options`] say (by default with `100 Continue`; with `Expect::Reject` it
    /// answers, closes, and returns the request without body). None at end of stream, or if
    /// the request is malformed or cut off (then see [`Server::errors`](crate::server::Server::errors)).
    pub fn read_request(&mut self) -> Option<Request> {
        let mut req = self.read_head_only()?;
        if req.expects_continue() {
            match self.options.expect {
                Expect::Continue => {
                    if !self.write(b"HTTP/1.1 100 Continue\r\n\r\n") {
                        return None;
                    }
                }
                Expect::Ignore => {}
                Expect::Reject(status) => {
                    self.write(&Reply::new(status).encode(false, true));
                    self.close();
                    return Some(req);
                }
            }
        }
        self.read_body(&mut req).then_some(req)
    }

    /// Reads one request head only (recorded with an empty body; nothing is sent for
    /// `Expect`). Follow with [`ScriptConn::read_body`] to read its body.
    pub fn read_head_only(&mut self) -> Option<Request> {
        match read_head(&mut self.conn) {
            Ok(Some(req)) => {
                self.conn.shared.record(&req);
                Some(req)
            }
            Ok(None) => None,
            Err(e) => {
                self.failed(e);
                None
            }
        }
    }

    /// Reads the body of `req` (from [`ScriptConn::read_head_only`]) as its framing says,
    /// updating the recorded request. False if it was malformed or cut off.
    pub fn read_body(&mut self, req: &mut Request) -> bool {
        let result = read_body(&mut self.conn, req);
        self.conn.shared.record(req);
        match result {
            Ok(()) => true,
            Err(e) => {
                self.failed(e);
                false
            }
        }
    }

    /// Whatever bytes are buffered or arrive next (one read; empty at end of stream or on error).
    pub fn read_some(&mut self) -> Vec<u8> {
        if self.conn.buf.is_empty() && self.conn.fill().is_err() {
            return Vec::new();
        }
        std::mem::take(&mut self.conn.buf)
    }

    /// Writes (and flushes) `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        self.conn.write_all(bytes).is_ok()
    }

    /// Writes `bytes` one at a time, each flushed, sleeping `per_byte` between them.
    pub fn write_slowly(&mut self, bytes: &[u8], per_byte: Duration) -> bool {
        for (i, byte) in bytes.iter().enumerate() {
            if (i > 0 && !self.sleep(per_byte)) || !self.write(&[*byte]) {
                return false;
            }
        }
        true
    }

    /// Writes `reply` as a handler server would for a non-HEAD request: after its delay, and
    /// closing after it if it says [`Reply::close`].
    pub fn send(&mut self, reply: &Reply) -> bool {
        if let Some(delay) = reply.delay_time() {
            if !self.sleep(delay) {
                return false;
            }
        }
        let ok = self.write(&reply.encode(false, reply.closes()));
        if reply.closes() {
            self.close();
        }
        ok
    }

    /// From here on, behaves like a handler server: serves the rest of the connection's
    /// requests with `handler`, then closes.
    pub fn serve(&mut self, handler: impl Fn(&Request) -> Reply) {
        serve(&mut self.conn, self.options, &handler);
    }

    /// Sleeps `d` (less if the server is dropped meanwhile; then returns false).
    pub fn sleep(&mut self, d: Duration) -> bool {
        self.conn.shared.sleep(d)
    }

    /// Closes normally: close_notify (TLS), FIN, then reads and discards what the client still
    /// sends for up to a second so that the close does not turn into a reset.
    pub fn close(&mut self) {
        self.conn.close(true);
    }

    /// Like [`ScriptConn::close`] but without TLS close_notify: a truncation to a TLS client.
    pub fn close_without_notify(&mut self) {
        self.conn.close(false);
    }

    /// Closes with a TCP reset (RST, via SO_LINGER 0).
    pub fn reset(&mut self) {
        self.conn.reset();
    }

    /// Sends FIN (half-close) but keeps reading possible.
    pub fn shutdown_write(&mut self) {
        self.conn.shutdown_write();
    }

    /// Relays bytes both ways between the client and `upstream` (e.g. after answering a
    /// CONNECT with `200`) until both sides are done: on a TLS connection (an HTTPS proxy),
    /// through its TLS. False if `upstream` cannot be reached.
    pub fn tunnel(&mut self, upstream: SocketAddr) -> bool {
        if self.conn.is_tls() {
            let Ok(up) = TcpStream::connect_timeout(&upstream, IO_TIMEOUT) else {
                return false;
            };
            return self.conn.tunnel_tls(up);
        }
        let Some(client) = self.conn.tcp().and_then(|t| t.try_clone().ok()) else {
            return false;
        };
        let Ok(up) = TcpStream::connect_timeout(&upstream, IO_TIMEOUT) else {
            return false;
        };
        let _ = up.set_read_timeout(Some(IO_TIMEOUT));
        let _ = up.set_write_timeout(Some(IO_TIMEOUT));
        let pending = std::mem::take(&mut self.conn.buf);
        if (&up).write_all(&pending).is_err() {
            return false;
        }
        let (Ok(client_in), Ok(up_out)) = (client.try_clone(), up.try_clone()) else {
            return false;
        };
        let upload = thread::spawn(move || {
            let _ = io::copy(&mut &client_in, &mut &up_out);
            let _ = up_out.shutdown(Shutdown::Write);
        });
        let _ = io::copy(&mut &up, &mut &client);
        let _ = client.shutdown(Shutdown::Write);
        let _ = upload.join();
        true
    }
}
