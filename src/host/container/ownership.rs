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

use foldhash::HashSet;
use std::borrow::Cow;

use super::assign::own_cgroup::{is_launcher, is_root};
use super::measure::ContainerView;
use crate::host::namespace::{NsKind, read_ns_set};
use crate::host::process::{Process, Records, read_stat};
use crate::host::runtime::Runtime;
use crate::host::scan::{ScanOptions, scan};
use crate::host::{HostError, HostRoot};

/// Longest parent chain followed when tracing a process to the container (pid namespaces
/// nest at most 32 deep and process trees are shallow; a loop must end).
const MAX_ANCESTRY: usize = 256;

/// How many outside pids a reason lists before `…`.
const LISTED: usize = 8;

/// A set of pids: looked up for every process of a shared cgroup a check walks (thousands a
/// tick).
type PidSet = HashSet<i32>;

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
    /// `test` applied to the name of `pid`; `None` when it is gone (a snapshot lends the
    /// name instead of copying it: this runs for every process of a shared cgroup).
    fn with_comm<T>(&mut self, pid: i32, test: impl FnOnce(&str) -> T) -> Option<T> {
        self.facts(pid).map(|f| test(&f.comm))
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
    processes: Records<'p>,
    /// The processes' pids, in the same order: a search steps through 4-byte pids, not
    /// ~200-byte records (a cache miss a step over 11,700 records; a check of a shared
    /// cgroup looks up each process it walks several times).
    pids: Cow<'p, [i32]>,
}

impl<'p> SnapshotFacts<'p> {
    pub fn new(processes: impl Into<Records<'p>>) -> SnapshotFacts<'p> {
        let processes = processes.into();
        SnapshotFacts {
            processes,
            pids: Cow::Owned(processes.into_iter().map(|p| p.pid).collect()),
        }
    }

    /// [`SnapshotFacts::new`] with the pids of `processes` already listed (the same order).
    pub fn indexed(processes: impl Into<Records<'p>>, pids: &'p [i32]) -> SnapshotFacts<'p> {
        let processes = processes.into();
        debug_assert_eq!(processes.len(), pids.len());
        SnapshotFacts {
            processes,
            pids: Cow::Borrowed(pids),
        }
    }

    fn find(&self, pid: i32) -> Option<&'p Process> {
        let at = self.pids.binary_search(&pid).ok()?;
        self.processes.get(at).filter(|p| p.pid == pid)
    }
}

impl ProcessFacts for SnapshotFacts<'_> {
    fn ppid(&mut self, pid: i32) -> Option<i32> {
        self.find(pid).map(|p| p.ppid)
    }

    fn facts(&mut self, pid: i32) -> Option<Facts> {
        self.find(pid).map(|p| Facts {
            ppid: p.ppid,
            comm: p.comm.to_string(),
        })
    }

    fn pid_ns(&mut self, pid: i32) -> Option<u64> {
        self.find(pid)?.ns.get(NsKind::Pid)
    }

    fn with_comm<T>(&mut self, pid: i32, test: impl FnOnce(&str) -> T) -> Option<T> {
        self.find(pid).map(|p| test(&p.comm))
    }

    fn exists(&mut self, pid: i32) -> bool {
        self.find(pid).is_some()
    }
}

/// The ancestor walks of one check of many pids: the processes whose parent chain was
/// followed to its end (pid 1, or a process gone) without meeting a member. A shared cgroup's
/// thousands of processes have few distinct parents (a population's sleepers share their
/// shell), so each chain is walked once per check, not once per process (400 containers ×
/// 64 outsiders × ~10 parents a tick on the 11,700-process population, measured).
#[derive(Default)]
struct Walked {
    clean: PidSet,
    /// The walk in progress.
    path: Vec<i32>,
}

impl Walked {
    /// The walk in progress ended without a member: every process on it is clean.
    fn settle(&mut self) {
        self.clean.extend(self.path.drain(..));
    }
}

/// What one check of many pids found about the container once, for all of them: its
/// runtime helper's candidates (the init's ancestors) and its launcher chain (a shared
/// cgroup holds every group's `unshare`: each was a walk of the init's parents, per pid).
#[derive(Default)]
struct Found {
    helpers: Option<PidSet>,
    launchers: Option<Vec<i32>>,
}

/// Who counts as the container when its cgroups are checked.
#[derive(Debug, Clone, Default)]
pub struct Owner {
    /// `name (id)`, as refusals name the target.
    pub label: String,
    /// Host pids the scan counted as the container's.
    members: PidSet,
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
        let mut found = Found::default();
        let mut walked = Walked::default();
        pids.iter()
            .copied()
            .filter(|&pid| !self.is_mine(facts, pid, &mut found, &mut walked))
            .take(most)
            .collect()
    }

    fn is_mine(
        &self,
        facts: &mut impl ProcessFacts,
        pid: i32,
        found: &mut Found,
        walked: &mut Walked,
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
        if self.descends_from_member(facts, ppid, walked) {
            return true;
        }
        if self.helper.is_none() && !self.launchers {
            return false;
        }
        let Some((helper, launcher)) = facts.with_comm(pid, |comm| {
            (
                self.helper == Some(comm),
                self.launchers && is_launcher(comm),
            )
        }) else {
            return !facts.exists(pid);
        };
        if helper {
            found
                .helpers
                .get_or_insert_with(|| self.init_ancestors(facts))
                .contains(&pid)
        } else if launcher {
            found
                .launchers
                .get_or_insert_with(|| self.launcher_chain(facts))
                .contains(&pid)
        } else {
            false
        }
    }

    /// The init's parents right above it, nearest first, while each is a launcher program
    /// (a chain of launchers is a handful deep; a loop must end).
    fn launcher_chain(&self, facts: &mut impl ProcessFacts) -> Vec<i32> {
        let mut chain = Vec::new();
        let mut pid = self.init.unwrap_or(0);
        for _ in 0..16 {
            let Some(parent) = facts.ppid(pid) else {
                break;
            };
            match facts.with_comm(parent, is_launcher) {
                Some(true) if parent > 1 => chain.push(parent),
                _ => break,
            }
            pid = parent;
        }
        chain
    }

    fn descends_from_member(
        &self,
        facts: &mut impl ProcessFacts,
        mut pid: i32,
        walked: &mut Walked,
    ) -> bool {
        walked.path.clear();
        for _ in 0..MAX_ANCESTRY {
            if pid <= 1 || walked.clean.contains(&pid) {
                walked.settle();
                return false;
            }
            if self.members.contains(&pid) {
                return true;
            }
            walked.path.push(pid);
            match facts.ppid(pid) {
                Some(ppid) => pid = ppid,
                None => {
                    walked.settle();
                    return false;
                }
            }
        }
        false
    }

    /// The init's parents, nearest first (the runtime helper is among them).
    fn init_ancestors(&self, facts: &mut impl ProcessFacts) -> PidSet {
        let mut out = PidSet::default();
        let mut pid = self.init.unwrap_or(0);
        for _ in 0..MAX_ANCESTRY {
            let Some(ppid) = facts.ppid(pid) else {
                break;
            };
            if ppid <= 1 {
                break;
            }
            out.insert(ppid);
            pid = ppid;
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
        return Some(ROOT_SHARED.into());
    }
    // Ascending, whatever order the caller listed them in: a message names the same pids the
    // same way each time.
    let mut pids = pids();
    pids.sort_unstable();
    pids.dedup();
    sharing_among(owner, path, facts, &pids)
}

/// Why a root cgroup is never a container's own.
const ROOT_SHARED: &str = "the root: it holds every process of the host";

/// [`sharing`] with the processes in the cgroup and below already listed, ascending and
/// without repeats (a snapshot's index hands the same list to every container that asks,
/// without a copy each).
pub fn sharing_among(
    owner: &Owner,
    path: &str,
    facts: &mut impl ProcessFacts,
    pids: &[i32],
) -> Option<String> {
    if is_root(path) {
        return Some(ROOT_SHARED.into());
    }
    // Enough to say it is shared and by whom; counting thousands more (the host's processes
    // in a cgroup the container shares with it) costs a walk of each one's parents, for every
    // container, every tick.
    let outside = owner.first_outsiders_by(facts, pids, COUNTED);
    if outside.len() < COUNTED {
        return (!outside.is_empty()).then(|| describe_outsiders(&outside));
    }
    Some(format!(
        "{COUNTED} or more processes outside this container (pids {})",
        listed(&outside)
    ))
}

/// How many outsiders a snapshot's answer counts before it stops looking: one more than it
/// lists, enough to say "shared, by these". Each outsider costs a walk of its parents, for
/// every container sharing the cgroup, every tick (64 was ~3 % of the dashboard's CPU on the
/// 11,700-process population, where 400 containers share one memory cgroup with the host).
const COUNTED: usize = LISTED + 1;

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
