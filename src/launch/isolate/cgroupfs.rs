//! The container's own view of its cgroups at `/sys/fs/cgroup`, as Docker and runc give one:
//! read-only, rooted at the container's cgroup (the child mounts after unsharing its cgroup
//! namespace), so `memory.max`, `cpu.max`, `pids.max` there are the container's limits.
//!
//! Contract: [`steps`] decides, in the parent, from the host's layout
//! ([`detect_layout`]) and the host's `/sys/fs/cgroup` directory (through [`HostRoot`]):
//! - a hierarchy the host mounts at `/sys/fs/cgroup` itself (a v2-only host): that file system,
//!   read-only, at the container's `/sys/fs/cgroup`;
//! - hierarchies the host mounts at `/sys/fs/cgroup/<name>` (v1, hybrid): a tmpfs (mode 0755)
//!   at `/sys/fs/cgroup`, each hierarchy read-only at the same `<name>` with the same
//!   controllers (`cpu`, `memory`, `name=systemd`...; `cgroup2` for `unified`), the host's
//!   symlinks between those names (`cpu -> cpu,cpuacct`), then the tmpfs made read-only;
//! - nothing when the host mounts no hierarchy there.
//!
//! A hierarchy mount the kernel refuses is skipped by the child (see [`MountStep::Cgroup`]);
//! the tmpfs is not. Mount options follow runc: the controller list only (`xattr`,
//! `noprefix`... are the superblock's already and cannot change from a second mount).

use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use super::plan::{Dest, MountStep};
use crate::control::ControlError;
use crate::host::HostRoot;
use crate::host::cgroup::{CgroupLayout, detect_layout};
use crate::launch::fail::LaunchError;

/// Where the container sees its cgroups (a container path, as Docker puts it).
pub const CONTAINER_CGROUP_DIR: &str = "/sys/fs/cgroup";

/// The host's `/sys/fs/cgroup`, relative to its sysfs.
const HOST_CGROUP_DIR_IN_SYS: &str = "fs/cgroup";

/// One hierarchy to mount, as decided from the host's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HierarchyMount {
    /// The directory under `/sys/fs/cgroup` (the host's name, e.g. `memory`, `unified`).
    pub name: String,
    /// `cgroup` (v1) or `cgroup2`.
    pub fstype: &'static str,
    /// v1: the controllers, comma-separated (`cpu,cpuacct`, `name=systemd`); v2: none.
    pub options: Option<String>,
}

/// What the container gets at `/sys/fs/cgroup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupView {
    /// The host mounts no cgroup hierarchy at or under its `/sys/fs/cgroup`.
    Nothing,
    /// One hierarchy mounted at `/sys/fs/cgroup` itself (v2-only hosts).
    Whole {
        fstype: &'static str,
        options: Option<String>,
    },
    /// A tmpfs holding one directory per hierarchy plus the host's symlinks (`name`, `target`).
    Split {
        hierarchies: Vec<HierarchyMount>,
        links: Vec<(String, String)>,
    },
}

/// Decides the view from the host's layout. `cgroup_dir` is the host's `/sys/fs/cgroup` as
/// this process reads it (hierarchies are matched by [`crate::host::cgroup::Hierarchy::dir`]);
/// `links` its symlinks, `(name, target)`; only those naming a mounted hierarchy are kept.
pub fn view(layout: &CgroupLayout, cgroup_dir: &Path, links: &[(String, String)]) -> CgroupView {
    let kind = |version: u8, controllers: &[String]| -> Option<(&'static str, Option<String>)> {
        match version {
            2 => Some(("cgroup2", None)),
            // A v1 mount with no controller and no name would ask the kernel for a new
            // hierarchy of every controller: never what the host has.
            _ if controllers.is_empty() => None,
            _ => Some(("cgroup", Some(controllers.join(",")))),
        }
    };
    if let Some((fstype, options)) = layout
        .hierarchies
        .iter()
        .find(|h| h.dir == cgroup_dir)
        .and_then(|h| kind(h.version, &h.controllers))
    {
        return CgroupView::Whole { fstype, options };
    }
    let mut hierarchies: Vec<HierarchyMount> = Vec::new();
    for h in &layout.hierarchies {
        if h.dir.parent() != Some(cgroup_dir) {
            continue;
        }
        let Some(name) = h.dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some((fstype, options)) = kind(h.version, &h.controllers) else {
            continue;
        };
        if hierarchies.iter().any(|m| m.name == name) {
            continue;
        }
        hierarchies.push(HierarchyMount {
            name: name.to_string(),
            fstype,
            options,
        });
    }
    if hierarchies.is_empty() {
        return CgroupView::Nothing;
    }
    let links = links
        .iter()
        .filter(|(name, target)| {
            plain_name(name)
                && plain_name(target)
                && hierarchies.iter().any(|m| &m.name == target)
                && !hierarchies.iter().any(|m| &m.name == name)
        })
        .cloned()
        .collect();
    CgroupView::Split { hierarchies, links }
}

/// One path component (no `/`, not `.` or `..`, not empty).
fn plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// The symlinks directly in the host's `/sys/fs/cgroup` (`cpu -> cpu,cpuacct`), as
/// `(name, target)`; names or targets that are not UTF-8 are left out. A missing directory
/// has none.
pub fn host_links(cgroup_dir: &Path) -> Result<Vec<(String, String)>, LaunchError> {
    let entries = match std::fs::read_dir(cgroup_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LaunchError::io("list the host's cgroups", cgroup_dir, e)),
    };
    let mut links = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LaunchError::io("list the host's cgroups", cgroup_dir, e))?;
        let is_link = entry.file_type().map(|t| t.is_symlink()).unwrap_or(false);
        if !is_link {
            continue;
        }
        // A link removed meanwhile is simply not copied.
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if let (Some(name), Some(target)) = (entry.file_name().to_str(), target.to_str()) {
            links.push((name.to_string(), target.to_string()));
        }
    }
    links.sort();
    Ok(links)
}

/// The mount steps for `view`, in order.
pub fn view_steps(view: &CgroupView) -> Result<Vec<MountStep>, LaunchError> {
    let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let c = |option: &str, text: &str| {
        std::ffi::CString::new(text)
            .map_err(|_| LaunchError::invalid(option, text, "it may not contain NUL"))
    };
    let mut steps = Vec::new();
    match view {
        CgroupView::Nothing => {}
        CgroupView::Whole { fstype, options } => steps.push(MountStep::Cgroup {
            fstype: c("cgroup file system", fstype)?,
            flags,
            data: options
                .as_deref()
                .map(|o| c("cgroup options", o))
                .transpose()?,
            dest: Dest::parse(CONTAINER_CGROUP_DIR)?,
        }),
        CgroupView::Split { hierarchies, links } => {
            steps.push(MountStep::Fresh {
                fstype: c"tmpfs".into(),
                flags: MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                // Only directories and symlinks live here; 0755 as on the host.
                data: Some(c"mode=755".into()),
                dest: Dest::parse(CONTAINER_CGROUP_DIR)?,
            });
            for h in hierarchies {
                steps.push(MountStep::Cgroup {
                    fstype: c("cgroup file system", h.fstype)?,
                    flags,
                    data: h
                        .options
                        .as_deref()
                        .map(|o| c("cgroup options", o))
                        .transpose()?,
                    dest: Dest::parse(&format!("{CONTAINER_CGROUP_DIR}/{}", h.name))?,
                });
            }
            for (name, target) in links {
                steps.push(MountStep::Symlink {
                    target: c("symlink", target)?,
                    dest: Dest::parse(&format!("{CONTAINER_CGROUP_DIR}/{name}"))?,
                });
            }
            // Last, once its directories and links exist: nothing may be added in there.
            steps.push(MountStep::Seal {
                dest: Dest::parse(CONTAINER_CGROUP_DIR)?,
            });
        }
    }
    Ok(steps)
}

/// The host's `/sys/fs/cgroup` as this process reads it.
pub fn host_cgroup_dir(host: &HostRoot) -> PathBuf {
    host.sys.join(HOST_CGROUP_DIR_IN_SYS)
}

/// The steps for the container's `/sys/fs/cgroup` on `host` (its layout and symlinks now).
pub fn steps(host: &HostRoot) -> Result<Vec<MountStep>, LaunchError> {
    let layout = detect_layout(host).map_err(ControlError::from)?;
    let dir = host_cgroup_dir(host);
    let links = host_links(&dir)?;
    view_steps(&view(&layout, &dir, &links))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::cgroup::{CgroupMode, Hierarchy};

    fn hierarchy(version: u8, controllers: &[&str], mount_point: &str) -> Hierarchy {
        Hierarchy {
            version,
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
            mount_point: mount_point.into(),
            dir: mount_point.into(),
            mount_root: "/".into(),
        }
    }

    fn layout(mode: CgroupMode, hierarchies: Vec<Hierarchy>) -> CgroupLayout {
        CgroupLayout { mode, hierarchies }
    }

    const DIR: &str = "/sys/fs/cgroup";

    #[test]
    fn a_v2_only_host_gets_cgroup2_at_the_top() {
        let l = layout(
            CgroupMode::V2,
            vec![hierarchy(2, &["cpu", "memory", "pids"], DIR)],
        );
        let v = view(&l, Path::new(DIR), &[]);
        assert_eq!(
            v,
            CgroupView::Whole {
                fstype: "cgroup2",
                options: None
            }
        );
        let steps = view_steps(&v).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(
            steps[0].describe(),
            "mount cgroup2 (read-only) on /sys/fs/cgroup"
        );
    }

    #[test]
    fn a_hybrid_host_gets_a_tmpfs_each_hierarchy_its_links_then_read_only() {
        let l = layout(
            CgroupMode::Hybrid,
            vec![
                hierarchy(1, &["cpu", "cpuacct"], "/sys/fs/cgroup/cpu,cpuacct"),
                hierarchy(1, &["memory"], "/sys/fs/cgroup/memory"),
                hierarchy(1, &["name=systemd"], "/sys/fs/cgroup/systemd"),
                // Mounted elsewhere by someone: not the container's business.
                hierarchy(1, &["pids"], "/mnt/pids"),
                // Nested deeper than one level: not a name under /sys/fs/cgroup.
                hierarchy(1, &["blkio"], "/sys/fs/cgroup/x/blkio"),
                hierarchy(2, &[], "/sys/fs/cgroup/unified"),
            ],
        );
        let links = [
            ("cpu".to_string(), "cpu,cpuacct".to_string()),
            ("cpuacct".to_string(), "cpu,cpuacct".to_string()),
            // Links to what is not mounted, or out of the directory, are not copied.
            ("net_cls".to_string(), "net_cls,net_prio".to_string()),
            ("up".to_string(), "../x".to_string()),
            ("abs".to_string(), "/etc".to_string()),
        ];
        let v = view(&l, Path::new(DIR), &links);
        let CgroupView::Split {
            hierarchies,
            links: kept,
        } = &v
        else {
            panic!("{v:?}");
        };
        let names: Vec<(&str, &str, Option<&str>)> = hierarchies
            .iter()
            .map(|h| (h.name.as_str(), h.fstype, h.options.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("cpu,cpuacct", "cgroup", Some("cpu,cpuacct")),
                ("memory", "cgroup", Some("memory")),
                ("systemd", "cgroup", Some("name=systemd")),
                ("unified", "cgroup2", None),
            ]
        );
        assert_eq!(kept, &links[..2]);
        let described: Vec<String> = view_steps(&v)
            .unwrap()
            .iter()
            .map(MountStep::describe)
            .collect();
        assert_eq!(
            described,
            [
                "mount tmpfs on /sys/fs/cgroup",
                "mount cgroup cpu,cpuacct (read-only) on /sys/fs/cgroup/cpu,cpuacct",
                "mount cgroup memory (read-only) on /sys/fs/cgroup/memory",
                "mount cgroup name=systemd (read-only) on /sys/fs/cgroup/systemd",
                "mount cgroup2 (read-only) on /sys/fs/cgroup/unified",
                "create symlink /sys/fs/cgroup/cpu -> cpu,cpuacct",
                "create symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct",
                "make /sys/fs/cgroup read-only",
            ]
        );
    }

    #[test]
    fn no_hierarchy_under_sys_fs_cgroup_mounts_nothing() {
        let l = layout(
            CgroupMode::V1,
            vec![hierarchy(1, &["memory"], "/cgroup/memory")],
        );
        assert_eq!(view(&l, Path::new(DIR), &[]), CgroupView::Nothing);
        assert!(view_steps(&CgroupView::Nothing).unwrap().is_empty());
    }

    #[test]
    fn host_links_are_read_from_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cpu,cpuacct")).unwrap();
        std::os::unix::fs::symlink("cpu,cpuacct", dir.path().join("cpu")).unwrap();
        std::fs::write(dir.path().join("file"), "").unwrap();
        assert_eq!(
            host_links(dir.path()).unwrap(),
            [("cpu".to_string(), "cpu,cpuacct".to_string())]
        );
        assert!(host_links(&dir.path().join("missing")).unwrap().is_empty());
    }
}
