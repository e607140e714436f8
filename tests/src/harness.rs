//! Writing a conformance case once for both clients.
//!
//! [`conformance!`](crate::conformance) takes test functions and emits each twice: in a
//! `blocking` module as a `#[test]` with `duet` = `duet_blocking`, and in an `asynchronous`
//! module as a multi-threaded `#[tokio::test]` with `duet` = `duet_async`. The two APIs have
//! the same names, so one body compiles against both; where they differ only in waiting, the
//! body says so with a flavour macro:
//!
//! | macro | blocking | async |
//! |---|---|---|
//! | `wait!(e)` | `e` | `e.await` |
//! | `next!(it)` | `Iterator::next(&mut it)` | `StreamExt::next(&mut it).await` |
//! | `read_all!(r)` | `Read::read_to_end` | `AsyncReadExt::read_to_end` |
//! | `flavour!()` | `"blocking"` | `"async"` |
//! | `spawn!({ .. })` | `std::thread::spawn(move \|\| { .. })` | `tokio::spawn(async move { .. })` |
//! | `join!(handle)` | `handle.join()`, panics passed on | `handle.await`, panics passed on |
//!
//! Every case runs under a [`Watchdog`]: one that hangs ends its test process with a
//! message naming it, instead of holding the run until CI's own limit. A test outside the
//! macro arms one with [`watchdog!`](crate::watchdog).

use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

/// Emits each test function for both clients; see the [module docs](crate::harness).
#[macro_export]
macro_rules! conformance {
    ($( $(#[$meta:meta])* fn $name:ident() $body:block )*) => {
        mod blocking {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use ::duet_blocking as duet;
            #[allow(unused_imports)]
            use $crate::{__flavour_blocking as flavour, __join_blocking as join, __next_blocking as next, __read_all_blocking as read_all, __spawn_blocking as spawn, __wait_blocking as wait};
            $( $(#[$meta])* #[test] fn $name() {
                let _watchdog = $crate::harness::Watchdog::arm(::std::concat!(::std::module_path!(), "::", ::std::stringify!($name)));
                $body
            } )*
        }
        mod asynchronous {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use ::duet_async as duet;
            #[allow(unused_imports)]
            use $crate::{__flavour_async as flavour, __join_async as join, __next_async as next, __read_all_async as read_all, __spawn_async as spawn, __wait_async as wait};
            $( $(#[$meta])* #[::tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() {
                let _watchdog = $crate::harness::Watchdog::arm(::std::concat!(::std::module_path!(), "::", ::std::stringify!($name)));
                $body
            } )*
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __wait_blocking {
    ($e:expr) => {
        $e
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __wait_async {
    ($e:expr) => {
        $e.await
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __next_blocking {
    ($it:expr) => {
        ::std::iter::Iterator::next(&mut $it)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __next_async {
    ($it:expr) => {
        ::futures_util::StreamExt::next(&mut $it).await
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __read_all_blocking {
    ($r:expr) => {{
        let mut out = ::std::vec::Vec::new();
        ::std::io::Read::read_to_end(&mut $r, &mut out).map(|_| out)
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __read_all_async {
    ($r:expr) => {{
        let mut out = ::std::vec::Vec::new();
        ::tokio::io::AsyncReadExt::read_to_end(&mut $r, &mut out)
            .await
            .map(|_| out)
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __flavour_blocking {
    () => {
        "blocking"
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __flavour_async {
    () => {
        "async"
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __spawn_blocking {
    ($body:block) => {
        ::std::thread::spawn(move || $body)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __spawn_async {
    ($body:block) => {
        ::tokio::spawn(async move $body)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __join_blocking {
    ($handle:expr) => {
        $handle.join().expect("the spawned block panicked")
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __join_async {
    ($handle:expr) => {
        $handle.await.expect("the spawned block panicked")
    };
}

/// Arms a [`Watchdog`] named by where it is armed: the first line of a test that is not
/// written with [`conformance!`](crate::conformance), kept alive to the test's end
/// (`let _watchdog = watchdog!();`).
#[macro_export]
macro_rules! watchdog {
    () => {
        $crate::harness::Watchdog::arm(::std::concat!(::std::file!(), ":", ::std::line!()))
    };
}

/// How long one test may run before its [`Watchdog`] ends the test process: far beyond the
/// slowest case (a few seconds of deliberate silence), so only a hang reaches it, even on a
/// loaded machine.
pub const TEST_LIMIT: Duration = Duration::from_secs(120);

/// The exit status of a test process a watchdog ended (as `timeout(1)`'s).
pub const HUNG_EXIT: i32 = 124;

/// Ends the test process if the test that armed it has not finished within [`TEST_LIMIT`]:
/// a test that hangs (a client waiting forever on a server that never answers, a read that
/// never ends) then fails the run with its name in a minute or two, where `cargo test`,
/// which has no per-test limit, would wait until the CI machine's own. Disarmed when
/// dropped, by the test's end or its panic.
#[derive(Debug)]
#[must_use = "the watchdog is disarmed when dropped: keep it to the test's end"]
pub struct Watchdog {
    _disarm: mpsc::Sender<()>,
}

impl Watchdog {
    /// A watchdog for the test named `test`, with the limit [`TEST_LIMIT`].
    pub fn arm(test: &str) -> Watchdog {
        Watchdog::arm_for(test, TEST_LIMIT)
    }

    /// A watchdog for the test named `test` that ends the process after `limit`.
    pub fn arm_for(test: &str, limit: Duration) -> Watchdog {
        let (disarm, armed) = mpsc::channel::<()>();
        let test = test.to_owned();
        std::thread::Builder::new()
            .name(format!("watchdog for {test}"))
            .spawn(move || {
                // Dropping the sender disconnects the channel: only the limit times out.
                if armed.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
                    // Straight to the process's stderr: the test harness captures `eprintln!`
                    // and would lose it when the process ends.
                    let _ = writeln!(
                        std::io::stderr(),
                        "\n{test} has run for {limit:?} without finishing: it hangs; ending the test process"
                    );
                    std::process::exit(HUNG_EXIT);
                }
            })
            .expect("a watchdog thread");
        Watchdog { _disarm: disarm }
    }
}
