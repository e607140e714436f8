//! The chunked transfer coding (RFC 9112 §7.1): a streaming decoder and the encoder's pieces.
//!
//! ```text
//! chunked-body = *chunk last-chunk trailer-section CRLF
//! chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! last-chunk   = 1*("0") [ chunk-ext ] CRLF
//! ```
//!
//! The decoder is strict where framing is concerned: every line ends in CRLF (a bare LF is an
//! error), chunk data is followed by exactly CRLF, a size that overflows 64 bits is an error.
//! Its one leniency: spaces and tabs after a size, before its extensions or its line's end.
//! Extensions are checked for forbidden bytes and bounded in total; trailers are bounded in
//! bytes, lines and count, and returned as [`Headers`].

use std::ops::Range;

use crate::error::{ChunkPhase, RemoteError};
use crate::headers::{Headers, is_tchar};
use crate::limits::Limits;

/// A complete `1*16HEXDIG CRLF` line at the start of `input`: its size and length.
fn whole_size_line(input: &[u8]) -> Option<(u64, usize)> {
    let mut size: u64 = 0;
    for (k, &b) in input.iter().enumerate().take(17) {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            b'\r' if k > 0 => return (input.get(k + 1) == Some(&b'\n')).then_some((size, k + 2)),
            _ => return None,
        };
        if k == 16 {
            return None;
        }
        size = size << 4 | u64::from(digit);
    }
    None
}

/// A chunk at least this large makes the next chunk's framing worth a short read of its own.
const LARGE_CHUNK: u64 = 8 * 1024;

/// What one call to [`ChunkedDecoder::decode`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Body data: this range of the input.
    Data(Range<usize>),
    /// The body is complete; here are its trailer fields (often none).
    End(Headers),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size; `digits` so far.
    Size { digits: usize },
    /// Whitespace after the size, before a `;` or the line's end.
    SizeSpace,
    /// Inside chunk extensions.
    Extension,
    /// Saw the CR ending a chunk-size line.
    SizeLf,
    /// Inside chunk data.
    Data,
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// Inside the trailer section; the current line started at `line_start` of `trailers`.
    Trailer,
    /// Saw a CR in the trailer section.
    TrailerLf,
    /// The body is complete.
    Done,
}

/// A streaming chunked-body decoder that borrows its input and copies no body data.
///
/// Feed it whatever bytes have arrived; it returns how many it consumed and, at most, one
/// piece of output. Framing bytes are consumed and remembered, so bytes may arrive split
/// anywhere, including one at a time, with the same result. Errors are final.
///
/// ```
/// use duet_core::{ChunkedDecoder, Decoded, Limits};
/// let mut decoder = ChunkedDecoder::new(&Limits::default());
/// let input = b"5\r\nhello\r\n0\r\n\r\n";
/// let (used, out) = decoder.decode(input, usize::MAX).unwrap();
/// assert_eq!(out, Some(Decoded::Data(3..8)));
/// let (used2, out) = decoder.decode(&input[used..], usize::MAX).unwrap();
/// assert!(matches!(out, Some(Decoded::End(t)) if t.is_empty()));
/// assert_eq!(used + used2, input.len());
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The current chunk's size while reading it; the bytes left while in `Data`.
    remaining: u64,
    /// Bytes of the current chunk-size line.
    line_bytes: usize,
    /// Extension bytes so far in this body.
    extension_bytes: usize,
    /// Decoded data bytes so far.
    received: u64,
    /// The size of the latest chunk with data.
    last_chunk: u64,
    /// The bytes of that chunk's size line, CRLF included.
    last_size_line: usize,
    /// The trailer section so far, lines separated by LF.
    trailers: Vec<u8>,
    /// Bytes of the trailer section on the wire so far.
    trailer_bytes: usize,
    trailer_line_start: usize,
    trailer_lines: usize,
    max_line_bytes: usize,
    max_extension_bytes: usize,
    max_trailer_bytes: usize,
    max_trailers: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body, bounded by `limits`.
    pub fn new(limits: &Limits) -> Self {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            remaining: 0,
            line_bytes: 0,
            extension_bytes: 0,
            received: 0,
            last_chunk: 0,
            last_size_line: 0,
            trailers: Vec::new(),
            trailer_bytes: 0,
            trailer_line_start: 0,
            trailer_lines: 0,
            max_line_bytes: limits.max_line_bytes,
            max_extension_bytes: limits.max_chunk_extension_bytes,
            max_trailer_bytes: limits.max_trailer_bytes,
            max_trailers: limits.max_headers,
        }
    }

    /// Decodes from `input`, returning the bytes consumed and at most one output.
    ///
    /// A `Data` range (at most `max_data` bytes long, and always inside the consumed part) is
    /// body data; `End` means the body is complete and the rest of `input` is not part of it;
    /// `None` means every byte was consumed and more input is needed.
    pub fn decode(
        &mut self,
        input: &[u8],
        max_data: usize,
    ) -> Result<(usize, Option<Decoded>), RemoteError> {
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Data {
                let n = (input.len() - i).min(max_data.max(1));
                let n = n.min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                self.remaining -= n as u64;
                self.received += n as u64;
                if self.remaining == 0 {
                    self.state = State::DataCr;
                }
                return Ok((i + n, Some(Decoded::Data(i..i + n))));
            }
            // Fast paths for framing that is all here: the CRLF after data, a bare size line.
            if self.state == State::DataCr && input[i..].starts_with(b"\r\n") {
                self.state = State::Size { digits: 0 };
                i += 2;
                continue;
            }
            if self.state == (State::Size { digits: 0 })
                && self.max_line_bytes >= 16
                && let Some((size, used)) = whole_size_line(&input[i..])
            {
                i += used;
                self.remaining = size;
                self.state = if size == 0 {
                    State::Trailer
                } else {
                    self.last_chunk = size;
                    self.last_size_line = used;
                    State::Data
                };
                continue;
            }
            let byte = input[i];
            i += 1;
            if let Some(trailers) = self.step(byte)? {
                return Ok((i, Some(Decoded::End(trailers))));
            }
        }
        Ok((i, None))
    }

    /// Bytes of chunk data that come next on the wire with no framing in between: the rest
    /// of the current chunk while inside its data, else 0.
    pub(crate) fn data_ahead(&self) -> u64 {
        match self.state {
            State::Data => self.remaining,
            _ => 0,
        }
    }

    /// Whether the next bytes are the framing between two chunks (the end of one, the size
    /// line of the next) and the latest chunk was large: a hint that a short read gets the
    /// framing, so the next chunk's data can then be read straight to the caller. The hint is
    /// how long that framing is if the next size line is as long as the latest one (as a
    /// server streaming equal chunks sends them); partway through a size line, `partway`.
    pub(crate) fn large_chunk_framing_ahead(&self, partway: usize) -> Option<usize> {
        if self.last_chunk < LARGE_CHUNK {
            return None;
        }
        match self.state {
            State::DataCr => Some(2 + self.last_size_line),
            State::DataLf => Some(1 + self.last_size_line),
            State::Size { digits: 0 } => Some(self.last_size_line),
            State::Size { .. } | State::SizeSpace | State::SizeLf => Some(partway),
            _ => None,
        }
    }

    /// Inside a large chunk's data: how long the framing after it is (its CRLF, then the next
    /// size line) if that size line is as long as this chunk's, so a read of the rest of the
    /// data can take the framing with it and leave the next chunk's data to a read of its
    /// own. `None` elsewhere.
    pub(crate) fn framing_after_data(&self) -> Option<usize> {
        (self.state == State::Data && self.last_chunk >= LARGE_CHUNK)
            .then_some(2 + self.last_size_line)
    }

    /// Right after a chunk's data, takes `input` if it is exactly the framing before the next
    /// chunk's data: CRLF and a size line of hex digits (no extension) for a chunk that is not
    /// the last. Then the decoder is inside that chunk's data and the answer is `true`;
    /// otherwise nothing changes and the input is left to [`decode`](Self::decode).
    ///
    /// The driver took as many bytes as the framing was foretold to be (see
    /// [`framing_after_data`](Self::framing_after_data)), so a size line that is all of the
    /// rest is as long as the latest one, which was within the line limit.
    pub(crate) fn take_exact_framing(&mut self, input: &[u8]) -> bool {
        if self.state != State::DataCr {
            return false;
        }
        let Some(line) = input.strip_prefix(b"\r\n") else {
            return false;
        };
        match whole_size_line(line) {
            Some((size, used)) if size > 0 && used == line.len() => {
                self.remaining = size;
                self.last_chunk = size;
                self.last_size_line = used;
                self.state = State::Data;
                true
            }
            _ => false,
        }
    }

    /// `n` bytes of chunk data (at most [`data_ahead`](Self::data_ahead)) went to the caller
    /// without passing through [`decode`](Self::decode).
    pub(crate) fn skip_data(&mut self, n: u64) {
        debug_assert!(n <= self.data_ahead());
        let n = n.min(self.data_ahead());
        self.remaining -= n;
        self.received += n;
        if self.state == State::Data && self.remaining == 0 {
            self.state = State::DataCr;
        }
    }

    /// Whether the body is complete.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decoded body bytes so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The error for a connection that closed now: [`RemoteError::IncompleteChunkedBody`],
    /// saying where the decoder was. `None` if the body is complete.
    pub fn eof_error(&self) -> Option<RemoteError> {
        let phase = match self.state {
            State::Done => return None,
            State::Size { .. } | State::SizeSpace | State::Extension | State::SizeLf => {
                ChunkPhase::SizeLine
            }
            State::Data => ChunkPhase::Data {
                missing: self.remaining,
            },
            State::DataCr | State::DataLf => ChunkPhase::DataEnd,
            State::Trailer | State::TrailerLf => ChunkPhase::Trailers,
        };
        Some(RemoteError::IncompleteChunkedBody {
            received: self.received,
            phase,
        })
    }

    /// Advances the framing state by one byte; returns the trailers when the body ends.
    fn step(&mut self, byte: u8) -> Result<Option<Headers>, RemoteError> {
        match self.state {
            State::Size { .. } | State::SizeSpace | State::Extension | State::SizeLf => {
                self.size_line(byte)?
            }
            State::DataCr | State::DataLf => self.data_end(byte)?,
            State::Trailer | State::TrailerLf => return self.trailer(byte),
            State::Data | State::Done => unreachable!("handled by decode"),
        }
        Ok(None)
    }

    fn size_line(&mut self, byte: u8) -> Result<(), RemoteError> {
        self.line_bytes += 1;
        if self.line_bytes.saturating_sub(2) > self.max_line_bytes {
            return Err(RemoteError::LineTooLong {
                limit: self.max_line_bytes,
            });
        }
        let invalid = RemoteError::InvalidChunkSize { byte };
        let bare = |found| RemoteError::ExpectedCrlf {
            phase: ChunkPhase::SizeLine,
            found,
        };
        self.state = match (self.state, byte) {
            (State::Size { digits }, _) if byte.is_ascii_hexdigit() => {
                let digit = u64::from((byte as char).to_digit(16).unwrap_or(0));
                self.remaining = self
                    .remaining
                    .checked_mul(16)
                    .and_then(|n| n.checked_add(digit))
                    .ok_or(RemoteError::ChunkSizeOverflow)?;
                State::Size { digits: digits + 1 }
            }
            (State::Size { digits: 0 }, _) => return Err(invalid),
            (State::Size { .. } | State::SizeSpace, b' ' | b'\t') => State::SizeSpace,
            (State::Size { .. } | State::SizeSpace, b';') => self.extension()?,
            // Whitespace may also end the line: the grammar has none there, but servers pad
            // sizes, and h11, http.client and curl all take it (the size stays unambiguous).
            (State::Size { .. } | State::SizeSpace | State::Extension, b'\r') => State::SizeLf,
            (State::Size { .. } | State::SizeSpace | State::Extension, b'\n') => {
                return Err(bare(b'\n'));
            }
            (State::Extension, _) if byte == b'\t' || (byte >= 0x20 && byte != 0x7f) => {
                self.extension()?
            }
            (State::SizeLf, b'\n') => {
                let line = std::mem::take(&mut self.line_bytes);
                if self.remaining == 0 {
                    State::Trailer
                } else {
                    self.last_chunk = self.remaining;
                    self.last_size_line = line;
                    State::Data
                }
            }
            (State::SizeLf, _) => return Err(bare(byte)),
            _ => return Err(invalid),
        };
        Ok(())
    }

    fn extension(&mut self) -> Result<State, RemoteError> {
        self.extension_bytes += 1;
        if self.extension_bytes > self.max_extension_bytes {
            return Err(RemoteError::ChunkExtensionsTooLarge {
                limit: self.max_extension_bytes,
            });
        }
        Ok(State::Extension)
    }

    fn data_end(&mut self, byte: u8) -> Result<(), RemoteError> {
        self.state = match (self.state, byte) {
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => State::Size { digits: 0 },
            _ => {
                return Err(RemoteError::ExpectedCrlf {
                    phase: ChunkPhase::DataEnd,
                    found: byte,
                });
            }
        };
        Ok(())
    }

    fn trailer(&mut self, byte: u8) -> Result<Option<Headers>, RemoteError> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > self.max_trailer_bytes {
            return Err(RemoteError::TrailersTooLarge {
                limit: self.max_trailer_bytes,
            });
        }
        let bare = |found| RemoteError::ExpectedCrlf {
            phase: ChunkPhase::Trailers,
            found,
        };
        match (self.state, byte) {
            (State::Trailer, b'\r') => self.state = State::TrailerLf,
            (State::Trailer, b'\n') => return Err(bare(byte)),
            (State::Trailer, _) => {
                if self.trailers.len() - self.trailer_line_start >= self.max_line_bytes {
                    return Err(RemoteError::LineTooLong {
                        limit: self.max_line_bytes,
                    });
                }
                self.trailers.push(byte);
            }
            (_, b'\n') if self.trailers.len() == self.trailer_line_start => {
                // An empty line ends the section.
                self.state = State::Done;
                return self.parse_trailers().map(Some);
            }
            (_, b'\n') => {
                self.trailer_lines += 1;
                if self.trailer_lines > self.max_trailers {
                    return Err(RemoteError::TooManyTrailers {
                        limit: self.max_trailers,
                    });
                }
                self.trailers.push(b'\n');
                self.trailer_line_start = self.trailers.len();
                self.state = State::Trailer;
            }
            (_, _) => return Err(bare(byte)),
        }
        Ok(None)
    }

    /// Parses the collected trailer lines as `name: value` fields (RFC 9112 §5).
    fn parse_trailers(&mut self) -> Result<Headers, RemoteError> {
        let mut headers = Headers::new();
        let raw = std::mem::take(&mut self.trailers);
        for (index, line) in raw
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let bad = RemoteError::InvalidTrailer { line: index + 1 };
            let colon = line.iter().position(|&b| b == b':').ok_or(bad.clone())?;
            let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
            let value_ok = value
                .iter()
                .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f));
            if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) || !value_ok {
                return Err(bad);
            }
            headers.push_unchecked(name, value);
        }
        Ok(headers)
    }
}

/// Appends the line that starts a chunk of `len` bytes: the size in hex and CRLF.
pub(crate) fn push_chunk_start(out: &mut Vec<u8>, len: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = len;
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; returns the body, trailers, and what is
    /// left after the end.
    fn run(
        input: &[u8],
        step: usize,
        limits: &Limits,
    ) -> Result<(Vec<u8>, Headers, usize), RemoteError> {
        let mut decoder = ChunkedDecoder::new(limits);
        let mut body = Vec::new();
        let mut pos = 0;
        let mut avail = 0;
        loop {
            if pos == avail {
                if avail == input.len() {
                    return Err(decoder.eof_error().expect("ended"));
                }
                avail = (avail + step).min(input.len());
            }
            assert!(!decoder.is_done());
            let (used, out) = decoder.decode(&input[pos..avail], 3)?;
            match out {
                Some(Decoded::Data(r)) => body.extend_from_slice(&input[pos..avail][r]),
                Some(Decoded::End(t)) => {
                    assert!(decoder.is_done());
                    assert_eq!(decoder.received(), body.len() as u64);
                    return Ok((body, t, input.len() - pos - used));
                }
                None => assert_eq!(used, avail - pos),
            }
            assert_eq!(decoder.received(), body.len() as u64);
            pos += used;
        }
    }

    fn all_splits(input: &[u8]) -> Result<(Vec<u8>, Headers, usize), RemoteError> {
        let limits = Limits::default();
        let whole = run(input, input.len().max(1), &limits);
        for step in 1..input.len() {
            assert_eq!(run(input, step, &limits), whole, "step {step}");
        }
        whole
    }

    #[test]
    fn decodes_chunks_extensions_and_trailers_at_any_split() {
        let input =
            b"5;name=\"va;l\"\r\nhello\r\n006 ; x\r\n world\r\n0\r\nX-Sum: 42 \r\nX-B:\r\n\r\nNEXT";
        let (body, trailers, left) = all_splits(input).unwrap();
        assert_eq!(body, b"hello world");
        assert_eq!(trailers.get("x-sum"), Some(&b"42"[..]));
        assert_eq!(trailers.get("x-b"), Some(&b""[..]));
        assert_eq!(left, 4);
        let (body, trailers, left) = all_splits(b"A\r\n0123456789\r\n000\r\n\r\n").unwrap();
        assert_eq!((body.len(), trailers.len(), left), (10, 0, 0));
        // Sizes padded before the line's end, as some servers send them.
        let (body, _, left) = all_splits(b"5 \r\nhello\r\n6\t \r\n world\r\n0  \r\n\r\n").unwrap();
        assert_eq!((&body[..], left), (&b"hello world"[..], 0));
    }

    #[test]
    fn framing_errors() {
        let cases: [(&[u8], RemoteError); 13] = [
            (b"x\r\n", RemoteError::InvalidChunkSize { byte: b'x' }),
            (b"\r\n", RemoteError::InvalidChunkSize { byte: b'\r' }),
            (b"0x5\r\n", RemoteError::InvalidChunkSize { byte: b'x' }),
            (b"5 6\r\n", RemoteError::InvalidChunkSize { byte: b'6' }),
            (b"-5\r\n", RemoteError::InvalidChunkSize { byte: b'-' }),
            (
                b"5\nhello\r\n",
                RemoteError::ExpectedCrlf {
                    phase: ChunkPhase::SizeLine,
                    found: b'\n',
                },
            ),
            (
                b"5 \nhello\r\n",
                RemoteError::ExpectedCrlf {
                    phase: ChunkPhase::SizeLine,
                    found: b'\n',
                },
            ),
            (
                b"5\rhello\r\n",
                RemoteError::ExpectedCrlf {
                    phase: ChunkPhase::SizeLine,
                    found: b'h',
                },
            ),
            (
                b"5\r\nhello\n0\r\n\r\n",
                RemoteError::ExpectedCrlf {
                    phase: ChunkPhase::DataEnd,
                    found: b'\n',
                },
            ),
            (
                b"5\r\nhelloXX",
                RemoteError::ExpectedCrlf {
                    phase: ChunkPhase::DataEnd,
                    found: b'X',
                },
            ),
            (
                b"1\r\na\r\n0\r\n\n",
                RemoteError::ExpectedCrlf {
                    phase: ChunkPhase::Trailers,
                    found: b'\n',
                },
            ),
            (
                b"0\r\nA: b\rX",
                RemoteError::ExpectedCrlf {
                    phase: ChunkPhase::Trailers,
                    found: b'X',
                },
            ),
            (b"1;a\0\r\n", RemoteError::InvalidChunkSize { byte: 0 }),
        ];
        for (input, err) in cases {
            assert_eq!(
                all_splits(input),
                Err(err),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(
            all_splits(b"10000000000000000\r\n"),
            Err(RemoteError::ChunkSizeOverflow)
        );
        assert_eq!(
            all_splits(b"0\r\nno colon\r\n\r\n"),
            Err(RemoteError::InvalidTrailer { line: 1 })
        );
        assert_eq!(
            all_splits(b"0\r\nA: 1\r\nB d: 2\r\n\r\n"),
            Err(RemoteError::InvalidTrailer { line: 2 })
        );
        assert_eq!(
            all_splits(b"0\r\nA: \x01\r\n\r\n"),
            Err(RemoteError::InvalidTrailer { line: 1 })
        );
    }

    #[test]
    fn foretells_the_framing_after_a_large_chunk_from_its_size_line() {
        // The fast path (a bare size line, whole) and the byte-at-a-time path (here with an
        // extension) remember the same: the line's length, CRLF included.
        for (line, step) in [(&b"2000\r\n"[..], 64), (b"2000;a=b\r\n", 1)] {
            let mut decoder = ChunkedDecoder::new(&Limits::default());
            assert_eq!(decoder.large_chunk_framing_ahead(64), None, "no chunk yet");
            let mut input = line.to_vec();
            input.extend(vec![b'x'; 0x2000]);
            let mut pos = 0;
            while pos < input.len() {
                let end = input.len().min(pos + step);
                let (used, _) = decoder.decode(&input[pos..end], usize::MAX).unwrap();
                pos += used;
            }
            assert_eq!(decoder.large_chunk_framing_ahead(64), Some(2 + line.len()));
            decoder.decode(b"\r", usize::MAX).unwrap();
            assert_eq!(decoder.large_chunk_framing_ahead(64), Some(1 + line.len()));
            decoder.decode(b"\n", usize::MAX).unwrap();
            assert_eq!(decoder.large_chunk_framing_ahead(64), Some(line.len()));
            decoder.decode(b"1", usize::MAX).unwrap();
            assert_eq!(decoder.large_chunk_framing_ahead(64), Some(64), "partway");
            decoder.decode(b"\r\n", usize::MAX).unwrap();
            assert_eq!(
                decoder.large_chunk_framing_ahead(64),
                None,
                "in a small chunk's data"
            );
        }
    }

    #[test]
    fn max_size_fits() {
        let mut decoder = ChunkedDecoder::new(&Limits::default());
        assert_eq!(
            decoder.decode(b"ffffffffffffffff\r\n", 10).unwrap(),
            (18, None)
        );
        assert_eq!(
            decoder.eof_error(),
            Some(RemoteError::IncompleteChunkedBody {
                received: 0,
                phase: ChunkPhase::Data { missing: u64::MAX }
            })
        );
    }

    #[test]
    fn limits() {
        let mut limits = Limits {
            max_chunk_extension_bytes: 8,
            max_trailer_bytes: 13,
            max_line_bytes: 6,
            max_headers: 1,
            ..Limits::default()
        };
        // Byte by byte and whole: a line that is all there is held to the limits too.
        fn both(input: &[u8], limits: &Limits) -> Result<(), RemoteError> {
            let whole = run(input, input.len(), limits).map(|_| ());
            assert_eq!(run(input, 1, limits).map(|_| ()), whole);
            whole
        }
        let go = |input: &[u8]| both(input, &limits);
        assert_eq!(
            go(b"1;abcd\r\na\r\n1;abcd\r\na\r\n"),
            Err(RemoteError::ChunkExtensionsTooLarge { limit: 8 })
        );
        assert_eq!(
            go(b"1;abc\r\na\r\n1;abc\r\na\r\n0\r\n\r\n"),
            Ok(()),
            "extensions of exactly the limit"
        );
        assert_eq!(
            go(b"00000000\r\n"),
            Err(RemoteError::LineTooLong { limit: 6 })
        );
        assert_eq!(
            go(b"0\r\nA: 1234\r\n\r\n"),
            Err(RemoteError::LineTooLong { limit: 6 })
        );
        assert_eq!(
            go(b"0\r\nA: 1\r\nB: 2\r\n\r\n"),
            Err(RemoteError::TooManyTrailers { limit: 1 })
        );
        assert_eq!(
            go(b"0\r\nA: 1\r\n\r\n"),
            Ok(()),
            "as many trailers as the limit"
        );
        limits.max_headers = 10;
        let go = |input: &[u8]| both(input, &limits);
        assert_eq!(
            go(b"0\r\nA: 1\r\nB: 2\r\n\r\n"),
            Err(RemoteError::TrailersTooLarge { limit: 13 })
        );
        assert_eq!(go(b"0\r\nA: 1\r\nB:2\r\n\r\n"), Ok(()));
    }

    #[test]
    fn eof_says_where() {
        let phase = |input: &[u8]| match run(input, input.len(), &Limits::default()) {
            Err(RemoteError::IncompleteChunkedBody { received, phase }) => (received, phase),
            other => panic!("{other:?}"),
        };
        assert_eq!(phase(b""), (0, ChunkPhase::SizeLine));
        assert_eq!(phase(b"5\r"), (0, ChunkPhase::SizeLine));
        assert_eq!(phase(b"5\r\nhe"), (2, ChunkPhase::Data { missing: 3 }));
        assert_eq!(phase(b"5\r\nhello\r"), (5, ChunkPhase::DataEnd));
        assert_eq!(
            phase(b"5\r\nhello\r\n0\r\nA: b\r\n"),
            (5, ChunkPhase::Trailers)
        );
    }

    #[test]
    fn chunk_start_lines() {
        for (len, want) in [
            (0, "0\r\n"),
            (10, "a\r\n"),
            (4096, "1000\r\n"),
            (usize::MAX, "ffffffffffffffff\r\n"),
        ] {
            let mut out = Vec::new();
            push_chunk_start(&mut out, len);
            assert_eq!(out, want.as_bytes());
        }
    }
}
