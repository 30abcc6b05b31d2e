//! The detector's cgroups no container owns: OOM kills, refused forks, limit changes and
//! freezes of each, on the ticks the tree is read, against its previous reading (by path).
//!
//! A container's own cgroup and everything below it are the container's (its events come from
//! the container side), so they are skipped. On v2 a cgroup's `oom_kill` and `pids.events`
//! `max` count its descendants' too (v1 counts each cgroup's own): there its own growth is its
//! growth less its children's, so a kill deep in a tree is told once, where it happened.

use std::collections::HashMap;

use super::Draft;
use super::attribution::{LimitDraft, OomDraft};
use super::containers::growth;
use super::limits::limit_changes;
use crate::host::cgroup::{CgroupLayout, CgroupLimits, FreezerState};
use crate::host::events::{Event, EventKind, Subject, Timing};
use crate::sample::frame::CgroupSample;

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
    pub(super) fn compare(
        &mut self,
        cgroups: &[CgroupSample],
        layout: Option<&CgroupLayout>,
        at_ms: u64,
        previous_ms: u64,
        drafts: &mut Vec<Draft>,
    ) {
        let counts_descendants =
            |controller: &str| layout.is_some_and(|l| l.v1_carrying(controller).is_none());
        let (oom_nested, pids_nested) = (counts_descendants("memory"), counts_descendants("pids"));
        let growths = self.growths(cgroups);
        // The depth of the container-owned cgroup whose subtree is being walked.
        let mut owned_depth: Option<usize> = None;
        for (c, g) in cgroups.iter().zip(&growths) {
            if owned_depth.is_some_and(|d| c.depth <= d) {
                owned_depth = None;
            }
            if owned_depth.is_some() {
                continue;
            }
            if c.container_id.is_some() {
                owned_depth = Some(c.depth);
                continue;
            }
            let Some(memo) = self.by_path.get(&c.path) else {
                continue;
            };
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
            match (memo.freezer, c.reading.freezer) {
                (Some(FreezerState::Thawed), Some(FreezerState::Frozen)) => {
                    drafts.push(Draft::Ready(event(EventKind::Frozen, "frozen".into())));
                }
                (Some(FreezerState::Frozen), Some(FreezerState::Thawed)) => {
                    drafts.push(Draft::Ready(event(EventKind::Thawed, "thawed".into())));
                }
                _ => {}
            }
            if memo.limits != c.reading.limits {
                let targets = vec![format!("cgroup:{}", c.path)];
                for change in limit_changes(&memo.limits, &c.reading.limits, &c.reading.sources) {
                    drafts.push(Draft::Limit(LimitDraft::new(
                        subject.clone(),
                        change,
                        targets.clone(),
                        (previous_ms, at_ms),
                    )));
                }
            }
        }
        self.remember(cgroups);
    }

    /// Each cgroup's growth since its last reading (0 when new or gone back) and the sums of
    /// its direct children's.
    fn growths(&self, cgroups: &[CgroupSample]) -> Vec<Growth> {
        let mut growths: Vec<Growth> = cgroups
            .iter()
            .map(|c| {
                let memo = self.by_path.get(&c.path);
                Growth {
                    oom: growth(memo.and_then(|m| m.oom_kills), oom_kills(c)).unwrap_or(0),
                    refused: growth(memo.and_then(|m| m.refused_forks), refused_forks(c))
                        .unwrap_or(0),
                    ..Growth::default()
                }
            })
            .collect();
        // The open ancestors of the cgroup at hand: (depth, index).
        let mut ancestors: Vec<(usize, usize)> = Vec::new();
        for (at, c) in cgroups.iter().enumerate() {
            while ancestors.last().is_some_and(|(depth, _)| *depth >= c.depth) {
                ancestors.pop();
            }
            if let Some(&(_, parent)) = ancestors.last() {
                let (oom, refused) = (growths[at].oom, growths[at].refused);
                growths[parent].children_oom += oom;
                growths[parent].children_refused += refused;
            }
            ancestors.push((c.depth, at));
        }
        growths
    }
}
