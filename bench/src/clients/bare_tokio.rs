//! The floor on tokio: the bare loop's fixed request, 64 KiB receive buffer and httparse (the
//! same [`Inbox`]), over tokio's `TcpStream` on the runtime the async clients get. It shows
//! what the runtime alone costs beside the blocking floor, so an async client's distance from
//! the bare loop can be split into the runtime's part and its own.
//!
//! No timers (the floor has no deadlines) and no pool: one connection for the sequential
//! scenarios and transfers, one per request for `new-connection`, one per task for 64 in
//! flight. Uploads write 64 KiB pieces of one static buffer, as the async clients' bodies do.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::asynch::{ZEROS, in_tasks, runtime};
use super::bare::{Inbox, check_small, get_request, upload_head};
use crate::measure::{Meter, Sample};
use crate::scenario::{BoxError, Job, SMALL_BODY, Scenario, check};

pub fn run(job: &Job) -> Result<Vec<Sample>, BoxError> {
    let rt = runtime(job.scenario == Scenario::InFlight64)?;
    let request = get_request(job, &job.path());
    let small_bytes = job.requests * SMALL_BODY.len() as u64;
    match job.scenario {
        Scenario::Sequential => rt.block_on(async {
            let mut conn = Conn::open(job.server, Inbox::new()).await?;
            for _ in 0..job.warmup {
                conn.small(&request).await?;
            }
            let meter = Meter::start();
            for _ in 0..job.requests {
                conn.small(&request).await?;
            }
            Ok(vec![meter.stop(job.requests, small_bytes)])
        }),
        Scenario::NewConnection => rt.block_on(async {
            // One receive buffer for all the connections, as the blocking floor.
            let mut inbox = Inbox::new();
            for _ in 0..job.warmup {
                inbox = small_on_new(job.server, inbox, &request).await?;
            }
            let meter = Meter::start();
            for _ in 0..job.requests {
                inbox = small_on_new(job.server, inbox, &request).await?;
            }
            Ok(vec![meter.stop(job.requests, small_bytes)])
        }),
        Scenario::InFlight64 => {
            rt.block_on(in_flight(job.server, &request, job.warmup))?;
            let meter = Meter::start();
            rt.block_on(in_flight(job.server, &request, job.requests))?;
            Ok(vec![meter.stop(job.requests, small_bytes)])
        }
        Scenario::DownloadLength | Scenario::DownloadChunked => {
            let mut conn = rt.block_on(Conn::open(job.server, Inbox::new()))?;
            rt.block_on(conn.download(&get_request(job, &job.warmup_path())))?;
            job.downloads(|| rt.block_on(conn.download(&request)))
        }
        Scenario::Upload => {
            let mut conn = rt.block_on(Conn::open(job.server, Inbox::new()))?;
            rt.block_on(conn.upload(job, (job.bytes / 16).max(1)))?;
            job.uploads(|| rt.block_on(conn.upload(job, job.bytes)))
        }
    }
}

/// One small request on a new connection reading into `inbox`, which is handed back.
async fn small_on_new(server: SocketAddr, inbox: Inbox, request: &[u8]) -> Result<Inbox, BoxError> {
    let mut conn = Conn::open(server, inbox).await?;
    conn.small(request).await?;
    Ok(conn.inbox)
}

/// `total` small requests from [`IN_FLIGHT`](crate::scenario::IN_FLIGHT) spawned tasks, each
/// on a connection of its own.
async fn in_flight(server: SocketAddr, request: &[u8], total: u64) -> Result<(), BoxError> {
    in_tasks(total, |n| {
        let request = request.to_vec();
        async move {
            let mut conn = Conn::open(server, Inbox::new()).await?;
            for _ in 0..n {
                conn.small(&request).await?;
            }
            Ok(())
        }
    })
    .await
}

/// One connection and its receive buffer.
struct Conn {
    stream: TcpStream,
    inbox: Inbox,
}

impl Conn {
    async fn open(server: SocketAddr, inbox: Inbox) -> Result<Conn, BoxError> {
        let stream = TcpStream::connect(server).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, inbox })
    }

    /// Reads one response; returns its body length.
    async fn read_response(&mut self) -> Result<u64, BoxError> {
        loop {
            if let Some(total) = self.inbox.response()? {
                return Ok(total);
            }
            let n = self.stream.read(self.inbox.space()).await?;
            self.inbox.filled(n)?;
        }
    }

    async fn small(&mut self, request: &[u8]) -> Result<(), BoxError> {
        self.stream.write_all(request).await?;
        check_small(self.read_response().await?)
    }

    async fn download(&mut self, request: &[u8]) -> Result<u64, BoxError> {
        self.stream.write_all(request).await?;
        self.read_response().await
    }

    async fn upload(&mut self, job: &Job, len: u64) -> Result<(), BoxError> {
        self.stream
            .write_all(upload_head(job, len).as_bytes())
            .await?;
        let mut left = len;
        while left > 0 {
            let n = ZEROS.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            self.stream.write_all(&ZEROS[..n]).await?;
            left -= n as u64;
        }
        let n = self.read_response().await?;
        check(n == 0, || format!("an upload answer of {n} bytes"))
    }
}
