//! Whether a cgroup is the container's own, checked live right before an act writes to it.
//!
//! Contract: an act (limit, freeze/thaw, kill's cgroup-wide paths, undo, timed reverts) may
//! write to a cgroup directory for a container only when [`check`] passes for it at that
//! moment: the cgroup is not the root of its hierarchy (`own_cgroup::is_root`, the rule the
//! read side uses too) and no process listed in its `cgroup.procs` or any descendant's is
//! outside the container. A refusal names the controller, the cgroup and why ("cpu cgroup /
//! is the root: …", "memory cgroup /x holds 2 processes outside this container (pids 1, 45)").
//! This is the live counterpart of `host::container::assign::own_cgroup`, which decides from a
//! scan's snapshot which path stands for a group; here the files are read again right before
//! the write, so the window between check and act is a few system calls (TOCTOU-minimal).
//!
//! A process is the container's ([`Owner`]) when the scan counted it, when it is in the
//! container's own pid namespace, when it descends from one the scan counted (forked since),
//! or when it is the runtime's helper that started the init (`systemd-nspawn`'s supervisor,
//! Podman's and CRI-O's `conmon`: they live in the container's cgroup, the runtime's own
//! limits and kills include them), or — for a container no runtime names — its launcher chain
//! (`unshare`/`cgexec`/`nsenter` right above the init, waiting for it: a hand-made container). Anything else is outside; a process that vanishes while it
//! is looked at is not counted.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::error::ControlError;
use super::kill::cgroup_pids;
use crate::host::HostRoot;
use crate::host::cgroup::CgroupLayout;
use crate::host::container::assign::own_cgroup::{is_launcher, is_root};
use crate::host::namespace::{NsKind, read_ns_set};
use crate::host::process::{CgroupMembership, read_stat};
use crate::host::runtime::Runtime;
use crate::host::scan::{ContainerView, ScanOptions, scan};

/// Longest parent chain followed when tracing a process to the container (pid namespaces
/// nest at most 32 deep and process trees are shallow; a loop must end).
const MAX_ANCESTRY: usize = 256;

/// How many outside pids a refusal lists before `…`.
const LISTED: usize = 8;

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
    /// `nsenter` right above the init, `own_cgroup::launcher_chain`) is its own.
    launchers: bool,
}

impl Owner {
    /// The container `view` as the scan saw it.
    pub fn of(view: &ContainerView) -> Owner {
        let c = &view.container;
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
    pub fn resolve(root: &HostRoot, id: &str) -> Result<Owner, ControlError> {
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

    /// The pids among `pids` that are not the container's (ascending, as given).
    pub fn outsiders(&self, root: &HostRoot, pids: &[i32]) -> Vec<i32> {
        let mut buf = Vec::new();
        let mut helpers: Option<HashSet<i32>> = None;
        pids.iter()
            .copied()
            .filter(|&pid| !self.is_mine(root, pid, &mut buf, &mut helpers))
            .collect()
    }

    fn is_mine(
        &self,
        root: &HostRoot,
        pid: i32,
        buf: &mut Vec<u8>,
        helpers: &mut Option<HashSet<i32>>,
    ) -> bool {
        if self.members.contains(&pid) {
            return true;
        }
        let Ok(Some(stat)) = read_stat(root, pid, buf) else {
            // Gone while looked at (or unreadable as it exits): it can no longer be hit.
            return !root.pid_dir(pid).exists();
        };
        if let Some(ns) = self.pid_ns
            && let Ok(Some(set)) = read_ns_set(root, pid)
            && set.get(NsKind::Pid) == Some(ns)
        {
            return true;
        }
        // Forked by a process of the container since the scan.
        if self.descends_from_member(root, stat.ppid, buf) {
            return true;
        }
        match self.helper {
            Some(name) if stat.comm == name => helpers
                .get_or_insert_with(|| self.init_ancestors(root))
                .contains(&pid),
            _ if self.launchers && is_launcher(&stat.comm) => {
                self.launcher_chain(root).contains(&pid)
            }
            _ => false,
        }
    }

    /// The init's parents right above it, nearest first, while each is a launcher program.
    fn launcher_chain(&self, root: &HostRoot) -> Vec<i32> {
        let mut chain = Vec::new();
        let mut buf = Vec::new();
        let mut pid = self.init.unwrap_or(0);
        for _ in 0..16 {
            let Ok(Some(stat)) = read_stat(root, pid, &mut buf) else {
                break;
            };
            let parent = stat.ppid;
            match read_stat(root, parent, &mut buf) {
                Ok(Some(p)) if parent > 1 && is_launcher(&p.comm) => chain.push(parent),
                _ => break,
            }
            pid = parent;
        }
        chain
    }

    fn descends_from_member(&self, root: &HostRoot, mut pid: i32, buf: &mut Vec<u8>) -> bool {
        for _ in 0..MAX_ANCESTRY {
            if pid <= 1 {
                return false;
            }
            if self.members.contains(&pid) {
                return true;
            }
            match read_stat(root, pid, buf) {
                Ok(Some(stat)) => pid = stat.ppid,
                _ => return false,
            }
        }
        false
    }

    /// The init's parents, nearest first (the runtime helper is among them).
    fn init_ancestors(&self, root: &HostRoot) -> HashSet<i32> {
        let mut out = HashSet::new();
        let mut buf = Vec::new();
        let mut pid = self.init.unwrap_or(0);
        for _ in 0..MAX_ANCESTRY {
            let Ok(Some(stat)) = read_stat(root, pid, &mut buf) else {
                break;
            };
            if stat.ppid <= 1 {
                break;
            }
            out.insert(stat.ppid);
            pid = stat.ppid;
        }
        out
    }
}

/// One cgroup an act would write to: the controller it is written for (`cpu`, `memory`,
/// `pids`, `freezer`, `unified`), its path as `/proc/<pid>/cgroup` names it, its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub controller: String,
    pub path: String,
    pub dir: PathBuf,
}

impl Site {
    /// The cgroup of `membership` in its hierarchy, written for `controller`.
    pub fn of_membership(
        layout: &CgroupLayout,
        membership: &CgroupMembership,
        controller: &str,
    ) -> Option<Site> {
        let dir = layout
            .hierarchy_for(membership)?
            .cgroup_dir(&membership.path)?;
        Some(Site {
            controller: controller.to_string(),
            path: membership.path.clone(),
            dir,
        })
    }

    /// The cgroup holding kernel file `file` (e.g. `/sys/fs/cgroup/cpu/x/cpu.cfs_quota_us`),
    /// found from the mounted hierarchies; the controller is the file name's prefix. `None`
    /// when the file is in no mounted hierarchy.
    pub fn of_file(layout: &CgroupLayout, file: &Path) -> Option<Site> {
        let dir = file.parent()?;
        let name = file.file_name()?.to_str()?;
        let controller = name.split('.').next().unwrap_or(name);
        // The deepest mount containing the directory (hierarchies never nest, but be exact).
        let hierarchy = layout
            .hierarchies
            .iter()
            .filter(|h| dir.starts_with(&h.dir))
            .max_by_key(|h| h.dir.components().count())?;
        let relative = dir.strip_prefix(&hierarchy.dir).ok()?;
        let mut path = hierarchy.mount_root.trim_end_matches('/').to_string();
        for part in relative.components() {
            path.push('/');
            path.push_str(part.as_os_str().to_str()?);
        }
        if path.is_empty() {
            path.push('/');
        }
        Some(Site {
            controller: controller.to_string(),
            path,
            dir: dir.to_path_buf(),
        })
    }
}

/// Why `site` is not the container's own right now, or `None` when it is. Reads its
/// `cgroup.procs` and every descendant's.
pub fn refusal(
    root: &HostRoot,
    owner: &Owner,
    site: &Site,
) -> Result<Option<String>, ControlError> {
    if is_root(&site.path) {
        return Ok(Some(format!(
            "{} cgroup / is the root: an act there would reach every process of the host",
            site.controller
        )));
    }
    let pids = cgroup_pids(&site.dir)?;
    let outside = owner.outsiders(root, &pids);
    if outside.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "{} cgroup {} holds {}, not only this container's",
        site.controller,
        site.path,
        describe_outsiders(&outside)
    )))
}

/// `2 processes outside this container (pids 1, 45)`, the list cut after a few.
pub fn describe_outsiders(pids: &[i32]) -> String {
    let mut listed: Vec<String> = pids.iter().take(LISTED).map(i32::to_string).collect();
    if pids.len() > LISTED {
        listed.push("…".into());
    }
    format!(
        "{} process{} outside this container (pid{} {})",
        pids.len(),
        if pids.len() == 1 { "" } else { "es" },
        if pids.len() == 1 { "" } else { "s" },
        listed.join(", ")
    )
}

/// Refuses when `pids` (just listed from `site`, e.g. between two rounds of a kill) hold a
/// process outside the container.
pub fn check_listed(
    root: &HostRoot,
    owner: &Owner,
    site: &Site,
    pids: &[i32],
) -> Result<(), ControlError> {
    let outside = owner.outsiders(root, pids);
    if outside.is_empty() {
        return Ok(());
    }
    Err(ControlError::Refused {
        target: owner.label.clone(),
        reason: format!(
            "{} cgroup {} now holds {}, not only this container's: stopped there",
            site.controller,
            site.path,
            describe_outsiders(&outside)
        ),
    })
}

/// Refuses unless `site` is the container's own right now.
pub fn check(root: &HostRoot, owner: &Owner, site: &Site) -> Result<(), ControlError> {
    match refusal(root, owner, site)? {
        None => Ok(()),
        Some(reason) => Err(ControlError::Refused {
            target: owner.label.clone(),
            reason,
        }),
    }
}

/// Refuses unless every site is the container's own; the reasons of all that are not are
/// given together.
pub fn check_all(root: &HostRoot, owner: &Owner, sites: &[Site]) -> Result<(), ControlError> {
    let mut reasons = Vec::new();
    for site in sites {
        if let Some(reason) = refusal(root, owner, site)? {
            reasons.push(reason);
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(ControlError::Refused {
            target: owner.label.clone(),
            reason: reasons.join("; "),
        })
    }
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

    #[test]
    fn a_root_cgroup_is_refused_before_anything_is_read() {
        let owner = Owner::gone("x");
        let site = Site {
            controller: "cpu".into(),
            path: "/".into(),
            dir: PathBuf::from("/nonexistent/isotop-test"),
        };
        let reason = refusal(&HostRoot::live(), &owner, &site).unwrap().unwrap();
        assert!(reason.starts_with("cpu cgroup / is the root"), "{reason}");
    }

    #[test]
    fn a_file_maps_to_its_hierarchy_and_path() {
        let layout = CgroupLayout {
            mode: crate::host::cgroup::CgroupMode::Hybrid,
            hierarchies: vec![crate::host::cgroup::Hierarchy {
                version: 1,
                controllers: vec!["cpu".into()],
                mount_point: PathBuf::from("/sys/fs/cgroup/cpu"),
                dir: PathBuf::from("/sys/fs/cgroup/cpu"),
                mount_root: "/".into(),
            }],
        };
        let site = Site::of_file(
            &layout,
            Path::new("/sys/fs/cgroup/cpu/a/b/cpu.cfs_quota_us"),
        )
        .unwrap();
        assert_eq!(site.path, "/a/b");
        assert_eq!(site.controller, "cpu");
        let root = Site::of_file(&layout, Path::new("/sys/fs/cgroup/cpu/cpu.shares")).unwrap();
        assert_eq!(root.path, "/");
        assert!(Site::of_file(&layout, Path::new("/etc/passwd")).is_none());
    }
}
