//! What a reading carries into a later reading of the same cgroups ([`KeptLimits`]): its
//! limits with their files, its process count while `pids.current` stands, the counters that
//! grow only while a limit bites (to tell a limit written since), and the run-only counters
//! ([`super::still`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::super::limit::Limit;
use super::super::stats::CgroupLimits;
use super::CgroupReading;
use super::still::StillCounters;

/// A reading's limits with the files they came from, to carry into a later reading of the
/// same cgroups ([`read_own_keeping`](super::read_own_keeping)); and its process count, carried while the tasks the
/// pids controller counts there stay the same ([`KeptCount`]).
#[derive(Debug, Clone, PartialEq)]
pub struct KeptLimits {
    pub(super) limits: CgroupLimits,
    /// Shared: the carry hands a copy of these out every tick.
    pub(super) sources: Arc<[(String, PathBuf)]>,
    /// The cgroup had cpuset files.
    pub(super) cpuset: bool,
    /// The counters that grow only while a limit bites, at the reading kept.
    bites: LimitBites,
    pub(super) count: Option<KeptCount>,
    /// The counters that move only while the cgroup runs, at the last reading
    /// ([`still`](super::still): carried while its CPU usage stands).
    pub(super) still: Option<StillCounters>,
    /// The limits are due ([`KeptLimits::due`]): read, with the process count; only the
    /// run-only counters are carried.
    pub(super) limits_due: bool,
}

/// A process count (`cgroup.procs`, which the kernel gathers and sorts on each read) and the
/// `pids.current` of the same directory read with it. A process that comes (forks, is moved
/// in) or goes (exits, is moved out) changes `pids.current`, the tasks in the cgroup and
/// below; the count is read again whenever it moved. What leaves it unchanged — a process
/// moved into a child cgroup, a thread ending as a process arrives — is seen when the limits
/// are next read (the caller's cadence).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct KeptCount {
    pub(super) nprocs: usize,
    pub(super) pids_current: u64,
    pub(super) source: PathBuf,
}

impl KeptCount {
    fn of(reading: &CgroupReading) -> Option<KeptCount> {
        Some(KeptCount {
            nprocs: reading.nprocs,
            pids_current: reading.pids.as_ref()?.current?,
            source: reading.sources.get("nprocs")?.clone(),
        })
    }
}

/// Counters that grow only while a limit is in force: the kernel's word that a limit exists.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct LimitBites {
    /// `cpu.stat` `nr_throttled` (periods the quota ran out).
    cpu_throttled: Option<u64>,
    /// v2 `memory.events` `max`, v1 `memory.failcnt` (times usage hit the limit).
    memory_at_max: Option<u64>,
    /// `pids.events` `max` (forks refused).
    pids_refused: Option<u64>,
}

impl LimitBites {
    fn of(reading: &CgroupReading) -> LimitBites {
        LimitBites {
            cpu_throttled: reading.cpu.as_ref().and_then(|c| c.nr_throttled),
            memory_at_max: reading
                .memory
                .as_ref()
                .and_then(|m| m.events.max.or(m.events.failcnt)),
            pids_refused: reading.pids.as_ref().and_then(|p| p.refused_forks),
        }
    }
}

impl KeptLimits {
    /// Whether `now`, a reading that carried these limits, shows a limit biting that the kept
    /// limits say is unset (`max`): a limit was written since they were read (by anyone: a
    /// runtime's update, an operator's echo), and a frame would pair "throttled" with "no
    /// quota". The caller reads the limits again at once instead of waiting for the cadence.
    /// A limit lifted is not contradicted by anything and waits for the cadence.
    pub fn contradicted_by(&self, now: &CgroupReading) -> bool {
        let unset = |limit: &Option<Limit<u64>>| !matches!(limit, Some(Limit::Value(_)));
        let grew = |then: Option<u64>, now: Option<u64>| matches!((then, now), (Some(a), Some(b)) if b > a);
        let now_bites = LimitBites::of(now);
        let l = &self.limits;
        (unset(&l.cpu_quota_usec) && grew(self.bites.cpu_throttled, now_bites.cpu_throttled))
            || (unset(&l.memory_max_bytes)
                && grew(self.bites.memory_at_max, now_bites.memory_at_max))
            || (unset(&l.pids_max) && grew(self.bites.pids_refused, now_bites.pids_refused))
    }
}

impl CgroupReading {
    /// Its limits and their sources, to carry into a later reading.
    pub fn kept_limits(&self) -> KeptLimits {
        KeptLimits {
            limits: self.limits.clone(),
            sources: self
                .sources
                .iter()
                .filter(|(field, _)| field.starts_with("limits."))
                .map(|(field, path)| (field.clone(), path.clone()))
                .collect(),
            cpuset: !self.missing.iter().any(|m| m == "cpuset"),
            bites: LimitBites::of(self),
            count: KeptCount::of(self),
            still: StillCounters::of(self),
            limits_due: false,
        }
    }
}

impl KeptLimits {
    /// These, for a reading whose limits are due (the caller's cadence): the limits and the
    /// process count are read, the run-only counters still carried while the usage stands
    /// (they do not depend on the limits: a quota read now decides the throttling's).
    pub fn due(self) -> KeptLimits {
        KeptLimits {
            limits_due: true,
            ..self
        }
    }

    /// Whether the limits are read, not carried ([`KeptLimits::due`]).
    pub fn limits_due(&self) -> bool {
        self.limits_due
    }

    /// Follows `now`, a later reading of the same cgroups: keeps its process count when it
    /// was read rather than carried (its `pids.current` moved), and its run-only counters
    /// (the next reading carries them if its usage is still `now`'s).
    pub fn follow_count(&mut self, now: &CgroupReading) {
        let current = now.pids.as_ref().and_then(|p| p.current);
        if self.count.as_ref().map(|c| c.pids_current) != current {
            self.count = KeptCount::of(now);
        }
        // A reading at the kept usage carried the kept counters (or read the same): keep them.
        let usage = now.cpu.as_ref().and_then(|c| c.usage_usec);
        if !self.still.as_ref().is_some_and(|k| k.same_usage(usage)) {
            self.still = StillCounters::of(now);
        }
    }
}
