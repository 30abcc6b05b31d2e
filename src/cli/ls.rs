//! `isotop ls`: the containers of every runtime, one row each, with CPU% from two samples.
//!
//! Every figure is the container's measurement (`host::container::measure`, via `host::scan`),
//! the one the dashboard shows. CPU% is the container's CPU time used between two reads of its
//! counter (`measure::read_cpu_counter`) `--interval` seconds apart, as a share of one CPU
//! (200% = two CPUs busy), computed by `sample::rates::container_cpu_percent`: the counter of
//! a cgroup that is its own (on a hybrid host possibly its unified cgroup's, when its v1
//! `cpuacct` cgroup is shared), else its processes' `stat` times (so a container that shares
//! the host's cgroup is not charged the host's usage). Limits of a cgroup it shares are shown
//! marked as inherited (`max (host)`), never as its own.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::format::{bytes, duration};
use super::{CliError, LsArgs, ShortIds, print_json, print_text, table::Table};
use crate::host::HostRoot;
use crate::host::cgroup::Limit;
use crate::host::container::claim::UNVERIFIED_MARK;
use crate::host::container::measure::{ContainerState, Figures, InheritedLimits, read_cpu_counter};
use crate::host::process::{self, Process};
use crate::host::scan::{ContainerView, ScanOptions, scan};
use crate::sample::rates::container_cpu_percent;
use crate::units::bound_text;

/// One row of `isotop ls --json` (schema documented in the README).
#[derive(Debug, Serialize)]
pub(crate) struct ContainerRow {
    pub id: String,
    pub name: String,
    pub runtime: String,
    pub image: Option<String>,
    pub pid: Option<i32>,
    /// Share of one CPU over the interval, percent; null without a second sample.
    pub cpu_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    /// Its own cgroup's limit: "max", a number of bytes, or null when unknown or when the
    /// only limit is a shared cgroup's (then in `inherited_limits`).
    pub memory_limit_bytes: Option<Limit<u64>>,
    /// "max", CPUs as a decimal number (quota / period), or null when unknown.
    pub cpu_limit_cpus: Option<Limit<f64>>,
    pub pids: usize,
    pub pids_limit: Option<Limit<u64>>,
    /// Limits of cgroups it shares with other processes (not its own), each with the shared
    /// cgroup's path.
    pub inherited_limits: InheritedLimits,
    pub state: ContainerState,
    pub uptime_seconds: Option<f64>,
    pub cgroup_path: Option<String>,
    /// False when a file another user can write names it and the claim did not check out.
    pub verified: bool,
    pub unverified_reason: Option<String>,
    /// The user whose own (rootless) files name it; null for root's.
    pub claimed_by_uid: Option<u32>,
}

pub(crate) fn run(root: &HostRoot, args: &LsArgs) -> Result<(), CliError> {
    if !(args.interval.is_finite() && (0.0..=60.0).contains(&args.interval)) {
        return Err(CliError::Usage(format!(
            "--interval {} is out of range: give seconds between 0 and 60",
            args.interval
        )));
    }
    let options = ScanOptions {
        namespaces: false,
        stopped: args.all,
    };
    let first = scan(root, options)?;
    let start = Instant::now();
    let layout = first.layout.as_ref();
    let before: Vec<_> = first
        .containers
        .iter()
        .map(|c| read_cpu_counter(root, layout, c))
        .collect();
    let mut rows: Vec<ContainerRow> = first
        .containers
        .iter()
        .map(|c| row(c, &first.processes))
        .collect();
    if args.interval > 0.0 && !first.containers.is_empty() {
        std::thread::sleep(Duration::from_secs_f64(args.interval));
        let elapsed_usec = start.elapsed().as_micros() as u64;
        let ticks_per_second = process::clock_ticks_per_second();
        for ((view, row), before) in first.containers.iter().zip(rows.iter_mut()).zip(before) {
            if let (Some(a), Some(b)) = (before, read_cpu_counter(root, layout, view)) {
                // A counter reset (cgroup recreated) is not a negative rate: no figure.
                row.cpu_percent = container_cpu_percent(&a, &b, ticks_per_second, elapsed_usec);
            }
        }
    }
    for warning in &first.warnings {
        super::warn(warning);
    }
    if args.json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        return print_text("no containers found\n");
    }
    let mut table = Table::new(&[
        "ID",
        "NAME",
        "RUNTIME",
        ">PID",
        ">CPU%",
        ">MEM / LIMIT",
        ">CPU LIMIT",
        ">PIDS",
        "STATE",
        ">UPTIME",
    ]);
    // Short ids told apart from each other (and cleaned), running and stopped alike.
    let shown = ShortIds::new(rows.iter().map(|r| r.id.as_str()));
    for r in &rows {
        table.push(vec![
            shown.get(&r.id),
            if r.verified {
                r.name.clone()
            } else {
                format!("{UNVERIFIED_MARK}{}", r.name)
            },
            r.runtime.clone(),
            r.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            r.cpu_percent
                .map(|c| format!("{c:.1}"))
                .unwrap_or_else(|| "-".into()),
            format!(
                "{} / {}",
                r.memory_bytes.map(bytes).unwrap_or_else(|| "-".into()),
                bound_text(
                    r.memory_limit_bytes,
                    r.inherited_limits.memory_max_bytes.as_ref(),
                    bytes
                )
            ),
            bound_text(
                r.cpu_limit_cpus,
                r.inherited_limits.cpu_cpus.as_ref(),
                |c| format!("{c:.2}"),
            ),
            match (&r.pids_limit, &r.inherited_limits.pids_max) {
                (Some(Limit::Value(max)), _) => format!("{}/{max}", r.pids),
                (None, Some(shared)) if !shared.limit.is_max() => {
                    format!("{}/{shared}", r.pids)
                }
                _ => r.pids.to_string(),
            },
            r.state.to_string(),
            r.uptime_seconds.map(duration).unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut text = table.render();
    if rows.iter().any(|r| !r.verified) {
        text.push_str(&format!(
            "{UNVERIFIED_MARK} unverified: a state file another user can write names it and \
             the claim does not check out; `isotop inspect ID` says why, acts refuse it\n"
        ));
    }
    print_text(&text)
}

/// The row of `view`, its figures derived by `measure::Figures` from the scan's processes.
pub(crate) fn row(view: &ContainerView, processes: &[Process]) -> ContainerRow {
    let c = &view.container;
    let figures = Figures::of(view, processes);
    ContainerRow {
        id: c.id.clone(),
        name: c.name.clone(),
        runtime: c.runtime.to_string(),
        image: c.image.clone(),
        pid: c.init_pid,
        cpu_percent: None,
        memory_bytes: figures.memory_bytes,
        memory_limit_bytes: figures.memory_limit_bytes,
        cpu_limit_cpus: figures.cpu_limit_cpus,
        pids: figures.pids,
        pids_limit: figures.pids_limit,
        inherited_limits: figures.inherited_limits,
        state: view.state,
        uptime_seconds: view.uptime_seconds,
        cgroup_path: c.cgroup_path.clone(),
        verified: c.trust.verified,
        unverified_reason: c.trust.unverified_reason.clone(),
        claimed_by_uid: c.trust.claimed_by_uid,
    }
}
