//! The detector's cgroups no container owns: OOM kills, refused forks, limit changes, freezes
//! and pressure of each, on the ticks the tree is read, against its previous reading (by path).
//!
//! A container's own cgroup and everything below it are the container's (its events come from
//! the container side), so they are skipped. On v2 a cgroup's `oom_kill` and `pids.events`
//! `max` count its descendants' too (v1 counts each cgroup's own): there its own growth is its
//! growth less its children's, so a kill deep in a tree is told once, where it happened. A
//! cgroup made since the previous read grew by all it counts (its counters started at 0).
//! Pressure counts descendants' stalls too and cannot be subtracted: a pressure state starts
//! only at a cgroup none of whose descendants (a container's own cgroups included) is above
//! the threshold for that resource or already told above — the deepest — and never at the
//! root, whose pressure is the whole host's. Above means `some avg10` at the threshold or a
//! trigger of the cgroup that fired since the previous read (`sample::pressure_triggers`).

use foldhash::HashMap;

use super::Draft;
use super::attribution::{LimitDraft, OomDraft};
use super::containers::growth;
use super::limits::limit_changes;
use super::pressure::{Crossing, PressureNow, pressure_events};
use crate::host::cgroup::{CgroupLayout, CgroupLimits, FreezerState};
use crate::host::container::measure::KernelFigures;
use crate::host::events::{Event, EventKind, Subject, Timing};
use crate::sample::frame::CgroupSample;
use crate::sample::pressure_triggers::FiredTriggers;

/// The cgroups of a flattened tree (depth-first, parents first) that no container owns, with
/// their indices: a container's own cgroup and everything below it are skipped.
pub(in crate::sample) fn unowned_cgroups(
    cgroups: &[CgroupSample],
) -> impl Iterator<Item = (usize, &CgroupSample)> {
    // The depth of the container-owned cgroup whose subtree is being walked.
    let mut owned_depth: Option<usize> = None;
    cgroups.iter().enumerate().filter(move |(_, c)| {
        if owned_depth.is_some_and(|d| c.depth <= d) {
            owned_depth = None;
        }
        if owned_depth.is_some() {
            return false;
        }
        if c.container_id.is_some() {
            owned_depth = Some(c.depth);
            return false;
        }
        true
    })
}

/// What a tree read hands the cgroups' comparison.
pub(super) struct CgroupTick<'a> {
    pub cgroups: &'a [CgroupSample],
    pub layout: Option<&'a CgroupLayout>,
    pub at_ms: u64,
    pub previous_ms: u64,
    /// The events' pressure threshold, percent.
    pub pressure_percent: f64,
    /// The triggers that fired since the previous tree read.
    pub fired: &'a FiredTriggers,
}

/// What the detector keeps of each cgroup of the last tree read.
#[derive(Debug, Default)]
pub(super) struct CgroupMemos {
    by_path: HashMap<String, Memo>,
    /// Counts the reads remembered, to drop the cgroups a read no longer has.
    read: u64,
}

#[derive(Debug)]
struct Memo {
    oom_kills: Option<u64>,
    refused_forks: Option<u64>,
    limits: CgroupLimits,
    freezer: Option<FreezerState>,
    /// CPU, memory, I/O pressure above the threshold.
    pressure: [Crossing; 3],
    read: u64,
}

fn oom_kills(c: &CgroupSample) -> Option<u64> {
    c.reading.memory.as_ref().and_then(|m| m.events.oom_kill)
}

fn refused_forks(c: &CgroupSample) -> Option<u64> {
    c.reading.pids.as_ref().and_then(|p| p.refused_forks)
}

/// Each cgroup's growth of OOM kills and refused forks, and its children's summed.
#[derive(Debug, Clone, Copy, Default)]
struct Growth {
    oom: u64,
    refused: u64,
    children_oom: u64,
    children_refused: u64,
}

impl CgroupMemos {
    /// Remembers the tree read (the baseline, or after a comparison).
    pub(super) fn remember(&mut self, cgroups: &[CgroupSample]) {
        self.read += 1;
        let read = self.read;
        for c in cgroups {
            match self.by_path.get_mut(&c.path) {
                Some(memo) => {
                    memo.oom_kills = oom_kills(c);
                    memo.refused_forks = refused_forks(c);
                    memo.freezer = c.reading.freezer;
                    // Cloned only when changed: most limits never do.
                    if memo.limits != c.reading.limits {
                        memo.limits = c.reading.limits.clone();
                    }
                    memo.read = read;
                }
                None => {
                    let memo = Memo {
                        oom_kills: oom_kills(c),
                        refused_forks: refused_forks(c),
                        limits: c.reading.limits.clone(),
                        freezer: c.reading.freezer,
                        pressure: Default::default(),
                        read,
                    };
                    self.by_path.insert(c.path.clone(), memo);
                }
            }
        }
        self.by_path.retain(|_, memo| memo.read == read);
    }

    /// Drafts the events of the tree read this tick (flattened depth-first, parents first)
    /// against the last one, and remembers this one.
    pub(super) fn compare(&mut self, tick: &CgroupTick<'_>, drafts: &mut Vec<Draft>) {
        let (cgroups, at_ms) = (tick.cgroups, tick.at_ms);
        let counts_descendants = |controller: &str| {
            tick.layout
                .is_some_and(|l| l.v1_carrying(controller).is_none())
        };
        let (oom_nested, pids_nested) = (counts_descendants("memory"), counts_descendants("pids"));
        let parents = parents(cgroups);
        let growths = self.growths(cgroups, &parents);
        let pressure: Vec<PressureNow> = cgroups
            .iter()
            .map(|c| pressure_now(c, tick.fired))
            .collect();
        let above: Vec<[bool; 3]> = cgroups
            .iter()
            .zip(&pressure)
            .map(|(c, now)| {
                let told = self.by_path.get(&c.path).map(|m| m.pressure);
                let above = now.above(tick.pressure_percent);
                std::array::from_fn(|r| above[r] || told.is_some_and(|t| t[r].is_on()))
            })
            .collect();
        let descendants_above = descendants_above(&parents, &above);
        for (at, c) in unowned_cgroups(cgroups) {
            let g = &growths[at];
            let own = |grown: u64, children: u64, nested: bool| {
                if nested {
                    grown.saturating_sub(children)
                } else {
                    grown
                }
            };
            let subject = Subject {
                container_id: None,
                name: c.path.clone(),
                cgroup: Some(c.path.clone()),
            };
            let event = |kind: EventKind, detail: String| Event {
                at_ms,
                timing: Timing::Sampled,
                subject: subject.clone(),
                kind,
                detail,
            };
            let oom = own(g.oom, g.children_oom, oom_nested);
            if oom > 0 {
                let kill = event(
                    EventKind::OomKill {
                        pid: None,
                        command: None,
                        count: oom,
                    },
                    String::new(),
                );
                drafts.push(Draft::Oom(OomDraft::new(
                    kill,
                    Vec::new(),
                    vec![c.path.clone()],
                    String::new(),
                )));
            }
            let refused = own(g.refused, g.children_refused, pids_nested);
            if refused > 0 {
                let limit = c
                    .reading
                    .limits
                    .pids_max
                    .map_or(String::new(), |l| format!(" at pids.max {l}"));
                drafts.push(Draft::Ready(event(
                    EventKind::PidsLimitHit { refused },
                    format!("{refused} fork(s) refused{limit}"),
                )));
            }
            // The rest compares with the last read: a cgroup made since has none yet.
            let Some(memo) = self.by_path.get_mut(&c.path) else {
                continue;
            };
            match (memo.freezer, c.reading.freezer) {
                (Some(FreezerState::Thawed), Some(FreezerState::Frozen)) => {
                    drafts.push(Draft::Ready(event(EventKind::Frozen, "frozen".into())));
                }
                (Some(FreezerState::Frozen), Some(FreezerState::Thawed)) => {
                    drafts.push(Draft::Ready(event(EventKind::Thawed, "thawed".into())));
                }
                _ => {}
            }
            if c.depth > 0 {
                let may_start = descendants_above[at].map(|above| !above);
                let told = pressure_events(
                    &mut memo.pressure,
                    &pressure[at],
                    may_start,
                    tick.pressure_percent,
                    at_ms,
                    &subject,
                );
                drafts.extend(told.into_iter().map(Draft::Ready));
            }
            if memo.limits != c.reading.limits {
                let targets = vec![format!("cgroup:{}", c.path)];
                for change in limit_changes(&memo.limits, &c.reading.limits, &c.reading.sources) {
                    drafts.push(Draft::Limit(LimitDraft::new(
                        subject.clone(),
                        change,
                        targets.clone(),
                        (tick.previous_ms, at_ms),
                    )));
                }
            }
        }
        self.remember(cgroups);
    }

    /// Each cgroup's growth since its last reading (all it counts when new since then; 0 when a
    /// counter went back) and the sums of
    /// its direct children's (`parents`: each cgroup's parent's index).
    fn growths(&self, cgroups: &[CgroupSample], parents: &[Option<usize>]) -> Vec<Growth> {
        let mut growths: Vec<Growth> = cgroups
            .iter()
            .map(|c| {
                // A cgroup the last read did not have was made since: its counters started at
                // 0 then, so all it counts happened since (and is not its parent's on v2).
                let memo = self.by_path.get(&c.path);
                let since = |then: Option<Option<u64>>, now: Option<u64>| match then {
                    Some(then) => growth(then, now).unwrap_or(0),
                    None => now.unwrap_or(0),
                };
                Growth {
                    oom: since(memo.map(|m| m.oom_kills), oom_kills(c)),
                    refused: since(memo.map(|m| m.refused_forks), refused_forks(c)),
                    ..Growth::default()
                }
            })
            .collect();
        for (at, parent) in parents.iter().enumerate() {
            if let Some(parent) = *parent {
                let (oom, refused) = (growths[at].oom, growths[at].refused);
                growths[parent].children_oom += oom;
                growths[parent].children_refused += refused;
            }
        }
        growths
    }
}

/// Each cgroup's parent's index in the flattened tree (`None` for the root).
fn parents(cgroups: &[CgroupSample]) -> Vec<Option<usize>> {
    // The open ancestors of the cgroup at hand: (depth, index).
    let mut ancestors: Vec<(usize, usize)> = Vec::new();
    cgroups
        .iter()
        .enumerate()
        .map(|(at, c)| {
            while ancestors.last().is_some_and(|(depth, _)| *depth >= c.depth) {
                ancestors.pop();
            }
            let parent = ancestors.last().map(|(_, parent)| *parent);
            ancestors.push((c.depth, at));
            parent
        })
        .collect()
}

/// A cgroup's pressure figures (`measure`'s, from its reading) and its triggers' fires.
fn pressure_now(c: &CgroupSample, fired: &FiredTriggers) -> PressureNow {
    let k = KernelFigures::of(Some(&c.reading));
    PressureNow {
        figures: [
            k.cpu_pressure_percent,
            k.memory_pressure_percent,
            k.io_pressure_percent,
        ],
        fires: fired.of(&c.path),
    }
}

/// Per cgroup and resource: is any of its descendants `above`.
fn descendants_above(parents: &[Option<usize>], above: &[[bool; 3]]) -> Vec<[bool; 3]> {
    let mut below = vec![[false; 3]; parents.len()];
    // Children come after their parents: walking back, a cgroup is complete before its parent.
    for at in (0..parents.len()).rev() {
        if let Some(parent) = parents[at] {
            for r in 0..3 {
                below[parent][r] |= above[at][r] || below[at][r];
            }
        }
    }
    below
}
