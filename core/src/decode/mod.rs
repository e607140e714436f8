//! Content codings (RFC 9110 §8.4): undoing `Content-Encoding` on a response body, push-based.
//!
//! A driver builds a [`ContentDecoder`] from the response's header fields, passes it the body
//! bytes as they arrive ([`ContentDecoder::decode`]) and calls [`ContentDecoder::finish`] when
//! the body ends. The decoder never reads or buffers more than it is given, and never holds
//! more than one bounded piece of output per coding: every piece is counted against
//! [`Limits::max_decoded_body_bytes`] before it is passed on, so a decompression bomb fails
//! with [`DecodeError::TooLarge`] after at most that many bytes, not after filling memory.
//!
//! ```text
//!   body bytes ──> last coding listed ──> ... ──> first coding listed ──> decoded bytes
//!                  (pieces of ≤ 32 KiB flow through every stage as soon as they are ready)
//! ```
//!
//! Codings: `gzip` / `x-gzip` (RFC 9110 §8.4.1.3, RFC 1952, several members decode as one),
//! `deflate` (RFC 9110 §8.4.1.2: a zlib stream, RFC 1950; raw RFC 1951 deflate is accepted too,
//! since many servers send it), `br` (RFC 7932, feature `brotli`) and `zstd` (RFC 8878, feature
//! `zstd`). `identity` is skipped.

use std::fmt;

use crate::Headers;
use crate::Limits;
use crate::headers::list_items;

mod flate;

#[cfg(feature = "brotli")]
mod brotli;
#[cfg(feature = "zstd")]
mod zstd;

#[cfg(test)]
mod tests;

/// Size of the piece each coding decodes into before passing it on.
const PIECE: usize = 32 * 1024;

/// Where a coding sends each decoded piece: the next coding, or the caller's buffer.
type Sink<'a> = dyn FnMut(&[u8]) -> Result<(), DecodeError> + 'a;

/// Why a response body could not be decoded. Every variant is fatal for the body: the
/// [`ContentDecoder`] that returned it returns the same error from every later call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// `Content-Encoding` names a coding duet does not decode (or whose feature is off).
    #[error("unsupported content coding {coding:?}")]
    Unsupported {
        /// The coding as the server wrote it.
        coding: String,
    },
    /// More stacked codings than `Limits::max_content_encodings` (`identity` not counted).
    #[error("{count} content codings exceed the limit of {limit}")]
    TooManyEncodings {
        /// Codings listed, without `identity`.
        count: usize,
        /// `Limits::max_content_encodings`.
        limit: usize,
    },
    /// A coding would expand beyond `Limits::max_decoded_body_bytes`.
    #[error("decoded body exceeds {limit} bytes")]
    TooLarge {
        /// `Limits::max_decoded_body_bytes`.
        limit: u64,
    },
    /// The coded data is invalid, or data follows the end of a coding's stream.
    #[error("corrupt {coding} data: {detail}")]
    Corrupt {
        /// `gzip`, `deflate`, `br` or `zstd`.
        coding: &'static str,
        /// What the decoder objected to.
        detail: String,
    },
    /// The body ended before the end of a coding's stream.
    #[error("{coding} data ended early")]
    Truncated {
        /// `gzip`, `deflate`, `br` or `zstd`.
        coding: &'static str,
    },
}

/// One coding's decoder.
enum Stage {
    Gzip(flate::Gzip),
    Deflate(flate::Deflate),
    /// Boxed: the brotli decoder's state is large.
    #[cfg(feature = "brotli")]
    Brotli(Box<brotli::Brotli>),
    #[cfg(feature = "zstd")]
    Zstd(zstd::Zstd),
}

impl Stage {
    /// The stage for one listed coding (lowercase or not), `None` for `identity`.
    fn for_coding(coding: &[u8]) -> Result<Option<Stage>, DecodeError> {
        let lower = coding.to_ascii_lowercase();
        Ok(Some(match &lower[..] {
            b"identity" => return Ok(None),
            // RFC 9110 §8.4.1.3: "x-gzip" is an alias of "gzip".
            b"gzip" | b"x-gzip" => Stage::Gzip(flate::Gzip::new()),
            b"deflate" => Stage::Deflate(flate::Deflate::new()),
            #[cfg(feature = "brotli")]
            b"br" => Stage::Brotli(Box::new(brotli::Brotli::new())),
            #[cfg(feature = "zstd")]
            b"zstd" => Stage::Zstd(zstd::Zstd::new()?),
            _ => {
                return Err(DecodeError::Unsupported {
                    coding: String::from_utf8_lossy(coding).into_owned(),
                });
            }
        }))
    }

    fn name(&self) -> &'static str {
        match self {
            Stage::Gzip(_) => "gzip",
            Stage::Deflate(_) => "deflate",
            #[cfg(feature = "brotli")]
            Stage::Brotli(_) => "br",
            #[cfg(feature = "zstd")]
            Stage::Zstd(_) => "zstd",
        }
    }

    fn push(&mut self, input: &[u8], sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        match self {
            Stage::Gzip(s) => s.push(input, sink),
            Stage::Deflate(s) => s.push(input, sink),
            #[cfg(feature = "brotli")]
            Stage::Brotli(s) => s.push(input, sink),
            #[cfg(feature = "zstd")]
            Stage::Zstd(s) => s.push(input, sink),
        }
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        match self {
            Stage::Gzip(s) => s.finish(sink),
            Stage::Deflate(s) => s.finish(sink),
            #[cfg(feature = "brotli")]
            Stage::Brotli(s) => s.finish(sink),
            #[cfg(feature = "zstd")]
            Stage::Zstd(s) => s.finish(sink),
        }
    }
}

/// A stage and how many bytes it has produced so far.
struct Layer {
    stage: Stage,
    produced: u64,
}

/// Decodes a response body's content codings, fed piece by piece as the body arrives.
///
/// Build it with [`ContentDecoder::from_headers`]; then call [`ContentDecoder::decode`] with
/// each piece of the (already de-chunked) body and [`ContentDecoder::finish`] when the body
/// ends. Input may be split anywhere: the output is the same however the body is cut.
///
/// ```
/// use std::io::Write;
/// use duet_core::{ContentDecoder, Headers, Limits};
///
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(b"hello, world").unwrap();
/// let body = gz.finish().unwrap();
///
/// let mut headers = Headers::new();
/// headers.append("Content-Encoding", "gzip").unwrap();
/// let mut decoder = ContentDecoder::from_headers(&headers, &Limits::default()).unwrap().unwrap();
/// let mut text = Vec::new();
/// for piece in body.chunks(5) {
///     decoder.decode(piece, &mut text).unwrap();
/// }
/// decoder.finish(&mut text).unwrap();
/// assert_eq!(text, b"hello, world");
/// assert_eq!(decoder.decoded_len(), 12);
/// ```
pub struct ContentDecoder {
    /// In decoding order: the last coding the server applied comes first.
    layers: Vec<Layer>,
    limit: u64,
    error: Option<DecodeError>,
    finished: bool,
}

impl ContentDecoder {
    /// The decoder for a response, from all its `Content-Encoding` fields (comma-separated
    /// lists, in the order the server applied the codings, RFC 9110 §8.4) and the transfer
    /// codings its `Transfer-Encoding` lists before the final `chunked` (or all of them when
    /// there is no `chunked`, the body then running to the close), which were applied after
    /// the content codings and so are undone first (RFC 9112 §6.1): a `gzip` transfer coding
    /// is decoded as a `gzip` content coding is, never handed over still coded. Call it once
    /// the response head has arrived, for a response that has a body.
    ///
    /// Returns `Ok(None)` when there is nothing to decode: no `Content-Encoding`, or only
    /// `identity`, and no transfer coding but `chunked`. Names are matched ignoring case.
    ///
    /// Errors: [`DecodeError::TooManyEncodings`] when more codings than
    /// `limits.max_content_encodings` are listed in all (`identity` not counted), else
    /// [`DecodeError::Unsupported`] for the first unknown coding (`br` and `zstd` are unknown
    /// without their features).
    pub fn from_headers(headers: &Headers, limits: &Limits) -> Result<Option<Self>, DecodeError> {
        let transfer = crate::framing::transfer_codings(headers).to_undo;
        if transfer.is_empty() && !headers.contains("content-encoding") {
            // The usual response: nothing to list.
            return Ok(None);
        }
        let codings: Vec<&[u8]> = headers
            .get_all("content-encoding")
            .flat_map(list_items)
            .filter(|c| !c.eq_ignore_ascii_case(b"identity"))
            .collect();
        let count = codings.len() + transfer.len();
        if count > limits.max_content_encodings {
            return Err(DecodeError::TooManyEncodings {
                count,
                limit: limits.max_content_encodings,
            });
        }
        let codings: Vec<&[u8]> = codings.into_iter().rev().collect();
        let transfer: Vec<&[u8]> = transfer.into_iter().rev().collect();
        let mut layers = Vec::with_capacity(count);
        // Decoding undoes the codings in reverse order of application: the transfer codings
        // (applied last) first, then the content codings.
        for coding in transfer.into_iter().chain(codings) {
            if let Some(stage) = Stage::for_coding(coding)? {
                layers.push(Layer { stage, produced: 0 });
            }
        }
        if layers.is_empty() {
            return Ok(None);
        }
        Ok(Some(ContentDecoder {
            layers,
            limit: limits.max_decoded_body_bytes,
            error: None,
            finished: false,
        }))
    }

    /// Decodes the next piece of the body, appending what it decodes to `out` (possibly
    /// nothing yet: codings may need more input first). Call it for every piece as it arrives.
    ///
    /// Errors, all fatal: [`DecodeError::Corrupt`] for invalid coded data, for data after the
    /// end of a coding's stream, or for any input after [`ContentDecoder::finish`];
    /// [`DecodeError::TooLarge`] as soon as a coding would produce more than
    /// `Limits::max_decoded_body_bytes` (the piece that crosses the limit is not appended).
    /// After an error, every call returns the same error.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if input.is_empty() {
            return Ok(());
        }
        if self.finished {
            let coding = self.layers[0].stage.name();
            return self.fail(DecodeError::Corrupt {
                coding,
                detail: "data after the end of the body".into(),
            });
        }
        let result = push_through(&mut self.layers, input, self.limit, out);
        result.or_else(|e| self.fail(e))
    }

    /// The body ended: appends any output the codings still hold to `out` and checks that
    /// every coding's stream is complete. Call it once, after the last
    /// [`ContentDecoder::decode`]; later calls return the same result.
    ///
    /// Errors, fatal: [`DecodeError::Truncated`] when a coding's stream (or, for gzip, the
    /// current member) did not end; an earlier error again. A body with no bytes at all
    /// decodes to nothing without error, as servers label empty bodies with codings too.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let result = finish_through(&mut self.layers, self.limit, out);
        result.or_else(|e| self.fail(e))
    }

    /// Decoded bytes appended to `out` so far, over all calls.
    pub fn decoded_len(&self) -> u64 {
        self.layers.last().map_or(0, |l| l.produced)
    }

    fn fail(&mut self, e: DecodeError) -> Result<(), DecodeError> {
        self.error = Some(e.clone());
        Err(e)
    }
}

/// Feeds `input` to the first layer; each piece it produces goes on through [`forward`].
fn push_through(
    layers: &mut [Layer],
    input: &[u8],
    limit: u64,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let Some((first, rest)) = layers.split_first_mut() else {
        out.extend_from_slice(input);
        return Ok(());
    };
    let Layer { stage, produced } = first;
    stage.push(input, &mut |piece| {
        forward(produced, rest, piece, limit, out)
    })
}

/// Finishes the layers from the outermost coding inwards, passing on what each still holds.
fn finish_through(layers: &mut [Layer], limit: u64, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let Some((first, rest)) = layers.split_first_mut() else {
        return Ok(());
    };
    let Layer { stage, produced } = first;
    stage.finish(&mut |piece| forward(produced, rest, piece, limit, out))?;
    finish_through(rest, limit, out)
}

/// Counts a piece produced by one layer, checks it against the limit, and feeds it to the
/// remaining layers (or appends it to `out` after the last).
///
/// Every layer's output is bounded by the limit, not only the last one's, so a stacked coding
/// cannot make an inner coding churn through an unbounded stream either.
fn forward(
    produced: &mut u64,
    rest: &mut [Layer],
    piece: &[u8],
    limit: u64,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let total = *produced + piece.len() as u64;
    if total > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    *produced = total;
    push_through(rest, piece, limit, out)
}

impl fmt::Debug for ContentDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codings: Vec<_> = self.layers.iter().map(|l| l.stage.name()).collect();
        f.debug_struct("ContentDecoder")
            .field("decoding_order", &codings)
            .field("decoded_len", &self.decoded_len())
            .field("limit", &self.limit)
            .field("error", &self.error)
            .field("finished", &self.finished)
            .finish()
    }
}
