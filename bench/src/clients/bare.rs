//! The floor: what any HTTP/1.1 client must at least do. A fixed request written to a std
//! socket, the response read into one 64 KiB buffer, the head parsed with httparse, the body
//! skipped by `Content-Length` or by `httparse::parse_chunk_size`. No allocation per request,
//! no URL parsing, no header map. For 64 in flight: 64 sockets on one epoll loop (mio).
//!
//! The upload is streamed from the same source as the blocking clients' (`io::repeat`), through
//! one 64 KiB buffer, so the floor pays the same copy from the source they must.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use crate::measure::{Meter, Sample};
use crate::scenario::{BoxError, IN_FLIGHT, Job, PIECE, SMALL_BODY, Scenario, check};

const BUF: usize = 64 * 1024;

pub fn run(job: &Job) -> Result<Vec<Sample>, BoxError> {
    match job.scenario {
        Scenario::Sequential => {
            let request = get_request(job, &job.path());
            let mut conn = Conn::open(job.server)?;
            for _ in 0..job.warmup {
                small(&mut conn, &request)?;
            }
            let meter = Meter::start();
            for _ in 0..job.requests {
                small(&mut conn, &request)?;
            }
            Ok(vec![meter.stop(
                job.requests,
                job.requests * SMALL_BODY.len() as u64,
            )])
        }
        Scenario::NewConnection => {
            // One receive buffer for all the connections: the floor does not zero 64 KiB
            // for each of them.
            let request = get_request(job, &job.path());
            let mut buf = new_buf();
            for _ in 0..job.warmup {
                buf = small_on_new(job.server, buf, &request)?;
            }
            let meter = Meter::start();
            for _ in 0..job.requests {
                buf = small_on_new(job.server, buf, &request)?;
            }
            Ok(vec![meter.stop(
                job.requests,
                job.requests * SMALL_BODY.len() as u64,
            )])
        }
        Scenario::InFlight64 => {
            let request = get_request(job, &job.path());
            epoll::run(job.server, &request, job.warmup)?;
            let meter = Meter::start();
            epoll::run(job.server, &request, job.requests)?;
            Ok(vec![meter.stop(
                job.requests,
                job.requests * SMALL_BODY.len() as u64,
            )])
        }
        Scenario::DownloadLength | Scenario::DownloadChunked => {
            let mut conn = Conn::open(job.server)?;
            let warmup = get_request(job, &job.warmup_path());
            conn.download(&warmup)?;
            let request = get_request(job, &job.path());
            job.downloads(|| conn.download(&request))
        }
        Scenario::Upload => {
            let mut conn = Conn::open(job.server)?;
            conn.upload(job, (job.bytes / 16).max(1))?;
            job.uploads(|| conn.upload(job, job.bytes))
        }
    }
}

pub fn get_request(job: &Job, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", job.server).into_bytes()
}

/// One small request on a new connection that reads into `buf`; the buffer is handed back.
fn small_on_new(server: SocketAddr, buf: Box<[u8]>, request: &[u8]) -> Result<Box<[u8]>, BoxError> {
    let mut conn = Conn::open_with(server, buf)?;
    small(&mut conn, request)?;
    Ok(conn.inbox.into_buf())
}

fn small(conn: &mut Conn, request: &[u8]) -> Result<(), BoxError> {
    conn.stream.write_all(request)?;
    check_small(conn.read_response()?)
}

/// Checks the body length of a small response.
pub fn check_small(n: u64) -> Result<(), BoxError> {
    check(n == SMALL_BODY.len() as u64, || {
        format!("a small body of {n} bytes")
    })
}

/// How a response body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Length(u64),
    Chunked,
}

/// Parses a response head at the start of `buf`: its length and the body's framing.
pub fn parse_head(buf: &[u8]) -> Result<Option<(usize, Framing)>, BoxError> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf)? {
        httparse::Status::Partial => return Ok(None),
        httparse::Status::Complete(len) => len,
    };
    check(response.code == Some(200), || {
        format!("status {:?}", response.code)
    })?;
    let mut framing = Framing::Length(0);
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            framing = Framing::Length(std::str::from_utf8(header.value)?.trim().parse()?);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            framing = Framing::Chunked;
        }
    }
    Ok(Some((len, framing)))
}

/// Skips a chunked body as it arrives.
#[derive(Default)]
pub struct ChunkSkipper {
    state: ChunkState,
}

#[derive(Default)]
enum ChunkState {
    #[default]
    Size,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

impl ChunkSkipper {
    /// Consumes what it can of `data`; returns (bytes consumed, body bytes among them).
    pub fn feed(&mut self, data: &[u8]) -> Result<(usize, u64), BoxError> {
        let (mut pos, mut body) = (0, 0);
        loop {
            let rest = &data[pos..];
            match &mut self.state {
                ChunkState::Size => {
                    match httparse::parse_chunk_size(rest).map_err(|_| "bad chunk size")? {
                        httparse::Status::Partial => break,
                        httparse::Status::Complete((n, 0)) => {
                            pos += n;
                            self.state = ChunkState::Trailers;
                        }
                        httparse::Status::Complete((n, size)) => {
                            pos += n;
                            self.state = ChunkState::Data(size);
                        }
                    }
                }
                ChunkState::Data(left) => {
                    if rest.is_empty() {
                        break;
                    }
                    let n = rest.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    pos += n;
                    body += n as u64;
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = ChunkState::DataEnd;
                    }
                }
                ChunkState::DataEnd => {
                    if rest.len() < 2 {
                        break;
                    }
                    check(&rest[..2] == b"\r\n", || "no CRLF after chunk data".into())?;
                    pos += 2;
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    let Some(line) = rest.windows(2).position(|w| w == b"\r\n") else {
                        break;
                    };
                    pos += line + 2;
                    if line == 0 {
                        self.state = ChunkState::Done;
                    }
                }
                ChunkState::Done => break,
            }
        }
        Ok((pos, body))
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, ChunkState::Done)
    }
}

/// A receive buffer.
fn new_buf() -> Box<[u8]> {
    vec![0; BUF].into_boxed_slice()
}

/// One receive buffer and the response being read from it, with no I/O: the floor's
/// blocking and tokio loops read into [`space`](Self::space) and ask
/// [`response`](Self::response) after each read.
pub struct Inbox {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    reading: Reading,
}

/// Where the response being read is.
enum Reading {
    Head,
    Length { left: u64, total: u64 },
    Chunked { skipper: ChunkSkipper, total: u64 },
}

impl Inbox {
    pub fn new() -> Self {
        Inbox::with_buf(new_buf())
    }

    /// An inbox reading into `buf` (its contents do not matter).
    pub fn with_buf(buf: Box<[u8]>) -> Self {
        Inbox {
            buf,
            start: 0,
            end: 0,
            reading: Reading::Head,
        }
    }

    pub fn into_buf(self) -> Box<[u8]> {
        self.buf
    }

    /// Where the next read goes, after what is buffered (compacted first if the buffer is
    /// full).
    pub fn space(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    /// Records a read of `n` bytes into [`space`](Self::space).
    pub fn filled(&mut self, n: usize) -> Result<(), BoxError> {
        check(n > 0, || "the server closed the connection".into())?;
        self.end += n;
        Ok(())
    }

    /// Consumes what has arrived of the current response: its body length once it is
    /// complete.
    pub fn response(&mut self) -> Result<Option<u64>, BoxError> {
        loop {
            let buffered = &self.buf[self.start..self.end];
            match &mut self.reading {
                Reading::Head => {
                    let Some((len, framing)) = parse_head(buffered)? else {
                        return Ok(None);
                    };
                    self.start += len;
                    self.reading = match framing {
                        Framing::Length(total) => Reading::Length { left: total, total },
                        Framing::Chunked => Reading::Chunked {
                            skipper: ChunkSkipper::default(),
                            total: 0,
                        },
                    };
                }
                Reading::Length { left, total } => {
                    let n = buffered
                        .len()
                        .min(usize::try_from(*left).unwrap_or(usize::MAX));
                    self.start += n;
                    *left -= n as u64;
                    let (left, total) = (*left, *total);
                    return Ok((left == 0).then(|| self.finish(total)));
                }
                Reading::Chunked { skipper, total } => {
                    let (used, body) = skipper.feed(buffered)?;
                    self.start += used;
                    *total += body;
                    let (done, total) = (skipper.is_done(), *total);
                    return Ok(done.then(|| self.finish(total)));
                }
            }
        }
    }

    /// Ends the response: the next one starts with a head.
    fn finish(&mut self, total: u64) -> u64 {
        self.reading = Reading::Head;
        total
    }
}

/// One connection and its receive buffer.
struct Conn {
    stream: TcpStream,
    inbox: Inbox,
}

impl Conn {
    fn open(addr: SocketAddr) -> io::Result<Self> {
        Conn::open_with(addr, new_buf())
    }

    /// A connection that reads into `buf` (its contents do not matter).
    fn open_with(addr: SocketAddr, buf: Box<[u8]>) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            inbox: Inbox::with_buf(buf),
        })
    }

    /// Reads one response; returns its body length.
    fn read_response(&mut self) -> Result<u64, BoxError> {
        loop {
            if let Some(total) = self.inbox.response()? {
                return Ok(total);
            }
            let n = self.stream.read(self.inbox.space())?;
            self.inbox.filled(n)?;
        }
    }

    fn download(&mut self, request: &[u8]) -> Result<u64, BoxError> {
        self.stream.write_all(request)?;
        self.read_response()
    }

    fn upload(&mut self, job: &Job, len: u64) -> Result<(), BoxError> {
        self.stream.write_all(upload_head(job, len).as_bytes())?;
        let mut source = io::repeat(0).take(len);
        let mut piece = vec![0u8; PIECE];
        loop {
            let n = source.read(&mut piece)?;
            if n == 0 {
                break;
            }
            self.stream.write_all(&piece[..n])?;
        }
        let n = self.read_response()?;
        check(n == 0, || format!("an upload answer of {n} bytes"))
    }
}

/// The head of a `PUT` of `len` bytes.
pub fn upload_head(job: &Job, len: u64) -> String {
    format!(
        "PUT /upload HTTP/1.1\r\nHost: {}\r\nContent-Length: {len}\r\n\r\n",
        job.server
    )
}

/// 64 requests in flight on 64 sockets, one epoll loop.
mod epoll {
    use std::io::{self, Read, Write};
    use std::net::SocketAddr;

    use mio::net::TcpStream;
    use mio::{Events, Interest, Poll, Token};

    use super::{BUF, Framing, IN_FLIGHT, SMALL_BODY, check, parse_head};
    use crate::scenario::BoxError;

    struct Slot {
        stream: TcpStream,
        buf: Vec<u8>,
        end: usize,
    }

    /// Sends `total` requests, keeping up to 64 in flight, and reads every response.
    pub fn run(server: SocketAddr, request: &[u8], total: u64) -> Result<(), BoxError> {
        let mut poll = Poll::new()?;
        let mut slots = Vec::new();
        let mut sent = 0u64;
        let mut done = 0u64;
        for i in 0..IN_FLIGHT.min(total as usize) {
            let std = std::net::TcpStream::connect(server)?;
            std.set_nodelay(true)?;
            std.set_nonblocking(true)?;
            let mut stream = TcpStream::from_std(std);
            poll.registry()
                .register(&mut stream, Token(i), Interest::READABLE)?;
            stream.write_all(request)?;
            sent += 1;
            slots.push(Slot {
                stream,
                buf: vec![0; BUF],
                end: 0,
            });
        }
        let mut events = Events::with_capacity(IN_FLIGHT);
        while done < total {
            poll.poll(&mut events, None)?;
            for event in &events {
                let slot = &mut slots[event.token().0];
                loop {
                    let space = slot.buf.len() - slot.end;
                    let drained = match slot.stream.read(&mut slot.buf[slot.end..]) {
                        Ok(0) => return Err("the server closed a connection".into()),
                        Ok(n) => {
                            slot.end += n;
                            // A short read drained the socket: the next arrival raises a
                            // new edge, so no read that would block is needed.
                            n < space
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e.into()),
                    };
                    // One response in flight per socket: it is complete once head and body
                    // are both in.
                    if let Some((len, Framing::Length(body))) = parse_head(&slot.buf[..slot.end])?
                        && slot.end >= len + body as usize
                    {
                        check(body == SMALL_BODY.len() as u64, || "a small body".into())?;
                        slot.end = 0;
                        done += 1;
                        if sent < total {
                            slot.stream.write_all(request)?;
                            sent += 1;
                        }
                    }
                    if drained {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}
