//! # duet-async
//!
//! duet's async HTTP client: a driver that runs [`duet_core`]'s state machines over tokio,
//! for servers.
//!
//! **Status:** the client itself is not written yet; this crate re-exports the engine it
//! will drive so the workspace builds. Use [`duet_core`] directly until then.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use duet_core as core;
