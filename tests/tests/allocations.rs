//! How many heap allocations one small request on a warm connection costs each client: a
//! guard on the request path, where every allocation (and its free) is a measurable part of
//! a small request's CPU (see bench/README.md). Counted by allocation-counter's global
//! allocator, on the calling thread only (the test server runs on threads of its own). The
//! bounds are today's counts: a change that adds an allocation to this path must say why here.

use duet_tests::server::*;

/// The allocations (growths included) `f` makes on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let mut out = None;
    let info = allocation_counter::measure(|| out = Some(f()));
    (out.expect("ran"), info.count_total)
}

/// A small response, like the benchmark's.
fn server() -> Server {
    Server::http(|_| Reply::ok("Hello, world!"))
}

/// The allocations of one `get` of the small response, after a few to warm the connection up.
fn one_warm_request(server: &Server, get: impl Fn() -> Vec<u8>) -> u64 {
    for _ in 0..3 {
        get();
    }
    let (body, n) = allocations(get);
    assert_eq!(body, b"Hello, world!");
    assert_eq!(server.connections(), 1);
    n
}

#[test]
fn a_small_blocking_request_on_a_warm_connection() {
    let _watchdog = duet_tests::watchdog!();
    let server = server();
    let client = duet_blocking::Client::new();
    let url = server.url("/small");
    let n = one_warm_request(&server, || {
        client.get(&url).send().unwrap().bytes().unwrap()
    });
    // The call, the request head's target and its two lists, the pool key's host, the
    // response head's two lists, and the body handed back.
    assert!(n <= 8, "{n} allocations");
}

#[test]
fn a_small_async_request_on_a_warm_connection() {
    let _watchdog = duet_tests::watchdog!();
    let server = server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = duet_async::Client::new();
    let url = server.url("/small");
    let n = one_warm_request(&server, || {
        rt.block_on(async {
            client
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        })
    });
    // As the blocking client's, and the boxed request future and body reader.
    assert!(n <= 10, "{n} allocations");
}
