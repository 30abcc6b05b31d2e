//! Measuring one container: the single place a container's figures are read and derived.
//!
//! Contract: [`measure`] takes a [`Container`] (from `find_containers`/`find_stopped`), the
//! processes read at the same moment ([`Census`], ascending pid) and the clock, and returns its
//! [`ContainerView`] (state, uptime, its own cgroups' reading, which of its cgroups are its
//! own, where each figure came from) and its [`Figures`] (memory, limits, process count, the
//! CPU counter a rate is computed from, its block I/O counters, the kernel's trouble figures:
//! [`KernelFigures`]). A figure comes from a cgroup only when that cgroup is the container's
//! own (`cgroup_ownership::ownership`: not a root, no process outside the container in it or
//! below); otherwise from the next-best own source — on a hybrid host the container's own
//! unified cgroup (`cpu.stat` usage), else the sum over its processes — named in the view's
//! [`FigureSources`], or `None` with a note. Limits of a cgroup it shares are not its own:
//! they are [`InheritedLimits`], shown as such. `host::scan` (hence `isotop inspect`), `isotop ls` and the
//! dashboard's sampler all measure through it, so a view and a subcommand cannot disagree.
//! [`reread`] re-reads the CPU counter, the I/O counters and the kernel figures (what `ls`
//! samples twice); rates between
//! two counters are computed in `sample::rates`. Never fails: an unreadable cgroup becomes a
//! warning line and no cgroup figures. Every figure is read at the call, except where the
//! census carries limits between ticks ([`Census::carrying`], the sampler's): an own cgroup's
//! limits (and its process count while its `pids.current` stays the same) are then read on the
//! cadence [`Carry`] states, the last read values shown between.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Container;
use crate::host::HostRoot;
use crate::host::cgroup::io::IoLimits;
use crate::host::cgroup::{
    self, CgroupLayout, CgroupReading, FreezerState, IoCounters, KeptLimits, Limit,
};
use crate::host::process::{CgroupMembership, Process, Records, read_stat};

mod carry;
mod cgroup_ownership;
mod own;

pub use self::carry::Carry;
pub use self::cgroup_ownership::CgroupOwnership;
pub use self::own::{Census, FigureSource, FigureSources, InheritedLimits, Source};

/// Pressure, throttling, OOM kills and refused forks: the kernel's trouble figures.
mod kernel;
/// Its unit tests, and the fake host `cli`'s agreement test builds on.
#[cfg(test)]
pub(crate) mod tests;

pub use kernel::KernelFigures;

/// What a container is doing, as `isotop ls --json` and the views show it (lowercase).
/// Variants are in alphabetical order: the derived order is the STATE column's sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
///
/// Serialized through [`ContainerViewOut`] (the same fields, in this order), so a writer can
/// put other values in the places of `cgroup` and `ownership` ([`ContainerView::with_parts_as`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ContainerView {
    /// Shared by `Arc` with the sampler's grouping and the previous frames while it does not
    /// change (a clone a container a tick was ~17 % of the dashboard's allocations).
    #[serde(flatten)]
    pub container: Arc<Container>,
    pub state: ContainerState,
    /// Seconds since the init process started.
    pub uptime_seconds: Option<f64>,
    /// The reading of the cgroups that are its own (every field's kernel file in its
    /// `sources`; a v1 controller whose cgroup is shared is read from the own unified cgroup
    /// on hybrid hosts); `None` without one (figures of a shared cgroup are not its own) or
    /// when unreadable. Behind an `Arc`: most containers of a host without a cgroup per
    /// container have none, the reading is ~1.2 KB a container in every frame held, and the
    /// sampler shares a reading equal to the last tick's from frame to frame
    /// (`measure::carry`), so it is neither built nor freed nor fingerprinted again.
    pub cgroup: Option<Arc<CgroupReading>>,
    /// Each of its cgroups, whether it is its own and, if not, why. Shared with the previous
    /// frames while no entry changed (`measure::carry`).
    pub ownership: Arc<[CgroupOwnership]>,
    /// Limits of the cgroups it shares, where it has none of its own.
    pub inherited_limits: InheritedLimits,
    /// Where each figure came from (file or fallback).
    pub sources: FigureSources,
}

/// How a [`ContainerView`] serializes: its fields borrowed, in its order, with `cgroup` and
/// `ownership` standing for whatever `C` and `O` are — the reading and the list themselves,
/// or (the trouble ring's fingerprints) stand-ins for ones already known: both are shared by
/// `Arc` from tick to tick while they do not change (the list: ~13 entries of five strings a
/// container on a hybrid host; the reading: ~25 figures and their ~25 source paths).
#[derive(Serialize)]
pub struct ContainerViewOut<'a, C: Serialize, O: Serialize> {
    #[serde(flatten)]
    container: &'a Arc<Container>,
    state: ContainerState,
    uptime_seconds: Option<f64>,
    cgroup: C,
    ownership: O,
    inherited_limits: &'a InheritedLimits,
    sources: &'a FigureSources,
}

impl ContainerView {
    /// Its serialization with `cgroup` in the reading's place and `ownership` in the ownership
    /// list's (see [`ContainerViewOut`]).
    pub fn with_parts_as<C: Serialize, O: Serialize>(
        &self,
        cgroup: C,
        ownership: O,
    ) -> ContainerViewOut<'_, C, O> {
        ContainerViewOut {
            container: &self.container,
            state: self.state,
            uptime_seconds: self.uptime_seconds,
            cgroup,
            ownership,
            inherited_limits: &self.inherited_limits,
            sources: &self.sources,
        }
    }
}

impl Serialize for ContainerView {
    fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        self.with_parts_as(&self.cgroup, &self.ownership)
            .serialize(serializer)
    }
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
    /// The cgroup's counter when `reading` has one, else the processes' (listed only then).
    fn of(
        reading: Option<&CgroupReading>,
        processes: impl FnOnce() -> Vec<ProcessTicks>,
    ) -> CpuCounter {
        match reading
            .and_then(|r| r.cpu.as_ref())
            .and_then(|c| c.usage_usec)
        {
            Some(usage_usec) => CpuCounter::Cgroup { usage_usec },
            None => CpuCounter::Processes(processes()),
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
    /// Limits of cgroups it shares (where it has none of its own): shown as inherited.
    pub inherited_limits: InheritedLimits,
    /// Processes in the container.
    pub pids: usize,
    /// What a CPU rate is computed from (two of these, `sample::rates::container_cpu_percent`).
    pub cpu: CpuCounter,
    /// Block I/O of its own cgroup, totals since it was made (bytes and operations read,
    /// written, discarded; rates: `sample::rates::io_rates`); `None` without an own cgroup
    /// that counts I/O (a shared cgroup's I/O is not its own; see `view.sources.io`).
    pub io: Option<IoCounters>,
    pub io_source: Option<FigureSource>,
    /// Its own cgroup's I/O limits (per device, weight); `None` without an own cgroup or
    /// without I/O limit files (a shared cgroup's are not its own).
    pub io_limits: Option<IoLimits>,
    /// Pressure, throttling counters, OOM kills, refused forks (see [`KernelFigures`]).
    pub kernel: KernelFigures,
}

impl Figures {
    /// The figures of `view` given the processes read with it (ascending pid); pure.
    pub fn of<'p>(view: &ContainerView, processes: impl Into<Records<'p>>) -> Figures {
        let processes = processes.into();
        Figures::of_found(view, |pid| {
            let at = processes.binary_search_by_key(&pid, |p| p.pid).ok()?;
            processes.get(at)
        })
    }

    /// [`Figures::of`], each of the container's processes looked up by `find`.
    fn of_found<'p>(view: &ContainerView, find: impl Fn(i32) -> Option<&'p Process>) -> Figures {
        let c = &view.container;
        let reading = view.cgroup.as_deref();
        let limits = reading.map(|r| &r.limits);
        // Looked up only for a figure the cgroup does not give (400 containers a tick).
        let own = || c.pids.iter().filter_map(|pid| find(*pid));
        let (memory_bytes, memory_source) = match reading
            .and_then(|r| r.memory.as_ref())
            .and_then(|m| m.usage_bytes)
        {
            Some(usage) => (Some(usage), Some(FigureSource::OwnCgroup)),
            // Without a cgroup of its own, memory is the sum of its processes' resident sets.
            None if !c.pids.is_empty() => (
                Some(own().map(|p| p.rss_bytes).sum()),
                Some(FigureSource::Processes),
            ),
            None => (None, None),
        };
        let ticks = || {
            own()
                .map(|p| ProcessTicks {
                    pid: p.pid,
                    start_ticks: p.start_ticks,
                    cpu_ticks: p.cpu_ticks,
                })
                .collect()
        };
        let io = io_counters(reading);
        Figures {
            io_source: io.as_ref().map(|_| FigureSource::OwnCgroup),
            io,
            io_limits: limits.and_then(|l| l.io.clone()),
            memory_bytes,
            memory_source,
            memory_limit_bytes: limits.and_then(|l| l.memory_max_bytes),
            cpu_limit_cpus: limits.and_then(|l| l.cpu_limit_cpus()),
            pids_limit: limits.and_then(|l| l.pids_max),
            inherited_limits: view.inherited_limits.clone(),
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

/// Measures `container`: decides which of its cgroups are its own, reads those (a cgroup it
/// shares would charge it others' usage — the whole host's, for a root), reads the limits of
/// the ones it shares as inherited, then derives state, uptime, sources and [`Figures`].
/// `census` holds the processes read at the same moment. An unreadable cgroup is a line in
/// `warnings`.
pub fn measure(
    root: &HostRoot,
    layout: Option<&CgroupLayout>,
    container: impl Into<Arc<Container>>,
    census: &Census<'_>,
    clock: Clock,
    warnings: &mut Vec<String>,
) -> Measurement {
    let container: Arc<Container> = container.into();
    let ownership = match layout {
        Some(_) if container.running => cgroup_ownership::ownership(&container, census),
        _ => Arc::from([]),
    };
    let own = own_memberships(&ownership);
    // Limits change only by a write: a carrying census reads them on a cadence (`carry`).
    let kept = census.kept_limits(&container.id, &own);
    let mut read = |memberships: &[CgroupMembership], own: bool, kept: Option<&KeptLimits>| {
        let layout = layout.filter(|_| !memberships.is_empty())?;
        let result = if own {
            census.read_own(root, layout, memberships, kept)
        } else {
            cgroup::read_shared_for_limits(root, layout, memberships)
        };
        result
            .map_err(|e| warnings.push(format!("container {}: {e}", container.id)))
            .ok()
            .flatten()
    };
    let mut cgroup = read(&own, true, kept.as_ref());
    // A limit biting that the carried limits call unset was written since: read them now.
    // (Limits just read, when due, are the kernel's: nothing to contradict.)
    let contradicted =
        matches!((&kept, &cgroup), (Some(k), Some(c)) if !k.limits_due() && k.contradicted_by(c));
    if contradicted {
        cgroup = read(&own, true, None);
    }
    if kept.as_ref().is_none_or(KeptLimits::limits_due) || contradicted {
        census.keep_limits(&container.id, &own, cgroup.as_ref());
    } else if let Some(reading) = &cgroup {
        census.follow_count(&container.id, reading);
    }
    let limits_missing = cgroup.as_ref().is_none_or(|r| {
        let l = &r.limits;
        l.memory_max_bytes.is_none() || l.cpu_limit_cpus().is_none() || l.pids_max.is_none()
    });
    let shared = if limits_missing {
        let shared: Vec<CgroupMembership> = ownership
            .iter()
            .filter(|o| !o.own)
            .map(|o| o.membership.clone())
            .collect();
        census.shared_reading(&shared, || read(&shared, false, None))
    } else {
        None
    };
    let inherited_limits = InheritedLimits::of(cgroup.as_ref(), shared.as_deref(), &ownership);
    let sources = FigureSources::of(
        layout,
        cgroup.as_ref(),
        shared.as_deref(),
        &inherited_limits,
        !container.pids.is_empty(),
    );
    let uptime_seconds = match (clock.uptime_seconds, container.start_ticks) {
        (Some(now), Some(start)) if clock.ticks_per_second > 0 => {
            Some((now - start as f64 / clock.ticks_per_second as f64).max(0.0))
        }
        _ => None,
    };
    // A reading equal to the last tick's is that one, shared (`Carry::share_reading`).
    let cgroup = census.share_reading(&container.id, cgroup);
    let view = ContainerView {
        state: ContainerState::of(&container, cgroup.as_deref()),
        container,
        uptime_seconds,
        cgroup,
        ownership,
        inherited_limits,
        sources,
    };
    let figures = Figures::of_found(&view, |pid| census.find(pid));
    Measurement { view, figures }
}

/// The I/O counters of a container's own reading: `None` without one, without I/O files, or
/// when nothing is counted (v1 blk-throttle on no device: see `host::cgroup::io`).
fn io_counters(reading: Option<&CgroupReading>) -> Option<IoCounters> {
    let total = &reading?.io.as_ref()?.total;
    (total != &IoCounters::default()).then(|| total.clone())
}

/// What [`reread`] reads again: the counters a rate is computed between.
#[derive(Debug, Clone, PartialEq)]
pub struct Reread {
    /// The CPU counter: the own cgroups' usage, else each process's `stat` times; `None` when
    /// neither can be read (no cgroup counter and no process left).
    pub cpu: Option<CpuCounter>,
    /// The own cgroups' I/O counters (as [`Figures::io`]).
    pub io: Option<IoCounters>,
    /// The kernel's trouble figures of the own cgroups; `None` without one (or when they
    /// vanished).
    pub kernel: Option<KernelFigures>,
}

/// Re-reads, now, the counters of the container `view` measured — what `ls` samples twice —
/// from the cgroups [`measure`] found its own, each read once for both.
pub fn reread(root: &HostRoot, layout: Option<&CgroupLayout>, view: &ContainerView) -> Reread {
    let own = own_memberships(&view.ownership);
    let reading = layout
        .filter(|_| !own.is_empty())
        .and_then(|layout| cgroup::read_own(root, layout, &own).ok().flatten());
    Reread {
        kernel: reading.as_ref().map(|r| KernelFigures::of(Some(r))),
        io: io_counters(reading.as_ref()),
        cpu: cpu_counter_now(root, reading.as_ref(), &view.container),
    }
}

/// The own cgroups' usage counter in `reading`, else each process's `stat` times read now.
fn cpu_counter_now(
    root: &HostRoot,
    reading: Option<&CgroupReading>,
    container: &Container,
) -> Option<CpuCounter> {
    if let counter @ CpuCounter::Cgroup { .. } = CpuCounter::of(reading, Vec::new) {
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

/// The memberships whose cgroups are the container's own.
fn own_memberships(ownership: &[CgroupOwnership]) -> Vec<CgroupMembership> {
    ownership
        .iter()
        .filter(|o| o.own)
        .map(|o| o.membership.clone())
        .collect()
}
