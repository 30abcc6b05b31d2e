//! Reading one cgroup: where each controller's files are (v1: that controller's own hierarchy,
//! at the path the membership names for it, which may differ per controller; v2: the unified
//! directory), and turning them into a [`CgroupReading`].
//!
//! A cgroup that exists in no hierarchy, or whose main directory disappears while it is read, is
//! `Ok(None)`. A controller without files for this cgroup is listed in `missing`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::controllers::{read_cpu, read_cpuset, read_freezer, read_memory, read_pids};
use super::io::limits::read_io_limits;
use super::io::{IoStats, read_io};
use super::layout::{CgroupLayout, CgroupMode};
use super::parse::{parse_pressure, parse_procs};
use super::placement::Placement;
use super::session::Session;
use super::stats::{CgroupLimits, CpuStats, FreezerState, MemoryStats, PidsStats, Pressure};
use crate::host::process::CgroupMembership;
use crate::host::text::clean_str;
use crate::host::{HostError, HostRoot};

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
    /// was read from.
    pub sources: BTreeMap<String, PathBuf>,
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
    let placement = Placement {
        layout,
        dirs: layout
            .hierarchies
            .iter()
            .map(|h| h.cgroup_dir(&path).filter(|d| d.is_dir()))
            .collect(),
        paths: vec![path.clone(); layout.hierarchies.len()],
        unified_stands_in: false,
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
    let mut placement = place(layout, memberships, false);
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
    read_placed(root, &placement)
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
    read_placed(root, &place(layout, own, true))
}

/// Each hierarchy's directory at the path `memberships` name for it (the first line wins).
fn place<'a>(
    layout: &'a CgroupLayout,
    memberships: &[CgroupMembership],
    unified_stands_in: bool,
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
            .filter(|d| d.is_dir());
        paths[index] = membership.path.clone();
    }
    Placement {
        layout,
        dirs,
        paths,
        unified_stands_in,
    }
}

fn read_placed(root: &HostRoot, placement: &Placement) -> Result<Option<CgroupReading>, HostError> {
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
    let io = read_io(root, &mut s, placement);
    if io.is_none() {
        missing.push("io".to_string());
    }
    limits.io = read_io_limits(root, &mut s, placement);
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
        io,
        limits,
        freezer,
        nprocs,
        sources: s.sources,
        missing,
        notes: s.notes,
    }))
}
