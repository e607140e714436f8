//! The targets and the ratios they are about.

use crate::measure::Sample;
use crate::report::Results;
use crate::scenario::{ClientKind, Scenario};

/// The ratio a target is about.
#[derive(Clone, Copy)]
pub enum Metric {
    /// Client CPU per request (or per MiB) over the bare loop's.
    CpuVsBare,
    /// Throughput over a peer's.
    ThroughputVs(ClientKind),
    /// Peak RSS over a peer's.
    MemoryVs(ClientKind),
}

pub struct Target {
    pub scenario: Scenario,
    pub client: ClientKind,
    pub metric: Metric,
    /// The bound: at most this for CPU and memory, at least this for throughput.
    pub bound: f64,
}

pub fn targets(scenarios: &[Scenario]) -> Vec<Target> {
    use ClientKind::{DuetAsync, DuetBlocking, Hyper, Reqwest, Ureq};
    let mut out = Vec::new();
    for &scenario in scenarios {
        let cpu = match scenario {
            Scenario::Sequential | Scenario::NewConnection => Some(1.1),
            Scenario::DownloadLength | Scenario::Upload => Some(1.1),
            Scenario::DownloadChunked => Some(1.2),
            Scenario::InFlight64 => None,
        };
        for client in [DuetBlocking, DuetAsync] {
            if let Some(bound) = cpu {
                out.push(Target {
                    scenario,
                    client,
                    metric: Metric::CpuVsBare,
                    bound,
                });
            }
        }
        if scenario == Scenario::InFlight64 {
            out.push(Target {
                scenario,
                client: DuetAsync,
                metric: Metric::ThroughputVs(Hyper),
                bound: 1.0,
            });
            out.push(Target {
                scenario,
                client: DuetBlocking,
                metric: Metric::ThroughputVs(Ureq),
                bound: 1.3,
            });
        }
        out.push(Target {
            scenario,
            client: DuetBlocking,
            metric: Metric::MemoryVs(Ureq),
            bound: 1.0,
        });
        out.push(Target {
            scenario,
            client: DuetAsync,
            metric: Metric::MemoryVs(Reqwest),
            bound: 1.0,
        });
    }
    out
}

/// Client CPU per unit of work: per request, or per MiB for transfers.
pub fn cpu_per_unit(scenario: Scenario, s: &Sample) -> f64 {
    if scenario.is_transfer() {
        s.cpu_ms_per_mib()
    } else {
        s.cpu_per_request().as_secs_f64() * 1e6
    }
}

pub fn throughput(scenario: Scenario, s: &Sample) -> f64 {
    if scenario.is_transfer() {
        s.mib_per_sec()
    } else {
        s.requests_per_sec()
    }
}

/// The peer a client's throughput and memory are compared with.
pub fn peer(client: ClientKind) -> Option<ClientKind> {
    match client {
        ClientKind::DuetBlocking => Some(ClientKind::Ureq),
        ClientKind::DuetAsync | ClientKind::Reqwest => Some(ClientKind::Hyper),
        ClientKind::Bare | ClientKind::BareTokio | ClientKind::Ureq | ClientKind::Hyper => None,
    }
}

pub fn memory_peer(client: ClientKind) -> Option<ClientKind> {
    match client {
        ClientKind::DuetBlocking => Some(ClientKind::Ureq),
        ClientKind::DuetAsync => Some(ClientKind::Reqwest),
        _ => None,
    }
}

/// A target's measured ratio, if both sides ran.
pub fn ratio(
    results: &Results,
    scenario: Scenario,
    client: ClientKind,
    metric: Metric,
) -> Option<f64> {
    let get = |c: ClientKind| results.get(&(scenario, c));
    let ours = get(client)?;
    match metric {
        Metric::CpuVsBare => {
            let base = get(ClientKind::Bare)?.best_cpu()?;
            Some(cpu_per_unit(scenario, ours.best_cpu()?) / cpu_per_unit(scenario, base))
        }
        Metric::ThroughputVs(peer) => {
            let base = get(peer)?.best_wall()?;
            Some(throughput(scenario, ours.best_wall()?) / throughput(scenario, base))
        }
        Metric::MemoryVs(peer) => {
            Some(ours.peak_rss_kib()? as f64 / get(peer)?.peak_rss_kib()? as f64)
        }
    }
}

pub fn met(metric: Metric, value: f64, bound: f64) -> bool {
    match metric {
        Metric::ThroughputVs(_) => value >= bound,
        Metric::CpuVsBare | Metric::MemoryVs(_) => value <= bound,
    }
}

pub fn describe(metric: Metric, bound: f64) -> String {
    match metric {
        Metric::CpuVsBare => format!("CPU <= {bound:.2}x bare"),
        Metric::ThroughputVs(peer) => format!("throughput >= {bound:.2}x {peer}"),
        Metric::MemoryVs(peer) => format!("peak RSS <= {bound:.2}x {peer}"),
    }
}

pub fn short(t: &Target) -> String {
    match t.metric {
        Metric::CpuVsBare => format!("cpu<={:.1}", t.bound),
        Metric::ThroughputVs(_) => format!("thr>={:.1}", t.bound),
        Metric::MemoryVs(_) => format!("rss<={:.1}", t.bound),
    }
}
