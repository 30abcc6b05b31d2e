//! What the container and cgroup parts of a sampler tick cost, apart from the rest: drives a
//! process table, the [`ContainerSampler`] and the [`CgroupSampler`] as `Sampler::tick` does
//! (regrouping every 10th tick, the tree every tick) and prints, per part, the median and the
//! mean of this thread's CPU time (ns from `/proc/thread-self/schedstat`, not wall time: the
//! machine is shared) over the ticks. bench/profiles/groups.md keeps its figures.
//!
//! Usage: `groups_cost [TICKS] [INTERVAL_SECONDS]` (default 30 ticks, 1 s apart).

use foldhash::HashMap;
use std::time::Duration;

use isotop::host::HostRoot;
use isotop::host::cgroup::detect_layout;
use isotop::host::container::measure::Clock;
use isotop::host::process::read_uptime_seconds;
use isotop::sample::ProcessTable;
use isotop::sample::cgroups::CgroupSampler;
use isotop::sample::containers::{ContainerSampler, TickContext};
use isotop::units::kernel::clock_ticks_per_second;

/// This thread's CPU time so far, ns (the first field of schedstat: time spent on a CPU).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn summary(name: &str, mut ns: Vec<u64>) {
    if ns.is_empty() {
        return;
    }
    ns.sort_unstable();
    let ms = |v: u64| v as f64 / 1e6;
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1e6;
    eprintln!(
        "{name:>10}: n {:3} median {:7.2} ms  mean {:7.2} ms  min {:7.2}  max {:7.2} (thread CPU)",
        ns.len(),
        ms(ns[ns.len() / 2]),
        mean,
        ms(ns[0]),
        ms(ns[ns.len() - 1])
    );
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let ticks: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(30);
    let interval: f64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1.0);
    let root = HostRoot::live();
    let layout = detect_layout(&root)?;
    let ticks_per_second = clock_ticks_per_second();
    let mut table = ProcessTable::new(300);
    let mut containers = ContainerSampler::default();
    let mut cgroups = CgroupSampler::default();
    let mut costs: HashMap<&str, Vec<u64>> = HashMap::default();
    let mut counts = (0, 0, 0);
    for tick in 0..ticks {
        let started = std::time::Instant::now();
        let mut warnings = Vec::new();
        let t = thread_cpu_ns();
        let refresh = table.refresh(&root, None, ticks_per_second)?;
        costs
            .entry("processes")
            .or_default()
            .push(thread_cpu_ns() - t);
        if tick % 10 == 0 {
            let t = thread_cpu_ns();
            containers.regroup(&root, &table);
            costs
                .entry("regroup")
                .or_default()
                .push(thread_cpu_ns() - t);
        }
        let cx = TickContext {
            root: &root,
            layout: Some(&layout),
            table: &table,
            clock: Clock {
                uptime_seconds: read_uptime_seconds(&root),
                ticks_per_second,
            },
        };
        let t = thread_cpu_ns();
        let samples = containers.sample(&cx, &mut warnings);
        costs.entry("sample").or_default().push(thread_cpu_ns() - t);
        // Which container owns a cgroup only labels the samples: no cost of its own.
        let owners = HashMap::default();
        let t = thread_cpu_ns();
        let processes = (refresh.denied == 0).then(|| table.processes().len());
        let n = cgroups
            .read(&root, &layout, &owners, processes, &mut warnings)
            .len();
        costs
            .entry("cgroups")
            .or_default()
            .push(thread_cpu_ns() - t);
        counts = (table.processes().len(), samples.len(), n);
        std::thread::sleep(Duration::from_secs_f64(interval).saturating_sub(started.elapsed()));
    }
    eprintln!(
        "{} processes, {} containers, {} cgroups, {ticks} ticks",
        counts.0, counts.1, counts.2
    );
    for name in ["processes", "regroup", "sample", "cgroups"] {
        summary(name, costs.remove(name).unwrap_or_default());
    }
    Ok(())
}
