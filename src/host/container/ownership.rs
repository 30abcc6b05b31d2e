//! Whether a cgroup is a container's own: the one rule the figures (`measure`, from a scan's
//! snapshot) and the acts (`control::owned`, re-read live right before a write) both apply.
//!
//! Contract: a cgroup is the container's own ([`sharing`] answers `None`) when it is not the
//! root of its hierarchy and every process in it and in its descendants is the container's;
//! otherwise the answer says why ("the root: …", "2 processes outside this container (pids
//! 1, 45)"). A process is the container's ([`Owner`]) when the scan counted it, when it is in
//! the container's own pid namespace, when it descends from one the scan counted (forked
//! since), or when it is the runtime's helper that started the init (`systemd-nspawn`'s
//! supervisor, Podman's and CRI-O's `conmon`: they live in the container's cgroup, the
//! runtime's own limits and kills include them), or — for a container no runtime names — its
//! launcher chain (`unshare`/`cgexec`/`nsenter` right above the init, waiting for it: a
//! hand-made container). What a process is (parent, name, pid
//! namespace) comes from [`ProcessFacts`]: the snapshot's table ([`SnapshotFacts`]) for a
//! figure, `/proc` read now ([`LiveFacts`]) for an act; a process that vanished is not counted.

use std::collections::HashSet;

use super::assign::own_cgroup::{is_launcher, is_root};
use super::measure::ContainerView;
use crate::host::namespace::{NsKind, read_ns_set};
use crate::host::process::{Process, read_stat};
use crate::host::runtime::Runtime;
use crate::host::scan::{ScanOptions, scan};
use crate::host::{HostError, HostRoot};

/// Longest parent chain followed when tracing a process to the container (pid namespaces
/// nest at most 32 deep and process trees are shallow; a loop must end).
const MAX_ANCESTRY: usize = 256;

/// How many outside pids a reason lists before `…`.
const LISTED: usize = 8;

/// What the rule needs to know of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub ppid: i32,
    pub comm: String,
}

/// Where the facts about processes come from: a snapshot or `/proc` now.
pub trait ProcessFacts {
    /// Parent and name of `pid`; `None` when it is gone (or unreadable as it exits).
    fn facts(&mut self, pid: i32) -> Option<Facts>;
    /// Its pid namespace inode, when readable.
    fn pid_ns(&mut self, pid: i32) -> Option<u64>;
    /// True while `pid` exists (a process unreadable but present still counts as outside).
    fn exists(&mut self, pid: i32) -> bool;
    /// The parent of `pid` (as [`ProcessFacts::facts`] has it, without its name).
    fn ppid(&mut self, pid: i32) -> Option<i32> {
        self.facts(pid).map(|f| f.ppid)
    }
}

/// Facts read from `/proc` at this moment (the acts' check).
pub struct LiveFacts<'r> {
    root: &'r HostRoot,
    buf: Vec<u8>,
}

impl<'r> LiveFacts<'r> {
    pub fn new(root: &'r HostRoot) -> LiveFacts<'r> {
        LiveFacts {
            root,
            buf: Vec::with_capacity(512),
        }
    }
}

impl ProcessFacts for LiveFacts<'_> {
    fn facts(&mut self, pid: i32) -> Option<Facts> {
        let stat = read_stat(self.root, pid, &mut self.buf).ok()??;
        Some(Facts {
            ppid: stat.ppid,
            comm: stat.comm,
        })
    }

    fn pid_ns(&mut self, pid: i32) -> Option<u64> {
        read_ns_set(self.root, pid).ok()??.get(NsKind::Pid)
    }

    fn exists(&mut self, pid: i32) -> bool {
        self.root.pid_dir(pid).exists()
    }
}

/// Facts from a snapshot's process table (ascending pid): what the figures are measured with.
pub struct SnapshotFacts<'p> {
    processes: &'p [Process],
}

impl<'p> SnapshotFacts<'p> {
    pub fn new(processes: &'p [Process]) -> SnapshotFacts<'p> {
        SnapshotFacts { processes }
    }

    fn find(&self, pid: i32) -> Option<&'p Process> {
        let at = self.processes.binary_search_by_key(&pid, |p| p.pid).ok()?;
        self.processes.get(at)
    }
}

impl ProcessFacts for SnapshotFacts<'_> {
    fn ppid(&mut self, pid: i32) -> Option<i32> {
        self.find(pid).map(|p| p.ppid)
    }

    fn facts(&mut self, pid: i32) -> Option<Facts> {
        self.find(pid).map(|p| Facts {
            ppid: p.ppid,
            comm: p.comm.clone(),
        })
    }

    fn pid_ns(&mut self, pid: i32) -> Option<u64> {
        self.find(pid)?.ns.get(NsKind::Pid)
    }

    fn exists(&mut self, pid: i32) -> bool {
        self.find(pid).is_some()
    }
}

/// Who counts as the container when its cgroups are checked.
#[derive(Debug, Clone, Default)]
pub struct Owner {
    /// `name (id)`, as refusals name the target.
    pub label: String,
    /// Host pids the scan counted as the container's.
    members: HashSet<i32>,
    init: Option<i32>,
    /// The container's pid namespace when it is not the host's.
    pid_ns: Option<u64>,
    /// The runtime's helper process name, when the runtime keeps one in the container's
    /// cgroup as the init's parent.
    helper: Option<&'static str>,
    /// A container no runtime names (`unknown`): its launcher chain (`unshare`, `cgexec`,
    /// `nsenter` right above the init, `assign::own_cgroup::launcher_chain`) is its own.
    launchers: bool,
}

impl Owner {
    /// The container `view` as the scan saw it.
    pub fn of(view: &ContainerView) -> Owner {
        Owner::of_container(&view.container)
    }

    /// The container `c` (its pids, init, namespaces and runtime).
    pub fn of_container(c: &super::Container) -> Owner {
        let pid_ns = c
            .namespaces
            .get(NsKind::Pid)
            .filter(|_| !c.shared_with_host.contains(&NsKind::Pid));
        let helper = match c.runtime {
            Runtime::Podman | Runtime::CriO | Runtime::Kubernetes => Some("conmon"),
            Runtime::Nspawn => Some("systemd-nspawn"),
            _ => None,
        };
        Owner {
            label: format!("{} ({})", c.name, c.id),
            members: c.pids.iter().copied().collect(),
            init: c.init_pid,
            pid_ns,
            helper,
            launchers: c.runtime == Runtime::Unknown,
        }
    }

    /// The running container with exactly this id, looked up by a fresh scan (undo and timed
    /// reverts act long after the change); [`Owner::gone`] when none runs.
    pub fn resolve(root: &HostRoot, id: &str) -> Result<Owner, HostError> {
        let options = ScanOptions {
            namespaces: false,
            stopped: false,
        };
        let snapshot = scan(root, options)?;
        Ok(snapshot
            .containers
            .iter()
            .find(|v| v.container.id == id && v.container.running)
            .map(Owner::of)
            .unwrap_or_else(|| Owner::gone(id)))
    }

    /// A container no scan finds any more: none of its cgroups' processes is its.
    pub fn gone(id: &str) -> Owner {
        Owner {
            label: format!("{id} (no longer running)"),
            ..Owner::default()
        }
    }

    /// The pids among `pids` that are not the container's, read from `/proc` now (ascending,
    /// as given).
    pub fn outsiders(&self, root: &HostRoot, pids: &[i32]) -> Vec<i32> {
        self.outsiders_by(&mut LiveFacts::new(root), pids)
    }

    /// The pids among `pids` that are not the container's, by `facts`.
    pub fn outsiders_by(&self, facts: &mut impl ProcessFacts, pids: &[i32]) -> Vec<i32> {
        self.first_outsiders_by(facts, pids, usize::MAX)
    }

    /// The first `most` pids among `pids` that are not the container's, by `facts`: the rest
    /// is not looked at (a cgroup shared with the whole host has thousands; a few say it).
    pub fn first_outsiders_by(
        &self,
        facts: &mut impl ProcessFacts,
        pids: &[i32],
        most: usize,
    ) -> Vec<i32> {
        let mut helpers: Option<HashSet<i32>> = None;
        pids.iter()
            .copied()
            .filter(|&pid| !self.is_mine(facts, pid, &mut helpers))
            .take(most)
            .collect()
    }

    fn is_mine(
        &self,
        facts: &mut impl ProcessFacts,
        pid: i32,
        helpers: &mut Option<HashSet<i32>>,
    ) -> bool {
        if self.members.contains(&pid) {
            return true;
        }
        // The parent first, the name only when a helper or launcher rule needs it (a name is
        // a copy: this runs for every process of a shared cgroup).
        let Some(ppid) = facts.ppid(pid) else {
            // Gone while looked at (or unreadable as it exits): it can no longer be hit.
            return !facts.exists(pid);
        };
        if let Some(ns) = self.pid_ns
            && facts.pid_ns(pid) == Some(ns)
        {
            return true;
        }
        // Forked by a process of the container since the scan.
        if self.descends_from_member(facts, ppid) {
            return true;
        }
        if self.helper.is_none() && !self.launchers {
            return false;
        }
        let Some(fact) = facts.facts(pid) else {
            return !facts.exists(pid);
        };
        match self.helper {
            Some(name) if fact.comm == name => helpers
                .get_or_insert_with(|| self.init_ancestors(facts))
                .contains(&pid),
            _ if self.launchers && is_launcher(&fact.comm) => {
                self.launcher_chain(facts).contains(&pid)
            }
            _ => false,
        }
    }

    /// The init's parents right above it, nearest first, while each is a launcher program
    /// (a chain of launchers is a handful deep; a loop must end).
    fn launcher_chain(&self, facts: &mut impl ProcessFacts) -> Vec<i32> {
        let mut chain = Vec::new();
        let mut pid = self.init.unwrap_or(0);
        for _ in 0..16 {
            let Some(fact) = facts.facts(pid) else {
                break;
            };
            let parent = fact.ppid;
            match facts.facts(parent) {
                Some(p) if parent > 1 && is_launcher(&p.comm) => chain.push(parent),
                _ => break,
            }
            pid = parent;
        }
        chain
    }

    fn descends_from_member(&self, facts: &mut impl ProcessFacts, mut pid: i32) -> bool {
        for _ in 0..MAX_ANCESTRY {
            if pid <= 1 {
                return false;
            }
            if self.members.contains(&pid) {
                return true;
            }
            match facts.ppid(pid) {
                Some(ppid) => pid = ppid,
                None => return false,
            }
        }
        false
    }

    /// The init's parents, nearest first (the runtime helper is among them).
    fn init_ancestors(&self, facts: &mut impl ProcessFacts) -> HashSet<i32> {
        let mut out = HashSet::new();
        let mut pid = self.init.unwrap_or(0);
        for _ in 0..MAX_ANCESTRY {
            let Some(fact) = facts.facts(pid) else {
                break;
            };
            if fact.ppid <= 1 {
                break;
            }
            out.insert(fact.ppid);
            pid = fact.ppid;
        }
        out
    }
}

/// Why the cgroup at `path` is not `owner`'s own, or `None` when it is. `pids` are the
/// processes in it and in its descendants (the caller lists them: from the snapshot or from
/// `cgroup.procs` now); they are only looked at when the cgroup is not a root.
pub fn sharing(
    owner: &Owner,
    path: &str,
    facts: &mut impl ProcessFacts,
    pids: impl FnOnce() -> Vec<i32>,
) -> Option<String> {
    if is_root(path) {
        return Some("the root: it holds every process of the host".into());
    }
    // Ascending, whatever order the caller listed them in: a message names the same pids the
    // same way each time.
    let mut pids = pids();
    pids.sort_unstable();
    pids.dedup();
    // Enough to say it is shared and by whom; counting thousands more (the host's processes
    // in a cgroup the container shares with it) costs a walk of each one's parents, for every
    // container, every tick.
    let outside = owner.first_outsiders_by(facts, &pids, COUNTED);
    if outside.len() < COUNTED {
        return (!outside.is_empty()).then(|| describe_outsiders(&outside));
    }
    Some(format!(
        "{COUNTED} or more processes outside this container (pids {})",
        listed(&outside)
    ))
}

/// How many outsiders a snapshot's answer counts before it stops looking.
const COUNTED: usize = 64;

/// `2 processes outside this container (pids 1, 45)`, the list cut after a few.
pub fn describe_outsiders(pids: &[i32]) -> String {
    format!(
        "{} process{} outside this container (pid{} {})",
        pids.len(),
        if pids.len() == 1 { "" } else { "es" },
        if pids.len() == 1 { "" } else { "s" },
        listed(pids)
    )
}

/// The first pids of `pids`, `…` after them when there are more.
fn listed(pids: &[i32]) -> String {
    let mut listed: Vec<String> = pids.iter().take(LISTED).map(i32::to_string).collect();
    if pids.len() > LISTED {
        listed.push("…".into());
    }
    listed.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outsiders_are_counted_and_listed() {
        assert_eq!(
            describe_outsiders(&[1]),
            "1 process outside this container (pid 1)"
        );
        assert_eq!(
            describe_outsiders(&[1, 2, 3, 4, 5, 6, 7, 8, 9]),
            "9 processes outside this container (pids 1, 2, 3, 4, 5, 6, 7, 8, …)"
        );
    }
}
