//! A cgroup as a tree read reads it: [`read_at`](super::read_at)'s reading with where its process count comes
//! from, its count left unread where the tree derives it, or a reading of the same
//! directories made this tick for a container taken instead of reading the files again.

use std::path::PathBuf;
use std::sync::Arc;

use super::super::layout::CgroupLayout;
use super::super::parse::parse_procs;
use super::super::placement::Placement;
use super::{CgroupReading, Count, placement_at, placement_listed, read_placed};
use crate::host::process::CgroupMembership;
use crate::host::{HostError, HostRoot};

/// One cgroup of a tree read as [`read_at`](super::read_at) reads it, with where its process count comes
/// from, so a tree read can derive one count per hierarchy instead of reading it
/// (`tree::read_tree_counted`).
pub(in crate::host::cgroup) struct TreeReading {
    /// A container's reading taken is shared, not copied.
    pub reading: Arc<CgroupReading>,
    /// The hierarchy (index in the layout) its `nprocs` is counted in.
    pub primary: usize,
    /// Per hierarchy, whether the cgroup exists there.
    pub exists: Vec<bool>,
    /// Its count was not read (`nprocs` 0): the caller derives it.
    pub uncounted: bool,
}

/// Reads the cgroup at `path` (normalized) like [`read_at`](super::read_at), but leaves its process count
/// unread when it is counted in a hierarchy `skip_count` names. `known`, a reading made this
/// tick of a container's own cgroups `own` at that path, is taken instead of reading when it
/// read exactly the directories [`read_at`](super::read_at) would (see [`reads_same_directories`]).
/// `listed`: per hierarchy, whether the parent's directory there lists it (the tree's
/// listing), instead of a `statx` of each.
pub(in crate::host::cgroup) fn read_for_tree(
    root: &HostRoot,
    layout: &CgroupLayout,
    path: &str,
    skip_count: impl Fn(usize) -> bool,
    known: Option<(&Arc<CgroupReading>, &[&CgroupMembership])>,
    listed: Option<&[bool]>,
) -> Result<Option<TreeReading>, HostError> {
    let placement = match listed {
        Some(listed) => placement_listed(layout, path, listed),
        None => placement_at(layout, path),
    };
    let Some(primary) = placement.primary() else {
        return Ok(None);
    };
    let uncounted = skip_count(primary);
    let count = if uncounted { Count::Skip } else { Count::Read };
    let exists = placement.dirs.iter().map(Option::is_some).collect();
    if let Some((reading, own)) = known
        && !uncounted
        && reads_same_directories(&placement, own)
    {
        return Ok(Some(TreeReading {
            reading: Arc::clone(reading),
            primary,
            exists,
            uncounted,
        }));
    }
    Ok(
        read_placed(root, &placement, count)?.map(|reading| TreeReading {
            reading: Arc::new(reading),
            primary,
            exists,
            uncounted,
        }),
    )
}

/// Whether a reading of the own cgroups `own` ([`read_own_keeping`](super::read_own_keeping)) read every figure
/// from the directories `placement` (a cgroup as [`read_at`](super::read_at) finds it) holds: each
/// hierarchy's directory the same (the first membership of a hierarchy is the one read), and
/// no v1 controller read from the unified directory in its place.
fn reads_same_directories(placement: &Placement, own: &[&CgroupMembership]) -> bool {
    let layout = placement.layout;
    let mut dirs: Vec<Option<PathBuf>> = vec![None; layout.hierarchies.len()];
    for membership in own {
        let Some(index) = layout
            .hierarchy_for(membership)
            .and_then(|h| layout.hierarchies.iter().position(|x| x == h))
        else {
            continue;
        };
        if dirs[index].is_none() {
            dirs[index] = layout.hierarchies[index].cgroup_dir(&membership.path);
        }
    }
    // `placement` holds only directories that exist; the own reading skipped missing ones.
    let same = dirs
        .iter()
        .zip(&placement.dirs)
        .all(|(own, there)| match there {
            Some(_) => own == there,
            None => own.as_ref().is_none_or(|d| !d.is_dir()),
        });
    let stands_in = placement.v2_dir().is_some()
        && layout
            .hierarchies
            .iter()
            .zip(&placement.dirs)
            .any(|(h, dir)| h.version == 1 && dir.is_none());
    same && !stands_in
}

/// The lines of `cgroup.procs` of `path` in hierarchy `hierarchy` (an index in the layout):
/// the processes directly in it there. `None` when it cannot be read.
pub(in crate::host::cgroup) fn count_procs(
    layout: &CgroupLayout,
    hierarchy: usize,
    path: &str,
) -> Option<usize> {
    let dir = layout.hierarchies.get(hierarchy)?.cgroup_dir(path)?;
    let text = std::fs::read(dir.join("cgroup.procs")).ok()?;
    parse_procs(&String::from_utf8_lossy(&text)).ok()
}
