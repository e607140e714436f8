//! `br` (RFC 7932) with the `brotli` crate's streaming decoder, behind the `brotli` feature.

use brotli::{BrotliDecompressStream, BrotliResult, BrotliState, HeapAlloc, HuffmanCode};

use super::{DecodeError, PIECE, Sink};

/// `Content-Encoding: br`: one brotli stream.
pub(super) struct Brotli {
    state: BrotliState<HeapAlloc<u8>, HeapAlloc<u32>, HeapAlloc<HuffmanCode>>,
    scratch: Vec<u8>,
    started: bool,
    ended: bool,
}

impl Brotli {
    pub(super) fn new() -> Self {
        Brotli {
            // Strict: the window sizes of RFC 7932 only (up to 16 MiB), not the
            // large-window extension, which is not part of the `br` content coding.
            state: BrotliState::new_strict(
                HeapAlloc::default(),
                HeapAlloc::default(),
                HeapAlloc::default(),
            ),
            scratch: Vec::new(),
            started: false,
            ended: false,
        }
    }

    pub(super) fn push(&mut self, input: &[u8], sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        if input.is_empty() {
            return Ok(());
        }
        if self.ended {
            return Err(after_end());
        }
        self.started = true;
        self.scratch.resize(PIECE, 0);
        let (mut available_in, mut input_offset) = (input.len(), 0);
        loop {
            let (mut available_out, mut output_offset, mut total_out) = (PIECE, 0, 0);
            let result = BrotliDecompressStream(
                &mut available_in,
                &mut input_offset,
                input,
                &mut available_out,
                &mut output_offset,
                &mut self.scratch,
                &mut total_out,
                &mut self.state,
            );
            if output_offset > 0 {
                sink(&self.scratch[..output_offset])?;
            }
            match result {
                BrotliResult::NeedsMoreOutput => continue,
                BrotliResult::NeedsMoreInput => return Ok(()),
                BrotliResult::ResultSuccess => {
                    self.ended = true;
                    return if available_in > 0 {
                        Err(after_end())
                    } else {
                        Ok(())
                    };
                }
                BrotliResult::ResultFailure => {
                    return Err(DecodeError::Corrupt {
                        coding: "br",
                        detail: format!("{:?}", self.state.error_code),
                    });
                }
            }
        }
    }

    pub(super) fn finish(&mut self, _sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        if self.started && !self.ended {
            return Err(DecodeError::Truncated { coding: "br" });
        }
        Ok(())
    }
}

fn after_end() -> DecodeError {
    DecodeError::Corrupt {
        coding: "br",
        detail: "data after the end of the br stream".into(),
    }
}

#[cfg(test)]
mod tests {
    use crate::Limits;
    use crate::decode::DecodeError;
    use crate::decode::tests::*;

    #[test]
    fn round_trips() {
        let data = sample(100_000);
        assert_round_trip("br", &brotli(&data), &data);
        let small = sample(300);
        assert_round_trip("BR", &brotli(&small), &small);
        assert_round_trip("br", &brotli(b""), b"");
    }

    #[test]
    fn truncated_corrupt_and_trailing() {
        let data = sample(400);
        assert_prefixes_truncated("br", &brotli(&data), "br");
        let mut body = brotli(&data);
        body.push(0);
        let after = corrupt("br", "data after the end of the br stream");
        for step in [1, 10_000] {
            assert_eq!(decode_in_steps("br", &body, step), Err(after.clone()));
        }
        let garbage = decode_in_steps("br", &[0xff; 64], 1);
        assert!(matches!(
            garbage,
            Err(DecodeError::Corrupt { coding: "br", .. })
        ));
    }

    /// A stream the reference decoder refuses is refused however its bytes arrive (found by
    /// the content_decoding fuzz target: brotli-decompressor 5 took it whole, and in most
    /// piece sizes, for two bytes of output; only pieces of 1, 5 or 25 bytes showed the bad
    /// block length).
    #[test]
    fn a_bad_block_length_is_corrupt_at_every_split() {
        let body = [
            1, 0, 0, 0, 0, 2, 3, 0xcb, 0x48, 4, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x48, 0x48, 0xb1, 0x33,
            0x2b, 0xb7, 0x36, 0xc7,
        ];
        for step in 1..=body.len() {
            let decoded = decode_in_steps("br", &body, step);
            assert!(
                matches!(decoded, Err(DecodeError::Corrupt { coding: "br", .. })),
                "{step} bytes at a time: {decoded:?}"
            );
        }
    }

    /// Many output pieces from little input, each let out before more input comes.
    #[test]
    fn everything_decodable_so_far_is_out() {
        assert_much_from_little_comes_out_at_once("br", brotli);
    }

    #[test]
    fn stacked_gzip_then_br() {
        let data = sample(50_000);
        // The server applied gzip, then br: the body is br(gzip(data)).
        let body = brotli(&gzip(&data));
        assert_round_trip("gzip, br", &body, &data);
    }

    #[test]
    fn bomb_stops_at_the_limit() {
        let body = brotli(&vec![0; 8 << 20]);
        let limits = Limits {
            max_decoded_body_bytes: 1 << 20,
            ..Limits::default()
        };
        let mut d = decoder("br", &limits);
        let mut out = Vec::new();
        let result = d.decode(&body, &mut out);
        assert_eq!(result, Err(DecodeError::TooLarge { limit: 1 << 20 }));
        assert!(out.len() <= 1 << 20);
    }
}
