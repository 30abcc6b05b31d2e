//! Per-controller readers: which files give which figure on v1 and on v2, with their units
//! converted to the field's (`ns` to `usec`). Each returns `None` when the cgroup has none of
//! its controller's files, so the caller can list the controller as missing.

use std::path::{Path, PathBuf};

use super::limit::Limit;
use super::parse::{
    freezer_v2, parse_bool01, parse_cpu_list, parse_cpu_max, parse_freezer_v1, parse_limit_v1,
    parse_limit_v2, parse_u64, parse_usage_all,
};
use super::placement::{Placement, Site};
use super::read::still::StillCounters;
use super::session::{Session, display_path};
use super::stats::{CgroupLimits, CpuStats, FreezerState, MemoryStats, PidsStats};

fn ns_to_usec(ns: u64) -> u64 {
    ns / 1000
}

pub(super) fn read_cpu(
    s: &mut Session,
    p: &Placement,
    limits: &mut CgroupLimits,
    still: Option<&StillCounters>,
) -> Option<CpuStats> {
    let before = s.sources.len();
    let mut cpu = CpuStats::default();
    // Counters that move only while the cgroup runs, carried when its usage stood (`still`).
    let mut standing = None;
    match p.site("cpuacct") {
        Site::V1(dir) => {
            cpu.usage_usec = s
                .value("cpu.usage_usec", &dir, "cpuacct.usage", parse_u64)
                .map(ns_to_usec);
            standing = StillCounters::standing(still, cpu.usage_usec);
            if let Some(k) = standing {
                k.carry_split(s, &mut cpu);
            } else {
                read_usage_split_v1(s, &dir, &mut cpu);
            }
        }
        Site::V2(dir) => {
            let stat = s.keyed(&dir, "cpu.stat");
            cpu.usage_usec = s.key("cpu.usage_usec", &stat, "usage_usec");
            cpu.user_usec = s.key("cpu.user_usec", &stat, "user_usec");
            cpu.system_usec = s.key("cpu.system_usec", &stat, "system_usec");
            standing = StillCounters::standing(still, cpu.usage_usec);
        }
        Site::Absent => {}
    }
    match p.site("cpu") {
        Site::V1(dir) => {
            limits.cpu_quota_usec = s.value(
                "limits.cpu_quota_usec",
                &dir,
                "cpu.cfs_quota_us",
                parse_limit_v1,
            );
            limits.cpu_period_usec = s.value(
                "limits.cpu_period_usec",
                &dir,
                "cpu.cfs_period_us",
                parse_u64,
            );
            limits.cpu_shares = s.value("limits.cpu_shares", &dir, "cpu.shares", parse_u64);
            // A quota read now (the limits are due) must be unset too for the throttling
            // counters to stand; carried limits are the kept reading's, which `still` knows.
            let quota_read_unset =
                (!s.skip_limits).then_some(!matches!(limits.cpu_quota_usec, Some(Limit::Value(_))));
            if !standing.is_some_and(|k| k.carry_throttling(s, &mut cpu, quota_read_unset)) {
                let stat = s.keyed(&dir, "cpu.stat");
                cpu.nr_periods = s.key("cpu.nr_periods", &stat, "nr_periods");
                cpu.nr_throttled = s.key("cpu.nr_throttled", &stat, "nr_throttled");
                cpu.throttled_usec = s
                    .key("cpu.throttled_usec", &stat, "throttled_time")
                    .map(ns_to_usec);
            }
        }
        Site::V2(dir) => {
            let stat = s.keyed(&dir, "cpu.stat");
            cpu.nr_periods = s.key("cpu.nr_periods", &stat, "nr_periods");
            cpu.nr_throttled = s.key("cpu.nr_throttled", &stat, "nr_throttled");
            cpu.throttled_usec = s.key("cpu.throttled_usec", &stat, "throttled_usec");
            if let Some((quota, period)) =
                s.value("limits.cpu_quota_usec", &dir, "cpu.max", parse_cpu_max)
            {
                limits.cpu_quota_usec = Some(quota);
                limits.cpu_period_usec = Some(period);
                s.sources.insert(
                    "limits.cpu_period_usec".into(),
                    display_path(&dir.join("cpu.max")),
                );
            }
            limits.cpu_weight = s.value("limits.cpu_weight", &dir, "cpu.weight", parse_u64);
        }
        Site::Absent => {}
    }
    (s.sources.len() > before).then_some(cpu)
}

/// v1 user and system parts: `cpuacct.usage_all` holds both (one file where it exists, since
/// 4.7), else `cpuacct.usage_user` and `cpuacct.usage_sys`.
fn read_usage_split_v1(s: &mut Session, dir: &Path, cpu: &mut CpuStats) {
    match s.value("cpu.user_usec", dir, "cpuacct.usage_all", parse_usage_all) {
        Some((user, system)) => {
            cpu.user_usec = Some(ns_to_usec(user));
            cpu.system_usec = Some(ns_to_usec(system));
            s.sources.insert(
                "cpu.system_usec".into(),
                display_path(&dir.join("cpuacct.usage_all")),
            );
        }
        None => {
            cpu.user_usec = s
                .value("cpu.user_usec", dir, "cpuacct.usage_user", parse_u64)
                .map(ns_to_usec);
            cpu.system_usec = s
                .value("cpu.system_usec", dir, "cpuacct.usage_sys", parse_u64)
                .map(ns_to_usec);
        }
    }
}

/// `memory.stat` figures: field, v1 key (read as `total_<key>`, the hierarchical sum, falling
/// back to the local key), v2 key.
type StatField = (
    &'static str,
    Option<&'static str>,
    &'static str,
    fn(&mut MemoryStats) -> &mut Option<u64>,
);

const MEMORY_STAT_FIELDS: &[StatField] = &[
    ("anon_bytes", Some("rss"), "anon", |m| &mut m.anon_bytes),
    ("file_bytes", Some("cache"), "file", |m| &mut m.file_bytes),
    ("kernel_bytes", None, "kernel", |m| &mut m.kernel_bytes),
    ("shmem_bytes", Some("shmem"), "shmem", |m| {
        &mut m.shmem_bytes
    }),
    (
        "file_mapped_bytes",
        Some("mapped_file"),
        "file_mapped",
        |m| &mut m.file_mapped_bytes,
    ),
    ("file_dirty_bytes", Some("dirty"), "file_dirty", |m| {
        &mut m.file_dirty_bytes
    }),
    (
        "file_writeback_bytes",
        Some("writeback"),
        "file_writeback",
        |m| &mut m.file_writeback_bytes,
    ),
    (
        "active_anon_bytes",
        Some("active_anon"),
        "active_anon",
        |m| &mut m.active_anon_bytes,
    ),
    (
        "inactive_anon_bytes",
        Some("inactive_anon"),
        "inactive_anon",
        |m| &mut m.inactive_anon_bytes,
    ),
    (
        "active_file_bytes",
        Some("active_file"),
        "active_file",
        |m| &mut m.active_file_bytes,
    ),
    (
        "inactive_file_bytes",
        Some("inactive_file"),
        "inactive_file",
        |m| &mut m.inactive_file_bytes,
    ),
    (
        "unevictable_bytes",
        Some("unevictable"),
        "unevictable",
        |m| &mut m.unevictable_bytes,
    ),
    ("pgfault", Some("pgfault"), "pgfault", |m| &mut m.pgfault),
    ("pgmajfault", Some("pgmajfault"), "pgmajfault", |m| {
        &mut m.pgmajfault
    }),
];

pub(super) fn read_memory(
    s: &mut Session,
    p: &Placement,
    limits: &mut CgroupLimits,
) -> Option<MemoryStats> {
    let before = s.sources.len();
    let mut m = MemoryStats::default();
    match p.site("memory") {
        Site::V1(dir) => {
            m.usage_bytes = s.value(
                "memory.usage_bytes",
                &dir,
                "memory.usage_in_bytes",
                parse_u64,
            );
            m.peak_bytes = s.value(
                "memory.peak_bytes",
                &dir,
                "memory.max_usage_in_bytes",
                parse_u64,
            );
            let stat = s.keyed(&dir, "memory.stat");
            for (field, v1_key, _, slot) in MEMORY_STAT_FIELDS {
                let Some(key) = v1_key else { continue };
                let name = format!("memory.{field}");
                *slot(&mut m) = s
                    .key(&name, &stat, &format!("total_{key}"))
                    .or_else(|| s.key(&name, &stat, key));
            }
            m.swap_bytes = s
                .key("memory.swap_bytes", &stat, "total_swap")
                .or_else(|| s.key("memory.swap_bytes", &stat, "swap"));
            let oom = s.keyed(&dir, "memory.oom_control");
            m.events.oom_kill = s.key("memory.events.oom_kill", &oom, "oom_kill");
            m.events.under_oom = s
                .key("memory.events.under_oom", &oom, "under_oom")
                .map(|v| v != 0);
            m.events.oom_kill_disabled = s
                .key("memory.events.oom_kill_disabled", &oom, "oom_kill_disable")
                .map(|v| v != 0);
            m.events.failcnt = s.value("memory.events.failcnt", &dir, "memory.failcnt", parse_u64);
            limits.memory_max_bytes = s.value(
                "limits.memory_max_bytes",
                &dir,
                "memory.limit_in_bytes",
                parse_limit_v1,
            );
            limits.memory_soft_limit_bytes = s.value(
                "limits.memory_soft_limit_bytes",
                &dir,
                "memory.soft_limit_in_bytes",
                parse_limit_v1,
            );
        }
        Site::V2(dir) => {
            m.usage_bytes = s.value("memory.usage_bytes", &dir, "memory.current", parse_u64);
            m.peak_bytes = s.value("memory.peak_bytes", &dir, "memory.peak", parse_u64);
            m.swap_bytes = s.value("memory.swap_bytes", &dir, "memory.swap.current", parse_u64);
            let stat = s.keyed(&dir, "memory.stat");
            for (field, _, v2_key, slot) in MEMORY_STAT_FIELDS {
                *slot(&mut m) = s.key(&format!("memory.{field}"), &stat, v2_key);
            }
            let events = s.keyed(&dir, "memory.events");
            m.events.low = s.key("memory.events.low", &events, "low");
            m.events.high = s.key("memory.events.high", &events, "high");
            m.events.max = s.key("memory.events.max", &events, "max");
            m.events.oom = s.key("memory.events.oom", &events, "oom");
            m.events.oom_kill = s.key("memory.events.oom_kill", &events, "oom_kill");
            limits.memory_max_bytes = s.value(
                "limits.memory_max_bytes",
                &dir,
                "memory.max",
                parse_limit_v2,
            );
            limits.memory_high_bytes = s.value(
                "limits.memory_high_bytes",
                &dir,
                "memory.high",
                parse_limit_v2,
            );
            limits.memory_low_bytes = s.value(
                "limits.memory_low_bytes",
                &dir,
                "memory.low",
                parse_limit_v2,
            );
        }
        Site::Absent => {}
    }
    (s.sources.len() > before).then_some(m)
}

pub(super) fn read_pids(
    s: &mut Session,
    p: &Placement,
    limits: &mut CgroupLimits,
    standing: Option<&StillCounters>,
) -> Option<PidsStats> {
    let before = s.sources.len();
    let (dir, parse_limit): (PathBuf, fn(&str) -> Result<_, String>) = match p.site("pids") {
        Site::V1(dir) => (dir, parse_limit_v1),
        Site::V2(dir) => (dir, parse_limit_v2),
        Site::Absent => return None,
    };
    // `standing`: the usage stood, so no fork was refused since its reading.
    let carried = standing.and_then(|k| k.carry_refused_forks(s));
    let refused_forks = match carried {
        Some(refused) => refused,
        None => {
            let events = s.keyed(&dir, "pids.events");
            s.key("pids.refused_forks", &events, "max")
        }
    };
    let pids = PidsStats {
        current: s.value("pids.current", &dir, "pids.current", parse_u64),
        refused_forks,
    };
    limits.pids_max = s.value("limits.pids_max", &dir, "pids.max", parse_limit);
    (s.sources.len() > before).then_some(pids)
}

/// Reads the cpuset lists into `limits`; false when the cgroup has no cpuset files.
pub(super) fn read_cpuset(s: &mut Session, p: &Placement, limits: &mut CgroupLimits) -> bool {
    let (dir, effective) = match p.site("cpuset") {
        Site::V1(dir) => (dir, "cpuset.effective_cpus"),
        Site::V2(dir) => (dir, "cpuset.cpus.effective"),
        Site::Absent => return false,
    };
    limits.cpuset_cpus = s.value("limits.cpuset_cpus", &dir, "cpuset.cpus", parse_cpu_list);
    limits.cpuset_effective_cpus = s.value(
        "limits.cpuset_effective_cpus",
        &dir,
        effective,
        parse_cpu_list,
    );
    limits.cpuset_cpus.is_some() || limits.cpuset_effective_cpus.is_some()
}

pub(super) fn read_freezer(s: &mut Session, p: &Placement) -> Option<FreezerState> {
    match p.site("freezer") {
        Site::V1(dir) => s.value("freezer", &dir, "freezer.state", parse_freezer_v1),
        Site::V2(dir) => {
            let requested = s.value("freezer", &dir, "cgroup.freeze", parse_bool01);
            let events = s.keyed(&dir, "cgroup.events");
            let frozen = s.key("freezer", &events, "frozen").map(|v| v != 0);
            freezer_v2(requested, frozen)
        }
        Site::Absent => None,
    }
}
