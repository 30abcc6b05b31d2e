//! The container side of a tick: which processes form which container (the grouping, redone
//! only when processes came or went or every few ticks: see [`super::cadence`]), and every
//! tick each container measured with rates.
//!
//! Between regroupings a container's pid list is trimmed to the processes still alive; a
//! container with none left is gone and is not sampled. Each container is measured by
//! `host::container::measure` — the same function `isotop ls` and `isotop inspect` use (its
//! own cgroup's files, a few read every tick, else its processes' `stat` figures from the
//! process table) — and its CPU and throttling rates come from `super::rates` against its
//! previous tick's counters. Its OOM kills since isotop started are its total less the total
//! it had when the sampler first saw it ([`OomBaselines`]; 0 for a container that started
//! after the sampler did). What each container's runtime records of its life (restarts,
//! health, last exit: `host::runtime::state::read_state`) is read with the grouping and
//! carried between regroupings.

use std::collections::HashMap;
use std::time::Instant;

use super::frame::ContainerSample;
use super::processes::ProcessTable;
use super::rates::{
    IoRates, Throttling, container_cpu_percent, count_since, io_rates, throttled_percent,
};
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, IoCounters};
use crate::host::container::hidden::hidden;
use crate::host::container::measure::{Census, Clock, CpuCounter, measure};
use crate::host::container::{Container, find_containers};
use crate::host::namespace::host_reference;
use crate::host::runtime::state::{RuntimeState, read_state};

/// The counters of one container that its rates come from, and when they were read.
#[derive(Debug, Clone)]
struct ContainerCounters {
    cpu: CpuCounter,
    throttling: Option<Throttling>,
    io: Option<IoCounters>,
    at: Instant,
}

/// Each container's OOM kill total when the sampler first saw it: what "since isotop started"
/// counts from.
#[derive(Debug, Default)]
struct OomBaselines {
    /// When the sampler took its first sample.
    started: Option<Instant>,
    by_id: HashMap<String, u64>,
}

impl OomBaselines {
    /// The kills of container `id` since the sampler started, given its `total` now and its
    /// age (`uptime_seconds`). A container seen first later but started after the sampler
    /// has had all its kills since; one seen first later but older (a regrouping found it)
    /// counts from now. `None` without a total.
    fn since_start(
        &mut self,
        id: &str,
        total: Option<u64>,
        uptime_seconds: Option<f64>,
    ) -> Option<u64> {
        let running_for = self.started.get_or_insert_with(Instant::now).elapsed();
        let total = total?;
        let baseline = *self
            .by_id
            .entry(id.to_string())
            .or_insert_with(|| match uptime_seconds {
                Some(age) if age < running_for.as_secs_f64() => 0,
                _ => total,
            });
        count_since(baseline, Some(total))
    }

    /// Forgets containers no longer grouped.
    fn keep(&mut self, grouping: &[Container]) {
        self.by_id
            .retain(|id, _| grouping.iter().any(|c| c.id == *id));
    }
}

/// The current grouping and each container's previous counters (its rates' other end).
#[derive(Debug, Default)]
pub struct ContainerSampler {
    grouping: Vec<Container>,
    previous: HashMap<String, ContainerCounters>,
    oom_baselines: OomBaselines,
    /// Each grouped container's runtime state, read with the grouping (by id).
    runtime_states: HashMap<String, RuntimeState>,
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
        self.oom_baselines.keep(&self.grouping);
        self.runtime_states = self
            .grouping
            .iter()
            .filter_map(|c| Some((c.id.clone(), read_state(root, c)?)))
            .collect();
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
        let grouping = std::mem::take(&mut self.grouping);
        for container in &grouping {
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
        self.grouping = grouping;
        self.previous = counters;
        samples
    }

    fn sample_one(
        &mut self,
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
            throttling: Throttling::of_kernel(&figures.kernel),
            io: figures.io.clone(),
            at: Instant::now(),
        };
        let previous = self.previous.get(&measured.view.container.id);
        let cpu_percent = previous.and_then(|p| {
            let wall_usec = now.at.saturating_duration_since(p.at).as_micros() as u64;
            container_cpu_percent(&p.cpu, &now.cpu, cx.clock.ticks_per_second, wall_usec)
        });
        let throttled_percent =
            previous.and_then(|p| throttled_percent(p.throttling, now.throttling));
        let io_rates = previous.map_or(IoRates::default(), |p| {
            let wall_usec = now.at.saturating_duration_since(p.at).as_micros() as u64;
            io_rates(p.io.as_ref(), now.io.as_ref(), wall_usec)
        });
        counters.insert(measured.view.container.id.clone(), now);
        let oom_kills_since_start = self.oom_baselines.since_start(
            &measured.view.container.id,
            figures.kernel.oom_kills,
            measured.view.uptime_seconds,
        );
        let runtime_state = self
            .runtime_states
            .get(&measured.view.container.id)
            .cloned();
        ContainerSample {
            kernel: figures.kernel,
            oom_kills_since_start,
            memory_limit_bytes: figures.memory_limit_bytes,
            cpu_limit_cpus: figures.cpu_limit_cpus,
            pids_limit: figures.pids_limit,
            cpu_percent,
            throttled_percent,
            memory_bytes: figures.memory_bytes,
            pids: figures.pids,
            view: measured.view,
            // Filled by the sampler's stack reader (`sample::stacks`).
            stack: None,
            io: figures.io,
            io_rates,
            io_limits: figures.io_limits,
            // Filled by the sampler's network reader (`sample::net`).
            net: None,
            runtime_state,
        }
    }
}
