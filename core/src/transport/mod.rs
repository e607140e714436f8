//! Transports: where a request's bytes go instead of (or as well as) a socket.
//!
//! As requests' `Session.mount` and httpx's `mounts`, a client may route the URLs matching a
//! pattern to another transport: a mock that answers from a function, a replay of a
//! recording, a Unix socket. The drivers own the transports and their I/O; this module holds
//! the pure parts both drivers share, so a mock or a recording behaves the same in either:
//!
//! - [`MountPattern`] and [`Mounts`]: which transport a URL goes to (httpx's patterns and
//!   priority).
//! - [`MockServerConnection`]: the server half of HTTP/1.1 over bytes. It reads the
//!   [`MockRequest`]s the client writes and writes the [`MockResponse`]s a handler returns, so
//!   a mock transport needs no socket and the client's whole wire protocol is exercised.
//! - [`Recorder`] and [`Replayer`]: the exact bytes of each connection saved as a
//!   [`Recording`] (JSON) and played back through [`ReplayConnection`]s, checking that the
//!   client writes what it wrote before.
//!
//! Everything here works at the sans-IO boundary, on the bytes duet-core's
//! [`Connection`](crate::Connection) transmits and receives (above TLS): a transport is a
//! byte stream to a driver, so these plug in where a socket would.
//!
//! ## A driver's mock transport
//!
//! 1. On "open a connection", pick the transport with [`Mounts::select`]; for a mock, make a
//!    [`MockServerConnection`] (with the origin's scheme) instead of a socket.
//! 2. On a write: [`MockServerConnection::handle_input`], then take each
//!    [`MockServerConnection::poll_request`] to the handler and give its answer to
//!    [`MockServerConnection::respond`]; when none is complete but
//!    [`MockServerConnection::wants_continue`], call [`MockServerConnection::send_continue`].
//! 3. On a read: [`MockServerConnection::poll_output`]; nothing there and
//!    [`MockServerConnection::is_closed`] is end of file.
//!
//! ## A driver's recording and replaying transports
//!
//! 1. Record: on each connection opened, [`Recorder::connection`] with the origin; report
//!    every write ([`ConnectionRecorder::sent`]), read ([`ConnectionRecorder::received`]) and
//!    end of file ([`ConnectionRecorder::closed`]); save [`Recorder::recording`] with
//!    [`Recording::to_json`].
//! 2. Replay: load with [`Recording::from_json`] into a [`Replayer`]; on each connection
//!    opened, [`Replayer::connection`]; pass writes to [`ReplayConnection::handle_written`];
//!    serve reads from [`ReplayConnection::poll_read`], end of file once
//!    [`ReplayConnection::is_eof`].
//!
//! ```
//! use duet_core::transport::{MockResponse, MockServerConnection, Recorder, Recording, Replayer};
//!
//! // Record one exchange with a mock server...
//! let recorder = Recorder::new();
//! let wire = recorder.connection("http://example.com:80");
//! let request = b"GET /hi HTTP/1.1\r\nHost: example.com\r\n\r\n";
//! let mut server = MockServerConnection::new();
//! server.handle_input(request);
//! wire.sent(request);
//! let got = server.poll_request().unwrap().unwrap();
//! server.respond(&got, &MockResponse::new(200).text("hello"));
//! let response = server.poll_output().unwrap();
//! wire.received(&response);
//! let json = recorder.recording().to_json();
//!
//! // ...and replay it without the server.
//! let replayer = Replayer::new(Recording::from_json(&json).unwrap());
//! let mut replay = replayer.connection("http://example.com:80").unwrap();
//! assert_eq!(replay.poll_read(), None); // nothing before the request is written
//! replay.handle_written(&request[..10]).unwrap();
//! replay.handle_written(&request[10..]).unwrap();
//! assert_eq!(replay.poll_read(), Some(response));
//! assert!(replayer.connection("http://example.com:80").is_err());
//! ```

mod message;
mod mock;
mod mount;
mod record;
mod replay;
#[cfg(test)]
mod tests;

pub use message::{MockRequest, MockResponse};
pub use mock::{MockError, MockServerConnection};
pub use mount::{MountError, MountPattern, Mounts};
pub use record::{
    ConnectionRecorder, FORMAT_VERSION, RecordError, RecordedConnection, RecordedEvent, Recorder,
    Recording,
};
pub use replay::{ReplayConnection, Replayer};
