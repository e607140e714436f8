//! Responses: status, headers, and the body as bytes, text, JSON, or a stream.
//!
//! The body is read by one async primitive, [`BodyReader::fill`]: make sure decoded bytes are
//! buffered, or report the end. `async fn`s ([`Response::chunk`], [`Response::bytes`]) await
//! it directly. Poll-based readers ([`AsyncRead`], the streams) cannot hold a borrowing
//! future between polls, so they move the reader into a boxed fill future and take it back
//! when the future completes; until then accessors that need the reader (trailers) see none.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use sync_wrapper::SyncWrapper;

use bytes::{Buf, Bytes, BytesMut};
use duet_core::client::{Call, Error, ErrorKind, ResponseInfo};
use duet_core::{ContentDecoder, Headers, ResponseHead};
use futures_util::Stream;
use tokio::io::{AsyncRead, ReadBuf};

use crate::exchange::{Exchange, Gap};

/// Raw bytes read at a time while decoding.
const DECODE_READ: usize = 16 * 1024;

/// The most bytes [`Response::chunk`] and [`Response::bytes_stream`] hand out at once.
const CHUNK: usize = 64 * 1024;

/// A fill in flight for a poll-based reader: it owns the body reader until it completes.
type FillFuture = Pin<Box<dyn Future<Output = (Box<BodyReader>, Result<bool, Error>)> + Send>>;

/// A response whose head has arrived; the body is read on demand.
///
/// `Response` implements [`AsyncRead`] (decoded body bytes). Errors read through it keep their
/// kind: `duet_async::Error::from_io` recovers them. Reading is cancel-safe: a dropped
/// [`chunk`](Self::chunk) or read loses no bytes.
pub struct Response {
    info: ResponseInfo,
    content_length: Option<u64>,
    /// The body reader; `None` while `filling` holds it.
    body: Option<Box<BodyReader>>,
    /// (Wrapped so that a response is `Sync`: the future is only ever polled through `&mut`.)
    filling: Option<SyncWrapper<FillFuture>>,
}

struct BodyReader {
    exchange: Exchange,
    decoder: Option<ContentDecoder>,
    /// Decoded bytes not handed out yet. Without a decoder the body is read straight into
    /// it, and handed out as pieces split off it (no copy).
    decoded: BytesMut,
    /// Bytes of `decoded` that are not body: a chunk's framing a read took between two
    /// chunks' data, skipped as the bytes before it are handed out. Never at 0.
    gap: Option<Gap>,
    /// Raw bytes read for the decoder.
    raw: BytesMut,
    /// The decoder's output before it joins `decoded`.
    scratch: Vec<u8>,
    /// Raw body bytes still to come, when the length is known (sizes the next read).
    raw_left: Option<u64>,
    done: bool,
}

impl Response {
    pub(crate) fn new(head: ResponseHead, exchange: Exchange) -> Result<Self, Error> {
        let decoder = exchange.call().content_decoder(&head)?;
        let info = ResponseInfo::new(head, exchange.call(), exchange.remote_addr());
        let content_length = exchange.call().body_length();
        let body = BodyReader {
            exchange,
            decoder,
            decoded: BytesMut::new(),
            gap: None,
            raw: BytesMut::new(),
            scratch: Vec::new(),
            raw_left: content_length,
            done: false,
        };
        Ok(Response {
            info,
            content_length,
            body: Some(Box::new(body)),
            filling: None,
        })
    }

    /// The body length announced by the server (before content decoding), if any.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The trailer fields of a chunked body, once it has been read to the end (`None` while
    /// a read through [`AsyncRead`] or a stream is pending).
    pub fn trailers(&self) -> Option<&Headers> {
        self.body.as_ref()?.exchange.call().trailers()
    }

    /// `Err` with [`ErrorKind::Status`] for a 4xx or 5xx status, else the response itself.
    pub fn error_for_status(self) -> Result<Self, Error> {
        match self.error_for_status_ref() {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }

    /// The whole (decoded) body.
    // Written as a block, not an `async fn`: that would keep a second copy of the response
    // in its future (likewise `text` and `json`).
    pub fn bytes(self) -> impl Future<Output = Result<Vec<u8>, Error>> + Send {
        let mut this = self;
        async move { this.read_all().await }
    }

    /// The whole body as text, decoded by the `Content-Type` charset (a BOM wins; UTF-8 when
    /// none is given); malformed sequences become U+FFFD.
    pub fn text(self) -> impl Future<Output = Result<String, Error>> + Send {
        self.text_with_charset("utf-8")
    }

    /// Like [`text`](Self::text), with `default` (an encoding label such as `iso-8859-1`) in
    /// place of UTF-8 when the `Content-Type` names no known charset (reqwest's
    /// `text_with_charset`). A BOM and a named charset still win.
    pub fn text_with_charset(
        self,
        default: &str,
    ) -> impl Future<Output = Result<String, Error>> + Send {
        let mut this = self;
        let default = default.to_owned();
        async move {
            let body = this.read_all().await?;
            let content_type = this.headers().get("content-type");
            Ok(duet_core::decode_text_with_default(&body, content_type, &default).0)
        }
    }

    /// The rest of the (decoded) body.
    async fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        if let (Some(body), None) = (&mut self.body, &self.filling)
            && body.decoder.is_none()
        {
            return body.read_to_end().await;
        }
        let mut out = Vec::with_capacity(self.content_length().unwrap_or(0).min(1 << 20) as usize);
        while self.fill().await? {
            out.extend_from_slice(&self.take_buffered(usize::MAX));
        }
        Ok(out)
    }

    /// The whole body parsed as JSON (UTF-8; a BOM is ignored and UTF-16 read, see
    /// [`duet_core::json_text`]).
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(
        self,
    ) -> impl Future<Output = Result<T, Error>> + Send {
        let mut this = self;
        async move {
            let body = this.read_all().await?;
            serde_json::from_slice(&duet_core::json_text(&body))
                .map_err(|e| Error::new(ErrorKind::Decode, e).with_url(this.info.url()))
        }
    }

    /// The next piece of the (decoded) body as it arrives, `None` at its end. Cancel-safe.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if !self.fill().await? {
            return Ok(None);
        }
        Ok(Some(self.take_buffered(CHUNK).freeze()))
    }

    /// The body as a stream of pieces as they arrive; ends after the first error.
    pub fn bytes_stream(mut self) -> impl Stream<Item = Result<Bytes, Error>> + Send + Unpin {
        let mut done = false;
        futures_util::stream::poll_fn(move |cx| {
            if done {
                return Poll::Ready(None);
            }
            let filled = ready!(self.poll_fill(cx));
            done = !matches!(filled, Ok(true));
            Poll::Ready(match filled {
                Ok(true) => Some(Ok(self.take_buffered(CHUNK).freeze())),
                Ok(false) => None,
                Err(e) => Some(Err(e)),
            })
        })
    }

    /// The body in pieces as they arrive (each at most `size` bytes), as a [`Stream`].
    pub fn chunks(self, size: usize) -> Chunks {
        Chunks {
            response: self,
            size: size.max(1),
            done: false,
        }
    }

    /// The body as lines of text (LF or CRLF endings removed), decoded by the charset, as a
    /// [`Stream`]. Line splitting assumes an ASCII-compatible charset (every one but UTF-16).
    pub fn lines(self) -> Lines {
        let content_type = self.headers().get("content-type").map(<[u8]>::to_vec);
        Lines {
            response: self,
            line: Vec::new(),
            content_type,
            done: false,
        }
    }

    /// Makes sure decoded bytes are buffered (`true`) or reports the end of the body.
    async fn fill(&mut self) -> Result<bool, Error> {
        match (&mut self.body, &self.filling) {
            (Some(body), None) => body.fill().await,
            _ => poll_fn(|cx| self.poll_fill(cx)).await,
        }
    }

    /// [`fill`](Self::fill) for poll-based readers, through a boxed future that owns the
    /// reader meanwhile.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Error>> {
        if !self.buffered().is_empty() {
            return Poll::Ready(Ok(true));
        }
        let filling = match &mut self.filling {
            Some(filling) => filling.get_mut(),
            None => {
                let Some(mut body) = self.body.take() else {
                    return Poll::Ready(Err(Error::msg(
                        ErrorKind::Io,
                        "the response body was lost to a panic",
                    )));
                };
                let fill = Box::pin(async move {
                    let filled = body.fill().await;
                    (body, filled)
                });
                self.filling.insert(SyncWrapper::new(fill)).get_mut()
            }
        };
        let (body, filled) = ready!(filling.as_mut().poll(cx));
        self.filling = None;
        self.body = Some(body);
        Poll::Ready(filled)
    }

    /// The decoded bytes buffered and not yet handed out (up to a gap).
    fn buffered(&self) -> &[u8] {
        match self.body.as_deref() {
            Some(body) => body.buffered(),
            None => &[],
        }
    }

    /// Up to `max` buffered decoded bytes, split off (no copy) and handed out.
    fn take_buffered(&mut self, max: usize) -> BytesMut {
        match self.body.as_deref_mut() {
            Some(body) => body.take_buffered(max),
            None => BytesMut::new(),
        }
    }
}

impl BodyReader {
    /// The decoded bytes buffered and not yet handed out, up to a gap.
    fn buffered(&self) -> &[u8] {
        match self.gap {
            Some(gap) => &self.decoded[..gap.at],
            None => &self.decoded,
        }
    }

    /// Up to `max` buffered decoded bytes (never past a gap), split off and handed out; a
    /// gap they reach is skipped.
    fn take_buffered(&mut self, max: usize) -> BytesMut {
        let Some(gap) = &mut self.gap else {
            return self.decoded.split_to(self.decoded.len().min(max));
        };
        let piece = self.decoded.split_to(gap.at.min(max));
        gap.at -= piece.len();
        if gap.at == 0 {
            self.decoded.advance(gap.len);
            self.gap = None;
        }
        piece
    }

    /// How many raw bytes to ask for next (what is left of a known length, at least one to
    /// see the end; else a chunk), and how much room to make for them: none once a known
    /// length has arrived, as that read only sees the end.
    fn next_raw(&self) -> (usize, usize) {
        match self.raw_left {
            Some(0) => (1, 0),
            Some(left) => {
                let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
                (want, want)
            }
            None => (CHUNK, CHUNK),
        }
    }

    /// The rest of a body without content coding, in the buffer the caller gets (what is
    /// buffered already comes first), so a small body costs one allocation.
    async fn read_to_end(&mut self) -> Result<Vec<u8>, Error> {
        if let Some(gap) = self.gap.take() {
            self.decoded.copy_within(gap.at + gap.len.., gap.at);
            self.decoded.truncate(self.decoded.len() - gap.len);
        }
        let mut out = std::mem::take(&mut self.decoded);
        let left = self.raw_left.unwrap_or(0).min(1 << 20) as usize;
        out.reserve(left);
        // A small body, as most are, is appended as it arrives, in one pass of the
        // exchange; a larger one is read straight into `out`, piece by piece.
        if !self.done && self.raw_left.is_some_and(|n| n <= Call::WHOLE_BODY_AT_ONCE) {
            self.exchange.read_body_to_end(&mut out).await?;
            self.done = true;
            self.raw_left = Some(0);
        }
        while !self.done {
            let (want, room) = self.next_raw();
            out.reserve(room);
            let n = self.exchange.read_body(&mut out, want).await?;
            self.note_raw(n);
        }
        Ok(Vec::from(out))
    }

    /// Counts `n` raw bytes read (0: the end).
    fn note_raw(&mut self, n: usize) {
        self.done = n == 0;
        if let Some(left) = &mut self.raw_left {
            *left = left.saturating_sub(n as u64);
        }
    }

    /// Reads until decoded bytes are buffered (`true`) or the body has ended (`false`).
    /// Bytes count as buffered only once a read completed, so dropping this future midway
    /// loses nothing.
    async fn fill(&mut self) -> Result<bool, Error> {
        loop {
            if !self.decoded.is_empty() {
                return Ok(true);
            }
            if self.done {
                return Ok(false);
            }
            let Some(decoder) = self.decoder.as_mut() else {
                // Straight into `decoded`: its space is reclaimed once the pieces handed out
                // are dropped, so a long download reuses one allocation.
                let (want, room) = self.next_raw();
                self.decoded.reserve(room);
                let at = self.decoded.len();
                let (n, gap) = (self.exchange)
                    .read_body_spanning(&mut self.decoded, want)
                    .await?;
                self.gap = gap.map(|gap| Gap {
                    at: at + gap.at,
                    len: gap.len,
                });
                self.note_raw(n);
                continue;
            };
            self.raw.clear();
            self.raw.reserve(DECODE_READ);
            let n = self.exchange.read_body(&mut self.raw, DECODE_READ).await?;
            self.scratch.clear();
            let result = if n == 0 {
                self.done = true;
                decoder.finish(&mut self.scratch)
            } else {
                decoder.decode(&self.raw, &mut self.scratch)
            };
            result.map_err(|e| {
                Error::new(ErrorKind::Decode, e).with_url(self.exchange.call().url())
            })?;
            self.decoded.extend_from_slice(&self.scratch);
        }
    }
}

impl AsyncRead for Response {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        match ready!(this.poll_fill(cx)) {
            Ok(true) => {
                buf.put_slice(&this.take_buffered(buf.remaining()));
                Poll::Ready(Ok(()))
            }
            Ok(false) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(e.into_io())),
        }
    }
}

impl std::ops::Deref for Response {
    type Target = ResponseInfo;

    /// Status, headers, URL, history and links: see [`ResponseInfo`].
    fn deref(&self) -> &ResponseInfo {
        &self.info
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.info.url().as_str())
            .field("status", &self.status())
            .field("version", &self.version())
            .field("headers", self.headers())
            .finish()
    }
}

/// The body in pieces; see [`Response::chunks`].
#[derive(Debug)]
pub struct Chunks {
    response: Response,
    size: usize,
    done: bool,
}

impl Stream for Chunks {
    type Item = Result<Vec<u8>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match ready!(this.response.poll_fill(cx)) {
            Ok(true) => Poll::Ready(Some(Ok(this.response.take_buffered(this.size).to_vec()))),
            Ok(false) => {
                this.done = true;
                Poll::Ready(None)
            }
            Err(e) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

/// The body as lines; see [`Response::lines`].
#[derive(Debug)]
pub struct Lines {
    response: Response,
    line: Vec<u8>,
    content_type: Option<Vec<u8>>,
    done: bool,
}

impl Lines {
    /// The line gathered so far, ending removed, as text.
    fn emit(&mut self) -> String {
        if self.line.ends_with(b"\n") {
            self.line.pop();
            if self.line.ends_with(b"\r") {
                self.line.pop();
            }
        }
        let text = duet_core::decode_text(&self.line, self.content_type.as_deref()).0;
        self.line.clear();
        text
    }
}

impl Stream for Lines {
    type Item = Result<String, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match ready!(this.response.poll_fill(cx)) {
                Ok(true) => {
                    let buffered = this.response.buffered();
                    let end = buffered.iter().position(|&b| b == b'\n');
                    let n = end.map_or(buffered.len(), |i| i + 1);
                    this.line.extend_from_slice(&this.response.take_buffered(n));
                    if end.is_some() {
                        return Poll::Ready(Some(Ok(this.emit())));
                    }
                }
                Ok(false) => {
                    this.done = true;
                    if this.line.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(this.emit())));
                }
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}
