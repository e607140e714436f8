//! The client side of one HTTP/1.1 connection, as a state machine with no I/O.
//!
//! # Theory of operation
//!
//! A connection carries one exchange at a time (no pipelining). An exchange has two halves
//! that move independently, because a server may answer before the request body is sent:
//!
//! ```text
//!  send:  Idle ──send_request──▶ ExpectingContinue ──100 / deadline──▶ Body ──send_end──▶ Done
//!                      │                  └──final response first──▶ Cancelled
//!                      └──(no Expect)──────────────────────────────▶ Body
//!         (any but Idle) ──abandon_request (the server stopped reading)──▶ Cancelled
//!
//!  recv:  Idle ──send_request──▶ Head ──1xx──▶ Head ... ──final──▶ Body ──▶ End ──▶ Done
//!                                                              └──▶ Upgraded (CONNECT 2xx, 101)
//! ```
//!
//! Everything that changes these states is in this file: the `send_*` calls and the receive
//! loop in [`Connection::poll_event`]. What the body framing of a response is, and whether the
//! connection survives it, is decided once, in [`crate::framing`], when the final head arrives.
//!
//! Received bytes normally go through the receive buffer ([`Connection::input_buffer`]) and
//! come out as events. Body bytes with no framing in between (the rest of a `Content-Length`
//! body, the rest of a chunk) may instead be read straight into the caller's buffer when
//! nothing is buffered ([`Connection::direct_body_len`]); the decoder only counts them. How
//! much to read into the buffer is [`Connection::read_len`]'s call.
//!
//! Request body bytes are queued behind the head three ways: copied ([`Connection::send_body`]),
//! read by the driver straight into the connection's room ([`Connection::body_room`]), or
//! handed over in a shared buffer ([`Connection::send_body_shared`]). Either of the last two
//! goes out uncopied; whatever is queued after it keeps the order.
//!
//! When both halves are `Done`, the connection is reusable if framing and headers allow it,
//! no byte arrived beyond the response, the server has not closed, and no error happened; then
//! [`Connection::start_next_cycle`] returns both halves to `Idle`. Any error is sticky: every
//! later call returns it, and the connection is never reusable.

use std::time::Instant;

use bytes::{Buf, Bytes};

use crate::buffer::ReceiveBuffer;
use crate::chunked::{ChunkedDecoder, Decoded, push_chunk_start};
use crate::error::{Error, LocalError, RemoteError};
use crate::framing::{self, BodyFraming, RequestFacts};
use crate::headers::Headers;
use crate::limits::Limits;
use crate::request::{RequestBody, RequestHead};
use crate::response::{HeadScanner, ResponseHead, parse_buffered, parse_head};

/// What the response side produced; see [`Connection::poll_event`].
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An interim (1xx) response, such as `100 Continue` or `103 Early Hints`.
    Interim(ResponseHead),
    /// The final response head. Body events follow.
    Response(ResponseHead),
    /// Body bytes, already stripped of chunked framing. Valid until the next call.
    Data(&'a [u8]),
    /// The trailer fields of a chunked body; comes before `EndOfMessage`.
    Trailers(Headers),
    /// The response is complete.
    EndOfMessage,
    /// The connection now carries another protocol (a 2xx to CONNECT or a 101 to an
    /// `Upgrade`); [`Connection::take_buffered`] returns the bytes already received for it.
    Upgraded,
}

/// Where the request half of the exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendState {
    /// No request yet: call [`Connection::send_request`].
    Idle,
    /// `Expect: 100-continue` was sent; wait for input or [`Connection::poll_timeout`].
    ExpectingContinue,
    /// Send the body with [`Connection::send_body`] and finish with [`Connection::send_end`].
    Body,
    /// The request is completely queued.
    Done,
    /// The server answered before `100 Continue`, or the request could not be written to its
    /// end ([`Connection::abandon_request`]): no more of it is sent. The connection will not
    /// be reused.
    Cancelled,
}

/// Why a connection whose request was abandoned is not reused.
const ABANDONED: &str = "the request could not be sent to its end";

#[derive(Debug, Clone, Copy)]
enum BodyWriter {
    Length { declared: u64, sent: u64 },
    Chunked,
}

#[derive(Debug, Clone, Copy)]
enum Send {
    Idle,
    ExpectingContinue {
        /// `None`: a timeout beyond what `Instant` holds, so no deadline.
        deadline: Option<Instant>,
        writer: BodyWriter,
    },
    Body(BodyWriter),
    Done,
    Cancelled,
}

#[derive(Debug, Clone)]
enum Recv {
    Idle,
    Head(HeadScanner),
    Length {
        remaining: u64,
        received: u64,
    },
    Chunked(Box<ChunkedDecoder>),
    CloseDelimited,
    /// Trailers were delivered; `EndOfMessage` is next.
    End,
    Done,
    Upgraded {
        announced: bool,
    },
}

/// An event before it borrows from the receive buffer.
pub(crate) enum Output {
    Interim(ResponseHead),
    Response(ResponseHead),
    Data(std::ops::Range<usize>),
    Trailers(Headers),
    End,
    Upgraded,
}

/// The client side of an HTTP/1.1 connection, with no I/O: see the
/// [crate documentation](crate) for the driver's loop.
#[derive(Debug, Clone)]
pub struct Connection {
    limits: Limits,
    send: Send,
    recv: Recv,
    request: RequestFacts,
    /// Why the connection carries no other exchange after this one, by the response's framing
    /// and headers; `None`: it may.
    close: Option<&'static str>,
    framing: Option<BodyFraming>,
    /// The last final response's `Keep-Alive: timeout=N`, in seconds.
    server_idle_timeout: Option<u64>,
    interim: usize,
    received: ReceiveBuffer,
    /// How much to read at a time (see [`Connection::read_len`]).
    read_size: usize,
    transmit: Vec<u8>,
    transmitted: usize,
    /// Body bytes the driver wrote in place ([`Connection::body_room`]); they go out after
    /// `transmit`, so a streamed body is not copied a second time.
    room: Vec<u8>,
    /// `room[room_sent..room_filled]` is waiting to be written.
    room_filled: usize,
    room_sent: usize,
    /// How much room the driver was last given and has not filled yet.
    room_given: usize,
    /// A body piece the driver handed over whole ([`Connection::send_body_shared`]), still
    /// to be written after `transmit`: shared, not copied.
    shared: Bytes,
    /// A chunk went out of `room`; its closing CRLF is owed before the next chunk or the end.
    chunk_open: bool,
    /// The final response came while `100 Continue` was awaited: no body byte was sent.
    body_withheld: bool,
    eof: bool,
    /// The end came without the notice that it is deliberate ([`Connection::handle_unclean_eof`]).
    unclean_eof: bool,
    error: Option<Error>,
}

impl Default for Connection {
    fn default() -> Self {
        Connection::new(Limits::default())
    }
}

impl Connection {
    /// A fresh connection, ready for [`send_request`](Self::send_request).
    pub fn new(limits: Limits) -> Self {
        Connection {
            limits,
            send: Send::Idle,
            recv: Recv::Idle,
            request: RequestFacts::default(),
            close: None,
            framing: None,
            server_idle_timeout: None,
            interim: 0,
            received: ReceiveBuffer::default(),
            read_size: receive::INITIAL_READ,
            transmit: Vec::new(),
            transmitted: 0,
            room: Vec::new(),
            room_filled: 0,
            room_sent: 0,
            room_given: 0,
            shared: Bytes::new(),
            chunk_open: false,
            body_withheld: false,
            eof: false,
            unclean_eof: false,
            error: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn fail<T>(&mut self, error: impl Into<Error>) -> Result<T, Error> {
        // Sticky: the first error is the one every later call reports.
        Err(self.error.get_or_insert_with(|| error.into()).clone())
    }

    /// The error this connection already failed with, again. Checked on every step, so the
    /// usual answer (none) is inlined and the copy of an error kept out of line.
    #[inline]
    fn check(&self) -> Result<(), Error> {
        match &self.error {
            Some(e) => Err(failed_again(e)),
            None => Ok(()),
        }
    }

    fn wrong_state<T>(&mut self, operation: &'static str, state: &'static str) -> Result<T, Error> {
        self.fail(LocalError::WrongState { operation, state })
    }

    // ----- the request half -----

    /// Queues the request head for `body`. `now` starts the `100 Continue` wait when the
    /// head has `Expect: 100-continue` and a non-empty body.
    ///
    /// Allowed on a fresh connection or after [`start_next_cycle`](Self::start_next_cycle).
    /// Errors (all fatal): [`LocalError::MissingHost`], [`LocalError::DuplicateHost`],
    /// [`LocalError::ConflictingFraming`], [`LocalError::WrongState`].
    pub fn send_request(
        &mut self,
        head: &RequestHead,
        body: RequestBody,
        now: Instant,
    ) -> Result<(), Error> {
        self.check()?;
        if !matches!((self.send, &self.recv), (Send::Idle, Recv::Idle)) {
            return self.wrong_state("send_request", "an exchange is in progress");
        }
        if self.eof {
            return self.wrong_state("send_request", "the server has closed the connection");
        }
        self.request = match head.encode(body, &mut self.transmit) {
            Ok(facts) => facts,
            Err(e) => return self.fail(e),
        };
        self.room_given = 0;
        self.body_withheld = false;
        let writer = match body {
            RequestBody::None | RequestBody::Length(0) => None,
            RequestBody::Length(declared) => Some(BodyWriter::Length { declared, sent: 0 }),
            RequestBody::Chunked => Some(BodyWriter::Chunked),
        };
        self.send = match writer {
            None => Send::Done,
            Some(writer) if head.expects_continue() => Send::ExpectingContinue {
                deadline: now.checked_add(self.limits.expect_continue_timeout),
                writer,
            },
            Some(writer) => Send::Body(writer),
        };
        self.recv = Recv::Head(HeadScanner::default());
        Ok(())
    }

    /// Whether the final response came while `100 Continue` was awaited (RFC 9110 §10.1.1):
    /// none of the request body was sent, so a body that cannot be replayed is still whole
    /// and can go with the next request (after a 401, a 407 or a 307).
    pub fn body_withheld(&self) -> bool {
        self.body_withheld
    }

    /// Where the request half is; tells the driver whether to send body bytes now.
    pub fn send_state(&self) -> SendState {
        match self.send {
            Send::Idle => SendState::Idle,
            Send::ExpectingContinue { .. } => SendState::ExpectingContinue,
            Send::Body(_) => SendState::Body,
            Send::Done => SendState::Done,
            Send::Cancelled => SendState::Cancelled,
        }
    }

    /// Queues body bytes (framed as chunks for a chunked body), copying them. Allowed in
    /// [`SendState::Body`]. Errors (fatal): [`LocalError::BodyTooLong`],
    /// [`LocalError::WrongState`]. The copy can be skipped: see
    /// [`body_room`](Self::body_room) and [`send_body_shared`](Self::send_body_shared).
    pub fn send_body(&mut self, data: &[u8]) -> Result<(), Error> {
        self.admit_body(data.len(), "send_body")?;
        self.transmit.extend_from_slice(data);
        self.close_chunk(); // the data is queued, so its CRLF can follow at once
        Ok(())
    }

    /// Queues body bytes the driver already holds in a shared buffer, without copying them:
    /// they go out after what is queued (for a chunked body, after the chunk's size line).
    /// Same rules and errors as [`send_body`](Self::send_body).
    pub fn send_body_shared(&mut self, data: Bytes) -> Result<(), Error> {
        self.admit_body(data.len(), "send_body_shared")?;
        self.shared = data;
        Ok(())
    }

    /// Room for up to `max` body bytes, for the driver to read its source straight into;
    /// then [`body_filled`](Self::body_filled) says how many it wrote. Nothing is queued
    /// until then, so asking again (say, after a read that had to wait) is harmless. `None`
    /// outside [`SendState::Body`] or after an error.
    ///
    /// For a body of declared length the room is no larger than what is left of it, plus one
    /// byte: a source longer than declared still shows ([`LocalError::BodyTooLong`]).
    pub fn body_room(&mut self, max: usize) -> Option<&mut [u8]> {
        let max = match self.send {
            _ if self.error.is_some() => return None,
            Send::Body(BodyWriter::Length { declared, sent }) => {
                let left = usize::try_from(declared - sent).unwrap_or(usize::MAX);
                max.min(left.saturating_add(1))
            }
            Send::Body(BodyWriter::Chunked) => max,
            _ => return None,
        };
        self.settle_room();
        if self.room.len() < max {
            self.room.resize(max, 0); // once per exchange: later pieces reuse it
        }
        self.room_given = max;
        Some(&mut self.room[..max])
    }

    /// Queues the first `n` bytes of the last [`body_room`](Self::body_room) as body bytes.
    /// Errors (fatal): [`LocalError::BodyTooLong`], [`LocalError::WrongState`] (also when
    /// no room was asked for since the last piece, or `n` is more than it held).
    pub fn body_filled(&mut self, n: usize) -> Result<(), Error> {
        self.check()?;
        if n > std::mem::take(&mut self.room_given) {
            return self.wrong_state("body_filled", "no room for that many bytes was given");
        }
        self.admit_body(n, "body_filled")?;
        self.room_filled = n;
        self.room_sent = 0;
        Ok(())
    }

    /// Moves body bytes still waiting in the room behind the rest of `transmit`, so that
    /// what is queued next goes out after them. The drivers write everything before they
    /// queue more, so this copies only for a caller that queues ahead.
    fn settle_room(&mut self) {
        if self.room_sent < self.room_filled {
            let pending = &self.room[self.room_sent..self.room_filled];
            self.transmit.extend_from_slice(pending);
        }
        self.room_filled = 0;
        self.room_sent = 0;
        if !self.shared.is_empty() {
            self.transmit.extend_from_slice(&self.shared);
            self.shared.clear();
        }
    }

    /// Checks `len` more body bytes against the framing and, for a chunked body, queues the
    /// chunk's size line (the data and its CRLF follow).
    fn admit_body(&mut self, len: usize, operation: &'static str) -> Result<(), Error> {
        self.check()?;
        self.settle_room();
        let Send::Body(writer) = &mut self.send else {
            return self.wrong_state(operation, self.send_state().describe());
        };
        match writer {
            BodyWriter::Length { declared, sent } => {
                let attempted = *sent + len as u64;
                if attempted > *declared {
                    let declared = *declared;
                    return self.fail(LocalError::BodyTooLong {
                        declared,
                        attempted,
                    });
                }
                *sent = attempted;
            }
            BodyWriter::Chunked if len == 0 => {} // an empty chunk would end the body
            BodyWriter::Chunked => {
                self.close_chunk();
                push_chunk_start(&mut self.transmit, len);
                self.chunk_open = true;
            }
        }
        Ok(())
    }

    /// Queues the CRLF that ends a chunk whose data was queued.
    fn close_chunk(&mut self) {
        if std::mem::take(&mut self.chunk_open) {
            self.transmit.extend_from_slice(b"\r\n");
        }
    }

    /// Ends the request body, with trailer fields for a chunked body. A no-op when the
    /// request is already complete and `trailers` is `None`. Errors (fatal):
    /// [`LocalError::BodyTooShort`], [`LocalError::TrailersNeedChunked`], [`LocalError::WrongState`].
    pub fn send_end(&mut self, trailers: Option<&Headers>) -> Result<(), Error> {
        self.check()?;
        let has_trailers = trailers.is_some_and(|t| !t.is_empty());
        match self.send {
            Send::Body(BodyWriter::Length { .. }) | Send::Done if has_trailers => {
                self.fail(LocalError::TrailersNeedChunked)
            }
            Send::Body(BodyWriter::Length { declared, sent }) if sent < declared => {
                self.fail(LocalError::BodyTooShort { declared, sent })
            }
            Send::Body(BodyWriter::Length { .. }) | Send::Done => {
                self.send = Send::Done;
                Ok(())
            }
            Send::Body(BodyWriter::Chunked) => {
                self.settle_room();
                self.close_chunk();
                self.transmit.extend_from_slice(b"0\r\n");
                for (name, value) in trailers.into_iter().flat_map(Headers::iter) {
                    self.transmit.extend_from_slice(name.as_bytes());
                    self.transmit.extend_from_slice(b": ");
                    self.transmit.extend_from_slice(value);
                    self.transmit.extend_from_slice(b"\r\n");
                }
                self.transmit.extend_from_slice(b"\r\n");
                self.send = Send::Done;
                Ok(())
            }
            _ => self.wrong_state("send_end", self.send_state().describe()),
        }
    }

    /// Bytes waiting to be written to the socket, if any. After writing some, call
    /// [`advance_transmit`](Self::advance_transmit).
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        // At most one of `shared` and the room is pending: queuing more settles both.
        let pending = if self.transmitted < self.transmit.len() {
            &self.transmit[self.transmitted..]
        } else if !self.shared.is_empty() {
            &self.shared[..]
        } else {
            &self.room[self.room_sent..self.room_filled]
        };
        (!pending.is_empty()).then_some(pending)
    }

    /// The request cannot be written to its end: the server stopped reading (a reset, a
    /// broken pipe), perhaps after answering early, as a server refusing a large upload with
    /// 413 does. What is still queued is dropped and no more of the request is taken
    /// ([`SendState::Cancelled`]); a response that arrived can still be read. The connection
    /// is not reused.
    pub fn abandon_request(&mut self) {
        self.transmit.clear();
        self.transmitted = 0;
        self.shared = Bytes::new();
        self.room_sent = self.room_filled;
        self.room_given = 0;
        self.chunk_open = false;
        if !matches!(self.send, Send::Idle) {
            self.send = Send::Cancelled;
        }
        self.close = Some(ABANDONED);
    }

    /// Records that `n` bytes from [`poll_transmit`](Self::poll_transmit) were written.
    pub fn advance_transmit(&mut self, n: usize) {
        if self.transmitted < self.transmit.len() {
            self.transmitted = (self.transmitted + n).min(self.transmit.len());
            if self.transmitted == self.transmit.len() {
                self.transmit.clear();
                self.transmitted = 0;
            }
        } else if !self.shared.is_empty() {
            self.shared.advance(n.min(self.shared.len()));
        } else {
            self.room_sent = (self.room_sent + n).min(self.room_filled);
            if self.room_sent == self.room_filled {
                self.room_filled = 0;
                self.room_sent = 0;
            }
        }
    }

    /// When the driver must call [`handle_timeout`](Self::handle_timeout) if no input came:
    /// the end of the `100 Continue` wait.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.send {
            Send::ExpectingContinue { deadline, .. } => deadline,
            _ => None,
        }
    }

    /// Tells the engine the time is `now`; past the `100 Continue` deadline, the body may go.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Send::ExpectingContinue { deadline, writer } = self.send
            && deadline.is_some_and(|deadline| now >= deadline)
        {
            self.send = Send::Body(writer);
        }
    }
}

impl SendState {
    fn describe(self) -> &'static str {
        match self {
            SendState::Idle => "no request was sent",
            SendState::ExpectingContinue => "waiting for 100 Continue",
            SendState::Body => "the request body is being sent",
            SendState::Done => "the request is complete",
            SendState::Cancelled => "no more of the request is sent",
        }
    }
}

mod receive;

/// A copy of the error a connection failed with, for [`Connection::check`].
#[cold]
fn failed_again(e: &Error) -> Error {
    e.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(conn: &mut Connection, head: &RequestHead, body: RequestBody) {
        conn.send_request(head, body, crate::test_clock::t0())
            .unwrap();
    }

    fn put(conn: &mut Connection, body: u64) {
        let mut head = RequestHead::new(http::Method::PUT, "/").unwrap();
        head.headers_mut().append("Host", "example.test").unwrap();
        send(conn, &head, RequestBody::Length(body));
    }

    #[test]
    fn the_first_error_is_the_one_every_later_call_reports() {
        let limits = Limits {
            max_headers: 7,
            ..Limits::default()
        };
        let mut conn = Connection::new(limits.clone());
        assert_eq!(conn.limits(), &limits);
        put(&mut conn, 20);
        let first = Error::Local(LocalError::BodyTooShort {
            declared: 20,
            sent: 0,
        });
        assert_eq!(conn.send_end(None), Err(first.clone()));
        // body_filled without a room is a wrong state of its own, but the first error stands.
        assert_eq!(conn.body_filled(2), Err(first.clone()));
        assert_eq!(conn.send_body(b"x"), Err(first.clone()));
        assert!(
            conn.body_room(8).is_none(),
            "no room for a body once failed"
        );
        assert_eq!(conn.error(), Some(&first));
    }

    /// Writes all that is queued, as a driver would.
    fn write_all(conn: &mut Connection) {
        while let Some(n) = conn.poll_transmit().map(<[u8]>::len) {
            conn.advance_transmit(n);
        }
    }

    /// Reads `response` through the input buffer in reads as large as the connection asks.
    fn read_all(conn: &mut Connection, response: &[u8]) {
        let mut rest = response;
        while !rest.is_empty() {
            let want = conn.read_len(usize::MAX);
            let buf = conn.input_buffer(want);
            let n = want.min(buf.len()).min(rest.len());
            buf[..n].copy_from_slice(&rest[..n]);
            conn.commit_input(n);
            rest = &rest[n..];
            drain(conn);
        }
    }

    fn drain(conn: &mut Connection) {
        while let Some(event) = conn.poll_event().unwrap() {
            if event == Event::EndOfMessage {
                break;
            }
        }
    }

    #[test]
    fn an_abandoned_request_drops_what_is_queued_and_still_reads_the_answer() {
        let mut conn = Connection::default();
        put(&mut conn, 10);
        conn.send_body_shared(Bytes::from_static(b"abcd")).unwrap();
        let room = conn.body_room(16).unwrap();
        room[..3].copy_from_slice(b"efg");
        conn.body_filled(3).unwrap();
        assert!(conn.poll_transmit().is_some());
        conn.abandon_request();
        assert_eq!(conn.poll_transmit(), None, "nothing more goes out");
        assert_eq!(conn.send_state(), SendState::Cancelled);
        conn.handle_input(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\n\r\nbig");
        assert!(matches!(conn.poll_event(), Ok(Some(Event::Response(h))) if h.status() == 413));
        assert_eq!(conn.poll_event(), Ok(Some(Event::Data(b"big"))));
        assert_eq!(conn.poll_event(), Ok(Some(Event::EndOfMessage)));
        assert_eq!(
            conn.not_reusable_because(),
            Some("the request could not be sent to its end")
        );
    }

    #[test]
    fn an_idle_connection_gives_back_what_a_large_exchange_grew() {
        let mut conn = Connection::default();
        put(&mut conn, 200_000);
        let mut sent = 0;
        while sent < 200_000 {
            let room = conn.body_room(64 * 1024).unwrap();
            let n = room.len().min(200_000 - sent);
            conn.body_filled(n).unwrap();
            sent += n;
            write_all(&mut conn);
        }
        conn.send_end(None).unwrap();
        write_all(&mut conn);
        // Reads that fill the buffer grow the read size; then the rest of the response
        // arrives in one large piece (as a caller may hand it over).
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n";
        let mut response = head.to_vec();
        response.resize(head.len() + 300_000, b'x');
        read_all(&mut conn, &response[..40_000]);
        conn.handle_input(&response[40_000..]);
        drain(&mut conn);
        assert!(conn.received.room() > 200_000, "the input grew the buffer");
        assert!(conn.read_size > receive::INITIAL_READ);
        assert_eq!(conn.room.len(), 64 * 1024);

        conn.start_next_cycle().unwrap();
        assert_eq!(conn.received.room(), 0);
        assert_eq!(conn.read_size, receive::INITIAL_READ);
        assert!(conn.room.is_empty() && conn.room.capacity() == 0);
        assert!(conn.transmit.capacity() <= receive::IDLE_TRANSMIT);

        // Smaller exchanges keep their buffers from one cycle to the next, even one whose
        // head took a second, larger read.
        for pad in [10, 12_000] {
            put(&mut conn, 0);
            write_all(&mut conn);
            let response = format!(
                "HTTP/1.1 200 OK\r\nX-Pad: {}\r\nContent-Length: 2\r\n\r\nok",
                "p".repeat(pad)
            );
            read_all(&mut conn, response.as_bytes());
            let (room, read_size) = (conn.received.room(), conn.read_size);
            assert!(room > 0 && room <= 64 * 1024, "{pad}: {room}");
            conn.start_next_cycle().unwrap();
            assert_eq!(
                conn.received.room(),
                room,
                "{pad}: freed, to regrow each time"
            );
            assert_eq!(conn.read_size, read_size);
            assert!(
                conn.transmit.capacity() > 0,
                "{pad}: the transmit buffer is kept"
            );
        }
        // A GET with a header of `len` bytes, sent and answered, then the next cycle; the
        // transmit buffer's capacity while it was sent.
        let exchange = |conn: &mut Connection, len: usize| {
            let mut head = RequestHead::new(http::Method::GET, "/").unwrap();
            head.headers_mut().append("Host", "example.test").unwrap();
            head.headers_mut().append("X-Pad", "p".repeat(len)).unwrap();
            send(conn, &head, RequestBody::None);
            let grown = conn.transmit.capacity();
            write_all(conn);
            read_all(conn, b"HTTP/1.1 204 No Content\r\n\r\n");
            drain(conn);
            conn.start_next_cycle().unwrap();
            grown
        };
        // A head of a few KiB (cookies, tokens) keeps its buffer: an idle connection keeps
        // 8 KiB for the next head.
        exchange(&mut conn, 6_000);
        assert!(
            conn.transmit.capacity() >= 6_000,
            "a 6 KiB head's buffer is kept"
        );
        // A head larger than the transmit buffer an idle connection keeps grows it for one
        // exchange only.
        assert!(exchange(&mut conn, 20_000) > receive::IDLE_TRANSMIT);
        assert!(conn.transmit.capacity() <= receive::IDLE_TRANSMIT);
    }

    #[test]
    fn the_room_for_a_body_of_declared_length_is_what_is_left_plus_one() {
        let mut conn = Connection::default();
        put(&mut conn, 5);
        write_all(&mut conn);
        assert_eq!(conn.body_room(64 * 1024).unwrap().len(), 6);
        conn.body_filled(2).unwrap();
        write_all(&mut conn);
        assert_eq!(conn.body_room(64 * 1024).unwrap().len(), 4);
        assert_eq!(conn.body_room(2).unwrap().len(), 2, "never more than asked");
        conn.body_filled(2).unwrap();
        write_all(&mut conn);
        // One byte is left; the room's extra byte catches a source that runs on.
        assert_eq!(conn.body_room(64 * 1024).unwrap().len(), 2);
        assert_eq!(
            conn.body_filled(2).unwrap_err(),
            Error::from(LocalError::BodyTooLong {
                declared: 5,
                attempted: 6
            })
        );
        assert!(conn.room.len() < 64, "no 64 KiB room for a 5-byte body");
    }
}
