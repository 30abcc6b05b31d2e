//! Where one cgroup's directories are: per hierarchy the directory (if it exists) and the path
//! it was found at, and from that which directory serves each controller. A controller bound to
//! a v1 hierarchy is read there and only there (paths may differ per controller); everything
//! else comes from the unified (v2) directory. When the reading is of a container's own
//! cgroups only ([`Placement::unified_stands_in`]), a v1 controller whose cgroup is not its own
//! is read from its own unified directory instead: on a hybrid host every unified cgroup has
//! `cpu.stat` usage and `cgroup.freeze` whatever controllers are enabled there, while files a
//! controller bound to v1 would provide (`memory.current`, `cpu.max`) are simply absent.

use std::path::PathBuf;

use super::layout::{CgroupLayout, CgroupMode};

/// Where one cgroup's directory is in each hierarchy (parallel to `layout.hierarchies`;
/// `None` where it does not exist).
pub(super) struct Placement<'a> {
    pub layout: &'a CgroupLayout,
    pub dirs: Vec<Option<PathBuf>>,
    pub paths: Vec<String>,
    /// A v1 controller without a directory here is read from the unified directory.
    pub unified_stands_in: bool,
}

/// Where a controller's files are for this cgroup.
pub(super) enum Site {
    V1(PathBuf),
    V2(PathBuf),
    Absent,
}

impl Placement<'_> {
    fn index_of_v1(&self, controller: &str) -> Option<usize> {
        self.layout
            .hierarchies
            .iter()
            .position(|h| h.version == 1 && h.carries(controller))
    }

    fn index_of_v2(&self) -> Option<usize> {
        self.layout.hierarchies.iter().position(|h| h.version == 2)
    }

    /// A controller bound to a v1 hierarchy is read there (only there); otherwise from v2.
    pub(super) fn site(&self, controller: &str) -> Site {
        if let Some(i) = self.index_of_v1(controller) {
            return match self.dirs[i].clone() {
                Some(dir) => Site::V1(dir),
                None if self.unified_stands_in => self.v2_dir().map_or(Site::Absent, Site::V2),
                None => Site::Absent,
            };
        }
        self.v2_dir().map_or(Site::Absent, Site::V2)
    }

    pub(super) fn v2_dir(&self) -> Option<PathBuf> {
        self.index_of_v2().and_then(|i| self.dirs[i].clone())
    }

    /// The hierarchy the process count and the reported path come from: v2 on a v2 host,
    /// else the first v1 hierarchy holding the cgroup among pids, memory, cpu, ... .
    pub(super) fn primary(&self) -> Option<usize> {
        if self.layout.mode == CgroupMode::V2 {
            return self.index_of_v2().filter(|&i| self.dirs[i].is_some());
        }
        const PREFERENCE: &[&str] = &[
            "pids",
            "memory",
            "cpu",
            "cpuacct",
            "freezer",
            "cpuset",
            "name=systemd",
        ];
        PREFERENCE
            .iter()
            .filter_map(|c| self.index_of_v1(c))
            .chain(0..self.dirs.len())
            .find(|&i| self.dirs[i].is_some())
    }
}
