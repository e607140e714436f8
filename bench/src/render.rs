//! The report: one table per scenario, the targets, and the same as JSON.

use std::fmt::Write as _;
use std::time::Duration;

use crate::report::{Outcome, Plan, Results};
use crate::scenario::{ClientKind, Scenario};
use crate::targets::{
    Metric, Target, cpu_per_unit, describe, memory_peer, met, peer, ratio, short, targets,
    throughput,
};

/// The whole text report.
pub fn render(
    plan: &Plan,
    results: &Results,
    client_cpu: Option<usize>,
    server_cpu: Option<usize>,
    elapsed: Duration,
) -> String {
    let mut out = String::new();
    let cpu = |c: Option<usize>| c.map_or("-".into(), |c| c.to_string());
    let _ = writeln!(out, "duet-bench report");
    let _ = writeln!(out, "=================");
    let _ = writeln!(out, "machine:  {}", machine());
    let _ = writeln!(
        out,
        "pinning:  client on CPU {}, server on CPU {} (one epoll thread)",
        cpu(client_cpu),
        cpu(server_cpu),
    );
    let _ = writeln!(
        out,
        "runs:     best of {} processes per client and scenario ({} transfers each); {} MiB per transfer; took {:.0} s",
        plan.repeat,
        plan.sizes.transfers(),
        plan.sizes.bytes >> 20,
        elapsed.as_secs_f64()
    );
    out.push_str(COLUMNS);
    let tgts = targets(&plan.scenarios);
    for &scenario in &plan.scenarios {
        scenario_table(&mut out, plan, results, &tgts, scenario);
    }
    targets_list(&mut out, plan, results, &tgts);
    out
}

const COLUMNS: &str = "\
columns:  thr = req/s or MiB/s (best run); xpeer = over ureq's (blocking) or hyper's (async)
          CPU = client process CPU (user+sys) per request or per MiB (best run); xbare = over the bare loop's
          spread = worst counted run's CPU over the best's; sys = kernel share of client CPU (ticks, rough)
          RSS = peak resident memory of the client process (worst run); xpeer = over ureq's / reqwest's
          conns = connections the server accepted in the best run; srv = server CPU busy share
          other = CPU used by everything else on the machine during the best run, in CPUs (noise):
                  runs above 0.25 are repeated and do not count unless no quiet run exists (then marked !)
";

/// One scenario's table: a row per client.
fn scenario_table(
    out: &mut String,
    plan: &Plan,
    results: &Results,
    tgts: &[Target],
    scenario: Scenario,
) {
    let (requests, _) = plan.sizes.requests(scenario);
    let (what, thr_unit, cpu_unit) = if scenario.is_transfer() {
        (
            format!("{} MiB", plan.sizes.bytes >> 20),
            "MiB/s",
            "CPU ms/MiB",
        )
    } else {
        (format!("{requests} requests"), "req/s", "CPU us/req")
    };
    let _ = writeln!(out);
    let _ = writeln!(out, "{}: {} ({what})", scenario.name(), scenario.title());
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
        if let Some(outcome) = results.get(&(scenario, client)) {
            client_row(out, results, tgts, scenario, client, outcome);
        }
    }
}

/// One client's row (or its failure).
fn client_row(
    out: &mut String,
    results: &Results,
    tgts: &[Target],
    scenario: Scenario,
    client: ClientKind,
    outcome: &Outcome,
) {
    let (Some(wall), Some(cpu)) = (outcome.best_wall(), outcome.best_cpu()) else {
        let error = outcome.errors.first().map_or("no result", String::as_str);
        let _ = writeln!(out, "  {:<14} FAILED: {error}", client.name());
        return;
    };
    let fmt_ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}x"));
    let ratio_vs = |metric| ratio(results, scenario, client, metric);
    let thr_ratio = peer(client).and_then(|p| ratio_vs(Metric::ThroughputVs(p)));
    let mem_ratio = memory_peer(client).and_then(|p| ratio_vs(Metric::MemoryVs(p)));
    let spread = outcome.cpu_spread();
    let noisy = if outcome.all_noisy() { "!" } else { " " };
    let marks: Vec<String> = tgts
        .iter()
        .filter(|t| t.scenario == scenario && t.client == client)
        .map(|t| match ratio_vs(t.metric) {
            Some(v) if met(t.metric, v, t.bound) => format!("ok({})", short(t)),
            Some(_) => format!("MISS({})", short(t)),
            None => format!("n/a({})", short(t)),
        })
        .collect();
    let _ = writeln!(
        out,
        "  {:<14} {:>9.0} {:>6} {:>10.2} {:>6} {:>6} {:>4} {:>7.1} {:>6} {:>5} {:>4} {:>5.2}{noisy} {}",
        client.name(),
        throughput(scenario, wall),
        fmt_ratio(thr_ratio),
        cpu_per_unit(scenario, cpu),
        fmt_ratio(ratio_vs(Metric::CpuVsBare)),
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
    if let Some(first) = outcome.errors.first() {
        let _ = writeln!(
            out,
            "  {:<14} ({} of {} runs failed: {first})",
            "",
            outcome.errors.len(),
            outcome.errors.len() + outcome.samples.len(),
        );
    }
}

/// Every target, met or missed.
fn targets_list(out: &mut String, plan: &Plan, results: &Results, tgts: &[Target]) {
    let _ = writeln!(out);
    let _ = writeln!(out, "targets");
    let (mut hit, mut total) = (0, 0);
    for t in tgts.iter().filter(|t| plan.clients.contains(&t.client)) {
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
            "  [{mark}] {:<17} {:<14} {:<30} measured {}{}",
            t.scenario.name(),
            t.client.name(),
            describe(t.metric, t.bound),
            value.map_or("-".into(), |v| format!("{v:.2}x")),
            runtime_part(results, t)
                .or_else(|| memory_parts(results, t))
                .unwrap_or_default(),
        );
    }
    let _ = writeln!(out, "  {hit} of {total} targets met");
    out.push_str(
        "  (the issue's reference points: per small request hyper and ureq use 1.3x the bare loop's CPU,
   reqwest 1.45x; with 64 in flight reqwest reaches 0.69x hyper; downloads: peers 1.2x-1.9x)\n",
    );
}

/// For an async client's CPU target: how much of the bare loop's CPU the floor on tokio
/// itself uses, and the client's CPU over that floor's.
fn runtime_part(results: &Results, t: &Target) -> Option<String> {
    if t.client != ClientKind::DuetAsync || !matches!(t.metric, Metric::CpuVsBare) {
        return None;
    }
    let floor = ratio(
        results,
        t.scenario,
        ClientKind::BareTokio,
        Metric::CpuVsBare,
    );
    let ours = ratio(results, t.scenario, t.client, Metric::CpuVsBare);
    Some(format!(
        " (bare-tokio {:.2}x; duet-async over it {:.2}x)",
        floor?,
        ours? / floor?
    ))
}

/// For a memory target, each side's peak in two parts, as ratios to the peer's: the pages
/// mapped from files (code and read-only data of the bench binary, which every client shares,
/// and of the C library) and the rest (anonymous memory: heap, stacks, buffers).
fn memory_parts(results: &Results, t: &Target) -> Option<String> {
    let Metric::MemoryVs(peer) = t.metric else {
        return None;
    };
    let parts = |client| {
        let s = results.get(&(t.scenario, client))?.peak_rss_sample()?;
        let file = s.rss_file_kib.min(s.peak_rss_kib);
        Some((file as f64, (s.peak_rss_kib - file) as f64))
    };
    let ((our_file, our_rest), (their_file, their_rest)) = (parts(t.client)?, parts(peer)?);
    Some(format!(
        " (mapped from files {:.2}x, anonymous {:.2}x)",
        our_file / their_file,
        our_rest / their_rest
    ))
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    // Counted from /proc/cpuinfo: this process is pinned, so its own parallelism is 1.
    let n = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    format!("{model}, {n} CPUs, Linux {}", kernel.trim())
}

pub fn json(plan: &Plan, results: &Results) -> serde_json::Value {
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
