//! Parsing response heads and chunked bodies: duet-core's engine beside raw httparse on the
//! same bytes, reported as a ratio (the engine's overhead over httparse alone; aim: 1.5x).
//!
//! Run with `cargo bench -p duet-core --bench parse`. Criterion measures each input three
//! ways, then the custom `main` reads criterion's `estimates.json` files back and prints a
//! table of medians and ratios:
//!
//! - `<input>/httparse`: the floor. `httparse::Response::parse` with 64 stack slots; for a
//!   chunked body, also `httparse::parse_chunk_size` in a loop that skips the chunk data and
//!   its CRLF without looking at them.
//! - `<input>/duet`: what a driver does per response on a keep-alive connection: one
//!   [`Connection`] is reused (with `start_next_cycle`), and each iteration passes the whole
//!   response to `handle_input`, drains `poll_event` until `EndOfMessage` (summing `Data`
//!   lengths) and calls `start_next_cycle`. Queuing the GET (`send_request` +
//!   `advance_transmit`) is request-side work and happens outside the timed region.
//! - `<input>/duet_prebuffered`: the same, but the bytes are put in the connection's
//!   `input_buffer` outside the timed region, as a socket read would put them there. This
//!   leaves out `handle_input`'s copy, which httparse (reading bytes in place) never makes.
//!
//! `cargo bench -p duet-core --bench parse -- --test` (and `cargo test --benches`) runs each
//! benchmark once as a check and prints no table.

// The bench is the driver here: it may read the clock, which duet-core itself never does.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Bencher, Criterion, Throughput};
use duet_core::{Connection, Event, Method, RequestBody, RequestHead};

/// The aim from the issue: duet at most this many times slower than httparse alone.
const AIM: f64 = 1.5;

/// The `duet` benchmarks time this many responses' bytes at once (spread over several reused
/// connections), so the two clock reads per batch are negligible beside small heads.
const BATCH_BYTES: usize = 16 * 1024;
const MAX_BATCH: usize = 64;

/// One benchmark input: a complete response and the body length it decodes to.
struct Input {
    name: &'static str,
    bytes: Vec<u8>,
    body_len: usize,
}

const SMALL_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.25.3\r\n\
Date: Tue, 14 May 2024 09:21:07 GMT\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 0\r\n\
Connection: keep-alive\r\n\
Cache-Control: no-cache\r\n\
\r\n";

const LARGE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Tue, 14 May 2024 09:21:07 GMT\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 0\r\n\
Connection: keep-alive\r\n\
Server: cloudflare\r\n\
CF-Ray: 8838a2f4be1c5a3d-AMS\r\n\
Cache-Control: private, no-cache, no-store, max-age=0, must-revalidate\r\n\
Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n\
Pragma: no-cache\r\n\
Vary: Accept-Encoding, Cookie, Origin\r\n\
ETag: W/\"5f3c-18f6e8a2b40-gzip\"\r\n\
Last-Modified: Mon, 13 May 2024 22:04:51 GMT\r\n\
Strict-Transport-Security: max-age=63072000; includeSubDomains; preload\r\n\
Content-Security-Policy: default-src 'self'; script-src 'self' 'nonce-r4nd0mN0nc3v4lue' https://www.googletagmanager.com https://cdn.jsdelivr.net; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; img-src 'self' data: https://*.example-cdn.com; font-src 'self' https://fonts.gstatic.com; connect-src 'self' https://api.example.com wss://realtime.example.com; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; upgrade-insecure-requests; report-uri https://csp.example.com/report\r\n\
X-Content-Type-Options: nosniff\r\n\
X-Frame-Options: DENY\r\n\
Referrer-Policy: strict-origin-when-cross-origin\r\n\
Permissions-Policy: camera=(), microphone=(), geolocation=(self), payment=(), usb=(), interest-cohort=()\r\n\
Set-Cookie: __Host-session=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwiaWF0IjoxNzE1Njc4MDY3fQ.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=1209600\r\n\
Set-Cookie: csrftoken=Zk9xV3p2T0FqY2VtS1B4bUVwR2J3cWRrQ0ZsUkh6YWI; Path=/; Secure; SameSite=Strict; Expires=Tue, 13 May 2025 09:21:07 GMT\r\n\
Set-Cookie: _ga=GA1.2.1234567890.1715678067; Domain=.example.com; Path=/; Expires=Thu, 14 May 2026 09:21:07 GMT; SameSite=Lax\r\n\
Access-Control-Allow-Origin: https://app.example.com\r\n\
Access-Control-Allow-Credentials: true\r\n\
X-Request-Id: 3f2b8c1e-9a4d-4e7f-b6c2-1d8e5a7f9b03\r\n\
X-Cache: MISS from edge-ams-07\r\n\
Via: 1.1 varnish (Varnish/7.4), 1.1 edge-ams-07\r\n\
Alt-Svc: h3=\":443\"; ma=86400\r\n\
Accept-Ranges: bytes\r\n\
\r\n";

const CHUNKED_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.25.3\r\n\
Date: Tue, 14 May 2024 09:21:07 GMT\r\n\
Content-Type: application/json\r\n\
Transfer-Encoding: chunked\r\n\
Connection: keep-alive\r\n\
Vary: Accept-Encoding\r\n\
\r\n";

/// `CHUNKED_HEAD` and a chunked body of `total` bytes of text in chunks of `chunk` bytes.
fn chunked_response(total: usize, chunk: usize) -> Vec<u8> {
    let mut bytes = CHUNKED_HEAD.to_vec();
    // Printable JSON-ish text from a small LCG, so the data is not one repeated byte.
    let mut state: u32 = 0x2545_f491;
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk);
        bytes.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        for _ in 0..n {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            bytes.push(b" \"{}:,abcdefghijklmnopqrstuvwxyz0123456789"[(state >> 24) as usize % 42]);
        }
        bytes.extend_from_slice(b"\r\n");
        left -= n;
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

fn inputs() -> Vec<Input> {
    vec![
        Input {
            name: "head_small",
            bytes: SMALL_HEAD.to_vec(),
            body_len: 0,
        },
        Input {
            name: "head_large",
            bytes: LARGE_HEAD.to_vec(),
            body_len: 0,
        },
        Input {
            name: "chunked_256k_4k",
            bytes: chunked_response(256 * 1024, 4096),
            body_len: 256 * 1024,
        },
        Input {
            name: "chunked_64k_64b",
            bytes: chunked_response(64 * 1024, 64),
            body_len: 64 * 1024,
        },
    ]
}

// ----- the httparse floor -----

/// Parses a head with httparse alone; returns the head's length.
fn httparse_head(input: &[u8]) -> usize {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut slots);
    match response.parse(input) {
        Ok(httparse::Status::Complete(len)) => {
            black_box((response.code, response.headers.len()));
            len
        }
        other => panic!("httparse: {other:?}"),
    }
}

/// The least work that finds a chunked body's data: the head, then each chunk-size line,
/// skipping the data and its CRLF unread. Returns the body length.
fn httparse_chunked(input: &[u8]) -> usize {
    let mut pos = httparse_head(input);
    let mut body = 0;
    loop {
        match httparse::parse_chunk_size(&input[pos..]) {
            Ok(httparse::Status::Complete((used, 0))) => {
                pos += used;
                break;
            }
            Ok(httparse::Status::Complete((used, size))) => {
                let size = usize::try_from(size).expect("chunk fits in memory");
                pos += used + size + 2;
                body += size;
            }
            other => panic!("httparse chunk size: {other:?}"),
        }
    }
    debug_assert_eq!(&input[pos..], b"\r\n", "an empty trailer section");
    body
}

// ----- duet -----

/// Drains one response from `conn` and readies it for the next; returns the body length.
fn duet_drain(conn: &mut Connection) -> usize {
    let mut body = 0;
    loop {
        match conn.poll_event().expect("a valid response") {
            Some(Event::Response(head)) => {
                black_box(&head);
            }
            Some(Event::Data(data)) => body += data.len(),
            Some(Event::EndOfMessage) => break,
            Some(other) => panic!("unexpected event {other:?}"),
            None => panic!("the input ended before EndOfMessage"),
        }
    }
    conn.start_next_cycle().expect("a reusable connection");
    body
}

/// Queues the GET on `conn` and reports it written, as a driver would before reading.
fn send_get(conn: &mut Connection, request: &RequestHead, now: Instant) {
    conn.send_request(request, RequestBody::None, now)
        .expect("a valid request");
    let n = conn.poll_transmit().map_or(0, <[u8]>::len);
    conn.advance_transmit(n);
}

/// Times `duet` on `input`. Connections are reused across iterations (keep-alive); a batch
/// of them has its request queued, untimed, then the batch's responses are timed together.
fn bench_duet(
    b: &mut Bencher<'_>,
    input: &[u8],
    request: &RequestHead,
    now: Instant,
    prebuffered: bool,
) {
    let batch = (BATCH_BYTES / input.len()).clamp(1, MAX_BATCH);
    let mut conns: Vec<Connection> = (0..batch).map(|_| Connection::default()).collect();
    b.iter_custom(|iters| {
        let mut elapsed = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = usize::try_from(left.min(batch as u64)).unwrap_or(batch);
            for conn in &mut conns[..n] {
                send_get(conn, request, now);
                if prebuffered {
                    conn.input_buffer(input.len())[..input.len()].copy_from_slice(input);
                    conn.commit_input(input.len());
                }
            }
            let start = Instant::now();
            for conn in &mut conns[..n] {
                if !prebuffered {
                    conn.handle_input(black_box(input));
                }
                black_box(duet_drain(conn));
            }
            elapsed += start.elapsed();
            left -= n as u64;
        }
        elapsed
    });
}

/// Checks once that duet and httparse agree on every input before timing anything.
fn check(inputs: &[Input], request: &RequestHead, now: Instant) {
    let mut conn = Connection::default();
    for input in inputs {
        let floor = if input.body_len == 0 {
            assert_eq!(httparse_head(&input.bytes), input.bytes.len());
            0
        } else {
            httparse_chunked(&input.bytes)
        };
        send_get(&mut conn, request, now);
        conn.handle_input(&input.bytes);
        let duet = duet_drain(&mut conn);
        assert_eq!(
            (floor, duet),
            (input.body_len, input.body_len),
            "{}",
            input.name
        );
    }
}

// ----- the ratio table -----

/// Where criterion writes its results, found as criterion finds it.
fn criterion_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    // `cargo bench` runs this from the package's directory; the workspace's target/ is above.
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir| dir.join("target").join("criterion"))
        .find(|dir| dir.is_dir())
}

/// The median estimate (ns per iteration) of one benchmark, if criterion wrote it during
/// this run (`since`); older files from earlier runs are ignored.
fn median_ns(dir: &Path, group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let path = dir.join(group).join(id).join("new").join("estimates.json");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let json = std::fs::read_to_string(&path).ok()?;
    // {"mean":{...},"median":{"confidence_interval":{...},"point_estimate":X,...},...}
    let median = &json[json.find("\"median\"")?..];
    let value = &median[median.find("\"point_estimate\"")? + "\"point_estimate\"".len()..];
    let value = value.trim_start().strip_prefix(':')?.trim_start();
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(value.len());
    value[..end].parse().ok()
}

fn verdict(ratio: f64) -> &'static str {
    if ratio <= AIM { "PASS" } else { "over" }
}

fn print_table(inputs: &[Input], since: SystemTime) {
    let Some(dir) = criterion_dir() else {
        return; // nothing was measured yet (criterion creates it when saving estimates)
    };
    let mut rows = Vec::new();
    for input in inputs {
        let get = |id| median_ns(&dir, input.name, id, since);
        let (Some(floor), Some(duet)) = (get("httparse"), get("duet")) else {
            continue;
        };
        let pre = get("duet_prebuffered");
        rows.push((input, floor, duet, pre));
    }
    if rows.is_empty() {
        return; // e.g. `--test`, `--list` or a filter that matched nothing: no fresh estimates
    }
    println!();
    println!(
        "duet-core vs httparse alone (criterion medians, ns/iter; aim: duet/httparse <= {AIM}x)"
    );
    println!(
        "{:<17} {:>8} {:>12} {:>12} {:>7}  {:<6} {:>12} {:>7}  {:<6}",
        "input", "bytes", "httparse", "duet", "ratio", "vs aim", "duet prebuf", "ratio", "vs aim"
    );
    for (input, floor, duet, pre) in rows {
        let ratio = duet / floor;
        let (pre_ns, pre_ratio, pre_verdict) = match pre {
            Some(pre) => (
                format!("{pre:.1}"),
                format!("{:.2}x", pre / floor),
                verdict(pre / floor),
            ),
            None => ("-".to_owned(), "-".to_owned(), ""),
        };
        println!(
            "{:<17} {:>8} {:>12.1} {:>12.1} {:>6.2}x  {:<6} {:>12} {:>7}  {:<6}",
            input.name,
            input.bytes.len(),
            floor,
            duet,
            ratio,
            verdict(ratio),
            pre_ns,
            pre_ratio,
            pre_verdict
        );
    }
    println!(
        "duet: handle_input + poll_event to EndOfMessage + start_next_cycle on a reused \
         Connection; duet prebuf: the same with the bytes already in input_buffer."
    );
}

fn main() {
    let since = SystemTime::now();
    let now = Instant::now();
    let mut request = RequestHead::new(Method::GET, "/").expect("a valid target");
    request
        .headers_mut()
        .append("Host", "bench")
        .expect("a valid header");
    let inputs = inputs();
    check(&inputs, &request, now);

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    for input in &inputs {
        let bytes = &input.bytes[..];
        let mut group = criterion.benchmark_group(input.name);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        if input.body_len == 0 {
            group.bench_function("httparse", |b| {
                b.iter(|| httparse_head(black_box(bytes)));
            });
        } else {
            group.bench_function("httparse", |b| {
                b.iter(|| httparse_chunked(black_box(bytes)));
            });
        }
        group.bench_function("duet", |b| bench_duet(b, bytes, &request, now, false));
        group.bench_function("duet_prebuffered", |b| {
            bench_duet(b, bytes, &request, now, true);
        });
        group.finish();
    }
    criterion.final_summary();

    print_table(&inputs, since);
}
