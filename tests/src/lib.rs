//! # duet-tests
//!
//! The conformance suite for duet: each case is written once and run against both clients,
//! against servers it starts on 127.0.0.1. The clients and servers arrive with the drivers;
//! today the crate only links the engine.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use duet_core as core;
