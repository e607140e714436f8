//! The blocking clients: duet-blocking and ureq, each used the way its documentation shows.
//!
//! Both read bodies through `io::Read` into a 64 KiB buffer, upload from `io::repeat` with a
//! known length, and share one client (one pool) between the 8 threads of
//! [`Scenario::InFlight64`]. ureq's pool is widened to hold the 8 connections (its default
//! keeps 3 idle per host, which would measure reconnects instead).

use std::io::{self, Read};

use crate::measure::{Meter, Sample};
use crate::scenario::{BLOCKING_THREADS, BoxError, Job, SMALL_BODY, Scenario, check};

/// What one blocking client must provide; the scenarios are written once over it.
trait Blocking: Sync {
    fn get_small(&self, url: &str) -> Result<(), BoxError>;
    fn download(&self, url: &str, buf: &mut [u8]) -> Result<u64, BoxError>;
    fn upload(&self, url: &str, len: u64) -> Result<(), BoxError>;
}

pub fn run_duet(job: &Job) -> Result<Vec<Sample>, BoxError> {
    run(job, &Duet(duet_blocking::Client::new()))
}

pub fn run_ureq(job: &Job) -> Result<Vec<Sample>, BoxError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(64)
        .max_idle_connections_per_host(64)
        .build()
        .into();
    run(job, &Ureq(agent))
}

fn run(job: &Job, client: &impl Blocking) -> Result<Vec<Sample>, BoxError> {
    let url = job.url(&job.path());
    let small_bytes = job.requests * SMALL_BODY.len() as u64;
    match job.scenario {
        Scenario::Sequential | Scenario::NewConnection => {
            for _ in 0..job.warmup {
                client.get_small(&url)?;
            }
            let meter = Meter::start();
            for _ in 0..job.requests {
                client.get_small(&url)?;
            }
            Ok(vec![meter.stop(job.requests, small_bytes)])
        }
        Scenario::InFlight64 => {
            on_threads(client, &url, job.warmup)?;
            let meter = Meter::start();
            on_threads(client, &url, job.requests)?;
            Ok(vec![meter.stop(job.requests, small_bytes)])
        }
        Scenario::DownloadLength | Scenario::DownloadChunked => {
            let mut buf = vec![0u8; 64 * 1024];
            client.download(&job.url(&job.warmup_path()), &mut buf)?;
            job.downloads(|| client.download(&url, &mut buf))
        }
        Scenario::Upload => {
            client.upload(&url, (job.bytes / 16).max(1))?;
            job.uploads(|| client.upload(&url, job.bytes))
        }
    }
}

/// `total` small GETs spread over [`BLOCKING_THREADS`] threads sharing `client`.
fn on_threads(client: &impl Blocking, url: &str, total: u64) -> Result<(), BoxError> {
    let threads = BLOCKING_THREADS as u64;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|i| {
                let n = total / threads + u64::from(i < total % threads);
                scope.spawn(move || {
                    for _ in 0..n {
                        client.get_small(url)?;
                    }
                    Ok::<(), BoxError>(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| BoxError::from("a thread panicked"))?)
    })
}

/// Reads `reader` to its end through `buf`; returns the byte count.
fn drain(mut reader: impl Read, buf: &mut [u8]) -> io::Result<u64> {
    let mut total = 0;
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

struct Duet(duet_blocking::Client);

impl Blocking for Duet {
    fn get_small(&self, url: &str) -> Result<(), BoxError> {
        let response = self.0.get(url).send()?;
        check(response.status() == 200, || {
            format!("{}", response.status())
        })?;
        let body = response.bytes()?;
        check(body == SMALL_BODY, || {
            format!("a body of {} bytes", body.len())
        })
    }

    fn download(&self, url: &str, buf: &mut [u8]) -> Result<u64, BoxError> {
        let response = self.0.get(url).send()?;
        check(response.status() == 200, || {
            format!("{}", response.status())
        })?;
        Ok(drain(response, buf)?)
    }

    fn upload(&self, url: &str, len: u64) -> Result<(), BoxError> {
        let body = duet_blocking::Body::from_reader(io::repeat(0).take(len), Some(len));
        let response = self.0.put(url).body(body).send()?;
        check(response.status() == 200, || {
            format!("{}", response.status())
        })?;
        response.bytes()?;
        Ok(())
    }
}

struct Ureq(ureq::Agent);

impl Blocking for Ureq {
    fn get_small(&self, url: &str) -> Result<(), BoxError> {
        let mut response = self.0.get(url).call()?;
        check(response.status() == 200, || {
            format!("{}", response.status())
        })?;
        let body = response.body_mut().read_to_vec()?;
        check(body == SMALL_BODY, || {
            format!("a body of {} bytes", body.len())
        })
    }

    fn download(&self, url: &str, buf: &mut [u8]) -> Result<u64, BoxError> {
        let mut response = self.0.get(url).call()?;
        check(response.status() == 200, || {
            format!("{}", response.status())
        })?;
        Ok(drain(response.body_mut().as_reader(), buf)?)
    }

    fn upload(&self, url: &str, len: u64) -> Result<(), BoxError> {
        let source = io::repeat(0).take(len);
        let mut response = self
            .0
            .put(url)
            .header("Content-Length", len.to_string())
            .send(ureq::SendBody::from_owned_reader(source))?;
        check(response.status() == 200, || {
            format!("{}", response.status())
        })?;
        response.body_mut().read_to_vec()?;
        Ok(())
    }
}
