//! What a run measures: wall time, the process's CPU time (precise, all threads, exited ones
//! included), its user/system split, and peak resident memory; plus pinning to one core.
//!
//! Every number comes from the kernel without `unsafe`: `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`
//! through rustix, `/proc/self/stat` for the user/system split (clock ticks, so only a
//! proportion), `/proc/self/status` for `VmHWM`.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::thread::CpuSet;
use rustix::time::{ClockId, clock_gettime};

/// The process's CPU time so far, all threads included.
pub fn process_cpu() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// User and system clock ticks of the process so far (fields 14 and 15 of `/proc/self/stat`).
pub fn user_sys_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name may contain spaces; the fields after its closing parenthesis don't.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state), so field 14 (utime) is at index 11.
    let field = |i: usize| fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0);
    (field(11), field(12))
}

/// Busy time of the whole machine so far, all CPUs (`/proc/stat`: everything but idle and
/// iowait, steal included).
pub fn machine_busy() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    let hz = rustix::param::clock_ticks_per_second().max(1);
    Duration::from_nanos(busy.saturating_mul(1_000_000_000 / hz))
}

/// A KiB field of `/proc/self/status`, such as `VmHWM` (peak resident set size) or
/// `RssFile` (resident pages mapped from files: mostly code).
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Nanoseconds another process's main thread has spent on a CPU (`/proc/<pid>/schedstat`).
pub fn thread_cpu_of(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// The CPUs this process may run on, in order.
pub fn allowed_cpus() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..CpuSet::MAX_CPU).filter(|&i| set.is_set(i)).collect(),
        Err(_) => Vec::new(),
    }
}

/// Pins the calling thread, and every thread it starts afterwards, to `cpu`.
pub fn pin_to(cpu: usize) -> std::io::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set).map_err(std::io::Error::from)
}

/// The server, whose CPU time and accepted connections a [`Meter`] records too (to tell
/// whether the server was the bottleneck, and how many connections a client opened).
pub static SERVER: OnceLock<(SocketAddr, Option<u32>)> = OnceLock::new();

fn server_cpu() -> Duration {
    SERVER
        .get()
        .and_then(|&(_, pid)| thread_cpu_of(pid?))
        .unwrap_or_default()
}

/// Connections the server has accepted so far (`GET /stats`, on a connection of its own).
fn server_accepted() -> u64 {
    let Some(&(addr, _)) = SERVER.get() else {
        return 0;
    };
    let ask = || -> std::io::Result<u64> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(b"GET /stats HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        Ok(text
            .split("accepted=")
            .nth(1)
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0))
    };
    ask().unwrap_or(0)
}

/// A measurement in progress.
pub struct Meter {
    wall: Instant,
    cpu: Duration,
    ticks: (u64, u64),
    server: Duration,
    accepted: u64,
    machine: Duration,
}

impl Meter {
    pub fn start() -> Self {
        Meter {
            accepted: server_accepted(),
            ticks: user_sys_ticks(),
            machine: machine_busy(),
            server: server_cpu(),
            cpu: process_cpu(),
            wall: Instant::now(),
        }
    }

    /// Ends the measurement of `requests` requests that moved `bytes` body bytes.
    pub fn stop(self, requests: u64, bytes: u64) -> Sample {
        let wall = self.wall.elapsed();
        let cpu = process_cpu().saturating_sub(self.cpu);
        let server = server_cpu().saturating_sub(self.server);
        let machine = machine_busy().saturating_sub(self.machine);
        let (user, sys) = user_sys_ticks();
        // The query for the count is itself one connection.
        let connections = server_accepted().saturating_sub(self.accepted + 1);
        Sample {
            connections,
            wall,
            cpu,
            server_cpu: server,
            other_cpu: machine.saturating_sub(cpu + server),
            user_ticks: user.saturating_sub(self.ticks.0),
            sys_ticks: sys.saturating_sub(self.ticks.1),
            requests,
            bytes,
            peak_rss_kib: status_kib("VmHWM"),
            rss_file_kib: status_kib("RssFile"),
        }
    }
}

/// The result of one client running one scenario once, in its own process.
#[derive(Clone, Debug)]
pub struct Sample {
    pub wall: Duration,
    pub cpu: Duration,
    /// The server's CPU time during the measurement.
    pub server_cpu: Duration,
    /// CPU time of everything else on the machine during the measurement (clock ticks, so
    /// rough): noise.
    pub other_cpu: Duration,
    pub user_ticks: u64,
    pub sys_ticks: u64,
    pub requests: u64,
    pub bytes: u64,
    pub peak_rss_kib: u64,
    /// Resident pages mapped from files (the binary's code and data touched) at the end.
    pub rss_file_kib: u64,
    /// Connections the server accepted during the measurement.
    pub connections: u64,
}

impl Sample {
    /// The prefix of the line a client process prints its result on.
    pub const TAG: &'static str = "DUET-BENCH-SAMPLE";

    /// Parses the line [`Sample`]'s `Display` wrote.
    pub fn parse(line: &str) -> Option<Sample> {
        let mut it = line.strip_prefix(Self::TAG)?.split_whitespace();
        let mut next = || it.next()?.parse::<u64>().ok();
        Some(Sample {
            wall: Duration::from_nanos(next()?),
            cpu: Duration::from_nanos(next()?),
            server_cpu: Duration::from_nanos(next()?),
            other_cpu: Duration::from_nanos(next()?),
            user_ticks: next()?,
            sys_ticks: next()?,
            requests: next()?,
            bytes: next()?,
            peak_rss_kib: next()?,
            rss_file_kib: next()?,
            connections: next()?,
        })
    }

    /// Client CPU time per request.
    pub fn cpu_per_request(&self) -> Duration {
        self.cpu / self.requests.max(1) as u32
    }

    pub fn requests_per_sec(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }

    pub fn mib_per_sec(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.wall.as_secs_f64()
    }

    /// Client CPU milliseconds per MiB of body moved.
    pub fn cpu_ms_per_mib(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e3 / (self.bytes as f64 / (1024.0 * 1024.0)).max(1e-9)
    }

    /// The share of the wall time the server spent on its CPU (near 1: the server was the
    /// bottleneck).
    pub fn server_load(&self) -> f64 {
        self.server_cpu.as_secs_f64() / self.wall.as_secs_f64()
    }

    /// How busy the rest of the machine was, as a share of one CPU.
    pub fn other_load(&self) -> f64 {
        self.other_cpu.as_secs_f64() / self.wall.as_secs_f64()
    }

    /// Whether the rest of the machine was busy enough to disturb this run.
    pub fn is_noisy(&self) -> bool {
        self.other_load() > crate::report::NOISY
    }

    /// The share of CPU time spent in the kernel (from clock ticks: rough on short runs).
    pub fn sys_share(&self) -> Option<f64> {
        let total = self.user_ticks + self.sys_ticks;
        (total > 0).then(|| self.sys_ticks as f64 / total as f64)
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {} {} {} {} {} {}",
            Self::TAG,
            self.wall.as_nanos(),
            self.cpu.as_nanos(),
            self.server_cpu.as_nanos(),
            self.other_cpu.as_nanos(),
            self.user_ticks,
            self.sys_ticks,
            self.requests,
            self.bytes,
            self.peak_rss_kib,
            self.rss_file_kib,
            self.connections
        )
    }
}
