//! The response half of [`Connection`]: input in, events out.

use super::*;

/// A read sized for the framing between two chunks (CRLF, a size line, a short extension).
const FRAMING_READ: usize = 64;

/// The read size of a new connection, see [`Connection::read_len`].
pub(super) const INITIAL_READ: usize = 8 * 1024;

/// The largest read size [`Connection::read_len`] grows to.
const MAX_READ: usize = 64 * 1024;

/// The transmit buffer an idle connection keeps (room for a usual request head).
pub(super) const IDLE_TRANSMIT: usize = 8 * 1024;

impl Connection {
    /// Adds received bytes. Then drain [`poll_event`](Self::poll_event).
    ///
    /// Bytes after an error are ignored. To avoid this copy, read straight into
    /// [`input_buffer`](Self::input_buffer) instead.
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.error.is_none() {
            self.received.extend(data);
        }
    }

    /// A buffer of at least `min` bytes to read the socket into; then call
    /// [`commit_input`](Self::commit_input) with the count read.
    pub fn input_buffer(&mut self, min: usize) -> &mut [u8] {
        self.received.spare(min.max(1))
    }

    /// Adds `n` bytes written into [`input_buffer`](Self::input_buffer).
    ///
    /// # Panics
    /// If `n` is more than that buffer's length.
    pub fn commit_input(&mut self, n: usize) {
        self.received.commit(n);
        if n >= self.read_size {
            self.read_size = (self.read_size * 2).min(MAX_READ);
        }
    }

    /// How many body bytes the driver may read from the socket straight into its caller's
    /// buffer, skipping [`input_buffer`](Self::input_buffer): the rest of a `Content-Length`
    /// body or of the current chunk's data (unbounded for a body delimited by close), when
    /// nothing is buffered. 0 means read into [`input_buffer`](Self::input_buffer).
    ///
    /// Bytes read this way are body data as they stand: report them with
    /// [`commit_direct_body`](Self::commit_direct_body) instead of
    /// [`commit_input`](Self::commit_input), and do not expect them as [`Event::Data`].
    pub fn direct_body_len(&self) -> u64 {
        if self.error.is_some() || self.eof || !self.received.is_empty() {
            return 0;
        }
        match &self.recv {
            Recv::Length { remaining, .. } => *remaining,
            Recv::Chunked(decoder) => decoder.data_ahead(),
            Recv::CloseDelimited => u64::MAX,
            _ => 0,
        }
    }

    /// How many bytes of framing follow a direct read of `len` body bytes on the wire and
    /// may come with it (0: none): when `len` reaches the end of a large chunk's data, the
    /// CRLF and the next size line, if that line is as long as the current one. Such a read
    /// hands those bytes to [`commit_input`](Self::commit_input) after
    /// [`commit_direct_body`](Self::commit_direct_body), and the next chunk's data can again
    /// be read straight to the caller: one read per chunk, and no copy.
    pub fn framing_after_direct(&self, len: u64) -> usize {
        match &self.recv {
            Recv::Chunked(decoder) if len == self.direct_body_len() => decoder
                .framing_after_data()
                .map_or(0, |framing| framing.min(FRAMING_READ)),
            _ => 0,
        }
    }

    /// How many bytes to read into [`input_buffer`](Self::input_buffer) next, at most `max`:
    /// a short read when only a chunk's framing stands before the next large chunk's data (so
    /// that data can then be read straight to the caller instead of copied), else the
    /// connection's read size. The short read is the framing's length if the next size line
    /// is as long as the latest one (so no data byte comes with it), at most 64 bytes. That starts at 8 KiB and doubles, up to 64 KiB, each
    /// time a read fills it, so a connection that carries small responses keeps a small
    /// buffer and one that streams through it gets large reads. It starts over when an
    /// exchange grew the buffer past 64 KiB (see [`start_next_cycle`](Self::start_next_cycle)).
    pub fn read_len(&self, max: usize) -> usize {
        let framing = match &self.recv {
            Recv::Chunked(decoder) if self.received.is_empty() => {
                decoder.large_chunk_framing_ahead(FRAMING_READ)
            }
            _ => None,
        };
        match framing {
            // Just the framing when its length can be foretold: then no data byte comes
            // with it, and the whole next chunk goes straight to the caller.
            Some(framing) => framing.min(FRAMING_READ).min(max),
            None => self.read_size.min(max),
        }
    }

    /// `n` body bytes were read straight into the caller's buffer, as
    /// [`direct_body_len`](Self::direct_body_len) allowed.
    ///
    /// # Panics
    /// If `n` is more than [`direct_body_len`](Self::direct_body_len) allowed.
    pub fn commit_direct_body(&mut self, n: usize) {
        let n = n as u64;
        assert!(
            n <= self.direct_body_len(),
            "committed more body bytes than direct_body_len allowed"
        );
        match &mut self.recv {
            Recv::Length {
                remaining,
                received,
            } => {
                *remaining -= n;
                *received += n;
            }
            Recv::Chunked(decoder) => decoder.skip_data(n),
            _ => {} // close-delimited: nothing to count
        }
    }

    /// A read that went to the end of a chunk's data and took the framing after it (see
    /// [`framing_after_direct`](Self::framing_after_direct)) went on with the bytes `after`,
    /// put in the caller's buffer right after that chunk's data. Once the framing is
    /// committed with [`commit_input`](Self::commit_input), this says how many of them, from
    /// the start, are the next chunk's data, taken as if by
    /// [`commit_direct_body`](Self::commit_direct_body): all of them, up to that chunk's
    /// size, when the framing was exactly what it was foretold to be; else none. The rest is
    /// the connection's input and is copied in as by [`handle_input`](Self::handle_input):
    /// the driver only drops it from the caller's buffer.
    ///
    /// So one read can span a chunk boundary and still copy no body byte.
    pub fn commit_direct_more(&mut self, after: &[u8]) -> usize {
        let mut taken = 0;
        if let Recv::Chunked(decoder) = &mut self.recv
            && decoder.take_exact_framing(self.received.data())
        {
            self.received.consume(self.received.len());
            taken = decoder.data_ahead().min(after.len() as u64);
            decoder.skip_data(taken);
        }
        let taken = taken as usize;
        self.handle_input(&after[taken..]);
        taken
    }

    /// Tells the engine the server closed its side (a read returned 0 bytes).
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// Tells the engine the server's side ended without the notice that marks a deliberate
    /// end: TLS without close_notify (rustls reports an `UnexpectedEof` error). Anyone on the
    /// path can forge such an end, so a body framed by the connection's end fails with
    /// [`RemoteError::UncleanEnd`] instead of ending; everything else is as for
    /// [`handle_eof`](Self::handle_eof) (a Content-Length or chunked body, whose framing shows
    /// a cut, fails or ends by it).
    pub fn handle_unclean_eof(&mut self) {
        self.eof = true;
        self.unclean_eof = true;
    }

    /// Whether the server has closed its side.
    pub fn is_closed_by_peer(&self) -> bool {
        self.eof
    }

    /// Whether received bytes wait to be turned into events.
    pub fn has_input(&self) -> bool {
        !self.received.is_empty()
    }

    /// The next response event, or `None` when more input (or EOF) is needed, or when the
    /// response is over. `Data` is as long as the buffered bytes allow.
    ///
    /// Events come in this order: `Interim`*, `Response`, then `Data`*, `Trailers`?,
    /// `EndOfMessage` — or `Upgraded` right after `Response`. Errors are fatal and repeat.
    pub fn poll_event(&mut self) -> Result<Option<Event<'_>>, Error> {
        self.poll_event_max(usize::MAX)
    }

    /// Like [`poll_event`](Self::poll_event), with `Data` at most `max_data` bytes long (so a
    /// driver can copy it straight into its caller's buffer).
    pub fn poll_event_max(&mut self, max_data: usize) -> Result<Option<Event<'_>>, Error> {
        Ok(self.poll_output(max_data)?.map(|output| match output {
            Output::Interim(head) => Event::Interim(head),
            Output::Response(head) => Event::Response(head),
            Output::Data(range) => Event::Data(self.received.raw(range)),
            Output::Trailers(trailers) => Event::Trailers(trailers),
            Output::End => Event::EndOfMessage,
            Output::Upgraded => Event::Upgraded,
        }))
    }

    /// [`poll_event_max`](Self::poll_event_max) with body data as a range for
    /// [`output_data`](Self::output_data), so a caller can loop without holding a borrow.
    pub(crate) fn poll_output(&mut self, max_data: usize) -> Result<Option<Output>, Error> {
        self.check()?;
        match self.next_output(max_data.max(1)) {
            Ok(output) => Ok(output),
            Err(e) => self.fail(e),
        }
    }

    /// The bytes of an `Output::Data` range; valid until the next input.
    pub(crate) fn output_data(&self, range: std::ops::Range<usize>) -> &[u8] {
        self.received.raw(range)
    }

    fn next_output(&mut self, max_data: usize) -> Result<Option<Output>, RemoteError> {
        match &mut self.recv {
            Recv::Idle if !self.received.is_empty() => Err(RemoteError::UnexpectedData {
                len: self.received.len(),
            }),
            Recv::Idle | Recv::Done => Ok(None),
            Recv::Head(scanner) => {
                if scanner.searched == 0
                    && !self.received.is_empty()
                    && let Some((len, head)) = parse_buffered(self.received.data(), &self.limits)
                {
                    let head = head?;
                    self.received.consume(len);
                    return self.on_head(head).map(Some);
                }
                let Some(found) = scanner.scan(self.received.data(), &self.limits)? else {
                    return match (self.eof, self.received.len()) {
                        (false, _) => Ok(None),
                        (true, 0) if self.interim == 0 => Err(RemoteError::ClosedBeforeResponse),
                        (true, received) => Err(RemoteError::IncompleteHead { received }),
                    };
                };
                let head = parse_head(&self.received.data()[..found.len], found.header_lines)?;
                self.received.consume(found.len);
                self.on_head(head).map(Some)
            }
            Recv::Length { remaining: 0, .. } => self.finish(),
            Recv::Length {
                remaining,
                received,
            } => {
                let available = self.received.len() as u64;
                if available == 0 {
                    if self.eof {
                        let expected = *received + *remaining;
                        return Err(RemoteError::IncompleteBody {
                            received: *received,
                            expected,
                        });
                    }
                    return Ok(None);
                }
                let n = available.min(*remaining).min(max_data as u64);
                *remaining -= n;
                *received += n;
                Ok(Some(Output::Data(self.received.take(n as usize))))
            }
            Recv::Chunked(decoder) => {
                let start = self.received.start();
                let (used, decoded) = decoder.decode(self.received.data(), max_data)?;
                self.received.consume(used);
                match decoded {
                    Some(Decoded::Data(range)) => {
                        Ok(Some(Output::Data(start + range.start..start + range.end)))
                    }
                    Some(Decoded::End(trailers)) if trailers.is_empty() => self.finish(),
                    Some(Decoded::End(trailers)) => {
                        self.recv = Recv::End;
                        Ok(Some(Output::Trailers(trailers)))
                    }
                    None if self.eof => Err(decoder
                        .eof_error()
                        .unwrap_or(RemoteError::ClosedBeforeResponse)),
                    None => Ok(None),
                }
            }
            Recv::CloseDelimited => match self.received.len() {
                0 if self.unclean_eof => Err(RemoteError::UncleanEnd),
                0 if self.eof => self.finish(),
                0 => Ok(None),
                n => Ok(Some(Output::Data(self.received.take(n.min(max_data))))),
            },
            Recv::End => self.finish(),
            Recv::Upgraded { announced: false } => {
                self.recv = Recv::Upgraded { announced: true };
                Ok(Some(Output::Upgraded))
            }
            Recv::Upgraded { announced: true } => Ok(None),
        }
    }

    /// A complete head arrived: an interim response, or the final one that decides framing.
    fn on_head(&mut self, head: ResponseHead) -> Result<Output, RemoteError> {
        let status = head.status();
        if status.is_informational() && status != http::StatusCode::SWITCHING_PROTOCOLS {
            self.interim += 1;
            if self.interim > self.limits.max_interim_responses {
                return Err(RemoteError::TooManyInterimResponses {
                    limit: self.limits.max_interim_responses,
                });
            }
            if let (http::StatusCode::CONTINUE, Send::ExpectingContinue { writer, .. }) =
                (status, self.send)
            {
                self.send = Send::Body(writer);
            }
            self.recv = Recv::Head(HeadScanner::default());
            return Ok(Output::Interim(head));
        }
        if status == http::StatusCode::SWITCHING_PROTOCOLS && !self.request.wants_upgrade {
            return Err(RemoteError::UnexpectedSwitchingProtocols);
        }
        let decision = framing::decide(self.request, &head)?;
        self.close = decision.close;
        self.framing = Some(decision.framing);
        self.server_idle_timeout = head.facts.keep_alive_timeout;
        match self.send {
            Send::ExpectingContinue { .. } => {
                // RFC 9110 §10.1.1: the server decided without the body; it is not sent, and
                // the connection cannot carry another request after a promised body went
                // missing.
                self.send = Send::Cancelled;
                self.body_withheld = true;
                self.close = Some("the server answered before the request body was sent");
            }
            Send::Cancelled => self.close = Some(super::ABANDONED),
            _ => {}
        }
        self.recv = match decision.framing {
            BodyFraming::None | BodyFraming::Length(0) => Recv::End,
            BodyFraming::Length(n) => Recv::Length {
                remaining: n,
                received: 0,
            },
            BodyFraming::Chunked => Recv::Chunked(Box::new(ChunkedDecoder::new(&self.limits))),
            BodyFraming::CloseDelimited => Recv::CloseDelimited,
            BodyFraming::Upgraded => Recv::Upgraded { announced: false },
        };
        Ok(Output::Response(head))
    }

    fn finish(&mut self) -> Result<Option<Output>, RemoteError> {
        self.recv = Recv::Done;
        Ok(Some(Output::End))
    }

    /// How the current response's body is framed, once its final head has arrived.
    pub fn body_framing(&self) -> Option<BodyFraming> {
        self.framing
    }

    /// How long the server said it keeps this connection open while idle, in the last final
    /// response's `Keep-Alive: timeout=N` (as Apache, Node.js and nginx send): a pool should
    /// not reuse the connection near that time, when the server may be closing it just as a
    /// request goes out. `None` when the response gave no such hint.
    pub fn server_idle_timeout(&self) -> Option<std::time::Duration> {
        self.server_idle_timeout.map(std::time::Duration::from_secs)
    }

    /// Whether the response is complete (`EndOfMessage` was returned).
    pub fn is_response_complete(&self) -> bool {
        matches!(self.recv, Recv::Done)
    }

    /// Whether the exchange is over and the connection may carry another one: both halves
    /// done, keep-alive allowed by framing and headers, no extra bytes received, the server
    /// has not closed, and no error.
    pub fn is_reusable(&self) -> bool {
        self.not_reusable_because().is_none()
    }

    /// Why [`is_reusable`](Self::is_reusable) is false, in words for a log (`None` when it is
    /// true): an error, the server closed, the headers or framing end the connection, the
    /// exchange is not over, or the server sent bytes beyond the response.
    pub fn not_reusable_because(&self) -> Option<&'static str> {
        if self.error.is_some() {
            return Some("the exchange failed");
        }
        if self.eof {
            return Some("the server closed it");
        }
        if let Some(reason) = self.close {
            return Some(reason);
        }
        if !matches!((self.send, &self.recv), (Send::Done, Recv::Done))
            || self.poll_transmit().is_some()
        {
            return Some("the exchange is not over");
        }
        if !self.received.is_empty() {
            return Some("the server sent bytes beyond the response");
        }
        None
    }

    /// Returns a reusable connection to `Idle` for the next request, giving back buffer space
    /// a large response or request body grew (an idle connection holds a few KiB). Fails
    /// with [`LocalError::WrongState`] (fatal) if [`is_reusable`](Self::is_reusable) is false.
    pub fn start_next_cycle(&mut self) -> Result<(), Error> {
        self.check()?;
        if !self.is_reusable() {
            return self.wrong_state("start_next_cycle", "the connection is not reusable");
        }
        self.send = Send::Idle;
        self.recv = Recv::Idle;
        self.request = RequestFacts::default();
        self.close = None;
        self.framing = None;
        self.interim = 0;
        // An idle connection keeps small buffers: what a large response or body grew is
        // given back (the next large transfer grows it again), and reads start small. A
        // buffer one read fills (a large head) is kept, not regrown for every response.
        if self.received.release_if_larger(MAX_READ) {
            self.read_size = INITIAL_READ;
        }
        if !self.room.is_empty() {
            self.room = Vec::new();
        }
        if self.transmit.capacity() > IDLE_TRANSMIT {
            self.transmit = Vec::new();
        }
        Ok(())
    }

    /// Takes the received bytes not consumed yet. After [`Event::Upgraded`] they are the
    /// first bytes of the new protocol (the tunnel, the upgraded stream).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        self.received.take_all()
    }

    /// The error that stopped this connection, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}
