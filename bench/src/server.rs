//! The server every client is measured against: one thread, one epoll loop (mio), so that it
//! stays cheap and the clients are what is measured. Runs in its own process, pinned to its
//! own core.
//!
//! Endpoints:
//! - `GET /small`: a 13-byte body with `Content-Length`, keep-alive.
//! - `GET /close`: the same body with `Connection: close`; the server closes after it.
//! - `GET /length/<n>`: `n` bytes with `Content-Length`, written from a preallocated buffer.
//! - `GET /chunked/<n>`: `n` bytes in 64 KiB chunks, written from preallocated frames.
//! - `GET /stats`: `accepted=<connections accepted so far>`, then closes.
//! - `PUT /upload` (or POST): reads and discards the body (`Content-Length` or chunked),
//!   answers `100 Continue` to `Expect: 100-continue`, then 200 with an empty body.
//!
//! Pipelined requests are answered in order.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use crate::scenario::SMALL_BODY;

const LISTENER: Token = Token(usize::MAX);
/// Bytes read at a time.
const READ_SIZE: usize = 256 * 1024;
/// The chunk size of `/chunked/<n>`.
const CHUNK: usize = 64 * 1024;
/// One chunk frame: `10000\r\n`, the data, `\r\n`.
const FRAME_LEN: usize = CHUNK + 9;
/// Frames per preallocated run of chunks (1 MiB of data per write).
const FRAMES: usize = 16;

/// Preallocated response bodies, shared by every connection.
struct Bodies {
    /// 1 MiB of body bytes.
    plain: Vec<u8>,
    /// [`FRAMES`] complete chunk frames of [`CHUNK`] bytes each.
    frames: Vec<u8>,
}

impl Bodies {
    fn new() -> Self {
        let plain = vec![b'x'; 1 << 20];
        let mut frame = format!("{CHUNK:x}\r\n").into_bytes();
        frame.extend_from_slice(&plain[..CHUNK]);
        frame.extend_from_slice(b"\r\n");
        assert_eq!(frame.len(), FRAME_LEN);
        Bodies {
            plain,
            frames: frame.repeat(FRAMES),
        }
    }
}

/// What is left to write of one response.
enum Out {
    Static(&'static [u8]),
    Owned(Vec<u8>),
    /// `remaining` bytes of the repeating preallocated buffer `which`, from `pos` in it.
    Repeat {
        frames: bool,
        pos: usize,
        remaining: u64,
    },
}

/// Where the request parser is.
enum In {
    Head,
    Length(u64),
    Chunked(ChunkState),
}

enum ChunkState {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    state: In,
    out: VecDeque<(Out, usize)>,
    close_after: bool,
}

enum Status {
    Open,
    Close,
}

/// Binds `addr`, prints `LISTENING <addr>` on stdout, and serves until killed.
pub fn serve(addr: SocketAddr) -> io::Result<()> {
    let mut listener = TcpListener::bind(addr)?;
    println!("LISTENING {}", listener.local_addr()?);
    io::stdout().flush()?;
    let bodies = Bodies::new();
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut accepted = 0u64;
    loop {
        match poll.poll(&mut events, None) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        for event in &events {
            if event.token() == LISTENER {
                loop {
                    let (mut stream, _) = match listener.accept() {
                        Ok(pair) => pair,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    };
                    stream.set_nodelay(true)?;
                    accepted += 1;
                    let slot = free.pop().unwrap_or_else(|| {
                        conns.push(None);
                        conns.len() - 1
                    });
                    poll.registry().register(
                        &mut stream,
                        Token(slot),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    let mut conn = Conn::new(stream);
                    let status = conn.drive(&bodies, accepted);
                    conns[slot] = Some(conn);
                    if matches!(status, Status::Close) {
                        close(&poll, &mut conns, &mut free, slot);
                    }
                }
                continue;
            }
            let slot = event.token().0;
            let Some(conn) = conns.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if matches!(conn.drive(&bodies, accepted), Status::Close) {
                close(&poll, &mut conns, &mut free, slot);
            }
        }
    }
}

fn close(poll: &Poll, conns: &mut [Option<Conn>], free: &mut Vec<usize>, slot: usize) {
    if let Some(mut conn) = conns[slot].take() {
        let _ = poll.registry().deregister(&mut conn.stream);
        free.push(slot);
    }
}

impl Conn {
    fn new(stream: TcpStream) -> Self {
        Conn {
            stream,
            buf: vec![0; READ_SIZE],
            start: 0,
            end: 0,
            state: In::Head,
            out: VecDeque::new(),
            close_after: false,
        }
    }

    /// Writes what it can, reads what has arrived and answers it, until the socket would
    /// block both ways (edge-triggered readiness).
    fn drive(&mut self, bodies: &Bodies, accepted: u64) -> Status {
        loop {
            if self.flush(bodies).is_err() {
                return Status::Close;
            }
            if self.out.is_empty() && self.close_after {
                let _ = self.stream.shutdown(std::net::Shutdown::Write);
                return Status::Close;
            }
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            } else if self.buf.len() - self.end < READ_SIZE / 4 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let space = self.buf.len() - self.end;
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(0) => return Status::Close,
                Ok(n) => {
                    self.end += n;
                    if self.process(accepted).is_err() {
                        return Status::Close;
                    }
                    if n < space {
                        // The socket is drained: a new arrival raises a new edge. Answer
                        // what was read, then wait.
                        return match self.flush(bodies) {
                            Err(_) => Status::Close,
                            Ok(()) if self.out.is_empty() && self.close_after => {
                                let _ = self.stream.shutdown(std::net::Shutdown::Write);
                                Status::Close
                            }
                            Ok(()) => Status::Open,
                        };
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Status::Open,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Status::Close,
            }
        }
    }

    /// Writes queued responses until done or the socket would block.
    fn flush(&mut self, bodies: &Bodies) -> io::Result<()> {
        while let Some((out, written)) = self.out.front_mut() {
            let chunk: &[u8] = match out {
                Out::Static(bytes) => &bytes[*written..],
                Out::Owned(bytes) => &bytes[*written..],
                Out::Repeat {
                    frames,
                    pos,
                    remaining,
                } => {
                    let buf = if *frames {
                        &bodies.frames
                    } else {
                        &bodies.plain
                    };
                    let n =
                        (buf.len() - *pos).min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                    &buf[*pos..*pos + n]
                }
            };
            if chunk.is_empty() {
                self.out.pop_front();
                continue;
            }
            match self.stream.write(chunk) {
                Ok(n) => match out {
                    Out::Repeat {
                        frames,
                        pos,
                        remaining,
                    } => {
                        let len = if *frames {
                            bodies.frames.len()
                        } else {
                            bodies.plain.len()
                        };
                        *pos = (*pos + n) % len;
                        *remaining -= n as u64;
                    }
                    _ => *written += n,
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Parses what has arrived and queues the answers.
    fn process(&mut self, accepted: u64) -> Result<(), ()> {
        loop {
            let data = &self.buf[self.start..self.end];
            let used = match &mut self.state {
                In::Head => {
                    let mut headers = [httparse::EMPTY_HEADER; 32];
                    let mut request = httparse::Request::new(&mut headers);
                    match request.parse(data).map_err(|_| ())? {
                        httparse::Status::Partial => return Ok(()),
                        httparse::Status::Complete(n) => {
                            let route = route(&request)?;
                            self.start += n;
                            self.answer(route, accepted);
                            continue;
                        }
                    }
                }
                In::Length(remaining) => {
                    if data.is_empty() {
                        return Ok(());
                    }
                    let n = data
                        .len()
                        .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                    *remaining -= n as u64;
                    if *remaining == 0 {
                        self.state = In::Head;
                        self.out.push_back((Out::Static(UPLOADED), 0));
                    }
                    n
                }
                In::Chunked(chunk) => match chunk {
                    ChunkState::Size => match httparse::parse_chunk_size(data).map_err(|_| ())? {
                        httparse::Status::Partial => return Ok(()),
                        httparse::Status::Complete((n, 0)) => {
                            *chunk = ChunkState::Trailers;
                            n
                        }
                        httparse::Status::Complete((n, size)) => {
                            *chunk = ChunkState::Data(size);
                            n
                        }
                    },
                    ChunkState::Data(remaining) => {
                        if data.is_empty() {
                            return Ok(());
                        }
                        let n = data
                            .len()
                            .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                        *remaining -= n as u64;
                        if *remaining == 0 {
                            *chunk = ChunkState::DataEnd;
                        }
                        n
                    }
                    ChunkState::DataEnd => {
                        if data.len() < 2 {
                            return Ok(());
                        }
                        if &data[..2] != b"\r\n" {
                            return Err(());
                        }
                        *chunk = ChunkState::Size;
                        2
                    }
                    ChunkState::Trailers => {
                        let Some(line) = data.windows(2).position(|w| w == b"\r\n") else {
                            return Ok(());
                        };
                        if line == 0 {
                            self.state = In::Head;
                            self.out.push_back((Out::Static(UPLOADED), 0));
                        }
                        line + 2
                    }
                },
            };
            self.start += used;
        }
    }

    fn answer(&mut self, route: Route, accepted: u64) {
        match route {
            Route::Stats => {
                let body = format!("accepted={accepted}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                self.out.push_back((Out::Owned(response.into_bytes()), 0));
                self.close_after = true;
            }
            Route::Small => self.out.push_back((Out::Static(SMALL), 0)),
            Route::Close => {
                self.out.push_back((Out::Static(SMALL_CLOSE), 0));
                self.close_after = true;
            }
            Route::Length(n) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {n}\r\n\r\n"
                );
                self.out.push_back((Out::Owned(head.into_bytes()), 0));
                self.out.push_back((
                    Out::Repeat {
                        frames: false,
                        pos: 0,
                        remaining: n,
                    },
                    0,
                ));
            }
            Route::Chunked(n) => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
                self.out.push_back((Out::Static(head.as_bytes()), 0));
                let whole = n / CHUNK as u64;
                let frame_len = FRAME_LEN as u64;
                self.out.push_back((
                    Out::Repeat {
                        frames: true,
                        pos: 0,
                        remaining: whole * frame_len,
                    },
                    0,
                ));
                let rest = (n % CHUNK as u64) as usize;
                let mut tail = Vec::with_capacity(rest + 16);
                if rest > 0 {
                    tail.extend_from_slice(format!("{rest:x}\r\n").as_bytes());
                    tail.resize(tail.len() + rest, b'x');
                    tail.extend_from_slice(b"\r\n");
                }
                tail.extend_from_slice(b"0\r\n\r\n");
                self.out.push_back((Out::Owned(tail), 0));
            }
            Route::Upload { framing, expect } => {
                if expect {
                    self.out.push_back((Out::Static(CONTINUE), 0));
                }
                match framing {
                    Upload::Length(0) => self.out.push_back((Out::Static(UPLOADED), 0)),
                    Upload::Length(n) => self.state = In::Length(n),
                    Upload::Chunked => self.state = In::Chunked(ChunkState::Size),
                }
            }
            Route::NotFound => self.out.push_back((Out::Static(NOT_FOUND), 0)),
        }
    }
}

const SMALL: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";
const SMALL_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, world!";
const UPLOADED: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

enum Route {
    Stats,
    Small,
    Close,
    Length(u64),
    Chunked(u64),
    Upload { framing: Upload, expect: bool },
    NotFound,
}

enum Upload {
    Length(u64),
    Chunked,
}

fn route(request: &httparse::Request<'_, '_>) -> Result<Route, ()> {
    let method = request.method.ok_or(())?;
    let path = request.path.ok_or(())?;
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    debug_assert_eq!(SMALL_BODY.len(), 13);
    Ok(match (method, path) {
        ("GET", "/small") => Route::Small,
        ("GET", "/close") => Route::Close,
        ("GET", "/stats") => Route::Stats,
        ("PUT" | "POST", "/upload") => {
            let chunked =
                header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case(b"chunked"));
            let framing = if chunked {
                Upload::Chunked
            } else {
                let length = header("content-length").map_or(Ok(0), |v| {
                    std::str::from_utf8(v)
                        .ok()
                        .and_then(|s| s.trim().parse().ok())
                        .ok_or(())
                })?;
                Upload::Length(length)
            };
            let expect = header("expect").is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
            if std::env::var_os("DUET_BENCH_SERVER_DEBUG").is_some() {
                eprintln!(
                    "upload: {}",
                    if chunked { "chunked" } else { "content-length" }
                );
            }
            Route::Upload { framing, expect }
        }
        ("GET", _) => {
            let n = |prefix: &str| path.strip_prefix(prefix).and_then(|n| n.parse().ok());
            if let Some(n) = n("/length/") {
                Route::Length(n)
            } else if let Some(n) = n("/chunked/") {
                Route::Chunked(n)
            } else {
                Route::NotFound
            }
        }
        _ => Route::NotFound,
    })
}
