//! Whether a cgroup is the container's own, checked live right before an act writes to it.
//!
//! Contract: an act (limit, freeze/thaw, kill's cgroup-wide paths, undo, timed reverts) may
//! write to a cgroup directory for a container only when [`check`] passes for it at that
//! moment: the cgroup is not the root of its hierarchy (`own_cgroup::is_root`, the rule the
//! read side uses too) and no process listed in its `cgroup.procs` or any descendant's is
//! outside the container. A refusal names the controller, the cgroup and why ("cpu cgroup /
//! is the root: …", "memory cgroup /x holds 2 processes outside this container (pids 1, 45)").
//! The rule itself — who counts as the container, when a cgroup is its own — is the read
//! side's (`host::container::ownership`), the one `host::container::measure` applies to a
//! scan's snapshot before it takes a figure from a cgroup; here it is applied to `/proc` and
//! `cgroup.procs` read again right before the write, so the window between check and act is
//! a few system calls (TOCTOU-minimal).

use std::path::{Path, PathBuf};

use super::error::ControlError;
use super::kill::cgroup_pids;
use crate::host::HostRoot;
use crate::host::cgroup::CgroupLayout;
use crate::host::container::assign::own_cgroup::is_root;
use crate::host::container::ownership::{LiveFacts, sharing};
pub use crate::host::container::ownership::{Owner, describe_outsiders};
use crate::host::process::CgroupMembership;

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
    Ok(
        sharing(owner, &site.path, &mut LiveFacts::new(root), || pids).map(|why| {
            format!(
                "{} cgroup {} holds {why}, not only this container's",
                site.controller, site.path
            )
        }),
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
