//! One phase (a target at a concurrency), and the printed table.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::client::{Target, WARM_UP, worker};

/// Clock ticks per second of `/proc/*/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// Targets for what Warden adds.
const ADDED_P50_MS: f64 = 0.3;
const ADDED_P99_MS: f64 = 1.0;
const SHARE_AT_1: f64 = 90.0;

/// utime + stime of a process (`self` or a pid), in clock ticks.
pub(crate) fn cpu_ticks(pid: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses: the state is
    // field 3, utime 14, stime 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unexpected /proc/*/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> anyhow::Result<u64> {
        Ok(fields.get(n - 3).context("short /proc/*/stat")?.parse()?)
    };
    Ok(field(14)? + field(15)?)
}

/// What one target did at one concurrency.
pub(crate) struct Phase {
    pub(crate) name: &'static str,
    pub(crate) concurrency: usize,
    pub(crate) throughput: f64,
    /// p50, p90, p99, p99.9, max.
    pub(crate) latency: [Duration; 5],
    pub(crate) errors: u64,
    /// This process's CPU time per call, warm-up included.
    pub(crate) cpu: Duration,
    /// The node server's CPU time per call, when it is the upstream.
    pub(crate) node_cpu: Option<Duration>,
}

fn per_call(ticks: u64, calls: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / TICKS_PER_SEC / calls.max(1) as f64)
}

/// Loads `target` with `concurrency` sessions for warm-up plus `secs`.
pub(crate) fn phase(
    client: &tokio::runtime::Runtime,
    name: &'static str,
    target: &Target,
    concurrency: usize,
    secs: u64,
    node: Option<u32>,
) -> anyhow::Result<Phase> {
    let node = node.map(|pid| pid.to_string());
    let node_ticks = || node.as_deref().map(cpu_ticks).transpose();
    let (cpu_before, node_before) = (cpu_ticks("self")?, node_ticks()?);
    let measure_from = Instant::now() + WARM_UP;
    let end = measure_from + Duration::from_secs(secs);
    let outcomes = client.block_on(async {
        let tasks: Vec<_> = (0..concurrency)
            .map(|w| tokio::spawn(worker(target.clone(), w, measure_from, end)))
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await??);
        }
        anyhow::Ok(outcomes)
    })?;
    let cpu = cpu_ticks("self")?.saturating_sub(cpu_before);
    let node_cpu = node_ticks()?
        .zip(node_before)
        .map(|(a, b)| a.saturating_sub(b));
    let all: u64 = outcomes.iter().map(|o| o.all).sum();
    let mut latencies: Vec<Duration> = outcomes
        .iter()
        .flat_map(|o| o.latencies.iter().copied())
        .collect();
    latencies.sort_unstable();
    for sample in outcomes.iter().flat_map(|o| &o.samples).take(5) {
        eprintln!("  {name} at {concurrency}: {sample}");
    }
    if latencies.is_empty() {
        bail!("{name} at concurrency {concurrency}: no call succeeded");
    }
    let at = |q: usize| latencies[(latencies.len() * q / 1000).min(latencies.len() - 1)];
    Ok(Phase {
        name,
        concurrency,
        throughput: latencies.len() as f64 / secs as f64,
        latency: [
            at(500),
            at(900),
            at(990),
            at(999),
            latencies[latencies.len() - 1],
        ],
        errors: outcomes.iter().map(|o| o.errors).sum(),
        cpu: per_call(cpu, all),
        node_cpu: node_cpu.map(|t| per_call(t, all)),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISS" }
}

pub(crate) fn print_report(phases: &[(Phase, Phase)], took: Duration) -> anyhow::Result<()> {
    let node = phases.iter().any(|(d, _)| d.node_cpu.is_some());
    println!();
    println!(
        "{:>4}  {:<7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>12}{} {:>6}",
        "conc",
        "path",
        "calls/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "CPU µs/call",
        if node { "  node µs/call" } else { "" },
        "errors"
    );
    for (direct, warden) in phases {
        for p in [direct, warden] {
            let node_cpu = p.node_cpu.map_or(String::new(), |d| {
                format!(" {:>14.1}", d.as_secs_f64() * 1e6)
            });
            println!(
                "{:>4}  {:<7} {:>7.0} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>12.1}{node_cpu} {:>6}",
                p.concurrency,
                p.name,
                p.throughput,
                ms(p.latency[0]),
                ms(p.latency[1]),
                ms(p.latency[2]),
                ms(p.latency[3]),
                ms(p.latency[4]),
                p.cpu.as_secs_f64() * 1e6,
                p.errors,
            );
        }
        let share = 100.0 * warden.throughput / direct.throughput;
        let added = |i: usize| ms(warden.latency[i]) - ms(direct.latency[i]);
        let share_target = if direct.concurrency == 1 {
            format!(" [≥ {SHARE_AT_1:.0} %: {}]", verdict(share >= SHARE_AT_1))
        } else {
            String::new()
        };
        println!(
            "      added by Warden: share of direct {share:.0} %{share_target}; p50 +{:.3} ms [≤ {ADDED_P50_MS}: {}]; \
             p99 +{:.3} ms [≤ {ADDED_P99_MS}: {}]; CPU +{:.1} µs/call",
            added(0),
            verdict(added(0) <= ADDED_P50_MS),
            added(2),
            verdict(added(2) <= ADDED_P99_MS),
            (warden.cpu.as_secs_f64() - direct.cpu.as_secs_f64()) * 1e6,
        );
    }
    println!(
        "added = percentile through Warden minus the same percentile direct; CPU: this process's utime+stime \
         (10 ms ticks) per call over warm-up and measurement{}",
        if node {
            "; node's CPU is its own process's, not included"
        } else {
            ""
        }
    );
    println!(
        "memory at the end: VmRSS {:.0} MiB (peak {:.0} MiB); {:.0} s in all",
        crate::common::proc_status_mib("VmRSS")?,
        crate::common::proc_status_mib("VmHWM")?,
        took.as_secs_f64()
    );
    Ok(())
}
