//! Whether a group no runtime names (`unknown`: its own pid and mount namespaces) sits in a
//! cgroup of its own, and which path stands for it.
//!
//! Contract: [`own_cgroup_path`] answers `Some(path)` only when the group's cgroup holds the
//! group and nothing else, so its figures, limits, freezer and cgroup-wide kill concern the
//! group alone: every process of the group has the same path in each hierarchy (matched by
//! hierarchy id); the decisive hierarchies — on a host with v1 controllers every v1 hierarchy
//! carrying a real controller (not only `name=…`; the v2 line is ignored there, on hybrid hosts
//! it is typically empty at `/`), else the v2 hierarchy (id 0) — are all non-root; and no live
//! process outside the group has the group's path in any decisive hierarchy, except the
//! group's own launcher chain ([`launcher_chain`]: the `unshare`/`cgexec`/`nsenter` parents
//! waiting for its init — how people build containers by hand). The path is the v2
//! one on a host without v1 controllers, else the `memory` hierarchy's (else the first decisive
//! hierarchy's). Anything less is `None`: a shared cgroup would charge others' usage to it and
//! an act on it would hit them too. The cost is linear in processes: one [`Occupancy`] count
//! per scan, then a look-up per decisive hierarchy of each unknown group.
//!
//! Whether a cgroup is a container's own for its figures and acts is decided by the one rule
//! of `host::container::ownership` (not a root — [`is_root`] — and no process outside the
//! container in it or below): `measure` applies it to a scan's snapshot, the acts
//! (`control::owned`) to `cgroup.procs` read right before they write.

use foldhash::HashMap;

use crate::host::process::{CgroupMembership, Process};

/// How many live processes sit in each non-root cgroup, per hierarchy id.
pub(crate) struct Occupancy<'p> {
    holders: HashMap<(u32, &'p str), usize>,
}

impl<'p> Occupancy<'p> {
    /// Counts `processes` (the live, non-kernel ones) in each (hierarchy, path); root paths
    /// are left out because a group at the root never has a cgroup of its own.
    pub(crate) fn count(processes: &[&'p Process]) -> Occupancy<'p> {
        let mut holders: HashMap<(u32, &'p str), usize> = HashMap::default();
        for process in processes {
            for membership in process.cgroups.iter() {
                if !is_root(&membership.path) {
                    *holders
                        .entry((membership.hierarchy, membership.path.as_str()))
                        .or_default() += 1;
                }
            }
        }
        Occupancy { holders }
    }

    /// Live processes in `path` of `hierarchy`.
    fn holders(&self, hierarchy: u32, path: &str) -> usize {
        self.holders.get(&(hierarchy, path)).copied().unwrap_or(0)
    }
}

/// The programs that start a container by hand and then wait for its init as its parent
/// (`unshare --fork`, `nsenter --fork`; `cgexec` execs its command, so it shows only while it
/// runs). Such a chain right above the init is the container's own launcher.
pub(crate) const LAUNCHERS: [&str; 3] = ["unshare", "cgexec", "nsenter"];

/// True when `comm` is one of the [`LAUNCHERS`].
pub(crate) fn is_launcher(comm: &str) -> bool {
    LAUNCHERS.contains(&comm)
}

/// The group's launcher chain: the parents right above its topmost members (those whose
/// parent is not a member), nearest first, for as long as each is a [`LAUNCHERS`] program.
pub(crate) fn launcher_chain<'p>(
    members: &[&'p Process],
    parent_of: impl Fn(i32) -> Option<&'p Process>,
) -> Vec<&'p Process> {
    let mut chain: Vec<&'p Process> = Vec::new();
    for top in members
        .iter()
        .filter(|m| !members.iter().any(|o| o.pid == m.ppid))
    {
        let mut next = top.ppid;
        // Bounded: a chain of launchers is a handful deep; a loop must end.
        for _ in 0..16 {
            let Some(parent) = parent_of(next).filter(|p| is_launcher(&p.comm)) else {
                break;
            };
            if chain.iter().any(|c| c.pid == parent.pid) {
                break;
            }
            chain.push(parent);
            next = parent.ppid;
        }
    }
    chain
}

/// The cgroup path of the group `members` (distinct live processes) when the cgroup is theirs
/// alone — besides their `launchers` (see [`launcher_chain`]): a hand-made container's
/// `unshare` waiting for its init in the same cgroup does not make the cgroup shared. `None`
/// otherwise (see the module contract).
pub(crate) fn own_cgroup_path(
    members: &[&Process],
    launchers: &[&Process],
    occupancy: &Occupancy<'_>,
) -> Option<String> {
    let (first, rest) = members.split_first()?;
    let lines: &[CgroupMembership] = &first.cgroups;
    if rest.iter().any(|other| !same_paths(lines, &other.cgroups)) {
        return None;
    }
    let v1: Vec<&CgroupMembership> = lines.iter().filter(|m| has_real_controller(m)).collect();
    let decisive: Vec<&CgroupMembership> = if v1.is_empty() {
        lines.iter().filter(|m| is_v2(m)).collect()
    } else {
        v1
    };
    if decisive.is_empty() {
        return None;
    }
    for membership in &decisive {
        // Every member has this path (checked above), so more holders means an outsider.
        let beside = launchers
            .iter()
            .filter(|l| {
                l.cgroups
                    .iter()
                    .any(|m| m.hierarchy == membership.hierarchy && m.path == membership.path)
            })
            .count();
        if is_root(&membership.path)
            || occupancy.holders(membership.hierarchy, &membership.path) != members.len() + beside
        {
            return None;
        }
    }
    let chosen = decisive
        .iter()
        .find(|m| m.controllers.iter().any(|c| c == "memory"))
        .or(decisive.first())?;
    Some(chosen.path.clone())
}

/// True when both membership lists have the same hierarchies with the same paths, whatever
/// their order.
fn same_paths(a: &[CgroupMembership], b: &[CgroupMembership]) -> bool {
    if a == b {
        return true;
    }
    a.len() == b.len()
        && a.iter().all(|m| {
            b.iter()
                .any(|n| n.hierarchy == m.hierarchy && n.path == m.path)
        })
}

/// A v1 hierarchy carrying at least one resource controller (`name=systemd` alone carries
/// none: it only names processes).
pub(crate) fn has_real_controller(membership: &CgroupMembership) -> bool {
    membership
        .controllers
        .iter()
        .any(|c| !c.is_empty() && !c.starts_with("name="))
}

/// The unified (v2) line: hierarchy 0, no controllers listed.
pub(crate) fn is_v2(membership: &CgroupMembership) -> bool {
    membership.hierarchy == 0 && membership.controllers.is_empty()
}

/// `/` (or empty, as some kernels print it) is the hierarchy's root cgroup.
pub(crate) fn is_root(path: &str) -> bool {
    path.trim_end_matches('/').is_empty()
}
