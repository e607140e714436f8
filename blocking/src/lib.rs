//! # duet-blocking
//!
//! duet's blocking HTTP client: a driver that runs [`duet_core`]'s state machines over std
//! sockets, for scripts and tools, with no hidden runtime.
//!
//! **Status:** the client itself is not written yet; this crate re-exports the engine it
//! will drive so the workspace builds. Use [`duet_core`] directly until then.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use duet_core as core;
