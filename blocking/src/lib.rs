//! # duet-blocking
//!
//! duet's blocking HTTP/1.1 client, for scripts and tools: [`duet_core`]'s state machines driven
//! over std sockets, with no hidden runtime (it works inside a tokio runtime too, blocking
//! that thread like any std I/O). `duet-async` offers the same API over tokio.
//!
//! ```no_run
//! let client = duet_blocking::Client::new();
//! let response = client
//!     .get("http://127.0.0.1:8000/items")
//!     .query(&[("page", "2")])
//!     .header("Accept", "application/json")
//!     .send()?
//!     .error_for_status()?;
//! println!("{} {}", response.status(), response.text()?);
//! # Ok::<(), duet_blocking::Error>(())
//! ```
//!
//! What the client does: connection pooling with keep-alive, TLS verified with rustls,
//! finite timeouts by default (connect, read, write, pool), gzip/deflate decoding (brotli and
//! zstd by feature), text by the `Content-Type` charset, streaming request and response
//! bodies, multipart forms. Every protocol decision is made in `duet-core`; this crate only
//! moves bytes.
//!
//! A driver's loop, as in [`duet_core::client::Call`]: ask the call for its next action,
//! perform it on the socket (connect, write, read, wait), report the outcome, repeat.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(missing_debug_implementations)]

mod auth;
mod body;
mod client;
mod exchange;
pub mod multipart;
mod pool;
mod resolver;
mod response;
mod transport;
pub mod transports;

pub use auth::{Authenticate, oauth1};
pub use body::Body;
pub use client::{Blocking, Client, ClientBuilder};
pub use duet_core as core;
pub use duet_core::client::{
    Error, ErrorKind, HistoryEntry, IntoUrl, ResponseInfo, TimeoutPhase, Timeouts, TlsVersion,
};
pub use duet_core::cookies::{Cookie, CookieJar, SharedJar};
pub use duet_core::link::Link;
pub use duet_core::redirect::RedirectPolicy;
pub use duet_core::{Headers, Limits, Method, StatusCode, Url, Version};

/// A request that can be inspected, changed, and sent with [`Client::execute`].
pub type Request = duet_core::client::Request<Blocking>;
/// Builds a [`Request`]; errors (a bad URL or header) surface when it is built or sent.
pub type RequestBuilder = duet_core::client::RequestBuilder<Blocking>;
pub use resolver::Resolve;
pub use response::{Chunks, Lines, Response};
pub use transport::{Io, Transport};

use std::sync::OnceLock;

/// The client behind the module-level shortcuts.
fn shared() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(Client::new)
}

/// Sends a GET with a shared default client.
pub fn get(url: impl IntoUrl) -> Result<Response, Error> {
    shared().get(url).send()
}

/// A POST with a shared default client; add a body, then `send()`.
pub fn post(url: impl IntoUrl) -> RequestBuilder {
    shared().post(url)
}

/// A PUT with a shared default client; add a body, then `send()`.
pub fn put(url: impl IntoUrl) -> RequestBuilder {
    shared().put(url)
}

/// A PATCH with a shared default client; add a body, then `send()`.
pub fn patch(url: impl IntoUrl) -> RequestBuilder {
    shared().patch(url)
}

/// Sends a DELETE with a shared default client.
pub fn delete(url: impl IntoUrl) -> Result<Response, Error> {
    shared().delete(url).send()
}

/// Sends a HEAD with a shared default client.
pub fn head(url: impl IntoUrl) -> Result<Response, Error> {
    shared().head(url).send()
}

/// Sends an OPTIONS with a shared default client.
pub fn options(url: impl IntoUrl) -> Result<Response, Error> {
    shared().options(url).send()
}

/// 16 bytes from the operating system's CSPRNG, for multipart boundaries and the like.
pub(crate) fn entropy() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to something unique per call (a boundary only needs to
        // be unlikely to occur in the body, not secret).
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        bytes[8..].copy_from_slice(&(t as u64).to_le_bytes());
    }
    bytes
}
