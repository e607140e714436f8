//! `multipart/form-data` bodies (RFC 7578) as a streaming encoder that never holds file contents.
//!
//! A [`Form`] is a list of named [`Part`]s. A part's content is either bytes held in memory or
//! a *source* of the driver's type `S` (a `std::fs::File` or `Read` for the blocking driver, an
//! `AsyncRead` for the async one): duet-core never reads it, it only says when the driver must
//! stream it. The driver:
//!
//! 1. builds the form with 16 bytes from a CSPRNG ([`Form::new`]), so the boundary is random
//!    yet every core test stays deterministic;
//! 2. sends `Content-Type: ` [`Form::content_type`], and `Content-Length: `
//!    [`Form::content_length`] when it is known (chunked framing otherwise);
//! 3. calls [`Encoder::next_segment`] until `None`, writing each [`Segment::Bytes`] as is and
//!    copying each [`Segment::Source`] to the body until the source ends.
//!
//! The body, per RFC 7578 §4 and RFC 2046 §5.1.1:
//!
//! ```text
//! --BOUNDARY CRLF
//! Content-Disposition: form-data; name="field"; filename="a.txt" CRLF   (filename: files only)
//! Content-Type: text/plain CRLF                                         (only when set/guessed)
//! Extra-Header: value CRLF                                              (Part::header)
//! CRLF
//! content
//! CRLF --BOUNDARY CRLF
//! ... next part ...
//! CRLF --BOUNDARY-- CRLF
//! ```
//!
//! Field names and file names are escaped as browsers do (WHATWG HTML, "multipart/form-data
//! encoding algorithm"): `"` becomes `%22`, CR `%0D`, LF `%0A`; everything else, non-ASCII
//! included, is sent as raw UTF-8 inside the quotes (RFC 7578 §4.2 and §5.1 allow it, and it is
//! what servers expect; `filename*` is not used, RFC 7578 §4.2 forbids it).
//!
//! The boundary is `duet-` and 32 hex digits from the 16 entropy bytes. The encoder does not
//! scan content for it: 128 random bits make a collision with any content practically
//! impossible (RFC 2046 §5.1.1 only asks that the boundary not occur in the content).

use std::{fmt, vec};

use crate::error::LocalError;
use crate::headers::{Headers, check_name, check_value};

const CRLF: &[u8] = b"\r\n";

/// The content of a [`Part`]. Its `Debug` shows the length of bytes, not the bytes.
#[derive(Clone, PartialEq, Eq)]
pub enum Content<S> {
    /// Bytes held in memory, sent as they are (shared, so a copy of the form for sending it
    /// again costs no copy of them).
    Bytes(bytes::Bytes),
    /// A source the driver streams in full when the encoder yields [`Segment::Source`].
    Source {
        /// The driver's reader (a file, a `Read`, an `AsyncRead`, ...).
        source: S,
        /// How many bytes it will produce, when known. The driver must then produce exactly
        /// that many: a declared Content-Length is checked by the connection, which fails with
        /// [`LocalError::BodyTooLong`] / [`LocalError::BodyTooShort`] otherwise.
        len: Option<u64>,
    },
}

impl<S: fmt::Debug> fmt::Debug for Content<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Content::Source { source, len } => f
                .debug_struct("Source")
                .field("source", source)
                .field("len", len)
                .finish(),
        }
    }
}

impl<S> Content<S> {
    /// The content's length in bytes, or `None` for a source of unknown length.
    pub fn len(&self) -> Option<u64> {
        match self {
            Content::Bytes(bytes) => Some(bytes.len() as u64),
            Content::Source { len, .. } => *len,
        }
    }

    /// True for empty bytes or a source declared empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

/// One field of a [`Form`]: its content, an optional file name, Content-Type and extra headers.
///
/// Built in builder style:
///
/// ```
/// use duet_core::Part;
/// let part: Part<()> = Part::bytes("a,b\n1,2\n").file_name("data.csv");
/// assert_eq!(part.content_type(), Some(&b"text/csv"[..]));
/// let part: Part<()> = Part::bytes("{}").mime("application/json").unwrap();
/// assert!(Part::<()>::bytes("x").mime("text/plain\r\nX-Injected: 1").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Part<S> {
    content: Content<S>,
    file_name: Option<String>,
    content_type: Option<Vec<u8>>,
    headers: Headers,
}

impl<S: fmt::Debug> fmt::Debug for Part<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Part")
            .field("content", &self.content)
            .field("file_name", &self.file_name)
            .field(
                "content_type",
                &self.content_type.as_deref().map(String::from_utf8_lossy),
            )
            .field("headers", &self.headers)
            .finish()
    }
}

impl<S> Part<S> {
    /// A part with this content, no file name, no Content-Type and no extra headers.
    pub fn new(content: Content<S>) -> Self {
        Part {
            content,
            file_name: None,
            content_type: None,
            headers: Headers::new(),
        }
    }

    /// A part whose content is held in memory.
    pub fn bytes(data: impl Into<Vec<u8>>) -> Self {
        Self::new(Content::Bytes(bytes::Bytes::from(data.into())))
    }

    /// A part the driver streams from `source`; `len` is its exact length when known (a file's
    /// size), `None` otherwise (which makes the whole form's length unknown).
    pub fn source(source: S, len: Option<u64>) -> Self {
        Self::new(Content::Source { source, len })
    }

    /// Sets the `filename` parameter, which makes the part a file upload (RFC 7578 §4.2).
    ///
    /// When no Content-Type is set yet, sets the one guessed from the name's extension
    /// (`mime_guess`), or `application/octet-stream` when there is no guess, as requests and
    /// httpx do. A later [`Part::mime`] replaces it. The name is escaped when encoded (see the
    /// module docs), so any string is accepted.
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if self.content_type.is_none() {
            let guess = mime_guess::from_path(&name).first_or_octet_stream();
            self.content_type = Some(guess.essence_str().as_bytes().to_vec());
        }
        self.file_name = Some(name);
        self
    }

    /// Sets the part's Content-Type, replacing any set or guessed one.
    ///
    /// Fails with [`LocalError::InvalidHeaderValue`] when it holds CR, LF, NUL or another
    /// control byte (the rules of [`Headers`]), so it can never end the header line.
    pub fn mime(mut self, content_type: &str) -> Result<Self, LocalError> {
        check_value(b"Content-Type", content_type.as_bytes())?;
        self.content_type = Some(content_type.as_bytes().to_vec());
        Ok(self)
    }

    /// Adds a header to the part, after Content-Disposition and Content-Type.
    ///
    /// A `Content-Type` header is the same as [`Part::mime`]. Fails with
    /// [`LocalError::InvalidHeaderName`] for a name that is not a token, and for
    /// `Content-Disposition`, which the form writes itself; with
    /// [`LocalError::InvalidHeaderValue`] for a value with a control byte. Note that RFC 7578
    /// §4.8 says receivers ignore headers other than Content-Type, Content-Disposition and
    /// Content-Transfer-Encoding.
    pub fn header(
        mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<Self, LocalError> {
        let (name, value) = (name.as_ref(), value.as_ref());
        check_name(name)?;
        check_value(name, value)?;
        if name.eq_ignore_ascii_case(b"content-type") {
            self.content_type = Some(value.to_vec());
        } else if name.eq_ignore_ascii_case(b"content-disposition") {
            return Err(LocalError::InvalidHeaderName {
                name: String::from_utf8_lossy(name).into_owned(),
            });
        } else {
            self.headers.push_unchecked(name, value);
        }
        Ok(self)
    }

    /// The part's content.
    pub fn content(&self) -> &Content<S> {
        &self.content
    }

    /// The file name, when one was set.
    pub fn get_file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// The Content-Type that will be sent (set, or guessed from the file name), if any.
    pub fn content_type(&self) -> Option<&[u8]> {
        self.content_type.as_deref()
    }

    /// The extra headers added with [`Part::header`].
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// Appends the part's header lines and the blank line after them.
    fn write_head(&self, name: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(b"Content-Disposition: form-data; name=\"");
        push_escaped(name, out);
        out.push(b'"');
        if let Some(file_name) = &self.file_name {
            out.extend_from_slice(b"; filename=\"");
            push_escaped(file_name, out);
            out.push(b'"');
        }
        out.extend_from_slice(CRLF);
        if let Some(content_type) = &self.content_type {
            out.extend_from_slice(b"Content-Type: ");
            out.extend_from_slice(content_type);
            out.extend_from_slice(CRLF);
        }
        for (name, value) in self.headers.iter() {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(CRLF);
        }
        out.extend_from_slice(CRLF);
    }
}

/// Escapes a field name or file name as the WHATWG multipart/form-data encoding algorithm does.
fn push_escaped(s: &str, out: &mut Vec<u8>) {
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"%22"),
            b'\r' => out.extend_from_slice(b"%0D"),
            b'\n' => out.extend_from_slice(b"%0A"),
            _ => out.push(b),
        }
    }
}

/// Appends the delimiter before a part: `--BOUNDARY` CRLF, preceded by a CRLF after a part.
fn write_delimiter(boundary: &str, first: bool, out: &mut Vec<u8>) {
    if !first {
        out.extend_from_slice(CRLF);
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(CRLF);
}

/// Appends the close delimiter: `--BOUNDARY--` CRLF, preceded by a CRLF after a part.
fn write_close(boundary: &str, first: bool, out: &mut Vec<u8>) {
    if !first {
        out.extend_from_slice(CRLF);
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
}

/// A `multipart/form-data` body (RFC 7578): named parts in order, under a random boundary.
///
/// `S` is the driver's source type for streamed parts; a form of text and bytes only can use
/// any type, such as `()`. The same name may be used for several parts; all are sent, in order.
///
/// ```
/// use duet_core::{Form, Part, Segment};
/// let form: Form<()> = Form::new([0xab; 16])
///     .text("title", "Hi")
///     .part("file", Part::bytes("x").file_name("a.txt"));
/// assert_eq!(form.content_type(), format!("multipart/form-data; boundary={}", form.boundary()));
/// let len = form.content_length();
/// let mut encoder = form.into_encoder();
/// let Some(Segment::Bytes(body)) = encoder.next_segment() else { panic!() };
/// assert!(encoder.next_segment().is_none());
/// assert_eq!(len, Some(body.len() as u64));
/// let b = "duet-abababababababababababababababab";
/// assert_eq!(
///     String::from_utf8(body).unwrap(),
///     format!(
///         "--{b}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHi\r\n\
///          --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
///          Content-Type: text/plain\r\n\r\nx\r\n--{b}--\r\n"
///     )
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form<S> {
    boundary: String,
    parts: Vec<(String, Part<S>)>,
}

impl<S> Form<S> {
    /// An empty form whose boundary is `duet-` followed by the 32 hex digits of `entropy`.
    ///
    /// `entropy` must come from a CSPRNG in the driver (e.g. `getrandom`): a boundary an
    /// attacker can predict could be planted in an uploaded file to forge fields.
    pub fn new(entropy: [u8; 16]) -> Self {
        let mut boundary = String::with_capacity(5 + 32);
        boundary.push_str("duet-");
        for byte in entropy {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            boundary.push(HEX[usize::from(byte >> 4)] as char);
            boundary.push(HEX[usize::from(byte & 0xf)] as char);
        }
        Form {
            boundary,
            parts: Vec::new(),
        }
    }

    /// Adds a text field (no file name, no Content-Type: RFC 7578 §4.4 defaults it to
    /// `text/plain`). Returns the form, for chaining.
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.add_text(name, value);
        self
    }

    /// [`Form::text`] on a borrowed form.
    pub fn add_text(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.add_part(name, Part::bytes(value.into()));
    }

    /// Adds a part under `name`. Returns the form, for chaining.
    pub fn part(mut self, name: impl Into<String>, part: Part<S>) -> Self {
        self.add_part(name, part);
        self
    }

    /// [`Form::part`] on a borrowed form.
    pub fn add_part(&mut self, name: impl Into<String>, part: Part<S>) {
        self.parts.push((name.into(), part));
    }

    /// The parts in order, with their names.
    pub fn parts(&self) -> impl Iterator<Item = (&str, &Part<S>)> {
        self.parts.iter().map(|(name, part)| (name.as_str(), part))
    }

    /// The boundary: `duet-` and 32 lowercase hex digits (RFC 2046 §5.1.1 allows 1 to 70
    /// characters; these need no quoting).
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The request's Content-Type: `multipart/form-data; boundary=...`.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The exact number of bytes the encoder will produce, counting each source as its declared
    /// length. `None` when a source's length is unknown: send the body chunked then.
    pub fn content_length(&self) -> Option<u64> {
        let mut total = 0u64;
        let mut scratch = Vec::new();
        for (index, (name, part)) in self.parts.iter().enumerate() {
            scratch.clear();
            write_delimiter(&self.boundary, index == 0, &mut scratch);
            part.write_head(name, &mut scratch);
            total = total.checked_add(scratch.len() as u64)?;
            total = total.checked_add(part.content.len()?)?;
        }
        scratch.clear();
        write_close(&self.boundary, self.parts.is_empty(), &mut scratch);
        total.checked_add(scratch.len() as u64)
    }

    /// A copy of the form, same boundary and all, with each source turned into another by
    /// `copy`; `None` when `copy` gives none for one (a reader that can be read only once).
    /// For sending a form again (a redirect, an authentication round): in-memory contents
    /// are shared, not copied.
    ///
    /// ```
    /// use duet_core::{Form, Part};
    /// let form = Form::new([1; 16]).text("a", "1").part("f", Part::source("x.txt", Some(3)));
    /// let again = form.try_copy(|path| Some(path.to_string())).unwrap();
    /// assert_eq!((again.boundary(), again.content_length()), (form.boundary(), form.content_length()));
    /// assert!(form.try_copy(|_| None::<()>).is_none());
    /// ```
    pub fn try_copy<T>(&self, mut copy: impl FnMut(&S) -> Option<T>) -> Option<Form<T>> {
        let parts = self
            .parts
            .iter()
            .map(|(name, part)| {
                let content = match &part.content {
                    Content::Bytes(bytes) => Content::Bytes(bytes.clone()),
                    Content::Source { source, len } => Content::Source {
                        source: copy(source)?,
                        len: *len,
                    },
                };
                let part = Part {
                    content,
                    file_name: part.file_name.clone(),
                    content_type: part.content_type.clone(),
                    headers: part.headers.clone(),
                };
                Some((name.clone(), part))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Form {
            boundary: self.boundary.clone(),
            parts,
        })
    }

    /// Starts encoding, consuming the form; see [`Encoder`].
    pub fn into_encoder(self) -> Encoder<S> {
        Encoder {
            boundary: self.boundary,
            parts: self.parts.into_iter(),
            pending: None,
            first: true,
            done: false,
        }
    }
}

/// What to write next to the body, from [`Encoder::next_segment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<S> {
    /// Bytes to write as they are: delimiters, part headers, and in-memory contents, merged
    /// into one buffer between two sources.
    Bytes(Vec<u8>),
    /// A part's source: copy all of it to the body, then ask for the next segment.
    Source(S),
}

/// Produces a form's body, in order, as [`Segment`]s.
///
/// Segments alternate: `Bytes` always comes first and last, and never twice in a row, so a form
/// with `n` streamed parts takes `2n + 1` segments (one for a form of bytes and text only).
#[derive(Debug)]
pub struct Encoder<S> {
    boundary: String,
    parts: vec::IntoIter<(String, Part<S>)>,
    /// A source whose part head was just returned; it comes next.
    pending: Option<S>,
    /// No part started yet (no CRLF before the next delimiter).
    first: bool,
    done: bool,
}

impl<S> Encoder<S> {
    /// The next segment to write, or `None` once the closing delimiter has been returned.
    ///
    /// Call it again only after the previous segment has been written in full (a source copied
    /// to its end); the bytes that follow a source start with the CRLF that ends its part.
    pub fn next_segment(&mut self) -> Option<Segment<S>> {
        if let Some(source) = self.pending.take() {
            return Some(Segment::Source(source));
        }
        if self.done {
            return None;
        }
        let mut out = Vec::new();
        for (name, part) in self.parts.by_ref() {
            write_delimiter(&self.boundary, self.first, &mut out);
            self.first = false;
            part.write_head(&name, &mut out);
            match part.content {
                Content::Bytes(bytes) => out.extend_from_slice(&bytes),
                Content::Source { source, .. } => {
                    self.pending = Some(source);
                    return Some(Segment::Bytes(out));
                }
            }
        }
        write_close(&self.boundary, self.first, &mut out);
        self.done = true;
        Some(Segment::Bytes(out))
    }
}

impl<S> Iterator for Encoder<S> {
    type Item = Segment<S>;

    /// Same as [`Encoder::next_segment`].
    fn next(&mut self) -> Option<Segment<S>> {
        self.next_segment()
    }
}

#[cfg(test)]
mod tests;
