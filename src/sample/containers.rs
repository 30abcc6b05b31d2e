//! The container side of a tick: which processes form which container (the grouping, redone
//! only when processes came or went or every few ticks: see [`super::cadence`]), and every
//! tick each container measured with rates.
//!
//! Between regroupings a container's pid list is trimmed to the processes still alive; a
//! container with none left is gone and is not sampled. Each container is measured by
//! `host::container::measure` — the same function `isotop ls` and `isotop inspect` use (its
//! own cgroup's files, else its processes' `stat` figures from the process table); its own
//! cgroups' usage, counters, pressure and freezer state are read every tick, their limits every
//! [`LIMITS_EVERY`] ticks and at once the tick after isotop's audit log changed (an act of
//! isotop's), their process count with the limits and whenever `pids.current` moved
//! (`host::container::measure::Carry`) — and its CPU and throttling rates come from `super::rates` against its
//! previous tick's counters. Its OOM kills since isotop started are its total less the total
//! it had when the sampler first saw it ([`OomBaselines`]; 0 for a container that started
//! after the sampler did). What each container's runtime records of its life (restarts,
//! health, last exit: `host::runtime::state::read_state`) is read with the grouping and
//! carried between regroupings, and so is each unnamed container's init's `container=`
//! variable (`host::container::ContainerHints`).

use foldhash::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::frame::ContainerSample;
use super::processes::ProcessTable;
use super::rates::{
    IoRates, Throttling, container_cpu_percent, count_since, io_rates, throttled_percent,
};
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, IoCounters};
use crate::host::container::hidden::hidden;
use crate::host::container::measure::{Carry, Census, Clock, CpuCounter, measure};
use crate::host::container::{Container, ContainerHints, find_containers_hinted};
use crate::host::namespace::{NsKind, host_reference};
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

/// At most how many ticks apart a moved container init makes the grouping run again, whatever
/// the cost rule says (a process moving itself every tick must not make it run every tick).
pub const MOVED_REGROUP_WITHIN: u64 = 2;

/// For how long after it started a container's init has its namespaces and cgroups read
/// again every tick, seconds (a runtime places a fresh init — or a test, or a person, moves
/// it — a moment after it appears; later moves wait for the table's other checks).
pub const SETTLING_SECONDS: f64 = 10.0;

/// How often a container's own cgroups' limits are read again, in ticks (they change only by
/// a write; isotop's own acts are seen the next tick: [`AuditWatch`]).
pub const LIMITS_EVERY: u64 = 5;

/// Whether isotop's audit log changed since the last look (an act of isotop's may have
/// changed a limit): one `statx` a tick.
#[derive(Debug, Default)]
struct AuditWatch {
    path: Option<PathBuf>,
    /// Length and modification time at the last look.
    last: Option<(u64, Option<SystemTime>)>,
}

impl AuditWatch {
    fn changed(&mut self, root: &HostRoot) -> bool {
        let path = self
            .path
            .get_or_insert_with(|| crate::host::events::audit::log_path(root));
        let now = std::fs::metadata(path)
            .ok()
            .map(|m| (m.len(), m.modified().ok()));
        let changed = now != self.last;
        self.last = now;
        changed
    }
}

/// The current grouping and each container's previous counters (its rates' other end).
#[derive(Debug)]
pub struct ContainerSampler {
    /// Shared with the frames' samples while a container's live pids stay the grouping's.
    grouping: Vec<Arc<Container>>,
    previous: HashMap<String, ContainerCounters>,
    oom_baselines: OomBaselines,
    /// Each grouped container's runtime state, read with the grouping (by id).
    runtime_states: HashMap<String, RuntimeState>,
    /// Not root: the line saying which containers this user cannot see (from the grouping).
    hidden: Option<String>,
    /// Own cgroups' limits carried between ticks (`host::container::measure::Carry`).
    carry: Carry,
    audit: AuditWatch,
    /// The inits' `container=` variables, kept from grouping to grouping.
    hints: ContainerHints,
    /// Groupings so far that changed the containers (what a carried ownership list was judged
    /// on, with the table's generation).
    groupings: u64,
}

impl Default for ContainerSampler {
    fn default() -> Self {
        ContainerSampler {
            grouping: Vec::new(),
            previous: HashMap::default(),
            oom_baselines: OomBaselines::default(),
            runtime_states: HashMap::default(),
            hidden: None,
            carry: Carry::new(LIMITS_EVERY),
            audit: AuditWatch::default(),
            hints: ContainerHints::default(),
            groupings: 0,
        }
    }
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
        let grouping = find_containers_hinted(root, table.processes(), &host.ns, &mut self.hints);
        self.oom_baselines.keep(&grouping);
        self.runtime_states = grouping
            .iter()
            .filter_map(|c| Some((c.id.clone(), read_state(root, c)?)))
            .collect();
        self.hidden = (!nix::unistd::geteuid().is_root())
            .then(|| hidden(root, table.processes(), &grouping).message(false))
            .flatten();
        // A grouping equal to the last (the usual periodic regrouping of a quiet host) keeps
        // the count: what was judged on the last one still holds (the carry's ownership).
        let same = grouping.len() == self.grouping.len()
            && grouping
                .iter()
                .zip(&self.grouping)
                .all(|(new, old)| *new == **old);
        if !same {
            self.grouping = grouping.into_iter().map(Arc::new).collect();
            self.groupings += 1;
        }
    }

    /// Whether a process of `arrived` (new this tick, or whose namespaces or cgroups changed)
    /// may have begun a container the grouping has not seen: it is in another pid or mount
    /// namespace or other cgroups than its parent (a process forked on the host or inside a
    /// container shares all three with its parent; every runtime's init differs in one), or
    /// its parent is not in the table. Kernel threads never are.
    pub fn may_have_begun(&self, table: &ProcessTable, arrived: &[i32]) -> bool {
        let processes = table.processes();
        arrived
            .iter()
            .filter_map(|&pid| table.index_of(pid))
            .map(|at| &processes[at])
            .filter(|p| !p.kernel_thread)
            .any(|p| match table.index_of(p.ppid).map(|at| &processes[at]) {
                None => true,
                Some(parent) => {
                    p.ns.get(NsKind::Pid) != parent.ns.get(NsKind::Pid)
                        || p.ns.get(NsKind::Mnt) != parent.ns.get(NsKind::Mnt)
                        || p.cgroups != parent.cgroups
                }
            })
    }

    /// The inits of grouped containers that started less than [`SETTLING_SECONDS`] ago
    /// (`uptime_seconds` and `ticks_per_second` date them): their memberships are read again
    /// every tick while a runtime may still be placing them.
    pub fn settling_inits(&self, uptime_seconds: Option<f64>, ticks_per_second: u64) -> Vec<i32> {
        let Some(uptime) = uptime_seconds else {
            return Vec::new();
        };
        let per_second = ticks_per_second.max(1) as f64;
        self.grouping
            .iter()
            .filter(|c| {
                c.start_ticks
                    .is_some_and(|start| uptime - start as f64 / per_second < SETTLING_SECONDS)
            })
            .filter_map(|c| c.init_pid)
            .collect()
    }

    /// Whether a grouped container's init is in other cgroups than the grouping saw (moved
    /// since: its own cgroup, and so which figures are its own, changed).
    pub fn inits_moved(&self, table: &ProcessTable) -> bool {
        self.grouping.iter().any(|c| {
            c.init_pid
                .and_then(|pid| table.index_of(pid))
                .is_some_and(|at| *table.processes()[at].cgroups != c.cgroups[..])
        })
    }

    /// Watches the audit log at `path` (the one this process's acts write to) instead of
    /// `host::events::audit::log_path`'s.
    pub fn set_audit_log(&mut self, path: PathBuf) {
        self.audit = AuditWatch {
            path: Some(path),
            last: None,
        };
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
        let mut counters =
            HashMap::with_capacity_and_hasher(self.previous.len(), Default::default());
        // An audited act may have changed a limit: read every container's limits this tick.
        let acted = self.audit.changed(cx.root);
        let mut carry = std::mem::replace(&mut self.carry, Carry::new(LIMITS_EVERY));
        carry.begin_tick(acted);
        carry.set_snapshot((cx.table.generation(), self.groupings));
        // Which processes sit in which cgroup, indexed once for all containers of the tick.
        let census = Census::carrying(cx.table.processes(), &mut carry);
        let grouping = std::mem::take(&mut self.grouping);
        for container in &grouping {
            let is_alive = |pid: &i32| cx.table.index_of(*pid).is_some();
            let container = if container.pids.iter().all(is_alive) {
                Arc::clone(container)
            } else {
                // Some of its processes went since the grouping: a copy with those alive.
                let mut trimmed = Container::clone(container);
                trimmed.pids.retain(is_alive);
                Arc::new(trimmed)
            };
            if container.pids.is_empty() {
                continue;
            }
            let sample = self.sample_one(cx, &census, container, &mut counters, warnings);
            samples.push(sample);
        }
        drop(census);
        carry.end_tick();
        self.carry = carry;
        self.grouping = grouping;
        self.previous = counters;
        samples
    }

    fn sample_one(
        &mut self,
        cx: &TickContext<'_>,
        census: &Census<'_>,
        container: Arc<Container>,
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
