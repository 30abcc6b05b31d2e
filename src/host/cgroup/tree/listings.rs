//! The child directories of each cgroup, kept between walks of the whole tree
//! ([`super::read_tree_reusing`]) and listed again only when they may have changed.
//!
//! Contract: a cgroupfs directory (kernfs, v1 and v2) counts 2 + its subdirectories as its
//! links, so one `stat` per hierarchy tells whether a child cgroup came or went there; the
//! listing it spares is an open, two `getdents64` and a close over ~25 control files, per
//! hierarchy (13 on a hybrid host), per cgroup, per tick. A directory is stat'ed only in the
//! hierarchies its parent's listing put it in (a child appearing elsewhere changes the
//! parent's count there). A child removed and another made between two walks leave the count
//! as it was: the walk lists a directory afresh when a child it kept is gone
//! ([`ChildListings::children`] with `fresh`), and every directory at least every
//! [`LIST_EVERY`] walks whatever its count (a rename; a cgroup removed and made again in one
//! hierarchy while it stays in another). A listing that met a problem (a directory not
//! listable, a name that is not UTF-8) is not kept: its notes come with every walk.

use foldhash::HashMap;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

use super::listed_children;
use crate::host::cgroup::layout::CgroupLayout;
use crate::host::error::is_vanished;

/// Walks after which a kept listing is read afresh whatever its directory's link count.
pub const LIST_EVERY: u64 = 30;

/// A cgroup's child names, each with the hierarchies (by index in the layout) that list it.
pub(super) type Children = BTreeMap<String, Vec<bool>>;

/// The listings kept between walks (see the module).
#[derive(Debug, Default)]
pub struct ChildListings {
    walk: u64,
    by_path: HashMap<String, Kept>,
    /// Directories listed (not taken from a kept listing) by the last walk.
    pub(super) listed: usize,
}

#[derive(Debug)]
struct Kept {
    /// Per hierarchy, the directory's link count when listed; `None` where not looked at.
    links: Vec<Option<u64>>,
    names: Children,
    listed_walk: u64,
    seen_walk: u64,
}

impl ChildListings {
    /// Starts a walk.
    pub(super) fn begin(&mut self) {
        self.walk += 1;
        self.listed = 0;
    }

    /// Ends a walk: what it did not see (removed cgroups) is forgotten.
    pub(super) fn end(&mut self) {
        let walk = self.walk;
        self.by_path.retain(|_, kept| kept.seen_walk == walk);
    }

    /// The children of the cgroup at `path`, present in the hierarchies `present` says (`None`:
    /// all); problems into `notes`. `fresh`: list it whatever was kept. True in the answer's
    /// second place when it was listed now (a kept listing's children may be gone).
    pub(super) fn children(
        &mut self,
        layout: &CgroupLayout,
        path: &str,
        present: Option<&[bool]>,
        notes: &mut Vec<String>,
        fresh: bool,
    ) -> (Children, bool) {
        let links: Vec<Option<u64>> = layout
            .hierarchies
            .iter()
            .enumerate()
            .map(|(index, hierarchy)| {
                if !present.is_none_or(|p| p.get(index).copied().unwrap_or(false)) {
                    return None;
                }
                let dir = hierarchy.cgroup_dir(path)?;
                match std::fs::metadata(&dir) {
                    Ok(meta) => Some(meta.nlink()),
                    // Gone, or not a directory here: the listing tells the rest.
                    Err(e) if is_vanished(&e) => Some(0),
                    Err(_) => Some(u64::MAX),
                }
            })
            .collect();
        let walk = self.walk;
        if !fresh
            && let Some(kept) = self.by_path.get_mut(path)
            && kept.links == links
            && walk - kept.listed_walk < LIST_EVERY
        {
            kept.seen_walk = walk;
            return (kept.names.clone(), false);
        }
        self.listed += 1;
        let notes_before = notes.len();
        let names = listed_children(layout, path, notes);
        if notes.len() == notes_before && !links.contains(&Some(u64::MAX)) {
            let kept = Kept {
                links,
                names: names.clone(),
                listed_walk: walk,
                seen_walk: walk,
            };
            self.by_path.insert(path.to_string(), kept);
        } else {
            self.by_path.remove(path);
        }
        (names, true)
    }
}
