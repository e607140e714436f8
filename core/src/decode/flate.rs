//! `gzip` (RFC 1952) and `deflate` (RFC 1950 zlib, or raw RFC 1951) with flate2's low-level
//! [`Decompress`], which decodes into a bounded buffer and says exactly how much it consumed.
//!
//! flate2's gzip support comes only as `Read`/`Write` adaptors, whose `io::Error`s cannot tell a
//! truncated member from a corrupt one; the gzip framing around the deflate data (a header of
//! at most a few optional fields and an 8-byte trailer) is therefore parsed here, with
//! flate2's [`Crc`] for the checksums.

use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::{DecodeError, PIECE, Sink};

/// One deflate stream, raw or zlib-wrapped, inflated in pieces of at most [`PIECE`] bytes.
struct Inflate {
    raw: Decompress,
    coding: &'static str,
    ended: bool,
}

impl Inflate {
    fn new(zlib: bool, coding: &'static str) -> Self {
        Inflate {
            raw: Decompress::new(zlib),
            coding,
            ended: false,
        }
    }

    /// Inflates from `input` until it is used up or the stream ends, passing every piece to
    /// `emit`. Returns how many bytes of `input` belonged to the stream.
    fn push(
        &mut self,
        input: &[u8],
        scratch: &mut [u8],
        emit: &mut Sink<'_>,
    ) -> Result<usize, DecodeError> {
        let mut pos = 0;
        while !self.ended {
            let (in_before, out_before) = (self.raw.total_in(), self.raw.total_out());
            let status = self
                .raw
                .decompress(&input[pos..], scratch, FlushDecompress::None)
                .map_err(|e| self.corrupt(e.to_string()))?;
            // Both differences are bounded by the slice lengths passed in.
            let read = (self.raw.total_in() - in_before) as usize;
            let written = (self.raw.total_out() - out_before) as usize;
            pos += read;
            if written > 0 {
                emit(&scratch[..written])?;
            }
            if status == Status::StreamEnd {
                self.ended = true;
            } else if read == 0 && written == 0 {
                break; // needs more input
            }
        }
        Ok(pos)
    }

    fn corrupt(&self, detail: String) -> DecodeError {
        DecodeError::Corrupt {
            coding: self.coding,
            detail,
        }
    }
}

/// Whether two bytes start a zlib stream (RFC 1950 §2.2): method 8 (deflate), a window of at
/// most 32 KiB, and a header check that makes `CMF * 256 + FLG` a multiple of 31.
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) * 256 + u16::from(flg)) % 31 == 0
}

/// `Content-Encoding: deflate`. RFC 9110 §8.4.1.2 defines it as a zlib stream, but many
/// servers send raw deflate: the first two bytes decide, as in browsers and curl.
pub(super) struct Deflate {
    head: [u8; 2],
    head_len: usize,
    inflate: Option<Inflate>,
    scratch: Vec<u8>,
}

impl Deflate {
    pub(super) fn new() -> Self {
        Deflate {
            head: [0; 2],
            head_len: 0,
            inflate: None,
            scratch: Vec::new(),
        }
    }

    pub(super) fn push(
        &mut self,
        mut input: &[u8],
        sink: &mut Sink<'_>,
    ) -> Result<(), DecodeError> {
        if self.inflate.is_none() {
            let take = input.len().min(2 - self.head_len);
            self.head[self.head_len..self.head_len + take].copy_from_slice(&input[..take]);
            self.head_len += take;
            input = &input[take..];
            if self.head_len < 2 {
                return Ok(());
            }
            let zlib = is_zlib_header(self.head[0], self.head[1]);
            let mut inflate = Inflate::new(zlib, "deflate");
            self.scratch.resize(PIECE, 0);
            let head = self.head;
            let used = inflate.push(&head, &mut self.scratch, sink)?;
            self.inflate = Some(inflate);
            if used < head.len() {
                return Err(after_end("deflate"));
            }
        }
        let Some(inflate) = &mut self.inflate else {
            return Ok(());
        };
        if inflate.ended && !input.is_empty() {
            return Err(after_end("deflate"));
        }
        let used = inflate.push(input, &mut self.scratch, sink)?;
        if used < input.len() {
            return Err(after_end("deflate"));
        }
        Ok(())
    }

    pub(super) fn finish(&mut self, _sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        match &self.inflate {
            None if self.head_len == 0 => Ok(()), // an empty body
            Some(inflate) if inflate.ended => Ok(()),
            _ => Err(DecodeError::Truncated { coding: "deflate" }),
        }
    }
}

fn after_end(coding: &'static str) -> DecodeError {
    DecodeError::Corrupt {
        coding,
        detail: format!("data after the end of the {coding} stream"),
    }
}

// RFC 1952 §2.3.1: member header flags.
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;

/// The parts of a gzip member header (RFC 1952 §2.3), in order; optional ones by flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum HeaderPart {
    /// ID1 ID2 CM FLG MTIME(4) XFL OS.
    Fixed,
    ExtraLen,
    Extra,
    Name,
    Comment,
    HeaderCrc,
    Done,
}

/// Parses one gzip member header, fed in any pieces, without keeping its optional fields.
struct GzipHeader {
    part: HeaderPart,
    flags: u8,
    /// Bytes seen of the current fixed-size part (Fixed, ExtraLen, HeaderCrc).
    seen: usize,
    /// Little-endian value being read (XLEN, or the header CRC16).
    value: u16,
    /// Bytes of FEXTRA data still to skip.
    extra_left: u16,
    crc: Crc,
}

impl GzipHeader {
    fn new() -> Self {
        GzipHeader {
            part: HeaderPart::Fixed,
            flags: 0,
            seen: 0,
            value: 0,
            extra_left: 0,
            crc: Crc::new(),
        }
    }

    /// Moves to the next part present in this member.
    fn advance(&mut self) {
        use HeaderPart::*;
        self.seen = 0;
        self.value = 0;
        self.part = match self.part {
            Fixed if self.flags & FEXTRA != 0 => ExtraLen,
            Fixed | ExtraLen | Extra if self.flags & FNAME != 0 => Name,
            Fixed | ExtraLen | Extra | Name if self.flags & FCOMMENT != 0 => Comment,
            Fixed | ExtraLen | Extra | Name | Comment if self.flags & FHCRC != 0 => HeaderCrc,
            _ => Done,
        };
    }

    /// Consumes header bytes from `input`; returns how many. The header is complete when
    /// `self.part` is `Done`.
    fn push(&mut self, input: &[u8]) -> Result<usize, DecodeError> {
        let mut pos = 0;
        while self.part != HeaderPart::Done && pos < input.len() {
            let byte = input[pos];
            pos += 1;
            if self.part != HeaderPart::HeaderCrc {
                self.crc.update(&[byte]);
            }
            match self.part {
                HeaderPart::Fixed => {
                    self.fixed_byte(byte)?;
                    self.seen += 1;
                    if self.seen == 10 {
                        self.advance();
                    }
                }
                HeaderPart::ExtraLen | HeaderPart::HeaderCrc => {
                    self.value |= u16::from(byte) << (8 * self.seen);
                    self.seen += 1;
                    if self.seen == 2 {
                        self.two_byte_value_done()?;
                    }
                }
                HeaderPart::Extra => {
                    self.extra_left -= 1;
                    if self.extra_left == 0 {
                        self.advance();
                    }
                }
                HeaderPart::Name | HeaderPart::Comment => {
                    if byte == 0 {
                        self.advance();
                    }
                }
                HeaderPart::Done => {}
            }
        }
        Ok(pos)
    }

    fn fixed_byte(&mut self, byte: u8) -> Result<(), DecodeError> {
        let detail = match (self.seen, byte) {
            (0, 0x1f) | (1, 0x8b) | (2, 8) => return Ok(()),
            (0 | 1, _) => "not a gzip member (wrong magic bytes)".to_string(),
            (2, method) => format!("unknown compression method {method}"),
            (3, flags) if flags & FRESERVED != 0 => format!("reserved header flags 0x{flags:02x}"),
            (3, flags) => {
                self.flags = flags;
                return Ok(());
            }
            _ => return Ok(()), // MTIME, XFL, OS: not needed to decode
        };
        Err(DecodeError::Corrupt {
            coding: "gzip",
            detail,
        })
    }

    fn two_byte_value_done(&mut self) -> Result<(), DecodeError> {
        if self.part == HeaderPart::ExtraLen {
            self.extra_left = self.value;
            self.advance();
            if self.extra_left != 0 {
                self.part = HeaderPart::Extra;
            }
            return Ok(());
        }
        // The CRC16 is the low 16 bits of the CRC32 of the header before it (RFC 1952 §2.3.1).
        if u32::from(self.value) != self.crc.sum() & 0xffff {
            return Err(DecodeError::Corrupt {
                coding: "gzip",
                detail: "header checksum mismatch".into(),
            });
        }
        self.advance();
        Ok(())
    }
}

/// Where the gzip decoder is within the current member.
enum Member {
    Header(GzipHeader),
    Body(Inflate),
    /// CRC32 and ISIZE, little-endian (RFC 1952 §2.3.1).
    Trailer {
        bytes: [u8; 8],
        seen: usize,
    },
    /// A member ended; another may follow.
    Ended,
}

/// `Content-Encoding: gzip` (or `x-gzip`): one or more gzip members, decoded as one body
/// (RFC 1952 §2.2), as browsers and curl do.
pub(super) struct Gzip {
    member: Member,
    /// Bytes of the current member's header seen. Only the first member can be at 0 here: a
    /// later one starts when its first byte arrives.
    header_bytes: usize,
    /// CRC32 and length of the current member's decoded data.
    crc: Crc,
    scratch: Vec<u8>,
}

impl Gzip {
    pub(super) fn new() -> Self {
        Gzip {
            member: Member::Header(GzipHeader::new()),
            header_bytes: 0,
            crc: Crc::new(),
            scratch: Vec::new(),
        }
    }

    pub(super) fn push(
        &mut self,
        mut input: &[u8],
        sink: &mut Sink<'_>,
    ) -> Result<(), DecodeError> {
        while !input.is_empty() {
            let used = match &mut self.member {
                Member::Header(header) => {
                    let used = header.push(input)?;
                    self.header_bytes += used;
                    if header.part == HeaderPart::Done {
                        self.member = Member::Body(Inflate::new(false, "gzip"));
                        self.crc.reset();
                        self.scratch.resize(PIECE, 0);
                    }
                    used
                }
                Member::Body(inflate) => {
                    let crc = &mut self.crc;
                    let used = inflate.push(input, &mut self.scratch, &mut |piece| {
                        crc.update(piece);
                        sink(piece)
                    })?;
                    if inflate.ended {
                        self.member = Member::Trailer {
                            bytes: [0; 8],
                            seen: 0,
                        };
                    }
                    used
                }
                Member::Trailer { bytes, seen } => {
                    let take = input.len().min(8 - *seen);
                    bytes[*seen..*seen + take].copy_from_slice(&input[..take]);
                    *seen += take;
                    if *seen == 8 {
                        let bytes = *bytes;
                        self.check_trailer(bytes)?;
                        self.member = Member::Ended;
                    }
                    take
                }
                Member::Ended => {
                    // Only another member may follow (RFC 1952 §2.2); anything else is garbage.
                    if input[0] != 0x1f {
                        return Err(after_end("gzip"));
                    }
                    self.member = Member::Header(GzipHeader::new());
                    self.header_bytes = 0;
                    0
                }
            };
            input = &input[used..];
        }
        Ok(())
    }

    fn check_trailer(&self, bytes: [u8; 8]) -> Result<(), DecodeError> {
        let [c0, c1, c2, c3, s0, s1, s2, s3] = bytes;
        let detail = if u32::from_le_bytes([c0, c1, c2, c3]) != self.crc.sum() {
            "CRC32 mismatch"
        } else if u32::from_le_bytes([s0, s1, s2, s3]) != self.crc.amount() {
            "decoded length differs from ISIZE"
        } else {
            return Ok(());
        };
        Err(DecodeError::Corrupt {
            coding: "gzip",
            detail: detail.into(),
        })
    }

    pub(super) fn finish(&mut self, _sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        match self.member {
            Member::Ended => Ok(()),
            // An empty body: no member was started.
            Member::Header(_) if self.header_bytes == 0 => Ok(()),
            _ => Err(DecodeError::Truncated { coding: "gzip" }),
        }
    }
}
