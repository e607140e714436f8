//! The `duet` command, run as a process against servers on 127.0.0.1: every flag, the report,
//! errors and their kinds and exit codes, the Hue login across three calls sharing a cookie
//! jar, the two clients giving the same report, and the demo.

mod harness;

mod auth;
mod bodies;
mod cookies;
mod demo;
mod errors;
mod flavours;
mod output;
mod requests;
mod tls;
