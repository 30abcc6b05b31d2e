//! The container side of a tick: which processes form which container (the grouping, redone
//! only when processes came or went or every few ticks: see [`super::cadence`]), and every
//! tick each container's figures with rates.
//!
//! Between regroupings a container's pid list is trimmed to the processes still alive; a
//! container with none left is gone and is not sampled. A container with a cgroup of its own
//! is measured by that cgroup (CPU from the usage counter, throttling from `cpu.stat`, memory,
//! limits, pids — a few files, read every tick); one without (it shares the host's cgroup) by
//! the sum of its processes' CPU tick deltas and resident sets, as `isotop ls` does.

use std::collections::HashMap;
use std::time::Instant;

use super::cgroups::CgroupCounters;
use super::frame::ContainerSample;
use super::processes::ProcessTable;
use super::rates::cpu_percent_from_ticks;
use crate::host::HostRoot;
use crate::host::cgroup::{self, CgroupLayout, FreezerState};
use crate::host::container::hidden::hidden;
use crate::host::container::{Container, find_containers};
use crate::host::namespace::host_reference;
use crate::host::scan::ContainerView;

/// The current grouping and each container's previous cgroup counters.
#[derive(Debug, Default)]
pub struct ContainerSampler {
    grouping: Vec<Container>,
    previous: HashMap<String, CgroupCounters>,
    /// Not root: the line saying which containers this user cannot see (from the grouping).
    hidden: Option<String>,
}

/// What a container sample needs from the rest of the tick.
pub struct TickContext<'a> {
    pub root: &'a HostRoot,
    pub layout: Option<&'a CgroupLayout>,
    pub table: &'a ProcessTable,
    /// Seconds since boot.
    pub uptime_seconds: Option<f64>,
    pub ticks_per_second: u64,
    /// Time since the previous tick, µs (`None` on the first).
    pub wall_usec: Option<u64>,
}

impl ContainerSampler {
    /// Groups the table's processes into containers again (reads runtime state files).
    pub fn regroup(&mut self, root: &HostRoot, table: &ProcessTable) {
        let host = host_reference(root, table.processes());
        self.grouping = find_containers(root, table.processes(), &host.ns);
        self.hidden = (!nix::unistd::geteuid().is_root())
            .then(|| hidden(root, table.processes(), &self.grouping).message(false))
            .flatten();
    }

    /// Not root: which containers this user cannot see, as of the last grouping.
    pub fn hidden(&self) -> Option<&str> {
        self.hidden.as_deref()
    }

    /// Samples every container of the current grouping that still has a process.
    pub fn sample(
        &mut self,
        cx: &TickContext<'_>,
        warnings: &mut Vec<String>,
    ) -> Vec<ContainerSample> {
        let mut samples = Vec::with_capacity(self.grouping.len());
        let mut counters = HashMap::with_capacity(self.previous.len());
        for container in &self.grouping {
            let alive: Vec<i32> = container
                .pids
                .iter()
                .copied()
                .filter(|pid| cx.table.index_of(*pid).is_some())
                .collect();
            if alive.is_empty() {
                continue;
            }
            let mut container = container.clone();
            container.pids = alive;
            let sample = self.sample_one(cx, container, &mut counters, warnings);
            samples.push(sample);
        }
        self.previous = counters;
        samples
    }

    fn sample_one(
        &self,
        cx: &TickContext<'_>,
        container: Container,
        counters: &mut HashMap<String, CgroupCounters>,
        warnings: &mut Vec<String>,
    ) -> ContainerSample {
        // Only a container with a cgroup of its own has figures of its own: one that shares
        // the host's cgroup would otherwise be charged the whole host.
        let reading = match cx.layout {
            Some(layout) if container.cgroup_path.is_some() => {
                match cgroup::read_for_memberships(cx.root, layout, &container.cgroups) {
                    Ok(reading) => reading,
                    Err(e) => {
                        warnings.push(format!("container {}: {e}", container.id));
                        None
                    }
                }
            }
            _ => None,
        };
        let (mut cpu_percent, mut throttled_percent) = (None, None);
        if let Some(reading) = &reading {
            let now = CgroupCounters::of(reading, Instant::now());
            (cpu_percent, throttled_percent) = now.rates(self.previous.get(&container.id));
            counters.insert(container.id.clone(), now);
        }
        let own_cpu_counter = reading
            .as_ref()
            .and_then(|r| r.cpu.as_ref())
            .and_then(|c| c.usage_usec)
            .is_some();
        if !own_cpu_counter {
            cpu_percent = processes_cpu_percent(cx, &container.pids);
        }
        let memory_bytes = reading
            .as_ref()
            .and_then(|r| r.memory.as_ref())
            .and_then(|m| m.usage_bytes)
            .or_else(|| {
                Some(
                    container
                        .pids
                        .iter()
                        .filter_map(|pid| cx.table.index_of(*pid))
                        .map(|i| cx.table.processes()[i].rss_bytes)
                        .sum(),
                )
            });
        let limits = reading.as_ref().map(|r| &r.limits);
        let frozen = reading
            .as_ref()
            .and_then(|r| r.freezer)
            .is_some_and(|f| f == FreezerState::Frozen);
        let uptime_seconds = match (cx.uptime_seconds, container.start_ticks) {
            (Some(now), Some(start)) if cx.ticks_per_second > 0 => {
                Some((now - start as f64 / cx.ticks_per_second as f64).max(0.0))
            }
            _ => None,
        };
        let pids = container.pids.len();
        ContainerSample {
            memory_limit_bytes: limits.and_then(|l| l.memory_max_bytes),
            cpu_limit_cpus: limits.and_then(|l| l.cpu_limit_cpus()),
            pids_limit: limits.and_then(|l| l.pids_max),
            cpu_percent,
            throttled_percent,
            memory_bytes,
            pids,
            view: ContainerView {
                container,
                state: if frozen { "frozen" } else { "running" },
                uptime_seconds,
                cgroup: reading,
            },
        }
    }
}

/// CPU share of a group of processes: the sum of their tick deltas over the interval. `None`
/// on the first tick or when none of them was seen on the previous tick.
fn processes_cpu_percent(cx: &TickContext<'_>, pids: &[i32]) -> Option<f64> {
    let wall = cx.wall_usec?;
    let deltas: Vec<u64> = pids
        .iter()
        .filter_map(|pid| cx.table.index_of(*pid))
        .filter_map(|i| cx.table.rates()[i].cpu_delta_ticks)
        .collect();
    if deltas.is_empty() {
        return None;
    }
    let used: u64 = deltas.iter().fold(0u64, |sum, d| sum.saturating_add(*d));
    cpu_percent_from_ticks(Some(0), used, cx.ticks_per_second, wall)
}
