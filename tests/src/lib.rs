//! # duet-tests
//!
//! The conformance suite for duet: each case is written once and run against both clients,
//! against servers it starts on 127.0.0.1. See [`harness`] for how a
//! case is written once and run twice.
//!
//! The test servers: [`server::Server`] (handler servers, plain and TLS, and scripted servers
//! driven through [`script::ScriptConn`]), the test PKI in [`tls`], body encoders in
//! [`codec`], [`hue::HueServer`], a site that logs users in like Hue (Django's CSRF and
//! auth), and [`django::DjangoSite`], Django itself doing so. `use duet_tests::server::*`
//! brings in the server, its request and reply types, and the TLS choices.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use duet_core as core;

pub mod child;
pub mod codec;
mod conn;
pub mod django;
pub mod harness;
pub mod http;
pub mod hue;
pub mod logs;
pub mod reply;
pub mod script;
pub mod server;
pub mod tls;

#[cfg(test)]
mod selftest;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
