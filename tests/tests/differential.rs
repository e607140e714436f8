//! Blocking and async against the same servers, made at random: for each of a few hundred
//! servers, answering three GETs with answers of every framing, coding, status and breakage
//! the engine knows, written whole or in pieces and closed after or not, both clients must
//! reach the same outcome request by request (status, headers, and the body and trailers read
//! whole, in small pieces, as text, as lines or as chunks; or the same kind of error) over as
//! many connections, with the server seeing the same requests. The conformance suite checks
//! chosen cases against each client; this checks the space between them against the other
//! client.
//!
//! The other way round, a few hundred random requests (method, query, headers, and a body of
//! bytes, text, a file, a reader of told, wrong or unknown length, a form, JSON, or a
//! multipart form of such parts), maybe with `Expect: 100-continue` (which the server answers
//! with a `100 Continue`, ignores, or refuses with a 417), answered with a 200, a redirect or
//! a 503 to retry, after a Digest challenge or not, a cookie set or not: both clients must
//! send the same bytes (their multipart boundaries and the servers' ports aside), every
//! round's, redirect's and retry's request included, and reach the same outcome.
//!
//! The servers are deterministic from a fixed seed (a failure names its case and prints its
//! answers). What would make an outcome depend on timing is left out: bytes past an answer's
//! end are written together with its end (so the client reads them with it, or finds them
//! waiting when it checks the connection before reuse), and an answer that does not end by
//! its framing is followed by a close, so no case waits for a timeout.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use duet_core::client::RetryPolicy;
use duet_tests::server::*;

/// Servers tried per run.
const CASES: u64 = 400;
/// Servers tried over TLS per run.
const TLS_CASES: u64 = 100;
/// The first case's seed; case `n` uses `SEED + n`.
const SEED: u64 = 0x5eed_0000_d0e7;

/// splitmix64: small, seedable, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// One answer: its bytes, where they are split into separate writes, and whether the server
/// closes the connection after it.
#[derive(Debug, Clone)]
struct Answer {
    bytes: Vec<u8>,
    splits: Vec<usize>,
    close: bool,
}

/// How an answer's body is framed.
#[derive(Debug, Clone, Copy)]
enum Framing {
    Length,
    /// Declares more than it sends (then closes).
    LengthShort,
    /// Declares less than it sends: the rest is stray bytes (then closes).
    LengthLong,
    Chunked,
    /// Valid chunked framing with a `Content-Length` beside it.
    ChunkedWithLength,
    /// Chunked, broken somewhere (then closes).
    ChunkedBroken,
    /// Neither: the body runs to the close.
    UntilClose,
    /// Two different lengths (then closes).
    TwoLengths,
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A chunked encoding of `body`, with an extension or a trailer now and then: in chunks of one
/// size, as servers that stream through a fixed buffer send them (and as a read spans from
/// one large chunk into the next, its size line as long as the last), or of random sizes.
fn chunked(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    let fixed = match rng.below(6) {
        0 => Some(8_192),
        1 => Some(16_384),
        2 => Some(1 + rng.below(40_000)),
        _ => None,
    };
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let n = fixed.unwrap_or_else(|| match rng.below(3) {
            0 => 1 + rng.below(200),
            1 => 1 + rng.below(20_000),
            _ => 8_192 + rng.below(48_000),
        });
        let n = n.min(rest.len());
        let size = if rng.chance(50) {
            format!("{n:x}")
        } else {
            format!("{n:X}")
        };
        out.extend_from_slice(size.as_bytes());
        if rng.chance(10) {
            out.extend_from_slice(b";ext=1");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    out.extend_from_slice(b"0\r\n");
    out.extend_from_slice(match rng.below(10) {
        0 | 1 => b"X-Trailer: done\r\n".as_slice(),
        2 => b"X-Trailer: done\r\nx-checksum:42\r\n",
        3 => b"Bad Trailer Line\r\n",
        _ => b"",
    });
    out.extend_from_slice(b"\r\n");
    out
}

/// A random answer (see the module docs for what is left out).
fn answer(rng: &mut Rng) -> Answer {
    let body_len = match rng.below(4) {
        0 => 0,
        1 => rng.below(40),
        2 => rng.below(5_000),
        _ => 8_000 + rng.below(100_000),
    };
    let text: &[u8] = match rng.chance(50) {
        true => b"duet, both flavours\n",
        false => b"\xe9t\xe9, crlf\r\n",
    };
    let body: Vec<u8> = (0..body_len)
        .map(|i| match rng.chance(10) {
            true => rng.next() as u8,
            false => text[i % text.len()],
        })
        .collect();
    let (status, bodiless) = [
        ("HTTP/1.1 200 OK", false),
        ("HTTP/1.1 200 OK", false),
        ("HTTP/1.1 404 Not Found", false),
        ("HTTP/1.1 500 Internal Server Error", false),
        ("HTTP/1.0 200 OK", false),
        ("HTTP/1.1 204 No Content", true),
        ("HTTP/1.1 304 Not Modified", true),
        ("HTTP/1.1 299", false),
        ("HTTP/1.1 20 Short", false),
        ("HTTP/1.1 200 OK\r\nBad Header Line", false),
    ][rng.below(10)];
    let mut head = String::new();
    if rng.chance(10) {
        head.push_str("HTTP/1.1 100 Continue\r\n\r\n");
    }
    head.push_str(status);
    head.push_str("\r\n");
    let (coded, coding) = match rng.below(10) {
        0 => (gzip(&body), Some("gzip")),
        1 => (zlib(&body), Some("deflate")),
        2 => {
            let mut cut = gzip(&body);
            cut.truncate(cut.len().saturating_sub(1 + rng.below(8)));
            (cut, Some("gzip"))
        }
        3 => (body.clone(), Some("identity")),
        4 => (body.clone(), Some("x-unknown")),
        _ => (body, None),
    };
    if let Some(coding) = coding {
        head.push_str(&format!("Content-Encoding: {coding}\r\n"));
    }
    if rng.chance(20) {
        head.push_str("Set-Cookie: flavour=same; Path=/\r\n");
    }
    if rng.chance(20) {
        head.push_str("Content-Type: text/plain; charset=latin1\r\n");
    }
    let framing = [
        Framing::Length,
        Framing::Length,
        Framing::Length,
        Framing::LengthShort,
        Framing::LengthLong,
        Framing::Chunked,
        Framing::Chunked,
        Framing::ChunkedWithLength,
        Framing::ChunkedBroken,
        Framing::UntilClose,
        Framing::TwoLengths,
    ][rng.below(11)];
    let n = coded.len();
    // A length shorter than the payload, where the framing ends the body before it does.
    let mut declared = None;
    let payload = match framing {
        Framing::Length => {
            head.push_str(&format!("Content-Length: {n}\r\n"));
            coded
        }
        Framing::LengthShort => {
            head.push_str(&format!("Content-Length: {}\r\n", n + 1 + rng.below(100)));
            coded
        }
        Framing::LengthLong => {
            let length = n.saturating_sub(1 + rng.below(50));
            declared = Some(length);
            head.push_str(&format!("Content-Length: {length}\r\n"));
            coded
        }
        Framing::Chunked | Framing::ChunkedWithLength => {
            if matches!(framing, Framing::ChunkedWithLength) {
                head.push_str(&format!("Content-Length: {n}\r\n"));
            }
            head.push_str("Transfer-Encoding: chunked\r\n");
            chunked(rng, &coded)
        }
        Framing::ChunkedBroken => {
            head.push_str("Transfer-Encoding: chunked\r\n");
            let mut framed = chunked(rng, &coded);
            match rng.below(3) {
                0 => framed.truncate(rng.below(framed.len())),
                1 => framed.insert(rng.below(framed.len() + 1), b'z'),
                _ => {
                    let at = rng.below(framed.len());
                    framed.remove(at);
                }
            }
            framed
        }
        Framing::UntilClose => coded,
        Framing::TwoLengths => {
            head.push_str(&format!(
                "Content-Length: {n}\r\nContent-Length: {}\r\n",
                n + 1
            ));
            coded
        }
    };
    let ends_by_framing = matches!(
        framing,
        Framing::Length | Framing::Chunked | Framing::ChunkedWithLength
    );
    let says_close = rng.chance(15);
    if says_close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    let framed_end = match bodiless {
        true => bytes.len(),
        false => bytes.len() + declared.unwrap_or(payload.len()),
    };
    bytes.extend_from_slice(&payload);
    // Bytes past the framed end (a bodiless status's body, a long body) go in the last write,
    // with at most the last 1,000 bytes before it and themselves at most 1,000: a write that
    // arrives whole (one loopback segment, one TLS record), so the client reads them with
    // the end, or finds them when it checks the connection before reuse.
    let stray = bytes.len() > framed_end;
    bytes.truncate(framed_end + 1_000);
    // HTTP/1.0 with `Transfer-Encoding` is framed by the close (RFC 9112 §6.1), and 1.0
    // without keep-alive ends the connection anyway.
    let http10 = status.starts_with("HTTP/1.0");
    let close = says_close || stray || http10 || !ends_by_framing || rng.chance(25);
    let mut splits: Vec<usize> = (0..rng.below(4))
        .map(|_| 1 + rng.below(framed_end.max(2) - 1))
        .collect();
    if stray && framed_end > 1_000 {
        splits.push(framed_end - 1_000);
    }
    splits.sort_unstable();
    splits.dedup();
    Answer {
        bytes,
        splits,
        close,
    }
}

/// A server answering `/0`, `/1` and `/2` with `answers`, on any connection; over TLS when
/// `tls` says.
fn server(answers: Vec<Answer>, tls: bool) -> Server {
    let answers = Arc::new(answers);
    let script = move |conn: &mut ScriptConn| {
        while let Some(request) = conn.read_request() {
            let index = request.path()[1..].parse::<usize>().unwrap_or(0) % answers.len();
            let answer = &answers[index];
            let mut at = 0;
            for &split in &answer.splits {
                if !conn.write(&answer.bytes[at..split]) || !conn.sleep(Duration::from_millis(1)) {
                    return;
                }
                at = split;
            }
            conn.write(&answer.bytes[at..]);
            if answer.close {
                conn.close();
                return;
            }
        }
    };
    match tls {
        true => Server::scripted_tls(duet_tests::tls::Cert::Localhost, script),
        false => Server::scripted(script),
    }
}

/// How a request's body is read: each flavour's own way to it.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// `bytes()`.
    Whole,
    /// Through `Read` / `AsyncRead`, this many bytes at a time.
    Pieces(usize),
    /// `text()`, decoded by the charset.
    Text,
    /// `lines()`, each line decoded (a line per `\n` in the outcome).
    Lines,
    /// `chunks(n)`, pieces of at most this many bytes (their sizes may differ, their bytes not).
    Chunks(usize),
}

impl Reading {
    fn random(rng: &mut Rng) -> Reading {
        match rng.below(8) {
            0..=2 => Reading::Whole,
            3..=4 => Reading::Pieces(1 + rng.below(3_000)),
            5 => Reading::Text,
            6 => Reading::Lines,
            _ => Reading::Chunks(1 + rng.below(20_000)),
        }
    }
}

/// What a client made of one request.
#[derive(Debug, PartialEq)]
enum Outcome {
    Answered {
        status: u16,
        headers: Vec<(String, Vec<u8>)>,
        body: Result<Vec<u8>, String>,
        /// The trailers after a body read through `Read` (the other ways take the response).
        trailers: Option<Vec<(String, Vec<u8>)>>,
    },
    Failed(String),
}

/// An outcome in a line: a body by its length and where it starts.
fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Failed(kind) => format!("failed: {kind}"),
        Outcome::Answered {
            status,
            headers,
            body,
            trailers,
        } => {
            let body = match body {
                Ok(body) => format!(
                    "{} bytes {:?}",
                    body.len(),
                    String::from_utf8_lossy(&body[..body.len().min(60)])
                ),
                Err(kind) => format!("body failed: {kind}"),
            };
            let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
            format!("{status} {names:?} {body}, trailers {trailers:?}")
        }
    }
}

fn headers(headers: &duet_core::Headers) -> Vec<(String, Vec<u8>)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_vec()))
        .collect()
}

/// An error by its kind: what the two clients must agree on (their messages may differ).
fn kind(error: &duet_core::client::Error) -> String {
    format!("{:?}", error.kind())
}

/// The kind of an error that reached the caller through `Read` / `AsyncRead`.
fn read_error(error: std::io::Error) -> String {
    use duet_core::client::{Error, TimeoutPhase};
    kind(&Error::from_io(error, TimeoutPhase::ReadBody))
}

/// Trailers as compared: names in lower case, in order.
fn trailers(trailers: Option<&duet_core::Headers>) -> Vec<(String, Vec<u8>)> {
    trailers.map(headers).unwrap_or_default()
}

/// A response's status and headers, taken before its body is read.
fn head(info: &duet_core::client::ResponseInfo) -> (u16, Vec<(String, Vec<u8>)>) {
    (info.status().as_u16(), headers(info.headers()))
}

/// A line from `lines()`, as the outcome holds it: followed by `\n`.
fn add_line(body: &mut Vec<u8>, line: &str) {
    body.extend_from_slice(line.as_bytes());
    body.push(b'\n');
}

/// A piece from `chunks(size)`, which is never empty nor larger than asked.
fn add_chunk(body: &mut Vec<u8>, chunk: &[u8], size: usize) {
    assert!(
        !chunk.is_empty() && chunk.len() <= size,
        "a chunk of {}",
        chunk.len()
    );
    body.extend_from_slice(chunk);
}

/// Request `i` reads its body as `readings[i]` says.
fn blocking_outcomes(server: &Server, readings: &[Reading]) -> Vec<Outcome> {
    use std::io::Read;
    let client = client_blocking(server.is_tls());
    let mut outcomes = Vec::new();
    for (i, &reading) in readings.iter().enumerate() {
        let mut response = match client.get(server.url(&format!("/{i}"))).send() {
            Ok(response) => response,
            Err(e) => {
                outcomes.push(Outcome::Failed(kind(&e)));
                continue;
            }
        };
        let (status, headers) = head(&response);
        let mut body = Vec::new();
        let (read, trailers) = match reading {
            Reading::Whole => (response.bytes().map_err(|e| kind(&e)), None),
            Reading::Pieces(piece) => {
                let mut buf = vec![0; piece];
                let read = loop {
                    match response.read(&mut buf) {
                        Ok(0) => break Ok(body),
                        Ok(n) => body.extend_from_slice(&buf[..n]),
                        Err(e) => break Err(read_error(e)),
                    }
                };
                (read, Some(trailers(response.trailers())))
            }
            Reading::Text => (
                response
                    .text()
                    .map(String::into_bytes)
                    .map_err(|e| kind(&e)),
                None,
            ),
            Reading::Lines => {
                let read = response.lines().try_for_each(|line| {
                    add_line(&mut body, &line?);
                    Ok(())
                });
                (read.map(|()| body).map_err(|e| kind(&e)), None)
            }
            Reading::Chunks(size) => {
                let read = response.chunks(size).try_for_each(|chunk| {
                    add_chunk(&mut body, &chunk?, size);
                    Ok(())
                });
                (read.map(|()| body).map_err(|e| kind(&e)), None)
            }
        };
        outcomes.push(Outcome::Answered {
            status,
            headers,
            body: read,
            trailers,
        });
    }
    outcomes
}

/// As [`blocking_outcomes`], through `AsyncRead` and `Stream`s.
async fn async_outcomes(server: &Server, readings: &[Reading]) -> Vec<Outcome> {
    use futures_util::TryStreamExt;
    use tokio::io::AsyncReadExt;
    let client = client_async(server.is_tls());
    let mut outcomes = Vec::new();
    for (i, &reading) in readings.iter().enumerate() {
        let mut response = match client.get(server.url(&format!("/{i}"))).send().await {
            Ok(response) => response,
            Err(e) => {
                outcomes.push(Outcome::Failed(kind(&e)));
                continue;
            }
        };
        let (status, headers) = head(&response);
        let mut body = Vec::new();
        let (read, trailers) = match reading {
            Reading::Whole => (response.bytes().await.map_err(|e| kind(&e)), None),
            Reading::Pieces(piece) => {
                let mut buf = vec![0; piece];
                let read = loop {
                    match response.read(&mut buf).await {
                        Ok(0) => break Ok(body),
                        Ok(n) => body.extend_from_slice(&buf[..n]),
                        Err(e) => break Err(read_error(e)),
                    }
                };
                (read, Some(trailers(response.trailers())))
            }
            Reading::Text => {
                let read = response.text().await.map(String::into_bytes);
                (read.map_err(|e| kind(&e)), None)
            }
            Reading::Lines => {
                let read = response
                    .lines()
                    .try_for_each(|line| {
                        add_line(&mut body, &line);
                        std::future::ready(Ok(()))
                    })
                    .await;
                (read.map(|()| body).map_err(|e| kind(&e)), None)
            }
            Reading::Chunks(size) => {
                let read = response
                    .chunks(size)
                    .try_for_each(|chunk| {
                        add_chunk(&mut body, &chunk, size);
                        std::future::ready(Ok(()))
                    })
                    .await;
                (read.map(|()| body).map_err(|e| kind(&e)), None)
            }
        };
        outcomes.push(Outcome::Answered {
            status,
            headers,
            body: read,
            trailers,
        });
    }
    outcomes
}

/// Short timeouts: no answer here waits for one, and a hang should fail fast. With `tls`,
/// trusting the test CA and finding `localhost` on 127.0.0.1. (Either flavour's builder:
/// both are duet-core's.)
fn configured<D: duet_core::client::Driver>(
    builder: duet_core::client::ClientBuilder<D>,
    tls: bool,
) -> duet_core::client::ClientBuilder<D> {
    let builder = builder.read_timeout(Duration::from_secs(2));
    match tls {
        true => builder
            .add_root_certificate_pem(duet_tests::tls::ca_pem())
            .resolve("localhost", duet_tests::tls::LOOPBACK),
        false => builder,
    }
}

fn client_blocking(tls: bool) -> duet_blocking::Client {
    configured(duet_blocking::Client::builder(), tls)
        .build()
        .unwrap()
}

fn client_async(tls: bool) -> duet_async::Client {
    configured(duet_async::Client::builder(), tls)
        .build()
        .unwrap()
}

/// What the server saw: its connections, and the paths of the requests it read.
fn seen(server: &Server) -> (usize, Vec<String>) {
    let paths = server
        .requests()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    (server.connections(), paths)
}

#[test]
fn both_flavours_reach_the_same_outcome_against_the_same_random_servers() {
    let _watchdog = duet_tests::watchdog!();
    answers_compared(SEED..SEED + CASES, false);
}

/// The same over TLS, where each flavour reads through rustls its own way.
#[test]
fn both_flavours_reach_the_same_outcome_against_the_same_random_servers_over_tls() {
    let _watchdog = duet_tests::watchdog!();
    answers_compared(SEED + CASES..SEED + CASES + TLS_CASES, true);
}

/// Runs the cases seeded from `seeds` (case `n` from `SEED + n`) against both flavours, over
/// TLS when `tls` says.
fn answers_compared(seeds: std::ops::Range<u64>, tls: bool) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for seed in seeds {
        let case = seed - SEED;
        let mut rng = Rng(seed);
        let answers: Vec<Answer> = (0..3).map(|_| answer(&mut rng)).collect();
        let readings: Vec<Reading> = (0..3).map(|_| Reading::random(&mut rng)).collect();
        let blocking_server = server(answers.clone(), tls);
        let blocking = blocking_outcomes(&blocking_server, &readings);
        let async_server = server(answers.clone(), tls);
        let asynchronous = runtime.block_on(async_outcomes(&async_server, &readings));
        let shown = || {
            answers
                .iter()
                .map(|a| {
                    let start = String::from_utf8_lossy(&a.bytes[..a.bytes.len().min(300)]);
                    format!("splits {:?}, close {}: {start:?}", a.splits, a.close)
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        for (i, (b, a)) in blocking.iter().zip(&asynchronous).enumerate() {
            assert!(
                b == a,
                "case {case}, request {i} (read {:?}):\nblocking {}\nasync    {}\nanswers:\n{}",
                readings[i],
                describe(b),
                describe(a),
                shown()
            );
        }
        assert_eq!(
            seen(&blocking_server),
            seen(&async_server),
            "case {case}: connections and requests, answers:\n{}",
            shown()
        );
    }
}

// The requests: both flavours must put the same bytes on the wire for the same request,
// whatever its body is made of, and agree on what follows (a redirect's second request, a
// body that cannot be sent again, a reader shorter or longer than the length it was given).

/// Requests tried per run.
const REQUEST_CASES: u64 = 300;

/// A reader handing out at most `piece` bytes a read, for `Read` and `AsyncRead` alike.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    piece: usize,
}

impl Trickle {
    fn new(data: &[u8], piece: usize) -> Trickle {
        Trickle {
            data: data.to_vec(),
            at: 0,
            piece,
        }
    }

    fn take(&mut self, room: usize) -> &[u8] {
        let n = room.min(self.piece).min(self.data.len() - self.at);
        self.at += n;
        &self.data[self.at - n..self.at]
    }
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let piece = self.take(buf.len());
        buf[..piece.len()].copy_from_slice(piece);
        Ok(piece.len())
    }
}

impl tokio::io::AsyncRead for Trickle {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        buf.put_slice(self.get_mut().take(buf.remaining()));
        std::task::Poll::Ready(Ok(()))
    }
}

/// Where a body's or a part's bytes come from.
#[derive(Debug, Clone)]
enum Source {
    Bytes(Vec<u8>),
    Text(String),
    /// A [`Trickle`] of `data` in pieces of `piece`, given as `told` long (which may be
    /// wrong) or of unknown length.
    Reader {
        data: Vec<u8>,
        piece: usize,
        told: Option<u64>,
    },
    /// A file (made for the case, the same one for both flavours).
    File(std::path::PathBuf),
}

/// One part of a multipart form.
#[derive(Debug, Clone)]
struct PartPlan {
    name: &'static str,
    source: Source,
    file_name: Option<&'static str>,
    mime: Option<&'static str>,
    header: Option<(&'static str, &'static str)>,
}

#[derive(Debug, Clone)]
enum BodyPlan {
    None,
    Source(Source),
    Form(Vec<(String, String)>),
    Json(serde_json::Value),
    Multipart(Vec<PartPlan>),
}

/// A random request, and how the server answers its first hop.
#[derive(Debug, Clone)]
struct RequestPlan {
    method: &'static str,
    query: Vec<(String, String)>,
    headers: Vec<(&'static str, String)>,
    body: BodyPlan,
    /// The status of the answer to `/start`: 200, a redirect to `/next`, or a 503 (with
    /// `Retry-After: 0`) the first time.
    first: u16,
    /// Whether `/start` sets a cookie.
    cookie: bool,
    /// Whether `/start` first asks for Digest credentials (the clients have them).
    digest: bool,
    /// With a body: the request says `Expect: 100-continue`, and the server answers it so
    /// (a `100 Continue`, nothing, or a 417 and a close).
    expect: Option<Expect>,
}

fn data(rng: &mut Rng) -> Vec<u8> {
    let len = match rng.below(4) {
        0 => 0,
        1 => rng.below(100),
        2 => rng.below(5_000),
        _ => 20_000 + rng.below(150_000),
    };
    (0..len)
        .map(|i| (rng.next() as u8) | (i as u8 & 1))
        .collect()
}

fn word(rng: &mut Rng) -> String {
    [
        "plain",
        "a b",
        "\u{e9}t\u{e9}",
        "&=?",
        "1+1",
        "",
        "x/y;z",
        "\"q\"",
    ][rng.below(8)]
    .into()
}

/// A source of data; a file is written at `file` (which must not exist yet).
fn source(rng: &mut Rng, file: std::path::PathBuf) -> Source {
    let data = data(rng);
    match rng.below(5) {
        0 => Source::Bytes(data),
        1 => Source::Text(String::from_utf8_lossy(&data).into_owned()),
        2 => {
            std::fs::write(&file, &data).unwrap();
            Source::File(file)
        }
        _ => {
            let len = data.len() as u64;
            let told = match rng.below(6) {
                0 => None,
                1 => Some(len + 1),
                2 if len > 0 => Some(len - 1),
                _ => Some(len),
            };
            Source::Reader {
                data,
                piece: 1 + rng.below(70_000),
                told,
            }
        }
    }
}

fn request_plan(rng: &mut Rng, files: &std::path::Path) -> RequestPlan {
    let method = ["GET", "POST", "POST", "PUT", "PATCH", "DELETE"][rng.below(6)];
    let query = (0..rng.below(3)).map(|_| (word(rng), word(rng))).collect();
    let headers = (0..rng.below(3))
        .map(|_| {
            [
                ("X-Trace", word(rng).replace('\u{e9}', "e")),
                ("Accept", "application/json".into()),
                ("Content-Type", "text/plain; charset=utf-8".into()),
            ][rng.below(3)]
            .clone()
        })
        .collect();
    let body = match rng.below(6) {
        0 => BodyPlan::None,
        1 => BodyPlan::Source(source(rng, files.join("body.bin"))),
        2 => BodyPlan::Form((0..rng.below(4)).map(|_| (word(rng), word(rng))).collect()),
        3 => BodyPlan::Json(serde_json::json!({"n": rng.next() % 1000, "s": word(rng)})),
        _ => BodyPlan::Multipart(
            (0..1 + rng.below(4))
                .map(|i| {
                    let ext = ["txt", "json", "bin", "png"][rng.below(4)];
                    PartPlan {
                        name: ["field", "file", "field"][rng.below(3)],
                        source: source(rng, files.join(format!("part{i}.{ext}"))),
                        file_name: [None, None, Some("a.txt"), Some("donn\u{e9}es.csv")]
                            [rng.below(4)],
                        mime: [None, None, Some("text/plain"), Some("image/png")][rng.below(4)],
                        header: [None, None, None, Some(("X-Part", "1"))][rng.below(4)],
                    }
                })
                .collect(),
        ),
    };
    let first = [200, 200, 301, 302, 303, 307, 308, 503][rng.below(8)];
    let (cookie, digest) = (rng.chance(30), rng.chance(25));
    let expect = match body {
        BodyPlan::None => None,
        _ => rng
            .chance(30)
            .then(|| [Expect::Continue, Expect::Ignore, Expect::Reject(417)][rng.below(3)]),
    };
    RequestPlan {
        method,
        query,
        headers,
        body,
        first,
        cookie,
        digest,
        expect,
    }
}

/// What both flavours' requests share: the method, query, headers, and the bodies built by
/// duet-core's builder.
fn common<D: duet_core::client::Driver>(
    builder: duet_core::client::RequestBuilder<D>,
    plan: &RequestPlan,
) -> duet_core::client::RequestBuilder<D> {
    let mut builder = builder.query(&plan.query);
    for (name, value) in &plan.headers {
        builder = builder.header(name, value);
    }
    if plan.expect.is_some() {
        builder = builder.header("Expect", "100-continue");
    }
    match &plan.body {
        BodyPlan::Form(pairs) => builder.form(pairs),
        BodyPlan::Json(value) => builder.json(value),
        _ => builder,
    }
}

fn method(plan: &RequestPlan) -> duet_core::Method {
    duet_core::Method::from_bytes(plan.method.as_bytes()).unwrap()
}

/// `plan`'s request to `server`, built by a client of `$flavour` (`duet_blocking` or
/// `duet_async`: the same API in two crates, so written once), its body from that flavour's
/// `Body`, `Form` and `Part`; with the multipart boundary, if any.
macro_rules! planned_request {
    ($flavour:ident, $server:expr, $plan:expr) => {{
        use $flavour::multipart::{Form, Part};
        let plan: &RequestPlan = $plan;
        let client = $flavour::Client::builder()
            .read_timeout(Duration::from_secs(2))
            .limits({
                // Short only for a server that ignores it: one that answers is waited for,
                // however loaded the machine.
                let mut limits = duet_core::Limits::default();
                limits.expect_continue_timeout = match plan.expect {
                    Some(Expect::Ignore) => Duration::from_millis(30),
                    _ => Duration::from_secs(5),
                };
                limits
            })
            .retry(RetryPolicy::default_safe())
            .digest_auth("user", "pass")
            .build()
            .unwrap();
        let builder = common(client.request(method(plan), $server.url("/start")), plan);
        match &plan.body {
            BodyPlan::Source(source) => {
                let body: $flavour::Body = match source {
                    Source::Bytes(data) => data.clone().into(),
                    Source::Text(text) => text.clone().into(),
                    Source::Reader { data, piece, told } => {
                        $flavour::Body::from_reader(Trickle::new(data, *piece), *told)
                    }
                    Source::File(path) => std::fs::File::open(path).unwrap().into(),
                };
                (builder.body(body), None)
            }
            BodyPlan::Multipart(parts) => {
                let mut form = Form::new();
                for p in parts {
                    let mut part = match &p.source {
                        Source::Bytes(data) => Part::bytes(data.clone()),
                        Source::Text(text) => Part::text(text.clone()),
                        Source::Reader { data, piece, told } => {
                            Part::reader(Trickle::new(data, *piece), *told)
                        }
                        Source::File(path) => Part::file(path).unwrap(),
                    };
                    if let Some(name) = p.file_name {
                        part = part.file_name(name);
                    }
                    if let Some(mime) = p.mime {
                        part = part.mime(mime).unwrap();
                    }
                    if let Some((name, value)) = p.header {
                        part = part.header(name, value).unwrap();
                    }
                    form = form.part(p.name, part);
                }
                let boundary = Some(form.boundary().to_owned());
                (builder.multipart(form), boundary)
            }
            _ => (builder, None),
        }
    }};
}

/// The request's final status and body, or the kind of error; and the multipart boundary
/// used, if any.
type Sent = (Result<(u16, Vec<u8>), String>, Option<String>);

fn blocking_send(server: &Server, plan: &RequestPlan) -> Sent {
    let (request, boundary) = planned_request!(duet_blocking, server, plan);
    let outcome = request
        .send()
        .and_then(|response| {
            let status = response.status().as_u16();
            Ok((status, response.bytes()?))
        })
        .map_err(|e| kind(&e));
    (outcome, boundary)
}

async fn async_send(server: &Server, plan: &RequestPlan) -> Sent {
    let (request, boundary) = planned_request!(duet_async, server, plan);
    let outcome = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            response.bytes().await.map(|body| (status, body))
        }
        Err(e) => Err(e),
    };
    (outcome.map_err(|e| kind(&e)), boundary)
}

/// A server answering as `plan` says: `Expect: 100-continue` as it chose; `/start` with a
/// Digest challenge to a request without credentials when it asks for them, then its `first`
/// status (a 503 only the first time); anything else with a 200.
fn request_server(plan: &RequestPlan) -> Server {
    let (first, cookie, digest) = (plan.first, plan.cookie, plan.digest);
    let starts = std::sync::atomic::AtomicUsize::new(0);
    let options = Options::default().expect(plan.expect.unwrap_or_default());
    Server::http_with(options, move |request| {
        if request.path() != "/start" {
            return Reply::ok("done");
        }
        let challenge = Reply::new(401).header(
            "WWW-Authenticate",
            "Digest realm=\"duet\", qop=\"auth\", nonce=\"n0\"",
        );
        let reply = match (first, starts.fetch_add(1, Ordering::SeqCst)) {
            _ if digest && !request.has_header("authorization") => challenge,
            (200, _) | (503, 1..) => Reply::ok("done"),
            (503, 0) => Reply::new(503).header("Retry-After", "0"),
            (status, _) => Reply::redirect(status, "/next"),
        };
        match cookie {
            true => reply.header("Set-Cookie", "session=s1; Path=/"),
            false => reply,
        }
    })
}

/// The bytes of each request the server received, with what differs from flavour to flavour
/// written alike: the server's address as `SERVER`, the multipart boundary as `BOUNDARY`,
/// and a Digest answer (its client nonce, so its response) as `Authorization: Digest …`.
fn wire(server: &Server, boundary: Option<&str>) -> Vec<(String, bool)> {
    server
        .requests()
        .iter()
        .map(|request| {
            let mut raw =
                String::from_utf8_lossy(&request.raw).replace(&server.authority(), "SERVER");
            if let Some(boundary) = boundary {
                raw = raw.replace(boundary, "BOUNDARY");
            }
            if let Some(start) = raw.find("\r\nAuthorization: Digest ") {
                let end = start + 2 + raw[start + 2..].find("\r\n").unwrap_or(0);
                raw.replace_range(start..end, "\r\nAuthorization: Digest …");
            }
            (raw, request.complete)
        })
        .collect()
}

#[test]
fn both_flavours_send_the_same_bytes_for_the_same_random_requests() {
    let _watchdog = duet_tests::watchdog!();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let files = std::env::temp_dir().join(format!("duet-differential-{}", std::process::id()));
    for case in 0..REQUEST_CASES {
        let _ = std::fs::remove_dir_all(&files);
        std::fs::create_dir_all(&files).unwrap();
        let mut rng = Rng(SEED ^ 0xb0d1e5 ^ case);
        let plan = request_plan(&mut rng, &files);
        let blocking_server = request_server(&plan);
        let (blocking, blocking_boundary) = blocking_send(&blocking_server, &plan);
        let async_server = request_server(&plan);
        let (asynchronous, async_boundary) = runtime.block_on(async_send(&async_server, &plan));
        let shown = || {
            let mut plan = format!("{plan:?}");
            plan.truncate(600);
            plan
        };
        assert_eq!(
            blocking,
            asynchronous,
            "case {case}: the outcome\n{}",
            shown()
        );
        // Both clients are gone. A request whose body broke off is recorded once the server
        // has read to the end of the connection, maybe after the caller saw the error: wait
        // for as many as either server has (every case sends at least one), and for their
        // connections to end.
        let n = [&blocking_server, &async_server]
            .map(|server| server.requests().len())
            .into_iter()
            .fold(1, usize::max);
        for server in [&blocking_server, &async_server] {
            server.wait_for_requests(n, Duration::from_secs(5));
            assert!(server.wait_for_connections_to_end(0, Duration::from_secs(5)));
        }
        let blocking_wire = wire(&blocking_server, blocking_boundary.as_deref());
        let async_wire = wire(&async_server, async_boundary.as_deref());
        assert_eq!(
            blocking_wire.len(),
            async_wire.len(),
            "case {case}: requests sent\n{}",
            shown()
        );
        for (i, (b, a)) in blocking_wire.iter().zip(&async_wire).enumerate() {
            if b != a {
                let at =
                    b.0.bytes()
                        .zip(a.0.bytes())
                        .take_while(|(x, y)| x == y)
                        .count();
                let around = |s: &str| {
                    let start = s.floor_char_boundary(at.saturating_sub(200));
                    let end = s.floor_char_boundary((at + 200).min(s.len()));
                    s[start..end].to_owned()
                };
                panic!(
                    "case {case}, request {i}: the bytes differ from byte {at} (of {} and {}; complete {} and {})\nblocking {:?}\nasync    {:?}\n{}",
                    b.0.len(),
                    a.0.len(),
                    b.1,
                    a.1,
                    around(&b.0),
                    around(&a.0),
                    shown()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&files);
}
