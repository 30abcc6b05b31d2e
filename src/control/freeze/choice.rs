//! Which freezer of a container is its own right now: the v1 `freezer` cgroup when it is the
//! container's own, else its v2 cgroup (`cgroup.freeze`; on a hybrid host the unified
//! hierarchy's), each candidate checked live by `control::owned`; refused with every
//! candidate's reason otherwise (see the parent module's doc).

use super::Freezer;
use crate::control::error::ControlError;
use crate::control::kill::cgroup_pids;
use crate::control::owned::{self, Owner, Site};
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, CgroupMode, FreezerState};
use crate::host::container::Container;

/// A freezer the container owns, the cgroup it writes, and what the operator should know
/// about the choice (e.g. the unified hierarchy used instead of the v1 freezer).
#[derive(Debug, Clone)]
pub struct OwnedFreezer {
    pub freezer: Freezer,
    pub site: Site,
    pub note: Option<String>,
}

/// The first freezer of `container` that is its own right now (see the module doc); refused
/// with the reason of every candidate otherwise. With `thawing`, a v1 freezer cgroup that is
/// frozen is the only candidate (thawing another would leave the container frozen).
pub fn owned_freezer(
    root: &HostRoot,
    layout: &CgroupLayout,
    container: &Container,
    owner: &Owner,
    thawing: bool,
) -> Result<OwnedFreezer, ControlError> {
    let mut reasons: Vec<String> = Vec::new();
    let v1 = layout.v1_carrying("freezer");
    if let Some(hierarchy) = v1 {
        match container
            .cgroups
            .iter()
            .find(|m| layout.hierarchy_for(m) == Some(hierarchy))
            .and_then(|m| Site::of_membership(layout, m, "freezer"))
        {
            Some(site) => match owned::refusal(root, owner, &site)? {
                None => {
                    return Ok(OwnedFreezer {
                        freezer: Freezer::V1(site.dir.clone()),
                        site,
                        note: None,
                    });
                }
                Some(reason) => {
                    let frozen = Freezer::V1(site.dir.clone())
                        .state()
                        .is_ok_and(|s| s != FreezerState::Thawed);
                    if thawing && frozen {
                        return Err(ControlError::Refused {
                            target: owner.label.clone(),
                            reason: format!("its v1 freezer cgroup is frozen but {reason}"),
                        });
                    }
                    reasons.push(reason);
                }
            },
            None => reasons.push("it has no cgroup in the v1 freezer hierarchy".into()),
        }
    }
    if let Some(v2) = layout.v2() {
        let site = container
            .cgroups
            .iter()
            .find(|m| layout.hierarchy_for(m) == Some(v2))
            .and_then(|m| Site::of_membership(layout, m, "unified"));
        match site {
            None => reasons.push("it has no cgroup in the unified (v2) hierarchy".into()),
            Some(site) => {
                if let Some(reason) = v2_refusal(root, layout, container, owner, &site)? {
                    reasons.push(reason);
                } else {
                    let why = if reasons.is_empty() {
                        "the host has no v1 freezer hierarchy".to_string()
                    } else {
                        reasons.join("; ")
                    };
                    let note = (layout.mode != CgroupMode::V2).then(|| {
                        format!(
                            "{why}: used the unified hierarchy's cgroup.freeze ({}) instead, \
                             which holds this container's processes and no other",
                            site.dir.display()
                        )
                    });
                    return Ok(OwnedFreezer {
                        freezer: Freezer::V2(site.dir.clone()),
                        site,
                        note,
                    });
                }
            }
        }
    }
    if reasons.is_empty() {
        reasons.push("the host mounts no v1 freezer hierarchy and no cgroup v2".into());
    }
    Err(ControlError::Refused {
        target: owner.label.clone(),
        reason: format!("no freezer of its own: {}", reasons.join("; ")),
    })
}

/// Why the v2 cgroup `site` cannot freeze the container, or `None`. On a hybrid host it must
/// also hold every live process of the container (the unified tree need not follow the v1
/// controllers).
fn v2_refusal(
    root: &HostRoot,
    layout: &CgroupLayout,
    container: &Container,
    owner: &Owner,
    site: &Site,
) -> Result<Option<String>, ControlError> {
    if let Some(reason) = owned::refusal(root, owner, site)? {
        return Ok(Some(reason));
    }
    if !site.dir.join("cgroup.freeze").exists() {
        return Ok(Some(format!(
            "unified cgroup {} has no cgroup.freeze (kernel older than 5.2?)",
            site.path
        )));
    }
    if layout.mode != CgroupMode::V2 {
        let held = cgroup_pids(&site.dir)?;
        let missing: Vec<i32> = container
            .pids
            .iter()
            .copied()
            .filter(|p| !held.contains(p) && root.pid_dir(*p).exists())
            .collect();
        if !missing.is_empty() {
            return Ok(Some(format!(
                "unified cgroup {} does not hold all of the container's processes (not pids \
                 {missing:?})",
                site.path
            )));
        }
    }
    Ok(None)
}
