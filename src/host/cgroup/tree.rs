//! A cgroup subtree: the union of the child directories found under a path in every hierarchy
//! (on v1 a runtime may create a cgroup in some hierarchies only), each read with
//! [`read_at`]. Children that vanish between listing and reading are skipped.
//!
//! [`read_tree_counted`] reads the whole tree the same way but may leave one process count per
//! hierarchy unread and derive it: every process of the host sits in exactly one cgroup of
//! each hierarchy, so the count of one cgroup is the host's processes less the counts of
//! every other cgroup of that hierarchy, read now. The sampler names its biggest cgroups
//! there (a root holds most of the host: the kernel gathers and sorts every pid of it on each
//! read of its `cgroup.procs`, ~8 ms at 11,700 processes, measured), so the small ones are
//! still read each time and the figure stays as fresh as a read. It learns in which
//! hierarchies a cgroup exists from its parent's listings (no `statx` a hierarchy a cgroup), so
//! one created or removed between the listing and its reading shows at the next read.

mod listings;

use foldhash::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use super::layout::CgroupLayout;
use super::read::{CgroupReading, count_procs, normalize_path, read_at, read_for_tree};
use super::session::display_path;
use crate::host::error::is_vanished;
use crate::host::process::CgroupMembership;
use crate::host::text::clean_str;
use crate::host::{HostError, HostRoot};
pub use listings::{ChildListings, LIST_EVERY};

/// One cgroup and its descendants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CgroupNode {
    /// Full path (`/docker/<id>`), cleaned for display.
    pub path: String,
    /// Last path component (`/` for the root), cleaned for display.
    pub name: String,
    /// Shared with the container whose own cgroup it is, when the tree took its reading
    /// (`read_tree_reusing`): the sampler's frames then hold one copy of it.
    pub reading: Arc<CgroupReading>,
    /// Sorted by name.
    pub children: Vec<CgroupNode>,
}

/// Reads the cgroup at `start` and, up to `depth` levels below it (`None`: all), its
/// descendants. `Ok(None)` when `start` exists in no hierarchy.
pub fn read_tree(
    root: &HostRoot,
    layout: &CgroupLayout,
    start: &str,
    depth: Option<usize>,
) -> Result<Option<CgroupNode>, HostError> {
    let Some(start) = normalize_path(start) else {
        return Ok(None);
    };
    read_node(root, layout, &start, depth)
}

fn read_node(
    root: &HostRoot,
    layout: &CgroupLayout,
    path: &str,
    depth: Option<usize>,
) -> Result<Option<CgroupNode>, HostError> {
    let Some(mut reading) = read_at(root, layout, path)? else {
        return Ok(None);
    };
    let mut children = Vec::new();
    if depth != Some(0) {
        for name in child_names(layout, path, &mut reading.notes) {
            let child_path = child_path(path, &name);
            if let Some(child) = read_node(root, layout, &child_path, depth.map(|d| d - 1))? {
                children.push(child);
            }
        }
    }
    Ok(Some(node(path, Arc::new(reading), children)))
}

/// What [`read_tree_counted`] may derive rather than read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountPlan {
    /// The host's processes (thread groups, kernel threads included), all counted just before.
    pub processes: usize,
    /// Per hierarchy (parallel to the layout's), the cgroup whose count is derived, if any.
    pub derive: Vec<Option<String>>,
}

/// A whole tree read by [`read_tree_counted`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CountedTree {
    pub tree: Option<CgroupNode>,
    /// Per hierarchy (parallel to the layout's), its most crowded cgroup among those counted
    /// there, and its count: the candidate to derive next time.
    pub largest: Vec<Option<(String, usize)>>,
    /// Per hierarchy, its cgroups counted in another hierarchy: the extra `cgroup.procs` reads
    /// deriving a count there takes (the cost to weigh against reading it).
    pub counted_elsewhere: Vec<usize>,
    /// Cgroups whose directories were listed by this walk (the others' children came from
    /// the listings kept: [`ChildListings`]).
    pub listed: usize,
}

/// One cgroup of a counted tree read: where its count comes from.
struct Counted {
    path: String,
    primary: usize,
    exists: Vec<bool>,
    nprocs: usize,
    uncounted: bool,
}

/// Reads the whole tree (from `/`) as [`read_tree`] does; with a `plan`, the count of each
/// cgroup it names is derived (see the module's contract) where that is sound — the
/// hierarchy's mount shows its whole tree, every child was listed, every other count there
/// read — and read otherwise.
pub fn read_tree_counted(
    root: &HostRoot,
    layout: &CgroupLayout,
    plan: Option<&CountPlan>,
) -> Result<CountedTree, HostError> {
    let mut listings = ChildListings::default();
    read_tree_reusing(root, layout, plan, &OwnReadings::default(), &mut listings)
}

/// Readings made this tick of containers' own cgroups (`read_own_keeping`), by their path,
/// each with the memberships it read.
#[derive(Debug, Default)]
pub struct OwnReadings<'a> {
    by_path: HashMap<&'a str, (&'a Arc<CgroupReading>, Vec<&'a CgroupMembership>)>,
}

impl<'a> OwnReadings<'a> {
    /// Adds `reading`, made of the own cgroups `own`; kept only when they are all at one
    /// path, written as a tree names it (a cgroup's directories in several places are not
    /// one node of the tree).
    pub fn add(&mut self, reading: &'a Arc<CgroupReading>, own: Vec<&'a CgroupMembership>) {
        let Some(path) = own.first().map(|m| m.path.as_str()) else {
            return;
        };
        if own.iter().all(|m| m.path == path) && normalize_path(path).as_deref() == Some(path) {
            self.by_path.insert(path, (reading, own));
        }
    }

    fn get(&self, path: &str) -> Option<(&'a Arc<CgroupReading>, &[&'a CgroupMembership])> {
        self.by_path
            .get(path)
            .map(|(reading, own)| (*reading, own.as_slice()))
    }
}

/// [`read_tree_counted`], taking from `known` the reading of each cgroup a container's own
/// reading read this tick from the very directories the tree reads there (the tree reads
/// every file of them again otherwise: ~12 a cgroup, 400 containers' own cgroups on a host of
/// 400 containers). Such a node's figures are the container's: its limits and its process
/// count as the container's reading carries them (`host::container::measure::Carry`). The
/// cgroups' child directories come from `listings`, kept from the walk before where their
/// link counts say nothing came or went ([`listings`]).
pub fn read_tree_reusing(
    root: &HostRoot,
    layout: &CgroupLayout,
    plan: Option<&CountPlan>,
    known: &OwnReadings<'_>,
    listings: &mut ChildListings,
) -> Result<CountedTree, HostError> {
    let derive = |index: usize| -> Option<&str> {
        let path = plan?.derive.get(index)?.as_deref()?;
        // The mount must show the whole hierarchy and the path must be shown as it is.
        (layout.hierarchies.get(index)?.mount_root == "/" && clean_str(path) == path)
            .then_some(path)
    };
    let mut counted = Vec::new();
    let mut complete = true;
    let mut cx = Walk {
        root,
        layout,
        derive: &derive,
        known,
        counted: &mut counted,
        complete: &mut complete,
        listings,
    };
    cx.listings.begin();
    let tree = read_counted_node(&mut cx, "/", None);
    cx.listings.end();
    let tree = tree?;
    let listed = cx.listings.listed;
    let mut tree = tree;
    for (index, target) in (0..layout.hierarchies.len()).filter_map(|i| Some((i, derive(i)?))) {
        let Some(at) = counted
            .iter()
            .position(|c| c.uncounted && c.primary == index && c.path == target)
        else {
            continue;
        };
        let others = complete
            .then(|| others_in(layout, index, at, &counted))
            .flatten();
        let nprocs = others
            .and_then(|sum| plan?.processes.checked_sub(sum))
            .or_else(|| count_procs(layout, index, target))
            .unwrap_or(0);
        counted[at].nprocs = nprocs;
        if let Some(node) = tree.as_mut().and_then(|t| find_mut(t, target)) {
            Arc::make_mut(&mut node.reading).nprocs = nprocs;
        }
    }
    let mut largest: Vec<Option<(String, usize)>> = vec![None; layout.hierarchies.len()];
    for c in &counted {
        let slot = &mut largest[c.primary];
        if slot.as_ref().is_none_or(|(_, n)| c.nprocs > *n) {
            *slot = Some((c.path.clone(), c.nprocs));
        }
    }
    let mut counted_elsewhere = vec![0; layout.hierarchies.len()];
    for c in &counted {
        for (index, exists) in c.exists.iter().enumerate() {
            if *exists && index != c.primary {
                counted_elsewhere[index] += 1;
            }
        }
    }
    Ok(CountedTree {
        tree,
        largest,
        counted_elsewhere,
        listed,
    })
}

/// The processes in every cgroup of hierarchy `index` but `counted[except]`: the counts read
/// with the tree, and `cgroup.procs` there for cgroups counted in another hierarchy. `None`
/// when one cannot be read.
fn others_in(
    layout: &CgroupLayout,
    index: usize,
    except: usize,
    counted: &[Counted],
) -> Option<usize> {
    let mut sum = 0;
    for (at, c) in counted.iter().enumerate() {
        if at == except || !c.exists.get(index).copied().unwrap_or(false) {
            continue;
        }
        sum += if c.primary == index && !c.uncounted {
            c.nprocs
        } else {
            count_procs(layout, index, &c.path)?
        };
    }
    Some(sum)
}

/// The node at `path` (as shown) in `node`'s subtree.
fn find_mut<'n>(node: &'n mut CgroupNode, path: &str) -> Option<&'n mut CgroupNode> {
    if node.path == path {
        return Some(node);
    }
    node.children
        .iter_mut()
        .filter(|c| path.starts_with(c.path.as_str()))
        .find_map(|c| find_mut(c, path))
}

/// What a counted tree read carries down the tree.
struct Walk<'w, 'p> {
    root: &'w HostRoot,
    layout: &'w CgroupLayout,
    derive: &'w dyn Fn(usize) -> Option<&'p str>,
    known: &'w OwnReadings<'w>,
    counted: &'w mut Vec<Counted>,
    complete: &'w mut bool,
    listings: &'w mut ChildListings,
}

/// Reads the cgroup at `path` and below; `listed`, per hierarchy, whether its parent's
/// directory listed it there (`None` for the start: looked up).
fn read_counted_node(
    cx: &mut Walk<'_, '_>,
    path: &str,
    listed: Option<&[bool]>,
) -> Result<Option<CgroupNode>, HostError> {
    let derive = cx.derive;
    let skip = |index: usize| derive(index) == Some(path);
    let known = cx.known.get(path);
    let Some(read) = read_for_tree(cx.root, cx.layout, path, skip, known, listed)? else {
        return Ok(None);
    };
    let mut reading = read.reading;
    cx.counted.push(Counted {
        path: path.to_string(),
        primary: read.primary,
        exists: read.exists,
        nprocs: reading.nprocs,
        uncounted: read.uncounted,
    });
    let layout = cx.layout;
    // The listings' notes join the reading's (a shared reading is copied only then).
    let mut notes = Vec::new();
    let (names, listed_now) = cx
        .listings
        .children(layout, path, listed, &mut notes, false);
    // A child not listed (unreadable directory, a name that is not UTF-8) is a count missing
    // from the sum: derive nothing then.
    *cx.complete &= notes.is_empty();
    let mut children = Vec::new();
    let mut gone = false;
    for (name, listed) in &names {
        match read_counted_node(cx, &child_path(path, name), Some(listed))? {
            Some(child) => children.push((name.clone(), child)),
            None => gone = true,
        }
    }
    if gone && !listed_now {
        // A kept child is gone: another may have come in its place (same link count).
        let notes_before = notes.len();
        let (again, _) = cx.listings.children(layout, path, listed, &mut notes, true);
        *cx.complete &= notes.len() == notes_before;
        for (name, listed) in again.iter().filter(|(name, _)| !names.contains_key(*name)) {
            if let Some(child) = read_counted_node(cx, &child_path(path, name), Some(listed))? {
                children.push((name.clone(), child));
            }
        }
        children.sort_by(|a, b| a.0.cmp(&b.0));
    }
    if !notes.is_empty() {
        Arc::make_mut(&mut reading).notes.extend(notes);
    }
    let children = children.into_iter().map(|(_, child)| child).collect();
    Ok(Some(node(path, reading, children)))
}

/// The path of `parent`'s child `name`.
fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// The node of the cgroup at `path`, named by its last component (`/` for the root).
fn node(path: &str, reading: Arc<CgroupReading>, children: Vec<CgroupNode>) -> CgroupNode {
    let name = path.rsplit('/').find(|p| !p.is_empty()).unwrap_or("/");
    CgroupNode {
        path: clean_str(path),
        name: clean_str(name),
        reading,
        children,
    }
}

/// Names of the child cgroups of `path` in any hierarchy (sub-directories; symlinks are not
/// cgroups). Names that are not UTF-8 cannot be addressed by path and are noted, not read.
fn child_names(layout: &CgroupLayout, path: &str, notes: &mut Vec<String>) -> BTreeSet<String> {
    listed_children(layout, path, notes).into_keys().collect()
}

/// [`child_names`], each with the hierarchies (by index in the layout) that list it.
fn listed_children(
    layout: &CgroupLayout,
    path: &str,
    notes: &mut Vec<String>,
) -> BTreeMap<String, Vec<bool>> {
    let mut names: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for (index, hierarchy) in layout.hierarchies.iter().enumerate() {
        let Some(dir) = hierarchy.cgroup_dir(path) else {
            continue;
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            // Absent in this hierarchy (or removed just now): nothing to list there.
            Err(e) if is_vanished(&e) => continue,
            Err(e) => {
                notes.push(format!("cannot list {}: {e}", display_path(&dir).display()));
                continue;
            }
        };
        for entry in entries.flatten() {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            match entry.file_name().into_string() {
                Ok(name) => {
                    names
                        .entry(name)
                        .or_insert_with(|| vec![false; layout.hierarchies.len()])[index] = true;
                }
                Err(raw) => notes.push(format!(
                    "skipped child cgroup with a non-UTF-8 name: {}",
                    crate::host::text::clean(raw.as_encoded_bytes())
                )),
            }
        }
    }
    names
}
