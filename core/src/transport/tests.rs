//! Tests of mount patterns, the mock server codec, and record and replay.

mod mock;
mod mount;
mod record;
