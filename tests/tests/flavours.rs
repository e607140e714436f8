//! What only one flavour can show: the blocking client inside a tokio runtime and shared
//! across threads, the async client shared across tasks and runtimes, async stream bodies,
//! and async requests and reads dropped midway.

use std::time::{Duration, Instant};

use duet_tests::server::*;

#[tokio::test(flavor = "current_thread")]
async fn the_blocking_client_works_inside_a_current_thread_runtime() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|_| Reply::ok("fine"));
    let text = duet_blocking::get(server.url("/")).unwrap().text().unwrap();
    assert_eq!(text, "fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_client_works_inside_a_multi_thread_runtime_and_spawn_blocking() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|_| Reply::ok("fine"));
    let url = server.url("/");
    let client = duet_blocking::Client::new();
    assert_eq!(client.get(&url).send().unwrap().text().unwrap(), "fine");
    let moved = client.clone();
    let text = tokio::task::spawn_blocking(move || moved.get(&url).send().unwrap().text().unwrap())
        .await
        .unwrap();
    assert_eq!(text, "fine");
    assert_eq!(server.connections(), 1, "clones share the pool");
}

#[test]
fn one_blocking_client_serves_many_threads_through_a_capped_pool() {
    let _watchdog = duet_tests::watchdog!();
    // Eight threads, one connection allowed: each request after the first waits in the pool
    // until another thread checks the connection back in. A lost wake-up shows as a pool
    // timeout.
    let server = Server::http(|r| Reply::ok(r.path().to_owned()));
    let client = duet_blocking::Client::builder()
        .pool_max_per_host(1)
        .pool_timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (client, server_url) = (client.clone(), server.url(""));
            std::thread::spawn(move || {
                for i in 0..25 {
                    let path = format!("/{t}/{i}");
                    let url = format!("{}{}", server_url.trim_end_matches('/'), path);
                    let text = client.get(&url).send().unwrap().text().unwrap();
                    assert_eq!(text, path);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(
        server.connections(),
        1,
        "the cap held and the connection was reused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_async_client_serves_many_tasks() {
    let _watchdog = duet_tests::watchdog!();
    fn assert_shareable<T: Clone + Send + Sync + 'static>(_: &T) {}
    let server = Server::http(|r| Reply::ok(r.path().to_owned()));
    let client = duet_async::Client::builder()
        .pool_max_per_host(4)
        .build()
        .unwrap();
    assert_shareable(&client);
    let pending = client.get(server.url("/first")).send();
    assert_eq!(
        format!("{pending:?}"),
        "Pending",
        "a request on its way shows as such"
    );
    assert_eq!(pending.await.unwrap().status(), 200);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let client = client.clone();
            let url = server.url(&format!("/{i}"));
            tokio::spawn(async move { client.get(url).send().await.unwrap().text().await.unwrap() })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap(), format!("/{i}"));
    }
    assert!(
        server.connections() <= 4,
        "the cap held: {}",
        server.connections()
    );
}

/// A response is `Send + Sync` in both flavours, as reqwest's is, whatever its body source
/// or transport: a spawned task can hold `&Response` across an await, and scoped threads can
/// share one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_can_be_shared_and_borrowed_across_awaits() {
    let _watchdog = duet_tests::watchdog!();
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<duet_async::Response>();
    shareable::<duet_blocking::Response>();
    async fn status_later(response: &duet_async::Response) -> u16 {
        tokio::task::yield_now().await;
        response.status().as_u16()
    }
    let server = Server::http(|r| Reply::ok(r.path().to_owned()));
    let url = server.url("/shared");
    let client = duet_async::Client::new();
    let task = tokio::spawn(async move {
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(b"x".to_vec())]);
        let request = client
            .post(&url)
            .body(duet_async::Body::from_stream(body, None));
        let response = request.send().await.unwrap();
        let status = status_later(&response).await;
        (status, response.text().await.unwrap())
    });
    assert_eq!(task.await.unwrap(), (200, "/shared".to_owned()));
    let url = server.url("/threads");
    tokio::task::spawn_blocking(move || {
        let response = duet_blocking::post(&url)
            .body(duet_blocking::Body::from_reader(
                std::io::Read::take(std::io::repeat(b'x'), 3),
                None,
            ))
            .send()
            .unwrap();
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..2)
                .map(|_| scope.spawn(|| response.status().as_u16()))
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(statuses, [200, 200]);
        assert_eq!(response.text().unwrap(), "/threads");
    })
    .await
    .unwrap();
}

/// One async client used from two current-thread runtimes, as `#[tokio::test]`s sharing a
/// static client are. A socket hears only from the I/O driver of the runtime it was opened
/// on: reused on the other runtime while the first is alive but not driven, it would leave
/// the request waiting for its deadline. So each runtime gets connections of its own. The
/// requests are POSTs, which are not retried, so a stale retry cannot hide a hang.
#[test]
fn one_async_client_serves_two_runtimes_each_on_its_own_connections() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|r| Reply::ok(r.method.to_string()));
    let client = duet_async::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let post = |on: &tokio::runtime::Runtime| {
        on.block_on(async {
            client
                .post(server.url("/"))
                .body("x")
                .send()
                .await?
                .text()
                .await
        })
    };
    let (first, second) = (runtime(), runtime());
    assert_eq!(post(&first).unwrap(), "POST");
    // `first` stays alive, and nothing drives it while `second` runs.
    assert_eq!(post(&second).unwrap(), "POST");
    assert_eq!(post(&second).unwrap(), "POST");
    assert_eq!(
        server.connections(),
        2,
        "one connection per runtime, reused"
    );
    drop(second);
    assert_eq!(post(&first).unwrap(), "POST");
    assert_eq!(
        server.connections(),
        3,
        "the gone runtime's connection is not used"
    );
}

/// An async client whose idle connections expire after `ms` milliseconds.
fn client_idle_for(ms: u64) -> duet_async::Client {
    duet_async::Client::builder()
        .pool_idle_timeout(Duration::from_millis(ms))
        .build()
        .unwrap()
}

/// GETs `path` from `server`, which answers "fine".
async fn get_fine(client: &duet_async::Client, server: &Server, path: &str) {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "fine");
}

/// Whether at least `n` connections were accepted and all have ended within 5 s (well within
/// the server's own ten seconds of silence before it ends one), waiting on this runtime so
/// that its tasks run meanwhile.
async fn connections_end(server: &Server, n: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if server.wait_for_connections_to_end(n, Duration::ZERO) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// A server that closes an idle connection leaves the client's socket half-closed until the
/// client closes it: the async client closes idle connections as they expire, with no
/// request to find them (duet-blocking, with no timer of its own, closes them at its next
/// request, as requests and ureq do).
#[tokio::test]
async fn the_async_client_closes_idle_connections_as_they_expire_without_another_request() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|_| Reply::ok("fine"));
    let client = client_idle_for(200);
    for n in 1..=2 {
        get_fine(&client, &server, "/").await;
        assert!(
            connections_end(&server, n).await,
            "connection {n} was left open"
        );
    }
}

/// The reaper wakes when the connection it was to close may be busy with another request:
/// it then waits for it to come back rather than giving up on it.
#[tokio::test]
async fn a_connection_busy_when_the_reaper_wakes_is_closed_once_it_expires_later() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|req| {
        if req.path() == "/slow" {
            std::thread::sleep(Duration::from_millis(600));
        }
        Reply::ok("fine")
    });
    let client = client_idle_for(300);
    // The reaper's first wake-up falls during the slow request, on the same connection.
    get_fine(&client, &server, "/").await;
    get_fine(&client, &server, "/slow").await;
    assert_eq!(server.connections(), 1);
    assert!(
        connections_end(&server, 1).await,
        "the connection was left open"
    );
}

/// A client's reaper of idle connections is one task, which ends once no connection is open,
/// and with the client rather than sleeping on to the next expiry.
#[tokio::test]
async fn an_async_client_runs_one_reaper_task_while_connections_are_open_or_the_client_lives() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|_| Reply::ok("fine"));
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let client = client_idle_for(300);
    let tasks_back_to_before = async || {
        let deadline = Instant::now() + Duration::from_secs(5);
        while metrics.num_alive_tasks() > before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        metrics.num_alive_tasks() == before
    };
    for _ in 0..3 {
        get_fine(&client, &server, "/").await;
    }
    assert_eq!(metrics.num_alive_tasks(), before + 1, "one reaper");
    // It closes the connection as it expires, and then ends.
    assert!(
        tasks_back_to_before().await,
        "the reaper ended with no connection open"
    );
    assert_eq!(server.connections(), 1);
    // A client whose connection would be kept a minute and a half: its reaper ends with it.
    let client = duet_async::Client::new();
    get_fine(&client, &server, "/").await;
    assert_eq!(metrics.num_alive_tasks(), before + 1, "one reaper again");
    // Its first poll puts it to sleep until the connection expires.
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(client);
    assert!(
        tasks_back_to_before().await,
        "the reaper ended with the client"
    );
}

/// The reaper of idle connections runs on a runtime; when that one shuts down, the next
/// runtime to check a connection in starts another.
#[test]
fn idle_connections_are_closed_on_the_next_runtime_once_the_first_is_gone() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|_| Reply::ok("fine"));
    let client = client_idle_for(1000);
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    // Dropped at once, its reaper with it, its connection still idle.
    runtime().block_on(get_fine(&client, &server, "/"));
    let ended = runtime().block_on(async {
        get_fine(&client, &server, "/").await;
        // This runtime runs its reaper while it waits.
        connections_end(&server, 2).await
    });
    assert!(ended, "a connection was left open");
}

#[tokio::test]
async fn async_bodies_from_streams() {
    let _watchdog = duet_tests::watchdog!();
    // Of unknown length, chunked; with its length given, sent with it.
    let server = Server::http(|r| Reply::ok(format!("{}:{}", r.chunked, r.body_str())));
    let client = duet_async::Client::new();
    let streams = [
        (
            vec!["one ", "two ", "three"],
            None,
            "Body::Stream(len: None)",
            "true:one two three",
        ),
        (
            vec!["on", "e"],
            Some(3),
            "Body::Stream(len: Some(3))",
            "false:one",
        ),
    ];
    for (pieces, len, debug, received) in streams {
        let pieces = pieces.into_iter().map(Ok::<_, std::io::Error>);
        let body = duet_async::Body::from_stream(futures_util::stream::iter(pieces), len);
        assert_eq!(format!("{body:?}"), debug);
        assert_eq!(
            (body.as_bytes(), body.len(), body.is_empty()),
            (None, len, false)
        );
        let response = client
            .post(server.url("/"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.text().await.unwrap(), received);
    }
}

#[tokio::test]
async fn a_failing_async_stream_is_a_body_error() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|_| Reply::ok(""));
    let pieces: Vec<Result<&'static str, std::io::Error>> =
        vec![Ok("one"), Err(std::io::Error::other("disk gone"))];
    let body = duet_async::Body::from_stream(futures_util::stream::iter(pieces), None);
    let err = duet_async::Client::new()
        .post(server.url("/"))
        .body(body)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_body(), "{err}");
}

/// A body stream that stops producing (one piece, then nothing) runs into the request's total
/// timeout; no other timeout covers the caller's source. (A blocking reader that blocks
/// cannot be interrupted: the request fails once it returns.)
#[tokio::test]
async fn a_stalled_async_body_stream_runs_into_the_total_timeout() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|_| Reply::ok(""));
    let first = futures_util::stream::iter([Ok::<_, std::io::Error>("one")]);
    let stalled = futures_util::StreamExt::chain(first, futures_util::stream::pending());
    let send = duet_async::Client::new()
        .post(server.url("/"))
        .body(duet_async::Body::from_stream(stalled, None))
        .timeout(std::time::Duration::from_millis(300))
        .send();
    let err = tokio::time::timeout(std::time::Duration::from_secs(10), send)
        .await
        .expect("the request's own timeout ends it")
        .unwrap_err();
    assert_eq!(
        err.timeout_phase(),
        Some(duet_async::TimeoutPhase::Total),
        "{err}"
    );
}

#[tokio::test]
async fn async_bytes_stream_and_chunk_yield_the_body_as_it_arrives_and_end_after_an_error() {
    let _watchdog = duet_tests::watchdog!();
    use futures_util::StreamExt;
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<Vec<u8>> = body.chunks(70_000).map(<[u8]>::to_vec).collect();
    let whole = body.clone();
    let server = Server::http(move |r| match r.path() {
        "/length" => Reply::ok(whole.clone()),
        "/empty" => Reply::ok(""),
        _ => Reply::ok("").chunked(chunks.clone()),
    });
    let client = duet_async::Client::new();
    for (path, expected) in [("/length", &body[..]), ("/chunked", &body), ("/empty", &[])] {
        let response = client.get(server.url(path)).send().await.unwrap();
        let pieces: Vec<_> = response.bytes_stream().collect().await;
        assert!(
            pieces
                .iter()
                .all(|p| p.as_ref().is_ok_and(|p| !p.is_empty())),
            "{path}"
        );
        let got: Vec<u8> = pieces.into_iter().flat_map(|p| p.unwrap()).collect();
        assert!(
            got == expected,
            "{path}: {} bytes, or different ones",
            got.len()
        );
        // The same through `chunk()`, until it says the body has ended.
        let mut response = client.get(server.url(path)).send().await.unwrap();
        let mut got = Vec::new();
        while let Some(piece) = response.chunk().await.unwrap() {
            assert!(!piece.is_empty(), "{path}");
            got.extend_from_slice(&piece);
        }
        assert!(got == expected, "{path} by chunk(): {} bytes", got.len());
        assert!(response.chunk().await.unwrap().is_none(), "{path}");
    }
    // A body cut short: what came, then the error, then nothing more.
    let cut = Server::scripted(|conn| {
        conn.read_request();
        conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    });
    let response = client.get(cut.url("/")).send().await.unwrap();
    let mut stream = response.bytes_stream();
    assert_eq!(&stream.next().await.unwrap().unwrap()[..], b"abc");
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(err.is_protocol(), "{err}");
    assert!(stream.next().await.is_none());
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn async_bytes_after_part_of_the_body_was_read_returns_the_rest() {
    let _watchdog = duet_tests::watchdog!();
    use tokio::io::AsyncReadExt;
    // Bodies larger than one piece, framed each way: part is read through `chunk()` and
    // `AsyncRead` first (some left buffered), then `bytes()` must return exactly the rest.
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let sent = body.clone();
    let server = Server::scripted(move |conn| {
        let Some(request) = conn.read_request() else {
            return;
        };
        let head: &[u8] = match request.target.as_str() {
            "/chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "/close" => b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
            _ => b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n",
        };
        conn.write(head);
        for piece in sent.chunks(70_000) {
            if request.target == "/chunked" {
                conn.write(format!("{:x}\r\n", piece.len()).as_bytes());
                conn.write(piece);
                conn.write(b"\r\n");
            } else {
                conn.write(piece);
            }
        }
        if request.target == "/chunked" {
            conn.write(b"0\r\n\r\n");
        }
    });
    let client = duet_async::Client::new();
    for path in ["/length", "/chunked", "/close"] {
        let mut response = client.get(server.url(path)).send().await.unwrap();
        let first = response.chunk().await.unwrap().unwrap();
        let mut three = [0u8; 3];
        response.read_exact(&mut three).await.unwrap();
        let rest = response.bytes().await.unwrap();
        let mut whole = first.to_vec();
        whole.extend_from_slice(&three);
        whole.extend_from_slice(&rest);
        assert_eq!(whole.len(), body.len(), "{path}");
        assert!(whole == body, "{path}");
    }
    // Whole bodies, and an empty one.
    let empty = Server::http(|_| Reply::ok(""));
    let whole = ["/length", "/chunked", "/close"].map(|path| (server.url(path), &body[..]));
    for (url, expected) in whole.iter().cloned().chain([(empty.url("/"), &[][..])]) {
        let response = client.get(&url).send().await.unwrap();
        assert!(response.bytes().await.unwrap() == expected, "{url}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_stray_answer_is_noticed_before_reuse_even_when_the_runtime_has_not_looked() {
    let _watchdog = duet_tests::watchdog!();
    // The task keeps its thread while the server's stray bytes arrive (CPU work between two
    // requests), so the runtime's I/O driver has not looked at the idle connection since: the
    // check before reuse asks the socket itself, not what the driver last saw.
    let stray_sent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = stray_sent.clone();
    let server = Server::scripted(move |conn| {
        if conn.index() == 0 {
            conn.read_request();
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
            conn.sleep(Duration::from_millis(10));
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray");
            sent.store(true, std::sync::atomic::Ordering::SeqCst);
            conn.sleep(Duration::from_secs(5));
        } else {
            conn.serve(|r| Reply::ok(r.method.clone()));
        }
    });
    let client = duet_async::Client::new();
    let first = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(first.text().await.unwrap(), "first");
    while !stray_sent.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1)); // not yielding to the runtime
    }
    std::thread::sleep(Duration::from_millis(5));
    let second = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(second.text().await.unwrap(), "GET");
    assert_eq!(server.connections(), 2);
}

/// A flag a server thread waits on until the test raises it.
#[derive(Clone, Default)]
struct Gate(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Gate {
    fn open(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits (sleeping, on a server thread) until the gate is open, at most 10 s.
    fn wait(&self) {
        let until = Instant::now() + Duration::from_secs(10);
        while !self.0.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Waits until `server` has read `n` requests.
async fn requests_read(server: &Server, n: usize) {
    while server.requests().len() < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn a_request_dropped_while_it_waits_for_its_answer_leaves_nothing_for_the_next() {
    let _watchdog = duet_tests::watchdog!();
    // The first request is dropped (a `select!`, a timeout around it) once the server has it,
    // its answer still to come: its connection must not serve the next request, which would
    // then wait behind it and read its answer.
    let gate = Gate::default();
    let held = gate.clone();
    let server = Server::http(move |r| {
        if r.path() == "/slow" {
            held.wait();
        }
        Reply::ok(format!("answer to {}", r.path()))
    });
    let client = duet_async::Client::builder()
        .read_timeout(Duration::from_secs(5))
        .pool_max_per_host(1)
        .pool_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    tokio::select! {
        _ = client.get(server.url("/slow")).send() => panic!("answered before the gate opened"),
        () = requests_read(&server, 1) => {}
    }
    // Within the cap of one: the dropped request's slot is free again.
    let next = client.get(server.url("/next")).send().await.unwrap();
    assert_eq!(next.text().await.unwrap(), "answer to /next");
    assert_eq!(
        server.connections(),
        2,
        "the dropped request's connection was not reused"
    );
    gate.open();
}

#[tokio::test]
async fn a_request_dropped_while_it_waits_for_a_slot_takes_none() {
    let _watchdog = duet_tests::watchdog!();
    let server = Server::http(|r| Reply::ok(format!("answer to {}", r.path())));
    let client = duet_async::Client::builder()
        .pool_max_per_host(1)
        .pool_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let holding = client.get(server.url("/a")).send().await.unwrap();
    let waited = tokio::time::timeout(
        Duration::from_millis(50),
        client.get(server.url("/b")).send(),
    );
    assert!(waited.await.is_err(), "the slot was taken: /b waited");
    drop(holding);
    let next = client.get(server.url("/c")).send().await.unwrap();
    assert_eq!(next.text().await.unwrap(), "answer to /c");
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(paths, ["/a", "/c"], "the dropped request never went out");
}

#[tokio::test]
async fn a_chunk_read_dropped_midway_loses_no_body() {
    let _watchdog = duet_tests::watchdog!();
    let gate = Gate::default();
    let held = gate.clone();
    let server = Server::scripted(move |conn| {
        conn.read_request();
        conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
        held.wait();
        conn.write(b"world");
        conn.read_request();
    });
    let client = duet_async::Client::new();
    let mut response = client.get(server.url("/")).send().await.unwrap();
    let mut body = response.chunk().await.unwrap().unwrap().to_vec();
    let dropped = tokio::time::timeout(Duration::from_millis(20), response.chunk()).await;
    assert!(dropped.is_err(), "nothing more could have arrived");
    gate.open();
    while let Some(piece) = response.chunk().await.unwrap() {
        body.extend_from_slice(&piece);
    }
    assert_eq!(body, b"helloworld");
}
