//! The conformance suite: every case runs against duet-blocking (`blocking::`) and duet-async
//! (`asynchronous::`), against servers on 127.0.0.1.

mod auth;
mod basics;
mod bodies;
mod connecting;
mod decoding;
mod errors;
mod logging;
mod login;
mod pooling;
mod proxies;
mod retries;
mod sessions;
mod timeouts;
mod tls;
mod transports;
