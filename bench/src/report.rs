//! The orchestrator: runs every client in every scenario in its own process, keeps the best
//! of the repeats, and prints one table per scenario with ratios and the targets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::measure::{Sample, allowed_cpus};
use crate::scenario::{BoxError, ClientKind, Scenario};
use crate::{Args, Server};

/// How much each run does.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    quick: bool,
    requests: Option<u64>,
    /// Bytes per transfer.
    pub bytes: u64,
}

impl Sizes {
    pub fn new(quick: bool, requests: Option<u64>, mib: Option<u64>) -> Self {
        let mib = mib.unwrap_or(if quick { 16 } else { 100 });
        Sizes {
            quick,
            requests,
            bytes: mib << 20,
        }
    }

    /// Transfers measured in each client process.
    pub fn transfers(&self) -> u32 {
        if self.quick { 1 } else { 3 }
    }

    /// (measured, warm-up) requests for a scenario.
    pub fn requests(&self, scenario: Scenario) -> (u64, u64) {
        let default = match (scenario, self.quick) {
            (Scenario::Sequential | Scenario::InFlight64, false) => 20_000,
            (Scenario::Sequential | Scenario::InFlight64, true) => 2_000,
            (Scenario::NewConnection, false) => 2_000,
            (Scenario::NewConnection, true) => 200,
            _ => 1,
        };
        let n = if scenario.is_transfer() {
            1
        } else {
            self.requests.unwrap_or(default)
        };
        let warmup = match scenario {
            Scenario::InFlight64 => (n / 10).max(128),
            _ => (n / 10).max(1),
        };
        (n, warmup)
    }
}

/// What the orchestrator runs.
pub struct Plan {
    scenarios: Vec<Scenario>,
    clients: Vec<ClientKind>,
    repeat: usize,
    sizes: Sizes,
    json: Option<PathBuf>,
    timeout: Duration,
}

impl Plan {
    pub fn from_args(args: &Args) -> Plan {
        let mut scenarios = if args.only.is_empty() {
            Scenario::ALL.to_vec()
        } else {
            args.only.clone()
        };
        scenarios.sort();
        scenarios.dedup();
        let mut clients = if args.clients.is_empty() {
            ClientKind::ALL.to_vec()
        } else {
            args.clients.clone()
        };
        clients.sort();
        clients.dedup();
        Plan {
            scenarios,
            clients,
            repeat: args.repeat.unwrap_or(if args.quick { 1 } else { 5 }).max(1),
            sizes: Sizes::new(args.quick, args.requests, args.mib),
            json: args.json.clone(),
            timeout: Duration::from_secs(if args.quick { 30 } else { 180 }),
        }
    }
}

/// The CPUs for the client and the server: the first two this process may use.
pub fn cpus() -> (Option<usize>, Option<usize>) {
    let cpus = allowed_cpus();
    match cpus.as_slice() {
        [client, server, ..] => (Some(*client), Some(*server)),
        _ => (None, None),
    }
}

/// The outcome of one client in one scenario over the repeats.
#[derive(Default)]
struct Outcome {
    samples: Vec<Sample>,
    errors: Vec<String>,
}

impl Outcome {
    fn best_cpu(&self) -> Option<&Sample> {
        self.samples.iter().min_by_key(|s| s.cpu)
    }

    fn best_wall(&self) -> Option<&Sample> {
        self.samples.iter().min_by_key(|s| s.wall)
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        self.samples.iter().map(|s| s.peak_rss_kib).max()
    }
}

type Results = BTreeMap<(Scenario, ClientKind), Outcome>;

pub fn run(plan: &Plan) -> Result<(), BoxError> {
    let (client_cpu, server_cpu) = cpus();
    if client_cpu.is_none() {
        eprintln!("duet-bench: fewer than 2 CPUs available; client and server are not pinned");
    }
    let server = Server::start(server_cpu)?;
    let started = Instant::now();
    let progress = std::io::stderr().is_terminal();
    let mut results = Results::new();
    for &scenario in &plan.scenarios {
        for round in 0..plan.repeat {
            for &client in &plan.clients {
                if progress {
                    eprint!(
                        "\r{:<18} {:<14} run {}/{}      ",
                        scenario.name(),
                        client.name(),
                        round + 1,
                        plan.repeat
                    );
                }
                let outcome = results.entry((scenario, client)).or_default();
                match run_child(plan, &server, client_cpu, client, scenario) {
                    Ok(samples) => outcome.samples.extend(samples),
                    Err(e) => outcome.errors.push(e.to_string()),
                }
            }
        }
    }
    if progress {
        eprint!("\r{:<60}\r", "");
    }
    drop(server);
    let text = render(plan, &results, client_cpu, server_cpu, started.elapsed());
    print!("{text}");
    if let Some(path) = &plan.json {
        std::fs::write(path, json(plan, &results).to_string())?;
    }
    Ok(())
}

/// Runs one client in one scenario in a child process and reads its result line.
fn run_child(
    plan: &Plan,
    server: &Server,
    cpu: Option<usize>,
    client: ClientKind,
    scenario: Scenario,
) -> Result<Vec<Sample>, BoxError> {
    let (requests, warmup) = plan.sizes.requests(scenario);
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["--client", client.name(), "--scenario", scenario.name()])
        .args(["--server", &server.addr().to_string()])
        .args(["--server-pid", &server.pid().to_string()])
        .args(["--requests", &requests.to_string()])
        .args(["--mib", &(plan.sizes.bytes >> 20).to_string()])
        .args(["--warmup", &warmup.to_string()])
        .args(["--transfers", &plan.sizes.transfers().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cpu) = cpu {
        command.args(["--cpu", &cpu.to_string()]);
    }
    let mut child = command.spawn()?;
    let deadline = Instant::now() + plan.timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {:?}", plan.timeout).into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr)?;
    }
    if !status.success() {
        let message = stderr.lines().last().unwrap_or("no message").to_owned();
        return Err(format!("{status}: {message}").into());
    }
    let samples: Vec<Sample> = stdout.lines().filter_map(Sample::parse).collect();
    if samples.is_empty() {
        return Err(format!("no result line in {stdout:?}").into());
    }
    Ok(samples)
}

/// The ratio a target is about.
#[derive(Clone, Copy)]
enum Metric {
    /// Client CPU per request (or per MiB) over the bare loop's.
    CpuVsBare,
    /// Throughput over a peer's.
    ThroughputVs(ClientKind),
    /// Peak RSS over a peer's.
    MemoryVs(ClientKind),
}

struct Target {
    scenario: Scenario,
    client: ClientKind,
    metric: Metric,
    /// The bound: at most this for CPU and memory, at least this for throughput.
    bound: f64,
}

fn targets(scenarios: &[Scenario]) -> Vec<Target> {
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
fn cpu_per_unit(scenario: Scenario, s: &Sample) -> f64 {
    if scenario.is_transfer() {
        s.cpu_ms_per_mib()
    } else {
        s.cpu_per_request().as_secs_f64() * 1e6
    }
}

fn throughput(scenario: Scenario, s: &Sample) -> f64 {
    if scenario.is_transfer() {
        s.mib_per_sec()
    } else {
        s.requests_per_sec()
    }
}

/// The peer a client's throughput and memory are compared with.
fn peer(client: ClientKind) -> Option<ClientKind> {
    match client {
        ClientKind::DuetBlocking => Some(ClientKind::Ureq),
        ClientKind::DuetAsync | ClientKind::Reqwest => Some(ClientKind::Hyper),
        ClientKind::Bare | ClientKind::Ureq | ClientKind::Hyper => None,
    }
}

fn memory_peer(client: ClientKind) -> Option<ClientKind> {
    match client {
        ClientKind::DuetBlocking => Some(ClientKind::Ureq),
        ClientKind::DuetAsync => Some(ClientKind::Reqwest),
        _ => None,
    }
}

/// A target's measured ratio, if both sides ran.
fn ratio(results: &Results, scenario: Scenario, client: ClientKind, metric: Metric) -> Option<f64> {
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

fn met(metric: Metric, value: f64, bound: f64) -> bool {
    match metric {
        Metric::ThroughputVs(_) => value >= bound,
        Metric::CpuVsBare | Metric::MemoryVs(_) => value <= bound,
    }
}

fn describe(metric: Metric, bound: f64) -> String {
    match metric {
        Metric::CpuVsBare => format!("CPU <= {bound:.2}x bare"),
        Metric::ThroughputVs(peer) => format!("throughput >= {bound:.2}x {peer}"),
        Metric::MemoryVs(peer) => format!("peak RSS <= {bound:.2}x {peer}"),
    }
}

fn render(
    plan: &Plan,
    results: &Results,
    client_cpu: Option<usize>,
    server_cpu: Option<usize>,
    elapsed: Duration,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "duet-bench report");
    let _ = writeln!(out, "=================");
    let _ = writeln!(out, "machine:  {}", machine());
    let _ = writeln!(
        out,
        "pinning:  client on CPU {}, server on CPU {} (one epoll thread)",
        client_cpu.map_or("-".into(), |c| c.to_string()),
        server_cpu.map_or("-".into(), |c| c.to_string()),
    );
    let _ = writeln!(
        out,
        "runs:     best of {} processes per client and scenario ({} transfers each); {} MiB per transfer; took {:.0} s",
        plan.repeat,
        plan.sizes.transfers(),
        plan.sizes.bytes >> 20,
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "columns:  thr = req/s or MiB/s (best run); xpeer = over ureq's (blocking) or hyper's (async)
          CPU = client process CPU (user+sys) per request or per MiB (best run); xbare = over the bare loop's
          spread = worst run's CPU over the best's; sys = kernel share of client CPU (ticks, rough)
          RSS = peak resident memory of the client process (worst run); xpeer = over ureq's / reqwest's
          conns = connections the server accepted in the best run; srv = server CPU busy share
          other = CPU used by everything else on the machine during the best run, in CPUs (noise)"
    );
    let tgts = targets(&plan.scenarios);
    for &scenario in &plan.scenarios {
        let (requests, _) = plan.sizes.requests(scenario);
        let _ = writeln!(out);
        let what = if scenario.is_transfer() {
            format!("{} MiB", plan.sizes.bytes >> 20)
        } else {
            format!("{requests} requests")
        };
        let _ = writeln!(out, "{}: {} ({what})", scenario.name(), scenario.title());
        let (thr_unit, cpu_unit) = if scenario.is_transfer() {
            ("MiB/s", "CPU ms/MiB")
        } else {
            ("req/s", "CPU us/req")
        };
        let _ = writeln!(
            out,
            "  {:<14} {:>9} {:>6} {:>10} {:>6} {:>6} {:>4} {:>7} {:>6} {:>5} {:>4} {:>5}  targets",
            "client",
            thr_unit,
            "xpeer",
            cpu_unit,
            "xbare",
            "spread",
            "sys",
            "RSS MiB",
            "xpeer",
            "conns",
            "srv",
            "other"
        );
        for &client in &plan.clients {
            let Some(outcome) = results.get(&(scenario, client)) else {
                continue;
            };
            let (Some(wall), Some(cpu)) = (outcome.best_wall(), outcome.best_cpu()) else {
                let error = outcome.errors.first().map_or("no result", String::as_str);
                let _ = writeln!(out, "  {:<14} FAILED: {error}", client.name());
                continue;
            };
            let fmt_ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}x"));
            let thr_ratio = peer(client)
                .and_then(|p| ratio(results, scenario, client, Metric::ThroughputVs(p)));
            let cpu_ratio = ratio(results, scenario, client, Metric::CpuVsBare);
            let mem_ratio = memory_peer(client)
                .and_then(|p| ratio(results, scenario, client, Metric::MemoryVs(p)));
            let worst = outcome
                .samples
                .iter()
                .map(|s| s.cpu)
                .max()
                .unwrap_or(cpu.cpu);
            let spread = worst.as_secs_f64() / cpu.cpu.as_secs_f64().max(1e-12) - 1.0;
            let marks: Vec<String> = tgts
                .iter()
                .filter(|t| t.scenario == scenario && t.client == client)
                .map(|t| match ratio(results, scenario, client, t.metric) {
                    Some(v) if met(t.metric, v, t.bound) => format!("ok({})", short(t)),
                    Some(_) => format!("MISS({})", short(t)),
                    None => format!("n/a({})", short(t)),
                })
                .collect();
            let _ = writeln!(
                out,
                "  {:<14} {:>9.0} {:>6} {:>10.2} {:>6} {:>6} {:>4} {:>7.1} {:>6} {:>5} {:>4} {:>5.2}  {}",
                client.name(),
                throughput(scenario, wall),
                fmt_ratio(thr_ratio),
                cpu_per_unit(scenario, cpu),
                fmt_ratio(cpu_ratio),
                format!("+{:.0}%", spread * 100.0),
                cpu.sys_share()
                    .map_or("-".into(), |s| format!("{:.0}%", s * 100.0)),
                outcome.peak_rss_kib().unwrap_or(0) as f64 / 1024.0,
                fmt_ratio(mem_ratio),
                cpu.connections,
                format!("{:.0}%", wall.server_load() * 100.0),
                cpu.other_load(),
                marks.join(" "),
            );
            if !outcome.errors.is_empty() {
                let _ = writeln!(
                    out,
                    "  {:<14} ({} of {} runs failed: {})",
                    "",
                    outcome.errors.len(),
                    outcome.errors.len() + outcome.samples.len(),
                    outcome.errors[0]
                );
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "targets");
    let (mut hit, mut total) = (0, 0);
    for t in &tgts {
        if !plan.clients.contains(&t.client) {
            continue;
        }
        let value = ratio(results, t.scenario, t.client, t.metric);
        let mark = match value {
            Some(v) if met(t.metric, v, t.bound) => "met ",
            Some(_) => "MISS",
            None => "n/a ",
        };
        total += 1;
        hit += usize::from(mark == "met ");
        let _ = writeln!(
            out,
            "  [{mark}] {:<17} {:<14} {:<30} measured {}",
            t.scenario.name(),
            t.client.name(),
            describe(t.metric, t.bound),
            value.map_or("-".into(), |v| format!("{v:.2}x")),
        );
    }
    let _ = writeln!(out, "  {hit} of {total} targets met");
    let _ = writeln!(
        out,
        "  (the issue's reference points: per small request hyper and ureq use 1.3x the bare loop's CPU,
   reqwest 1.45x; with 64 in flight reqwest reaches 0.69x hyper; downloads: peers 1.2x-1.9x)"
    );
    out
}

fn short(t: &Target) -> String {
    match t.metric {
        Metric::CpuVsBare => format!("cpu<={:.1}", t.bound),
        Metric::ThroughputVs(_) => format!("thr>={:.1}", t.bound),
        Metric::MemoryVs(_) => format!("rss<={:.1}", t.bound),
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let n = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {n} CPUs, Linux {}", kernel.trim())
}

fn json(plan: &Plan, results: &Results) -> serde_json::Value {
    let runs: Vec<_> = results
        .iter()
        .map(|((scenario, client), outcome)| {
            let samples: Vec<_> = outcome
                .samples
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "wall_ns": s.wall.as_nanos() as u64,
                        "cpu_ns": s.cpu.as_nanos() as u64,
                        "server_cpu_ns": s.server_cpu.as_nanos() as u64,
                        "user_ticks": s.user_ticks,
                        "sys_ticks": s.sys_ticks,
                        "requests": s.requests,
                        "bytes": s.bytes,
                        "peak_rss_kib": s.peak_rss_kib,
                        "rss_file_kib": s.rss_file_kib,
                        "connections": s.connections,
                        "other_cpu_ns": s.other_cpu.as_nanos() as u64,
                    })
                })
                .collect();
            serde_json::json!({
                "scenario": scenario.name(),
                "client": client.name(),
                "samples": samples,
                "errors": outcome.errors,
            })
        })
        .collect();
    let targets: Vec<_> = targets(&plan.scenarios)
        .iter()
        .filter(|t| plan.clients.contains(&t.client))
        .map(|t| {
            let value = ratio(results, t.scenario, t.client, t.metric);
            serde_json::json!({
                "scenario": t.scenario.name(),
                "client": t.client.name(),
                "target": describe(t.metric, t.bound),
                "ratio": value,
                "met": value.map(|v| met(t.metric, v, t.bound)),
            })
        })
        .collect();
    serde_json::json!({
        "machine": machine(),
        "repeat": plan.repeat,
        "transfer_bytes": plan.sizes.bytes,
        "runs": runs,
        "targets": targets,
    })
}
