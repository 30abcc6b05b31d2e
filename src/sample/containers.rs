//! The container side of a tick: which processes form which container (the grouping, redone
//! only when processes came or went or every few ticks: see [`super::cadence`]), and every
//! tick each container measured with rates.
//!
//! Between regroupings a container's pid list is trimmed to the processes still alive; a
//! container with none left is gone and is not sampled. Each container is measured by
//! `host::container::measure` — the same function `isotop ls` and `isotop inspect` use (its
//! own cgroup's files, a few read every tick, else its processes' `stat` figures from the
//! process table) — and its CPU and throttling rates come from `super::rates` against its
//! previous tick's counters.

use std::collections::HashMap;
use std::time::Instant;

use super::frame::ContainerSample;
use super::processes::ProcessTable;
use super::rates::{Throttling, container_cpu_percent, throttled_percent};
use crate::host::HostRoot;
use crate::host::cgroup::CgroupLayout;
use crate::host::container::hidden::hidden;
use crate::host::container::measure::{Census, Clock, CpuCounter, measure};
use crate::host::container::{Container, find_containers};
use crate::host::namespace::host_reference;

/// The counters of one container that its rates come from, and when they were read.
#[derive(Debug, Clone)]
struct ContainerCounters {
    cpu: CpuCounter,
    throttling: Option<Throttling>,
    at: Instant,
}

/// The current grouping and each container's previous counters (its rates' other end).
#[derive(Debug, Default)]
pub struct ContainerSampler {
    grouping: Vec<Container>,
    previous: HashMap<String, ContainerCounters>,
    /// Not root: the line saying which containers this user cannot see (from the grouping).
    hidden: Option<String>,
}

/// What a container sample needs from the rest of the tick.
pub struct TickContext<'a> {
    pub root: &'a HostRoot,
    pub layout: Option<&'a CgroupLayout>,
    pub table: &'a ProcessTable,
    pub clock: Clock,
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
        // Which processes sit in which cgroup, indexed once for all containers of the tick.
        let census = Census::new(cx.table.processes());
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
            let sample = self.sample_one(cx, &census, container, &mut counters, warnings);
            samples.push(sample);
        }
        self.previous = counters;
        samples
    }

    fn sample_one(
        &self,
        cx: &TickContext<'_>,
        census: &Census<'_>,
        container: Container,
        counters: &mut HashMap<String, ContainerCounters>,
        warnings: &mut Vec<String>,
    ) -> ContainerSample {
        let measured = measure(cx.root, cx.layout, container, census, cx.clock, warnings);
        let figures = measured.figures;
        let now = ContainerCounters {
            cpu: figures.cpu,
            throttling: measured.view.cgroup.as_ref().and_then(Throttling::of),
            at: Instant::now(),
        };
        let previous = self.previous.get(&measured.view.container.id);
        let cpu_percent = previous.and_then(|p| {
            let wall_usec = now.at.saturating_duration_since(p.at).as_micros() as u64;
            container_cpu_percent(&p.cpu, &now.cpu, cx.clock.ticks_per_second, wall_usec)
        });
        let throttled_percent =
            previous.and_then(|p| throttled_percent(p.throttling, now.throttling));
        counters.insert(measured.view.container.id.clone(), now);
        ContainerSample {
            memory_limit_bytes: figures.memory_limit_bytes,
            cpu_limit_cpus: figures.cpu_limit_cpus,
            pids_limit: figures.pids_limit,
            cpu_percent,
            throttled_percent,
            memory_bytes: figures.memory_bytes,
            pids: figures.pids,
            view: measured.view,
        }
    }
}
