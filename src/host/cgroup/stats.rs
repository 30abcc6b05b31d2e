//! The typed figures of one cgroup, the same on v1 and v2: every field's name carries its unit
//! (`_usec`, `_bytes`; bare names are counts), `None` means "this host or cgroup has no such
//! file" (or it was unreadable or garbage: see the reading's notes), and limits are
//! [`Limit`]s, never `-1`.

use serde::{Deserialize, Serialize};

use super::limit::Limit;
use super::parse::cpu_limit_cpus;

/// CPU accounting and throttling.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuStats {
    /// CPU time used by the cgroup and its descendants (v1 `cpuacct.usage` ns / 1000; v2
    /// `cpu.stat` `usage_usec`).
    pub usage_usec: Option<u64>,
    /// User part (v1 `cpuacct.usage_user`; v2 `user_usec`).
    pub user_usec: Option<u64>,
    /// System part (v1 `cpuacct.usage_sys`; v2 `system_usec`).
    pub system_usec: Option<u64>,
    /// Enforcement periods that had runnable tasks (`cpu.stat` `nr_periods`).
    pub nr_periods: Option<u64>,
    /// Periods in which the quota ran out (`cpu.stat` `nr_throttled`).
    pub nr_throttled: Option<u64>,
    /// Time spent throttled (v1 `throttled_time` ns / 1000; v2 `throttled_usec`).
    pub throttled_usec: Option<u64>,
}

/// Memory use, the key `memory.stat` figures and out-of-memory events. Hierarchical (includes
/// descendants) on both versions: v1 figures come from `memory.stat`'s `total_*` keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryStats {
    /// v1 `memory.usage_in_bytes`; v2 `memory.current`.
    pub usage_bytes: Option<u64>,
    /// High-water mark: v1 `memory.max_usage_in_bytes`; v2 `memory.peak` (kernel 5.19+).
    pub peak_bytes: Option<u64>,
    /// Swap in use: v1 `memory.stat` `total_swap`; v2 `memory.swap.current`.
    pub swap_bytes: Option<u64>,
    /// Anonymous memory (v1 `rss`, v2 `anon`).
    pub anon_bytes: Option<u64>,
    /// Page cache (v1 `cache`, v2 `file`).
    pub file_bytes: Option<u64>,
    /// Kernel memory (v2 `kernel`; absent on v1).
    pub kernel_bytes: Option<u64>,
    pub shmem_bytes: Option<u64>,
    /// Mapped page cache (v1 `mapped_file`, v2 `file_mapped`).
    pub file_mapped_bytes: Option<u64>,
    /// v1 `dirty`, v2 `file_dirty`.
    pub file_dirty_bytes: Option<u64>,
    /// v1 `writeback`, v2 `file_writeback`.
    pub file_writeback_bytes: Option<u64>,
    pub active_anon_bytes: Option<u64>,
    pub inactive_anon_bytes: Option<u64>,
    pub active_file_bytes: Option<u64>,
    pub inactive_file_bytes: Option<u64>,
    pub unevictable_bytes: Option<u64>,
    /// Page faults (count).
    pub pgfault: Option<u64>,
    /// Major page faults (count).
    pub pgmajfault: Option<u64>,
    pub events: MemoryEvents,
}

/// Memory limit events. v2 `memory.events`; v1 `memory.oom_control` and `memory.failcnt`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryEvents {
    /// Times usage was reclaimed below `memory.low` protection (v2 `low`).
    pub low: Option<u64>,
    /// Times usage went over `memory.high` and was throttled (v2 `high`).
    pub high: Option<u64>,
    /// Times usage hit `memory.max` (v2 `max`).
    pub max: Option<u64>,
    /// Times the OOM killer was invoked or allocation failed at the limit (v2 `oom`).
    pub oom: Option<u64>,
    /// Processes killed by the OOM killer (v2 `oom_kill`; v1 `memory.oom_control` `oom_kill`).
    pub oom_kill: Option<u64>,
    /// The cgroup is out of memory right now (v1 `memory.oom_control` `under_oom`).
    pub under_oom: Option<bool>,
    /// The OOM killer is disabled for this cgroup (v1 `oom_kill_disable`).
    pub oom_kill_disabled: Option<bool>,
    /// Times usage hit the limit (v1 `memory.failcnt`).
    pub failcnt: Option<u64>,
}

/// Process-number controller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PidsStats {
    /// Tasks (threads included) in the cgroup and its descendants (`pids.current`).
    pub current: Option<u64>,
    /// Forks refused because `pids.max` was reached (`pids.events` `max`).
    pub refused_forks: Option<u64>,
}

/// Pressure stall information (v2 only: `cpu.pressure`, `memory.pressure`, `io.pressure`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pressure {
    pub cpu: Option<PressureFile>,
    pub memory: Option<PressureFile>,
    pub io: Option<PressureFile>,
}

/// One PSI file: `some` (at least one task stalled) and `full` (all stalled; absent for CPU on
/// older kernels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PressureFile {
    pub some: Option<PressureLine>,
    pub full: Option<PressureLine>,
}

/// Stall share in percent over 10 s, 60 s and 300 s windows, and the total stall time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PressureLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    pub total_usec: u64,
}

/// Freezer state: v1 `freezer.state`; v2 `cgroup.freeze` + `cgroup.events` `frozen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FreezerState {
    Thawed,
    Freezing,
    Frozen,
}

/// The limits set on a cgroup (what a user would change to throttle it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CgroupLimits {
    /// CPU time allowed per period (v1 `cpu.cfs_quota_us`, v2 `cpu.max` first field).
    pub cpu_quota_usec: Option<Limit<u64>>,
    /// Enforcement period (v1 `cpu.cfs_period_us`, v2 `cpu.max` second field).
    pub cpu_period_usec: Option<u64>,
    /// Relative CPU share (v1 `cpu.shares`, default 1024).
    pub cpu_shares: Option<u64>,
    /// Relative CPU weight (v2 `cpu.weight`, 1..10000, default 100).
    pub cpu_weight: Option<u64>,
    /// CPUs the cgroup may run on as configured (`cpuset.cpus`; empty = none set / inherit).
    pub cpuset_cpus: Option<String>,
    /// CPUs it actually runs on (v1 `cpuset.effective_cpus`, v2 `cpuset.cpus.effective`).
    pub cpuset_effective_cpus: Option<String>,
    /// Hard memory limit (v1 `memory.limit_in_bytes`, v2 `memory.max`).
    pub memory_max_bytes: Option<Limit<u64>>,
    /// Throttling threshold (v2 `memory.high`).
    pub memory_high_bytes: Option<Limit<u64>>,
    /// Protection from reclaim (v2 `memory.low`).
    pub memory_low_bytes: Option<Limit<u64>>,
    /// Reclaim target under pressure (v1 `memory.soft_limit_in_bytes`).
    pub memory_soft_limit_bytes: Option<Limit<u64>>,
    /// Task limit (`pids.max`).
    pub pids_max: Option<Limit<u64>>,
    /// Block I/O limits per device and the I/O weight (`super::io::limits`); `None` when the
    /// host has no such files for this cgroup.
    pub io: Option<super::io::IoLimits>,
}

impl CgroupLimits {
    /// The CPU limit in CPUs (quota / period, e.g. 0.5), `Max` when unlimited, `None` when the
    /// host has no quota files for this cgroup.
    pub fn cpu_limit_cpus(&self) -> Option<Limit<f64>> {
        cpu_limit_cpus(self.cpu_quota_usec?, self.cpu_period_usec?)
    }
}
