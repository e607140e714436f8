//! `multipart/form-data` bodies (RFC 7578): fields and files, streamed, never buffered whole.

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use duet_core::client::Error;
use tokio::io::AsyncRead;

use crate::body::file_error;

/// Where a streamed part's content comes from.
pub enum PartSource {
    /// A file, opened with `tokio::fs` when the body is sent.
    File(PathBuf),
    /// A reader, read to its end when the body is sent.
    Reader(Pin<Box<dyn AsyncRead + Send>>),
}

impl fmt::Debug for PartSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartSource::File(path) => write!(f, "File({})", path.display()),
            PartSource::Reader(_) => f.write_str("Reader"),
        }
    }
}

/// A multipart form: text fields and parts in order; the same name may repeat.
///
/// Building a form is synchronous (a file part reads its length with `std::fs` then); the
/// contents are read when the request is sent.
///
/// ```no_run
/// # async fn run() -> Result<(), duet_async::Error> {
/// let form = duet_async::multipart::Form::new()
///     .text("title", "holiday")
///     .file("photo", "beach.jpg")?;
/// let response = duet_async::Client::new().post("http://127.0.0.1:8000/upload").multipart(form).send().await?;
/// # Ok(())
/// # }
/// ```
pub struct Form {
    inner: duet_core::Form<PartSource>,
}

/// As the engine's form: the boundary, then each part's name, content (a length for bytes,
/// where it comes from for a stream), file name, type and headers.
impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl Default for Form {
    fn default() -> Self {
        Self::new()
    }
}

impl Form {
    /// An empty form with a random boundary.
    pub fn new() -> Self {
        Form {
            inner: duet_core::Form::new(crate::entropy()),
        }
    }

    /// Adds a text field.
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner = self.inner.text(name, value);
        self
    }

    /// Adds a part.
    pub fn part(mut self, name: impl Into<String>, part: Part) -> Self {
        self.inner = self.inner.part(name, part.inner);
        self
    }

    /// Adds a file part: its name as the filename, a content type guessed from the extension,
    /// streamed from disk when sent. Fails with a body error if the file cannot be inspected.
    pub fn file(self, name: impl Into<String>, path: impl AsRef<Path>) -> Result<Self, Error> {
        Ok(self.part(name, Part::file(path)?))
    }

    /// The boundary between parts.
    pub fn boundary(&self) -> &str {
        self.inner.boundary()
    }

    /// The `Content-Type` header value.
    pub fn content_type(&self) -> String {
        self.inner.content_type()
    }

    /// The encoded length, when every part's length is known.
    pub fn content_length(&self) -> Option<u64> {
        self.inner.content_length()
    }

    pub(crate) fn into_encoder(self) -> duet_core::Encoder<PartSource> {
        self.inner.into_encoder()
    }

    /// A copy to send the form again (a redirect, an authentication round), when every part
    /// can be: bytes and files can, a reader cannot.
    pub(crate) fn replay_copy(&self) -> Option<Form> {
        let inner = self.inner.try_copy(|source| match source {
            PartSource::File(path) => Some(PartSource::File(path.clone())),
            PartSource::Reader(_) => None,
        })?;
        Some(Form { inner })
    }

    /// Whether [`replay_copy`](Self::replay_copy) gives a copy: no part is a reader.
    pub(crate) fn is_replayable(&self) -> bool {
        self.inner.parts().all(|(_, part)| {
            !matches!(
                part.content(),
                duet_core::Content::Source {
                    source: PartSource::Reader(_),
                    ..
                }
            )
        })
    }
}

/// One part of a [`Form`].
pub struct Part {
    inner: duet_core::Part<PartSource>,
}

impl Part {
    /// A part holding these bytes.
    pub fn bytes(data: impl Into<Vec<u8>>) -> Self {
        Part {
            inner: duet_core::Part::bytes(data),
        }
    }

    /// A part holding this text.
    pub fn text(text: impl Into<String>) -> Self {
        Part::bytes(text.into().into_bytes())
    }

    /// A part streamed from a file, with its file name and a guessed content type.
    pub fn file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let len = std::fs::metadata(path)
            .map_err(|e| file_error(e, path))?
            .len();
        let mut part = duet_core::Part::source(PartSource::File(path.to_owned()), Some(len));
        if let Some(name) = path.file_name() {
            part = part.file_name(name.to_string_lossy());
        }
        Ok(Part { inner: part })
    }

    /// A part streamed from a reader; `len` if known (otherwise the body is chunked).
    pub fn reader(reader: impl AsyncRead + Send + 'static, len: Option<u64>) -> Self {
        Part {
            inner: duet_core::Part::source(PartSource::Reader(Box::pin(reader)), len),
        }
    }

    /// Sets the filename (and guesses a content type from it if none is set).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.inner = self.inner.file_name(name);
        self
    }

    /// Sets the content type. Fails on a value that is not a valid header value.
    pub fn mime(mut self, content_type: &str) -> Result<Self, Error> {
        self.inner = self.inner.mime(content_type)?;
        Ok(self)
    }

    /// Adds a header to this part. Fails on an invalid name or value.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, Error> {
        self.inner = self.inner.header(name, value)?;
        Ok(self)
    }
}
