//! Counters that move only while a task of the cgroup runs, carried from one reading of a
//! container's own cgroups to the next while its CPU usage stands ([`super::KeptLimits`]
//! holds them with the carried limits; `host::container::measure::Carry` decides when).
//!
//! Contract: two readings with the same `cpu.usage_usec` (the cgroup's and its descendants'
//! CPU time) had no task of the cgroup run between them (a fork, a thread's start, an exit, a
//! refused fork: each runs in the cgroup for microseconds), so the later one takes from the
//! earlier, without opening their files:
//! - v1 `cpuacct.usage_all`, the user and system parts of the usage;
//! - `pids.events` (a fork refused at `pids.max`). Not `pids.current`: a sleeping process
//!   moved in or out by someone else changes it without running, and the process count is
//!   read again by it the next tick;
//! - v1 `cpu.stat` while the carried limits set no CPU quota (the period timer, which counts
//!   `nr_periods`, runs only under one; under a quota it still counts a period or two after
//!   the last run, so it is read). A quota written since the last full reading may leave
//!   `nr_periods` a period or two behind until the cgroup runs or the next full reading.
//!
//! On v2 the usage is `cpu.stat`'s own line, read every tick: only `pids.events` is carried.
//! No usage read, nothing carried. Memory, I/O, pressure and the freezer move without the
//! cgroup running (reclaim, writeback, averages decaying, a write) and are read every tick.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::super::limit::Limit;
use super::super::session::Session;
use super::super::stats::{CpuStats, PidsStats};
use super::CgroupReading;

/// The user and system parts of the usage (v1 `cpuacct.usage_all`).
const SPLIT: [&str; 2] = ["cpu.user_usec", "cpu.system_usec"];
/// v1 `cpu.stat`'s throttling counters.
const THROTTLING: [&str; 3] = ["cpu.nr_periods", "cpu.nr_throttled", "cpu.throttled_usec"];
/// `pids.events`' refused forks.
const PIDS: [&str; 1] = ["pids.refused_forks"];

/// One reading's run-only counters and the usage they were read at.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::host::cgroup) struct StillCounters {
    usage_usec: u64,
    cpu: CpuStats,
    pids: Option<PidsStats>,
    /// No CPU quota in the reading's limits: its throttling counters stand with the usage.
    quota_unset: bool,
    /// The reading's sources (shared, not copied: the carried fields' are looked up in it).
    sources: Arc<BTreeMap<String, PathBuf>>,
}

impl StillCounters {
    /// `reading`'s counters; `None` without a usage.
    pub(in crate::host::cgroup) fn of(reading: &CgroupReading) -> Option<StillCounters> {
        let cpu = reading.cpu.clone()?;
        Some(StillCounters {
            usage_usec: cpu.usage_usec?,
            cpu,
            pids: reading.pids.clone(),
            quota_unset: !matches!(reading.limits.cpu_quota_usec, Some(Limit::Value(_))),
            sources: Arc::clone(&reading.sources),
        })
    }

    /// Whether `usage_usec` is the usage these were read at (a reading at it carries them).
    pub(in crate::host::cgroup) fn same_usage(&self, usage_usec: Option<u64>) -> bool {
        usage_usec == Some(self.usage_usec)
    }

    /// These counters, when a reading's usage is still theirs.
    pub(in crate::host::cgroup) fn standing(
        still: Option<&StillCounters>,
        usage_usec: Option<u64>,
    ) -> Option<&StillCounters> {
        still.filter(|k| k.same_usage(usage_usec))
    }

    /// Puts the user and system parts into `cpu`.
    pub(in crate::host::cgroup) fn carry_split(&self, s: &mut Session, cpu: &mut CpuStats) {
        cpu.user_usec = self.cpu.user_usec;
        cpu.system_usec = self.cpu.system_usec;
        self.carry_sources(s, &SPLIT);
    }

    /// Puts the throttling counters into `cpu`; false (nothing put) under a CPU quota, the
    /// kept reading's or, when the limits were read again (`quota_read_unset` is `Some`),
    /// the one read now.
    pub(in crate::host::cgroup) fn carry_throttling(
        &self,
        s: &mut Session,
        cpu: &mut CpuStats,
        quota_read_unset: Option<bool>,
    ) -> bool {
        if !self.quota_unset || quota_read_unset == Some(false) {
            return false;
        }
        cpu.nr_periods = self.cpu.nr_periods;
        cpu.nr_throttled = self.cpu.nr_throttled;
        cpu.throttled_usec = self.cpu.throttled_usec;
        self.carry_sources(s, &THROTTLING);
        true
    }

    /// The refused forks (`pids.events`), when the reading had pids figures.
    pub(in crate::host::cgroup) fn carry_refused_forks(
        &self,
        s: &mut Session,
    ) -> Option<Option<u64>> {
        let refused = self.pids.as_ref()?.refused_forks;
        self.carry_sources(s, &PIDS);
        Some(refused)
    }

    fn carry_sources(&self, s: &mut Session, fields: &[&str]) {
        for field in fields {
            if let Some(path) = self.sources.get(*field) {
                s.sources.insert((*field).to_string(), path.clone());
            }
        }
    }
}
