//! Where a container's kill acts: the choice among its cgroups of one that is its own right now
//! (`control::owned`), preferring one it can be frozen in.

use super::CgroupKill;
use crate::control::error::ControlError;
use crate::control::freeze::{Freezer, owned_freezer};
use crate::control::owned::{self, Owner, Site};
use crate::host::HostRoot;
use crate::host::cgroup::CgroupLayout;
use crate::host::container::Container;

/// Where a container's kill acts, among its cgroups that are its own right now: its freezer
/// (`freeze::owned_freezer`; `cgroup.kill` beside it on a v2 cgroup that has one), else another
/// own cgroup of a real controller or the unified hierarchy, signalled without freezing (the
/// note says so). Also returns the cgroup whose listing is checked during the kill. Refused,
/// with each reason, when it has none.
pub fn owned_site(
    root: &HostRoot,
    layout: &CgroupLayout,
    container: &Container,
    owner: &Owner,
) -> Result<(CgroupKill, Site, Option<String>), ControlError> {
    let freezer_reason = match owned_freezer(root, layout, container, owner, false) {
        Ok(chosen) => {
            let dir = chosen.freezer.dir().to_path_buf();
            let v2_dir = matches!(chosen.freezer, Freezer::V2(_))
                .then(|| dir.clone())
                .filter(|d| d.join("cgroup.kill").exists());
            let site = CgroupKill {
                freezer: Some(chosen.freezer),
                v2_dir,
                procs_dir: dir,
            };
            return Ok((site, chosen.site, chosen.note));
        }
        Err(ControlError::Refused { reason, .. }) => reason,
        Err(other) => return Err(other),
    };
    let mut reasons = vec![freezer_reason];
    // Controller hierarchies first, then named ones (`name=systemd`: no controller, but its
    // cgroup lists the container's processes as well as any other); not the freezer's again.
    let mut candidates: Vec<(bool, Site)> = container
        .cgroups
        .iter()
        .filter_map(|membership| {
            let hierarchy = layout.hierarchy_for(membership)?;
            if hierarchy.version == 1 && hierarchy.carries("freezer") {
                return None;
            }
            let named = hierarchy.version == 1
                && hierarchy.controllers.iter().all(|c| c.starts_with("name="));
            let site = Site::of_membership(layout, membership, &hierarchy.label())?;
            Some((named, site))
        })
        .collect();
    candidates.sort_by_key(|(named, _)| *named);
    for (_, site) in candidates {
        match owned::refusal(root, owner, &site)? {
            // The unified cgroup was tried as a freezer already: its reason is said once.
            Some(reason) if reasons.iter().any(|r| r.contains(&reason)) => {}
            Some(reason) => reasons.push(reason),
            None => {
                let note = format!(
                    "{}: signalled each process of {} cgroup {} (the container's own) without \
                     freezing it, so a process forking meanwhile could escape",
                    reasons.join("; "),
                    site.controller,
                    site.path
                );
                let kill = CgroupKill {
                    freezer: None,
                    v2_dir: None,
                    procs_dir: site.dir.clone(),
                };
                return Ok((kill, site, Some(note)));
            }
        }
    }
    Err(ControlError::Refused {
        target: owner.label.clone(),
        reason: format!(
            "no cgroup of its own to kill through: {}",
            reasons.join("; ")
        ),
    })
}
