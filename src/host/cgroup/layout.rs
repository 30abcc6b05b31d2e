//! Which cgroup hierarchies this host mounts, found in `<proc>/self/mountinfo` (never guessed
//! from directory names): the mode (v1, v2, hybrid), and per hierarchy its controllers, mount
//! point and the directory isotop reads it from. Also maps a process's membership line
//! (`/proc/<pid>/cgroup`) to its hierarchy and a cgroup path to its directory.
//!
//! Mount roots are absolute cgroup paths: inside a cgroup namespace of its own the kernel
//! shows them relative to isotop's namespace root (`/../..`), and they are translated here
//! ([`super::namespace_root`]) before anything else looks at them.

use foldhash::HashMap;
use std::path::PathBuf;

use procfs_core::FromBufRead;
use procfs_core::process::{MountInfo, MountInfos};
use serde::{Deserialize, Serialize};

use super::namespace_root::namespace_roots;
use crate::host::process::CgroupMembership;
use crate::host::{HostError, HostRoot, read_optional};

/// How the host mounts cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupMode {
    /// Only v1 hierarchies (one per controller or co-mounted group).
    V1,
    /// Only the unified v2 hierarchy.
    V2,
    /// v1 controller hierarchies plus a cgroup2 mount (e.g. `/sys/fs/cgroup/unified`).
    Hybrid,
}

impl CgroupMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            CgroupMode::V1 => "v1",
            CgroupMode::V2 => "v2",
            CgroupMode::Hybrid => "hybrid",
        }
    }
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hierarchy {
    /// 1 or 2.
    pub version: u8,
    /// v1: the controllers bound to it from the mount's super options, sorted (`cpu`,
    /// `cpuacct`, `name=systemd`); v2: the root's `cgroup.controllers` (empty on hybrid hosts).
    pub controllers: Vec<String>,
    /// Where the host mounts it (as mountinfo names it).
    pub mount_point: PathBuf,
    /// Where isotop reads it (`HostRoot::host_path(mount_point)`).
    pub dir: PathBuf,
    /// The cgroup this mount shows as its root (mountinfo field 4; `/` on the host itself, a
    /// container's own cgroup when read from inside one), as an absolute path: translated
    /// from isotop's cgroup namespace when it has one of its own (left as the kernel wrote it,
    /// `..` and all, when that namespace's root is unknown).
    pub mount_root: String,
}

impl Hierarchy {
    /// True when this v1 hierarchy carries `controller` (e.g. `memory`, `name=systemd`).
    pub fn carries(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// Short name: the controller list (`cpu,cpuacct`) for v1, `unified` for v2.
    pub fn label(&self) -> String {
        if self.version == 2 {
            "unified".to_string()
        } else {
            self.controllers.join(",")
        }
    }

    /// The directory of cgroup `path` (as `/proc/<pid>/cgroup` names it) in this hierarchy.
    /// `None` when the path lies outside this mount's root or tries to climb out with `..`.
    pub fn cgroup_dir(&self, path: &str) -> Option<PathBuf> {
        let relative = if self.mount_root == "/" {
            path
        } else {
            let rest = path.strip_prefix(self.mount_root.as_str())?;
            if !(rest.is_empty() || rest.starts_with('/')) {
                return None;
            }
            rest
        };
        let mut dir = self.dir.clone();
        for part in relative.split('/') {
            match part {
                "" | "." => continue,
                ".." => return None,
                name => dir.push(name),
            }
        }
        Some(dir)
    }
}

/// The cgroup hierarchies of a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupLayout {
    pub mode: CgroupMode,
    /// v1 hierarchies sorted by controller list, then the v2 one.
    pub hierarchies: Vec<Hierarchy>,
}

impl CgroupLayout {
    /// The unified (v2) hierarchy, if mounted.
    pub fn v2(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.version == 2)
    }

    /// The v1 hierarchy carrying `controller`, if any.
    pub fn v1_carrying(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| h.version == 1 && h.carries(controller))
    }

    /// The hierarchy a membership line refers to: hierarchy 0 with no controllers is v2; a v1
    /// line matches the hierarchy sharing one of its controllers (a v1 controller is bound to at
    /// most one hierarchy, so one shared name identifies it, whatever the co-mounting).
    pub fn hierarchy_for(&self, membership: &CgroupMembership) -> Option<&Hierarchy> {
        if membership.hierarchy == 0 && membership.controllers.is_empty() {
            return self.v2();
        }
        self.hierarchies
            .iter()
            .find(|h| h.version == 1 && membership.controllers.iter().any(|c| h.carries(c)))
    }
}

/// Reads `<proc>/self/mountinfo` and describes the cgroup hierarchies mounted there.
pub fn detect_layout(root: &HostRoot) -> Result<CgroupLayout, HostError> {
    let path = root.self_dir().join("mountinfo");
    let text = read_optional(&path)?
        .ok_or_else(|| HostError::parse(&path, "missing: is a procfs mounted here?"))?;
    let mounts = MountInfos::from_buf_read(text.as_bytes())
        .map_err(|e| HostError::parse(&path, format!("not mountinfo: {e}")))?;
    layout_from_mounts(root, mounts.0).map_err(|what| HostError::parse(&path, what))
}

/// Options of a v1 cgroup mount that are not controllers.
const NOT_CONTROLLERS: &[&str] = &[
    "rw",
    "ro",
    "none",
    "all",
    "noprefix",
    "xattr",
    "clone_children",
    "cpuset_v2_mode",
    "favordynmods",
    "nofavordynmods",
    "release_agent",
];

pub(super) fn v1_controllers(mount: &MountInfo) -> Vec<String> {
    let mut controllers: Vec<String> = mount
        .super_options
        .iter()
        .filter_map(|(key, value)| match (key.as_str(), value) {
            ("name", Some(name)) => Some(format!("name={name}")),
            (_, Some(_)) => None,
            (k, None) if NOT_CONTROLLERS.contains(&k) || k.starts_with("__") => None,
            (k, None) => Some(k.to_string()),
        })
        .collect();
    controllers.sort();
    controllers
}

fn layout_from_mounts(root: &HostRoot, mounts: Vec<MountInfo>) -> Result<CgroupLayout, String> {
    let namespace = namespace_roots(root);
    // Several mounts of one hierarchy share its superblock (same `majmin`): keep one, the one
    // showing the whole hierarchy (root `/`, once translated) if there is one.
    let mut chosen: Vec<MountInfo> = Vec::new();
    let mut by_superblock: HashMap<String, usize> = HashMap::default();
    for mut mount in mounts {
        let version = match mount.fs_type.as_str() {
            "cgroup2" => 2,
            "cgroup" => 1,
            _ => continue,
        };
        let controllers = if version == 1 {
            v1_controllers(&mount)
        } else {
            Vec::new()
        };
        mount.root = namespace.translate(version, &controllers, &mount.root);
        match by_superblock.get(&mount.majmin) {
            Some(&i) => {
                if chosen[i].root != "/" && mount.root == "/" {
                    chosen[i] = mount;
                }
            }
            None => {
                by_superblock.insert(mount.majmin.clone(), chosen.len());
                chosen.push(mount);
            }
        }
    }
    let mut hierarchies: Vec<Hierarchy> = chosen
        .into_iter()
        .map(|mount| {
            let dir = root.host_path(&mount.mount_point);
            let (version, controllers) = if mount.fs_type == "cgroup2" {
                let listed = read_optional(&dir.join("cgroup.controllers"))
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                let mut names: Vec<String> =
                    listed.split_whitespace().map(str::to_string).collect();
                names.sort();
                (2, names)
            } else {
                (1, v1_controllers(&mount))
            };
            Hierarchy {
                version,
                controllers,
                mount_point: mount.mount_point,
                dir,
                mount_root: mount.root,
            }
        })
        .collect();
    hierarchies.sort_by(|a, b| {
        (a.version, &a.controllers, &a.mount_point).cmp(&(
            b.version,
            &b.controllers,
            &b.mount_point,
        ))
    });
    let has_v1 = hierarchies.iter().any(|h| h.version == 1);
    let has_v2 = hierarchies.iter().any(|h| h.version == 2);
    let mode = match (has_v1, has_v2) {
        (true, true) => CgroupMode::Hybrid,
        (true, false) => CgroupMode::V1,
        (false, true) => CgroupMode::V2,
        (false, false) => return Err("no cgroup or cgroup2 file system is mounted".into()),
    };
    Ok(CgroupLayout { mode, hierarchies })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hierarchy(root: &str) -> Hierarchy {
        Hierarchy {
            version: 1,
            controllers: vec!["memory".into()],
            mount_point: "/sys/fs/cgroup/memory".into(),
            dir: "/x/memory".into(),
            mount_root: root.into(),
        }
    }

    #[test]
    fn cgroup_dirs_join_below_the_mount_root() {
        let h = hierarchy("/");
        assert_eq!(h.cgroup_dir("/"), Some(PathBuf::from("/x/memory")));
        assert_eq!(h.cgroup_dir("/a/b"), Some(PathBuf::from("/x/memory/a/b")));
        assert_eq!(h.cgroup_dir("a//b/"), Some(PathBuf::from("/x/memory/a/b")));
        assert_eq!(h.cgroup_dir("/a/../../etc"), None);
        let nested = hierarchy("/docker/abc");
        assert_eq!(
            nested.cgroup_dir("/docker/abc/sub"),
            Some(PathBuf::from("/x/memory/sub"))
        );
        assert_eq!(
            nested.cgroup_dir("/docker/abc"),
            Some(PathBuf::from("/x/memory"))
        );
        assert_eq!(nested.cgroup_dir("/docker/abcd"), None);
        assert_eq!(nested.cgroup_dir("/other"), None);
    }

    #[test]
    fn v1_options_that_are_not_controllers_are_dropped() {
        let line = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:5 - cgroup cgroup rw,xattr,cpu,cpuacct,release_agent=/x";
        let mount = MountInfo::from_line(line).unwrap();
        assert_eq!(v1_controllers(&mount), vec!["cpu", "cpuacct"]);
        let line = "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd";
        let mount = MountInfo::from_line(line).unwrap();
        assert_eq!(v1_controllers(&mount), vec!["name=systemd"]);
    }
}
