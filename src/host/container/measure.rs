//! Measuring one container: the single place a container's figures are read and derived.
//!
//! Contract: [`measure`] takes a [`Container`] (from `find_containers`/`find_stopped`), the
//! processes read at the same moment (ascending pid) and the clock, and returns its
//! [`ContainerView`] (state, uptime, its own cgroup's reading) and its [`Figures`] (memory,
//! limits, process count, the CPU counter a rate is computed from, the kernel's trouble
//! figures: [`KernelFigures`]), each figure from the
//! container's own source or else the next-best own source, named in the figure's
//! [`FigureSource`] — or `None`. `host::scan` (hence `isotop inspect`), `isotop ls` and the
//! dashboard's sampler all measure through it, so a view and a subcommand cannot disagree.
//! [`read_cpu_counter`] re-reads only the CPU counter (what `ls` samples twice); rates between
//! two counters are computed in `sample::rates`. Never fails: an unreadable cgroup becomes a
//! warning line and no cgroup figures.

use serde::Serialize;

use super::Container;
use crate::host::HostRoot;
use crate::host::cgroup::{self, CgroupLayout, CgroupReading, FreezerState, Limit};
use crate::host::process::{Process, read_stat};

/// Pressure, throttling, OOM kills and refused forks: the kernel's trouble figures.
mod kernel;
/// Its unit tests, and the fake host `cli`'s agreement test builds on.
#[cfg(test)]
pub(crate) mod tests;

pub use kernel::{KernelFigures, read_kernel_figures};

/// What a container is doing, as `isotop ls --json` and the views show it (lowercase).
/// Variants are in alphabetical order: the derived order is the STATE column's sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    /// Its own cgroup's freezer says frozen (v1 `freezer.state`, v2 `cgroup.events`).
    Frozen,
    /// It has processes and its freezer (if any) is not frozen.
    Running,
    /// The runtime keeps it on disk with no process.
    Stopped,
    /// A claim of a running container that did not check out (see `host::container::claim`):
    /// not believed to be anything.
    Unverified,
}

impl ContainerState {
    /// The word shown and serialised: `running`, `frozen`, `stopped`, `unverified`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Frozen => "frozen",
            ContainerState::Running => "running",
            ContainerState::Stopped => "stopped",
            ContainerState::Unverified => "unverified",
        }
    }

    /// The state of `container` whose own cgroup reads `reading`.
    pub fn of(container: &Container, reading: Option<&CgroupReading>) -> ContainerState {
        let frozen = reading.and_then(|r| r.freezer) == Some(FreezerState::Frozen);
        if !container.running {
            ContainerState::Stopped
        } else if !container.trust.verified {
            ContainerState::Unverified
        } else if frozen {
            ContainerState::Frozen
        } else {
            ContainerState::Running
        }
    }
}

impl std::fmt::Display for ContainerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A container with what was read about it at one moment (the JSON of `inspect`).
#[derive(Debug, Clone, Serialize)]
pub struct ContainerView {
    #[serde(flatten)]
    pub container: Container,
    pub state: ContainerState,
    /// Seconds since the init process started.
    pub uptime_seconds: Option<f64>,
    /// Its own cgroup's reading (every field's kernel file in `sources`); `None` without a
    /// cgroup of its own (its parent's figures are not its own) or when unreadable.
    pub cgroup: Option<CgroupReading>,
}

/// Where a figure that is not a cgroup file came from (cgroup figures name their file in
/// [`CgroupReading::sources`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureSource {
    /// The container's own cgroup (the file is in the reading's `sources`).
    OwnCgroup,
    /// The sum over its processes' `/proc/<pid>/stat` (it has no cgroup of its own, or that
    /// cgroup lacks the counter).
    Processes,
}

/// CPU time of one process at one moment, keyed by its identity (pid + start time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessTicks {
    pub pid: i32,
    /// Start time after boot, clock ticks: with the pid, the process's identity.
    pub start_ticks: u64,
    /// utime + stime, clock ticks.
    pub cpu_ticks: u64,
}

/// The monotonic counter a container's CPU rate is computed from (see `sample::rates`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuCounter {
    /// Its own cgroup's usage (v2 `cpu.stat` `usage_usec`, v1 `cpuacct.usage`), µs.
    Cgroup { usage_usec: u64 },
    /// Each of its processes' CPU time, ascending pid.
    Processes(Vec<ProcessTicks>),
}

impl CpuCounter {
    /// The cgroup's counter when `reading` has one, else the processes'.
    fn of(reading: Option<&CgroupReading>, processes: Vec<ProcessTicks>) -> CpuCounter {
        match reading
            .and_then(|r| r.cpu.as_ref())
            .and_then(|c| c.usage_usec)
        {
            Some(usage_usec) => CpuCounter::Cgroup { usage_usec },
            None => CpuCounter::Processes(processes),
        }
    }

    pub fn source(&self) -> FigureSource {
        match self {
            CpuCounter::Cgroup { .. } => FigureSource::OwnCgroup,
            CpuCounter::Processes(_) => FigureSource::Processes,
        }
    }
}

/// The figures a container's row, bars and `ls` show, derived from its view and processes.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Own cgroup's memory usage, else the sum of its processes' resident sets (bytes);
    /// `None` for a container with neither (stopped).
    pub memory_bytes: Option<u64>,
    pub memory_source: Option<FigureSource>,
    pub memory_limit_bytes: Option<Limit<u64>>,
    /// quota / period, in CPUs.
    pub cpu_limit_cpus: Option<Limit<f64>>,
    pub pids_limit: Option<Limit<u64>>,
    /// Processes in the container.
    pub pids: usize,
    /// What a CPU rate is computed from (two of these, `sample::rates::container_cpu_percent`).
    pub cpu: CpuCounter,
    /// Pressure, throttling counters, OOM kills, refused forks (see [`KernelFigures`]).
    pub kernel: KernelFigures,
}

impl Figures {
    /// The figures of `view` given the processes read with it (ascending pid); pure.
    pub fn of(view: &ContainerView, processes: &[Process]) -> Figures {
        let c = &view.container;
        let reading = view.cgroup.as_ref();
        let limits = reading.map(|r| &r.limits);
        let own: Vec<&Process> = c
            .pids
            .iter()
            .filter_map(|pid| {
                let at = processes.binary_search_by_key(pid, |p| p.pid).ok()?;
                processes.get(at)
            })
            .collect();
        let (memory_bytes, memory_source) = match reading
            .and_then(|r| r.memory.as_ref())
            .and_then(|m| m.usage_bytes)
        {
            Some(usage) => (Some(usage), Some(FigureSource::OwnCgroup)),
            // Without a cgroup of its own, memory is the sum of its processes' resident sets.
            None if !c.pids.is_empty() => (
                Some(own.iter().map(|p| p.rss_bytes).sum()),
                Some(FigureSource::Processes),
            ),
            None => (None, None),
        };
        let ticks = own
            .iter()
            .map(|p| ProcessTicks {
                pid: p.pid,
                start_ticks: p.start_ticks,
                cpu_ticks: p.cpu_ticks,
            })
            .collect();
        Figures {
            memory_bytes,
            memory_source,
            memory_limit_bytes: limits.and_then(|l| l.memory_max_bytes),
            cpu_limit_cpus: limits.and_then(|l| l.cpu_limit_cpus()),
            pids_limit: limits.and_then(|l| l.pids_max),
            pids: c.pids.len(),
            cpu: CpuCounter::of(reading, ticks),
            kernel: KernelFigures::of(reading),
        }
    }
}

/// The moment a measurement is taken at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// Seconds since boot (`/proc/uptime`).
    pub uptime_seconds: Option<f64>,
    /// The unit of `stat` times (`CLK_TCK`, usually 100).
    pub ticks_per_second: u64,
}

/// One container measured.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub view: ContainerView,
    pub figures: Figures,
}

/// Measures `container`: reads its own cgroup (only a container with a cgroup of its own has
/// cgroup figures: one that shares the host's would otherwise be charged the whole host),
/// then derives state, uptime and [`Figures`]. `processes` were read at the same moment,
/// ascending pid. An unreadable cgroup is a line in `warnings`.
pub fn measure(
    root: &HostRoot,
    layout: Option<&CgroupLayout>,
    container: Container,
    processes: &[Process],
    clock: Clock,
    warnings: &mut Vec<String>,
) -> Measurement {
    let cgroup = match own_cgroup(root, layout, &container) {
        Ok(reading) => reading,
        Err(e) => {
            warnings.push(format!("container {}: {e}", container.id));
            None
        }
    };
    let uptime_seconds = match (clock.uptime_seconds, container.start_ticks) {
        (Some(now), Some(start)) if clock.ticks_per_second > 0 => {
            Some((now - start as f64 / clock.ticks_per_second as f64).max(0.0))
        }
        _ => None,
    };
    let view = ContainerView {
        state: ContainerState::of(&container, cgroup.as_ref()),
        container,
        uptime_seconds,
        cgroup,
    };
    let figures = Figures::of(&view, processes);
    Measurement { view, figures }
}

/// Re-reads only `container`'s CPU counter now, from the same sources [`measure`] uses: its
/// own cgroup's usage counter, else each of its processes' `stat`. `None` when neither can be
/// read (no cgroup counter and no process left).
pub fn read_cpu_counter(
    root: &HostRoot,
    layout: Option<&CgroupLayout>,
    container: &Container,
) -> Option<CpuCounter> {
    let reading = own_cgroup(root, layout, container).ok().flatten();
    if let counter @ CpuCounter::Cgroup { .. } = CpuCounter::of(reading.as_ref(), Vec::new()) {
        return Some(counter);
    }
    let mut buf = Vec::with_capacity(512);
    let ticks: Vec<ProcessTicks> = container
        .pids
        .iter()
        .filter_map(|pid| {
            let stat = read_stat(root, *pid, &mut buf).ok()??;
            Some(ProcessTicks {
                pid: *pid,
                start_ticks: stat.start_ticks,
                cpu_ticks: stat.cpu_ticks,
            })
        })
        .collect();
    (!ticks.is_empty()).then_some(CpuCounter::Processes(ticks))
}

/// The reading of the container's own cgroup; `Ok(None)` without one or without cgroups.
fn own_cgroup(
    root: &HostRoot,
    layout: Option<&CgroupLayout>,
    container: &Container,
) -> Result<Option<CgroupReading>, crate::host::HostError> {
    match layout {
        Some(layout) if container.cgroup_path.is_some() => {
            cgroup::read_for_memberships(root, layout, &container.cgroups)
        }
        _ => Ok(None),
    }
}
