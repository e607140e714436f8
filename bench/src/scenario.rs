//! The clients and scenarios, their names on the command line, and one run's parameters.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::measure::{Meter, Sample};

/// A client under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientKind {
    /// The floor: std sockets (mio for 64 in flight), a fixed request, httparse.
    Bare,
    DuetBlocking,
    Ureq,
    /// The floor on tokio: the bare loop over tokio's sockets, to show the runtime's part.
    BareTokio,
    DuetAsync,
    Reqwest,
    Hyper,
}

impl ClientKind {
    pub const ALL: [ClientKind; 7] = [
        ClientKind::Bare,
        ClientKind::DuetBlocking,
        ClientKind::Ureq,
        ClientKind::BareTokio,
        ClientKind::DuetAsync,
        ClientKind::Reqwest,
        ClientKind::Hyper,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Bare => "bare",
            ClientKind::DuetBlocking => "duet-blocking",
            ClientKind::Ureq => "ureq",
            ClientKind::BareTokio => "bare-tokio",
            ClientKind::DuetAsync => "duet-async",
            ClientKind::Reqwest => "reqwest",
            ClientKind::Hyper => "hyper",
        }
    }
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ClientKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ClientKind::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown client {s:?} (one of {})", names(&ClientKind::ALL)))
    }
}

/// What a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// Small GETs one after another on one keep-alive connection.
    Sequential,
    /// Small GETs, each on a new connection (the server answers `Connection: close`).
    NewConnection,
    /// Small GETs with 64 in flight (blocking clients: 8 threads).
    InFlight64,
    /// One large download framed by `Content-Length`.
    DownloadLength,
    /// One large download with `Transfer-Encoding: chunked` (64 KiB chunks).
    DownloadChunked,
    /// One large upload with `Content-Length`, streamed from a source.
    Upload,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::Sequential,
        Scenario::NewConnection,
        Scenario::InFlight64,
        Scenario::DownloadLength,
        Scenario::DownloadChunked,
        Scenario::Upload,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Sequential => "sequential",
            Scenario::NewConnection => "new-connection",
            Scenario::InFlight64 => "in-flight-64",
            Scenario::DownloadLength => "download-length",
            Scenario::DownloadChunked => "download-chunked",
            Scenario::Upload => "upload",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Scenario::Sequential => "sequential small GETs on one keep-alive connection",
            Scenario::NewConnection => "small GETs, a new connection per request",
            Scenario::InFlight64 => {
                "small GETs, 64 in flight (async: 64 tasks; blocking: 8 threads; bare: 64 sockets on epoll)"
            }
            Scenario::DownloadLength => "download framed by Content-Length",
            Scenario::DownloadChunked => "download, Transfer-Encoding: chunked (64 KiB chunks)",
            Scenario::Upload => "upload with Content-Length, streamed",
        }
    }

    /// Whether the scenario moves one large body (reported in MiB/s) rather than many small
    /// requests (reported in req/s).
    pub fn is_transfer(self) -> bool {
        matches!(
            self,
            Scenario::DownloadLength | Scenario::DownloadChunked | Scenario::Upload
        )
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown scenario {s:?} (one of {})", names(&Scenario::ALL)))
    }
}

fn names<T: fmt::Display>(all: &[T]) -> String {
    all.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Requests kept in flight in [`Scenario::InFlight64`].
pub const IN_FLIGHT: usize = 64;
/// Threads the blocking clients use in [`Scenario::InFlight64`].
pub const BLOCKING_THREADS: usize = 8;
/// The body of `GET /small` and `GET /close`.
pub const SMALL_BODY: &[u8] = b"Hello, world!";
/// Pieces a streamed upload is made of.
pub const PIECE: usize = 64 * 1024;

/// One run of one client in one scenario: what a client process is told to do.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub client: ClientKind,
    pub scenario: Scenario,
    pub server: SocketAddr,
    /// Requests measured (small-request scenarios).
    pub requests: u64,
    /// Body bytes per transfer (transfer scenarios).
    pub bytes: u64,
    /// Unmeasured requests (or one transfer of `bytes / 16`) first, to warm up.
    pub warmup: u64,
    /// Measured transfers in this process (transfer scenarios), each its own sample.
    pub transfers: u32,
}

impl Job {
    /// The full URL of `path` on the server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server)
    }

    /// The path the scenario requests.
    pub fn path(&self) -> String {
        path_for(self.scenario, self.bytes)
    }

    /// Runs `transfer` [`transfers`](Self::transfers) times, collecting the samples.
    fn transfers(
        &self,
        mut transfer: impl FnMut() -> Result<Sample, BoxError>,
    ) -> Result<Vec<Sample>, BoxError> {
        (0..self.transfers.max(1)).map(|_| transfer()).collect()
    }

    /// The measured downloads, one sample each: `download` returns the body bytes it
    /// received, which must be the whole body.
    pub fn downloads(
        &self,
        mut download: impl FnMut() -> Result<u64, BoxError>,
    ) -> Result<Vec<Sample>, BoxError> {
        self.transfers(|| {
            let meter = Meter::start();
            let n = download()?;
            check(n == self.bytes, || {
                format!("downloaded {n} of {} bytes", self.bytes)
            })?;
            Ok(meter.stop(1, n))
        })
    }

    /// The measured uploads of [`bytes`](Self::bytes) each, one sample each.
    pub fn uploads(
        &self,
        mut upload: impl FnMut() -> Result<(), BoxError>,
    ) -> Result<Vec<Sample>, BoxError> {
        self.transfers(|| {
            let meter = Meter::start();
            upload()?;
            Ok(meter.stop(1, self.bytes))
        })
    }

    /// The warm-up request's path.
    pub fn warmup_path(&self) -> String {
        path_for(self.scenario, (self.bytes / 16).max(1))
    }
}

fn path_for(scenario: Scenario, bytes: u64) -> String {
    match scenario {
        Scenario::Sequential | Scenario::InFlight64 => "/small".into(),
        Scenario::NewConnection => "/close".into(),
        Scenario::DownloadLength => format!("/length/{bytes}"),
        Scenario::DownloadChunked => format!("/chunked/{bytes}"),
        Scenario::Upload => "/upload".into(),
    }
}

/// A boxed error for the client runs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Fails a run whose response was not what the server sends.
pub fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), BoxError> {
    if ok { Ok(()) } else { Err(what().into()) }
}
