//! The orchestrator: runs every client in every scenario in its own process, keeps the best
//! of the repeats, and prints one table per scenario with ratios and the targets.

use std::collections::BTreeMap;
use std::io::IsTerminal;
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
        if self.quick { 1 } else { 5 }
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
    pub scenarios: Vec<Scenario>,
    pub clients: Vec<ClientKind>,
    pub repeat: usize,
    pub sizes: Sizes,
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
            repeat: args.repeat.unwrap_or(if args.quick { 1 } else { 8 }).max(1),
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
pub struct Outcome {
    pub samples: Vec<Sample>,
    pub errors: Vec<String>,
}

/// Runs during which the rest of the machine used more than this share of a CPU are noisy:
/// they are repeated (up to [`RETRIES`] times) and count only when no quiet run exists.
pub const NOISY: f64 = 0.25;
/// Extra attempts for a run that came out noisy.
const RETRIES: usize = 2;

impl Outcome {
    /// The samples that count: the quiet ones, or all when none was quiet.
    fn counted(&self) -> impl Iterator<Item = &Sample> {
        let any_quiet = self.samples.iter().any(|s| !s.is_noisy());
        self.samples
            .iter()
            .filter(move |s| !any_quiet || !s.is_noisy())
    }

    pub fn best_cpu(&self) -> Option<&Sample> {
        self.counted().min_by_key(|s| s.cpu)
    }

    pub fn best_wall(&self) -> Option<&Sample> {
        self.counted().min_by_key(|s| s.wall)
    }

    /// The spread of the counted CPU times: worst over best.
    pub fn cpu_spread(&self) -> f64 {
        let (min, max) = self.counted().fold((f64::MAX, 0f64), |(lo, hi), s| {
            let cpu = s.cpu.as_secs_f64();
            (lo.min(cpu), hi.max(cpu))
        });
        if max > 0.0 { max / min - 1.0 } else { 0.0 }
    }

    /// Whether every sample was taken while the machine was busy with something else.
    pub fn all_noisy(&self) -> bool {
        !self.samples.is_empty() && self.samples.iter().all(Sample::is_noisy)
    }

    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.peak_rss_sample().map(|s| s.peak_rss_kib)
    }

    /// The run with the highest peak RSS (the worst), whose peak the memory targets use.
    pub fn peak_rss_sample(&self) -> Option<&Sample> {
        self.samples.iter().max_by_key(|s| s.peak_rss_kib)
    }
}

pub type Results = BTreeMap<(Scenario, ClientKind), Outcome>;

pub fn run(plan: &Plan) -> Result<(), BoxError> {
    let (client_cpu, server_cpu) = cpus();
    if client_cpu.is_none() {
        eprintln!("duet-bench: fewer than 2 CPUs available; client and server are not pinned");
    }
    let server = Server::start(server_cpu)?;
    // The orchestrator only waits; keep even that off the client's CPU.
    if let Some(cpu) = server_cpu {
        let _ = crate::measure::pin_to(cpu);
    }
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
                for _ in 0..=RETRIES {
                    match run_child(plan, &server, client_cpu, client, scenario) {
                        Ok(samples) => {
                            let noisy = samples.iter().all(Sample::is_noisy);
                            outcome.samples.extend(samples);
                            if !noisy {
                                break;
                            }
                        }
                        Err(e) => {
                            outcome.errors.push(e.to_string());
                            break;
                        }
                    }
                }
            }
        }
    }
    if progress {
        eprint!("\r{:<60}\r", "");
    }
    drop(server);
    let text = crate::render::render(plan, &results, client_cpu, server_cpu, started.elapsed());
    print!("{text}");
    if let Some(path) = &plan.json {
        std::fs::write(path, crate::render::json(plan, &results).to_string())?;
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
    let child = command.spawn()?;
    // Wait without polling (a polling parent would wake up beside the client); a watchdog
    // kills the child if it overruns.
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = match finished.recv_timeout(plan.timeout) {
        Ok(output) => output?,
        Err(_) => {
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            let _ = finished.recv();
            return Err(format!("timed out after {:?}", plan.timeout).into());
        }
    };
    let status = output.status;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
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
