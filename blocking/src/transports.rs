//! Built-in transports to mount with `ClientBuilder::mount`: Unix domain sockets, an
//! in-process mock answering from a function, and the replay of a recording.
//!
//! A mock and a replay speak for https themselves (no TLS runs over them); a Unix socket
//! carries TLS like TCP when the URL is https.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use duet_core::client::{Error, ErrorKind, Origin};
use duet_core::transport::{
    MockRequest, MockResponse, MockServerConnection, ReplayConnection, Replayer,
};

use crate::transport::{Io, Transport};

/// Connects to a Unix domain socket at a path, whatever the URL's host.
///
/// ```no_run
/// let client = duet_blocking::Client::builder()
///     .mount("http://docker/", std::sync::Arc::new(duet_blocking::transports::UnixSocket::new("/var/run/docker.sock")))
///     .build()?;
/// let version = client.get("http://docker/version").send()?.text()?;
/// # Ok::<(), duet_blocking::Error>(())
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
impl Io for std::os::unix::net::UnixStream {
    fn set_timeouts(
        &self,
        read: Option<std::time::Duration>,
        write: Option<std::time::Duration>,
    ) -> io::Result<()> {
        self.set_read_timeout(read)?;
        self.set_write_timeout(write)
    }

    fn is_quiet(&self) -> bool {
        crate::transport::peek_would_block(self)
    }
}

#[cfg(unix)]
impl Transport for UnixSocket {
    fn connect(&self, _origin: &Origin, _deadline: Option<Instant>) -> Result<Box<dyn Io>, Error> {
        let stream = std::os::unix::net::UnixStream::connect(&self.path)
            .map_err(|e| Error::msg(ErrorKind::Connect, format!("{}: {e}", self.path.display())))?;
        Ok(Box::new(stream))
    }
}

/// The function a [`MockTransport`] answers with.
pub type MockHandler = dyn Fn(&MockRequest) -> MockResponse + Send + Sync;

/// Answers every request from a function, with no socket: for your own tests.
///
/// ```
/// use std::sync::Arc;
/// use duet_blocking::core::transport::MockResponse;
/// use duet_blocking::transports::MockTransport;
///
/// let mock = MockTransport::new(|request| MockResponse::new(200).text(format!("you asked for {}", request.target)));
/// let client = duet_blocking::Client::builder().mount("all://", Arc::new(mock)).build()?;
/// assert_eq!(client.get("https://api.test/users").send()?.text()?, "you asked for /users");
/// # Ok::<(), duet_blocking::Error>(())
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

impl Transport for MockTransport {
    fn connect(&self, origin: &Origin, _deadline: Option<Instant>) -> Result<Box<dyn Io>, Error> {
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

impl Read for MockStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(bytes) = self.server.poll_output() {
            self.output.extend(bytes);
        }
        if self.output.is_empty() {
            if self.server.is_closed() {
                return Ok(0);
            }
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the mock has nothing to answer yet",
            ));
        }
        let n = buf.len().min(self.output.len());
        for (slot, byte) in buf.iter_mut().zip(self.output.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for MockStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.server.handle_input(buf);
        loop {
            match self.server.poll_request() {
                Ok(Some(request)) => {
                    let response = (self.handler)(&request);
                    self.server.respond(&request, &response);
                }
                Ok(None) if self.server.wants_continue() => self.server.send_continue(),
                Ok(None) => break,
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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

impl Transport for ReplayTransport {
    fn connect(&self, origin: &Origin, _deadline: Option<Instant>) -> Result<Box<dyn Io>, Error> {
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

impl Read for ReplayStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            match self.connection.poll_read() {
                Some(bytes) => self.pending.extend(bytes),
                None if self.connection.is_eof() => return Ok(0),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the recording has nothing more to answer",
                    ));
                }
            }
        }
        let n = buf.len().min(self.pending.len());
        for (slot, byte) in buf.iter_mut().zip(self.pending.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for ReplayStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.connection
            .handle_written(buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Io for ReplayStream {}
