//! # duet-async
//!
//! duet's async HTTP/1.1 client, for servers: [`duet_core`]'s state machines driven over
//! tokio sockets. `duet-blocking` offers the same API without a runtime; the two are twins
//! with the same names in the same order, and differ only in I/O and `async fn`.
//!
//! ```no_run
//! # async fn run() -> Result<(), duet_async::Error> {
//! let client = duet_async::Client::new();
//! let response = client
//!     .get("http://127.0.0.1:8000/items")
//!     .query(&[("page", "2")])
//!     .header("Accept", "application/json")
//!     .send()
//!     .await?
//!     .error_for_status()?;
//! println!("{} {}", response.status(), response.text().await?);
//! # Ok(())
//! # }
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
//!
//! Runtime: requests run on tokio and need a runtime with I/O and time enabled (the
//! `#[tokio::main]` and `#[tokio::test]` defaults). [`Client`] is `Clone + Send + Sync`, and
//! the futures of [`RequestBuilder::send`] and [`Client::execute`] are `Send`, so requests
//! can be spawned; a [`Response`] is `Send + Sync`, so a spawned task may hold `&Response`
//! across an await. Pooled connections belong to the runtime that opened them, and serve
//! only it: a client shared between runtimes (`#[tokio::test]`s with a static client) opens
//! connections on each, since a socket hears only from its own runtime's driver, which may
//! be shut down or not being driven while another runtime runs. Read a response's body
//! on the runtime that sent its request, for the same reason.
//!
//! Cancelling (dropping) a request's future or a [`Response`] never does I/O: the connection
//! goes back to the pool only if its response had fully arrived, and is closed otherwise.

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

pub use async_trait::async_trait;
pub use auth::{Authenticate, oauth1};
pub use body::Body;
pub use client::{Async, Client, ClientBuilder, Pending};
pub use duet_core as core;
pub use duet_core::client::{
    Error, ErrorKind, HistoryEntry, IntoUrl, ResponseInfo, TimeoutPhase, Timeouts, TlsVersion,
};
pub use duet_core::cookies::{Cookie, CookieJar, SharedJar};
pub use duet_core::link::Link;
pub use duet_core::redirect::RedirectPolicy;
pub use duet_core::{Headers, Limits, Method, StatusCode, Url, Version};

/// A request that can be inspected, changed, and sent with [`Client::execute`].
pub type Request = duet_core::client::Request<Async>;
/// Builds a [`Request`]; errors (a bad URL or header) surface when it is built or sent.
pub type RequestBuilder = duet_core::client::RequestBuilder<Async>;
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
pub async fn get(url: impl IntoUrl) -> Result<Response, Error> {
    shared().get(url).send().await
}

/// A POST with a shared default client; add a body, then `send().await`.
pub fn post(url: impl IntoUrl) -> RequestBuilder {
    shared().post(url)
}

/// A PUT with a shared default client; add a body, then `send().await`.
pub fn put(url: impl IntoUrl) -> RequestBuilder {
    shared().put(url)
}

/// A PATCH with a shared default client; add a body, then `send().await`.
pub fn patch(url: impl IntoUrl) -> RequestBuilder {
    shared().patch(url)
}

/// Sends a DELETE with a shared default client.
pub async fn delete(url: impl IntoUrl) -> Result<Response, Error> {
    shared().delete(url).send().await
}

/// Sends a HEAD with a shared default client.
pub async fn head(url: impl IntoUrl) -> Result<Response, Error> {
    shared().head(url).send().await
}

/// Sends an OPTIONS with a shared default client.
pub async fn options(url: impl IntoUrl) -> Result<Response, Error> {
    shared().options(url).send().await
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

/// The time now on the runtime's clock, as the engine takes it. Outside tokio's paused test
/// clock this is `std::time::Instant::now()`; under it, the engine's deadlines and tokio's
/// timers agree.
pub(crate) fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}
