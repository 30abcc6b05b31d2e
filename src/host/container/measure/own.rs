//! Which of a container's cgroups a figure may come from, and where each figure came from.
//!
//! Contract: [`Census`] indexes a process snapshot by cgroup (per hierarchy id and path, built
//! once per snapshot on the first question, from each distinct membership list once), and
//! keeps the readings of cgroups containers share for the snapshot's length, so a cgroup many
//! containers share (the root, for containers without cgroups of their own) is read once per
//! snapshot, not once per container.
//! `super::cgroup_ownership` answers from it which of a container's cgroups are its own.
//! [`FigureSources`] names, per figure,
//! the source `measure` took it from: the controller's own cgroup, the unified cgroup standing
//! in for a shared v1 one (hybrid hosts), the sum over the container's processes, a limit
//! inherited from a cgroup it shares, or nothing (with a note).

use foldhash::HashMap;
use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::super::assign::is_at_or_below;
use super::super::assign::own_cgroup::is_v2;
use super::carry::Carry;
use super::cgroup_ownership::CgroupOwnership;
use crate::host::cgroup::{
    self, CgroupLayout, CgroupMode, CgroupReading, InheritedLimit, KeptLimits, Limit,
};
use crate::host::process::{CgroupMembership, Process, Records};
use crate::host::{HostError, HostRoot};

/// Pids, ascending, shared by every container asking about the same cgroup in one snapshot.
type SharedPids = Rc<[i32]>;

/// A list of cgroup memberships as a key: (hierarchy id, path) each.
type MembershipKey = Vec<(u32, String)>;

/// A snapshot's processes, and which pids sit directly in each cgroup.
pub struct Census<'p> {
    processes: Records<'p>,
    /// The processes' pids, same order: looked up by every container (a search of the
    /// records themselves misses the cache at each step).
    pids: OnceCell<Vec<i32>>,
    holders: OnceCell<BTreeMap<(u32, &'p str), Vec<i32>>>,
    /// Readings of shared cgroups, by their (hierarchy, path) memberships: one read a snapshot
    /// (400 containers sharing the root read it 400 times a tick without it: 2.2 s of a 2.4 s
    /// tick on the 11,700-process population, measured).
    /// Handed out shared: a reading copied per container was ~2.7 ms a tick for 400.
    shared: RefCell<HashMap<MembershipKey, Option<Rc<CgroupReading>>>>,
    /// The pids at or below each cgroup asked about, ascending: each collected once a
    /// snapshot (every container in `/process_api/x` asks for the same 11,700) and handed
    /// out shared, not copied (a copy per container was ~5 ms a tick on that population).
    /// By hierarchy, then path (looked up by a borrowed path: no key made per question).
    subtrees: RefCell<HashMap<u32, HashMap<String, SharedPids>>>,
    /// What the caller carries between ticks (the sampler), if anything.
    pub(super) carry: Option<RefCell<&'p mut Carry>>,
}

impl<'p> Census<'p> {
    /// The processes read at one moment, ascending pid.
    pub fn new(processes: impl Into<Records<'p>>) -> Census<'p> {
        Census {
            processes: processes.into(),
            pids: OnceCell::new(),
            holders: OnceCell::new(),
            shared: RefCell::default(),
            subtrees: RefCell::default(),
            carry: None,
        }
    }

    /// [`Census::new`], measuring with what `carry` kept from earlier ticks (limits read on a
    /// cadence: `super::carry`). The caller brackets the tick with `Carry::begin_tick` and
    /// `Carry::end_tick`.
    pub fn carrying(processes: impl Into<Records<'p>>, carry: &'p mut Carry) -> Census<'p> {
        Census {
            carry: Some(RefCell::new(carry)),
            ..Census::new(processes)
        }
    }

    /// The limits to carry into this tick's reading of container `id`'s own cgroups, when
    /// they are not due (never without a carry).
    pub(super) fn kept_limits(&self, id: &str, own: &[CgroupMembership]) -> Option<KeptLimits> {
        self.carry.as_ref()?.borrow_mut().limits_for(id, own)
    }

    /// Reads the own cgroups `own` ([`cgroup::read_own_keeping`]) through the carry's kept-open
    /// directories (by path without a carry).
    pub(super) fn read_own(
        &self,
        root: &HostRoot,
        layout: &CgroupLayout,
        own: &[CgroupMembership],
        kept: Option<&KeptLimits>,
    ) -> Result<Option<CgroupReading>, HostError> {
        match &self.carry {
            Some(carry) => {
                let mut carry = carry.borrow_mut();
                cgroup::read_own_keeping(root, layout, own, kept, Some(carry.dirs_mut()))
            }
            None => cgroup::read_own_keeping(root, layout, own, kept, None),
        }
    }

    /// Keeps a full reading's limits for later ticks (nothing without a carry).
    pub(super) fn keep_limits(
        &self,
        id: &str,
        own: &[CgroupMembership],
        reading: Option<&CgroupReading>,
    ) {
        if let Some(carry) = &self.carry {
            let mut carry = carry.borrow_mut();
            match reading {
                Some(reading) => carry.keep(id, own, reading),
                None => carry.forget(id),
            }
        }
    }

    /// Follows the process count of this tick's reading of container `id`'s own cgroups,
    /// made with carried limits (nothing without a carry).
    pub(super) fn follow_count(&self, id: &str, reading: &CgroupReading) {
        if let Some(carry) = &self.carry {
            carry.borrow_mut().follow(id, reading);
        }
    }

    /// Container `id`'s reading of its own cgroups, shared: the last tick's when equal
    /// (`Carry::share_reading`; without a carry, a new one).
    pub(super) fn share_reading(
        &self,
        id: &str,
        reading: Option<CgroupReading>,
    ) -> Option<Arc<CgroupReading>> {
        match &self.carry {
            Some(carry) => carry.borrow_mut().share_reading(id, reading),
            None => reading.map(Arc::new),
        }
    }

    /// The reading of the shared cgroups `memberships`, read by `read` the first time this
    /// snapshot asks for them.
    pub(super) fn shared_reading(
        &self,
        memberships: &[CgroupMembership],
        read: impl FnOnce() -> Option<CgroupReading>,
    ) -> Option<Rc<CgroupReading>> {
        let key: MembershipKey = memberships
            .iter()
            .map(|m| (m.hierarchy, m.path.clone()))
            .collect();
        if let Some(reading) = self.shared.borrow().get(&key) {
            return reading.clone();
        }
        let reading = read().map(Rc::new);
        self.shared.borrow_mut().insert(key, reading.clone());
        reading
    }

    pub fn processes(&self) -> Records<'p> {
        self.processes
    }

    /// The processes' pids, in their order (ascending), listed once a snapshot.
    pub(super) fn pids(&self) -> &[i32] {
        self.pids
            .get_or_init(|| self.processes.iter().map(|p| p.pid).collect())
    }

    /// The process `pid` of the snapshot.
    pub(super) fn find(&self, pid: i32) -> Option<&'p Process> {
        let at = self.pids().binary_search(&pid).ok()?;
        self.processes.get(at)
    }

    fn holders(&self) -> &BTreeMap<(u32, &'p str), Vec<i32>> {
        self.holders.get_or_init(|| {
            // Most processes share one membership list (the sampler keeps one copy of each):
            // index each distinct list once.
            let mut lists: HashMap<*const CgroupMembership, (&'p [CgroupMembership], Vec<i32>)> =
                HashMap::default();
            for p in self.processes.iter().filter(|p| !p.kernel_thread) {
                let list: &'p [CgroupMembership] = &p.cgroups;
                lists
                    .entry(list.as_ptr())
                    .or_insert_with(|| (list, Vec::new()))
                    .1
                    .push(p.pid);
            }
            let mut holders: BTreeMap<(u32, &'p str), Vec<i32>> = BTreeMap::new();
            for (list, pids) in lists.into_values() {
                for m in list {
                    holders
                        .entry((m.hierarchy, m.path.as_str()))
                        .or_default()
                        .extend_from_slice(&pids);
                }
            }
            holders
        })
    }

    /// Pids in `path` of hierarchy `hierarchy` and in its descendants.
    pub(super) fn pids_at_or_below(&self, hierarchy: u32, path: &str) -> SharedPids {
        if let Some(pids) = self
            .subtrees
            .borrow()
            .get(&hierarchy)
            .and_then(|paths| paths.get(path))
        {
            return Rc::clone(pids);
        }
        let mut pids = self.collect_at_or_below(hierarchy, path);
        pids.sort_unstable();
        pids.dedup();
        let pids: SharedPids = pids.into();
        self.subtrees
            .borrow_mut()
            .entry(hierarchy)
            .or_default()
            .insert(path.to_string(), Rc::clone(&pids));
        pids
    }

    fn collect_at_or_below(&self, hierarchy: u32, path: &str) -> Vec<i32> {
        let base = path.trim_end_matches('/');
        // Every path starting with `base` sorts in one run from `base` on; the run also holds
        // siblings like `base-x`, which `is_at_or_below` leaves out.
        self.holders()
            .range((hierarchy, base)..)
            .take_while(|((h, p), _)| *h == hierarchy && p.starts_with(base))
            .filter(|((_, p), _)| is_at_or_below(p, base))
            .flat_map(|(_, pids)| pids.iter().copied())
            .collect()
    }
}

/// Where a figure came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureSource {
    /// The controller's own cgroup (the container's alone).
    OwnCgroup,
    /// The container's own cgroup in the unified hierarchy, standing in for a v1 cgroup it
    /// shares (hybrid hosts: every unified cgroup has `cpu.stat` usage).
    Unified,
    /// The sum over its processes' `/proc/<pid>/stat` (CPU: utime + stime; memory: the
    /// resident set, as `statm` has it).
    Processes,
    /// A limit of a cgroup it shares with others: it binds the container with them, it is
    /// not the container's own.
    Inherited,
    /// No source that is the container's own: the figure is null.
    #[default]
    Unavailable,
}

impl FigureSource {
    /// The word shown and serialised: `own_cgroup`, `unified`, `processes`, `inherited`,
    /// `unavailable`.
    pub fn as_str(self) -> &'static str {
        match self {
            FigureSource::OwnCgroup => "own_cgroup",
            FigureSource::Unified => "unified",
            FigureSource::Processes => "processes",
            FigureSource::Inherited => "inherited",
            FigureSource::Unavailable => "unavailable",
        }
    }
}

/// One figure's source: the kind, the file (or fallback) and, when there is none, why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub from: FigureSource,
    /// The kernel file (`/sys/fs/cgroup/unified/payload/cpu.stat`) or files
    /// (`/proc/<pid>/stat`) it was read from. A fixed text is borrowed, not copied: every
    /// container's sources are made every tick.
    pub file: Option<Cow<'static, str>>,
    pub note: Option<Cow<'static, str>>,
}

impl Source {
    fn file(from: FigureSource, file: impl Into<Cow<'static, str>>) -> Source {
        Source {
            from,
            file: Some(file.into()),
            note: None,
        }
    }

    fn none(note: impl Into<Cow<'static, str>>) -> Source {
        Source {
            from: FigureSource::Unavailable,
            file: None,
            note: Some(note.into()),
        }
    }
}

/// Per figure, where `measure` took it from (`sources` in `isotop inspect --json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FigureSources {
    pub cpu: Source,
    pub memory: Source,
    pub memory_limit: Source,
    pub cpu_limit: Source,
    pub pids_limit: Source,
    /// Block I/O counters: its own cgroup's `io.stat` or `blkio` file, else none (a shared
    /// cgroup's I/O is not its own; no per-process fallback).
    pub io: Source,
}

/// The limits of the cgroups a container shares (`None` where it has its own or none is set).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InheritedLimits {
    pub memory_max_bytes: Option<InheritedLimit<u64>>,
    pub cpu_cpus: Option<InheritedLimit<f64>>,
    pub pids_max: Option<InheritedLimit<u64>>,
}

impl InheritedLimits {
    /// The limits `shared` (a reading of the container's shared cgroups) holds where `own`
    /// has none; each names the shared cgroup of its controller.
    pub fn of(
        own: Option<&CgroupReading>,
        shared: Option<&CgroupReading>,
        owned: &[CgroupOwnership],
    ) -> InheritedLimits {
        let Some(shared) = shared else {
            return InheritedLimits::default();
        };
        let mine = own.map(|r| &r.limits);
        let cgroup_of = |controller: &str| {
            owned
                .iter()
                .filter(|o| !o.own)
                .find(|o| o.membership.controllers.iter().any(|c| c == controller))
                .or_else(|| owned.iter().find(|o| !o.own && is_v2(&o.membership)))
                .map(|o| o.path.clone())
                .unwrap_or_else(|| "/".into())
        };
        // Only where the container has no limit of its own (a nested own limit binds first).
        fn inherit<T>(
            own: Option<Limit<T>>,
            shared: Option<Limit<T>>,
            cgroup: String,
        ) -> Option<InheritedLimit<T>> {
            match own {
                Some(_) => None,
                None => shared.map(|limit| InheritedLimit { limit, cgroup }),
            }
        }
        InheritedLimits {
            memory_max_bytes: inherit(
                mine.and_then(|l| l.memory_max_bytes),
                shared.limits.memory_max_bytes,
                cgroup_of("memory"),
            ),
            cpu_cpus: inherit(
                mine.and_then(|l| l.cpu_limit_cpus()),
                shared.limits.cpu_limit_cpus(),
                cgroup_of("cpu"),
            ),
            pids_max: inherit(
                mine.and_then(|l| l.pids_max),
                shared.limits.pids_max,
                cgroup_of("pids"),
            ),
        }
    }

    pub fn is_empty(&self) -> bool {
        self == &InheritedLimits::default()
    }
}

impl FigureSources {
    /// The sources of a container's figures: `own` is the reading of its own cgroups,
    /// `shared` of those it shares, `inherited` the limits it inherits from them
    /// ([`InheritedLimits::of`] the same readings), `has_processes` whether it has any.
    pub fn of(
        layout: Option<&CgroupLayout>,
        own: Option<&CgroupReading>,
        shared: Option<&CgroupReading>,
        inherited: &InheritedLimits,
        has_processes: bool,
    ) -> FigureSources {
        let file = |reading: Option<&CgroupReading>, field: &str| {
            reading
                .and_then(|r| r.sources.get(field))
                // Not `display()`: its formatting of every container's paths every tick
                // was ~1 % of a dashboard run's instructions (callgrind).
                .map(|p| p.to_string_lossy().into_owned())
        };
        let hybrid = layout.is_some_and(|l| l.mode == CgroupMode::Hybrid);
        let processes = |file: &'static str| {
            if has_processes {
                Source::file(FigureSource::Processes, file)
            } else {
                Source::none("no cgroup of its own and no process to sum over")
            }
        };
        let cpu = match file(own, "cpu.usage_usec") {
            // On a hybrid host `cpu.stat` usage is the unified cgroup's (v1 has cpuacct).
            Some(f) if hybrid && f.ends_with("cpu.stat") => Source::file(FigureSource::Unified, f),
            Some(f) => Source::file(FigureSource::OwnCgroup, f),
            None => processes("/proc/<pid>/stat (utime + stime)"),
        };
        let memory = match file(own, "memory.usage_bytes") {
            Some(f) => Source::file(FigureSource::OwnCgroup, f),
            None => processes("/proc/<pid>/stat (resident set)"),
        };
        // The shared reading's file is looked up only when it is the source.
        let limit = |field: &str, inherited: bool| match file(own, field) {
            Some(f) => Source::file(FigureSource::OwnCgroup, f),
            None => match file(shared, field).filter(|_| inherited) {
                Some(f) => Source::file(FigureSource::Inherited, f),
                None => Source::none("no such limit in a cgroup of its own or one it shares"),
            },
        };
        FigureSources {
            cpu,
            memory,
            memory_limit: limit(
                "limits.memory_max_bytes",
                inherited.memory_max_bytes.is_some(),
            ),
            cpu_limit: limit("limits.cpu_quota_usec", inherited.cpu_cpus.is_some()),
            pids_limit: limit("limits.pids_max", inherited.pids_max.is_some()),
            io: io_source(own, file(own, "io.read_bytes_total")),
        }
    }
}

/// Where a container's I/O counters come from: `file` (its own reading's bytes file) or why
/// there are none. v1 blk-throttle counting only some devices is said in the note.
fn io_source(own: Option<&CgroupReading>, file: Option<String>) -> Source {
    let io = own.and_then(|r| r.io.as_ref());
    let counted = io.and_then(|io| io.counted_devices.as_ref());
    match (file, counted) {
        (Some(f), None) => Source::file(FigureSource::OwnCgroup, f),
        (Some(f), Some(devices)) => Source {
            note: Some(
                format!(
                    "cgroup v1 blk-throttle counts only the devices it is active on (a throttle limit was set on them at some time): {}",
                    devices.join(", ")
                )
                .into(),
            ),
            ..Source::file(FigureSource::OwnCgroup, f)
        },
        (None, Some(_)) => Source::none(
            "cgroup v1 blk-throttle counts no device's I/O here: it counts a device only once \
             a throttle limit was set on it (any cgroup; `isotop limit --device-read-bps`)",
        ),
        (None, None) if io.is_some() => {
            Source::none("its own cgroup's I/O file has no byte counts")
        }
        (None, None) if own.is_some() => Source::none(
            "its own cgroup has no I/O statistics (v2: io is not enabled in the parent's \
             cgroup.subtree_control; v1: no blkio cgroup of its own)",
        ),
        (None, None) => Source::none("no cgroup of its own: a shared cgroup's I/O is not its own"),
    }
}
