//! The message from the sampler to the UI: one tick's view of the host, with rates computed
//! against the previous tick. Rates that cannot be computed yet (first tick, counter reset,
//! new container) are `None`, never negative.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::pods::PodSample;
use super::rates::{IoRates, NetRates};
use crate::host::cgroup::io::IoLimits;
use crate::host::cgroup::{CgroupMode, CgroupReading, IoCounters, Limit};
use crate::host::container::measure::ContainerViewOut;
use crate::host::container::measure::KernelFigures;
use crate::host::events::Event;
use crate::host::namespace::NamespaceTable;
use crate::host::net::Counters;
use crate::host::net::map::NetMap;
use crate::host::process::Process;
use crate::host::runtime::state::RuntimeState;
use crate::host::scan::ContainerView;
use crate::host::stack::ContainerStack;
use crate::host::usage::Usage;

/// One tick of the sampler.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Frame {
    /// 0 for the first frame, +1 per tick.
    pub seq: u64,
    /// Wall clock at the start of the tick, ms since the Unix epoch.
    pub taken_at_ms: u64,
    /// Time since the previous tick's read, ms (`None` on the first frame).
    pub interval_ms: Option<u64>,
    pub host: HostSummary,
    /// Sorted by runtime, name, id (as `isotop ls`).
    pub containers: Vec<ContainerSample>,
    /// The pods among `containers`, with their totals ([`super::pods::group`]).
    pub pods: Vec<PodSample>,
    /// The cgroup tree flattened depth-first (parents before children, children by name).
    /// Shared between frames until the sampler reads the tree again.
    pub cgroups: Arc<[CgroupSample]>,
    /// Shared between frames until the sampler builds the table again.
    pub namespaces: Arc<NamespaceTable>,
    /// Ascending pid.
    pub processes: Vec<ProcessSample>,
    /// What could not be read this tick (permission, vanished trees), for the status line.
    pub warnings: Vec<String>,
    /// Sizes of the layer directories of the containers' stacks, by [`StackLayer::key`]
    /// (a layer shared by many containers is sized once). Empty when the sampler sizes nothing
    /// (its default; the dashboard turns sizing on). Shared between frames until it changes.
    ///
    /// [`StackLayer::key`]: crate::host::stack::StackLayer::key
    pub layer_sizes: Arc<BTreeMap<PathBuf, LayerSize>>,
    /// The network namespaces read this tick, ordered by inode: every tick those that are a
    /// container's own (`host::net::own_netns`); while the Network view asks
    /// (`Sampler::set_net_map`), every namespace on the host.
    pub networks: Vec<NetnsSample>,
    /// The host's network map (bridges → ports → the containers at their other ends), read
    /// only while the Network view asks for it, on a cadence; `None` otherwise. Shared between
    /// frames until read again.
    pub net_map: Option<Arc<NetMap>>,
    /// What happened since the previous tick (`sample::events`), oldest first: the app keeps
    /// a bounded list of them for the Events view and the Containers view's mark.
    pub events: Vec<Event>,
}

/// One network namespace's traffic this tick (counters: `host::net::read_counters`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetnsSample {
    /// Its nsfs inode.
    pub inode: u64,
    /// The host's own namespace.
    pub host: bool,
    /// Ids of the containers whose own namespace it is (a pod's containers share one).
    pub containers: Vec<String>,
    /// When its counters were read, ms since the Unix epoch.
    pub read_at_ms: u64,
    /// Its interfaces, in the order read.
    pub interfaces: Vec<InterfaceSample>,
    /// Over its interfaces but loopback (`NetnsCounters::total`).
    pub total: Counters,
    pub rates: NetRates,
}

/// One interface's traffic this tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterfaceSample {
    /// Cleaned.
    pub name: String,
    pub counters: Counters,
    pub rates: NetRates,
}

/// A container's network: its own namespace's figures (`host::net::own_netns`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerNet {
    pub netns: u64,
    /// How many of the frame's containers have this namespace as their own: 1 alone, more in
    /// a pod, whose members show the same figures and count them once in any total.
    pub sharing: usize,
    /// Totals over its interfaces but loopback, since each was made.
    pub counters: Counters,
    pub rates: NetRates,
}

/// What the sampler knows of one layer directory's size (from `sample::sizer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum LayerSize {
    /// Asked for, not walked yet.
    Queued,
    /// A walk under way: the figures so far.
    Sizing { so_far: Usage },
    /// Walked; `at_ms` when the walk ended (ms since the Unix epoch).
    Sized { usage: Usage, at_ms: u64 },
    /// Could not be sized; why, cleaned.
    Failed { reason: String },
}

/// The header's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSummary {
    pub hostname: String,
    /// `uname -r`.
    pub kernel: String,
    pub cgroup_mode: Option<CgroupMode>,
    /// isotop runs as root (acts and every file readable).
    pub is_root: bool,
    /// The CPUs `/proc/stat` lists (0 when it could not be read), known from the first frame.
    #[serde(default)]
    pub cpus: usize,
    /// Busy share of each CPU over the last interval, percent (0–100 each; empty on the first
    /// frame: a share needs two reads).
    pub cpu_percent_per_core: Vec<f64>,
    /// Busy share of all CPUs, percent of the whole machine (0–100).
    pub cpu_percent_total: Option<f64>,
    pub memory_total_bytes: u64,
    /// `MemAvailable`.
    pub memory_available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_free_bytes: u64,
    /// 1, 5 and 15 minute load averages.
    pub load: [f64; 3],
    pub uptime_seconds: f64,
    pub processes: usize,
    pub containers: usize,
    pub namespaces: usize,
    pub cgroups: usize,
    /// Not root: what this user cannot see, e.g. `3 containers of runc, crun need root: ...`
    /// (see `host::container::hidden`); `None` as root or when nothing is hidden.
    pub hidden: Option<String>,
}

/// A container with this tick's rates and the figures its row and bars show.
///
/// Serialized through [`ContainerSampleOut`] (the same fields, in this order), so a writer can
/// put other values in the places of `stack`, the cgroup reading and the ownership list
/// ([`ContainerSample::with_parts_as`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ContainerSample {
    #[serde(flatten)]
    pub view: ContainerView,
    /// Share of one CPU over the last interval, percent (200 = two CPUs busy).
    pub cpu_percent: Option<f64>,
    /// Share of the CFS periods in the last interval in which it was throttled, percent.
    pub throttled_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub memory_limit_bytes: Option<Limit<u64>>,
    /// quota / period in CPUs.
    pub cpu_limit_cpus: Option<Limit<f64>>,
    /// (Written as `pids_count`: the flattened container's `pids` is its list of pids.)
    #[serde(rename = "pids_count")]
    pub pids: usize,
    pub pids_limit: Option<Limit<u64>>,
    /// Pressure, throttling counters, OOM kills and refused forks in total (`measure`'s).
    pub kernel: KernelFigures,
    /// OOM kills since isotop started (see `sample::containers`); `None` without a count.
    pub oom_kills_since_start: Option<u64>,
    /// Its root, mounts and layers (`host::stack::read_stack`), read when the container is
    /// first seen, when its init changed, and every `SamplerOptions::stacks_every` ticks; `None` when not read (stopped, gone, unreadable: the
    /// reason is a warning). Shared between frames.
    pub stack: Option<Arc<ContainerStack>>,
    /// Block I/O of its own cgroup, totals (`measure`'s `Figures::io`); `None` without one.
    pub io: Option<IoCounters>,
    /// Per second since the previous tick (`sample::rates::io_rates`).
    pub io_rates: IoRates,
    /// Its own cgroup's I/O limits (`measure`'s `Figures::io_limits`).
    pub io_limits: Option<IoLimits>,
    /// Its network (`None`: it shares the host's namespace, it is stopped, or its namespace
    /// could not be read — a warning says why).
    pub net: Option<ContainerNet>,
    /// Restarts, health and last exit as its runtime records them (`host::runtime::state`),
    /// read with the grouping; `None` when the runtime records none.
    pub runtime_state: Option<RuntimeState>,
}

/// How a [`ContainerSample`] serializes: its fields borrowed, in its order, with `stack`
/// standing for whatever `S` is — the stack itself, or (the trouble ring's fingerprints) a
/// stand-in for one already known, so the 400 containers' mount lists (~10 KB each, shared by
/// `Arc` from tick to tick) are not walked again every tick; the view's cgroup reading and
/// ownership list the same with `C` and `O` ([`ContainerViewOut`]).
#[derive(Serialize)]
pub struct ContainerSampleOut<'a, S: Serialize, C: Serialize, O: Serialize> {
    #[serde(flatten)]
    view: ContainerViewOut<'a, C, O>,
    cpu_percent: Option<f64>,
    throttled_percent: Option<f64>,
    memory_bytes: Option<u64>,
    memory_limit_bytes: &'a Option<Limit<u64>>,
    cpu_limit_cpus: &'a Option<Limit<f64>>,
    #[serde(rename = "pids_count")]
    pids: usize,
    pids_limit: &'a Option<Limit<u64>>,
    kernel: &'a KernelFigures,
    oom_kills_since_start: Option<u64>,
    stack: S,
    io: &'a Option<IoCounters>,
    io_rates: &'a IoRates,
    io_limits: &'a Option<IoLimits>,
    net: &'a Option<ContainerNet>,
    runtime_state: &'a Option<RuntimeState>,
}

impl ContainerSample {
    /// Its serialization with `stack` in the stack's place, `cgroup` in the cgroup reading's
    /// and `ownership` in the ownership list's (see [`ContainerSampleOut`]).
    pub fn with_parts_as<S: Serialize, C: Serialize, O: Serialize>(
        &self,
        stack: S,
        cgroup: C,
        ownership: O,
    ) -> ContainerSampleOut<'_, S, C, O> {
        ContainerSampleOut {
            view: self.view.with_parts_as(cgroup, ownership),
            cpu_percent: self.cpu_percent,
            throttled_percent: self.throttled_percent,
            memory_bytes: self.memory_bytes,
            memory_limit_bytes: &self.memory_limit_bytes,
            cpu_limit_cpus: &self.cpu_limit_cpus,
            pids: self.pids,
            pids_limit: &self.pids_limit,
            kernel: &self.kernel,
            oom_kills_since_start: self.oom_kills_since_start,
            stack,
            io: &self.io,
            io_rates: &self.io_rates,
            io_limits: &self.io_limits,
            net: &self.net,
            runtime_state: &self.runtime_state,
        }
    }
}

impl Serialize for ContainerSample {
    fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        self.with_parts_as(&self.stack, &self.view.cgroup, &self.view.ownership)
            .serialize(serializer)
    }
}

/// One cgroup of the flattened tree.
///
/// Serialized through [`CgroupSampleOut`] (the same fields, in this order), so a writer can
/// put another value in the reading's place ([`CgroupSample::with_reading_as`]).
#[derive(Debug, Clone, Deserialize)]
pub struct CgroupSample {
    pub path: String,
    pub name: String,
    /// 0 for the root of the sampled tree.
    pub depth: usize,
    pub has_children: bool,
    /// Shared with the container whose own cgroup it is (`sample::cgroups`).
    pub reading: Arc<CgroupReading>,
    pub cpu_percent: Option<f64>,
    pub throttled_percent: Option<f64>,
    /// The container whose own cgroup this is.
    pub container_id: Option<String>,
    /// Block I/O per second since its previous reading (from `reading.io`'s totals).
    pub io_rates: IoRates,
}

/// How a [`CgroupSample`] serializes: its fields borrowed, in its order, with `reading`
/// standing for whatever `R` is — the reading itself, or (the trouble ring's fingerprints) a
/// stand-in for one already known: a container's own cgroup's node shares the container's
/// reading, itself shared from tick to tick while it does not change.
#[derive(Serialize)]
pub struct CgroupSampleOut<'a, R: Serialize> {
    path: &'a str,
    name: &'a str,
    depth: usize,
    has_children: bool,
    reading: R,
    cpu_percent: Option<f64>,
    throttled_percent: Option<f64>,
    container_id: &'a Option<String>,
    io_rates: &'a IoRates,
}

impl CgroupSample {
    /// Its serialization with `reading` in the reading's place (see [`CgroupSampleOut`]).
    pub fn with_reading_as<R: Serialize>(&self, reading: R) -> CgroupSampleOut<'_, R> {
        CgroupSampleOut {
            path: &self.path,
            name: &self.name,
            depth: self.depth,
            has_children: self.has_children,
            reading,
            cpu_percent: self.cpu_percent,
            throttled_percent: self.throttled_percent,
            container_id: &self.container_id,
            io_rates: &self.io_rates,
        }
    }
}

impl Serialize for CgroupSample {
    fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        self.with_reading_as(&self.reading).serialize(serializer)
    }
}

/// A process with this tick's CPU rate and where it belongs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessSample {
    /// Shared with the previous frames while it does not change (`sample::sampler::shared`).
    #[serde(flatten)]
    pub process: Arc<Process>,
    /// Share of one CPU over the last interval, percent.
    pub cpu_percent: Option<f64>,
    /// One copy per user name, shared by all its processes.
    pub user: Arc<str>,
    /// One copy per container, shared by all its processes.
    pub container_id: Option<Arc<str>>,
}

impl LayerSize {
    /// The layer's size on disk in bytes (allocated, as `du` counts; hard links once), once
    /// fully walked: the one byte figure every view of a layer shows.
    pub fn bytes(&self) -> Option<u64> {
        match self {
            LayerSize::Sized { usage, .. } => Some(usage.allocated_bytes),
            _ => None,
        }
    }

    /// The figures walked so far or in full.
    pub fn usage(&self) -> Option<&Usage> {
        match self {
            LayerSize::Sized { usage, .. } => Some(usage),
            LayerSize::Sizing { so_far } => Some(so_far),
            LayerSize::Queued | LayerSize::Failed { .. } => None,
        }
    }
}

impl Frame {
    /// What the sampler knows of the size of container `c`'s writable layer (`None`: its root
    /// is not overlay, its stack was not read, or sizing is off).
    pub fn writable_size(&self, c: &ContainerSample) -> Option<&LayerSize> {
        let layer = c.stack.as_ref()?.writable()?;
        self.layer_sizes.get(layer.key())
    }

    /// The writable layer's size on disk in bytes (allocated, as `du` counts; hard links
    /// once), once fully walked: the one figure the RW SIZE column, the growth chart, `ls` and
    /// `inspect` show.
    pub fn writable_bytes(&self, c: &ContainerSample) -> Option<u64> {
        self.writable_size(c)?.bytes()
    }

    /// The process `pid` of this frame (`processes` is sorted by pid), if it was read.
    pub fn process(&self, pid: i32) -> Option<&ProcessSample> {
        self.processes
            .binary_search_by_key(&pid, |p| p.process.pid)
            .ok()
            .map(|i| &self.processes[i])
    }

    /// The command line `pid` runs (its name when the cmdline is empty), or `""` when the
    /// process is not in this frame (it ended, or started after the read).
    pub fn command_of(&self, pid: i32) -> String {
        self.process(pid)
            .map(|p| p.process.command())
            .unwrap_or_default()
    }
}
