//! What happened since the previous tick, told as [`Event`]s: the sampler's comparison of each
//! tick's containers and cgroups with the previous tick's ([`EventDetector`], owned by the
//! `Sampler`, its events in `Frame::events`).
//!
//! Contract. The first tick is the baseline: it emits nothing (the containers already running
//! did not just start). From then on, per container (by id): `started` for an id not seen
//! before (`restarted` when it is one that exited within the last 10 minutes), `exited` when it
//! is gone (the exit code where its runtime's state, read once more then, records this run's
//! end), `restarted` when its init changed under the same id or its runtime's restart count
//! grew — but an id the kernel hands out again (an `unknown` container's pid namespace inode)
//! names another container when it comes back or its init changes: `exited` and `started`, `health_changed` when the runtime's health status changed, `frozen`/`thawed` from its
//! freezer, `oom_kill` when the kernel's OOM-kill count grew (its victim from the kernel log
//! when readable: `host::events::kmsg`), `pids_limit_hit` when refused forks grew, `throttled`
//! when the throttled share of CPU periods rises to its threshold ([`EventThresholds`]) and
//! `pressure` when a PSI `some avg10` does (sampled) or a PSI trigger of its cgroup fired
//! (`sample::pressure_triggers`, in [`EventInputs::fired`]: at once, dated when the kernel
//! woke the watcher), each again when it falls below [`END_BELOW`] of it (and no trigger
//! fired) for [`END_AFTER`] samples in a row, and
//! `limit_changed` for each limit of its own cgroup whose value changed (`by: isotop` when
//! isotop's audit log holds the act — same target, limit and value, within a few seconds —
//! else `other`). For cgroups no container owns (not below a container's own cgroup either),
//! on the ticks the tree is read: OOM kills, refused forks (their own: on v2, whose counters
//! count descendants, less their children's growth), limit changes, freezes and pressure (at
//! the deepest cgroup above, not the root; the triggers that fired between two reads count at
//! the next). A counter that went back (a cgroup made again) emits nothing. An event that
//! waits for its victim, its author or its exit code waits one tick at most, then goes as it
//! is.
//!
//! Cost: a comparison of values already in the tick (no file read) per container and, when
//! the tree was read, per cgroup; the kernel log is read only when an OOM count grew, the
//! audit log's new lines only when a limit changed, a runtime's state only when a container
//! exited.

mod attribution;
mod cgroups;
mod containers;
mod exits;
mod limits;
mod pressure;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use attribution::{GoneContainer, Sources};
pub(super) use cgroups::unowned_cgroups;
use cgroups::{CgroupMemos, CgroupTick};
use containers::ContainerMemos;

use super::frame::{CgroupSample, ContainerSample};
use crate::host::HostRoot;
use crate::host::cgroup::CgroupLayout;
use crate::host::events::Event;
use crate::sample::pressure_triggers::FiredTriggers;

/// When throttling and pressure become events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventThresholds {
    /// Throttled in at least this share of the CFS periods of an interval, percent.
    pub throttled_percent: f64,
    /// PSI `some avg10` (CPU, memory or I/O) at least this, percent; and the share of its
    /// 1 s window a PSI trigger fires at (`sample::pressure_triggers`).
    pub pressure_percent: f64,
}

impl Default for EventThresholds {
    fn default() -> Self {
        EventThresholds {
            throttled_percent: 50.0,
            pressure_percent: 20.0,
        }
    }
}

/// A state above its threshold ends once its figure falls below this share of the threshold
/// and stays there for [`END_AFTER`] samples in a row, so a figure hovering around the
/// threshold (an I/O pressure swinging between 14 and 25 %, measured here) does not flap.
pub const END_BELOW: f64 = 0.75;

/// Samples in a row below [`END_BELOW`] of the threshold that end a state (10 s at the
/// dashboard's usual 1 s).
pub const END_AFTER: u32 = 10;

/// What one tick hands the detector.
#[derive(Debug, Clone, Copy)]
pub struct EventInputs<'a> {
    pub containers: &'a [ContainerSample],
    /// The cgroup tree, on the ticks it was read (`None` between reads).
    pub cgroups: Option<&'a [CgroupSample]>,
    pub layout: Option<&'a CgroupLayout>,
    /// The tick's wall clock, ms since the Unix epoch.
    pub at_ms: u64,
    /// The PSI triggers that fired since the previous tick (`sample::pressure_triggers`).
    pub fired: &'a FiredTriggers,
}

/// An event found this tick, maybe still missing who or what it concerns.
#[derive(Debug, Clone)]
enum Draft {
    Ready(Event),
    /// An OOM kill whose victim the kernel log may name.
    Oom(Box<attribution::OomDraft>),
    /// A limit change whose author the audit log may name.
    Limit(Box<attribution::LimitDraft>),
    /// An exit whose code the runtime may record a moment later.
    Exit(Box<exits::ExitDraft>),
}

/// Compares ticks and keeps what it needs of the previous one (see the module).
#[derive(Debug)]
pub struct EventDetector {
    root: HostRoot,
    thresholds: EventThresholds,
    /// The previous tick's wall clock (`None` before the baseline).
    previous_ms: Option<u64>,
    containers: ContainerMemos,
    cgroups: CgroupMemos,
    sources: Sources,
    /// Drafts of the previous tick given one more tick.
    waiting: Vec<Draft>,
    /// The triggers that fired since the tree was last read.
    cgroup_fires: FiredTriggers,
    /// Containers gone in the last [`GONE_KEPT_MS`], and when: a cgroup's kill the kernel
    /// log places in one of them is that container's (a tick or two after its exit).
    gone: Vec<GoneContainer>,
}

/// How long a gone container may still be named by a kill told by an ancestor cgroup, ms.
const GONE_KEPT_MS: u64 = 10_000;

impl EventDetector {
    /// A detector of `root`'s events; the audit log is `host::events::audit::log_path`'s.
    pub fn new(root: HostRoot, thresholds: EventThresholds) -> EventDetector {
        let audit_log = crate::host::events::audit::log_path(&root);
        EventDetector {
            root,
            thresholds,
            previous_ms: None,
            containers: ContainerMemos::default(),
            cgroups: CgroupMemos::default(),
            sources: Sources::new(audit_log),
            waiting: Vec::new(),
            cgroup_fires: FiredTriggers::default(),
            gone: Vec::new(),
        }
    }

    /// Attributes limit changes with the audit log at `path` (the one `control::audit`
    /// writes to in this process: `isotop events` passes it), read from its end now.
    pub fn set_audit_log(&mut self, path: PathBuf) {
        self.sources.set_audit_log(path);
    }

    /// The events of this tick against the previous one, oldest first (see the module).
    pub fn detect(&mut self, inputs: &EventInputs<'_>) -> Vec<Event> {
        let Some(previous_ms) = self.previous_ms.replace(inputs.at_ms) else {
            self.containers.baseline(inputs);
            if let Some(cgroups) = inputs.cgroups {
                self.cgroups.remember(cgroups);
            }
            self.sources.open(&self.root);
            return Vec::new();
        };
        let mut drafts = Vec::new();
        self.containers
            .compare(&self.thresholds, inputs, previous_ms, &mut drafts);
        self.cgroup_fires.merge(inputs.fired);
        if let Some(cgroups) = inputs.cgroups {
            let tick = CgroupTick {
                cgroups,
                layout: inputs.layout,
                at_ms: inputs.at_ms,
                previous_ms,
                pressure_percent: self.thresholds.pressure_percent,
                fired: &self.cgroup_fires,
            };
            self.cgroups.compare(&tick, &mut drafts);
            self.cgroup_fires.clear();
        }
        let waiting = std::mem::take(&mut self.waiting);
        let pending = || waiting.iter().chain(drafts.iter());
        if pending().any(|d| matches!(d, Draft::Oom(_))) {
            self.sources.read_victims();
        }
        if pending().any(|d| matches!(d, Draft::Limit(_))) {
            self.sources.read_audit();
        }
        self.sources.forget_before(inputs.at_ms);
        let now_ms = inputs.at_ms;
        self.gone
            .retain(|g| now_ms.saturating_sub(g.at_ms) < GONE_KEPT_MS);
        self.gone.extend(drafts.iter().filter_map(|d| match d {
            Draft::Exit(exit) => Some(exit.gone(now_ms)),
            _ => None,
        }));
        // Lent to the resolution (which needs `self` mutably), put back after.
        let gone = std::mem::take(&mut self.gone);
        let mut events = Vec::with_capacity(waiting.len() + drafts.len());
        for draft in waiting {
            // A last try always gives the event.
            events.extend(self.resolve(draft, true, &gone));
        }
        for draft in drafts {
            events.extend(self.resolve(draft, false, &gone));
        }
        self.gone = gone;
        events.sort_by_key(|e| e.at_ms);
        events
    }

    /// The draft's event; `None` (unless `last_try`) when what it waits for may come by the
    /// next tick: the draft then waits in `waiting`.
    fn resolve(&mut self, draft: Draft, last_try: bool, gone: &[GoneContainer]) -> Option<Event> {
        let again = match draft {
            Draft::Ready(event) => return Some(event),
            Draft::Oom(oom) => match self.sources.name_victim(oom, last_try, gone) {
                Ok(event) => return Some(event),
                Err(oom) => Draft::Oom(oom),
            },
            Draft::Limit(limit) => match self.sources.name_author(limit, last_try) {
                Ok(event) => return Some(event),
                Err(limit) => Draft::Limit(limit),
            },
            Draft::Exit(exit) => match exit.resolve(&self.root, last_try) {
                Ok(event) => return Some(event),
                Err(exit) => Draft::Exit(exit),
            },
        };
        self.waiting.push(again);
        None
    }
}
