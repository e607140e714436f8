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
            $( $(#[$meta])* #[test] fn $name() $body )*
        }
        mod asynchronous {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use ::duet_async as duet;
            #[allow(unused_imports)]
            use $crate::{__flavour_async as flavour, __join_async as join, __next_async as next, __read_all_async as read_all, __spawn_async as spawn, __wait_async as wait};
            $( $(#[$meta])* #[::tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() $body )*
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
