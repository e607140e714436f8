//! Built-in transports to mount with `ClientBuilder::mount`: Unix domain sockets, an
//! in-process mock answering from a function, and the replay of a recording.
//!
//! A mock and a replay speak for https themselves (no TLS runs over them); a Unix socket
//! carries TLS like TCP when the URL is https.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use duet_core::client::{Error, ErrorKind, Origin};
use duet_core::transport::{
    MockRequest, MockResponse, MockServerConnection, ReplayConnection, Replayer,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::transport::{Io, Transport};

/// Connects to a Unix domain socket at a path, whatever the URL's host.
///
/// ```no_run
/// # async fn run() -> Result<(), duet_async::Error> {
/// let client = duet_async::Client::builder()
///     .mount("http://docker/", std::sync::Arc::new(duet_async::transports::UnixSocket::new("/var/run/docker.sock")))
///     .build()?;
/// let version = client.get("http://docker/version").send().await?.text().await?;
/// # Ok(()) }
/// ```
#[cfg(unix)]
#[derive(Debug, Clone)]
pub struct UnixSocket {
    path: std::path::PathBuf,
}

#[cfg(unix)]
impl UnixSocket {
    /// The socket at `path`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        UnixSocket { path: path.into() }
    }
}

#[cfg(unix)]
impl Io for tokio::net::UnixStream {
    fn is_quiet(&self) -> bool {
        crate::transport::peek_would_block(self)
    }
}

#[cfg(unix)]
#[async_trait::async_trait]
impl Transport for UnixSocket {
    async fn connect(
        &self,
        _origin: &Origin,
        _deadline: Option<Instant>,
    ) -> Result<Box<dyn Io>, Error> {
        let stream = tokio::net::UnixStream::connect(&self.path)
            .await
            .map_err(|e| Error::msg(ErrorKind::Connect, format!("{}: {e}", self.path.display())))?;
        Ok(Box::new(stream))
    }
}

/// The function a [`MockTransport`] answers with.
pub type MockHandler = dyn Fn(&MockRequest) -> MockResponse + Send + Sync;

/// Answers every request from a function, with no socket: for your own tests.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), duet_async::Error> {
/// use std::sync::Arc;
/// use duet_async::core::transport::MockResponse;
/// use duet_async::transports::MockTransport;
///
/// let mock = MockTransport::new(|request| MockResponse::new(200).text(format!("you asked for {}", request.target)));
/// let client = duet_async::Client::builder().mount("all://", Arc::new(mock)).build()?;
/// assert_eq!(client.get("https://api.test/users").send().await?.text().await?, "you asked for /users");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockTransport {
    handler: Arc<MockHandler>,
}

impl MockTransport {
    /// A mock answering with `handler`.
    pub fn new(handler: impl Fn(&MockRequest) -> MockResponse + Send + Sync + 'static) -> Self {
        MockTransport {
            handler: Arc::new(handler),
        }
    }
}

impl fmt::Debug for MockTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MockTransport")
    }
}

#[async_trait::async_trait]
impl Transport for MockTransport {
    async fn connect(
        &self,
        origin: &Origin,
        _deadline: Option<Instant>,
    ) -> Result<Box<dyn Io>, Error> {
        let server = MockServerConnection::new().with_scheme(origin.scheme());
        Ok(Box::new(MockStream {
            server,
            handler: self.handler.clone(),
            output: VecDeque::new(),
        }))
    }

    fn handles_tls(&self) -> bool {
        true
    }
}

/// One connection to a [`MockTransport`]: writes are parsed as requests, answers are read.
/// Always ready: it answers as soon as a request is complete.
struct MockStream {
    server: MockServerConnection,
    handler: Arc<MockHandler>,
    output: VecDeque<u8>,
}

impl fmt::Debug for MockStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MockStream")
    }
}

/// Moves bytes from `queue` into `buf`.
fn drain_into(queue: &mut VecDeque<u8>, buf: &mut ReadBuf<'_>) {
    let n = buf.remaining().min(queue.len());
    let bytes: Vec<u8> = queue.drain(..n).collect();
    buf.put_slice(&bytes);
}

impl AsyncRead for MockStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        while let Some(bytes) = this.server.poll_output() {
            this.output.extend(bytes);
        }
        if this.output.is_empty() && !this.server.is_closed() {
            let error = io::Error::new(
                io::ErrorKind::TimedOut,
                "the mock has nothing to answer yet",
            );
            return Poll::Ready(Err(error));
        }
        drain_into(&mut this.output, buf);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MockStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.server.handle_input(buf);
        loop {
            match this.server.poll_request() {
                Ok(Some(request)) => {
                    let response = (this.handler)(&request);
                    this.server.respond(&request, &response);
                }
                Ok(None) if this.server.wants_continue() => this.server.send_continue(),
                Ok(None) => break,
                Err(e) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        e.to_string(),
                    )));
                }
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Io for MockStream {}

/// Plays back a recording made with `ClientBuilder::record`: each connection to an origin
/// gets the next recorded connection to it; what the client writes must match the recording
/// byte for byte, and the recorded answers are read back. Recordings are the same for both
/// clients, so either can replay what the other recorded.
#[derive(Debug, Clone)]
pub struct ReplayTransport {
    replayer: Replayer,
}

impl ReplayTransport {
    /// Replays `replayer`'s recording.
    pub fn new(replayer: Replayer) -> Self {
        ReplayTransport { replayer }
    }
}

#[async_trait::async_trait]
impl Transport for ReplayTransport {
    async fn connect(
        &self,
        origin: &Origin,
        _deadline: Option<Instant>,
    ) -> Result<Box<dyn Io>, Error> {
        let connection = self
            .replayer
            .connection(&origin.to_string())
            .map_err(|e| Error::new(ErrorKind::Connect, e))?;
        Ok(Box::new(ReplayStream {
            connection,
            pending: VecDeque::new(),
        }))
    }

    fn handles_tls(&self) -> bool {
        true
    }
}

#[derive(Debug)]
struct ReplayStream {
    connection: ReplayConnection,
    /// Recorded bytes not read yet (a recorded chunk may exceed the reader's buffer).
    pending: VecDeque<u8>,
}

impl AsyncRead for ReplayStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pending.is_empty() {
            match this.connection.poll_read() {
                Some(bytes) => this.pending.extend(bytes),
                None if this.connection.is_eof() => return Poll::Ready(Ok(())),
                None => {
                    let error = io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the recording has nothing more to answer",
                    );
                    return Poll::Ready(Err(error));
                }
            }
        }
        drain_into(&mut this.pending, buf);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ReplayStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = self.connection.handle_written(buf);
        Poll::Ready(
            written
                .map(|()| buf.len())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        )
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Io for ReplayStream {}
