//! Where a cgroup's limit files are: for each of the cpu, memory, pids and io controllers (io
//! is `blkio` on v1), the directory in the v1 hierarchy carrying it, else in the v2 hierarchy,
//! found from a cgroup path or from a process's membership lines (`/proc/<pid>/cgroup`).

use std::path::PathBuf;

use serde::Serialize;

use crate::host::cgroup::CgroupLayout;
use crate::host::process::CgroupMembership;

/// A cgroup's directory in the hierarchy of one controller, and that hierarchy's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControllerDir {
    pub version: u8,
    pub dir: PathBuf,
    /// The cgroup's path in that hierarchy, as `/proc/<pid>/cgroup` names it (`/` = its root).
    pub path: String,
}

/// Where a cgroup's cpu, memory, pids and io files are (`None`: controller not mounted for it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LimitDirs {
    pub cpu: Option<ControllerDir>,
    pub memory: Option<ControllerDir>,
    pub pids: Option<ControllerDir>,
    /// v1 `blkio`, v2 `io`.
    pub io: Option<ControllerDir>,
}

impl LimitDirs {
    /// The directories of cgroup `path` (as `/proc/<pid>/cgroup` names it): a v1 hierarchy
    /// carrying the controller if there is one, else the v2 hierarchy.
    pub fn for_path(layout: &CgroupLayout, path: &str) -> LimitDirs {
        let find = |controller: &str| {
            if let Some(h) = layout.v1_carrying(controller) {
                return h.cgroup_dir(path).map(|dir| ControllerDir {
                    version: 1,
                    dir,
                    path: path.to_string(),
                });
            }
            let v2 = layout.v2()?;
            v2.cgroup_dir(path).map(|dir| ControllerDir {
                version: 2,
                dir,
                path: path.to_string(),
            })
        };
        LimitDirs {
            cpu: find("cpu"),
            memory: find("memory"),
            pids: find("pids"),
            io: find("blkio"),
        }
    }

    /// The directories of the process whose membership lines are `memberships` (a container's
    /// init): each controller's own line, so a runtime that nests controllers differently is
    /// still followed.
    pub fn for_memberships(layout: &CgroupLayout, memberships: &[CgroupMembership]) -> LimitDirs {
        let find = |controller: &str| {
            if let Some(h) = layout.v1_carrying(controller) {
                let m = memberships
                    .iter()
                    .find(|m| layout.hierarchy_for(m).is_some_and(|mh| mh == h))?;
                return h.cgroup_dir(&m.path).map(|dir| ControllerDir {
                    version: 1,
                    dir,
                    path: m.path.clone(),
                });
            }
            let v2 = layout.v2()?;
            let m = memberships
                .iter()
                .find(|m| m.hierarchy == 0 && m.controllers.is_empty())?;
            v2.cgroup_dir(&m.path).map(|dir| ControllerDir {
                version: 2,
                dir,
                path: m.path.clone(),
            })
        };
        LimitDirs {
            cpu: find("cpu"),
            memory: find("memory"),
            pids: find("pids"),
            io: find("blkio"),
        }
    }
}

impl LimitDirs {
    /// The cgroups `writes` go to, one per directory, each named by its controller (`cpu`,
    /// `memory`, `pids`, `io`): what `control::owned` checks before they are written. `None` when a
    /// write goes to a directory that is none of these (never planned so: refuse it).
    pub fn sites(
        &self,
        writes: &[super::PlannedWrite],
    ) -> Option<Vec<crate::control::owned::Site>> {
        let named = [
            ("cpu", &self.cpu),
            ("memory", &self.memory),
            ("pids", &self.pids),
            ("io", &self.io),
        ];
        let mut sites: Vec<crate::control::owned::Site> = Vec::new();
        for write in writes {
            let dir = write.path.parent()?;
            let (controller, found) = named
                .iter()
                .find_map(|(name, d)| d.as_ref().filter(|d| d.dir == dir).map(|d| (*name, d)))?;
            if !sites.iter().any(|s| s.dir == found.dir) {
                sites.push(crate::control::owned::Site {
                    controller: controller.to_string(),
                    path: found.path.clone(),
                    dir: found.dir.clone(),
                });
            }
        }
        Some(sites)
    }
}
