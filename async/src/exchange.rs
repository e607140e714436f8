//! Performing a [`Call`]'s actions over tokio sockets. Every decision is the call's; this
//! file only moves bytes, waits, and reports what happened.
//!
//! Cancellation: an exchange's future may be dropped at any `.await`. Nothing here needs
//! cleanup beyond [`Drop`], which never does I/O: the call knows how far the exchange got.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use sync_wrapper::SyncWrapper;

use crate::now;

use bytes::{BufMut, BytesMut};
use duet_core::client::{Action, Call, ConnectTo, Error, ErrorKind, PoolKey, ReceiveInto};
use duet_core::{Connection, ResponseHead};

use crate::body::BodySender;
use crate::client::Inner;
use crate::pool::{Acquired, Idle};
use crate::transport::{self, Stream, Timer, Wrote, is_timeout, tls_failure};
use duet_core::transport::ConnectionRecorder;

/// Bytes read from the socket at a time.
const READ_SIZE: usize = 64 * 1024;

/// Bytes read at a time from a server that answers while the request is going out.
const ANSWER_READ: usize = 8 * 1024;

/// The `max` that has [`Exchange::drive`] append the whole body rather than stop at the
/// first piece.
const WHOLE: usize = usize::MAX;

/// What [`Exchange::drive`] stopped for.
enum Step {
    Head(ResponseHead),
    /// Body bytes appended to the caller's buffer: that many, and the gap among them.
    Data(usize, Option<Gap>),
    End,
}

/// Bytes among those a read appended to the caller's buffer that are not body: the framing
/// between two chunks, `len` bytes from `at` (counted from where the read's bytes start),
/// with body bytes before and after it. Only [`Exchange::read_body_spanning`] leaves one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gap {
    pub at: usize,
    pub len: usize,
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
    /// The runtime whose I/O driver `stream` is registered with.
    runtime: Option<tokio::runtime::Id>,
    /// The deadline timer of the connection's waits (its lookup and connect, then its reads
    /// and writes), kept with it.
    timer: Timer,
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
            runtime: None,
            timer: Timer::default(),
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
    pub async fn send(&mut self) -> Result<ResponseHead, Error> {
        match self.drive(&mut BytesMut::new(), 0, false).await? {
            Step::Head(head) => Ok(head),
            Step::Data(..) | Step::End => Err(Error::msg(
                ErrorKind::Protocol,
                "the exchange ended without a response head",
            )),
        }
    }

    /// Appends at most `max` body bytes to `out`, returning how many; 0 at the end of the
    /// body (the connection then goes back to the pool when it can be reused).
    pub async fn read_body(&mut self, out: &mut BytesMut, max: usize) -> Result<usize, Error> {
        match self.drive(out, max, false).await? {
            Step::Data(n, _) => Ok(n),
            Step::End => Ok(0),
            Step::Head(_) => Err(Error::msg(ErrorKind::Protocol, "a second response head")),
        }
    }

    /// [`read_body`](Self::read_body) whose read may also span the end of one chunk and the
    /// start of the next, leaving the framing between them in `out` as a [`Gap`] for the
    /// caller to skip: so a chunked body arriving faster than it is read takes no more reads
    /// than one framed by its length, and no body byte is copied. The count is of body bytes
    /// (the gap not included; at most `max`, and `out` grows by the gap's length more).
    pub async fn read_body_spanning(
        &mut self,
        out: &mut BytesMut,
        max: usize,
    ) -> Result<(usize, Option<Gap>), Error> {
        match self.drive(out, max, true).await? {
            Step::Data(n, gap) => Ok((n, gap)),
            Step::End => Ok((0, None)),
            Step::Head(_) => Err(Error::msg(ErrorKind::Protocol, "a second response head")),
        }
    }

    /// Appends the rest of the body to `out`, to its end (the connection then goes back to
    /// the pool when it can be reused). Body bytes come through the engine's input buffer,
    /// so this suits bodies known to be small.
    pub async fn read_body_to_end(&mut self, out: &mut BytesMut) -> Result<(), Error> {
        match self.drive(out, WHOLE, false).await? {
            Step::End => Ok(()),
            Step::Head(_) => Err(Error::msg(ErrorKind::Protocol, "a second response head")),
            Step::Data(..) => unreachable!("a whole-body drive takes every piece"),
        }
    }

    /// Performs the call's actions until it has something for the caller: the response
    /// head, body bytes (at most `max`, appended to `out`), or the end of the body (with
    /// `max` [`WHOLE`], all of the body appended to `out` first). With `spanning`, a read
    /// may leave a [`Gap`] (see [`read_body_spanning`](Self::read_body_spanning)).
    async fn drive(
        &mut self,
        out: &mut BytesMut,
        max: usize,
        spanning: bool,
    ) -> Result<Step, Error> {
        loop {
            // One clock read per step, or a reading still current.
            let now = self.clock.take().unwrap_or_else(crate::now);
            // A statement of its own: inside the `match` the `?`'s temporary would be kept
            // across every await below, a second copy of the action in this future.
            let action = self.call.poll_action_max(now, max.max(1))?;
            match action {
                Action::Response(head) => return Ok(Step::Head(head)),
                Action::Data(data) if max == WHOLE => {
                    out.extend_from_slice(data);
                    // Nothing slow since this reading: the next step can use it.
                    self.clock = Some(now);
                }
                Action::Data(data) => {
                    let n = data.len().min(max);
                    out.extend_from_slice(&data[..n]);
                    return Ok(Step::Data(n, None));
                }
                Action::Finished | Action::Upgraded => {
                    self.finish(now);
                    return Ok(Step::End);
                }
                Action::Connect(to) => {
                    self.finish(now); // a previous hop's connection goes back to the pool
                    if to.restart_body {
                        self.body.get_mut().restart();
                    }
                    // (A `let`-`else`: the idle connection the pool may hand over is then
                    // not part of this future across the wait for a new one.)
                    let Some(idle) = self.client.pool.take_idle(&to, now) else {
                        // Boxed: waiting for a pool slot or opening a connection (resolving,
                        // TCP, TLS, a tunnel) is a large state machine, and inline it would
                        // make every request's future as large.
                        Box::pin(self.connect(to)).await?;
                        continue;
                    };
                    // At hand at once: the next step can use this clock reading.
                    self.clock = Some(now);
                    let conn = self.adopt(to.key, idle);
                    self.call.set_remote_addr(self.remote);
                    self.call.connected(Some(conn), now)?;
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
                        .write_by(bytes, deadline, listen, &mut self.timer)
                        .await;
                    match written {
                        Ok(Wrote::Bytes(n)) => {
                            if let Some(recording) = &self.recording {
                                recording.sent(&bytes[..n]);
                            }
                            self.call.transmitted(n);
                        }
                        Ok(Wrote::Answer) => self.take_answer().await?,
                        Err(e) => self.after_io(Err(e))?,
                    }
                }
                Action::SendBody => {
                    if let Some(sent) = self.body.get_mut().send_ready(&mut self.call) {
                        sent?;
                        continue;
                    }
                    // Boxed: reading a source is a large state machine, and inline it would
                    // make every request's future larger (past the allocator's fast path).
                    let deadline = self.call.body_deadline();
                    let send = Box::pin(self.body.get_mut().send_next(&mut self.call));
                    match deadline {
                        None => send.await?,
                        // The caller's source may stall; the request's deadline still holds.
                        Some(deadline) => {
                            match tokio::time::timeout_at(deadline.into(), send).await {
                                Ok(sent) => sent?,
                                Err(_elapsed) => self.call.handle_timeout(crate::now())?,
                            }
                        }
                    }
                }
                Action::RestartBody => self.body.get_mut().restart(),
                Action::StartTls { host } => {
                    let stream = self.stream.take().expect("connected");
                    let deadline = self.call.connect_deadline();
                    match Box::pin(self.origin_tls(stream, &host, deadline)).await {
                        Ok(tls) => self.stream = Some(tls),
                        Err(e) => return Err(self.call.fail_with(e)),
                    }
                }
                Action::Sleep { until } => {
                    // A retry's wait: the last attempt's connection is not kept through it.
                    self.finish(now);
                    tokio::time::sleep_until(until.into()).await
                }
                // Body bytes bound for the whole body go through the input buffer.
                Action::Receive { deadline } => match self
                    .call
                    .receive_into(if max == WHOLE { 0 } else { max }, READ_SIZE)
                {
                    ReceiveInto::Buffer(len) => self.receive(deadline, len).await?,
                    ReceiveInto::Caller { len, then, more } => {
                        // The framing takes room in `out` too: the read stays within `max`.
                        let more = if spanning {
                            more.saturating_sub(then)
                        } else {
                            0
                        };
                        let read = self.receive_direct(out, len, then, more, deadline).await?;
                        if let Some((n, gap)) = read {
                            return Ok(Step::Data(n, gap));
                        }
                    }
                },
                _ => return Err(Error::msg(ErrorKind::Io, "unsupported action")),
            }
        }
    }

    /// Connects as the call asks, when no idle connection was at hand: waits for one or for
    /// a slot to open one.
    async fn connect(&mut self, to: ConnectTo) -> Result<(), Error> {
        let opened = self.open(to).await;
        let now = crate::now();
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
        self.runtime = idle.runtime;
        self.timer = idle.timer;
        idle.conn
    }

    /// A pooled connection for `to`, or a new one (`None` for the engine's state).
    async fn open(&mut self, to: ConnectTo) -> Result<Option<Box<Connection>>, Error> {
        let pool_timeout = self.client.config.timeouts.pool;
        let acquired = self.client.pool.acquire(&to, pool_timeout).await?;
        match acquired {
            Acquired::Reuse(idle) => Ok(Some(self.adopt(to.key, idle))),
            Acquired::Open => {
                self.slot = Some(to.key.clone());
                let origin = &to.key.origin;
                let deadline = to.connect_deadline;
                let dial = &self.client.config.dial;
                let resolver = self.client.resolver.as_deref();
                let mounted = self.client.mounts.select(self.call.url()).cloned();
                let (stream, remote) = match mounted {
                    Some(mounted) => {
                        let stream = Stream::custom(mounted.connect(origin, deadline).await?);
                        let stream = match origin.is_tls() && !mounted.handles_tls() {
                            true => self.origin_tls(stream, origin.host(), deadline).await?,
                            false => stream,
                        };
                        (stream, None)
                    }
                    None => {
                        // Through a proxy, the engine then sets up the tunnel (CONNECT or
                        // SOCKS) over this stream.
                        let proxy = to.key.proxy.as_ref();
                        let (host, port) =
                            proxy.map_or((origin.host(), origin.port()), |p| (p.host(), p.port()));
                        let (stream, remote) = transport::connect_tcp(
                            host,
                            port,
                            deadline,
                            dial,
                            resolver,
                            &mut self.timer,
                        )
                        .await?;
                        let stream = match proxy {
                            None if origin.is_tls() => {
                                self.origin_tls(stream, origin.host(), deadline).await?
                            }
                            Some(proxy) if proxy.scheme().is_tls() => {
                                let tls = self.client.clone().tls_config(false).await?;
                                stream.start_tls(&tls, proxy.host(), deadline).await?
                            }
                            _ => stream,
                        };
                        if proxy.is_some() && to.resolve_origin {
                            let target = transport::resolve(
                                origin.host(),
                                origin.port(),
                                deadline,
                                dial,
                                resolver,
                                &mut self.timer,
                            )
                            .await?;
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
                    .map(|r| r.connection(&origin.to_string()));
                self.stream = Some(stream);
                self.remote = remote;
                self.runtime = crate::pool::current_runtime();
                Ok(None)
            }
        }
    }

    /// TLS with the origin `host` over `stream`, verified as this request asks. (The future
    /// does not hold `self`: an exchange is `Send`, not `Sync`.)
    fn origin_tls<'a>(
        &self,
        stream: Stream,
        host: &'a str,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<Stream, Error>> + Send + 'a {
        let tls = self.client.clone().tls_config(self.tls_flipped);
        async move { stream.start_tls(&tls.await?, host, deadline).await }
    }

    async fn receive(&mut self, deadline: Option<Instant>, len: usize) -> Result<(), Error> {
        let stream = stream_to_read(&mut self.stream, &self.call);
        let buf = &mut self.call.input_buffer(len)[..len];
        let read = stream.read_by(buf, deadline, &mut self.timer).await;
        if let (Ok(n), Some(recording)) = (&read, &self.recording) {
            recording.read(&buf[..*n]);
        }
        let outcome = read.map(|n| self.call.commit_read(n));
        self.after_io(outcome)
    }

    /// What the server sent while the request was still going out, read without waiting
    /// and handed to the call (which decides whether it ends the upload).
    async fn take_answer(&mut self) -> Result<(), Error> {
        let stream = self.stream.as_mut().expect("connected");
        let buf = &mut self.call.input_buffer(ANSWER_READ)[..ANSWER_READ];
        let read = stream.read_now(buf).await;
        if let (Ok(Some(n)), Some(recording)) = (&read, &self.recording) {
            recording.read(&buf[..*n]);
        }
        let outcome = read.map(|n| n.map_or((), |n| self.call.commit_read(n)));
        self.after_io(outcome)
    }

    /// Reads at most `len` body bytes straight onto the end of `out` (as the call allowed),
    /// and in the same read up to `then` bytes of the framing after them and then `more`
    /// bytes after that: framing goes to the call's input buffer, and what follows it, if it
    /// is the next chunk's data, stays in `out` behind a [`Gap`] where the framing was (else
    /// it goes to the input buffer too). `Some` body bytes and the gap, or `None` when there
    /// were none (end of stream, a timeout the call handled).
    async fn receive_direct(
        &mut self,
        out: &mut BytesMut,
        len: usize,
        then: usize,
        more: usize,
        deadline: Option<Instant>,
    ) -> Result<Option<(usize, Option<Gap>)>, Error> {
        let stream = stream_to_read(&mut self.stream, &self.call);
        let before = out.len();
        let most = len + then + more;
        out.reserve(most);
        let read = stream
            .read_buf_by(&mut (&mut *out).limit(most), deadline, &mut self.timer)
            .await;
        if let (Ok(n), Some(recording)) = (&read, &self.recording) {
            match n {
                0 => recording.closed(),
                _ => recording.received(&out[before..]),
            }
        }
        match read {
            Ok(0) => {
                self.call.handle_eof();
                Ok(None)
            }
            Ok(n) => {
                let body = n.min(len);
                self.call.commit_direct(body);
                if n == body {
                    return Ok(Some((body, None)));
                }
                let framing = (n - body).min(then);
                let at = before + body;
                self.call.input_buffer(framing)[..framing].copy_from_slice(&out[at..at + framing]);
                self.call.commit_input(framing);
                // What came after the framing is the next chunk's data as far as the call
                // says; it takes the rest as input.
                let taken = self.call.commit_direct_more(&out[at + framing..]);
                match taken {
                    0 => {
                        out.truncate(at);
                        Ok(Some((body, None)))
                    }
                    _ => {
                        out.truncate(at + framing + taken);
                        let gap = Gap {
                            at: body,
                            len: framing,
                        };
                        Ok(Some((body + taken, Some(gap))))
                    }
                }
            }
            Err(e) => self.after_io(Err(e)).map(|()| None),
        }
    }

    /// Reports an I/O outcome to the call: a passed deadline, a TLS failure, or an I/O error
    /// (which the call may answer with a retry on a fresh connection).
    fn after_io(&mut self, outcome: std::io::Result<()>) -> Result<(), Error> {
        match outcome {
            Ok(()) => Ok(()),
            Err(e) if is_timeout(&e) => self.call.handle_timeout(now()),
            Err(e) => match tls_failure(&e) {
                Some(message) => self
                    .call
                    .connect_failed(Error::msg(ErrorKind::Tls, message), now()),
                None => self.call.io_failed(e, now()),
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
                        runtime: self.runtime,
                        timer: std::mem::take(&mut self.timer),
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
            self.finish(now());
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
