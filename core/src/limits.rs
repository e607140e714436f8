//! Every bound the engine enforces, in one place.

use std::time::Duration;

/// The bounds duet enforces on what a server may send, with documented defaults.
///
/// Every limit is checked by duet-core at the moment it decides it needs more data, so a
/// hostile server cannot make a driver buffer more than these numbers, however it splits its
/// bytes. The one bound kept elsewhere is the number of redirects, which a request may choose
/// for itself: [`RedirectPolicy::max`](crate::redirect::RedirectPolicy) (default 20).
/// Adjust a field on a default value:
///
/// ```
/// let mut limits = duet_core::Limits::default();
/// limits.max_headers = 50;
/// assert_eq!(limits.max_head_bytes, 64 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Bytes in one response head, status line to blank line inclusive. Default 64 KiB.
    pub max_head_bytes: usize,
    /// Header fields in one response head. Default 100 (as hyper).
    pub max_headers: usize,
    /// Bytes in one line of a head, a chunk-size line, or a trailer line, without its line end.
    /// Default 16 KiB.
    pub max_line_bytes: usize,
    /// Bytes of chunk extensions in one chunked body, summed over all its chunks. Default 16 KiB.
    pub max_chunk_extension_bytes: usize,
    /// Bytes of the trailer section of one chunked body. Default 16 KiB.
    pub max_trailer_bytes: usize,
    /// Interim (1xx) responses before the final one. Default 10.
    pub max_interim_responses: usize,
    /// How long to wait for `100 Continue` before sending the body anyway. Default 1 s (as curl).
    pub expect_continue_timeout: Duration,
    /// Bytes a response body may expand to when its `Content-Encoding` is decoded, guarding
    /// against decompression bombs. Default 1 GiB.
    pub max_decoded_body_bytes: u64,
    /// Content codings stacked on one response (`Content-Encoding: gzip, br`). Default 2.
    pub max_content_encodings: usize,
    /// Body bytes of a redirect response read (and discarded) so its connection can be
    /// reused; past this the connection is closed instead. Default 64 KiB.
    pub max_drain_bytes: u64,
    /// Requests sent again by one authentication flow for one hop (a Digest challenge, a
    /// `stale` nonce, an NTLM handshake). Default 4.
    pub max_auth_rounds: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            max_line_bytes: 16 * 1024,
            max_chunk_extension_bytes: 16 * 1024,
            max_trailer_bytes: 16 * 1024,
            max_interim_responses: 10,
            expect_continue_timeout: Duration::from_secs(1),
            max_decoded_body_bytes: 1 << 30,
            max_content_encodings: 2,
            max_drain_bytes: 64 * 1024,
            max_auth_rounds: 4,
        }
    }
}
