//! `zstd` (RFC 8878) with the `zstd` crate's streaming decoder, behind the `zstd` feature.

use zstd::stream::raw::{DParameter, Decoder, Operation};

use super::{DecodeError, PIECE, Sink};

/// The largest window a `zstd` content coding may use: 8 MiB (RFC 9659 §3, which updates
/// RFC 8878 §3.1.1.1.2). Larger frames are refused rather than allocated for.
const WINDOW_LOG_MAX: u32 = 23;

/// `Content-Encoding: zstd`: one or more Zstandard frames (RFC 8878 §3.1).
pub(super) struct Zstd {
    decoder: Decoder<'static>,
    scratch: Vec<u8>,
    /// Inside a frame: its end, and all its output, have not been seen yet.
    in_frame: bool,
}

impl Zstd {
    pub(super) fn new() -> Result<Self, DecodeError> {
        let corrupt = |e: std::io::Error| DecodeError::Corrupt {
            coding: "zstd",
            detail: e.to_string(),
        };
        let mut decoder = Decoder::new().map_err(corrupt)?;
        decoder
            .set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))
            .map_err(corrupt)?;
        Ok(Zstd {
            decoder,
            scratch: Vec::new(),
            in_frame: false,
        })
    }

    pub(super) fn push(&mut self, input: &[u8], sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        self.scratch.resize(PIECE, 0);
        let mut pos = 0;
        while pos < input.len() || self.in_frame {
            let status = self
                .decoder
                .run_on_buffers(&input[pos..], &mut self.scratch)
                .map_err(|e| DecodeError::Corrupt {
                    coding: "zstd",
                    detail: e.to_string(),
                })?;
            pos += status.bytes_read;
            if status.bytes_written > 0 {
                sink(&self.scratch[..status.bytes_written])?;
            }
            if status.bytes_read == 0 && status.bytes_written == 0 {
                break; // needs more input
            }
            // The hint is 0 exactly when a frame is complete and fully flushed.
            self.in_frame = status.remaining != 0;
            if pos == input.len() && status.bytes_written < self.scratch.len() {
                break; // everything decodable so far is out
            }
        }
        Ok(())
    }

    pub(super) fn finish(&mut self, _sink: &mut Sink<'_>) -> Result<(), DecodeError> {
        if self.in_frame {
            return Err(DecodeError::Truncated { coding: "zstd" });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use crate::Limits;
    use crate::decode::DecodeError;
    use crate::decode::tests::*;

    #[test]
    fn round_trips_including_several_frames() {
        let data = sample(100_000);
        assert_round_trip("zstd", &zstd(&data), &data);
        let small = sample(300);
        assert_round_trip("Zstd", &zstd(&small), &small);
        let mut two = zstd(&small);
        two.extend(zstd(b"and more"));
        assert_round_trip("zstd", &two, &[&small[..], b"and more"].concat());
    }

    #[test]
    fn truncated_corrupt_and_trailing() {
        let data = sample(400);
        assert_prefixes_truncated("zstd", &zstd(&data), "zstd");
        let mut body = zstd(&data);
        body.extend(b"junk");
        for step in [1, 10_000] {
            let result = decode_in_steps("zstd", &body, step);
            assert!(matches!(
                result,
                Err(DecodeError::Corrupt { coding: "zstd", .. })
            ));
        }
        let mut body = zstd(&data);
        body[0] ^= 0x55; // the frame's magic number
        let result = decode_in_steps("zstd", &body, 1);
        assert!(matches!(
            result,
            Err(DecodeError::Corrupt { coding: "zstd", .. })
        ));
        // A frame with a content checksum (RFC 8878 §3.1.1) whose data was altered.
        let mut encoder = ::zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.include_checksum(true).unwrap();
        encoder.write_all(&data).unwrap();
        let mut body = encoder.finish().unwrap();
        let n = body.len();
        body[n - 1] ^= 1;
        let result = decode_in_steps("zstd", &body, 1);
        assert!(matches!(
            result,
            Err(DecodeError::Corrupt { coding: "zstd", .. })
        ));
    }

    /// Many output pieces from little input, each let out before more input comes.
    #[test]
    fn everything_decodable_so_far_is_out() {
        assert_much_from_little_comes_out_at_once("zstd", zstd);
    }

    #[test]
    fn stacked_with_gzip() {
        let data = sample(30_000);
        assert_round_trip("gzip, zstd", &zstd(&gzip(&data)), &data);
    }

    #[test]
    fn bomb_stops_at_the_limit() {
        let body = zstd(&vec![0; 8 << 20]);
        let limits = Limits {
            max_decoded_body_bytes: 1 << 20,
            ..Limits::default()
        };
        let mut d = decoder("zstd", &limits);
        let mut out = Vec::new();
        let result = d.decode(&body, &mut out);
        assert_eq!(result, Err(DecodeError::TooLarge { limit: 1 << 20 }));
        assert!(out.len() <= 1 << 20);
    }
}
