//! Performing a [`Call`]'s actions over blocking sockets. Every decision is the call's; this
//! file only moves bytes, waits, and reports what happened.

use std::io::IoSliceMut;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use sync_wrapper::SyncWrapper;

use duet_core::client::{Action, Call, ConnectTo, Error, ErrorKind, PoolKey, ReceiveInto};
use duet_core::{Connection, ResponseHead};

use crate::body::BodySender;
use crate::client::Inner;
use crate::pool::{Acquired, Idle};
use crate::transport::{self, Stream, Wrote, is_timeout, tls_failure};
use duet_core::transport::ConnectionRecorder;

/// Bytes read from the socket at a time.
const READ_SIZE: usize = 64 * 1024;

/// Bytes read at a time from a server that answers while the request is going out.
const ANSWER_READ: usize = 8 * 1024;

/// Where [`Exchange::drive`] puts body bytes.
enum Sink<'a> {
    /// The caller's buffer: at most one piece of data, then back to the caller.
    Buf(&'a mut [u8]),
    /// Appended, to the end of the body.
    All(&'a mut Vec<u8>),
}

/// What [`Exchange::drive`] stopped for.
enum Step {
    Head(ResponseHead),
    Data(usize),
    End,
}

/// One request in flight: its call, its connection, and its body.
pub(crate) struct Exchange {
    /// Boxed: a call is about a KiB, and an exchange moves (into its response, and as part of
    /// the futures that hold it).
    call: Box<Call>,
    client: Arc<Inner>,
    /// Whether this request's TLS connections verify the other way from the client's
    /// setting (it asked so).
    tls_flipped: bool,
    /// Where this connection's bytes are recorded, when the client records.
    recording: Option<ConnectionRecorder>,
    stream: Option<Stream>,
    remote: Option<SocketAddr>,
    /// (Wrapped so that an exchange, and the response holding it, is `Sync` whatever the
    /// body's source: it is only ever used through `&mut`.)
    body: SyncWrapper<BodySender>,
    /// The pool slot this exchange holds, by the key its connection was opened with (a
    /// redirect may move the call to another key before the connection is released).
    slot: Option<PoolKey>,
    /// A clock reading taken moments ago with nothing slow since (the call's start, a pooled
    /// connection handed over): the next step uses it instead of reading the clock again.
    clock: Option<Instant>,
}

impl Exchange {
    /// An exchange for `call`, which started at `now`.
    pub fn new(
        call: Box<Call>,
        client: Arc<Inner>,
        tls_flipped: bool,
        body: BodySender,
        now: Instant,
    ) -> Self {
        Exchange {
            call,
            client,
            tls_flipped,
            recording: None,
            stream: None,
            remote: None,
            body: SyncWrapper::new(body),
            slot: None,
            clock: Some(now),
        }
    }

    pub fn call(&self) -> &Call {
        &self.call
    }

    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// Runs the request until the final response head.
    pub fn send(&mut self) -> Result<ResponseHead, Error> {
        match self.drive(Sink::Buf(&mut []))? {
            Step::Head(head) => Ok(head),
            Step::Data(_) | Step::End => Err(Error::msg(
                ErrorKind::Protocol,
                "the exchange ended without a response head",
            )),
        }
    }

    /// Reads body bytes into `buf`; 0 at the end of the body (the connection then goes back
    /// to the pool when it can be reused).
    pub fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        match self.drive(Sink::Buf(buf))? {
            Step::Data(n) => Ok(n),
            Step::End => Ok(0),
            Step::Head(_) => Err(Error::msg(ErrorKind::Protocol, "a second response head")),
        }
    }

    /// Appends the rest of the body to `out`, in as few steps as the bytes arrive in (the
    /// connection then goes back to the pool when it can be reused).
    pub fn read_body_to_end(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self.drive(Sink::All(out))? {
            Step::End => Ok(()),
            Step::Head(_) => Err(Error::msg(ErrorKind::Protocol, "a second response head")),
            Step::Data(_) => unreachable!("a whole-body sink takes every piece"),
        }
    }

    /// Performs the call's actions until it has something for the caller: the response
    /// head, body bytes (copied into a [`Sink::Buf`]), or the end of the body (all of it
    /// appended to a [`Sink::All`]).
    fn drive(&mut self, mut sink: Sink<'_>) -> Result<Step, Error> {
        let max = match &sink {
            Sink::Buf(buf) => buf.len().max(1),
            Sink::All(_) => usize::MAX,
        };
        loop {
            // One clock read per step (or a reading still current): the I/O below takes its
            // deadlines from it too.
            let now = self.clock.take().unwrap_or_else(Instant::now);
            match self.call.poll_action_max(now, max)? {
                Action::Response(head) => return Ok(Step::Head(head)),
                Action::Data(data) => match &mut sink {
                    Sink::Buf(buf) => {
                        let n = data.len().min(buf.len());
                        buf[..n].copy_from_slice(&data[..n]);
                        return Ok(Step::Data(n));
                    }
                    Sink::All(out) => {
                        out.extend_from_slice(data);
                        // Nothing slow since this reading: the next step can use it.
                        self.clock = Some(now);
                    }
                },
                Action::Finished | Action::Upgraded => {
                    self.finish(now);
                    return Ok(Step::End);
                }
                Action::Connect(to) => {
                    self.finish(now); // a previous hop's connection goes back to the pool
                    if to.restart_body {
                        self.body.get_mut().restart();
                    }
                    match self.client.pool.take_idle(&to, now) {
                        // At hand at once: the next step can use this clock reading.
                        Some(idle) => {
                            self.clock = Some(now);
                            let conn = self.adopt(to.key, idle);
                            self.call.set_remote_addr(self.remote);
                            self.call.connected(Some(conn), now)?;
                        }
                        None => self.connect(to)?,
                    }
                }
                Action::Transmit {
                    bytes,
                    deadline,
                    listen,
                } => {
                    let written = self
                        .stream
                        .as_mut()
                        .expect("connected")
                        .write_by(bytes, deadline, now, listen);
                    match written {
                        Ok(Wrote::Bytes(n)) => {
                            if let Some(recording) = &self.recording {
                                recording.sent(&bytes[..n]);
                            }
                            self.call.transmitted(n);
                        }
                        Ok(Wrote::Answer) => self.take_answer()?,
                        Err(e) => self.after_io(Err(e))?,
                    }
                }
                Action::SendBody => self.body.get_mut().send_next(&mut self.call)?,
                Action::RestartBody => self.body.get_mut().restart(),
                Action::StartTls { host } => {
                    let stream = self.stream.take().expect("connected");
                    let deadline = self.call.connect_deadline();
                    match self.origin_tls(stream, &host, deadline) {
                        Ok(tls) => self.stream = Some(tls),
                        Err(e) => return Err(self.call.fail_with(e)),
                    }
                }
                Action::Sleep { until } => {
                    // A retry's wait: the last attempt's connection is not kept through it.
                    self.finish(now);
                    std::thread::sleep(until.saturating_duration_since(Instant::now()))
                }
                Action::Receive { deadline } => {
                    // Body bytes bound for a whole-body sink go through the input buffer.
                    let direct = match &sink {
                        Sink::Buf(buf) => buf.len(),
                        Sink::All(_) => 0,
                    };
                    match self.call.receive_into(direct, READ_SIZE) {
                        ReceiveInto::Buffer(len) => self.receive(deadline, len, now)?,
                        ReceiveInto::Caller { len, then, more } => {
                            let Sink::Buf(buf) = &mut sink else {
                                unreachable!("no direct reads without a buffer")
                            };
                            let buf = &mut buf[..len + more];
                            if let Some(n) = self.receive_direct(buf, len, then, deadline, now)? {
                                return Ok(Step::Data(n));
                            }
                        }
                    }
                }
                _ => return Err(Error::msg(ErrorKind::Io, "unsupported action")),
            }
        }
    }

    /// Connects as the call asks, when no idle connection was at hand: waits for one or for
    /// a slot to open one.
    fn connect(&mut self, to: ConnectTo) -> Result<(), Error> {
        let opened = self.open(to);
        let now = Instant::now();
        // Nothing slow happens before the next step, so it can use this reading.
        self.clock = Some(now);
        match opened {
            Ok(conn) => {
                self.call.set_remote_addr(self.remote);
                self.call.connected(conn, now)
            }
            // The retry policy may answer with another attempt after a wait.
            Err(e) => self.call.connect_failed(e, now),
        }
    }

    /// Takes over an idle connection from `key`'s slot; the engine's state is returned.
    fn adopt(&mut self, key: PoolKey, idle: Idle) -> Box<Connection> {
        self.slot = Some(key);
        self.stream = Some(idle.stream);
        self.remote = idle.remote;
        self.recording = idle.recording;
        idle.conn
    }

    /// A pooled connection for `to`, or a new one (`None` for the engine's state).
    fn open(&mut self, to: ConnectTo) -> Result<Option<Box<Connection>>, Error> {
        let pool_timeout = self.client.config.timeouts.pool;
        let acquired = self.client.pool.acquire(&to, pool_timeout)?;
        match acquired {
            Acquired::Reuse(idle) => Ok(Some(self.adopt(to.key, idle))),
            Acquired::Open => {
                self.slot = Some(to.key.clone());
                let mounted = self.client.mounts.select(self.call.url()).cloned();
                let (stream, remote) = match (&to.key.proxy, mounted) {
                    (_, Some(mounted)) => {
                        let origin = &to.key.origin;
                        let stream = Stream::custom(mounted.connect(origin, to.connect_deadline)?);
                        let stream = match origin.is_tls() && !mounted.handles_tls() {
                            true => self.origin_tls(stream, origin.host(), to.connect_deadline)?,
                            false => stream,
                        };
                        (stream, None)
                    }
                    (None, None) => {
                        let origin = &to.key.origin;
                        let (stream, remote) = transport::connect_tcp(
                            origin.host(),
                            origin.port(),
                            to.connect_deadline,
                            &self.client.config.dial,
                            self.client.resolver.as_ref(),
                        )?;
                        let stream = match origin.is_tls() {
                            true => self.origin_tls(stream, origin.host(), to.connect_deadline)?,
                            false => stream,
                        };
                        (stream, Some(remote))
                    }
                    (Some(proxy), None) => {
                        // The engine sets up the tunnel (CONNECT or SOCKS) over this stream.
                        let (stream, remote) = transport::connect_tcp(
                            proxy.host(),
                            proxy.port(),
                            to.connect_deadline,
                            &self.client.config.dial,
                            self.client.resolver.as_ref(),
                        )?;
                        let stream = match proxy.scheme().is_tls() {
                            true => stream.start_tls(
                                &self.client.tls_config(false)?,
                                proxy.host(),
                                to.connect_deadline,
                            )?,
                            false => stream,
                        };
                        if to.resolve_origin {
                            let target = transport::resolve(
                                to.key.origin.host(),
                                to.key.origin.port(),
                                to.connect_deadline,
                                &self.client.config.dial,
                                self.client.resolver.as_ref(),
                            )?;
                            self.call.set_resolved_target(target);
                        }
                        (stream, Some(remote))
                    }
                };
                self.recording = self
                    .client
                    .config
                    .recorder
                    .as_ref()
                    .map(|r| r.connection(&to.key.origin.to_string()));
                self.stream = Some(stream);
                self.remote = remote;
                Ok(None)
            }
        }
    }

    /// TLS with the origin `host` over `stream`, verified as this request asks.
    fn origin_tls(
        &self,
        stream: Stream,
        host: &str,
        deadline: Option<Instant>,
    ) -> Result<Stream, Error> {
        stream.start_tls(&self.client.tls_config(self.tls_flipped)?, host, deadline)
    }

    /// What the server sent while the request was still going out, read without waiting
    /// and handed to the call (which decides whether it ends the upload).
    fn take_answer(&mut self) -> Result<(), Error> {
        let stream = self.stream.as_mut().expect("connected");
        let buf = &mut self.call.input_buffer(ANSWER_READ)[..ANSWER_READ];
        let read = stream.read_now(buf);
        if let (Ok(Some(n)), Some(recording)) = (&read, &self.recording) {
            recording.read(&buf[..*n]);
        }
        let outcome = read.map(|n| n.map_or((), |n| self.call.commit_read(n)));
        self.after_io(outcome)
    }

    fn receive(
        &mut self,
        deadline: Option<Instant>,
        len: usize,
        now: Instant,
    ) -> Result<(), Error> {
        let stream = stream_to_read(&mut self.stream, &self.call);
        let buf = &mut self.call.input_buffer(len)[..len];
        let read = stream.read_by(buf, deadline, now);
        if let (Ok(n), Some(recording)) = (&read, &self.recording) {
            recording.read(&buf[..*n]);
        }
        let outcome = read.map(|n| self.call.commit_read(n));
        self.after_io(outcome)
    }

    /// Reads body bytes straight into the caller's `buf` (as the call allowed: its first
    /// `len` bytes), and in the same read up to `then` bytes of the framing after them into
    /// the call's input buffer, then on into the rest of `buf` (the next chunk's data, if the
    /// framing was the one foretold): `Some(n)` body bytes at the start of `buf`, or `None`
    /// when there were none (end of stream, a timeout the call handled).
    fn receive_direct(
        &mut self,
        buf: &mut [u8],
        len: usize,
        then: usize,
        deadline: Option<Instant>,
        now: Instant,
    ) -> Result<Option<usize>, Error> {
        let stream = stream_to_read(&mut self.stream, &self.call);
        let (buf, after) = buf.split_at_mut(len);
        let framing = match then {
            0 => &mut [][..],
            then => &mut self.call.input_buffer(then)[..then],
        };
        let read = stream.read_vectored_by(
            &mut [
                IoSliceMut::new(buf),
                IoSliceMut::new(framing),
                IoSliceMut::new(after),
            ],
            deadline,
            now,
        );
        let (body, framing, more) = match read {
            Ok(n) => {
                let body = n.min(len);
                let framing = (n - body).min(then);
                (body, framing, n - body - framing)
            }
            Err(_) => (0, 0, 0),
        };
        if let (Ok(n), Some(recording)) = (&read, &self.recording) {
            match n {
                0 => recording.closed(),
                _ => {
                    recording.received(&buf[..body]);
                    if framing > 0 {
                        recording.received(&self.call.input_buffer(framing)[..framing]);
                    }
                    if more > 0 {
                        recording.received(&after[..more]);
                    }
                }
            }
        }
        match read {
            Ok(0) => {
                self.call.handle_eof();
                Ok(None)
            }
            Ok(_) => {
                self.call.commit_direct(body);
                if framing > 0 {
                    self.call.commit_input(framing);
                }
                // What came after the framing is the next chunk's data as far as the call
                // says; it takes the rest as input.
                let taken = self.call.commit_direct_more(&after[..more]);
                Ok(Some(body + taken))
            }
            Err(e) => self.after_io(Err(e)).map(|()| None),
        }
    }

    /// Reports an I/O outcome to the call: a passed deadline, a TLS failure, or an I/O error
    /// (which the call may answer with a retry on a fresh connection).
    fn after_io(&mut self, outcome: std::io::Result<()>) -> Result<(), Error> {
        match outcome {
            Ok(()) => Ok(()),
            // A wait ended with nothing done: the socket's timeout, or a signal (on a socket
            // with a timeout, a read or write a signal interrupts is never restarted, even
            // after a stop and continue: signal(7)). The call fails if its deadline passed,
            // else waits on to the same deadline.
            Err(e) if is_timeout(&e) || e.kind() == std::io::ErrorKind::Interrupted => {
                self.call.handle_timeout(Instant::now())
            }
            Err(e) => match tls_failure(&e) {
                Some(message) => self
                    .call
                    .connect_failed(Error::msg(ErrorKind::Tls, message), Instant::now()),
                None => self.call.io_failed(e, Instant::now()),
            },
        }
    }

    /// The connection's part is over: pool it if the call says it may be reused (idle from
    /// `now`), else close it and free its slot.
    fn finish(&mut self, now: Instant) {
        let conn = self.call.take_connection();
        let Some(key) = self.slot.take() else {
            self.stream = None;
            return;
        };
        match (conn, self.stream.take(), self.remote) {
            (Some(conn), Some(stream), remote) => {
                self.client.pool.checkin(
                    &key,
                    Idle {
                        conn,
                        stream,
                        remote,
                        recording: self.recording.take(),
                    },
                    now,
                );
            }
            _ => self.client.pool.release(&key),
        }
    }
}

impl Drop for Exchange {
    /// A response dropped before its end: reuse the connection only if the rest of the body
    /// had already arrived; otherwise close it.
    fn drop(&mut self) {
        if self.slot.is_some() {
            self.call.finish_buffered();
            self.finish(Instant::now());
        }
    }
}

/// The connection's stream, for a read. Once no more of the request will be sent (the server
/// answered before taking it whole), what TLS still holds of it is dropped first: the read
/// would otherwise write it, to a server that may read no more.
fn stream_to_read<'a>(stream: &'a mut Option<Stream>, call: &Call) -> &'a mut Stream {
    let stream = stream.as_mut().expect("connected");
    if call.request_cut_short() {
        stream.drop_unsent();
    }
    stream
}
