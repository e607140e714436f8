//! # duet-core
//!
//! The engine of duet: everything an HTTP/1.1 client decides, as state machines with no I/O.
//! `duet-blocking` (std sockets) and `duet-async` (tokio) are thin drivers around it, so both
//! put the same bytes on the wire and reach the same results.
//!
//! **In scope**: writing request heads and framing request bodies; parsing response heads;
//! deciding how a response body is framed (RFC 9112 §6.3) and decoding chunked bodies;
//! interim responses and `Expect: 100-continue`; whether a connection may be reused; every
//! size limit ([`Limits`]); typed errors that say who broke the protocol.
//!
//! **Out of scope**: sockets, TLS, timers, DNS, threads, randomness. Time comes in as an
//! argument (`now`), bytes come in through [`Connection::handle_input`] and go out through
//! [`Connection::poll_transmit`]. The crate does not read the clock or touch the network, so
//! every behaviour can be tested deterministically.
//!
//! ## A driver's loop
//!
//! 1. [`Connection::send_request`] with a [`RequestHead`] and how its body is framed.
//! 2. Write out [`Connection::poll_transmit`] and report it with
//!    [`Connection::advance_transmit`] — after this and every later call.
//! 3. While [`Connection::send_state`] is [`SendState::Body`], pass body bytes to
//!    [`Connection::send_body`], then [`Connection::send_end`]. While it is
//!    [`SendState::ExpectingContinue`], read (step 4) until [`Connection::poll_timeout`] and
//!    then call [`Connection::handle_timeout`].
//! 4. Read the socket into [`Connection::input_buffer`] + [`Connection::commit_input`] (or
//!    pass bytes to [`Connection::handle_input`]); on a read of 0 bytes call
//!    [`Connection::handle_eof`].
//! 5. Drain [`Connection::poll_event`] until it returns `None`; go back to 4 until
//!    [`Event::EndOfMessage`] (or [`Event::Upgraded`]).
//! 6. If [`Connection::is_reusable`], call [`Connection::start_next_cycle`] and pool the
//!    connection; otherwise close it.
//!
//! ## A whole exchange, byte for byte
//!
//! ```
//! # #![allow(clippy::disallowed_methods)]
//! use duet_core::{Connection, Event, RequestBody, RequestHead, SendState, TargetForm};
//!
//! let url = url::Url::parse("http://example.com/upload").unwrap();
//! let mut head = RequestHead::from_url(http::Method::POST, &url, TargetForm::Origin).unwrap();
//! head.headers_mut().append("Content-Type", "text/plain").unwrap();
//!
//! let mut conn = Connection::default();
//! let now = std::time::Instant::now(); // the driver's clock; duet-core never reads one
//! conn.send_request(&head, RequestBody::Chunked, now).unwrap();
//! assert_eq!(conn.send_state(), SendState::Body);
//! conn.send_body(b"hello").unwrap();
//! conn.send_end(None).unwrap();
//! assert_eq!(
//!     conn.poll_transmit().unwrap(),
//!     b"POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain\r\n\
//!       Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
//! );
//! conn.advance_transmit(conn.poll_transmit().unwrap().len());
//!
//! conn.handle_input(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
//! let Some(Event::Response(response)) = conn.poll_event().unwrap() else { panic!() };
//! assert_eq!(response.status(), 201);
//! assert_eq!(conn.poll_event().unwrap(), Some(Event::Data(b"ok")));
//! assert_eq!(conn.poll_event().unwrap(), Some(Event::EndOfMessage));
//! assert_eq!(conn.poll_event().unwrap(), None);
//! assert!(conn.is_reusable());
//! conn.start_next_cycle().unwrap();
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

pub mod auth;
mod buffer;
mod calendar;
mod chunked;
pub mod client;
mod connection;
pub mod cookies;
mod decode;
mod domain;
mod error;
mod form;
mod framing;
mod headers;
mod limits;
pub mod link;
mod multipart;
pub mod proxy;
pub mod redirect;
mod request;
mod response;
#[cfg(test)]
mod test_clock;
mod text;
pub mod transport;

pub use chunked::{ChunkedDecoder, Decoded};
pub use connection::{Connection, Event, SendState};
pub use decode::{ContentDecoder, DecodeError};
pub use error::{ChunkPhase, Error, LocalError, RemoteError};
pub use form::{FORM_CONTENT_TYPE, append_query, urlencoded};
pub use framing::BodyFraming;
pub use headers::Headers;
pub use limits::Limits;
pub use multipart::{Content, Encoder, Form, Part, Segment};
pub use request::{RequestBody, RequestHead, TargetForm, host_header, target_for};
pub use response::ResponseHead;
pub use text::{
    TextDecoder, charset_of, decode_text, decode_text_with_default, disposition_filename, json_text,
};

pub use http::{Method, StatusCode, Version};
pub use url::Url;
