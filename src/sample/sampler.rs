//! The sampler: one [`Sampler::tick`] reads the host and returns a [`Frame`] with rates against
//! the previous tick. It does not call `host::scan` (that reads every process in full); it
//! refreshes its [`ProcessTable`] (one `/proc` listing a tick) and measures each container
//! with `host::container::measure`, the function `isotop ls` and `inspect` use too.
//!
//! What a tick costs, and why (measured with bench/dashboard-bench.sh):
//! - every tick: list `/proc` and read each process's `stat` (the [`ProcessTable`]; the rest of
//!   a process is read once and re-read rarely), the host summary files, and the cgroup files of
//!   each container with a cgroup of its own;
//! - when processes came or went, or every `containers_every` ticks: the container grouping
//!   (runtime state files); that very tick, cost rule or not, when a process may have begun a
//!   container (`ContainerSampler::may_have_begun`: in other pid or mount namespaces or cgroups
//!   than its parent), and within [`MOVED_REGROUP_WITHIN`] ticks when a container's init moved
//!   to other cgroups (its own cgroup, and its figures, changed);
//! - every `cgroups_every` ticks: the cgroup tree (every cgroup of every hierarchy);
//! - when processes came or went, or every `namespaces_every` ticks: the namespace table (it
//!   opens one nsfs file per namespace for the parent/owner ioctls); within
//!   [`NEW_NAMESPACE_WITHIN`] ticks, cost rule or not, when a process is in a namespace it does
//!   not list;
//! - for a container first seen or whose init changed, and every `stacks_every` ticks for all:
//!   its stack (its init's mountinfo; isotop's own mountinfo and the layer stores' indexes once
//!   per batch: [`super::stacks`]); between reads the frames share the held stacks by `Arc`;
//! - with layer sizing on, every tick: one request per layer to the sizer thread and its
//!   answers drained ([`super::stacks::sizes`]; the walks run on that thread, at idle I/O
//!   priority, never in the tick);
//! - every tick: the counters of each network namespace that is a container's own, once each
//!   (`/proc/PID/net/dev` of a process in it, [`super::net`]); while the network map is asked
//!   for ([`Sampler::set_net_map`]), every namespace's instead (processes' and nsfs mounts',
//!   the mounts read from isotop's mountinfo each tick) and, every `net_map_every` ticks or when
//!   namespaces came or went, within `part_budget`, the map (a netlink read inside every
//!   namespace, veth peers resolved);
//! - every tick: the events ([`super::events`]): this tick's containers and, when the tree was
//!   read, cgroups compared with the previous tick's, in memory; the kernel log only when an
//!   OOM count grew, the audit log's new lines only when a limit changed, a runtime's state only
//!   when a container exited; and the PSI triggers that fired, drained from their own thread
//!   ([`super::pressure_triggers`], handed the cgroups to watch only when they changed).
//!
//! The grouping, the tree and the table each run never more often than its measured cost (the
//! sampler thread's CPU time for it) allows within its share of one CPU (`part_budget`,
//! [`Cadence`]), but for the exceptions above; between runs the previous grouping, tree or table
//! is reused. Measured with ~11,700 processes in 2,800 namespaces on a 2-core VM: `stat` reads
//! ~150 ms a tick, the namespace table ~70 ms, the grouping ~25 ms, a cgroup tree of 5 cgroups
//! ~25 ms (its root's `cgroup.procs` lists every pid); at the default 1 % budget the last three
//! run every 3–7 ticks there, and every tick on a small host. Stacks and sizes, measured
//! with `examples/sample_loop --costs` (release) and 30 runc containers on overlay roots (an own
//! lower and writable layer each, one lower shared by all: 61 layers) on a 2-core VM with ~120
//! processes, busy with other builds: a batch read of all 30 stacks 6–26 ms (median ~10 ms, about 0.3 ms a container: its mountinfo
//! and isotop's own), once every 60 ticks; one new container's 0.3 ms; the sizing requests and
//! answers 0.1–0.3 ms a tick (up to ~11 ms on the tick that starts the sizer thread).
//! Network, measured with bench/sample-net-bench.sh (`sample_loop --costs`, release; N
//! `unshare` containers each in a network namespace of its own with a veth to a bridge; same
//! busy VM; median of 20 ticks, two runs): the containers' namespaces' counters and rates 0.5
//! ms a tick at 30, 4.4–7.7 ms at 300 (~15–25 µs a namespace); with the map asked for, every
//! namespace's counters 1.2–2.9 ms at 30 and 5.9–14.3 ms at 300 a tick, and a map read 2.7–3.6
//! ms at 30 and ~46 ms at 300 (so every ~5 ticks at the 1 % budget). Events, measured with
//! bench/events-bench.sh (`sample_loop --costs`, release; N `unshare` containers with a cgroup
//! each; median of 20 ticks): 0.02 ms a tick at 30 containers, 0.04 ms at 100, 0.11 ms at 300
//! (~0.4 µs a container or cgroup), up to ~4 ms on a tick that reads a log; with PSI triggers
//! on 128 cgroups (bench/psi-bench.sh) the same, 0.03–0.04 ms.

mod options;
mod shared;

pub use options::{SamplerOptions, TickCosts};

use foldhash::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cadence::{Cadence, PartTimer};
use super::cgroups::CgroupSampler;
use super::containers::{ContainerSampler, MOVED_REGROUP_WITHIN, TickContext};
use super::events::{EventDetector, EventInputs};
use super::frame::Frame;
use super::net::{NetContext, NetSampler};
use super::pressure_triggers::{PressureTriggers, TriggerStatus};
use super::processes::ProcessTable;
use super::stacks::StackSampler;
use super::stacks::sizes::{LayerSizes, LayerSizing};
use super::summary::SummaryReader;
use crate::host::cgroup::{CgroupLayout, detect_layout};
use crate::host::container::measure::Clock;
use crate::host::namespace::{NamespaceTable, NsKind, RelationCache, build_table_cached};
use crate::host::process::{clock_ticks_per_second, read_uptime_seconds};
use crate::host::users::UserNames;
use crate::host::{HostError, HostRoot};

/// Reads the host tick after tick; owns every cache.
#[derive(Debug)]
pub struct Sampler {
    root: HostRoot,
    options: SamplerOptions,
    ticks_per_second: u64,
    is_root: bool,
    seq: u64,
    last_read: Option<Instant>,
    table: ProcessTable,
    summary: SummaryReader,
    containers: ContainerSampler,
    cgroups: CgroupSampler,
    /// Shared with the frames until it is built again.
    namespaces: Option<Arc<NamespaceTable>>,
    /// Parent/owner answers kept between builds of the namespace table.
    namespace_relations: RelationCache,
    layout: Option<CgroupLayout>,
    layout_error: Option<String>,
    users: UserNames,
    processes: shared::SharedProcesses,
    containers_cadence: Cadence,
    cgroups_cadence: Cadence,
    namespaces_cadence: Cadence,
    stacks: StackSampler,
    layer_sizes: LayerSizes,
    net: NetSampler,
    /// The Network view is shown: read the map and every namespace (see `set_net_map`).
    net_map_wanted: bool,
    events: EventDetector,
    pressure_triggers: PressureTriggers,
    costs: TickCosts,
}

/// Longest wait for a part, in ticks, however expensive it is.
const MAX_EVERY: u64 = 60;

/// At most how many ticks apart a namespace new to the table makes it be built again, whatever
/// the cost rule says (issue 17: a process that changed namespaces shows within two refreshes).
const NEW_NAMESPACE_WITHIN: u64 = 2;

/// Whether a process of `arrived` (new this tick, or whose memberships changed) is in a
/// namespace `held` does not list.
fn unlisted_namespace(held: &NamespaceTable, table: &ProcessTable, arrived: &[i32]) -> bool {
    arrived
        .iter()
        .filter_map(|&pid| table.index_of(pid))
        .any(|at| {
            table.processes()[at]
                .ns
                .iter()
                .any(|(_, inode)| held.get(inode).is_none())
        })
}

impl Sampler {
    pub fn new(root: HostRoot) -> Sampler {
        Sampler::with_options(root, SamplerOptions::default())
    }

    pub fn with_options(root: HostRoot, options: SamplerOptions) -> Sampler {
        let budget = options.part_budget;
        Sampler {
            users: UserNames::read(&root),
            processes: shared::SharedProcesses::default(),
            events: EventDetector::new(root.clone(), options.events),
            pressure_triggers: PressureTriggers::new(
                options.events.pressure_percent,
                options.pressure_triggers,
            ),
            root,
            options,
            ticks_per_second: clock_ticks_per_second(),
            is_root: nix::unistd::geteuid().is_root(),
            seq: 0,
            last_read: None,
            table: ProcessTable::new(options.reread_every),
            summary: SummaryReader::new(),
            containers: ContainerSampler::default(),
            cgroups: CgroupSampler::default(),
            namespaces: None,
            namespace_relations: RelationCache::default(),
            layout: None,
            layout_error: None,
            containers_cadence: Cadence::new(options.containers_every, budget, MAX_EVERY),
            cgroups_cadence: Cadence::new(options.cgroups_every, budget, MAX_EVERY),
            namespaces_cadence: Cadence::new(options.namespaces_every, budget, MAX_EVERY),
            stacks: StackSampler::new(options.stacks_every),
            layer_sizes: LayerSizes::new(options.layer_sizing, options.writable_every),
            net: NetSampler::new(options.net_map_every, budget, MAX_EVERY),
            net_map_wanted: false,
            costs: TickCosts::default(),
        }
    }

    /// Whether the frames carry the host's network map and every namespace's counters (the
    /// Network view is shown); returns true when that changed.
    pub fn set_net_map(&mut self, on: bool) -> bool {
        let changed = self.net_map_wanted != on;
        self.net_map_wanted = on;
        changed
    }

    /// Keeps the other mounts (beside the root and layers) of container `id`'s stack only,
    /// none with `None` (the dashboard's way: a view shows one container's mounts); returns
    /// true when a read of `id`'s is now due. Until called, every stack keeps its mounts.
    pub fn set_mounts_for(&mut self, id: Option<String>) -> bool {
        self.stacks.set_mounts_for(id)
    }

    /// Attributes limit changes with the audit log at `path` (the one this process's acts
    /// write to) instead of `host::events::audit::log_path`'s.
    pub fn set_audit_log(&mut self, path: std::path::PathBuf) {
        self.containers.set_audit_log(path.clone());
        self.events.set_audit_log(path);
    }

    /// Where the last tick's time went.
    pub fn costs(&self) -> TickCosts {
        self.costs
    }

    /// What the PSI triggers' thread has armed, as of the last tick (`isotop events` and the
    /// docs say whether pressure events may come from triggers).
    pub fn pressure_triggers(&self) -> TriggerStatus {
        self.pressure_triggers.status()
    }

    /// True when cgroup `key` — a container's own v2 cgroup
    /// ([`container_key`](super::pressure_triggers::container_key)) or a cgroup's path — has a
    /// PSI trigger armed, as of the last tick.
    pub fn pressure_trigger_armed(&self, key: &str) -> bool {
        self.pressure_triggers.is_armed(key)
    }

    /// True when the sampler holds container `id`'s stack (or why it is missing): it was in
    /// the last tick.
    pub fn holds_stack(&self, id: &str) -> bool {
        self.stacks.holds(id)
    }

    /// The layer sizer's thread id, once started (never with sizing off).
    pub fn sizer_tid(&self) -> Option<i32> {
        self.layer_sizes.sizer_tid()
    }

    /// Reads the host once. Fails only when the process list cannot be read at all (no procfs
    /// at the root); everything else that goes wrong becomes a warning in the frame.
    pub fn tick(&mut self) -> Result<Frame, HostError> {
        let started = Instant::now();
        let taken_at_ms = crate::units::now_ms();
        let seq = self.seq;
        let interval = self.last_read.map(|t| started.saturating_duration_since(t));
        let wall_usec = interval.map(|d| d.as_micros() as u64);
        // The cost rule needs an interval before there is one: assume the usual 1 s.
        let cadence_interval = interval.unwrap_or(Duration::from_secs(1));
        let mut warnings = Vec::new();
        let mut costs = TickCosts::default();

        if self.layout.is_none() && seq.is_multiple_of(10) {
            match detect_layout(&self.root) {
                Ok(layout) => {
                    self.layout = Some(layout);
                    self.layout_error = None;
                }
                Err(e) => self.layout_error = Some(format!("cgroups not shown: {e}")),
            }
        }
        warnings.extend(self.layout_error.clone());
        warnings.extend(
            crate::host::cgroup::namespace_root::namespace_roots(&self.root)
                .warning
                .clone(),
        );
        if seq > 0 && seq.is_multiple_of(self.options.users_every.max(1)) {
            self.users = UserNames::read(&self.root);
            self.processes.users_changed();
        }

        let mut host = self.summary.read(&self.root, &mut warnings);
        let uptime_seconds = read_uptime_seconds(&self.root);

        let part = Instant::now();
        let refresh = self
            .table
            .refresh(&self.root, wall_usec, self.ticks_per_second)?;
        costs.processes = part.elapsed();
        if refresh.denied > 0 {
            warnings.push(format!(
                "{} processes could not be read (permission denied): run as root to see them",
                refresh.denied
            ));
        }
        warnings.extend(refresh.warnings.iter().cloned());
        let changed = refresh.changed();

        // A process that may have begun a container is grouped this tick (a new container shows
        // within one refresh), and a moved container init within two (its own cgroup and
        // figures changed): neither waits for the cost rule.
        let begun = self
            .containers
            .may_have_begun(&self.table, &refresh.arrived);
        // Young containers' inits: read where they are now (a move the table's own checks
        // would see only later makes the grouping follow within two ticks).
        let settling = self
            .containers
            .settling_inits(uptime_seconds, self.ticks_per_second);
        let resettled = self.table.reread_settling(&self.root, &settling);
        let moved = self
            .containers_cadence
            .due_within(seq, MOVED_REGROUP_WITHIN)
            && (resettled || self.containers.inits_moved(&self.table));
        if begun || moved || self.containers_cadence.due(seq, changed) {
            let part = PartTimer::start();
            self.containers.regroup(&self.root, &self.table);
            self.containers_cadence
                .ran(seq, part.cpu(), cadence_interval);
            costs.containers = Some(part.wall());
        }
        let cx = TickContext {
            root: &self.root,
            layout: self.layout.as_ref(),
            table: &self.table,
            clock: Clock {
                uptime_seconds,
                ticks_per_second: self.ticks_per_second,
            },
        };
        let part = Instant::now();
        let mut containers = self.containers.sample(&cx, &mut warnings);
        costs.container_samples = part.elapsed();
        costs.stacks = self
            .stacks
            .fill(&self.root, seq, &mut containers, &mut warnings);
        let part = Instant::now();
        let layer_sizes = self
            .layer_sizes
            .update(&self.root, &containers, &mut warnings);
        costs.layer_sizes = (self.options.layer_sizing != LayerSizing::Off).then(|| part.elapsed());

        if let Some(layout) = &self.layout
            && self.cgroups_cadence.due(seq, false)
        {
            // A cgroup is marked with a container only where it is that container's own (the
            // ownership `measure` decided: no outsider in it or below, not a root), the same
            // rule every figure follows.
            let owners: HashMap<String, String> = containers
                .iter()
                .flat_map(|c| {
                    let id = &c.view.container.id;
                    c.view
                        .ownership
                        .iter()
                        .filter(|o| o.own)
                        .map(move |o| (o.path.clone(), id.clone()))
                })
                .collect();
            let part = PartTimer::start();
            // Every process read: the table's count lets crowded cgroups' counts be derived.
            let processes = (refresh.denied == 0).then(|| self.table.processes().len());
            let known = super::cgroups::own_readings(&containers);
            self.cgroups.read_reusing(
                &self.root,
                layout,
                &owners,
                processes,
                &known,
                &mut warnings,
            );
            self.cgroups_cadence.ran(seq, part.cpu(), cadence_interval);
            costs.cgroups = Some(part.wall());
        }
        let cgroups = Arc::clone(self.cgroups.last());

        // A namespace the table does not hold yet is listed within two ticks, cost rule or not
        // (a process that unshares every tick must not rebuild the table every tick).
        let unlisted = self.namespaces.as_ref().is_some_and(|held| {
            self.namespaces_cadence
                .due_within(seq, NEW_NAMESPACE_WITHIN)
                && unlisted_namespace(held, &self.table, &refresh.arrived)
        });
        if self.namespaces.is_none() || unlisted || self.namespaces_cadence.due(seq, changed) {
            let part = PartTimer::start();
            self.namespaces = Some(Arc::new(build_table_cached(
                &self.root,
                self.table.processes(),
                &self.users,
                &mut self.namespace_relations,
            )));
            self.namespaces_cadence
                .ran(seq, part.cpu(), cadence_interval);
            costs.namespaces = Some(part.wall());
        }
        let namespaces = self.namespaces.clone().unwrap_or_else(|| {
            Arc::new(NamespaceTable {
                host: crate::host::namespace::host_reference(&self.root, self.table.processes()),
                namespaces: Vec::new(),
                warnings: Vec::new(),
            })
        });

        let net = self.net.sample(
            &NetContext {
                root: &self.root,
                processes: self.table.processes().into(),
                host_netns: namespaces.host.ns.get(NsKind::Net),
                map_wanted: self.net_map_wanted,
                seq,
                interval: cadence_interval,
            },
            &mut containers,
            &mut warnings,
        );
        costs.net = net.cost;
        costs.net_map = net.map_cost;

        let part = Instant::now();
        let tree_read = costs.cgroups.is_some().then_some(&cgroups[..]);
        let fired = self
            .pressure_triggers
            .tick(self.layout.as_ref(), &containers, tree_read);
        costs.pressure_triggers = self.pressure_triggers.status();
        let events = self.events.detect(&EventInputs {
            containers: &containers,
            cgroups: tree_read,
            layout: self.layout.as_ref(),
            at_ms: taken_at_ms,
            fired: &fired,
        });
        costs.events = Some(part.elapsed());

        let part = Instant::now();
        let processes = self
            .processes
            .samples(&self.table, &self.users, &containers);
        let pods = super::pods::group(&containers);

        host.cgroup_mode = self.layout.as_ref().map(|l| l.mode);
        host.is_root = self.is_root;
        host.hidden = self.containers.hidden().map(str::to_string);
        host.processes = processes.len();
        host.containers = containers.len();
        host.namespaces = namespaces.namespaces.len();
        host.cgroups = cgroups.len();

        costs.frame = part.elapsed();
        self.seq += 1;
        self.last_read = Some(started);
        costs.total = started.elapsed();
        self.costs = costs;
        Ok(Frame {
            seq,
            taken_at_ms,
            interval_ms: interval.map(|d| d.as_millis() as u64),
            host,
            pods,
            containers,
            cgroups,
            namespaces,
            processes,
            warnings,
            layer_sizes,
            networks: net.networks,
            net_map: net.net_map,
            events,
        })
    }
}
