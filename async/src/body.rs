//! Request bodies, and feeding them to the engine in bounded pieces.

use std::fmt;
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::pin::Pin;

use bytes::Bytes;
use duet_core::client::{BodyPlan, Call, Error, ErrorKind};
use duet_core::{RequestBody, Segment};
use futures_util::{Stream, StreamExt, TryStreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};

use crate::multipart::{Form, PartSource};

/// Bytes handed to the engine per write: bounds memory however large the body.
const PIECE: usize = 64 * 1024;

/// A boxed reader that a body or a multipart part streams from.
pub(crate) type BoxReader = Pin<Box<dyn AsyncRead + Send>>;

/// A boxed stream of body pieces.
type BoxStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A request body: bytes, a reader or a stream (streamed; chunked when its length is
/// unknown) or a multipart form.
pub struct Body {
    kind: Kind,
}

enum Kind {
    Empty,
    Bytes(Bytes),
    /// A regular file, from `start` (its position when given) for `len` bytes: sent again
    /// from there when the request is (a retry, a 307 redirect, an authentication round).
    File {
        file: tokio::fs::File,
        start: u64,
        len: u64,
    },
    Reader {
        reader: BoxReader,
        len: Option<u64>,
    },
    Stream {
        stream: BoxStream,
        len: Option<u64>,
    },
    Multipart(Form),
}

impl Body {
    /// No body.
    pub fn empty() -> Self {
        Body { kind: Kind::Empty }
    }

    /// A streamed body read from `reader`; sent with `Content-Length` when `len` is known,
    /// chunked otherwise. It cannot be replayed (for a retry or a 307 redirect; a regular
    /// `std::fs::File` given with `Body::from` can). A reader that stops producing runs into
    /// the request's total timeout, if it has one.
    ///
    /// For a `tokio::fs::File`: `Body::from_reader(file, Some(file.metadata().await?.len()))`
    /// (or convert a `std::fs::File` with `Body::from`).
    pub fn from_reader(reader: impl AsyncRead + Send + 'static, len: Option<u64>) -> Self {
        Body {
            kind: Kind::Reader {
                reader: Box::pin(reader),
                len,
            },
        }
    }

    /// A streamed body made of the stream's items, in order; sent with `Content-Length` when
    /// `len` is known, chunked otherwise. An item's error fails the request with
    /// [`ErrorKind::Body`]. It cannot be replayed (for a retry or a 307 redirect). A stream
    /// that stops producing runs into the request's total timeout, if it has one.
    pub fn from_stream<S, B>(stream: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = Result<B, io::Error>> + Send + 'static,
        B: Into<Bytes> + 'static,
    {
        Body {
            kind: Kind::Stream {
                stream: Box::pin(stream.map_ok(Into::into)),
                len,
            },
        }
    }

    /// The body's bytes when they are in memory.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Empty => Some(&[]),
            Kind::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The length, when known before sending.
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Bytes(b) => Some(b.len() as u64),
            Kind::File { len, .. } => Some(*len),
            Kind::Reader { len, .. } | Kind::Stream { len, .. } => *len,
            Kind::Multipart(form) => form.content_length(),
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    pub(crate) fn multipart(form: Form) -> Self {
        Body {
            kind: Kind::Multipart(form),
        }
    }

    /// The bytes as a shared buffer, when the body is in memory.
    pub(crate) fn shared_bytes(&self) -> Option<Bytes> {
        match &self.kind {
            Kind::Empty => Some(Bytes::new()),
            Kind::Bytes(b) => Some(b.clone()),
            _ => None,
        }
    }

    /// Reads a streamed body into memory (for auth schemes that sign or hash it); bodies
    /// already in memory are returned as they are.
    pub(crate) async fn into_buffered(self) -> Result<Body, Error> {
        let body_error = |e: io::Error| Error::new(ErrorKind::Body, e);
        let mut out = Vec::new();
        match self.kind {
            Kind::Reader { mut reader, .. } => {
                reader.read_to_end(&mut out).await.map_err(body_error)?;
            }
            Kind::File { file, len, .. } => {
                file.take(len)
                    .read_to_end(&mut out)
                    .await
                    .map_err(body_error)?;
            }
            Kind::Stream { mut stream, .. } => {
                while let Some(piece) = stream.next().await {
                    out.extend_from_slice(&piece.map_err(body_error)?);
                }
            }
            Kind::Multipart(form) => {
                let mut encoder = form.into_encoder();
                while let Some(segment) = encoder.next_segment() {
                    match segment {
                        Segment::Bytes(bytes) => out.extend_from_slice(&bytes),
                        Segment::Source(source) => {
                            let mut reader = open(source).await.map_err(body_error)?;
                            reader.read_to_end(&mut out).await.map_err(body_error)?;
                        }
                    }
                }
            }
            kind => return Ok(Body { kind }),
        }
        Ok(Body::from(out))
    }

    /// The framing and whether the body can be sent again.
    pub(crate) fn plan(&self) -> BodyPlan {
        let framing = match (&self.kind, self.len()) {
            (Kind::Empty, _) => RequestBody::None,
            (_, Some(n)) => RequestBody::Length(n),
            (_, None) => RequestBody::Chunked,
        };
        BodyPlan {
            framing,
            replayable: match &self.kind {
                Kind::Empty | Kind::Bytes(_) | Kind::File { .. } => true,
                Kind::Multipart(form) => form.is_replayable(),
                _ => false,
            },
        }
    }

    /// Starts sending; the body is consumed unless it is replayable (then the sender can
    /// restart).
    pub(crate) fn into_sender(self) -> BodySender {
        let state = match self.kind {
            Kind::Empty => Sending::Bytes {
                data: Bytes::new(),
                pos: 0,
            },
            Kind::Bytes(data) => Sending::Bytes { data, pos: 0 },
            Kind::File { file, start, len } => Sending::File {
                file: file.take(len),
                start,
                len,
                rewind: false,
            },
            Kind::Reader { reader, .. } => Sending::Reader(reader),
            Kind::Stream { stream, .. } => Sending::Stream {
                stream,
                pending: Bytes::new(),
            },
            Kind::Multipart(form) => Sending::Multipart(Box::new(MultipartSending {
                replay: form.replay_copy(),
                encoder: form.into_encoder(),
                current: None,
                pending: Bytes::new(),
            })),
        };
        BodySender { state }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Empty => f.write_str("Body::Empty"),
            Kind::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            Kind::File { len, .. } => write!(f, "Body::File({len} bytes)"),
            Kind::Reader { len, .. } => write!(f, "Body::Reader(len: {len:?})"),
            Kind::Stream { len, .. } => write!(f, "Body::Stream(len: {len:?})"),
            Kind::Multipart(form) => write!(f, "Body::Multipart(len: {:?})", form.content_length()),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::from(Bytes::from(v))
    }
}

impl From<&'static [u8]> for Body {
    fn from(v: &'static [u8]) -> Self {
        Body::from(Bytes::from_static(v))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::from(s.into_bytes())
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::from(s.as_bytes())
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body {
            kind: Kind::Bytes(b),
        }
    }
}

impl From<File> for Body {
    /// A file, streamed through tokio (`tokio::fs::File::from_std`) from its current
    /// position to its end, which is sent as `Content-Length`. A regular file can be sent
    /// again (a retry, a 307 redirect, an authentication round such as Digest's): it is read
    /// again from that position, as requests rewinds a file. Anything else (a pipe, a
    /// device) is a stream read once, chunked.
    fn from(mut file: File) -> Self {
        let regular = file.metadata().ok().filter(|m| m.is_file());
        match (regular, file.stream_position()) {
            (Some(meta), Ok(start)) => Body {
                kind: Kind::File {
                    file: tokio::fs::File::from_std(file),
                    start,
                    len: meta.len().saturating_sub(start),
                },
            },
            _ => Body::from_reader(tokio::fs::File::from_std(file), None),
        }
    }
}

enum Sending {
    Bytes {
        data: Bytes,
        pos: usize,
    },
    /// A file read from `start` for `len` bytes; `rewind` goes back there before the next
    /// read.
    File {
        file: tokio::io::Take<tokio::fs::File>,
        start: u64,
        len: u64,
        rewind: bool,
    },
    Reader(BoxReader),
    Stream {
        stream: BoxStream,
        pending: Bytes,
    },
    /// Boxed: a multipart sender is large, and it moves with every request's exchange.
    Multipart(Box<MultipartSending>),
}

/// A multipart body being sent.
struct MultipartSending {
    encoder: duet_core::Encoder<PartSource>,
    current: Option<BoxReader>,
    /// Delimiters, part headers and in-memory contents not sent yet.
    pending: Bytes,
    /// A copy of the form to start again from, when every part can be sent again.
    replay: Option<Form>,
}

/// Feeds a body to a [`Call`] one bounded piece per `SendBody` action.
pub(crate) struct BodySender {
    state: Sending,
}

impl BodySender {
    /// Back to the first byte, for a retry (only replayable bodies are ever retried).
    pub fn restart(&mut self) {
        match &mut self.state {
            Sending::Bytes { pos, .. } => *pos = 0,
            Sending::File { rewind, .. } => *rewind = true,
            Sending::Multipart(multipart) => {
                if let Some(form) = multipart.replay.as_ref().and_then(Form::replay_copy) {
                    multipart.encoder = form.into_encoder();
                    multipart.current = None;
                    multipart.pending = Bytes::new();
                }
            }
            _ => {}
        }
    }

    /// Sends the next piece, or ends the body, at once when the body is in memory: `None`
    /// for a source that must be read first ([`send_next`](Self::send_next) does that).
    pub fn send_ready(&mut self, call: &mut Call) -> Option<Result<(), Error>> {
        match &mut self.state {
            Sending::Bytes { data, pos } => Some(send_bytes(data, pos, call)),
            _ => None,
        }
    }

    /// Sends the next piece, or ends the body.
    pub async fn send_next(&mut self, call: &mut Call) -> Result<(), Error> {
        match &mut self.state {
            Sending::Bytes { data, pos } => send_bytes(data, pos, call),
            Sending::File {
                file,
                start,
                len,
                rewind,
            } => {
                if std::mem::take(rewind) {
                    file.get_mut()
                        .seek(SeekFrom::Start(*start))
                        .await
                        .map_err(|e| call.body_failed(e))?;
                    file.set_limit(*len);
                }
                send_read(file, call).await
            }
            Sending::Reader(reader) => send_read(reader, call).await,
            Sending::Stream { stream, pending } => {
                while pending.is_empty() {
                    match stream.next().await {
                        Some(Ok(bytes)) => *pending = bytes,
                        Some(Err(e)) => return Err(call.body_failed(e)),
                        None => return call.send_end(),
                    }
                }
                let piece = pending.split_to(pending.len().min(PIECE));
                call.send_body_shared(piece)
            }
            Sending::Multipart(multipart) => loop {
                let MultipartSending {
                    encoder,
                    current,
                    pending,
                    ..
                } = &mut **multipart;
                if !pending.is_empty() {
                    let piece = pending.split_to(pending.len().min(PIECE));
                    return call.send_body_shared(piece);
                }
                if let Some(reader) = current {
                    let n = read_piece(reader, call.body_room(PIECE)?)
                        .await
                        .map_err(|e| call.body_failed(e))?;
                    if n > 0 {
                        return call.body_filled(n);
                    }
                    *current = None;
                }
                match encoder.next_segment() {
                    Some(Segment::Bytes(bytes)) => *pending = Bytes::from(bytes),
                    Some(Segment::Source(source)) => {
                        *current = Some(open(source).await.map_err(|e| call.body_failed(e))?)
                    }
                    None => return call.send_end(),
                }
            },
        }
    }
}

/// The next piece of an in-memory body from `pos`, shared, not copied; or its end.
fn send_bytes(data: &Bytes, pos: &mut usize, call: &mut Call) -> Result<(), Error> {
    if *pos == data.len() {
        return call.send_end();
    }
    let end = (*pos + PIECE).min(data.len());
    call.send_body_shared(data.slice(*pos..end))?;
    *pos = end;
    Ok(())
}

/// Reads the next piece of `reader` straight into the call's room for it, or ends the body.
async fn send_read(
    reader: &mut (impl AsyncRead + Unpin + ?Sized),
    call: &mut Call,
) -> Result<(), Error> {
    let n = read_piece(reader, call.body_room(PIECE)?)
        .await
        .map_err(|e| call.body_failed(e))?;
    match n {
        0 => call.send_end(),
        n => call.body_filled(n),
    }
}

/// Reads the next piece of `reader` straight into the call's room for it.
async fn read_piece(
    reader: &mut (impl AsyncRead + Unpin + ?Sized),
    buf: &mut [u8],
) -> io::Result<usize> {
    loop {
        match reader.read(buf).await {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

async fn open(source: PartSource) -> io::Result<BoxReader> {
    Ok(match source {
        PartSource::File(path) => Box::pin(
            tokio::fs::File::open(&path)
                .await
                .map_err(|e| with_path(e, &path))?,
        ),
        PartSource::Reader(reader) => reader,
    })
}

fn with_path(e: io::Error, path: &std::path::Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A body error for a multipart file that could not be inspected when the form was built.
pub(crate) fn file_error(e: io::Error, path: &std::path::Path) -> Error {
    Error::msg(ErrorKind::Body, format!("{}: {e}", path.display()))
}
