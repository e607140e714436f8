//! The async clients: duet-async, reqwest and hyper (hyper-util's pooled legacy client), each
//! used the way its documentation shows, on tokio: a current-thread runtime for the
//! sequential scenarios and transfers, a multi-thread runtime (one worker per CPU the process
//! may use) for 64 tasks in flight. duet-async's pool is widened to keep those 64
//! connections idle between requests (its default keeps 16 per host, which would measure
//! reconnects instead); reqwest and hyper keep any number by default.
//!
//! Downloads are consumed piece by piece as each client hands them out (`chunk()`,
//! `frame()`); uploads stream the same source for all three: 64 KiB pieces of one static
//! buffer (`Bytes::from_static`, no copy), with the length known.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::measure::{Meter, Sample};
use crate::scenario::{BoxError, IN_FLIGHT, Job, PIECE, SMALL_BODY, Scenario, check};

/// The upload source: a static buffer handed out in pieces.
pub static ZEROS: [u8; PIECE] = [0; PIECE];

/// What one async client must provide; the scenarios are written once over it. The futures
/// are not boxed: the bare loop's are not either, and a box per request would count against
/// every client beside it.
trait AsyncClient: Clone + Send + Sync + 'static {
    fn get_small(&self, url: Arc<str>) -> impl Future<Output = Result<(), BoxError>> + Send + '_;
    fn download(&self, url: &str) -> impl Future<Output = Result<u64, BoxError>> + Send + '_;
    fn upload(&self, url: &str, len: u64)
    -> impl Future<Output = Result<(), BoxError>> + Send + '_;
}

pub fn run_duet(job: &Job) -> Result<Vec<Sample>, BoxError> {
    run(job, || {
        Duet(
            duet_async::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("a plain duet-async client builds"),
        )
    })
}

pub fn run_reqwest(job: &Job) -> Result<Vec<Sample>, BoxError> {
    run(job, || {
        Reqwest(
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("a plain reqwest client builds"),
        )
    })
}

pub fn run_hyper(job: &Job) -> Result<Vec<Sample>, BoxError> {
    run(job, || Hyper {
        get: HyperClient::builder(TokioExecutor::new()).build_http(),
        put: HyperClient::builder(TokioExecutor::new()).build_http(),
    })
}

pub fn runtime(multi_thread: bool) -> io::Result<tokio::runtime::Runtime> {
    if multi_thread {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
}

fn run<C: AsyncClient>(job: &Job, make: impl FnOnce() -> C) -> Result<Vec<Sample>, BoxError> {
    let rt = runtime(job.scenario == Scenario::InFlight64)?;
    // Clients that spawn or register I/O at construction need the runtime entered.
    let client = {
        let _enter = rt.enter();
        make()
    };
    let url: Arc<str> = job.url(&job.path()).into();
    let small_bytes = job.requests * SMALL_BODY.len() as u64;
    match job.scenario {
        Scenario::Sequential | Scenario::NewConnection => {
            rt.block_on(async {
                for _ in 0..job.warmup {
                    client.get_small(url.clone()).await?;
                }
                Ok::<(), BoxError>(())
            })?;
            let meter = Meter::start();
            rt.block_on(async {
                for _ in 0..job.requests {
                    client.get_small(url.clone()).await?;
                }
                Ok::<(), BoxError>(())
            })?;
            Ok(vec![meter.stop(job.requests, small_bytes)])
        }
        Scenario::InFlight64 => {
            rt.block_on(in_flight(&client, &url, job.warmup))?;
            let meter = Meter::start();
            rt.block_on(in_flight(&client, &url, job.requests))?;
            Ok(vec![meter.stop(job.requests, small_bytes)])
        }
        Scenario::DownloadLength | Scenario::DownloadChunked => {
            rt.block_on(client.download(&job.url(&job.warmup_path())))?;
            job.downloads(|| rt.block_on(client.download(&url)))
        }
        Scenario::Upload => {
            rt.block_on(client.upload(&url, (job.bytes / 16).max(1)))?;
            job.uploads(|| rt.block_on(client.upload(&url, job.bytes)))
        }
    }
}

/// `total` small GETs from [`IN_FLIGHT`] spawned tasks sharing `client`.
async fn in_flight<C: AsyncClient>(client: &C, url: &Arc<str>, total: u64) -> Result<(), BoxError> {
    in_tasks(total, |n| {
        let client = client.clone();
        let url = url.clone();
        async move {
            for _ in 0..n {
                client.get_small(url.clone()).await?;
            }
            Ok(())
        }
    })
    .await
}

/// Splits `total` requests over [`IN_FLIGHT`] spawned tasks, `task(n)` making `n` of them,
/// and waits for them all.
pub async fn in_tasks<F>(total: u64, task: impl Fn(u64) -> F) -> Result<(), BoxError>
where
    F: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    let tasks = IN_FLIGHT as u64;
    let handles: Vec<_> = (0..tasks)
        .map(|i| tokio::spawn(task(total / tasks + u64::from(i < total % tasks))))
        .collect();
    for handle in handles {
        handle.await??;
    }
    Ok(())
}

/// The upload source as a stream of static pieces.
fn pieces(len: u64) -> impl futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static {
    let full = len / PIECE as u64;
    let rest = (len % PIECE as u64) as usize;
    let tail = (rest > 0).then(|| Ok(Bytes::from_static(&ZEROS[..rest])));
    futures_util::stream::iter(
        (0..full)
            .map(|_| Ok(Bytes::from_static(&ZEROS)))
            .chain(tail),
    )
}

#[derive(Clone)]
struct Duet(duet_async::Client);

impl AsyncClient for Duet {
    async fn get_small(&self, url: Arc<str>) -> Result<(), BoxError> {
        let response = self.0.get(&*url).send().await?;
        check(response.status() == 200, || {
            format!("{}", response.status())
        })?;
        let body = response.bytes().await?;
        check(body == SMALL_BODY, || {
            format!("a body of {} bytes", body.len())
        })
    }

    fn download(&self, url: &str) -> impl Future<Output = Result<u64, BoxError>> + Send + '_ {
        let url = url.to_owned();
        async move {
            let mut response = self.0.get(&*url).send().await?;
            check(response.status() == 200, || {
                format!("{}", response.status())
            })?;
            let mut total = 0;
            while let Some(chunk) = response.chunk().await? {
                total += chunk.len() as u64;
            }
            Ok(total)
        }
    }

    fn upload(
        &self,
        url: &str,
        len: u64,
    ) -> impl Future<Output = Result<(), BoxError>> + Send + '_ {
        let url = url.to_owned();
        async move {
            let body = duet_async::Body::from_stream(pieces(len), Some(len));
            let response = self.0.put(&*url).body(body).send().await?;
            check(response.status() == 200, || {
                format!("{}", response.status())
            })?;
            response.bytes().await?;
            Ok(())
        }
    }
}

#[derive(Clone)]
struct Reqwest(reqwest::Client);

impl AsyncClient for Reqwest {
    async fn get_small(&self, url: Arc<str>) -> Result<(), BoxError> {
        let response = self.0.get(&*url).send().await?;
        check(response.status() == 200, || {
            format!("{}", response.status())
        })?;
        let body = response.bytes().await?;
        check(body == SMALL_BODY, || {
            format!("a body of {} bytes", body.len())
        })
    }

    fn download(&self, url: &str) -> impl Future<Output = Result<u64, BoxError>> + Send + '_ {
        let url = url.to_owned();
        async move {
            let mut response = self.0.get(&url).send().await?;
            check(response.status() == 200, || {
                format!("{}", response.status())
            })?;
            let mut total = 0;
            while let Some(chunk) = response.chunk().await? {
                total += chunk.len() as u64;
            }
            Ok(total)
        }
    }

    fn upload(
        &self,
        url: &str,
        len: u64,
    ) -> impl Future<Output = Result<(), BoxError>> + Send + '_ {
        let url = url.to_owned();
        async move {
            let response = self
                .0
                .put(&url)
                .header(http::header::CONTENT_LENGTH, len)
                .body(reqwest::Body::wrap_stream(pieces(len)))
                .send()
                .await?;
            check(response.status() == 200, || {
                format!("{}", response.status())
            })?;
            response.bytes().await?;
            Ok(())
        }
    }
}

#[derive(Clone)]
struct Hyper {
    get: HyperClient<HttpConnector, Empty<Bytes>>,
    put: HyperClient<HttpConnector, Zeros>,
}

impl AsyncClient for Hyper {
    async fn get_small(&self, url: Arc<str>) -> Result<(), BoxError> {
        let uri: http::Uri = url.parse()?;
        let response = self.get.get(uri).await?;
        check(response.status() == 200, || {
            format!("{}", response.status())
        })?;
        let body = response.into_body().collect().await?.to_bytes();
        check(body == SMALL_BODY, || {
            format!("a body of {} bytes", body.len())
        })
    }

    fn download(&self, url: &str) -> impl Future<Output = Result<u64, BoxError>> + Send + '_ {
        let url = url.to_owned();
        async move {
            let uri: http::Uri = url.parse()?;
            let response = self.get.get(uri).await?;
            check(response.status() == 200, || {
                format!("{}", response.status())
            })?;
            let mut body = response.into_body();
            let mut total = 0;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame?.into_data() {
                    total += data.len() as u64;
                }
            }
            Ok(total)
        }
    }

    fn upload(
        &self,
        url: &str,
        len: u64,
    ) -> impl Future<Output = Result<(), BoxError>> + Send + '_ {
        let url = url.to_owned();
        async move {
            let request = http::Request::put(url).body(Zeros { remaining: len })?;
            let response = self.put.request(request).await?;
            check(response.status() == 200, || {
                format!("{}", response.status())
            })?;
            response.into_body().collect().await?;
            Ok(())
        }
    }
}

/// hyper's upload body: `remaining` zero bytes in static 64 KiB pieces, length known.
struct Zeros {
    remaining: u64,
}

impl http_body::Body for Zeros {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(PIECE as u64) as usize;
        self.remaining -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&ZEROS[..n])))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
