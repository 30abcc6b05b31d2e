//! Reading one cgroup: where each controller's files are (v1: that controller's own hierarchy,
//! at the path the membership names for it, which may differ per controller; v2: the unified
//! directory), and turning them into a [`CgroupReading`].
//!
//! A cgroup that exists in no hierarchy, or whose main directory disappears while it is read, is
//! `Ok(None)`. A controller without files for this cgroup is listed in `missing`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::controllers::{read_cpu, read_cpuset, read_freezer, read_memory, read_pids};
use super::dirs::CgroupDirs;
use super::io::limits::read_io_limits;
use super::io::{IoStats, read_io};
use super::layout::{CgroupLayout, CgroupMode};
use super::parse::{parse_pressure, parse_procs};
use super::placement::{Placement, Site};
use super::session::Session;
use super::stats::{CgroupLimits, CpuStats, FreezerState, MemoryStats, PidsStats, Pressure};
use crate::host::process::CgroupMembership;
use crate::host::text::clean_str;
use crate::host::{HostError, HostRoot};

mod for_tree;
mod kept;
pub(super) mod still;

pub(super) use for_tree::{count_procs, read_for_tree};
pub use kept::KeptLimits;
use still::StillCounters;

/// Everything isotop knows about one cgroup at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CgroupReading {
    /// The cgroup's path (e.g. `/docker/<id>`): the requested one, or for a process the path
    /// in the hierarchy its process count comes from. Cleaned for display.
    pub path: String,
    pub cpu: Option<CpuStats>,
    pub memory: Option<MemoryStats>,
    pub pids: Option<PidsStats>,
    /// v2 only (`*.pressure`); on hybrid hosts read from the unified hierarchy.
    pub pressure: Option<Pressure>,
    /// Block I/O per device and in total (v2 `io.stat`; v1 the `blkio` rwstat files).
    pub io: Option<IoStats>,
    pub limits: CgroupLimits,
    pub freezer: Option<FreezerState>,
    /// Processes directly in this cgroup (lines of `cgroup.procs`; descendants not counted).
    pub nprocs: usize,
    /// Field (`cpu.usage_usec`, `limits.memory_max_bytes`, `nprocs`, ...) → the kernel file it
    /// was read from. Behind an `Arc`: ~25 paths (~5 KB) a cgroup, the same in every copy of a
    /// reading (each frame carries every cgroup's; 1,000 cgroups held ~17 MB of copies).
    pub sources: Arc<BTreeMap<String, PathBuf>>,
    /// Controllers with no files for this cgroup: `cpu`, `memory`, `pids`, `cpuset`,
    /// `freezer`, `io`, `pressure`.
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
/// (The layout holds the resolved cgroup directories; `root` gives sysfs, for device names.)
pub fn read_at(
    root: &HostRoot,
    layout: &CgroupLayout,
    path: &str,
) -> Result<Option<CgroupReading>, HostError> {
    let Some(path) = normalize_path(path) else {
        return Ok(None);
    };
    read_placed(root, &placement_at(layout, &path), Count::Read)
}

/// The cgroup at `path` (normalized) in every hierarchy.
fn placement_at<'a>(layout: &'a CgroupLayout, path: &str) -> Placement<'a> {
    Placement {
        layout,
        dirs: layout
            .hierarchies
            .iter()
            .map(|h| h.cgroup_dir(path).filter(|d| d.is_dir()))
            .collect(),
        paths: vec![path.to_string(); layout.hierarchies.len()],
        unified_stands_in: false,
    }
}

/// The cgroup at `path` (normalized) in the hierarchies `listed` says its parent's directory
/// lists it in (a tree read lists every directory anyway: no `statx` per hierarchy).
fn placement_listed<'a>(layout: &'a CgroupLayout, path: &str, listed: &[bool]) -> Placement<'a> {
    Placement {
        layout,
        dirs: layout
            .hierarchies
            .iter()
            .enumerate()
            .map(|(i, h)| h.cgroup_dir(path).filter(|_| listed.get(i) == Some(&true)))
            .collect(),
        paths: vec![path.to_string(); layout.hierarchies.len()],
        unified_stands_in: false,
    }
}

/// Reads the cgroup a process is in, from its `/proc/<pid>/cgroup` memberships: each
/// controller at the path named for that controller's hierarchy.
pub fn read_for_memberships(
    root: &HostRoot,
    layout: &CgroupLayout,
    memberships: &[CgroupMembership],
) -> Result<Option<CgroupReading>, HostError> {
    read_memberships(root, layout, memberships, Count::Read)
}

/// [`read_for_memberships`] without the process count (`nprocs` 0, no source): for the limits
/// a container inherits from the cgroups it shares. A shared cgroup such as a root lists every
/// process of the host in `cgroup.procs`, which the kernel gathers and sorts on each read (~8
/// ms at 11,700 processes, measured), for a figure no one shows.
pub fn read_shared_for_limits(
    root: &HostRoot,
    layout: &CgroupLayout,
    memberships: &[CgroupMembership],
) -> Result<Option<CgroupReading>, HostError> {
    read_memberships(root, layout, memberships, Count::Skip)
}

fn read_memberships(
    root: &HostRoot,
    layout: &CgroupLayout,
    memberships: &[CgroupMembership],
    count: Count,
) -> Result<Option<CgroupReading>, HostError> {
    let mut placement = place(layout, memberships, false, &mut |dir| dir.is_dir());
    // On a hybrid host a process left in the unified root ("0::/") while its v1 memberships
    // name a container would get the whole host's pressure figures: read nothing from v2 then.
    if layout.mode == CgroupMode::Hybrid
        && let Some(v2) = layout.hierarchies.iter().position(|h| h.version == 2)
    {
        let (dirs, paths) = (&placement.dirs, &placement.paths);
        let v2_at_root = normalize_path(&paths[v2]).as_deref() == Some("/");
        let v1_below_root = paths.iter().enumerate().any(|(i, p)| {
            i != v2 && dirs[i].is_some() && normalize_path(p).as_deref() != Some("/")
        });
        if v2_at_root && v1_below_root {
            placement.dirs[v2] = None;
        }
    }
    read_placed(root, &placement, count)
}

/// Reads only the cgroups in `own` (a container's memberships that are its own, see
/// `host::container::ownership`): each controller at the path named for its hierarchy, and a
/// v1 controller whose hierarchy is not among them from the unified cgroup when that one is
/// (on a hybrid host its `cpu.stat` gives the CPU usage). `Ok(None)` when `own` names no
/// existing cgroup.
pub fn read_own(
    root: &HostRoot,
    layout: &CgroupLayout,
    own: &[CgroupMembership],
) -> Result<Option<CgroupReading>, HostError> {
    read_own_keeping(root, layout, own, None, None)
}

/// [`read_own`], with the limits taken from `kept` (an earlier reading of the same cgroups)
/// instead of read: their files (`cpu.cfs_quota_us`, `pids.max`, `memory.max`, the cpuset and
/// I/O limit files...) are not opened. Limits change only by a write; the caller decides how
/// stale they may be (`host::container::measure::Carry`). `dirs`: the caller's kept-open
/// cgroup directories, to read the files through (the sampler's, kept between ticks).
pub fn read_own_keeping(
    root: &HostRoot,
    layout: &CgroupLayout,
    own: &[CgroupMembership],
    kept: Option<&KeptLimits>,
    mut dirs: Option<&mut CgroupDirs>,
) -> Result<Option<CgroupReading>, HostError> {
    let placement = match dirs.as_deref_mut() {
        Some(dirs) => place(layout, own, true, &mut |dir| dirs.kept_or_exists(dir)),
        None => place(layout, own, true, &mut |dir| dir.is_dir()),
    };
    read_placed_keeping(root, &placement, Count::Read, kept, dirs)
}

/// Each hierarchy's directory at the path `memberships` name for it (the first line wins),
/// where `exists` says there is one.
fn place<'a>(
    layout: &'a CgroupLayout,
    memberships: &[CgroupMembership],
    unified_stands_in: bool,
    exists: &mut dyn FnMut(&Path) -> bool,
) -> Placement<'a> {
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
            .filter(|d| exists(d));
        paths[index] = membership.path.clone();
    }
    Placement {
        layout,
        dirs,
        paths,
        unified_stands_in,
    }
}

/// Whether a reading counts the processes in its cgroup (`cgroup.procs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    Read,
    Skip,
}

fn read_placed(
    root: &HostRoot,
    placement: &Placement,
    count: Count,
) -> Result<Option<CgroupReading>, HostError> {
    read_placed_keeping(root, placement, count, None, None)
}

/// Reads the cgroup `placement` places, with the limits taken from `kept` when given, and its
/// files read through `dirs` when given (handed back as they are after the reading).
fn read_placed_keeping(
    root: &HostRoot,
    placement: &Placement,
    count: Count,
    kept: Option<&KeptLimits>,
    mut dirs: Option<&mut CgroupDirs>,
) -> Result<Option<CgroupReading>, HostError> {
    let Some(primary) = placement.primary() else {
        return Ok(None);
    };
    let Some(primary_dir) = placement.dirs[primary].clone() else {
        return Ok(None);
    };
    let mut s = Session::default();
    // What carries the limits and the process count (not when they are due).
    let carrying = kept.filter(|k| !k.limits_due);
    s.skip_limits = carrying.is_some();
    if let Some(dirs) = dirs.as_deref_mut() {
        s.dirs = std::mem::take(dirs);
    }
    s.buf = std::mem::take(&mut s.dirs.spare_buf);
    let mut limits = CgroupLimits::default();
    let mut missing = Vec::new();

    let still = kept.and_then(|k| k.still.as_ref());
    let cpu = read_cpu(&mut s, placement, &mut limits, still);
    if cpu.is_none() {
        missing.push("cpu".to_string());
    }
    let memory = read_memory(&mut s, placement, &mut limits);
    if memory.is_none() {
        missing.push("memory".to_string());
    }
    // The usage stood: the pids counters that move only while the cgroup runs are carried.
    let standing = StillCounters::standing(still, cpu.as_ref().and_then(|c| c.usage_usec));
    let pids = read_pids(&mut s, placement, &mut limits, standing);
    if pids.is_none() {
        missing.push("pids".to_string());
    }
    let cpuset = read_cpuset(&mut s, placement, &mut limits);
    if !carrying.map_or(cpuset, |k| k.cpuset) {
        missing.push("cpuset".to_string());
    }
    let freezer = read_freezer(&mut s, placement);
    if freezer.is_none() {
        missing.push("freezer".to_string());
    }
    let io = read_io(root, &mut s, placement);
    if io.is_none() {
        missing.push("io".to_string());
    }
    match carrying {
        Some(kept) => {
            limits = kept.limits.clone();
            for (field, path) in kept.sources.iter() {
                s.sources.insert(field.clone(), path.clone());
            }
        }
        None => limits.io = read_io_limits(root, &mut s, placement),
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
    // A kept count stands while the pids controller of the same directory counts the same
    // tasks (`KeptCount`).
    let pids_dir = match placement.site("pids") {
        Site::V1(dir) | Site::V2(dir) => Some(dir),
        Site::Absent => None,
    };
    let carried = carrying.and_then(|k| k.count.as_ref()).filter(|c| {
        pids_dir.as_ref() == Some(&primary_dir)
            && pids.as_ref().and_then(|p| p.current) == Some(c.pids_current)
    });
    let nprocs = match (count, carried) {
        (Count::Read, Some(c)) => {
            s.sources.insert("nprocs".into(), c.source.clone());
            c.nprocs
        }
        (Count::Read, None) => s
            .value("nprocs", &primary_dir, "cgroup.procs", parse_procs)
            .unwrap_or(0),
        (Count::Skip, _) => 0,
    };

    // Removed while we read it: the files read may be a mix of before and after; skip it.
    // Only a read that found its file gone can mean that: every file read whole before the
    // removal is a reading of the live cgroup.
    let removed = s.saw_gone && !s.dirs.exists(&primary_dir);
    if let Some(dirs) = dirs {
        s.dirs.spare_buf = std::mem::take(&mut s.buf);
        *dirs = std::mem::take(&mut s.dirs);
    }
    if removed {
        return Ok(None);
    }
    Ok(Some(CgroupReading {
        path: clean_str(&placement.paths[primary]),
        cpu,
        memory,
        pids,
        pressure,
        io,
        limits,
        freezer,
        nprocs,
        sources: Arc::new(s.sources),
        missing,
        notes: s.notes,
    }))
}
