//! `--instructions`: the user-space instructions each client executes per small request,
//! counted by valgrind's callgrind. Unlike CPU time the count does not move with the
//! machine's noise, so a change to the request path shows up as a number that is the same on
//! every run (the async clients vary by a percent or two: how often a task polls depends on
//! timing). It leaves out what the kernel does, which is most of a small request's CPU time:
//! read it beside the CPU report, not instead of it.
//!
//! Each client runs each scenario twice under callgrind, with the same warm-up and 1,000 then
//! 2,000 measured requests; the difference over 1,000 is the cost of one request, with the
//! process's start-up and warm-up taken out.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use crate::scenario::{BoxError, ClientKind, Scenario};

/// Requests in the shorter of the two runs; the longer has twice as many.
const REQUESTS: u64 = 1_000;
/// Warm-up requests in both runs (the pool, the allocator and lazy statics settle).
const WARMUP: u64 = 100;

/// Counts and prints instructions per request for `clients` in `scenarios` (the small-request
/// ones; the others are skipped).
pub fn run(clients: &[ClientKind], scenarios: &[Scenario]) -> Result<(), BoxError> {
    let found = Command::new("valgrind").arg("--version").output();
    if !found.is_ok_and(|o| o.status.success()) {
        return Err("--instructions needs valgrind (apt install valgrind)".into());
    }
    let (_, server_cpu) = crate::report::cpus();
    let server = crate::Server::start(server_cpu)?;
    let dir = tempfile_dir()?;
    for &scenario in scenarios {
        if !matches!(scenario, Scenario::Sequential | Scenario::NewConnection) {
            eprintln!("--instructions: {scenario} skipped (small-request scenarios only)");
            continue;
        }
        println!("\n{scenario}: user-space instructions per request (callgrind)");
        println!(
            "  {:<15} {:>10} {:>7} {:>9}",
            "client", "instr/req", "xbare", "xruntime"
        );
        let mut counted: Vec<(ClientKind, u64)> = Vec::new();
        for &client in clients {
            let per_request = per_request(client, scenario, server.addr(), &dir)?;
            counted.push((client, per_request));
        }
        let of = |kind| counted.iter().find(|(c, _)| *c == kind).map(|(_, n)| *n);
        for &(client, n) in &counted {
            let ratio = |floor: Option<u64>| match floor {
                Some(floor) if floor > 0 => format!("{:.2}x", n as f64 / floor as f64),
                _ => "-".to_owned(),
            };
            // The async clients beside the same floor on tokio, so the runtime's share shows.
            let runtime = match client {
                ClientKind::DuetAsync | ClientKind::Reqwest | ClientKind::Hyper => {
                    ratio(of(ClientKind::BareTokio))
                }
                _ => "-".to_owned(),
            };
            println!(
                "  {:<15} {:>10} {:>7} {:>9}",
                client.name(),
                n,
                ratio(of(ClientKind::Bare)),
                runtime
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Instructions per request of `client` in `scenario`: the two runs' difference.
fn per_request(
    client: ClientKind,
    scenario: Scenario,
    server: SocketAddr,
    dir: &Path,
) -> Result<u64, BoxError> {
    let short = counted_run(client, scenario, server, REQUESTS, dir)?;
    let long = counted_run(client, scenario, server, 2 * REQUESTS, dir)?;
    Ok(long.saturating_sub(short) / REQUESTS)
}

/// Instructions of one run of `requests` requests (after the warm-up), start-up included.
fn counted_run(
    client: ClientKind,
    scenario: Scenario,
    server: SocketAddr,
    requests: u64,
    dir: &Path,
) -> Result<u64, BoxError> {
    let out = dir.join(format!("{client}.{scenario}.{requests}.out"));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(std::env::current_exe()?)
        .args([
            "--client",
            client.name(),
            "--scenario",
            &scenario.to_string(),
        ])
        .args(["--server", &server.to_string()])
        .args(["--requests", &requests.to_string()])
        .args(["--warmup", &WARMUP.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("{client} {scenario} under callgrind: {status}").into());
    }
    total_instructions(&std::fs::read_to_string(&out)?)
        .ok_or_else(|| format!("no instruction total in {}", out.display()).into())
}

/// The `summary:` (or `totals:`) line of a callgrind output file: instructions executed.
fn total_instructions(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// A fresh directory for callgrind's output files.
fn tempfile_dir() -> Result<std::path::PathBuf, BoxError> {
    let dir = std::env::temp_dir().join(format!("duet-bench-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_the_summary_line() {
        let text = "version: 1\ncreator: callgrind\nevents: Ir\nsummary: 31748021\n";
        assert_eq!(total_instructions(text), Some(31_748_021));
        assert_eq!(total_instructions("events: Ir\ntotals: 12 3\n"), Some(12));
        assert_eq!(total_instructions("events: Ir\n"), None);
    }
}
