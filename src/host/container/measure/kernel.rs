//! What the kernel already tells about a container's trouble, as figures: CPU, memory and I/O
//! pressure (PSI `some avg10`), throttling counters, OOM kills and forks refused at the pids
//! limit.
//!
//! Contract: [`KernelFigures::of`] derives them from the reading `measure` chose as the
//! container's own (its `view.cgroup`), so they come from the same cgroup as every other
//! figure, each from the file the reading names in its `sources` (`pressure.cpu`,
//! `cpu.nr_periods`, `memory.events.oom_kill`, `pids.refused_forks`). A figure whose file the
//! cgroup lacks is `None`, never 0: pressure on a v1-only host or with `psi=0`, OOM kills
//! before kernel 4.13 (v1 `memory.oom_control`), refusals without `pids.events`. Counts are
//! totals since the cgroup was made; what happened since isotop started and shares over an
//! interval are the sampler's (`sample::rates`). [`read_kernel_figures`] re-reads them now
//! (what `isotop ls` does after its interval). Pure apart from that re-read; never fails.

use serde::Serialize;

use super::{Container, own_cgroup};
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, CgroupReading, PressureFile};

/// The kernel's own trouble counters and stall shares of one container.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KernelFigures {
    /// Share of the last 10 s in which at least one task waited for a CPU, percent
    /// (`cpu.pressure` `some avg10`; v2, or the unified hierarchy on a hybrid host).
    pub cpu_pressure_percent: Option<f64>,
    /// Share of the last 10 s in which at least one task stalled on memory, percent
    /// (`memory.pressure` `some avg10`).
    pub memory_pressure_percent: Option<f64>,
    /// Share of the last 10 s in which at least one task stalled on I/O, percent
    /// (`io.pressure` `some avg10`).
    pub io_pressure_percent: Option<f64>,
    /// CFS enforcement periods with runnable tasks, in total (`cpu.stat` `nr_periods`).
    pub cpu_periods: Option<u64>,
    /// Of those, periods in which the quota ran out (`cpu.stat` `nr_throttled`).
    pub cpu_throttled_periods: Option<u64>,
    /// Processes the OOM killer killed in the cgroup, in total (v2 `memory.events`
    /// `oom_kill`; v1 `memory.oom_control` `oom_kill`).
    pub oom_kills: Option<u64>,
    /// Forks refused because `pids.max` was reached, in total (`pids.events` `max`).
    pub pids_refused_forks: Option<u64>,
}

/// `some avg10` of one PSI file, percent.
fn some_avg10(file: Option<&PressureFile>) -> Option<f64> {
    file?.some.map(|line| line.avg10)
}

impl KernelFigures {
    /// The figures of the container's own reading (`None`: no cgroup of its own, all `None`).
    pub fn of(reading: Option<&CgroupReading>) -> KernelFigures {
        let Some(r) = reading else {
            return KernelFigures::default();
        };
        let pressure = r.pressure.as_ref();
        let cpu = r.cpu.as_ref();
        KernelFigures {
            cpu_pressure_percent: some_avg10(pressure.and_then(|p| p.cpu.as_ref())),
            memory_pressure_percent: some_avg10(pressure.and_then(|p| p.memory.as_ref())),
            io_pressure_percent: some_avg10(pressure.and_then(|p| p.io.as_ref())),
            cpu_periods: cpu.and_then(|c| c.nr_periods),
            cpu_throttled_periods: cpu.and_then(|c| c.nr_throttled),
            oom_kills: r.memory.as_ref().and_then(|m| m.events.oom_kill),
            pids_refused_forks: r.pids.as_ref().and_then(|p| p.refused_forks),
        }
    }
}

/// Re-reads `container`'s kernel figures now, from the cgroup [`super::measure`] reads as its
/// own; `None` without one (or when it vanished).
pub fn read_kernel_figures(
    root: &HostRoot,
    layout: Option<&CgroupLayout>,
    container: &Container,
) -> Option<KernelFigures> {
    let reading = own_cgroup(root, layout, container).ok().flatten()?;
    Some(KernelFigures::of(Some(&reading)))
}
