//! # duet-bench
//!
//! Measures duet's two clients beside their peers against one local server, in one run:
//! duet-blocking beside ureq, duet-async beside reqwest and hyper, and a bare-socket loop
//! (a fixed request, httparse) as the floor. It prints a report of ratios; it asserts
//! nothing. See `bench/README.md`.
//!
//! Process layout, so that every number is clean:
//! 1. `duet-bench` (the orchestrator) starts `duet-bench --serve`, pinned to the second CPU.
//! 2. For each scenario, repeat and client it starts `duet-bench --client C --scenario S`,
//!    pinned to the first CPU, which warms up, measures its own CPU time, wall time and
//!    peak memory, prints one result line and exits.
//! 3. The orchestrator keeps the best of the repeats and prints the tables.

#![forbid(unsafe_code)]

mod clients;
mod instructions;
mod measure;
mod render;
mod report;
mod scenario;
mod server;
mod targets;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};

use clap::Parser;

use crate::scenario::{ClientKind, Job, Scenario};

/// Benchmarks duet's clients beside ureq, reqwest, hyper and a bare-socket floor, and prints
/// the ratios.
#[derive(Parser, Debug)]
#[command(name = "duet-bench", version)]
struct Args {
    /// A short smoke run: few requests, 16 MiB transfers, one repeat.
    #[arg(long)]
    quick: bool,
    /// Only these scenarios (comma-separated): sequential, new-connection, in-flight-64,
    /// download-length, download-chunked, upload.
    #[arg(long, value_delimiter = ',')]
    only: Vec<Scenario>,
    /// Only these clients (comma-separated): bare, duet-blocking, ureq, bare-tokio,
    /// duet-async, reqwest, hyper. Ratios need bare, ureq, hyper and reqwest in the run.
    #[arg(long, value_delimiter = ',')]
    clients: Vec<ClientKind>,
    /// Runs of each client in each scenario; the best is kept.
    #[arg(long)]
    repeat: Option<usize>,
    /// Small requests per run (overrides the default for the scenario).
    #[arg(long)]
    requests: Option<u64>,
    /// MiB per transfer.
    #[arg(long)]
    mib: Option<u64>,
    /// Transfers measured in each client process (each one a sample).
    #[arg(long)]
    transfers: Option<u32>,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Instead of timing, count the user-space instructions per small request of each client
    /// under valgrind's callgrind (sequential and new-connection; needs valgrind): a number
    /// that does not move with the machine's noise.
    #[arg(long)]
    instructions: bool,

    /// Only serve (on 127.0.0.1, port 0 unless `--server` gives the address): prints
    /// `LISTENING <addr>` and runs until killed.
    #[arg(long)]
    serve: bool,
    /// Run one client in one scenario in this process and print its result line (for
    /// profiling: starts its own server unless `--server` is given).
    #[arg(long, requires = "scenario")]
    client: Option<ClientKind>,
    /// The scenario for `--client`.
    #[arg(long, requires = "client")]
    scenario: Option<Scenario>,
    /// The server for `--client` (one started with `--serve`).
    #[arg(long)]
    server: Option<SocketAddr>,
    /// Internal: the server's process id (its CPU time is recorded beside the client's).
    #[arg(long, hide = true)]
    server_pid: Option<u32>,
    /// Internal: warm-up requests for `--client`.
    #[arg(long, hide = true)]
    warmup: Option<u64>,
    /// Pin this process to this CPU.
    #[arg(long)]
    cpu: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(cpu) = args.cpu
        && let Err(e) = measure::pin_to(cpu)
    {
        eprintln!("duet-bench: cannot pin to CPU {cpu}: {e}");
    }
    let result = if args.serve {
        let addr = args
            .server
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        server::serve(addr).map_err(Into::into)
    } else if let (Some(client), Some(scenario)) = (args.client, args.scenario) {
        run_one(&args, client, scenario)
    } else if args.instructions {
        let clients = match args.clients.is_empty() {
            true => ClientKind::ALL.to_vec(),
            false => args.clients.clone(),
        };
        let scenarios = match args.only.is_empty() {
            true => vec![Scenario::Sequential, Scenario::NewConnection],
            false => args.only.clone(),
        };
        instructions::run(&clients, &scenarios)
    } else {
        report::run(&report::Plan::from_args(&args))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("duet-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--client C --scenario S`: one measured run in this process.
fn run_one(args: &Args, client: ClientKind, scenario: Scenario) -> Result<(), scenario::BoxError> {
    let sizes = report::Sizes::new(args.quick, args.requests, args.mib);
    let mut own_server = None;
    let (server, server_pid) = match args.server {
        Some(addr) => (addr, args.server_pid),
        None => {
            let (client_cpu, server_cpu) = report::cpus();
            if let (None, Some(cpu)) = (args.cpu, client_cpu) {
                measure::pin_to(cpu)?;
            }
            let server = Server::start(server_cpu)?;
            let found = (server.addr, Some(server.child.id()));
            own_server = Some(server);
            found
        }
    };
    let _ = measure::SERVER.set((server, server_pid));
    let (requests, warmup) = sizes.requests(scenario);
    let job = Job {
        client,
        scenario,
        server,
        requests,
        bytes: sizes.bytes,
        warmup: args.warmup.unwrap_or(warmup),
        transfers: args.transfers.unwrap_or(sizes.transfers()),
    };
    let samples = clients::run(&job);
    drop(own_server);
    for sample in samples? {
        println!("{sample}");
    }
    Ok(())
}

/// The server process, killed when dropped.
pub(crate) struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `duet-bench --serve` (pinned to `cpu`) and waits for its address.
    pub(crate) fn start(cpu: Option<usize>) -> Result<Server, scenario::BoxError> {
        let mut command = Command::new(std::env::current_exe()?);
        command.arg("--serve").stdout(Stdio::piped());
        if let Some(cpu) = cpu {
            command.args(["--cpu", &cpu.to_string()]);
        }
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("no server stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => Ok(Server { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("the server did not start: {line:?}").into())
            }
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
