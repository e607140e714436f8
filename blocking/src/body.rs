//! Request bodies, and feeding them to the engine in bounded pieces.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use bytes::Bytes;
use duet_core::client::{BodyPlan, Call, Error, ErrorKind};
use duet_core::{RequestBody, Segment};

use crate::multipart::{Form, PartSource};

/// Bytes handed to the engine per write: bounds memory however large the body.
const PIECE: usize = 64 * 1024;

/// A request body: bytes, a reader (streamed; chunked when its length is unknown) or a
/// multipart form.
pub struct Body {
    kind: Kind,
}

enum Kind {
    Empty,
    Bytes(Bytes),
    /// A regular file, from `start` (its position when given) for `len` bytes: sent again
    /// from there when the request is (a retry, a 307 redirect, an authentication round).
    File {
        file: File,
        start: u64,
        len: u64,
    },
    Reader {
        reader: Box<dyn Read + Send>,
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
    /// `File` given with `Body::from` can). A read that blocks cannot be interrupted: the
    /// request waits for it, and fails after it returns if the total timeout has passed
    /// meanwhile.
    pub fn from_reader(reader: impl Read + Send + 'static, len: Option<u64>) -> Self {
        Body {
            kind: Kind::Reader {
                reader: Box::new(reader),
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
    pub(crate) fn into_buffered(self) -> Result<Body, Error> {
        let body_error = |e: io::Error| Error::new(ErrorKind::Body, e);
        let mut out = Vec::new();
        match self.kind {
            Kind::Reader { mut reader, .. } => {
                reader.read_to_end(&mut out).map_err(body_error)?;
            }
            Kind::File { file, len, .. } => {
                file.take(len).read_to_end(&mut out).map_err(body_error)?;
            }
            Kind::Multipart(form) => {
                let mut encoder = form.into_encoder();
                while let Some(segment) = encoder.next_segment() {
                    match segment {
                        Segment::Bytes(bytes) => out.extend_from_slice(&bytes),
                        Segment::Source(source) => {
                            open(source)
                                .and_then(|mut r| r.read_to_end(&mut out))
                                .map_err(body_error)?;
                        }
                    }
                }
            }
            kind => return Ok(Body { kind }),
        }
        Ok(Body::from(out))
    }

    /// The length, when known before sending.
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Bytes(b) => Some(b.len() as u64),
            Kind::File { len, .. } => Some(*len),
            Kind::Reader { len, .. } => *len,
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
            // Shared with the body, so pieces are queued without a copy.
            Kind::Bytes(data) => Sending::Bytes { data, pos: 0 },
            Kind::File { file, start, len } => Sending::File {
                file: file.take(len),
                start,
                len,
                rewind: false,
            },
            Kind::Reader { reader, .. } => Sending::Reader(reader),
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
        Body {
            kind: Kind::Bytes(Bytes::from(v)),
        }
    }
}

impl From<&'static [u8]> for Body {
    fn from(v: &'static [u8]) -> Self {
        Body {
            kind: Kind::Bytes(Bytes::from_static(v)),
        }
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
    /// A file, streamed from its current position to its end, which is sent as
    /// `Content-Length`. A regular file can be sent again (a retry, a 307 redirect, an
    /// authentication round such as Digest's): it is read again from that position, as
    /// requests rewinds a file. Anything else (a pipe, a device) is a stream read once, chunked.
    fn from(mut file: File) -> Self {
        let regular = file.metadata().ok().filter(|m| m.is_file());
        match (regular, file.stream_position()) {
            (Some(meta), Ok(start)) => Body {
                kind: Kind::File {
                    file,
                    start,
                    len: meta.len().saturating_sub(start),
                },
            },
            _ => Body::from_reader(file, None),
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
        file: io::Take<File>,
        start: u64,
        len: u64,
        rewind: bool,
    },
    Reader(Box<dyn Read + Send>),
    /// Boxed: a multipart sender is large, and it moves with every request's exchange.
    Multipart(Box<MultipartSending>),
}

/// A multipart body being sent.
struct MultipartSending {
    encoder: duet_core::Encoder<PartSource>,
    current: Option<Box<dyn Read + Send>>,
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

    /// Sends the next piece, or ends the body.
    pub fn send_next(&mut self, call: &mut Call) -> Result<(), Error> {
        match &mut self.state {
            Sending::Bytes { data, pos } => {
                if *pos == data.len() {
                    return call.send_end();
                }
                let end = (*pos + PIECE).min(data.len());
                call.send_body_shared(data.slice(*pos..end))?;
                *pos = end;
                Ok(())
            }
            Sending::File {
                file,
                start,
                len,
                rewind,
            } => {
                if std::mem::take(rewind) {
                    file.get_mut()
                        .seek(SeekFrom::Start(*start))
                        .map_err(|e| call.body_failed(e))?;
                    file.set_limit(*len);
                }
                send_read(file, call)
            }
            Sending::Reader(reader) => send_read(reader, call),
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
                        .map_err(|e| call.body_failed(e))?;
                    if n > 0 {
                        return call.body_filled(n);
                    }
                    *current = None;
                }
                match encoder.next_segment() {
                    Some(Segment::Bytes(bytes)) => *pending = Bytes::from(bytes),
                    Some(Segment::Source(source)) => {
                        *current = Some(open(source).map_err(|e| call.body_failed(e))?)
                    }
                    None => return call.send_end(),
                }
            },
        }
    }
}

/// Reads the next piece of `reader` straight into the call's room for it, or ends the body.
fn send_read(reader: &mut (dyn Read + Send), call: &mut Call) -> Result<(), Error> {
    let n = read_piece(reader, call.body_room(PIECE)?).map_err(|e| call.body_failed(e))?;
    match n {
        0 => call.send_end(),
        n => call.body_filled(n),
    }
}

/// Reads the next piece of `reader` straight into the call's room for it.
fn read_piece(reader: &mut (dyn Read + Send), buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

fn open(source: PartSource) -> io::Result<Box<dyn Read + Send>> {
    Ok(match source {
        PartSource::File(path) => Box::new(File::open(&path).map_err(|e| with_path(e, &path))?),
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
