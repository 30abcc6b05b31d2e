//! Reading one cgroup: where each controller's files are (v1: that controller's own hierarchy,
//! at the path the membership names for it, which may differ per controller; v2: the unified
//! directory), and turning them into a [`CgroupReading`].
//!
//! A cgroup that exists in no hierarchy, or whose main directory disappears while it is read, is
//! `Ok(None)`. A controller without files for this cgroup is listed in `missing`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::layout::{CgroupLayout, CgroupMode};
use super::parse::{
    freezer_v2, parse_bool01, parse_cpu_list, parse_cpu_max, parse_freezer_v1, parse_limit_v1,
    parse_limit_v2, parse_pressure, parse_procs, parse_u64,
};
use super::session::{Session, display_path};
use super::stats::{CgroupLimits, CpuStats, FreezerState, MemoryStats, PidsStats, Pressure};
use crate::host::process::CgroupMembership;
use crate::host::text::clean_str;
use crate::host::{HostError, HostRoot};

/// Everything isotop knows about one cgroup at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CgroupReading {
    /// The cgroup's path (e.g. `/docker/<id>`): the requested one, or for a process the path
    /// in the hierarchy its process count comes from. Cleaned for display.
    pub path: String,
    pub cpu: Option<CpuStats>,
    pub memory: Option<MemoryStats>,
    pub pids: Option<PidsStats>,
    /// v2 only (`*.pressure`); on hybrid hosts read from the unified hierarchy.
    pub pressure: Option<Pressure>,
    pub limits: CgroupLimits,
    pub freezer: Option<FreezerState>,
    /// Processes directly in this cgroup (lines of `cgroup.procs`; descendants not counted).
    pub nprocs: usize,
    /// Field (`cpu.usage_usec`, `limits.memory_max_bytes`, `nprocs`, ...) → the kernel file it
    /// was read from.
    pub sources: BTreeMap<String, PathBuf>,
    /// Controllers with no files for this cgroup: `cpu`, `memory`, `pids`, `cpuset`,
    /// `freezer`, `pressure`.
    pub missing: Vec<String>,
    /// Warnings: unreadable files, unparsable text (the field is then `None`).
    pub notes: Vec<String>,
}

/// Normalizes a cgroup path: leading `/`, no empty or `.` parts, no trailing `/`. `None` when
/// it contains `..` (it would leave the hierarchy).
pub fn normalize_path(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Reads the cgroup at `path` in every hierarchy (the usual layout of container runtimes).
pub fn read_at(
    root: &HostRoot,
    layout: &CgroupLayout,
    path: &str,
) -> Result<Option<CgroupReading>, HostError> {
    let Some(path) = normalize_path(path) else {
        return Ok(None);
    };
    let placement = Placement {
        layout,
        dirs: layout
            .hierarchies
            .iter()
            .map(|h| h.cgroup_dir(&path).filter(|d| d.is_dir()))
            .collect(),
        paths: vec![path.clone(); layout.hierarchies.len()],
    };
    read_placed(root, &placement)
}

/// Reads the cgroup a process is in, from its `/proc/<pid>/cgroup` memberships: each
/// controller at the path named for that controller's hierarchy.
pub fn read_for_memberships(
    root: &HostRoot,
    layout: &CgroupLayout,
    memberships: &[CgroupMembership],
) -> Result<Option<CgroupReading>, HostError> {
    let mut dirs = vec![None; layout.hierarchies.len()];
    let mut paths = vec![String::new(); layout.hierarchies.len()];
    for membership in memberships {
        let Some(index) = layout
            .hierarchy_for(membership)
            .and_then(|h| layout.hierarchies.iter().position(|x| x == h))
        else {
            continue;
        };
        if dirs[index].is_some() {
            continue;
        }
        dirs[index] = layout.hierarchies[index]
            .cgroup_dir(&membership.path)
            .filter(|d| d.is_dir());
        paths[index] = membership.path.clone();
    }
    // On a hybrid host a process left in the unified root ("0::/") while its v1 memberships
    // name a container would get the whole host's pressure figures: read nothing from v2 then.
    if layout.mode == CgroupMode::Hybrid
        && let Some(v2) = layout.hierarchies.iter().position(|h| h.version == 2)
    {
        let v2_at_root = normalize_path(&paths[v2]).as_deref() == Some("/");
        let v1_below_root = paths.iter().enumerate().any(|(i, p)| {
            i != v2 && dirs[i].is_some() && normalize_path(p).as_deref() != Some("/")
        });
        if v2_at_root && v1_below_root {
            dirs[v2] = None;
        }
    }
    read_placed(
        root,
        &Placement {
            layout,
            dirs,
            paths,
        },
    )
}

/// Where one cgroup's directory is in each hierarchy (parallel to `layout.hierarchies`;
/// `None` where it does not exist).
struct Placement<'a> {
    layout: &'a CgroupLayout,
    dirs: Vec<Option<PathBuf>>,
    paths: Vec<String>,
}

/// Where a controller's files are for this cgroup.
enum Site {
    V1(PathBuf),
    V2(PathBuf),
    Absent,
}

impl Placement<'_> {
    fn index_of_v1(&self, controller: &str) -> Option<usize> {
        self.layout
            .hierarchies
            .iter()
            .position(|h| h.version == 1 && h.carries(controller))
    }

    fn index_of_v2(&self) -> Option<usize> {
        self.layout.hierarchies.iter().position(|h| h.version == 2)
    }

    /// A controller bound to a v1 hierarchy is read there (only there); otherwise from v2.
    fn site(&self, controller: &str) -> Site {
        if let Some(i) = self.index_of_v1(controller) {
            return self.dirs[i].clone().map_or(Site::Absent, Site::V1);
        }
        self.v2_dir().map_or(Site::Absent, Site::V2)
    }

    fn v2_dir(&self) -> Option<PathBuf> {
        self.index_of_v2().and_then(|i| self.dirs[i].clone())
    }

    /// The hierarchy the process count and the reported path come from: v2 on a v2 host,
    /// else the first v1 hierarchy holding the cgroup among pids, memory, cpu, ... .
    fn primary(&self) -> Option<usize> {
        if self.layout.mode == CgroupMode::V2 {
            return self.index_of_v2().filter(|&i| self.dirs[i].is_some());
        }
        const PREFERENCE: &[&str] = &[
            "pids",
            "memory",
            "cpu",
            "cpuacct",
            "freezer",
            "cpuset",
            "name=systemd",
        ];
        PREFERENCE
            .iter()
            .filter_map(|c| self.index_of_v1(c))
            .chain(0..self.dirs.len())
            .find(|&i| self.dirs[i].is_some())
    }
}

fn read_placed(
    _root: &HostRoot,
    placement: &Placement,
) -> Result<Option<CgroupReading>, HostError> {
    let Some(primary) = placement.primary() else {
        return Ok(None);
    };
    let Some(primary_dir) = placement.dirs[primary].clone() else {
        return Ok(None);
    };
    let mut s = Session::default();
    let mut limits = CgroupLimits::default();
    let mut missing = Vec::new();

    let cpu = read_cpu(&mut s, placement, &mut limits);
    if cpu.is_none() {
        missing.push("cpu".to_string());
    }
    let memory = read_memory(&mut s, placement, &mut limits);
    if memory.is_none() {
        missing.push("memory".to_string());
    }
    let pids = read_pids(&mut s, placement, &mut limits);
    if pids.is_none() {
        missing.push("pids".to_string());
    }
    if !read_cpuset(&mut s, placement, &mut limits) {
        missing.push("cpuset".to_string());
    }
    let freezer = read_freezer(&mut s, placement);
    if freezer.is_none() {
        missing.push("freezer".to_string());
    }
    let pressure = placement.v2_dir().and_then(|dir| {
        let p = Pressure {
            cpu: s.value("pressure.cpu", &dir, "cpu.pressure", parse_pressure),
            memory: s.value("pressure.memory", &dir, "memory.pressure", parse_pressure),
            io: s.value("pressure.io", &dir, "io.pressure", parse_pressure),
        };
        (p != Pressure::default()).then_some(p)
    });
    if pressure.is_none() {
        missing.push("pressure".to_string());
    }
    let nprocs = s
        .value("nprocs", &primary_dir, "cgroup.procs", parse_procs)
        .unwrap_or(0);

    // Removed while we read it: the files read may be a mix of before and after; skip it.
    if !primary_dir.is_dir() {
        return Ok(None);
    }
    Ok(Some(CgroupReading {
        path: clean_str(&placement.paths[primary]),
        cpu,
        memory,
        pids,
        pressure,
        limits,
        freezer,
        nprocs,
        sources: s.sources,
        missing,
        notes: s.notes,
    }))
}

fn ns_to_usec(ns: u64) -> u64 {
    ns / 1000
}

fn read_cpu(s: &mut Session, p: &Placement, limits: &mut CgroupLimits) -> Option<CpuStats> {
    let before = s.sources.len();
    let mut cpu = CpuStats::default();
    match p.site("cpuacct") {
        Site::V1(dir) => {
            cpu.usage_usec = s
                .value("cpu.usage_usec", &dir, "cpuacct.usage", parse_u64)
                .map(ns_to_usec);
            cpu.user_usec = s
                .value("cpu.user_usec", &dir, "cpuacct.usage_user", parse_u64)
                .map(ns_to_usec);
            cpu.system_usec = s
                .value("cpu.system_usec", &dir, "cpuacct.usage_sys", parse_u64)
                .map(ns_to_usec);
        }
        Site::V2(dir) => {
            let stat = s.keyed(&dir, "cpu.stat");
            cpu.usage_usec = s.key("cpu.usage_usec", &stat, "usage_usec");
            cpu.user_usec = s.key("cpu.user_usec", &stat, "user_usec");
            cpu.system_usec = s.key("cpu.system_usec", &stat, "system_usec");
        }
        Site::Absent => {}
    }
    match p.site("cpu") {
        Site::V1(dir) => {
            let stat = s.keyed(&dir, "cpu.stat");
            cpu.nr_periods = s.key("cpu.nr_periods", &stat, "nr_periods");
            cpu.nr_throttled = s.key("cpu.nr_throttled", &stat, "nr_throttled");
            cpu.throttled_usec = s
                .key("cpu.throttled_usec", &stat, "throttled_time")
                .map(ns_to_usec);
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

fn read_memory(s: &mut Session, p: &Placement, limits: &mut CgroupLimits) -> Option<MemoryStats> {
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

fn read_pids(s: &mut Session, p: &Placement, limits: &mut CgroupLimits) -> Option<PidsStats> {
    let before = s.sources.len();
    let (dir, parse_limit): (PathBuf, fn(&str) -> Result<_, String>) = match p.site("pids") {
        Site::V1(dir) => (dir, parse_limit_v1),
        Site::V2(dir) => (dir, parse_limit_v2),
        Site::Absent => return None,
    };
    let events = s.keyed(&dir, "pids.events");
    let pids = PidsStats {
        current: s.value("pids.current", &dir, "pids.current", parse_u64),
        refused_forks: s.key("pids.refused_forks", &events, "max"),
    };
    limits.pids_max = s.value("limits.pids_max", &dir, "pids.max", parse_limit);
    (s.sources.len() > before).then_some(pids)
}

/// Reads the cpuset lists into `limits`; false when the cgroup has no cpuset files.
fn read_cpuset(s: &mut Session, p: &Placement, limits: &mut CgroupLimits) -> bool {
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

fn read_freezer(s: &mut Session, p: &Placement) -> Option<FreezerState> {
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
