//! The unit tests' origin of time. duet-core never reads the clock: every decision takes
//! `now` as an argument. Tests still need one real `Instant` to count from (the type has no
//! public constructor), and this is the one place that reads it.

use std::sync::OnceLock;
use std::time::Instant;

/// One fixed instant for every unit test, read once.
#[allow(clippy::disallowed_methods)] // the one clock read, for tests only
pub(crate) fn t0() -> Instant {
    static T0: OnceLock<Instant> = OnceLock::new();
    *T0.get_or_init(Instant::now)
}
