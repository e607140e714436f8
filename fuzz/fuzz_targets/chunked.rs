//! The chunked-body decoder on arbitrary bytes.
//!
//! The input is decoded (a) whole with no bound on `Data` pieces and (b) one byte at a time
//! with `Data` pieces of at most 3 bytes. Both must give the same body, trailers, count of
//! bytes consumed up to the end of the body, and error (an input that stops early ends with
//! the decoder's EOF error). The decoder's own promises are checked on every call: `None`
//! consumes everything offered, a `Data` range is non-empty, at most `max_data` long and
//! inside the consumed part. Nothing may panic.

#![no_main]

use duet_core::{ChunkedDecoder, Decoded, Limits, RemoteError};
use libfuzzer_sys::fuzz_target;

/// The decoded body, the trailer fields, and how many input bytes the body took.
type Body = (Vec<u8>, Vec<(String, Vec<u8>)>, usize);

/// Decodes `input` offered `step` new bytes at a time, with `Data` of at most `max_data`.
fn decode(input: &[u8], step: usize, max_data: usize) -> Result<Body, RemoteError> {
    let mut decoder = ChunkedDecoder::new(&Limits::default());
    let mut body = Vec::new();
    let mut pos = 0; // consumed so far
    let mut available = 0; // offered so far
    loop {
        if pos == available {
            if available == input.len() {
                assert!(!decoder.is_done(), "done without returning End");
                return Err(decoder
                    .eof_error()
                    .expect("not done, so there is an EOF error"));
            }
            available = (available + step).min(input.len());
        }
        let offered = &input[pos..available];
        let (used, out) = decoder.decode(offered, max_data)?;
        assert!(used <= offered.len(), "consumed more than offered");
        match out {
            None => assert_eq!(used, offered.len(), "None must consume everything"),
            Some(Decoded::Data(range)) => {
                assert!(!range.is_empty(), "empty Data");
                assert!(range.len() <= max_data, "Data longer than max_data");
                assert!(range.end <= used, "Data outside the consumed part");
                body.extend_from_slice(&offered[range]);
                assert_eq!(decoder.received(), body.len() as u64, "received() is off");
            }
            Some(Decoded::End(trailers)) => {
                assert!(decoder.is_done(), "End but not done");
                assert_eq!(decoder.eof_error(), None, "EOF error after End");
                let trailers = trailers
                    .iter()
                    .map(|(name, value)| (name.to_owned(), value.to_vec()))
                    .collect();
                return Ok((body, trailers, pos + used));
            }
        }
        pos += used;
    }
}

fuzz_target!(|data: &[u8]| {
    let whole = decode(data, data.len().max(1), usize::MAX);
    let bytewise = decode(data, 1, 3);
    assert_eq!(whole, bytewise, "whole input and byte-at-a-time disagree");
});
