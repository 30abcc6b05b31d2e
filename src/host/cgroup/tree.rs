//! A cgroup subtree: the union of the child directories found under a path in every hierarchy
//! (on v1 a runtime may create a cgroup in some hierarchies only), each read with
//! [`read_at`]. Children that vanish between listing and reading are skipped.

use std::collections::BTreeSet;

use serde::Serialize;

use super::layout::CgroupLayout;
use super::read::{CgroupReading, normalize_path, read_at};
use super::session::display_path;
use crate::host::error::is_vanished;
use crate::host::text::clean_str;
use crate::host::{HostError, HostRoot};

/// One cgroup and its descendants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CgroupNode {
    /// Full path (`/docker/<id>`), cleaned for display.
    pub path: String,
    /// Last path component (`/` for the root), cleaned for display.
    pub name: String,
    pub reading: CgroupReading,
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
            let child_path = if path == "/" {
                format!("/{name}")
            } else {
                format!("{path}/{name}")
            };
            if let Some(child) = read_node(root, layout, &child_path, depth.map(|d| d - 1))? {
                children.push(child);
            }
        }
    }
    let name = path.rsplit('/').find(|p| !p.is_empty()).unwrap_or("/");
    Ok(Some(CgroupNode {
        path: clean_str(path),
        name: clean_str(name),
        reading,
        children,
    }))
}

/// Names of the child cgroups of `path` in any hierarchy (sub-directories; symlinks are not
/// cgroups). Names that are not UTF-8 cannot be addressed by path and are noted, not read.
fn child_names(layout: &CgroupLayout, path: &str, notes: &mut Vec<String>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for hierarchy in &layout.hierarchies {
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
                    names.insert(name);
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
