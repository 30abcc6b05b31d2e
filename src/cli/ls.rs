//! `isotop ls`: the containers of every runtime, one row each, with CPU% from two samples.
//!
//! Every figure is the container's measurement (`host::container::measure`, via `host::scan`),
//! the one the dashboard shows. CPU% is the container's CPU time used between two reads of its
//! counter (`measure::reread`) `--interval` seconds apart, as a share of one CPU
//! (200% = two CPUs busy), computed by `sample::rates::container_cpu_percent`: the counter of
//! a cgroup that is its own (on a hybrid host possibly its unified cgroup's, when its v1
//! `cpuacct` cgroup is shared), else its processes' `stat` times (so a container that shares
//! the host's cgroup is not charged the host's usage). Limits of a cgroup it shares are shown
//! marked as inherited (`max (host)`), never as its own.
//! The throttled share of periods is computed between the same two reads
//! (`sample::rates::throttled_percent` of its kernel figures, `measure::reread`);
//! `--wide` shows it with the pressure, OOM kill and refused-fork figures every row carries
//! in `--json`. `--size` adds the RW SIZE column (`writable_size` in `--json`): each running
//! container's writable layer sized by one sizer while the interval runs ([`writable`]);
//! without it nothing is walked and `writable_size` is null.
//! Block I/O and network figures ([`traffic`]): the own cgroup's I/O counters and limits, the
//! container's own network namespace's traffic (the same for the containers of one pod), their
//! totals and their rates over the same interval; `--wide` shows the rates.
//! What each container's runtime recorded of its life ([`life`]: restarts, health, last exit,
//! start and finish) is in every `--json` row; `--wide` shows RESTARTS and HEALTH after STATE.
//! With `--at`/`--from` the rows are a recorded frame's, made by the same [`row_of`]
//! ([`recorded`]).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::format::{bytes, duration};
use super::recorded::RecordedFrame;
use super::{CliError, LsArgs, ShortIds, print_json, print_text, table::Table};
use crate::host::HostRoot;
use crate::host::cgroup::Limit;
use crate::host::container::Pod;
use crate::host::container::claim::UNVERIFIED_MARK;
use crate::host::container::measure::{
    ContainerState, Figures, InheritedLimits, KernelFigures, Reread, reread,
};
use crate::host::process::{self, Process};
use crate::host::scan::{ContainerView, ScanOptions, scan};
use crate::sample::pods::pod_label;
use crate::sample::rates::{Throttling, container_cpu_percent, throttled_percent};
use crate::units::bound_text;

use super::inspect::size::SizeFigures;

mod life;
mod recorded;
mod traffic;

pub(crate) use recorded::json_of_frame;
mod writable;

use life::Life;
use traffic::Traffic;

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
    /// Share of the CPU periods over the interval in which its quota ran out, percent; null
    /// without a second sample or without throttling counters.
    pub throttled_percent: Option<f64>,
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
    /// The Kubernetes or Podman pod it belongs to (`name`, `namespace`, `uid`), else null.
    pub pod: Option<Pod>,
    /// False when a file another user can write names it and the claim did not check out.
    pub verified: bool,
    pub unverified_reason: Option<String>,
    /// The user whose own (rootless) files name it; null for root's.
    pub claimed_by_uid: Option<u32>,
    /// Pressure (`some avg10`), throttling counters, OOM kills and refused forks in total,
    /// each null when its file is absent.
    #[serde(flatten)]
    pub kernel: KernelFigures,
    /// With `--size`, its writable layer's size (`allocated_bytes` is the RW SIZE column);
    /// null without `--size`, for a stopped container, a root that is not overlay, or a layer
    /// that could not be sized (a warning says why).
    pub writable_size: Option<SizeFigures>,
    /// Block I/O and network figures (see [`traffic`]).
    #[serde(flatten)]
    pub traffic: Traffic,
    /// Restarts, health, last exit, start and finish as its runtime recorded them ([`life`]).
    #[serde(flatten)]
    pub life: Life,
}

/// `--interval`'s default, seconds.
const DEFAULT_INTERVAL: f64 = 0.5;

pub(crate) fn run(root: &HostRoot, args: &LsArgs) -> Result<(), CliError> {
    if let Some(recorded) = RecordedFrame::open(root, &args.recorded)? {
        return recorded::run(&recorded, args);
    }
    let interval = args.interval.unwrap_or(DEFAULT_INTERVAL);
    if !(interval.is_finite() && (0.0..=60.0).contains(&interval)) {
        return Err(CliError::Usage(format!(
            "--interval {interval} is out of range: give seconds between 0 and 60"
        )));
    }
    let options = ScanOptions {
        namespaces: false,
        stopped: args.all,
    };
    let first = scan(root, options)?;
    let start = Instant::now();
    let layout = first.layout.as_ref();
    // Each container's own cgroups read once per end of the interval, for both rates.
    let before: Vec<Reread> = first
        .containers
        .iter()
        .map(|c| reread(root, layout, c))
        .collect();
    let net_before = traffic::read_net(root, &first.containers);
    let mut rows: Vec<ContainerRow> = first
        .containers
        .iter()
        .map(|c| row(c, &first.processes))
        .collect();
    for (row, life) in rows.iter_mut().zip(life::read(root, &first.containers)) {
        row.traffic.net(None, &net_before);
        row.life = life;
    }
    // The walks run on the sizer's thread while the interval passes.
    let sizing = args.size.then(|| writable::start(root, &first.containers));
    if interval > 0.0 && !first.containers.is_empty() {
        std::thread::sleep(Duration::from_secs_f64(interval));
        let elapsed_usec = start.elapsed().as_micros() as u64;
        let ticks_per_second = process::clock_ticks_per_second();
        let net_after = traffic::read_net(root, &first.containers);
        for ((view, row), before) in first.containers.iter().zip(rows.iter_mut()).zip(before) {
            let after = reread(root, layout, view);
            row.traffic
                .io_interval(before.io.as_ref(), after.io.as_ref(), elapsed_usec);
            row.traffic.net(Some(&net_before), &net_after);
            if let (Some(a), Some(b)) = (&before.cpu, &after.cpu) {
                // A counter reset (cgroup recreated) is not a negative rate: no figure.
                row.cpu_percent = container_cpu_percent(a, b, ticks_per_second, elapsed_usec);
            }
            let throttling = |r: &Reread| r.kernel.as_ref().and_then(Throttling::of_kernel);
            row.throttled_percent = throttled_percent(throttling(&before), throttling(&after));
        }
    }
    if let Some(sizing) = sizing {
        for (row, size) in rows.iter_mut().zip(sizing.finish()) {
            row.writable_size = size;
        }
    }
    for warning in &first.warnings {
        super::warn(warning);
    }
    if args.json {
        return print_json(&rows);
    }
    print_text(&render(&rows, args))
}

/// The table of `rows` (live or recorded alike), `--wide` and `--size` columns as `args` ask.
fn render(rows: &[ContainerRow], args: &LsArgs) -> String {
    if rows.is_empty() {
        return "no containers found\n".to_string();
    }
    // The POD column only when some container is in a pod (its label as the dashboard's pod
    // row shows it).
    let pods = rows.iter().any(|r| r.pod.is_some());
    let mut headers = vec!["ID", "NAME", "RUNTIME"];
    if pods {
        headers.push("POD");
    }
    headers.extend([
        ">PID",
        ">CPU%",
        ">MEM / LIMIT",
        ">CPU LIMIT",
        ">PIDS",
        "STATE",
    ]);
    if args.wide {
        headers.extend(life::WIDE_HEADER);
    }
    headers.push(">UPTIME");
    if args.size {
        headers.push(">RW SIZE");
    }
    if args.wide {
        headers.extend(traffic::WIDE_HEADER);
        headers.extend(WIDE_HEADER);
    }
    let mut table = Table::new(&headers);
    // Short ids told apart from each other (and cleaned), running and stopped alike.
    let shown = ShortIds::new(rows.iter().map(|r| r.id.as_str()));
    for r in rows {
        let mut cells = vec![
            shown.get(&r.id),
            if r.verified {
                r.name.clone()
            } else {
                format!("{UNVERIFIED_MARK}{}", r.name)
            },
            r.runtime.clone(),
        ];
        if pods {
            cells.push(r.pod.as_ref().map(pod_label).unwrap_or_else(|| "-".into()));
        }
        cells.extend([
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
        ]);
        if args.wide {
            cells.extend(life::wide_cells(&r.life));
        }
        cells.push(r.uptime_seconds.map(duration).unwrap_or_else(|| "-".into()));
        if args.size {
            cells.push(
                r.writable_size
                    .map(|s| bytes(s.allocated_bytes))
                    .unwrap_or_else(|| "-".into()),
            );
        }
        if args.wide {
            cells.extend(traffic::wide_cells(&r.traffic));
            cells.extend(wide_cells(r));
        }
        table.push(cells);
    }
    let mut text = table.render();
    if rows.iter().any(|r| !r.verified) {
        text.push_str(&format!(
            "{UNVERIFIED_MARK} unverified: a state file another user can write names it and \
             the claim does not check out; `isotop inspect ID` says why, acts refuse it\n"
        ));
    }
    text
}

/// The row of `view`, its figures derived by `measure::Figures` from the scan's processes.
pub(crate) fn row(view: &ContainerView, processes: &[Process]) -> ContainerRow {
    let figures = Figures::of(view, processes);
    let traffic = Traffic::of(view, &figures);
    row_of(view, Measured::live(figures), traffic, Life::default())
}

/// The measured figures a row shows: `measure::Figures` live, a recorded frame's
/// `ContainerSample` (the sampler's copy of the same `Figures`) in [`recorded`].
pub(crate) struct Measured {
    pub memory_bytes: Option<u64>,
    pub memory_limit_bytes: Option<Limit<u64>>,
    pub cpu_limit_cpus: Option<Limit<f64>>,
    pub pids: usize,
    pub pids_limit: Option<Limit<u64>>,
    pub inherited_limits: InheritedLimits,
    pub kernel: KernelFigures,
}

impl Measured {
    fn live(figures: Figures) -> Measured {
        Measured {
            memory_bytes: figures.memory_bytes,
            memory_limit_bytes: figures.memory_limit_bytes,
            cpu_limit_cpus: figures.cpu_limit_cpus,
            pids: figures.pids,
            pids_limit: figures.pids_limit,
            inherited_limits: figures.inherited_limits,
            kernel: figures.kernel,
        }
    }
}

/// The row of `view` with its figures, traffic and life; no CPU or throttling rate yet (the
/// caller's: over `ls`'s interval live, the frame's recorded).
pub(crate) fn row_of(
    view: &ContainerView,
    figures: Measured,
    traffic: Traffic,
    life: Life,
) -> ContainerRow {
    let c = &view.container;
    ContainerRow {
        id: c.id.clone(),
        name: c.name.clone(),
        runtime: c.runtime.to_string(),
        image: c.image.clone(),
        pid: c.init_pid,
        cpu_percent: None,
        throttled_percent: None,
        memory_bytes: figures.memory_bytes,
        memory_limit_bytes: figures.memory_limit_bytes,
        cpu_limit_cpus: figures.cpu_limit_cpus,
        pids: figures.pids,
        pids_limit: figures.pids_limit,
        inherited_limits: figures.inherited_limits,
        state: view.state,
        uptime_seconds: view.uptime_seconds,
        cgroup_path: c.cgroup_path.clone(),
        pod: c.pod.clone(),
        verified: c.trust.verified,
        unverified_reason: c.trust.unverified_reason.clone(),
        claimed_by_uid: c.trust.claimed_by_uid,
        traffic,
        kernel: figures.kernel,
        writable_size: None,
        life,
    }
}

/// The columns `--wide` adds (the dashboard's Containers view has the same).
const WIDE_HEADER: [&str; 6] = [
    ">THR%", ">PSI CPU", ">PSI MEM", ">PSI IO", ">OOM", ">REFUSED",
];

/// The `--wide` cells of a row: throttled share over the interval, pressure `some avg10`,
/// OOM kills and refused forks in total; `-` where the kernel has no figure.
fn wide_cells(r: &ContainerRow) -> [String; 6] {
    let count = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    // Percent like the CPU% column: one decimal, no sign.
    let share = |v: Option<f64>| v.map(|p| format!("{p:.1}")).unwrap_or_else(|| "-".into());
    let k = &r.kernel;
    [
        share(r.throttled_percent),
        share(k.cpu_pressure_percent),
        share(k.memory_pressure_percent),
        share(k.io_pressure_percent),
        count(k.oom_kills),
        count(k.pids_refused_forks),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::container::{Container, Runtime, Trust};

    /// `ls --json` carries the pod as an object, `null` outside one.
    #[test]
    fn json_row_has_the_pod_object() {
        let pod = Pod {
            name: "shop-5c7d9".into(),
            namespace: "store".into(),
            uid: Some("5f6e".into()),
        };
        let container = Container {
            id: "2b".repeat(32),
            name: "shop".into(),
            runtime: Runtime::Kubernetes,
            image: None,
            init_pid: Some(6010),
            pids: vec![6010],
            cgroups: std::sync::Arc::from([]),
            cgroup_path: None,
            namespaces: Default::default(),
            shared_with_host: Vec::new(),
            pod: Some(pod),
            labels: Default::default(),
            metadata: None,
            start_ticks: None,
            running: true,
            trust: Trust::root(),
        };
        let mut view = ContainerView {
            container: container.into(),
            state: ContainerState::Running,
            uptime_seconds: None,
            cgroup: None,
            ownership: std::sync::Arc::from([]),
            inherited_limits: Default::default(),
            sources: Default::default(),
        };
        let json = serde_json::to_value(row(&view, &[])).unwrap();
        assert_eq!(
            json["pod"],
            serde_json::json!({"name": "shop-5c7d9", "namespace": "store", "uid": "5f6e"})
        );
        std::sync::Arc::make_mut(&mut view.container).pod = None;
        let json = serde_json::to_value(row(&view, &[])).unwrap();
        assert_eq!(json["pod"], serde_json::Value::Null);
    }
}
