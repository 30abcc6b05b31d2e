//! PSI pressure triggers: the kernel tells isotop when a cgroup's tasks stalled for a share of
//! a short window, where `some avg10` (a 10 s average the sampler reads each tick) smooths a
//! stall burst of a second or two away, or shows it late.
//!
//! Contract. [`PressureTriggers`] is the sampler's end. Each tick [`PressureTriggers::tick`]
//! chooses the cgroups to watch: each running container's own v2 cgroup — on a hybrid host the
//! unified one standing in, the cgroup its `some avg10` figures come from ([`container_key`]) —
//! then the leaves of the tree no container owns that have pressure files, on the ticks the
//! tree is read (where tasks stall: an inner cgroup's pressure is its descendants', and two
//! triggers on one stall would fire apart; not the root, whose pressure is the whole host's;
//! nothing below a container's own cgroup, which is the container's); at most
//! [`MAX_CGROUPS`], containers first, then the deepest leaves; the rest are sampled only. When that set changed it hands it to a watcher thread
//! of its own (`isotop-psi`, started on the first tick with a cgroup to watch, told to end
//! when this end is dropped, with the sampler, and not waited for: closing a trigger waits for
//! the kernel), and it drains, never waiting, what the
//! thread reports: the triggers that fired ([`FiredTriggers`], by cgroup key and resource,
//! dated when the kernel woke the thread) and what is armed ([`TriggerStatus`]).
//!
//! The thread opens `<cgroup>/{cpu,memory,io}.pressure` beneath the v2 mount, every component
//! `O_NOFOLLOW` and the files `O_RDWR|O_NONBLOCK|O_CLOEXEC|O_NOFOLLOW` (a delegated subtree
//! belongs to a stranger: never follow its links, never block on it), checks that each file is
//! on a cgroup2 file system (a fixture tree, or anything else, is never written), writes
//! [`trigger_line`] — `some <stall µs> <window µs>`, the stall being the events' threshold
//! share of a 1 s window — and sleeps in `poll()` on every fd for `POLLPRI`. Such a trigger
//! needs `CAP_SYS_RESOURCE` (the kernel then checks it from a `psimon` thread of the cgroup's
//! own); without it the kernel (6.5 on) takes only 2 s multiples checked when it folds its
//! averages — which every read of the pressure file does first, isotop's own each tick — so
//! those would miss the stalls they are for: isotop does not use them
//! ([`TriggerRefusal::Unprivileged`]). Where a trigger cannot be made — that, no PSI (`psi=0`,
//! `cgroup.pressure` 0), not permitted (a user), no cgroup triggers (before 5.2), no v2
//! hierarchy (v1-only hosts: no pressure at all) — that cgroup's resource is left to sampling,
//! silently; the status says how many are armed and why the last one was refused. A cgroup removed while watched wakes
//! the poll with `POLLERR`: its fds are closed at once and it is reported gone (still chosen,
//! it is opened again). One trigger per open fd; closing the fd ends it.
//!
//! Cost: on the sampler's side a comparison of at most [`MAX_CGROUPS`] keys a tick, the set
//! sent only when it changed; the thread sleeps in `poll()` and wakes only when a trigger
//! fires (at most once per window per trigger: the kernel's rule), a cgroup goes, or the set
//! changes. Measured with bench/psi-bench.sh (300 idle leaf cgroups, 2 busy cores): 384 fds
//! and 128 `psimon` threads; the thread and the `psimon`s used under one clock tick (10 ms)
//! in 10 s idle and in 10 s of one cgroup stalling; the events part of a tick 0.04 ms, as
//! without triggers.

mod watcher;

#[cfg(test)]
mod tests;

use foldhash::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::TryRecvError;

use serde::Serialize;

use super::events::unowned_cgroups;
use super::frame::{CgroupSample, ContainerSample};
use crate::host::cgroup::{CgroupLayout, Hierarchy};
use crate::host::events::PressureResource;

/// Cgroups watched with triggers at most. Each costs three fds here (isotop's other fds — log
/// followers, netlink sockets, the sizer's walks — must stay well under the usual soft limit of
/// 1,024 open files) and, for a privileged trigger, a `psimon` kernel thread that polls the
/// cgroup's stall times ten times a window while its tasks stall. Beyond it, a cgroup's
/// pressure is sampled only (`some avg10` each tick), as on a host without PSI.
pub const MAX_CGROUPS: usize = 128;

/// A trigger's window, µs: 1 s, short enough that a burst of a second is seen within it, long
/// enough that the event means a real stall (the kernel takes 0.5–10 s).
pub const WINDOW_US: u64 = 1_000_000;

/// The only windows the kernel (6.5 on) takes without `CAP_SYS_RESOURCE` (a root in a
/// container that lacks it, a user) are multiples of 2 s; such triggers are checked when the
/// kernel folds its averages, which a read of the pressure file does first (and isotop reads
/// it each tick): they miss stalls, so isotop only probes with this window, to say why it
/// samples instead.
pub const UNPRIVILEGED_WINDOW_US: u64 = 2_000_000;

/// The PSI resources in the order every per-resource array here holds them.
pub const RESOURCES: [PressureResource; 3] = [
    PressureResource::Cpu,
    PressureResource::Memory,
    PressureResource::Io,
];

/// The file of `resource` in a cgroup's directory.
fn file_name(resource: PressureResource) -> &'static str {
    match resource {
        PressureResource::Cpu => "cpu.pressure",
        PressureResource::Memory => "memory.pressure",
        PressureResource::Io => "io.pressure",
    }
}

/// `resource`'s place in [`RESOURCES`].
pub fn resource_index(resource: PressureResource) -> usize {
    match resource {
        PressureResource::Cpu => 0,
        PressureResource::Memory => 1,
        PressureResource::Io => 2,
    }
}

/// The line that makes a trigger firing when some task stalled for at least `percent` % of
/// `window_us` (µs): `some 200000 1000000` for 20 % of 1 s. `None` when `percent` is not in
/// (0, 100] or the window is 0: the kernel wants a stall of at least 1 µs and at most the
/// window.
pub fn trigger_line(percent: f64, window_us: u64) -> Option<String> {
    if !(percent > 0.0 && percent <= 100.0) || window_us == 0 {
        return None;
    }
    let stall_us = stall_us(percent, window_us);
    Some(format!("some {stall_us} {window_us}"))
}

/// `percent` % of `window_us`, at least 1 µs and at most the window.
fn stall_us(percent: f64, window_us: u64) -> u64 {
    ((window_us as f64 * percent / 100.0).round() as u64).clamp(1, window_us)
}

/// One trigger that fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fire {
    /// When the kernel woke the watcher for it, ms since the Unix epoch.
    pub at_ms: u64,
    /// The stall it was made for, µs: at least this much stalled within `window_us`.
    pub stall_us: u64,
    pub window_us: u64,
}

impl Fire {
    /// The least share of the window stalled, percent.
    pub fn percent(&self) -> f64 {
        self.stall_us as f64 * 100.0 / self.window_us.max(1) as f64
    }
}

/// The triggers that fired, by cgroup key (its v2 path as isotop's readings name it) and
/// resource; the earliest fire of each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FiredTriggers {
    by_key: HashMap<String, [Option<Fire>; 3]>,
}

impl FiredTriggers {
    /// Notes a fire; an earlier one of the same trigger stays.
    pub fn record(&mut self, key: &str, resource: PressureResource, fire: Fire) {
        let slot = &mut self.by_key.entry(key.to_string()).or_default()[resource_index(resource)];
        if slot.is_none_or(|old| fire.at_ms < old.at_ms) {
            *slot = Some(fire);
        }
    }

    /// The fires of cgroup `key`, per resource in [`RESOURCES`] order.
    pub fn of(&self, key: &str) -> [Option<Fire>; 3] {
        self.by_key.get(key).copied().unwrap_or_default()
    }

    /// Adds `other`'s fires.
    pub fn merge(&mut self, other: &FiredTriggers) {
        for (key, fires) in &other.by_key {
            for (resource, fire) in RESOURCES.iter().zip(fires) {
                if let Some(fire) = fire {
                    self.record(key, *resource, *fire);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    pub fn clear(&mut self) {
        self.by_key.clear();
    }
}

/// Why a trigger could not be made (the last refusal the watcher met).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerRefusal {
    /// The file is not on a cgroup2 file system (a fixture tree, a bind mount of something
    /// else): never written.
    NotCgroup2,
    /// `EACCES`/`EPERM`: not root.
    NotPermitted,
    /// Without `CAP_SYS_RESOURCE` the kernel takes only 2 s windows checked when the averages
    /// are folded, which reads of the pressure file do first: such triggers miss stalls.
    Unprivileged,
    /// `EINVAL`/`EOPNOTSUPP`: PSI off, or a kernel without cgroup triggers or this window.
    Unsupported,
    /// Anything else (out of fds, a link in the way, the thread could not start).
    Other,
}

/// What the watcher has armed (in `TickCosts`, for the status line, the bench and `isotop
/// events`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TriggerStatus {
    /// Triggers armed now (one per cgroup and resource).
    pub armed: usize,
    /// Cgroups with at least one trigger armed.
    pub cgroups: usize,
    /// The window of the triggers, µs (`None` before one was made).
    pub window_us: Option<u64>,
    /// Cgroups with pressure files left to sampling because of [`MAX_CGROUPS`].
    pub beyond_budget: usize,
    /// Why the last trigger that could not be made was refused.
    pub refused: Option<TriggerRefusal>,
}

impl TriggerStatus {
    /// True while at least one trigger is armed: pressure events may come from triggers.
    pub fn on(&self) -> bool {
        self.armed > 0
    }
}

/// One cgroup to watch: its key and its directory relative to the v2 mount.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct WatchTarget {
    key: String,
    relative: PathBuf,
}

/// The key of container `c`'s triggers: its own v2 cgroup (or unified stand-in), the one its
/// `some avg10` figures come from (`measure` reads pressure from the v2 directory of its own
/// cgroups); `None` without one, or when its reading has no pressure figure.
pub fn container_key(c: &ContainerSample) -> Option<&str> {
    let k = &c.kernel;
    let pressure = [
        k.cpu_pressure_percent,
        k.memory_pressure_percent,
        k.io_pressure_percent,
    ];
    if pressure.iter().all(Option::is_none) {
        return None;
    }
    c.view
        .ownership
        .iter()
        .find(|o| o.own && o.hierarchy == "unified")
        .map(|o| o.path.as_str())
}

/// The cgroups no container owns that may be watched, with their depths: leaves with pressure
/// files, not the root, none at or below a container's own cgroup.
fn unowned_candidates(cgroups: &[CgroupSample]) -> Vec<(usize, String)> {
    unowned_cgroups(cgroups)
        .filter(|(_, c)| c.depth > 0 && !c.has_children && c.reading.pressure.is_some())
        .map(|(_, c)| (c.depth, c.path.clone()))
        .collect()
}

/// The keys to watch, sorted, and how many wanted ones the budget left out: the containers'
/// first, then the unowned cgroups deepest first.
fn choose(containers: &[&str], unowned: &[(usize, String)], budget: usize) -> (Vec<String>, usize) {
    let mut by_depth: Vec<&(usize, String)> = unowned.iter().collect();
    by_depth.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
    let mut seen = HashSet::default();
    let preferred: Vec<&str> = containers
        .iter()
        .copied()
        .chain(by_depth.iter().map(|(_, key)| key.as_str()))
        .filter(|key| seen.insert(*key))
        .collect();
    let beyond = preferred.len().saturating_sub(budget);
    let mut chosen: Vec<String> = preferred
        .into_iter()
        .take(budget)
        .map(str::to_string)
        .collect();
    chosen.sort();
    (chosen, beyond)
}

/// The target of cgroup `key` under the v2 hierarchy `v2`; `None` for its root or a path
/// outside it.
fn target(v2: &Hierarchy, key: &str) -> Option<WatchTarget> {
    let dir = v2.cgroup_dir(key)?;
    let relative = dir.strip_prefix(&v2.dir).ok()?.to_path_buf();
    (!relative.as_os_str().is_empty()).then(|| WatchTarget {
        key: key.to_string(),
        relative,
    })
}

/// The sampler's end of the triggers (see the module).
#[derive(Debug)]
pub struct PressureTriggers {
    /// The events' pressure threshold, percent: the stall share a trigger fires at.
    percent: f64,
    /// Off by the options, or for good after the thread could not start or ended.
    enabled: bool,
    worker: Option<watcher::Worker>,
    /// The keys last handed to the thread, sorted (less those it reported gone since).
    sent: Vec<String>,
    /// The unowned cgroups chosen from the last tree read.
    unowned: Vec<(usize, String)>,
    status: TriggerStatus,
    /// The keys of the cgroups with a trigger armed, as last reported.
    armed: HashSet<String>,
}

impl PressureTriggers {
    /// Triggers firing at `percent` % of the window; none at all unless `enabled`.
    pub fn new(percent: f64, enabled: bool) -> PressureTriggers {
        PressureTriggers {
            percent,
            enabled: enabled && trigger_line(percent, WINDOW_US).is_some(),
            worker: None,
            sent: Vec::new(),
            unowned: Vec::new(),
            status: TriggerStatus::default(),
            armed: HashSet::default(),
        }
    }

    /// What is armed, as last reported.
    pub fn status(&self) -> TriggerStatus {
        self.status
    }

    /// True when cgroup `key` (a container's [`container_key`], or a cgroup's path) has a
    /// trigger armed, as last reported: its pressure events may come from the kernel at once.
    pub fn is_armed(&self, key: &str) -> bool {
        self.armed.contains(key)
    }

    /// Chooses this tick's cgroups (the unowned ones from `cgroups` when the tree was read,
    /// else from the last read), hands them to the thread when they changed, and returns the
    /// fires reported since the last call. Never waits.
    pub fn tick(
        &mut self,
        layout: Option<&CgroupLayout>,
        containers: &[ContainerSample],
        cgroups: Option<&[CgroupSample]>,
    ) -> FiredTriggers {
        let mut fired = FiredTriggers::default();
        if !self.enabled {
            return fired;
        }
        if let Some(cgroups) = cgroups {
            self.unowned = unowned_candidates(cgroups);
        }
        let Some(v2) = layout.and_then(CgroupLayout::v2) else {
            return fired;
        };
        let own: Vec<&str> = containers.iter().filter_map(container_key).collect();
        let (keys, beyond) = choose(&own, &self.unowned, MAX_CGROUPS);
        self.status.beyond_budget = beyond;
        if keys != self.sent {
            let targets: Vec<WatchTarget> = keys.iter().filter_map(|k| target(v2, k)).collect();
            if self.worker.is_none() && !targets.is_empty() {
                match watcher::Worker::spawn(v2.dir.clone(), self.percent) {
                    Ok(worker) => self.worker = Some(worker),
                    Err(_) => self.stop(),
                }
            }
            if let Some(worker) = &self.worker {
                worker.watch(targets);
            }
            self.sent = keys;
        }
        self.drain(&mut fired);
        fired
    }

    /// Takes in what the thread reported since the last call.
    fn drain(&mut self, fired: &mut FiredTriggers) {
        let Some(worker) = &self.worker else {
            return;
        };
        loop {
            match worker.reports.try_recv() {
                Ok(watcher::Report::Fired {
                    key,
                    resource,
                    fire,
                }) => {
                    fired.record(&key, resource, fire);
                }
                Ok(watcher::Report::Gone(key)) => {
                    // Chosen again next tick, the set differs and the thread opens it again.
                    self.sent.retain(|k| *k != key);
                }
                Ok(watcher::Report::Status(status, armed)) => {
                    self.status = TriggerStatus {
                        beyond_budget: self.status.beyond_budget,
                        ..status
                    };
                    self.armed = armed.into_iter().collect();
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.stop();
                    return;
                }
            }
        }
    }

    /// Gives up on triggers: sampling only from now on.
    fn stop(&mut self) {
        self.enabled = false;
        self.worker = None;
        self.armed.clear();
        self.status = TriggerStatus {
            refused: Some(TriggerRefusal::Other),
            ..TriggerStatus::default()
        };
    }
}
