//! Which of a container's cgroups are its own: for each of its memberships, whether that cgroup
//! is its own by the rule of `host::container::ownership` (not a root, and every process in it
//! and its descendants is the container's), and if not, why — judged on a [`Census`]'s
//! snapshot, the list carried between ticks where the caller carries (`super::carry`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::super::Container;
use super::super::assign::own_cgroup::{is_root as is_root_path, is_v2};
use super::super::ownership::{Owner, SnapshotFacts, sharing_among};
use super::own::Census;
use crate::host::process::CgroupMembership;

/// One of a container's cgroups (one per hierarchy it is in) and whether it is its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CgroupOwnership {
    /// `cpu,cpuacct`, `name=systemd`, `unified`, ...
    pub hierarchy: String,
    pub path: String,
    /// Every process in it and below is the container's, and it is not a root.
    pub own: bool,
    /// Why not, when it is not its own ("the root: …", "2 processes outside this container
    /// (pids 1, 45)").
    pub shared: Option<String>,
    #[serde(skip)]
    pub membership: CgroupMembership,
}

/// The ownership of each of `container`'s cgroups, by the snapshot in `census`: the list
/// handed out last tick when every entry still holds (same cgroups, same reasons), so frames
/// share it (see `super::carry`).
pub(super) fn ownership(container: &Container, census: &Census<'_>) -> Arc<[CgroupOwnership]> {
    if let Some(carry) = &census.carry
        && let Some(list) = carry.borrow_mut().ownership_unchanged(&container.id)
    {
        return list;
    }
    let owner = Owner::of_container(container);
    let mut facts = SnapshotFacts::indexed(census.processes(), census.pids());
    let reasons: Vec<Option<String>> = container
        .cgroups
        .iter()
        .map(|m| {
            if is_root_path(&m.path) {
                sharing_among(&owner, &m.path, &mut facts, &[])
            } else {
                let pids = census.pids_at_or_below(m.hierarchy, &m.path);
                sharing_among(&owner, &m.path, &mut facts, &pids)
            }
        })
        .collect();
    let matches = |kept: &[CgroupOwnership]| {
        kept.len() == reasons.len()
            && kept
                .iter()
                .zip(container.cgroups.iter())
                .zip(&reasons)
                .all(|((o, m), shared)| o.membership == *m && o.shared == *shared)
    };
    let build = || {
        container
            .cgroups
            .iter()
            .zip(&reasons)
            .map(|(m, shared)| CgroupOwnership {
                hierarchy: if is_v2(m) {
                    "unified".into()
                } else {
                    m.controllers.join(",")
                },
                path: m.path.clone(),
                own: shared.is_none(),
                shared: shared.clone(),
                membership: m.clone(),
            })
            .collect()
    };
    match &census.carry {
        Some(carry) => carry
            .borrow_mut()
            .ownership_like(&container.id, matches, build),
        None => build().into(),
    }
}
